//! Lead scoring: fit rules plus decaying engagement, with an explanation that adds up.
//!
//! A lead's score is `fit + engagement`:
//!
//! - **Fit** says whether the profile matches what we sell (title seniority, company size,
//!   country, budget …). Each [`FitRule`] whose [`Condition`]s all match the lead's
//!   [`Facts`] adds its points once; points may be negative ("budget under 5,000: -20").
//! - **Engagement** says how interested the person is *now*. Each [`EngagementRule`] gives
//!   points for every [`Activity`] of its event type, and those points halve every
//!   `half_life_days`, so a webinar from last year no longer makes a lead look hot.
//!
//! [`Thresholds`] turn the total into the stages `target`, `mql` and `sql`
//! ([`stage_for`], [`crossed`], [`ScoreChange`]), and [`next_decay_check`] tells the
//! periodic job when decay will next move a lead across a line.
//!
//! Every [`Score`] carries its explanation: one [`ScorePart`] per fit rule that matched
//! and per (engagement rule, activity) pair that still counts, decayed value included.
//! Points are rounded to cents *per part*, and the totals are summed from the rounded
//! parts in a fixed order, so the explanation a rep reads adds up to the score shown.
//!
//! Scoring is pure: the caller passes `now` (epoch milliseconds) and the activities.
//!
//! # Configuration file
//!
//! Rules are managed through the API and can be loaded from TOML with
//! [`ScoringConfig::from_toml`], which refuses unknown keys and invalid rules with the
//! line and column of the problem:
//!
//! ```toml
//! [thresholds]
//! target = 20
//! mql = 60
//! sql = 90
//!
//! [[fit]]
//! id = "senior-title"
//! name = "Senior title"
//! points = 15
//! conditions = [
//!   { field = "title", op = "contains_any_word", value = ["VP", "Chief", "Head", "Director"] },
//! ]
//!
//! [[fit]]
//! id = "core-market"
//! name = "Core market"
//! points = 10
//! conditions = [{ field = "country", op = "in", value = ["GB", "DE"] }]
//!
//! [[fit]]
//! id = "mid-size"
//! name = "200+ employees"
//! points = 10
//! conditions = [{ field = "custom.employees", op = "gte", value = 200 }]
//!
//! [[fit]]
//! id = "low-budget"
//! name = "Budget under 5,000"
//! points = -20
//! conditions = [{ field = "custom.budget", op = "lt", value = 5000 }]
//!
//! [[engagement]]
//! id = "opened"
//! name = "E-mail opened"
//! event_type = "email_opened"
//! points = 1
//! half_life_days = 14
//! max_per_day = 3       # optional: further opens that UTC day add nothing
//!
//! [[engagement]]
//! id = "demo"
//! name = "Demo requested"
//! event_type = "demo_requested"
//! points = 60
//! half_life_days = 60
//!
//! [[engagement]]
//! id = "customer-call"
//! name = "Reference call"
//! event_type = "reference_call"
//! points = 20
//! # no half_life_days: these points never fade
//! ```
//!
//! A file without `[thresholds]` uses [`Thresholds::default`]; a file without `[[fit]]` or
//! `[[engagement]]` tables has no rules of that kind (not the default ones).

mod config;
#[cfg(test)]
mod tests;

pub use config::{ActivityError, RuleKind, ScoringConfigError, MAX_FUTURE_SKEW_MS, MAX_POINTS};

use crate::conditions::{all_match, Condition, Facts};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Milliseconds in a day: ages and half-lives meet in days.
pub const DAY_MS: i64 = 86_400_000;

/// Stage names the thresholds lead to, lowest first (the lifecycle's stage ids).
pub const STAGE_TARGET: &str = "target";
/// See [`STAGE_TARGET`].
pub const STAGE_MQL: &str = "mql";
/// See [`STAGE_TARGET`].
pub const STAGE_SQL: &str = "sql";

/// Engagement event types Leadline itself records. Rules may name other (custom) types
/// too, e.g. from an inbound webhook; these are the ones the UI offers first.
pub const EVENT_TYPES: &[&str] = &[
    "email_opened",
    "email_clicked",
    "email_replied",
    "page_visited",
    "form_submitted",
    "content_downloaded",
    "webinar_attended",
    "demo_requested",
    "contact_requested",
];

/// A profile rule: when every condition matches the lead, `points` are added once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FitRule {
    /// Stable id, unique across fit and engagement rules (the API addresses rules by it).
    pub id: String,
    /// What the explanation shows; the id is shown when this is blank.
    #[serde(default)]
    pub name: String,
    /// All must match; an empty list matches every lead (a base score).
    #[serde(default)]
    pub conditions: Vec<Condition>,
    /// Added when the rule matches; negative for disqualifying traits.
    pub points: f64,
}

/// A behaviour rule: each activity of `event_type` adds `points`, fading with a half-life.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EngagementRule {
    /// Stable id, unique across fit and engagement rules.
    pub id: String,
    /// What the explanation shows; the id is shown when this is blank.
    #[serde(default)]
    pub name: String,
    /// Activity type this rule counts, a lower-case slug such as `email_opened`.
    pub event_type: String,
    /// Points for one activity at age zero (negative allowed, e.g. for a bounce).
    pub points: f64,
    /// Days after which an activity is worth half. `None` (absent in TOML, `null` in
    /// JSON) or `f64::INFINITY` (`inf` in TOML) means the points never fade.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub half_life_days: Option<f64>,
    /// At most this many activities of this rule count per UTC day (the earliest ones),
    /// so fifty opens of one e-mail do not make a hot lead. `None`: no cap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_per_day: Option<u32>,
}

/// Score lines that move a lead to `target`, `mql` and `sql`; must be increasing.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    /// From here the profile fits: `target`.
    pub target: f64,
    /// From here marketing has shown repeated interest: `mql`.
    pub mql: f64,
    /// From here the lead is sales-ready and goes to a rep: `sql`.
    pub sql: f64,
}

/// Everything scoring needs: the rules and the stage lines.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScoringConfig {
    /// Profile rules, applied in this order (which is also the explanation's order).
    #[serde(default)]
    pub fit: Vec<FitRule>,
    /// Behaviour rules; an activity counts once for every rule of its type.
    #[serde(default)]
    pub engagement: Vec<EngagementRule>,
    /// Stage lines; [`Thresholds::default`] when absent.
    #[serde(default)]
    pub thresholds: Thresholds,
}

/// One thing the lead did, as the timeline recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Activity {
    /// Matched against [`EngagementRule::event_type`], ignoring ASCII case and padding.
    pub event_type: String,
    /// Epoch milliseconds.
    pub occurred_at: i64,
}

/// One line of a score's explanation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ScorePart {
    /// Fit or engagement.
    pub kind: RuleKind,
    /// The rule that gave the points, so the UI can link to it.
    pub rule_id: String,
    /// The rule's name when scored (its id if it had none), kept so old explanations
    /// still read well after a rule is renamed or deleted.
    pub rule_name: String,
    /// The rule's points before decay.
    pub base_points: f64,
    /// What this part adds to the score: decayed, rounded to cents.
    pub points: f64,
    /// Engagement only: the activity that earned the points.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_type: Option<String>,
    /// Engagement only: when the activity happened (epoch ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub occurred_at: Option<i64>,
    /// Engagement only: age at scoring time in days; negative for a future timestamp
    /// (clock skew), which counts at full value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age_days: Option<f64>,
    /// Engagement only: the rule's half-life; `None` for fit parts and for rules whose
    /// points never fade.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub half_life_days: Option<f64>,
}

/// A lead's score with its explanation. `fit`, `engagement` and `total` are sums of the
/// `parts` (fit parts first in rule order, then engagement parts newest first).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Score {
    /// Sum of the fit parts.
    pub fit: f64,
    /// Sum of the engagement parts.
    pub engagement: f64,
    /// `fit + engagement`, the number thresholds compare against.
    pub total: f64,
    /// The explanation: every rule and activity that gave points.
    pub parts: Vec<ScorePart>,
    /// Matching activities left out of `parts` because their points have faded to 0.00.
    #[serde(default)]
    pub faded: usize,
    /// Matching activities left out of `parts` because their rule's `max_per_day` was
    /// already reached that day.
    #[serde(default)]
    pub capped: usize,
}

/// How a score moved relative to the stage lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(tag = "direction", rename_all = "snake_case")]
pub enum ScoreChange {
    /// The score reached a higher stage's line (`from` is the stage before, if any).
    Rose {
        from: Option<&'static str>,
        to: &'static str,
    },
    /// Decay or a negative rule took the score below its stage's line.
    Fell {
        from: &'static str,
        to: Option<&'static str>,
    },
}

impl ScoreChange {
    /// The stage change between two scores, if any (none when both are in the same band).
    pub fn between(before: f64, after: f64, thresholds: &Thresholds) -> Option<ScoreChange> {
        let (from, to) = (
            stage_for_total(before, thresholds),
            stage_for_total(after, thresholds),
        );
        if from == to {
            return None;
        }
        match (from, to) {
            (from, Some(to)) if stage_rank(Some(to)) > stage_rank(from) => {
                Some(ScoreChange::Rose { from, to })
            }
            (Some(from), to) => Some(ScoreChange::Fell { from, to }),
            // `from == None` and `to == None` was caught above.
            (None, _) => None,
        }
    }

    /// The stage whose line was crossed: the new one when rising, the one left when falling.
    pub fn stage(&self) -> &'static str {
        match self {
            ScoreChange::Rose { to, .. } => to,
            ScoreChange::Fell { from, .. } => from,
        }
    }
}

/// The stage a score just rose into ("the score crossed the MQL line"), or `None` when it
/// stayed in its band or fell. Use [`ScoreChange::between`] to see falls too.
pub fn crossed(before: f64, after: f64, thresholds: &Thresholds) -> Option<&'static str> {
    match ScoreChange::between(before, after, thresholds) {
        Some(ScoreChange::Rose { to, .. }) => Some(to),
        _ => None,
    }
}

/// The highest stage whose line the score's total reaches (`>=`): `"sql"`, `"mql"`,
/// `"target"`, or `None` below the target line.
pub fn stage_for(score: &Score, thresholds: &Thresholds) -> Option<&'static str> {
    stage_for_total(score.total, thresholds)
}

/// [`stage_for`] on a bare number, for callers holding only a stored total. NaN reaches
/// no stage.
pub fn stage_for_total(total: f64, thresholds: &Thresholds) -> Option<&'static str> {
    if total >= thresholds.sql {
        Some(STAGE_SQL)
    } else if total >= thresholds.mql {
        Some(STAGE_MQL)
    } else if total >= thresholds.target {
        Some(STAGE_TARGET)
    } else {
        None
    }
}

fn stage_rank(stage: Option<&str>) -> u8 {
    match stage {
        Some(STAGE_SQL) => 3,
        Some(STAGE_MQL) => 2,
        Some(STAGE_TARGET) => 1,
        _ => 0,
    }
}

/// `points` after `age_ms` of exponential decay: `points * 0.5^(age_days / half_life_days)`.
///
/// - Age zero or negative (an activity stamped in the future by a skewed clock) counts at
///   full value: we would rather over-score a fresh event for a moment than drop it.
/// - An infinite half-life means no decay.
/// - Bad input never panics or yields NaN: non-finite points give 0, and a half-life that
///   is not a positive number counts as no decay ([`ScoringConfig::validate`] refuses
///   such rules anyway).
pub fn decayed_points(points: f64, half_life_days: f64, age_ms: i64) -> f64 {
    if !points.is_finite() {
        return 0.0;
    }
    if age_ms <= 0 || half_life_days.is_nan() || half_life_days <= 0.0 {
        return points;
    }
    if half_life_days.is_infinite() {
        return points;
    }
    let age_days = age_ms as f64 / DAY_MS as f64;
    // exp2 of an exact -1.0 / -2.0 is exactly 0.5 / 0.25, so whole half-lives are exact.
    points * (-(age_days / half_life_days)).exp2()
}

/// Rounds to cents, mapping non-finite values and -0.0 to 0.0 so stored scores are clean.
fn round_cents(x: f64) -> f64 {
    if !x.is_finite() {
        return 0.0;
    }
    if x.abs() >= 1e13 {
        // An f64 this large has no cents to round; leave it as it is.
        return x + 0.0;
    }
    (x * 100.0).round() / 100.0 + 0.0
}

fn finite_or_zero(x: f64) -> f64 {
    if x.is_finite() {
        x
    } else {
        0.0
    }
}

fn display_name(id: &str, name: &str) -> String {
    if name.trim().is_empty() {
        id.to_string()
    } else {
        name.to_string()
    }
}

/// The half-life a rule really decays with: `None` when its points never fade.
fn effective_half_life(rule: &EngagementRule) -> Option<f64> {
    rule.half_life_days.filter(|h| h.is_finite() && *h > 0.0)
}

fn event_matches(rule_type: &str, activity_type: &str) -> bool {
    rule_type.trim().eq_ignore_ascii_case(activity_type.trim())
}

/// One (rule, activity) pair that counts, before decay.
struct Hit<'a> {
    rule_index: usize,
    rule: &'a EngagementRule,
    activity_index: usize,
    activity: &'a Activity,
}

/// Pairs every activity with every engagement rule it matches, applying `max_per_day`.
/// Returns the counting pairs and how many were capped. Independent of `now`.
fn engagement_hits<'a>(
    config: &'a ScoringConfig,
    activities: &'a [Activity],
) -> (Vec<Hit<'a>>, usize) {
    let mut hits = Vec::new();
    let mut capped = 0;
    for (rule_index, rule) in config.engagement.iter().enumerate() {
        let mut matching: Vec<(usize, &Activity)> = activities
            .iter()
            .enumerate()
            .filter(|(_, a)| event_matches(&rule.event_type, &a.event_type))
            .collect();
        // Earliest first, so a cap keeps the first activities of each day.
        matching.sort_by_key(|(i, a)| (a.occurred_at, *i));
        let mut per_day: BTreeMap<i64, u32> = BTreeMap::new();
        for (activity_index, activity) in matching {
            if let Some(max) = rule.max_per_day {
                let count = per_day
                    .entry(activity.occurred_at.div_euclid(DAY_MS))
                    .or_insert(0);
                if *count >= max {
                    capped += 1;
                    continue;
                }
                *count += 1;
            }
            hits.push(Hit {
                rule_index,
                rule,
                activity_index,
                activity,
            });
        }
    }
    // Fixed explanation (and summation) order: newest first, then rule order, then input
    // order, so the same inputs always give the same parts in the same order.
    hits.sort_by(|a, b| {
        b.activity
            .occurred_at
            .cmp(&a.activity.occurred_at)
            .then(a.rule_index.cmp(&b.rule_index))
            .then(a.activity_index.cmp(&b.activity_index))
    });
    (hits, capped)
}

/// Scores a lead at time `now` (epoch ms) from its facts and its activities.
///
/// Fit parts come first in rule order, then engagement parts newest first. Each part's
/// points are rounded to cents and `fit`, `engagement` and `total` are sums of those
/// rounded parts (themselves rounded to cents, which only removes float noise), so the
/// explanation always adds up to the score. Engagement pairs that have faded to 0.00 are
/// left out of `parts` and counted in `faded`. Never panics, never returns NaN, even for
/// a configuration that [`ScoringConfig::validate`] would refuse.
pub fn score(config: &ScoringConfig, facts: &Facts, activities: &[Activity], now: i64) -> Score {
    let mut result = Score::default();
    for rule in &config.fit {
        if !all_match(&rule.conditions, facts) {
            continue;
        }
        let base = finite_or_zero(rule.points);
        result.parts.push(ScorePart {
            kind: RuleKind::Fit,
            rule_id: rule.id.clone(),
            rule_name: display_name(&rule.id, &rule.name),
            base_points: base,
            points: round_cents(base),
            event_type: None,
            occurred_at: None,
            age_days: None,
            half_life_days: None,
        });
    }

    let (hits, capped) = engagement_hits(config, activities);
    result.capped = capped;
    for hit in hits {
        let base = finite_or_zero(hit.rule.points);
        let half_life = effective_half_life(hit.rule);
        let age_ms = now.saturating_sub(hit.activity.occurred_at);
        let points = round_cents(decayed_points(
            base,
            half_life.unwrap_or(f64::INFINITY),
            age_ms,
        ));
        if points == 0.0 && base != 0.0 {
            result.faded += 1;
            continue;
        }
        result.parts.push(ScorePart {
            kind: RuleKind::Engagement,
            rule_id: hit.rule.id.clone(),
            rule_name: display_name(&hit.rule.id, &hit.rule.name),
            base_points: base,
            points,
            event_type: Some(hit.activity.event_type.clone()),
            occurred_at: Some(hit.activity.occurred_at),
            age_days: Some(age_ms as f64 / DAY_MS as f64),
            half_life_days: half_life,
        });
    }

    let sum = |kind: RuleKind| {
        round_cents(
            result
                .parts
                .iter()
                .filter(|p| p.kind == kind)
                .map(|p| p.points)
                .sum::<f64>(),
        )
    };
    result.fit = sum(RuleKind::Fit);
    result.engagement = sum(RuleKind::Engagement);
    result.total = round_cents(result.fit + result.engagement);
    result
}

impl Score {
    /// A plain-text explanation, one part per line, for timelines, e-mails and the CLI:
    ///
    /// ```text
    /// score 94.33 = fit 35.00 + engagement 59.33
    ///   +15.00  Senior title (fit)
    ///   +59.33  Demo requested: demo_requested 1.0 days ago (60.00 before decay, half-life 60 days)
    /// ```
    pub fn explain(&self) -> String {
        let mut out = format!(
            "score {:.2} = fit {:.2} + engagement {:.2}",
            self.total, self.fit, self.engagement
        );
        for part in &self.parts {
            let _ = write!(out, "\n  {:+.2}  {}", part.points, part.rule_name);
            match (part.kind, &part.event_type) {
                (RuleKind::Engagement, Some(event)) => {
                    let _ = write!(out, ": {event}");
                    if let Some(age) = part.age_days {
                        if age >= 0.0 {
                            let _ = write!(out, " {age:.1} days ago");
                        } else {
                            let _ = write!(out, " in the future (clock skew, full value)");
                        }
                    }
                    match part.half_life_days {
                        Some(h) => {
                            let _ = write!(
                                out,
                                " ({:.2} before decay, half-life {h} days)",
                                part.base_points
                            );
                        }
                        None => out.push_str(" (no decay)"),
                    }
                }
                _ => out.push_str(" (fit)"),
            }
        }
        if self.faded > 0 {
            let _ = write!(out, "\n  ({} older activities have faded to 0)", self.faded);
        }
        if self.capped > 0 {
            let _ = write!(
                out,
                "\n  ({} activities over a rule's daily cap add nothing)",
                self.capped
            );
        }
        out
    }
}

/// When the periodic decay job should re-score this lead: the earliest time after `now`
/// (to the minute) at which decay alone moves the score into another stage band, or
/// `None` when decay can no longer change the stage.
///
/// Exact when the decaying engagement points all have one sign (the usual case, and the
/// default config), because the score then moves monotonically. With both positive and
/// negative decaying rules the score can dip and recover; the answer then is the first
/// change visible from the end state, so the job should also keep its normal cadence.
pub fn next_decay_check(
    config: &ScoringConfig,
    facts: &Facts,
    activities: &[Activity],
    now: i64,
) -> Option<i64> {
    const MINUTE_MS: i64 = 60_000;
    let (hits, _) = engagement_hits(config, activities);
    // After `horizon` every decaying part has rounded to 0.00, so nothing changes later.
    let mut horizon = now;
    for hit in &hits {
        let Some(half_life) = effective_half_life(hit.rule) else {
            continue;
        };
        let base = finite_or_zero(hit.rule.points).abs();
        if base < 0.005 {
            continue;
        }
        // |base| * 2^(-age/h) < 0.005  <=>  age > h * log2(|base| / 0.005); one day spare.
        let fade_days = half_life * (base / 0.005).log2() + 1.0;
        let fade_ms = (fade_days * DAY_MS as f64).min(i64::MAX as f64 / 4.0) as i64;
        let start = hit.activity.occurred_at.max(now);
        horizon = horizon.max(start.saturating_add(fade_ms));
    }
    if horizon <= now {
        return None;
    }
    let stage_at = |t: i64| stage_for(&score(config, facts, activities, t), &config.thresholds);
    let current = stage_at(now);
    if stage_at(horizon) == current {
        return None;
    }
    // Invariant: stage(lo) == current, stage(hi) != current.
    let (mut lo, mut hi) = (now, horizon);
    while i128::from(hi) - i128::from(lo) > i128::from(MINUTE_MS) {
        // Computed in i128: `hi - lo` can exceed i64 for absurd timestamps.
        let mid = ((i128::from(lo) + i128::from(hi)) / 2) as i64;
        if stage_at(mid) == current {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Some(hi)
}
