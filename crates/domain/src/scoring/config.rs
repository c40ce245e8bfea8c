//! The scoring configuration: the default B2B rule set, TOML loading and validation.

use super::{EngagementRule, FitRule, ScoringConfig, Thresholds};
use crate::conditions::{Condition, ConditionError, Operator};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::fmt;

/// Which half of the score a rule (or an explanation part) belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    /// Profile: who the lead is.
    Fit,
    /// Behaviour: what the lead did, fading over time.
    Engagement,
}

impl fmt::Display for RuleKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RuleKind::Fit => "fit",
            RuleKind::Engagement => "engagement",
        })
    }
}

/// Largest absolute number of points one rule may give: beyond it a rule would swamp
/// every other and almost certainly is a typo.
pub const MAX_POINTS: f64 = 1_000_000.0;

/// Longest rule id or event type accepted.
const MAX_ID_LEN: usize = 64;

/// Facts derived from the score itself: a fit rule testing them would feed the score
/// back into itself and flip on every re-score.
const SCORE_FACTS: &[&str] = &["fit_score", "engagement_score", "score"];

/// Why a scoring configuration was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScoringConfigError {
    /// The TOML text does not parse into a configuration (syntax, wrong type, unknown
    /// key); `line` and `column` are 1-based when the parser could place the problem.
    #[error("{}", toml_message(*.line, *.column, .message))]
    Toml {
        line: Option<usize>,
        column: Option<usize>,
        message: String,
    },
    /// The configuration parsed but [`ScoringConfig::validate`] found these problems.
    #[error("invalid scoring config: {}", join(.0))]
    Invalid(Vec<ScoringConfigError>),
    /// Rule at `index` of its list has an empty id.
    #[error("{kind} rule at index {index} has an empty id")]
    EmptyRuleId { kind: RuleKind, index: usize },
    /// Rule ids are longer than 64 characters.
    #[error("rule id {id:?} is longer than 64 characters")]
    RuleIdTooLong { id: String },
    /// Two rules (fit or engagement) share an id.
    #[error("rule id {id:?} is used by more than one rule")]
    DuplicateRuleId { id: String },
    /// A fit rule's condition is unusable.
    #[error("rule {rule_id:?}, conditions[{index}]: {error}")]
    InvalidCondition {
        rule_id: String,
        index: usize,
        error: ConditionError,
    },
    /// A fit rule tests the score it contributes to.
    #[error("rule {rule_id:?}, conditions[{index}]: field {field:?} is the score itself; a fit rule cannot depend on it")]
    CircularCondition {
        rule_id: String,
        index: usize,
        field: String,
    },
    /// Points are NaN, infinite or beyond ±[`MAX_POINTS`].
    #[error("rule {rule_id:?}: points must be a finite number between -1000000 and 1000000, not {points}")]
    InvalidPoints { rule_id: String, points: f64 },
    /// A half-life is NaN, zero or negative.
    #[error("rule {rule_id:?}: half_life_days must be a positive number of days (or absent / inf for no decay), not {half_life_days}")]
    InvalidHalfLife {
        rule_id: String,
        half_life_days: f64,
    },
    /// An event type is empty, too long or not a lower-case slug.
    #[error("rule {rule_id:?}: event_type {event_type:?} must be 1-64 characters of a-z, 0-9, '_', '-', '.' or ':' (e.g. \"email_opened\")")]
    InvalidEventType { rule_id: String, event_type: String },
    /// `max_per_day = 0` would make the rule never count.
    #[error(
        "rule {rule_id:?}: max_per_day must be at least 1 (remove the rule to give no points)"
    )]
    ZeroMaxPerDay { rule_id: String },
    /// Thresholds are not finite or not strictly increasing.
    #[error("thresholds must be finite and increasing (target < mql < sql), got target {target}, mql {mql}, sql {sql}")]
    InvalidThresholds { target: f64, mql: f64, sql: f64 },
}

fn toml_message(line: Option<usize>, column: Option<usize>, message: &str) -> String {
    let message = message.trim();
    match (line, column) {
        (Some(l), Some(c)) => format!("scoring TOML, line {l}, column {c}: {message}"),
        (Some(l), None) => format!("scoring TOML, line {l}: {message}"),
        _ => format!("scoring TOML: {message}"),
    }
}

fn join(errors: &[ScoringConfigError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
pub(super) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let bytes = text.as_bytes();
    let before = &bytes[..offset.min(bytes.len())];
    let line_start = before
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |i| i + 1);
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    // Count characters, not bytes: skip UTF-8 continuation bytes.
    let column = before[line_start..]
        .iter()
        .filter(|b| (**b & 0xC0) != 0x80)
        .count()
        + 1;
    (line, column)
}

impl Default for Thresholds {
    /// `target` 20 (e.g. a senior title with a business address), `mql` 60 (good fit plus
    /// repeated interest: no profile alone reaches it under the default rules), `sql` 90
    /// (a decent fit, 30 or more, that asked for a demo or a call).
    fn default() -> Self {
        Thresholds {
            target: 20.0,
            mql: 60.0,
            sql: 90.0,
        }
    }
}

impl Thresholds {
    /// True when all three lines are finite and strictly increasing.
    pub fn is_valid(&self) -> bool {
        [self.target, self.mql, self.sql]
            .iter()
            .all(|t| t.is_finite())
            && self.target < self.mql
            && self.mql < self.sql
    }
}

fn cond(field: &str, op: Operator, value: Value) -> Condition {
    Condition {
        field: field.to_string(),
        op,
        value,
    }
}

fn fit(id: &str, name: &str, points: f64, conditions: Vec<Condition>) -> FitRule {
    FitRule {
        id: id.to_string(),
        name: name.to_string(),
        conditions,
        points,
    }
}

fn engagement(
    id: &str,
    name: &str,
    event_type: &str,
    points: f64,
    half_life_days: f64,
    max_per_day: Option<u32>,
) -> EngagementRule {
    EngagementRule {
        id: id.to_string(),
        name: name.to_string(),
        event_type: event_type.to_string(),
        points,
        half_life_days: Some(half_life_days),
        max_per_day,
    }
}

/// Free mail providers: an address there says nothing about an employer.
const FREE_MAIL_DOMAINS: &[&str] = &[
    "gmail.com",
    "googlemail.com",
    "yahoo.com",
    "yahoo.co.uk",
    "hotmail.com",
    "hotmail.co.uk",
    "outlook.com",
    "live.com",
    "msn.com",
    "aol.com",
    "icloud.com",
    "me.com",
    "gmx.de",
    "gmx.net",
    "web.de",
    "t-online.de",
    "proton.me",
    "protonmail.com",
    "mail.ru",
    "yandex.ru",
];

impl Default for ScoringConfig {
    /// A sensible B2B starting point: seniority, company size, business e-mail, core
    /// markets and budget for fit; demo and call requests far above passive signals for
    /// engagement, with short half-lives for opens and visits. Edit the markets to yours.
    fn default() -> Self {
        let employees = "custom.employees";
        let fit_rules = vec![
            fit(
                "senior-title",
                "Senior title (decision maker)",
                15.0,
                vec![cond(
                    "title",
                    Operator::ContainsAnyWord,
                    json!([
                        "VP",
                        "Vice President",
                        "Chief",
                        "CEO",
                        "CTO",
                        "CFO",
                        "COO",
                        "CMO",
                        "CIO",
                        "President",
                        "Founder",
                        "Owner",
                        "Partner",
                        "Head",
                        "Director"
                    ]),
                )],
            ),
            fit(
                "manager-title",
                "Manager title (influencer)",
                5.0,
                vec![cond(
                    "title",
                    Operator::ContainsAnyWord,
                    json!(["Manager", "Lead", "Principal"]),
                )],
            ),
            fit(
                "junior-title",
                "Junior title",
                -10.0,
                vec![cond(
                    "title",
                    Operator::ContainsAnyWord,
                    json!(["Intern", "Student", "Trainee", "Assistant"]),
                )],
            ),
            fit(
                "company-small",
                "10-199 employees",
                5.0,
                vec![
                    cond(employees, Operator::Gte, json!(10)),
                    cond(employees, Operator::Lt, json!(200)),
                ],
            ),
            fit(
                "company-mid",
                "200-999 employees",
                10.0,
                vec![
                    cond(employees, Operator::Gte, json!(200)),
                    cond(employees, Operator::Lt, json!(1000)),
                ],
            ),
            fit(
                "company-large",
                "1000+ employees",
                15.0,
                vec![cond(employees, Operator::Gte, json!(1000))],
            ),
            fit(
                "business-email",
                "Business e-mail address",
                5.0,
                vec![
                    cond("email_domain", Operator::Exists, Value::Null),
                    cond("email_domain", Operator::NotIn, json!(FREE_MAIL_DOMAINS)),
                ],
            ),
            fit(
                "core-market",
                "Core market",
                10.0,
                vec![cond(
                    "country",
                    Operator::In,
                    json!(["GB", "IE", "DE", "AT", "CH", "NL", "BE", "FR", "US", "CA"]),
                )],
            ),
            fit(
                "budget-fits",
                "Budget 20,000 or more",
                5.0,
                vec![cond("custom.budget", Operator::Gte, json!(20000))],
            ),
            fit(
                "budget-low",
                "Budget under 5,000",
                -20.0,
                vec![cond("custom.budget", Operator::Lt, json!(5000))],
            ),
        ];
        let engagement_rules = vec![
            engagement(
                "email-opened",
                "E-mail opened",
                "email_opened",
                1.0,
                14.0,
                Some(3),
            ),
            engagement(
                "email-clicked",
                "E-mail link clicked",
                "email_clicked",
                3.0,
                14.0,
                Some(5),
            ),
            engagement(
                "email-replied",
                "Replied to an e-mail",
                "email_replied",
                10.0,
                21.0,
                None,
            ),
            engagement(
                "page-visited",
                "Page visited",
                "page_visited",
                2.0,
                7.0,
                Some(5),
            ),
            engagement(
                "form-submitted",
                "Form submitted",
                "form_submitted",
                10.0,
                30.0,
                Some(3),
            ),
            engagement(
                "content-downloaded",
                "Content downloaded",
                "content_downloaded",
                8.0,
                30.0,
                Some(3),
            ),
            engagement(
                "webinar-attended",
                "Webinar attended",
                "webinar_attended",
                15.0,
                45.0,
                None,
            ),
            engagement(
                "demo-requested",
                "Demo requested",
                "demo_requested",
                60.0,
                60.0,
                Some(1),
            ),
            engagement(
                "contact-requested",
                "Asked to be contacted",
                "contact_requested",
                60.0,
                60.0,
                Some(1),
            ),
        ];
        ScoringConfig {
            fit: fit_rules,
            engagement: engagement_rules,
            thresholds: Thresholds::default(),
        }
    }
}

fn valid_slug(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_ID_LEN
        && s.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-' | b'.' | b':')
        })
}

fn check_points(rule_id: &str, points: f64, errors: &mut Vec<ScoringConfigError>) {
    if !points.is_finite() || points.abs() > MAX_POINTS {
        errors.push(ScoringConfigError::InvalidPoints {
            rule_id: rule_id.to_string(),
            points,
        });
    }
}

impl ScoringConfig {
    /// Parses a TOML configuration (see the module docs for the format) and validates
    /// it. Unknown keys are refused, so a typo cannot silently disable a rule.
    pub fn from_toml(text: &str) -> Result<Self, ScoringConfigError> {
        let config: ScoringConfig = toml::from_str(text).map_err(|e| {
            let (line, column) = match e.span() {
                Some(span) => {
                    let (l, c) = line_column(text, span.start);
                    (Some(l), Some(c))
                }
                None => (None, None),
            };
            ScoringConfigError::Toml {
                line,
                column,
                message: e.message().to_string(),
            }
        })?;
        config.validate().map_err(ScoringConfigError::Invalid)?;
        Ok(config)
    }

    /// Every problem in the configuration, so an admin can fix them all in one go.
    pub fn validate(&self) -> Result<(), Vec<ScoringConfigError>> {
        let mut errors = Vec::new();
        let mut seen = BTreeSet::new();
        let mut reported = BTreeSet::new();
        let ids = self
            .fit
            .iter()
            .map(|r| (RuleKind::Fit, &r.id))
            .enumerate()
            .chain(
                self.engagement
                    .iter()
                    .map(|r| (RuleKind::Engagement, &r.id))
                    .enumerate(),
            );
        for (index, (kind, id)) in ids {
            if id.trim().is_empty() {
                errors.push(ScoringConfigError::EmptyRuleId { kind, index });
            } else if id.chars().count() > MAX_ID_LEN {
                errors.push(ScoringConfigError::RuleIdTooLong { id: id.clone() });
            } else if !seen.insert(id.as_str()) && reported.insert(id.as_str()) {
                errors.push(ScoringConfigError::DuplicateRuleId { id: id.clone() });
            }
        }

        for rule in &self.fit {
            check_points(&rule.id, rule.points, &mut errors);
            for (index, condition) in rule.conditions.iter().enumerate() {
                if SCORE_FACTS.contains(&condition.field.as_str()) {
                    errors.push(ScoringConfigError::CircularCondition {
                        rule_id: rule.id.clone(),
                        index,
                        field: condition.field.clone(),
                    });
                } else if let Err(error) = condition.validate() {
                    errors.push(ScoringConfigError::InvalidCondition {
                        rule_id: rule.id.clone(),
                        index,
                        error,
                    });
                }
            }
        }

        for rule in &self.engagement {
            if !valid_slug(&rule.event_type) {
                errors.push(ScoringConfigError::InvalidEventType {
                    rule_id: rule.id.clone(),
                    event_type: rule.event_type.clone(),
                });
            }
            check_points(&rule.id, rule.points, &mut errors);
            if let Some(h) = rule.half_life_days {
                // NaN fails `h > 0.0`; +inf is allowed and means no decay.
                if h.is_nan() || h <= 0.0 {
                    errors.push(ScoringConfigError::InvalidHalfLife {
                        rule_id: rule.id.clone(),
                        half_life_days: h,
                    });
                }
            }
            if rule.max_per_day == Some(0) {
                errors.push(ScoringConfigError::ZeroMaxPerDay {
                    rule_id: rule.id.clone(),
                });
            }
        }

        let t = self.thresholds;
        if !t.is_valid() {
            errors.push(ScoringConfigError::InvalidThresholds {
                target: t.target,
                mql: t.mql,
                sql: t.sql,
            });
        }

        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// How far in the future a reported activity may lie: clocks of the systems that report
/// events drift a little; more than this is a bug in the sender (or a lead pumped up in
/// advance), and would count at full points until its time came.
pub const MAX_FUTURE_SKEW_MS: i64 = 5 * 60 * 1000;

/// Why a reported activity is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActivityError {
    #[error("no engagement rule scores {event_type:?}, so it would count for nothing; known event types: {}", if known.is_empty() { "none (add engagement rules first)".to_string() } else { known.join(", ") })]
    UnknownEventType {
        event_type: String,
        known: Vec<String>,
    },
    #[error("occurred_at is {ahead_ms} ms in the future; at most {} minutes ahead is accepted (clock skew)", MAX_FUTURE_SKEW_MS / 60_000)]
    InFuture { ahead_ms: i64 },
    #[error("occurred_at must be epoch milliseconds after 1970")]
    BeforeEpoch,
}

impl ScoringConfig {
    /// The event types some engagement rule scores, sorted, once each.
    pub fn event_types(&self) -> Vec<String> {
        let mut types: Vec<String> = self
            .engagement
            .iter()
            .map(|r| r.event_type.clone())
            .collect();
        types.sort();
        types.dedup();
        types
    }

    /// Checks an activity reported from outside (the API) before it is stored: its type
    /// must be one a rule scores, and its time not after `now` beyond the clock skew.
    pub fn check_activity(
        &self,
        event_type: &str,
        occurred_at: Option<i64>,
        now: i64,
    ) -> Result<(), Vec<ActivityError>> {
        let mut errors = Vec::new();
        if !self.engagement.iter().any(|r| r.event_type == event_type) {
            errors.push(ActivityError::UnknownEventType {
                event_type: event_type.to_string(),
                known: self.event_types(),
            });
        }
        match occurred_at {
            Some(t) if t < 0 => errors.push(ActivityError::BeforeEpoch),
            Some(t) if t > now.saturating_add(MAX_FUTURE_SKEW_MS) => {
                errors.push(ActivityError::InFuture { ahead_ms: t - now })
            }
            _ => {}
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}
