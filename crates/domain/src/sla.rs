//! Speed-to-lead SLA and "losing touch" arithmetic.
//!
//! A web lead contacted within 5 minutes is far likelier to qualify than one contacted
//! after 30, so every sales-ready lead gets a clock when it is routed: due at capture +
//! the policy's working time, the manager is told at breach (+ a delay), and the lead is
//! re-routed after a set time if still untouched. All functions take the time in, so a
//! periodic job and a clock-driven test ask exactly the same questions.
//!
//! Afterwards, an open lead whose next step is overdue, or that nobody has touched for
//! too long, is "losing touch" and is listed for its owner and manager.

use crate::conditions::{all_match, Condition, ConditionError, Facts, Operator};
use crate::schedule::WorkingHours;
use serde::{Deserialize, Serialize};

const MINUTE_MS: i64 = 60_000;

/// When a policy applies and how fast a rep must react.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SlaPolicy {
    pub id: String,
    pub name: String,
    /// All must match the lead's facts; empty applies to every routed lead.
    #[serde(default)]
    pub applies_to: Vec<Condition>,
    /// First touch due this many minutes after capture (working minutes when
    /// `working_hours_only`).
    pub first_touch_within_minutes: u32,
    /// The manager is notified this many minutes after the breach (0 = at breach).
    #[serde(default)]
    pub escalate_after_minutes: u32,
    /// Re-route to the next eligible rep this many minutes after capture, if untouched.
    #[serde(default)]
    pub reroute_after_minutes: Option<u32>,
    /// Count only the owner's working hours, so a lead captured on Friday evening is not
    /// breached before Monday morning.
    #[serde(default = "yes")]
    pub working_hours_only: bool,
}

fn yes() -> bool {
    true
}

impl Default for SlaPolicy {
    /// The speed-to-lead default: a sales-ready web lead is touched within 5 working
    /// minutes, the manager hears at breach, and the lead is re-routed at 15 minutes.
    /// (Only sales-ready leads are routed, so the channel is the only condition.)
    fn default() -> Self {
        SlaPolicy {
            id: "speed-to-lead".into(),
            name: "Speed to lead: web leads within 5 minutes".into(),
            applies_to: vec![Condition {
                field: "channel".into(),
                op: Operator::In,
                value: serde_json::json!(["web_form", "landing_page"]),
            }],
            first_touch_within_minutes: 5,
            escalate_after_minutes: 0,
            reroute_after_minutes: Some(15),
            working_hours_only: true,
        }
    }
}

/// Why a policy cannot be saved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlaError {
    #[error("policy has an empty id")]
    EmptyId,
    #[error("policy {policy_id:?}, condition #{index}: {error}")]
    InvalidCondition {
        policy_id: String,
        index: usize,
        error: ConditionError,
    },
    #[error("policy {0:?}: first touch must be due after at least 1 minute")]
    ZeroFirstTouch(String),
    #[error("policy {policy_id:?}: re-routing at {reroute} minutes would come before the first touch is even due ({due} minutes)")]
    RerouteBeforeDue {
        policy_id: String,
        reroute: u32,
        due: u32,
    },
}

impl SlaPolicy {
    /// Checks conditions and that the timeline makes sense (re-route not before due).
    pub fn validate(&self) -> Result<(), Vec<SlaError>> {
        let mut errors = Vec::new();
        if self.id.trim().is_empty() {
            errors.push(SlaError::EmptyId);
        }
        for (index, c) in self.applies_to.iter().enumerate() {
            if let Err(error) = c.validate() {
                errors.push(SlaError::InvalidCondition {
                    policy_id: self.id.clone(),
                    index,
                    error,
                });
            }
        }
        if self.first_touch_within_minutes == 0 {
            errors.push(SlaError::ZeroFirstTouch(self.id.clone()));
        }
        if let Some(reroute) = self.reroute_after_minutes {
            if reroute < self.first_touch_within_minutes {
                errors.push(SlaError::RerouteBeforeDue {
                    policy_id: self.id.clone(),
                    reroute,
                    due: self.first_touch_within_minutes,
                });
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// The first policy whose conditions match the lead, in the order given.
pub fn select_policy<'a>(policies: &'a [SlaPolicy], facts: &Facts) -> Option<&'a SlaPolicy> {
    policies.iter().find(|p| all_match(&p.applies_to, facts))
}

/// The instants (epoch ms) that matter for one lead's SLA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SlaClock {
    /// When the clock started (capture).
    pub captured_at: i64,
    /// The last instant a first touch counts as within the SLA.
    pub due_at: i64,
    /// When the manager is to be notified if still untouched.
    pub escalate_at: i64,
    /// When the lead is to be re-routed if still untouched.
    pub reroute_at: Option<i64>,
}

/// Adds minutes, as working time when asked; unusable hours (empty week, unknown zone)
/// fall back to elapsed time so a lead never ends up without a deadline.
fn add_minutes(from: i64, minutes: u32, hours: Option<&WorkingHours>) -> i64 {
    let ms = i64::from(minutes).saturating_mul(MINUTE_MS);
    hours
        .and_then(|h| h.add_working_time(from, ms))
        .unwrap_or_else(|| from.saturating_add(ms))
}

/// Starts the clock for a lead captured at `captured_at`, owned by a rep with `hours`.
/// With `working_hours_only`, all three times count working time (escalation counts from
/// the breach), so a lead captured on Friday at 18:00 is due on Monday at 09:05.
pub fn sla_clock(policy: &SlaPolicy, captured_at: i64, hours: &WorkingHours) -> SlaClock {
    let hours = policy.working_hours_only.then_some(hours);
    let due_at = add_minutes(captured_at, policy.first_touch_within_minutes, hours);
    SlaClock {
        captured_at,
        due_at,
        escalate_at: add_minutes(due_at, policy.escalate_after_minutes, hours),
        reroute_at: policy
            .reroute_after_minutes
            .map(|m| add_minutes(captured_at, m, hours)),
    }
}

/// Where a lead stands against its SLA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum SlaStatus {
    /// Untouched, still in time.
    Pending { due_in_ms: i64 },
    /// Touched; time to first touch is elapsed (wall-clock) time since capture, the
    /// figure reported per rep, while `within_sla` honours working hours.
    Met {
        time_to_first_touch_ms: i64,
        within_sla: bool,
    },
    /// Untouched past the deadline.
    Breached { overdue_ms: i64 },
}

/// The SLA status at `now`. A touch exactly at `due_at` is in time; the SLA is breached
/// only after it.
pub fn sla_status(clock: &SlaClock, first_touch_at: Option<i64>, now: i64) -> SlaStatus {
    match first_touch_at {
        Some(t) => SlaStatus::Met {
            time_to_first_touch_ms: t.saturating_sub(clock.captured_at).max(0),
            within_sla: t <= clock.due_at,
        },
        None if now <= clock.due_at => SlaStatus::Pending {
            due_in_ms: clock.due_at.saturating_sub(now),
        },
        None => SlaStatus::Breached {
            overdue_ms: now.saturating_sub(clock.due_at),
        },
    }
}

/// Something a periodic SLA job must do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SlaAction {
    /// Notify the owner's manager of the breach.
    Escalate,
    /// Route the lead again, excluding the current owner.
    Reroute,
}

/// What is due at `now` for an untouched lead, leaving out what was already done. An
/// action never fires while a touch would still count as in time (`now <= due_at`), and a
/// touched lead needs nothing. After a re-route the service starts a new clock for the
/// new owner.
pub fn due_actions(
    clock: &SlaClock,
    first_touch_at: Option<i64>,
    already_escalated: bool,
    already_rerouted: bool,
    now: i64,
) -> Vec<SlaAction> {
    let mut actions = Vec::new();
    if first_touch_at.is_some() || now <= clock.due_at {
        return actions;
    }
    if !already_escalated && now >= clock.escalate_at {
        actions.push(SlaAction::Escalate);
    }
    if !already_rerouted && clock.reroute_at.is_some_and(|at| now >= at) {
        actions.push(SlaAction::Reroute);
    }
    actions
}

/// Why an open lead is losing touch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum LosingTouchReason {
    /// The agreed next step is past its due date.
    NextStepOverdue { overdue_ms: i64 },
    /// Nobody has touched the lead (since capture, if never) for longer than allowed.
    NoTouchFor { idle_ms: i64 },
    /// The lead was worked but has no next step planned.
    NoNextStep,
}

/// Whether an open lead is losing touch at `now`, and the most pressing reason: an
/// overdue next step, then too long without a touch, then a touched lead with no next
/// step. A lead never touched and without a next step is the speed-to-lead SLA's
/// business until `max_idle_ms` passes, so it is not flagged for lacking a next step.
pub fn losing_touch(
    last_touch_at: Option<i64>,
    captured_at: i64,
    next_step_due_at: Option<i64>,
    max_idle_ms: i64,
    now: i64,
) -> Option<LosingTouchReason> {
    if let Some(due) = next_step_due_at {
        if now > due {
            return Some(LosingTouchReason::NextStepOverdue {
                overdue_ms: now.saturating_sub(due),
            });
        }
    }
    let since = last_touch_at.unwrap_or(captured_at);
    let idle_ms = now.saturating_sub(since).max(0);
    if idle_ms > max_idle_ms {
        return Some(LosingTouchReason::NoTouchFor { idle_ms });
    }
    if next_step_due_at.is_none() && last_touch_at.is_some() {
        return Some(LosingTouchReason::NoNextStep);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::{DayHours, Weekday};
    use jiff::civil::date;
    use jiff::tz::TimeZoneDatabase;
    use serde_json::json;

    const MIN: i64 = 60_000;
    const HOUR: i64 = 60 * MIN;
    const DAY: i64 = 24 * HOUR;

    fn at(tz: &str, y: i16, mo: i8, d: i8, h: i8, mi: i8) -> i64 {
        TimeZoneDatabase::bundled()
            .get(tz)
            .unwrap()
            .to_timestamp(date(y, mo, d).at(h, mi, 0, 0))
            .unwrap()
            .as_millisecond()
    }

    fn london(y: i16, mo: i8, d: i8, h: i8, mi: i8) -> i64 {
        at("Europe/London", y, mo, d, h, mi)
    }

    fn office(tz: &str) -> WorkingHours {
        WorkingHours {
            time_zone: tz.into(),
            week: Weekday::ALL[..5]
                .iter()
                .map(|&d| DayHours::new(d, "09:00", "17:00"))
                .collect(),
            holidays: vec![],
        }
    }

    fn facts(pairs: &[(&str, serde_json::Value)]) -> Facts {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn default_policy_is_valid_and_applies_to_web_leads() {
        let p = SlaPolicy::default();
        assert_eq!(p.validate(), Ok(()));
        assert_eq!(p.first_touch_within_minutes, 5);
        assert_eq!(p.escalate_after_minutes, 0);
        assert_eq!(p.reroute_after_minutes, Some(15));
        assert!(p.working_hours_only);
        let policies = [p];
        assert!(select_policy(&policies, &facts(&[("channel", json!("web_form"))])).is_some());
        assert!(select_policy(&policies, &facts(&[("channel", json!("landing_page"))])).is_some());
        assert!(select_policy(&policies, &facts(&[("channel", json!("trade_show"))])).is_none());
        assert!(select_policy(&policies, &Facts::new()).is_none());
    }

    #[test]
    fn first_matching_policy_wins() {
        let demo = SlaPolicy {
            id: "demo".into(),
            name: "Demo requests".into(),
            applies_to: vec![
                Condition {
                    field: "channel".into(),
                    op: Operator::In,
                    value: json!(["web_form", "landing_page"]),
                },
                Condition {
                    field: "answers.asked_to_be_contacted".into(),
                    op: Operator::Eq,
                    value: json!("yes"),
                },
            ],
            first_touch_within_minutes: 2,
            ..SlaPolicy::default()
        };
        let catch_all = SlaPolicy {
            id: "any".into(),
            applies_to: vec![],
            first_touch_within_minutes: 240,
            reroute_after_minutes: None,
            ..SlaPolicy::default()
        };
        let policies = [demo, SlaPolicy::default(), catch_all];
        let pick = |f: Facts| select_policy(&policies, &f).map(|p| p.id.as_str());
        assert_eq!(
            pick(facts(&[
                ("channel", json!("web_form")),
                ("answers.asked_to_be_contacted", json!("Yes"))
            ])),
            Some("demo")
        );
        assert_eq!(
            pick(facts(&[("channel", json!("web_form"))])),
            Some("speed-to-lead")
        );
        assert_eq!(pick(facts(&[("channel", json!("import"))])), Some("any"));
        assert_eq!(select_policy(&[], &Facts::new()), None);
    }

    #[test]
    fn validation_catches_bad_policies() {
        let bad = SlaPolicy {
            id: " ".into(),
            applies_to: vec![Condition {
                field: "mood".into(),
                op: Operator::Eq,
                value: json!("good"),
            }],
            first_touch_within_minutes: 0,
            reroute_after_minutes: Some(0),
            ..SlaPolicy::default()
        };
        let errors = bad.validate().unwrap_err();
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert_eq!(errors[0], SlaError::EmptyId);
        assert!(matches!(
            errors[1],
            SlaError::InvalidCondition { index: 0, .. }
        ));
        assert_eq!(errors[2], SlaError::ZeroFirstTouch(" ".into()));
        let early = SlaPolicy {
            reroute_after_minutes: Some(3),
            ..SlaPolicy::default()
        };
        assert_eq!(
            early.validate(),
            Err(vec![SlaError::RerouteBeforeDue {
                policy_id: "speed-to-lead".into(),
                reroute: 3,
                due: 5
            }])
        );
    }

    #[test]
    fn policy_serde_defaults_and_refuses_unknown_keys() {
        let p: SlaPolicy = serde_json::from_value(json!({
            "id": "p", "name": "P", "first_touch_within_minutes": 10
        }))
        .unwrap();
        assert!(p.working_hours_only);
        assert_eq!(p.escalate_after_minutes, 0);
        assert_eq!(p.reroute_after_minutes, None);
        assert!(p.applies_to.is_empty());
        let back: SlaPolicy = serde_json::from_value(serde_json::to_value(&p).unwrap()).unwrap();
        assert_eq!(back, p);
        assert!(serde_json::from_value::<SlaPolicy>(json!({
            "id": "p", "name": "P", "first_touch_within_minutes": 10, "within": 3
        }))
        .is_err());
    }

    #[test]
    fn capture_inside_hours_is_due_five_minutes_later() {
        let hours = office("Europe/London");
        let captured = london(2024, 6, 4, 10, 0); // Tuesday
        let clock = sla_clock(&SlaPolicy::default(), captured, &hours);
        assert_eq!(
            clock,
            SlaClock {
                captured_at: captured,
                due_at: captured + 5 * MIN,
                escalate_at: captured + 5 * MIN,
                reroute_at: Some(captured + 15 * MIN),
            }
        );
    }

    #[test]
    fn friday_evening_capture_is_due_monday_0905() {
        let hours = office("Europe/London");
        let captured = london(2024, 6, 7, 18, 0); // Friday
        let clock = sla_clock(&SlaPolicy::default(), captured, &hours);
        assert_eq!(clock.due_at, london(2024, 6, 10, 9, 5));
        assert_eq!(clock.escalate_at, london(2024, 6, 10, 9, 5));
        assert_eq!(clock.reroute_at, Some(london(2024, 6, 10, 9, 15)));
        // Saturday capture: same deadline; nothing happens over the weekend.
        let sat = london(2024, 6, 8, 11, 0);
        assert_eq!(
            sla_clock(&SlaPolicy::default(), sat, &hours),
            SlaClock {
                captured_at: sat,
                ..clock
            }
        );
        let sunday = london(2024, 6, 9, 23, 59);
        assert!(due_actions(&clock, None, false, false, sunday).is_empty());
        assert_eq!(
            sla_status(&clock, None, sunday),
            SlaStatus::Pending {
                due_in_ms: 9 * HOUR + 6 * MIN
            }
        );
    }

    #[test]
    fn capture_near_close_carries_the_remainder_to_the_next_morning() {
        let hours = office("America/New_York");
        let captured = at("America/New_York", 2024, 6, 4, 16, 57);
        let policy = SlaPolicy {
            escalate_after_minutes: 10,
            ..SlaPolicy::default()
        };
        let clock = sla_clock(&policy, captured, &hours);
        assert_eq!(clock.due_at, at("America/New_York", 2024, 6, 5, 9, 2));
        assert_eq!(clock.escalate_at, at("America/New_York", 2024, 6, 5, 9, 12));
        assert_eq!(
            clock.reroute_at,
            Some(at("America/New_York", 2024, 6, 5, 9, 12))
        );
    }

    #[test]
    fn round_the_clock_policy_ignores_hours() {
        let hours = office("Europe/London");
        let policy = SlaPolicy {
            working_hours_only: false,
            escalate_after_minutes: 30,
            reroute_after_minutes: Some(60),
            ..SlaPolicy::default()
        };
        let captured = london(2024, 6, 7, 18, 0);
        let clock = sla_clock(&policy, captured, &hours);
        assert_eq!(clock.due_at, captured + 5 * MIN);
        assert_eq!(clock.escalate_at, captured + 35 * MIN);
        assert_eq!(clock.reroute_at, Some(captured + HOUR));
        // Unusable hours fall back to elapsed time rather than dropping the deadline.
        let broken = WorkingHours {
            time_zone: "Nowhere/Land".into(),
            ..hours
        };
        let clock = sla_clock(&SlaPolicy::default(), captured, &broken);
        assert_eq!(clock.due_at, captured + 5 * MIN);
        // Absurd inputs saturate instead of overflowing.
        let huge = SlaPolicy {
            first_touch_within_minutes: u32::MAX,
            escalate_after_minutes: u32::MAX,
            reroute_after_minutes: Some(u32::MAX),
            working_hours_only: false,
            ..SlaPolicy::default()
        };
        let clock = sla_clock(&huge, i64::MAX - 5, &WorkingHours::always());
        assert_eq!(clock.due_at, i64::MAX);
    }

    #[test]
    fn dst_weekend_changes_the_real_gap_but_not_the_working_deadline() {
        let hours = office("Europe/London");
        // Spring forward (Sun 2024-03-31): Friday 16:58 GMT + 5 working min = Mon 09:03 BST.
        let fri = london(2024, 3, 29, 16, 58);
        let clock = sla_clock(&SlaPolicy::default(), fri, &hours);
        assert_eq!(clock.due_at, london(2024, 4, 1, 9, 3));
        assert_eq!(clock.due_at - fri, 2 * DAY + 15 * HOUR + 5 * MIN);
        // Fall back (Sun 2024-10-27): one hour longer.
        let fri = london(2024, 10, 25, 16, 58);
        let clock = sla_clock(&SlaPolicy::default(), fri, &hours);
        assert_eq!(clock.due_at, london(2024, 10, 28, 9, 3));
        assert_eq!(clock.due_at - fri, 2 * DAY + 17 * HOUR + 5 * MIN);
        // New York springs forward on Sun 2024-03-10.
        let ny = office("America/New_York");
        let fri = at("America/New_York", 2024, 3, 8, 16, 59);
        let clock = sla_clock(&SlaPolicy::default(), fri, &ny);
        assert_eq!(clock.due_at, at("America/New_York", 2024, 3, 11, 9, 4));
        assert_eq!(
            clock.reroute_at,
            Some(at("America/New_York", 2024, 3, 11, 9, 14))
        );
    }

    #[test]
    fn untouched_lead_escalates_then_reroutes_on_a_driven_clock() {
        let hours = office("Europe/London");
        let captured = london(2024, 6, 4, 10, 0);
        let policy = SlaPolicy {
            escalate_after_minutes: 2,
            ..SlaPolicy::default()
        };
        let clock = sla_clock(&policy, captured, &hours);
        let (mut escalated, mut rerouted) = (false, false);
        let mut log = Vec::new();
        // A job ticking every 30 seconds for 20 minutes.
        for tick in 0..=40 {
            let now = captured + tick * 30_000;
            for action in due_actions(&clock, None, escalated, rerouted, now) {
                match action {
                    SlaAction::Escalate => escalated = true,
                    SlaAction::Reroute => rerouted = true,
                }
                log.push((action, (now - captured) / 1000));
            }
        }
        assert_eq!(
            log,
            [(SlaAction::Escalate, 7 * 60), (SlaAction::Reroute, 15 * 60)]
        );

        // Exact boundaries: nothing at due, breach a millisecond later.
        assert_eq!(
            sla_status(&clock, None, clock.due_at),
            SlaStatus::Pending { due_in_ms: 0 }
        );
        assert!(due_actions(&clock, None, false, false, clock.due_at).is_empty());
        assert_eq!(
            sla_status(&clock, None, clock.due_at + 1),
            SlaStatus::Breached { overdue_ms: 1 }
        );
        assert!(due_actions(&clock, None, false, false, clock.escalate_at - 1).is_empty());
        assert_eq!(
            due_actions(&clock, None, false, false, clock.escalate_at),
            [SlaAction::Escalate]
        );
        // A job that was down catches up with both at once.
        assert_eq!(
            due_actions(&clock, None, false, false, captured + HOUR),
            [SlaAction::Escalate, SlaAction::Reroute]
        );
        assert_eq!(
            due_actions(&clock, None, true, false, captured + HOUR),
            [SlaAction::Reroute]
        );
        assert!(due_actions(&clock, None, true, true, captured + HOUR).is_empty());
        // A touch stops everything.
        assert!(due_actions(
            &clock,
            Some(captured + 6 * MIN),
            false,
            false,
            captured + HOUR
        )
        .is_empty());
    }

    #[test]
    fn escalation_at_breach_with_the_default_policy() {
        let hours = office("Europe/London");
        let captured = london(2024, 6, 4, 10, 0);
        let clock = sla_clock(&SlaPolicy::default(), captured, &hours);
        assert_eq!(
            due_actions(&clock, None, false, false, captured + 5 * MIN + 1),
            [SlaAction::Escalate]
        );
        let no_reroute = SlaPolicy {
            reroute_after_minutes: None,
            ..SlaPolicy::default()
        };
        let clock = sla_clock(&no_reroute, captured, &hours);
        assert_eq!(clock.reroute_at, None);
        assert_eq!(
            due_actions(&clock, None, true, false, captured + 10 * DAY),
            Vec::<SlaAction>::new()
        );
    }

    #[test]
    fn met_within_and_outside_the_sla() {
        let hours = office("Europe/London");
        let captured = london(2024, 6, 4, 10, 0);
        let clock = sla_clock(&SlaPolicy::default(), captured, &hours);
        assert_eq!(
            sla_status(&clock, Some(captured + 3 * MIN), captured + HOUR),
            SlaStatus::Met {
                time_to_first_touch_ms: 3 * MIN,
                within_sla: true
            }
        );
        assert_eq!(
            sla_status(&clock, Some(captured + 5 * MIN), captured + HOUR),
            SlaStatus::Met {
                time_to_first_touch_ms: 5 * MIN,
                within_sla: true
            }
        );
        assert_eq!(
            sla_status(&clock, Some(captured + 5 * MIN + 1), captured + HOUR),
            SlaStatus::Met {
                time_to_first_touch_ms: 5 * MIN + 1,
                within_sla: false
            }
        );
        // Friday-evening lead touched Monday 09:04: days of wall-clock time, yet in time.
        let fri = london(2024, 6, 7, 18, 0);
        let clock = sla_clock(&SlaPolicy::default(), fri, &hours);
        let touch = london(2024, 6, 10, 9, 4);
        assert_eq!(
            sla_status(&clock, Some(touch), touch),
            SlaStatus::Met {
                time_to_first_touch_ms: touch - fri,
                within_sla: true
            }
        );
        // A touch stamped before capture (clock skew) reports zero, not a negative time.
        assert_eq!(
            sla_status(&clock, Some(fri - 1000), fri),
            SlaStatus::Met {
                time_to_first_touch_ms: 0,
                within_sla: true
            }
        );
    }

    #[test]
    fn status_and_actions_serialise_for_the_api() {
        assert_eq!(
            serde_json::to_value(SlaStatus::Breached { overdue_ms: 5 }).unwrap(),
            json!({"status": "breached", "overdue_ms": 5})
        );
        assert_eq!(
            serde_json::to_value(SlaAction::Reroute).unwrap(),
            json!("reroute")
        );
        assert_eq!(
            serde_json::to_value(LosingTouchReason::NoNextStep).unwrap(),
            json!({"reason": "no_next_step"})
        );
    }

    #[test]
    fn losing_touch_reasons_in_order_of_urgency() {
        let captured = 1_000 * DAY;
        let week = 7 * DAY;
        // Next step overdue wins, even with a recent touch.
        assert_eq!(
            losing_touch(
                Some(captured + DAY),
                captured,
                Some(captured + 2 * DAY),
                week,
                captured + 3 * DAY
            ),
            Some(LosingTouchReason::NextStepOverdue { overdue_ms: DAY })
        );
        // Due exactly now is not yet overdue.
        assert_eq!(
            losing_touch(
                Some(captured + DAY),
                captured,
                Some(captured + 2 * DAY),
                week,
                captured + 2 * DAY
            ),
            None
        );
        // Next step in the future but no touch for over a week.
        assert_eq!(
            losing_touch(
                Some(captured),
                captured,
                Some(captured + 30 * DAY),
                week,
                captured + 8 * DAY
            ),
            Some(LosingTouchReason::NoTouchFor { idle_ms: 8 * DAY })
        );
        // Never touched: idle counts from capture.
        assert_eq!(
            losing_touch(None, captured, None, week, captured + week + 1),
            Some(LosingTouchReason::NoTouchFor { idle_ms: week + 1 })
        );
        // Never touched, fresh: the SLA's business, not flagged.
        assert_eq!(
            losing_touch(None, captured, None, week, captured + MIN),
            None
        );
        // Touched but no next step planned.
        assert_eq!(
            losing_touch(Some(captured + MIN), captured, None, week, captured + HOUR),
            Some(LosingTouchReason::NoNextStep)
        );
        // Healthy: touched recently, next step ahead.
        assert_eq!(
            losing_touch(
                Some(captured + DAY),
                captured,
                Some(captured + 5 * DAY),
                week,
                captured + 2 * DAY
            ),
            None
        );
        // Hostile numbers don't panic.
        assert!(
            losing_touch(Some(i64::MIN), i64::MAX, Some(i64::MIN), i64::MIN, i64::MAX).is_some()
        );
        assert_eq!(
            losing_touch(Some(i64::MAX), 0, Some(i64::MAX), 0, i64::MIN),
            None
        );
    }
}
