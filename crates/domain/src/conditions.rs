//! Conditions on lead facts, shared by scoring rules, routing rules and playbooks.
//!
//! A condition names a fact (`title`, `country`, `custom.budget`, `answers.timeframe`,
//! `channel` …), an operator and a value. Conditions are checked when rules are saved
//! (`Condition::validate`), so a bad rule is refused with a clear error instead of never
//! matching silently.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;

/// What is known about a lead when rules run: field name → value. Text, numbers and
/// booleans are JSON scalars; a missing fact is simply absent.
pub type Facts = BTreeMap<String, Value>;

/// Fact names every rule may use, besides `custom.<key>` and `answers.<question>`.
pub const STANDARD_FACTS: &[&str] = &[
    "first_name",
    "last_name",
    "title",
    "email",
    "email_domain",
    "phone",
    "company",
    "domain",
    "street",
    "postal_code",
    "city",
    "region",
    "country",
    "date_of_birth",
    "channel",
    "source",
    "campaign",
    "stage",
    "horizon",
    "fit_score",
    "engagement_score",
    "score",
];

/// Whether `name` is a fact rules may refer to.
pub fn is_known_fact(name: &str) -> bool {
    if let Some(key) = name
        .strip_prefix("custom.")
        .or_else(|| name.strip_prefix("answers."))
    {
        return !key.is_empty() && key.len() <= 64;
    }
    STANDARD_FACTS.contains(&name)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Operator {
    /// Equal (text compared case-insensitively, numbers numerically).
    Eq,
    Ne,
    /// One of a list.
    In,
    NotIn,
    /// Case-insensitive substring.
    Contains,
    /// Any of a list of words appears as a whole word ("VP", "Head", "Chief").
    ContainsAnyWord,
    StartsWith,
    Gt,
    Gte,
    Lt,
    Lte,
    Exists,
    NotExists,
}

/// One test on one fact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    pub field: String,
    pub op: Operator,
    #[serde(default)]
    pub value: Value,
}

/// Why a condition cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConditionError {
    #[error("unknown field {0:?}; use a lead field, custom.<key> or answers.<question>")]
    UnknownField(String),
    #[error("operator {op} needs {expected}")]
    BadValue { op: String, expected: &'static str },
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        f.write_str(&name)
    }
}

fn is_scalar(v: &Value) -> bool {
    matches!(v, Value::String(_) | Value::Number(_) | Value::Bool(_))
}

fn non_empty_scalar_list(v: &Value) -> bool {
    matches!(v, Value::Array(items) if !items.is_empty() && items.iter().all(is_scalar))
}

impl Condition {
    /// Checks the field name and that the value fits the operator.
    pub fn validate(&self) -> Result<(), ConditionError> {
        if !is_known_fact(&self.field) {
            return Err(ConditionError::UnknownField(self.field.clone()));
        }
        let bad = |expected| ConditionError::BadValue {
            op: self.op.to_string(),
            expected,
        };
        match self.op {
            Operator::Eq | Operator::Ne if !is_scalar(&self.value) => {
                Err(bad("a text, number or boolean value"))
            }
            Operator::In | Operator::NotIn if !non_empty_scalar_list(&self.value) => {
                Err(bad("a non-empty list of values"))
            }
            Operator::Contains | Operator::StartsWith if !matches!(&self.value, Value::String(s) if !s.is_empty()) => {
                Err(bad("a non-empty text value"))
            }
            Operator::ContainsAnyWord if !matches!(&self.value, Value::Array(w) if !w.is_empty() && w.iter().all(|x| matches!(x, Value::String(s) if !s.trim().is_empty()))) => {
                Err(bad("a non-empty list of words"))
            }
            Operator::Gt | Operator::Gte | Operator::Lt | Operator::Lte
                if !self.value.is_number() =>
            {
                Err(bad("a number"))
            }
            Operator::Exists | Operator::NotExists if !self.value.is_null() => Err(bad("no value")),
            _ => Ok(()),
        }
    }

    /// True when the facts satisfy this condition. A missing fact satisfies only
    /// `not_exists`, `ne` and `not_in`.
    pub fn matches(&self, facts: &Facts) -> bool {
        let fact = facts.get(&self.field).filter(|v| !is_blank(v));
        match (self.op, fact) {
            (Operator::Exists, f) => f.is_some(),
            (Operator::NotExists, f) => f.is_none(),
            (Operator::Ne, None) | (Operator::NotIn, None) => true,
            (_, None) => false,
            (Operator::Eq, Some(f)) => scalar_eq(f, &self.value),
            (Operator::Ne, Some(f)) => !scalar_eq(f, &self.value),
            (Operator::In, Some(f)) => list(&self.value).iter().any(|v| scalar_eq(f, v)),
            (Operator::NotIn, Some(f)) => !list(&self.value).iter().any(|v| scalar_eq(f, v)),
            (Operator::Contains, Some(f)) => text(f)
                .to_lowercase()
                .contains(&text(&self.value).to_lowercase()),
            (Operator::StartsWith, Some(f)) => text(f)
                .to_lowercase()
                .starts_with(&text(&self.value).to_lowercase()),
            (Operator::ContainsAnyWord, Some(f)) => {
                let words = words_of(&text(f));
                list(&self.value).iter().any(|w| {
                    let wanted = words_of(&text(w));
                    !wanted.is_empty()
                        && words
                            .windows(wanted.len())
                            .any(|win| win == wanted.as_slice())
                })
            }
            (Operator::Gt, Some(f)) => compare(f, &self.value).is_some_and(|o| o.is_gt()),
            (Operator::Gte, Some(f)) => compare(f, &self.value).is_some_and(|o| o.is_ge()),
            (Operator::Lt, Some(f)) => compare(f, &self.value).is_some_and(|o| o.is_lt()),
            (Operator::Lte, Some(f)) => compare(f, &self.value).is_some_and(|o| o.is_le()),
        }
    }
}

/// True when every condition matches (an empty list matches everything).
pub fn all_match(conditions: &[Condition], facts: &Facts) -> bool {
    conditions.iter().all(|c| c.matches(facts))
}

fn is_blank(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        _ => false,
    }
}

fn list(v: &Value) -> &[Value] {
    match v {
        Value::Array(items) => items,
        _ => std::slice::from_ref(v),
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        // Custom attributes arrive as text ("50000", "50,000"); read them as numbers.
        Value::String(s) => s.trim().replace([',', '_', ' '], "").parse().ok(),
        _ => None,
    }
}

fn scalar_eq(fact: &Value, wanted: &Value) -> bool {
    match (number(fact), number(wanted)) {
        (Some(a), Some(b)) if wanted.is_number() => (a - b).abs() < 1e-9,
        _ => text(fact).trim().to_lowercase() == text(wanted).trim().to_lowercase(),
    }
}

fn compare(fact: &Value, wanted: &Value) -> Option<std::cmp::Ordering> {
    number(fact)?.partial_cmp(&number(wanted)?)
}

fn words_of(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn facts(pairs: &[(&str, Value)]) -> Facts {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    fn cond(field: &str, op: Operator, value: Value) -> Condition {
        Condition {
            field: field.into(),
            op,
            value,
        }
    }

    #[test]
    fn operators_match_as_documented() {
        let f = facts(&[
            ("title", json!("VP of Sales, EMEA")),
            ("country", json!("GB")),
            ("custom.budget", json!("50,000")),
            ("custom.employees", json!(250)),
            ("company", json!("")),
        ]);
        let cases = [
            (cond("country", Operator::Eq, json!("gb")), true),
            (cond("country", Operator::Ne, json!("US")), true),
            (cond("country", Operator::In, json!(["DE", "GB"])), true),
            (cond("country", Operator::NotIn, json!(["DE", "GB"])), false),
            (cond("title", Operator::Contains, json!("sales")), true),
            (cond("title", Operator::StartsWith, json!("vp")), true),
            (
                cond("title", Operator::ContainsAnyWord, json!(["Chief", "VP"])),
                true,
            ),
            (
                cond("title", Operator::ContainsAnyWord, json!(["Sale"])),
                false,
            ),
            (
                cond("title", Operator::ContainsAnyWord, json!(["of sales"])),
                true,
            ),
            (cond("custom.budget", Operator::Gte, json!(50000)), true),
            (cond("custom.budget", Operator::Gt, json!(50000)), false),
            (cond("custom.employees", Operator::Lt, json!(1000)), true),
            (cond("custom.employees", Operator::Lte, json!(250)), true),
            (cond("custom.employees", Operator::Eq, json!(250)), true),
            (cond("company", Operator::Exists, Value::Null), false),
            (cond("company", Operator::NotExists, Value::Null), true),
            (cond("region", Operator::Eq, json!("x")), false),
            (cond("region", Operator::Ne, json!("x")), true),
            (cond("region", Operator::NotIn, json!(["x"])), true),
            (cond("title", Operator::Gt, json!(3)), false),
        ];
        for (c, expected) in cases {
            assert_eq!(c.matches(&f), expected, "{c:?}");
        }
    }

    #[test]
    fn validation_names_the_problem() {
        assert!(cond("custom.budget", Operator::Gt, json!(5))
            .validate()
            .is_ok());
        assert!(cond("answers.timeframe", Operator::Eq, json!("now"))
            .validate()
            .is_ok());
        assert_eq!(
            cond("salary", Operator::Eq, json!(1)).validate(),
            Err(ConditionError::UnknownField("salary".into()))
        );
        for bad in [
            cond("country", Operator::Gt, json!("x")),
            cond("country", Operator::In, json!([])),
            cond("country", Operator::In, json!("GB")),
            cond("title", Operator::ContainsAnyWord, json!("VP")),
            cond("title", Operator::Contains, json!("")),
            cond("title", Operator::Exists, json!(true)),
            cond("title", Operator::Eq, json!({"a": 1})),
        ] {
            assert!(
                matches!(bad.validate(), Err(ConditionError::BadValue { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn conditions_parse_from_json_and_refuse_unknown_keys() {
        let c: Condition =
            serde_json::from_value(json!({"field": "country", "op": "in", "value": ["GB"]}))
                .unwrap();
        assert_eq!(c.op, Operator::In);
        assert!(serde_json::from_value::<Condition>(
            json!({"field": "country", "op": "like", "value": "x"})
        )
        .is_err());
        assert!(serde_json::from_value::<Condition>(
            json!({"field": "c", "op": "eq", "value": 1, "x": 1})
        )
        .is_err());
        assert!(all_match(&[], &Facts::new()));
    }
}
