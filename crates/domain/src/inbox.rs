//! A rep's inbox: their open leads in the order they should be worked.
//!
//! First every lead whose speed-to-lead clock runs (routed, not yet touched), the one
//! due soonest first, breached ones at the top; then the leads whose next step is
//! overdue, the longest overdue first; then the rest, highest score first, the newest
//! breaking ties. A lead is in one section only.

use serde::Serialize;

/// What ordering needs of a lead.
#[derive(Debug, Clone, PartialEq)]
pub struct InboxLead<T> {
    /// The caller's row (names, company …), carried through.
    pub row: T,
    pub created_at: i64,
    /// Due instant of the running SLA clock; `None` once touched or without a clock.
    pub sla_due_at: Option<i64>,
    pub next_step_due_at: Option<i64>,
    pub score: Option<f64>,
}

/// The section a lead is shown in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    /// Routed and untouched: the clock runs (or is breached).
    FirstTouchDue,
    /// The agreed next step is past due.
    NextStepOverdue,
    Open,
}

/// The inbox, ordered within each section.
#[derive(Debug, Clone, PartialEq)]
pub struct Inbox<T> {
    pub first_touch_due: Vec<InboxLead<T>>,
    pub next_step_overdue: Vec<InboxLead<T>>,
    pub open: Vec<InboxLead<T>>,
}

impl<T> Inbox<T> {
    pub fn len(&self) -> usize {
        self.first_touch_due.len() + self.next_step_overdue.len() + self.open.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every lead in order, with its section.
    pub fn in_order(&self) -> impl Iterator<Item = (Urgency, &InboxLead<T>)> {
        self.first_touch_due
            .iter()
            .map(|l| (Urgency::FirstTouchDue, l))
            .chain(
                self.next_step_overdue
                    .iter()
                    .map(|l| (Urgency::NextStepOverdue, l)),
            )
            .chain(self.open.iter().map(|l| (Urgency::Open, l)))
    }
}

/// The section of one lead at `now`.
pub fn urgency<T>(lead: &InboxLead<T>, now: i64) -> Urgency {
    if lead.sla_due_at.is_some() {
        Urgency::FirstTouchDue
    } else if lead.next_step_due_at.is_some_and(|due| due <= now) {
        Urgency::NextStepOverdue
    } else {
        Urgency::Open
    }
}

/// Sorts `leads` into the inbox's sections and order at `now`.
pub fn order_inbox<T>(leads: Vec<InboxLead<T>>, now: i64) -> Inbox<T> {
    let mut inbox = Inbox {
        first_touch_due: Vec::new(),
        next_step_overdue: Vec::new(),
        open: Vec::new(),
    };
    for lead in leads {
        match urgency(&lead, now) {
            Urgency::FirstTouchDue => inbox.first_touch_due.push(lead),
            Urgency::NextStepOverdue => inbox.next_step_overdue.push(lead),
            Urgency::Open => inbox.open.push(lead),
        }
    }
    // Stable sorts: equal keys keep the caller's order (the store's, by id).
    inbox.first_touch_due.sort_by_key(|l| l.sla_due_at);
    inbox.next_step_overdue.sort_by_key(|l| l.next_step_due_at);
    inbox.open.sort_by(|a, b| {
        let score = |l: &InboxLead<T>| l.score.unwrap_or(f64::NEG_INFINITY);
        score(b)
            .total_cmp(&score(a))
            .then(b.created_at.cmp(&a.created_at))
    });
    inbox
}

/// Time left until `due` at `now` as a countdown reads: `4:59`, `0:07`, and with a
/// minus sign once past (`-1:30`); hours when there are any (`2:05:00`).
pub fn countdown(due: i64, now: i64) -> String {
    let left = due - now;
    let sign = if left < 0 { "-" } else { "" };
    // A breached clock counts up from the first second past due.
    let secs = if left < 0 {
        (-left + 999) / 1000
    } else {
        left / 1000
    };
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if h > 0 {
        format!("{sign}{h}:{m:02}:{s:02}")
    } else {
        format!("{sign}{m}:{s:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_000_000_000;

    fn lead(
        name: &'static str,
        sla: Option<i64>,
        next: Option<i64>,
        score: Option<f64>,
        created: i64,
    ) -> InboxLead<&'static str> {
        InboxLead {
            row: name,
            created_at: created,
            sla_due_at: sla,
            next_step_due_at: next,
            score,
        }
    }

    fn names(v: &[InboxLead<&'static str>]) -> Vec<&'static str> {
        v.iter().map(|l| l.row).collect()
    }

    #[test]
    fn sections_and_order() {
        let inbox = order_inbox(
            vec![
                lead("open low", None, None, Some(10.0), 5),
                lead("sla later", Some(NOW + 240_000), None, None, 1),
                lead("overdue a day", None, Some(NOW - 86_400_000), Some(90.0), 2),
                lead("open high", None, None, Some(80.0), 3),
                lead("sla breached", Some(NOW - 30_000), Some(NOW - 1), None, 4),
                lead("step tomorrow", None, Some(NOW + 86_400_000), Some(50.0), 6),
                lead("overdue an hour", None, Some(NOW - 3_600_000), None, 7),
                lead("unscored new", None, None, None, 9),
                lead("unscored old", None, None, None, 8),
                lead("step due now", None, Some(NOW), None, 10),
            ],
            NOW,
        );
        assert_eq!(names(&inbox.first_touch_due), ["sla breached", "sla later"]);
        assert_eq!(
            names(&inbox.next_step_overdue),
            ["overdue a day", "overdue an hour", "step due now"]
        );
        assert_eq!(
            names(&inbox.open),
            [
                "open high",
                "step tomorrow",
                "open low",
                "unscored new",
                "unscored old"
            ]
        );
        assert_eq!(inbox.len(), 10);
        let order: Vec<Urgency> = inbox.in_order().map(|(u, _)| u).collect();
        assert_eq!(order[0], Urgency::FirstTouchDue);
        assert_eq!(order[2], Urgency::NextStepOverdue);
        assert_eq!(order[9], Urgency::Open);
    }

    #[test]
    fn an_empty_inbox() {
        let inbox = order_inbox(Vec::<InboxLead<()>>::new(), NOW);
        assert!(inbox.is_empty());
        assert_eq!(inbox.in_order().count(), 0);
    }

    #[test]
    fn ties_keep_the_callers_order() {
        let inbox = order_inbox(
            vec![
                lead("a", Some(NOW), None, None, 1),
                lead("b", Some(NOW), None, None, 1),
                lead("c", None, None, Some(1.0), 1),
                lead("d", None, None, Some(1.0), 1),
            ],
            NOW,
        );
        assert_eq!(names(&inbox.first_touch_due), ["a", "b"]);
        assert_eq!(names(&inbox.open), ["c", "d"]);
    }

    #[test]
    fn countdowns_read_like_a_clock() {
        for (left, want) in [
            (300_000, "5:00"),
            (299_001, "4:59"),
            (7_000, "0:07"),
            (999, "0:00"),
            (0, "0:00"),
            (-1, "-0:01"),
            (-90_000, "-1:30"),
            (7_500_000, "2:05:00"),
            (-3_600_000, "-1:00:00"),
        ] {
            assert_eq!(countdown(NOW + left, NOW), want, "{left}");
        }
    }
}
