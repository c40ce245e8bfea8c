//! Work that follows a capture — recording its qualification answers (which may route
//! the lead), scoring the submission, and sending not-ready leads to nurture — done
//! after the visitor has been answered.
//!
//! Acknowledged means durable: the capture's transaction writes a `pending_followups`
//! row, and the follow-up's transaction deletes it, so each is done exactly once (see
//! `leadline_store::followups`). The capturing server does it at once from an
//! in-memory queue — memory only speeds things up — and holds the row for a lease;
//! a row left behind by a crash, a shutdown or a failure (retried with backoff) is
//! claimed by the sweeper of any server. A follow-up that keeps failing is given up
//! after its last attempt, with the reason on the lead's timeline and in the log.
//!
//! Each lead's follow-ups go to one worker, in arrival order; different leads
//! proceed in parallel.

use crate::error::ServiceError;
use crate::leads::LeadState;
use crate::lifecycle::Reading;
use crate::App;
use leadline_domain::notify::{AfterAttempt, RetryPolicy};
use leadline_store::followups::{self, PendingFollowup};
use leadline_store::timeline::{self, TimelineEvent};
use leadline_store::StoreError;
use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, Notify};

/// One captured lead's follow-up.
#[derive(Debug, Clone)]
pub struct Followup {
    /// The `pending_followups` row that stands for it.
    pub id: String,
    pub lead_id: String,
    pub actor: String,
    /// Qualification answers the form carried (`question` → answer text).
    pub answers: BTreeMap<String, Option<String>>,
}

impl Followup {
    pub(crate) fn from_row(row: PendingFollowup) -> Followup {
        let answers = row
            .answers
            .as_object()
            .map(|map| {
                map.iter()
                    .map(|(q, a)| (q.clone(), a.as_str().map(str::to_string)))
                    .collect()
            })
            .unwrap_or_default();
        Followup {
            id: row.id,
            lead_id: row.lead_id,
            actor: row.actor,
            answers,
        }
    }
}

/// How long the capturing server holds a fresh follow-up before any server may take
/// it: far longer than one takes (milliseconds), and short enough that a crashed
/// server's follow-ups are picked up within seconds of any restart. A server that is
/// merely behind loses nothing by it: whoever deletes the row first does the work,
/// and the other finds it gone and skips it.
pub const LEASE_MS: i64 = 5_000;

/// Retries of a failing follow-up: 2 s, doubling to 10 min; given up after the tenth
/// attempt (about 17 minutes), so a database outage of a few minutes loses nothing.
pub const RETRY: RetryPolicy = RetryPolicy {
    first_delay_ms: 2_000,
    max_delay_ms: 600_000,
    max_attempts: 10,
};

/// Most follow-ups one transaction takes: under load, those queued by the time a
/// worker is free are done together, sharing one commit.
const MAX_BATCH: usize = 32;

/// Most follow-ups one sweep claims.
const SWEEP_BATCH: i64 = 200;

/// How many follow-ups run at once (each on its own lead). SQLite writes one
/// transaction at a time, so there more workers would only take turns away from
/// captures, which matter more: a visitor is waiting for those.
fn workers(backend: leadline_store::Backend) -> usize {
    match backend {
        leadline_store::Backend::Sqlite => 1,
        leadline_store::Backend::Postgres => 4,
    }
}

/// The queues between the capture writer and the workers.
pub(crate) struct Followups {
    senders: std::sync::Mutex<Vec<mpsc::UnboundedSender<Followup>>>,
    /// Follow-ups queued in memory and not finished, by id (handed back at shutdown).
    held: std::sync::Mutex<HashSet<String>>,
    pending: AtomicUsize,
    settled: Notify,
    /// Off in tests that stand in for a server that died after acknowledging.
    in_memory: AtomicBool,
}

impl Followups {
    pub(crate) fn new() -> Arc<Followups> {
        Arc::new(Followups {
            senders: std::sync::Mutex::new(Vec::new()),
            held: std::sync::Mutex::new(HashSet::new()),
            pending: AtomicUsize::new(0),
            settled: Notify::new(),
            in_memory: AtomicBool::new(true),
        })
    }
}

/// What a follow-up's error says, for the log and the lead's timeline.
fn describe(e: &ServiceError) -> String {
    match e {
        ServiceError::Internal(e) => format!("{e:#}"),
        other => other.to_string(),
    }
}

impl App {
    /// The `pending_followups` row for a follow-up of `lead_id`, held by this server
    /// for a lease; written by the capture in its own transaction.
    pub(crate) fn new_followup_row(
        &self,
        lead_id: &str,
        actor: &str,
        answers: &BTreeMap<String, Option<String>>,
    ) -> PendingFollowup {
        let now = self.now();
        PendingFollowup {
            id: leadline_store::new_id(),
            lead_id: lead_id.to_string(),
            actor: actor.to_string(),
            answers: serde_json::to_value(answers).unwrap_or_else(|_| serde_json::json!({})),
            attempts: 0,
            available_at: now + LEASE_MS,
            last_error: None,
            failed_at: None,
            created_at: now,
        }
    }

    /// Writes a follow-up's row on its own, not queued (the tests' way to stage one).
    #[doc(hidden)]
    pub async fn record_followup(
        &self,
        lead_id: &str,
        actor: &str,
        answers: &BTreeMap<String, Option<String>>,
    ) -> crate::error::Result<Followup> {
        let row = self.new_followup_row(lead_id, actor, answers);
        let mut tx = self.db.begin().await?;
        followups::insert_many(&mut tx, std::slice::from_ref(&row)).await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(Followup::from_row(row))
    }

    /// Stops (or restarts) doing follow-ups from memory: they then wait in the
    /// database for the sweeper, as after a crash. For tests.
    #[doc(hidden)]
    pub fn set_in_memory_followups(&self, on: bool) {
        self.followups.in_memory.store(on, Ordering::SeqCst);
    }

    /// Queues a committed follow-up on its lead's worker, starting the workers on
    /// first use.
    pub(crate) fn enqueue_followup(&self, followup: Followup) {
        let queue = &self.followups;
        if !queue.in_memory.load(Ordering::SeqCst) {
            return;
        }
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
                        app.release_held(&batch);
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
        let id = followup.id.clone();
        queue.pending.fetch_add(1, Ordering::SeqCst);
        queue
            .held
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id.clone());
        if tx.send(followup).is_err() {
            self.release_held_ids(&[id]);
        }
    }

    fn release_held(&self, batch: &[Followup]) {
        let ids: Vec<String> = batch.iter().map(|f| f.id.clone()).collect();
        self.release_held_ids(&ids);
    }

    fn release_held_ids(&self, ids: &[String]) {
        let queue = &self.followups;
        {
            let mut held = queue.held.lock().unwrap_or_else(|p| p.into_inner());
            for id in ids {
                held.remove(id);
            }
        }
        let done = ids.len();
        if queue.pending.fetch_sub(done, Ordering::SeqCst) == done {
            queue.settled.notify_waiters();
        }
    }

    /// Does follow-ups in one transaction, taking their rows first: one another worker
    /// (or server) already did is skipped. If the transaction fails, each is done in
    /// its own, so one failing follow-up spares the others; a failure is recorded on
    /// the row, to be retried later.
    #[doc(hidden)] // used by the workers and the sweeper; public for the tests
    pub async fn run_followups(&self, batch: &[Followup]) {
        if batch.is_empty() {
            return;
        }
        match self.followups_together(batch).await {
            Ok(()) => self.outbox_written(),
            Err(e) if batch.len() == 1 => self.followup_failed(&batch[0], &e).await,
            Err(_) => {
                for f in batch {
                    match self.followups_together(std::slice::from_ref(f)).await {
                        Ok(()) => self.outbox_written(),
                        Err(e) => self.followup_failed(f, &e).await,
                    }
                }
            }
        }
    }

    async fn followups_together(&self, batch: &[Followup]) -> crate::error::Result<()> {
        let mut tx = self.db.begin().await?;
        let ids: Vec<String> = batch.iter().map(|f| f.id.clone()).collect();
        let taken: HashSet<String> = followups::take(&mut tx, &ids).await?.into_iter().collect();
        let todo: Vec<Followup> = batch
            .iter()
            .filter(|f| taken.contains(&f.id))
            .cloned()
            .collect();
        for part in parts_with_distinct_leads(&todo) {
            self.followups_in(&mut tx, part).await?;
        }
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }

    /// Records a failed attempt on the follow-up's row: a retry after a backoff, or,
    /// after the last attempt, giving up with the reason on the lead's timeline.
    async fn followup_failed(&self, f: &Followup, e: &ServiceError) {
        let error = describe(e);
        let recorded = async {
            let now = self.now();
            let mut tx = self.db.begin().await?;
            // Gone means another server did it meanwhile.
            let Some(row) = followups::get(&mut tx, &f.id).await? else {
                return Ok::<_, ServiceError>(None);
            };
            let attempts = row.attempts + 1;
            let seed =
                f.id.bytes()
                    .fold(0u64, |h, b| h.wrapping_mul(31) ^ u64::from(b));
            let after = RETRY.after_attempt(
                false,
                u32::try_from(attempts).unwrap_or(u32::MAX),
                now,
                seed,
            );
            let retry_at = match after {
                AfterAttempt::RetryAt(at) => Some(at),
                _ => None,
            };
            followups::record_failure(&mut tx, &f.id, attempts, retry_at, &error, now).await?;
            if retry_at.is_none() {
                let payload = serde_json::json!({
                    "followup_id": f.id, "attempts": attempts, "error": error,
                    "answers": f.answers,
                });
                timeline::append(
                    &mut tx,
                    &[TimelineEvent::new(
                        &f.lead_id,
                        "followup_failed",
                        &f.actor,
                        now,
                        payload,
                    )],
                )
                .await?;
            }
            tx.commit().await.map_err(StoreError::from)?;
            Ok(Some((attempts, retry_at)))
        };
        match recorded.await {
            Ok(Some((attempts, Some(retry_at)))) => tracing::warn!(
                lead_id = %f.lead_id, followup_id = %f.id, attempts, retry_at, %error,
                "capture follow-up failed; it will be retried"
            ),
            Ok(Some((attempts, None))) => tracing::error!(
                lead_id = %f.lead_id, followup_id = %f.id, attempts, %error,
                "capture follow-up failed for the last time; given up (see the lead's timeline)"
            ),
            Ok(None) => {}
            // The row keeps its lease and is retried when the lease runs out.
            Err(record_error) => tracing::error!(
                lead_id = %f.lead_id, followup_id = %f.id, %error, record_error = %describe(&record_error),
                "capture follow-up failed and the failure could not be recorded"
            ),
        }
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
            let mut state = match LeadState::load(tx, &f.lead_id).await {
                // Merged into another lead meanwhile: the answers belong there now.
                Err(ServiceError::Conflict {
                    code: "lead_merged",
                    ..
                }) => {
                    let survivor = crate::leads::surviving_lead_id(tx, &f.lead_id).await?;
                    LeadState::load(tx, &survivor).await?
                }
                other => other?,
            };
            // Answers first: a "call me" answer makes the lead sales-ready, so triage
            // leaves it alone and it is routed below.
            if !f.answers.is_empty() {
                self.apply_answers(&mut state, &f.answers, None, Reading::Lenient, &f.actor)?;
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

    /// Claims the follow-ups that are due — left by a server that stopped, or waiting
    /// out a retry — and does them. Returns how many it claimed.
    pub async fn run_due_followups(&self) -> crate::error::Result<usize> {
        let now = self.now();
        let claimed = {
            let mut tx = self.db.begin().await?;
            let claimed = followups::claim_due(&mut tx, now, now + LEASE_MS, SWEEP_BATCH).await?;
            tx.commit().await.map_err(StoreError::from)?;
            claimed
        };
        let n = claimed.len();
        let batch: Vec<Followup> = claimed.into_iter().map(Followup::from_row).collect();
        // Several leads per transaction, as the in-memory workers do.
        for chunk in batch.chunks(MAX_BATCH) {
            self.run_followups(chunk).await;
        }
        Ok(n)
    }

    /// The sweeper of `serve`: picks up due follow-ups at start and every `poll`.
    pub fn spawn_followup_sweeper(&self, poll: Duration) -> tokio::task::JoinHandle<()> {
        let app = self.clone();
        tokio::spawn(async move {
            while !app.is_stopping() {
                loop {
                    match app.run_due_followups().await {
                        Ok(n) if n as i64 == SWEEP_BATCH => continue,
                        Ok(_) => break,
                        Err(e) => {
                            tracing::error!(error = %describe(&e), "follow-up sweep failed; retrying");
                            break;
                        }
                    }
                }
                tokio::select! {
                    _ = tokio::time::sleep(poll) => {}
                    _ = app.stopped() => return,
                }
            }
        })
    }

    /// Waits until every follow-up queued in memory has been done (tests).
    pub async fn settle(&self) {
        loop {
            let notified = self.followups.settled.notified();
            if self.followups.pending.load(Ordering::SeqCst) == 0 {
                return;
            }
            notified.await;
        }
    }

    /// Orderly shutdown: waits up to `grace` for the follow-ups queued in memory, then
    /// hands the rest back (their rows become due at once for the next server to
    /// start). Returns how many it handed back.
    pub async fn finish_followups(&self, grace: Duration) -> usize {
        let _ = tokio::time::timeout(grace, self.settle()).await;
        self.followups.in_memory.store(false, Ordering::SeqCst);
        let held: Vec<String> = self
            .followups
            .held
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect();
        if held.is_empty() {
            return 0;
        }
        let handed_back = async {
            let mut tx = self.db.begin().await?;
            followups::set_available_at(&mut tx, &held, self.now()).await?;
            tx.commit().await.map_err(StoreError::from)?;
            Ok::<_, ServiceError>(())
        };
        if let Err(e) = handed_back.await {
            // Their leases still run out; another start picks them up then.
            tracing::warn!(error = %describe(&e), count = held.len(), "could not hand back follow-ups at shutdown");
        }
        held.len()
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
                id: format!("f-{id}"),
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
