//! A rep's inbox: their open leads, most urgent first (see `leadline_domain::inbox`).

use crate::error::Result;
use crate::App;
use leadline_domain::inbox::{order_inbox, Inbox, InboxLead};
use leadline_domain::sla::SlaClock;
use leadline_store::work::{self, InboxRow};

/// Most leads an inbox shows: a rep's capacity is far below it.
pub const INBOX_LIMIT: i64 = 500;

/// The inbox of one user at `now`.
#[derive(Debug, Clone)]
pub struct RepInbox {
    pub now: i64,
    pub leads: Inbox<InboxRow>,
}

impl App {
    /// The open leads `user_id` owns, in the order they should be worked.
    pub async fn inbox(&self, user_id: &str) -> Result<RepInbox> {
        let open = self.open_stage_keys().await?;
        let now = self.now();
        let mut conn = self.db.acquire().await?;
        let rows = work::inbox_rows(&mut conn, user_id, &open, INBOX_LIMIT).await?;
        let leads = rows
            .into_iter()
            .map(|row| {
                // The clock runs until the first touch.
                let sla_due_at = row
                    .sla_clock
                    .as_deref()
                    .filter(|_| row.first_touch_at.is_none())
                    .and_then(|c| serde_json::from_str::<SlaClock>(c).ok())
                    .map(|c| c.due_at);
                InboxLead {
                    created_at: row.created_at,
                    next_step_due_at: row.next_step_due_at,
                    score: row.score,
                    sla_due_at,
                    row,
                }
            })
            .collect();
        Ok(RepInbox {
            now,
            leads: order_inbox(leads, now),
        })
    }
}
