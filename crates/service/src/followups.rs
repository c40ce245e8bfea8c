//! Work that follows a capture — scoring the submission, recording its answers (which
//! may route the lead), and sending not-ready leads to nurture — done by one background
//! worker in arrival order, so a form post answers as soon as its capture is committed.

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

/// The queue between request handlers and the worker.
pub(crate) struct Followups {
    sender: std::sync::Mutex<Option<mpsc::UnboundedSender<Followup>>>,
    pending: AtomicUsize,
    settled: Notify,
}

impl Followups {
    pub(crate) fn new() -> Arc<Followups> {
        Arc::new(Followups {
            sender: std::sync::Mutex::new(None),
            pending: AtomicUsize::new(0),
            settled: Notify::new(),
        })
    }
}

impl App {
    /// Queues a follow-up, starting the worker on first use.
    pub(crate) fn enqueue_followup(&self, followup: Followup) {
        let queue = &self.followups;
        let mut sender = queue.sender.lock().unwrap_or_else(|p| p.into_inner());
        let tx = sender.get_or_insert_with(|| {
            let (tx, mut rx) = mpsc::unbounded_channel::<Followup>();
            let app = self.clone();
            tokio::spawn(async move {
                while let Some(f) = rx.recv().await {
                    if let Err(e) = app.run_followup(&f).await {
                        tracing::error!(lead_id = %f.lead_id, error = %e, "capture follow-up failed");
                    }
                    if app.followups.pending.fetch_sub(1, Ordering::SeqCst) == 1 {
                        app.followups.settled.notify_waiters();
                    }
                }
            });
            tx
        });
        queue.pending.fetch_add(1, Ordering::SeqCst);
        if tx.send(followup).is_err() {
            queue.pending.fetch_sub(1, Ordering::SeqCst);
        }
    }

    async fn run_followup(&self, f: &Followup) -> crate::error::Result<()> {
        // Answers first: a "call me" answer makes the lead sales-ready (and routes it),
        // so the triage in the scoring transaction then leaves it with its rep.
        if !f.answers.is_empty() {
            self.set_answers(&f.lead_id, &f.answers, None, &f.actor)
                .await?;
        }
        self.record_activity_with(&f.lead_id, "form_submitted", None, &f.actor, true)
            .await?;
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
