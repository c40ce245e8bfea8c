//! Work that follows a capture — scoring the submission, recording its answers (which
//! may route the lead), and sending not-ready leads to nurture — done by background
//! workers, so a form post answers as soon as its capture is committed. Each lead's
//! follow-ups go to one worker, in arrival order; different leads proceed in parallel.

use crate::leads::LeadState;
use crate::App;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::{mpsc, Notify};

/// One captured lead's follow-up.
#[derive(Debug, Clone)]
pub struct Followup {
    pub lead_id: String,
    pub actor: String,
    /// Qualification answers the form carried (`question` → answer text).
    pub answers: BTreeMap<String, Option<String>>,
}

/// Most follow-ups one transaction takes: under load, those queued by the time a
/// worker is free are done together, sharing one commit.
const MAX_BATCH: usize = 32;

/// How many follow-ups run at once (each on its own lead). SQLite writes one
/// transaction at a time, so there more workers would only take turns away from
/// captures, which matter more: a visitor is waiting for those.
fn workers(backend: leadline_store::Backend) -> usize {
    match backend {
        leadline_store::Backend::Sqlite => 1,
        leadline_store::Backend::Postgres => 4,
    }
}

/// The queues between request handlers and the workers.
pub(crate) struct Followups {
    senders: std::sync::Mutex<Vec<mpsc::UnboundedSender<Followup>>>,
    pending: AtomicUsize,
    settled: Notify,
}

impl Followups {
    pub(crate) fn new() -> Arc<Followups> {
        Arc::new(Followups {
            senders: std::sync::Mutex::new(Vec::new()),
            pending: AtomicUsize::new(0),
            settled: Notify::new(),
        })
    }
}

impl App {
    /// Queues a follow-up on its lead's worker, starting the workers on first use.
    pub(crate) fn enqueue_followup(&self, followup: Followup) {
        let queue = &self.followups;
        let mut senders = queue.senders.lock().unwrap_or_else(|p| p.into_inner());
        if senders.is_empty() {
            for _ in 0..workers(self.db.backend()) {
                let (tx, mut rx) = mpsc::unbounded_channel::<Followup>();
                let app = self.clone();
                tokio::spawn(async move {
                    // Waits for one follow-up, then takes whatever else is queued.
                    let mut batch = Vec::with_capacity(MAX_BATCH);
                    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
                        app.run_followups(&batch).await;
                        let done = batch.len();
                        if app.followups.pending.fetch_sub(done, Ordering::SeqCst) == done {
                            app.followups.settled.notify_waiters();
                        }
                        batch.clear();
                    }
                });
                senders.push(tx);
            }
        }
        let lane = followup.lead_id.bytes().fold(0usize, |h, b| {
            h.wrapping_mul(31).wrapping_add(usize::from(b))
        });
        let tx = &senders[lane % senders.len()];
        queue.pending.fetch_add(1, Ordering::SeqCst);
        if tx.send(followup).is_err() {
            queue.pending.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// Runs queued follow-ups in one transaction; if that fails, runs each in its own,
    /// so one failing follow-up (a lead merged away meanwhile, say) spares the others.
    #[doc(hidden)] // used by the workers; public for the tests of its fallback
    pub async fn run_followups(&self, batch: &[Followup]) {
        let together = async {
            let mut tx = self.db.begin().await?;
            for part in parts_with_distinct_leads(batch) {
                self.followups_in(&mut tx, part).await?;
            }
            tx.commit()
                .await
                .map_err(leadline_store::StoreError::from)?;
            Ok::<(), crate::error::ServiceError>(())
        };
        match together.await {
            Ok(()) => self.outbox_written(),
            Err(e) if batch.len() == 1 => {
                tracing::error!(lead_id = %batch[0].lead_id, error = %e, "capture follow-up failed")
            }
            Err(_) => {
                for f in batch {
                    if let Err(e) = self.run_followup(f).await {
                        tracing::error!(lead_id = %f.lead_id, error = %e, "capture follow-up failed");
                    }
                }
            }
        }
    }

    async fn run_followup(&self, f: &Followup) -> crate::error::Result<()> {
        let mut tx = self.db.begin().await?;
        self.followups_in(&mut tx, std::slice::from_ref(f)).await?;
        tx.commit()
            .await
            .map_err(leadline_store::StoreError::from)?;
        self.outbox_written();
        Ok(())
    }

    /// Answers, scoring (with triage) and routing of captured leads (each lead once),
    /// in the caller's transaction. Every lead is answered and scored before any is
    /// routed: routing is serialised across servers (a lock held until commit), so
    /// the transaction takes that lock as late as it can.
    async fn followups_in(
        &self,
        tx: &mut leadline_store::AnyConnection,
        followups: &[Followup],
    ) -> crate::error::Result<()> {
        let mut states = Vec::with_capacity(followups.len());
        for f in followups {
            let mut state = LeadState::load(tx, &f.lead_id).await?;
            // Answers first: a "call me" answer makes the lead sales-ready, so triage
            // leaves it alone and it is routed below.
            if !f.answers.is_empty() {
                self.apply_answers(&mut state, &f.answers, None, &f.actor)?;
            }
            self.record_activity_in(
                tx,
                &mut state,
                "form_submitted".into(),
                None,
                &f.actor,
                true,
            )
            .await?;
            states.push(state);
        }
        let mut round_robin = None;
        for state in &mut states {
            if self.needs_routing(state).await? {
                if round_robin.is_none() {
                    round_robin = Some(crate::routing::begin_routing(tx).await?);
                }
                let turns = round_robin.as_mut().expect("routing begun");
                self.route_in(tx, state, &[], turns).await?;
            }
        }
        if let Some(turns) = &round_robin {
            crate::routing::end_routing(tx, turns, self.now()).await?;
        }
        LeadState::flush_all(tx, &mut states).await?;
        Ok(())
    }

    /// Waits until every queued follow-up has been done (tests, orderly shutdown).
    pub async fn settle(&self) {
        loop {
            let notified = self.followups.settled.notified();
            if self.followups.pending.load(Ordering::SeqCst) == 0 {
                return;
            }
            notified.await;
        }
    }
}

/// Splits a batch into consecutive parts in which no lead comes twice: a part's leads
/// are read before any is written, so a lead's second follow-up must come in a later
/// part, after the first has been written.
fn parts_with_distinct_leads(batch: &[Followup]) -> Vec<&[Followup]> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut seen = std::collections::HashSet::new();
    for (i, f) in batch.iter().enumerate() {
        if !seen.insert(f.lead_id.as_str()) {
            parts.push(&batch[start..i]);
            start = i;
            seen.clear();
            seen.insert(f.lead_id.as_str());
        }
    }
    if start < batch.len() {
        parts.push(&batch[start..]);
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(ids: &[&str]) -> Vec<Followup> {
        ids.iter()
            .map(|id| Followup {
                lead_id: id.to_string(),
                actor: "form:test".into(),
                answers: BTreeMap::new(),
            })
            .collect()
    }

    fn ids(parts: Vec<&[Followup]>) -> Vec<Vec<&str>> {
        parts
            .into_iter()
            .map(|p| p.iter().map(|f| f.lead_id.as_str()).collect())
            .collect()
    }

    #[test]
    fn a_lead_that_comes_again_starts_a_new_part() {
        let b = batch(&["a", "b", "a", "c", "b", "b"]);
        assert_eq!(
            ids(parts_with_distinct_leads(&b)),
            vec![vec!["a", "b"], vec!["a", "c", "b"], vec!["b"]]
        );
    }

    #[test]
    fn distinct_leads_stay_one_part_and_nothing_is_no_part() {
        let b = batch(&["a", "b", "c"]);
        assert_eq!(
            ids(parts_with_distinct_leads(&b)),
            vec![vec!["a", "b", "c"]]
        );
        assert!(parts_with_distinct_leads(&[]).is_empty());
    }
}
