//! Live events for Server-Sent Event clients. One tail task per server follows the
//! outbox table (so events written by any server reach every server's clients) and
//! broadcasts them; each client filters what its user may see.
//!
//! The tail reads by id (ULIDs sort by creation time). A transaction that commits after
//! a newer one could be skipped by a plain `id > cursor` read, so ids from the last few
//! seconds are re-checked and any not yet seen are sent late rather than lost.

use crate::error::Result;
use crate::App;
use leadline_store::outbox::{self, OutboxEvent};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;

/// How often the tail looks for events written by other servers.
const POLL: Duration = Duration::from_millis(100);
/// The least time between two reads. Under load every commit wakes the tail; reading
/// at most every few milliseconds lets one read carry many events instead of one each.
const MIN_GAP: Duration = Duration::from_millis(5);
/// How far back it re-checks for late commits.
const LATE_COMMIT_WINDOW_MS: u64 = 5_000;
/// Events buffered per slow client before it must catch up from the table.
const CHANNEL_CAPACITY: usize = 4096;

pub(crate) struct Hub {
    sender: broadcast::Sender<Arc<OutboxEvent>>,
    /// Whether the tail task runs; it stops when the last client leaves.
    running: std::sync::Mutex<bool>,
}

impl Hub {
    pub(crate) fn new() -> Hub {
        Hub {
            sender: broadcast::Sender::new(CHANNEL_CAPACITY),
            running: std::sync::Mutex::new(false),
        }
    }
}

/// The smallest ULID of the given millisecond, as a lower bound for id comparisons.
fn id_floor(ms: u64) -> String {
    ulid::Ulid::from_parts(ms, 0).to_string()
}

fn id_time(id: &str) -> Option<u64> {
    ulid::Ulid::from_string(id).ok().map(|u| u.timestamp_ms())
}

impl App {
    /// Live events from now on. The receiver lags (and should catch up with
    /// `events_after`) if it falls more than a few thousand events behind.
    pub fn subscribe_events(&self) -> broadcast::Receiver<Arc<OutboxEvent>> {
        let mut running = self.hub.running.lock().unwrap_or_else(|p| p.into_inner());
        let receiver = self.hub.sender.subscribe();
        if !*running {
            *running = true;
            let app = self.clone();
            let now_ms = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as u64)
                .unwrap_or(0);
            // ULIDs carry the system time, so every event written from now on sorts above.
            let start = id_floor(now_ms.saturating_sub(1));
            tokio::spawn(async move { app.tail_outbox(start).await });
        }
        receiver
    }

    /// Stored events after `after_id`, oldest first: a reconnecting client's replay
    /// (`Last-Event-ID`).
    pub async fn events_after(&self, after_id: &str, limit: i64) -> Result<Vec<OutboxEvent>> {
        let mut conn = self.db.acquire().await?;
        Ok(outbox::events_after(&mut conn, after_id, limit).await?)
    }

    /// Follows the outbox from `start` (an id floor taken when the first client
    /// subscribed, so nothing written after that moment is missed) while anyone listens.
    async fn tail_outbox(&self, start: String) {
        let mut cursor = start.clone();
        let mut seen: BTreeSet<String> = BTreeSet::new();
        let mut last_recheck = std::time::Instant::now();
        loop {
            {
                let mut running = self.hub.running.lock().unwrap_or_else(|p| p.into_inner());
                if self.hub.sender.receiver_count() == 0 {
                    *running = false;
                    return;
                }
            }
            let recheck = last_recheck.elapsed() >= Duration::from_secs(1);
            let read_at = tokio::time::Instant::now();
            match self
                .tail_step(&start, &mut cursor, &mut seen, recheck)
                .await
            {
                Ok(()) => {
                    if recheck {
                        last_recheck = std::time::Instant::now();
                    }
                }
                Err(e) => tracing::error!(error = %e, "event stream read failed; retrying"),
            }
            tokio::select! {
                _ = self.outbox.written_for_stream.notified() => {}
                _ = tokio::time::sleep(POLL) => {}
            }
            tokio::time::sleep_until(read_at + MIN_GAP).await;
        }
    }

    async fn tail_step(
        &self,
        start: &str,
        cursor: &mut String,
        seen: &mut BTreeSet<String>,
        recheck: bool,
    ) -> Result<()> {
        let mut conn = self.db.acquire().await?;
        let mut fresh = Vec::new();
        if recheck {
            let window = id_floor(
                id_time(cursor)
                    .unwrap_or(0)
                    .saturating_sub(LATE_COMMIT_WINDOW_MS),
            );
            // Never earlier than the start: what came before is not news to anyone.
            let floor = window.max(start.to_string());
            let missing: Vec<String> = outbox::event_ids_between(&mut conn, &floor, cursor)
                .await?
                .into_iter()
                .filter(|id| !seen.contains(id))
                .collect();
            if !missing.is_empty() {
                fresh.extend(outbox::events_by_ids(&mut conn, &missing).await?);
            }
        }
        loop {
            let batch = outbox::events_after(&mut conn, cursor, 1000).await?;
            let full = batch.len() == 1000;
            if let Some(last) = batch.last() {
                *cursor = last.id.clone();
            }
            fresh.extend(batch);
            if !full {
                break;
            }
        }
        drop(conn);
        for event in fresh {
            if seen.insert(event.id.clone()) {
                // No receivers is not an error: the next step notices and stops.
                let _ = self.hub.sender.send(Arc::new(event));
            }
        }
        if let Some(now_ms) = id_time(cursor) {
            let floor = id_floor(now_ms.saturating_sub(LATE_COMMIT_WINDOW_MS));
            *seen = seen.split_off(&floor);
        }
        Ok(())
    }
}
