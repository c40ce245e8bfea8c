//! The sales manager's live view of their team: leads nobody owns, the running
//! speed-to-lead clocks and the breached ones, and each rep's load, capacity and
//! whether they are working now.

use crate::error::Result;
use crate::App;
use leadline_domain::access::LeadScope;
use leadline_domain::schedule::WorkingHours;
use leadline_domain::sla::SlaClock;
use leadline_store::lead_list::{self, LeadQuery, LeadSort, ListRow, OwnerFilter};
use leadline_store::users::UserRow;
use leadline_store::work::{self, ClockRow};

/// Most rows per section of the board.
pub const BOARD_ROWS: usize = 100;

/// A lead whose first touch is due.
#[derive(Debug, Clone)]
pub struct RunningClock {
    pub row: ClockRow,
    pub due_at: i64,
}

/// One rep as the manager sees them.
#[derive(Debug, Clone)]
pub struct RepLoad {
    pub user: UserRow,
    pub open_leads: i64,
    pub working_now: bool,
    /// When they next start work, if not working now.
    pub next_start: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct TeamBoard {
    pub now: i64,
    /// Open leads nobody owns (routing found nobody, or they are not sales-ready yet),
    /// oldest first. Empty for a scope without unowned leads.
    pub unassigned: Vec<ListRow>,
    /// Routed, untouched leads, the soonest due first.
    pub clocks: Vec<RunningClock>,
    pub reps: Vec<RepLoad>,
}

impl RunningClock {
    pub fn breached(&self, now: i64) -> bool {
        self.due_at < now
    }
}

impl App {
    /// The board for a caller with `scope`: their reps (every rep for a scope of all
    /// leads) and the leads of those reps and the unowned pool.
    pub async fn team_board(&self, scope: &LeadScope) -> Result<TeamBoard> {
        let now = self.now();
        let open = self.open_stage_keys().await?;
        let users = self.list_users().await?;
        let reps: Vec<UserRow> = users
            .into_iter()
            .filter(|u| u.role == "rep" && u.active && scope.includes(Some(&u.id)))
            .collect();
        let rep_ids: Vec<String> = reps.iter().map(|r| r.id.clone()).collect();
        let mut conn = self.db.acquire().await?;
        let counts = work::open_leads_by_owner(&mut conn, &open).await?;
        let takes_unowned = scope.includes(None);
        let unassigned = if takes_unowned {
            let query = LeadQuery {
                stages: open.clone(),
                owner: Some(OwnerFilter::Nobody),
                sort: LeadSort::Oldest,
                ..Default::default()
            };
            lead_list::page(&mut conn, &query, None, BOARD_ROWS).await?
        } else {
            Vec::new()
        };
        let owners = (!scope.is_all()).then_some(rep_ids.as_slice());
        let mut clocks: Vec<RunningClock> =
            work::running_clocks(&mut conn, owners, BOARD_ROWS as i64)
                .await?
                .into_iter()
                .filter_map(|row| {
                    let clock: SlaClock = serde_json::from_str(row.sla_clock.as_deref()?).ok()?;
                    Some(RunningClock {
                        due_at: clock.due_at,
                        row,
                    })
                })
                .collect();
        clocks.sort_by_key(|c| (c.due_at, c.row.lead_id.clone()));
        let reps = reps
            .into_iter()
            .map(|user| {
                let hours: WorkingHours =
                    serde_json::from_value(user.working_hours.clone()).unwrap_or_default();
                let working_now = hours.is_working(now);
                RepLoad {
                    open_leads: counts.get(&user.id).copied().unwrap_or(0),
                    next_start: (!working_now)
                        .then(|| hours.next_working_start(now))
                        .flatten(),
                    working_now,
                    user,
                }
            })
            .collect();
        Ok(TeamBoard {
            now,
            unassigned,
            clocks,
            reps,
        })
    }
}
