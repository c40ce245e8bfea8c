//! How many items each repeated or map field of an API or form body may hold, and how
//! long some free-text values may be.
//!
//! A body is already capped in bytes (4 MiB for the API, 64 KiB for forms), but within
//! that a list of 100,000 consent entries or team members would be stored, looped over
//! on every capture or routing decision, and answered with one error per item. Every
//! list gets a ceiling far above real use, checked before the items themselves, with a
//! 422 naming the field.

use crate::conditions::Condition;
use crate::normalize::FieldError;
use serde_json::Value;

/// Consent entries in one capture: one per channel (e-mail, phone, SMS) is typical.
pub const MAX_CONSENTS: usize = 10;
/// Characters of consent wording (the exact text the person agreed to).
pub const MAX_CONSENT_WORDING_CHARS: usize = 10_000;
/// Bytes of a consent's evidence object, as JSON.
pub const MAX_CONSENT_EVIDENCE_BYTES: usize = 16 * 1024;
/// Characters of one attribution value (UTM parameters, referrer, landing page URL).
pub const MAX_ATTRIBUTION_CHARS: usize = 2048;
/// Custom attributes changed by one lead edit (a lead holds at most 100).
pub const MAX_CUSTOM_CHANGES: usize = 100;
/// Fields of one form.
pub const MAX_FORM_FIELDS: usize = 50;
/// Consent channels of one form.
pub const MAX_FORM_CONSENT_CHANNELS: usize = 3;
/// Routing rules.
pub const MAX_ROUTING_RULES: usize = 200;
/// Speed-to-lead policies.
pub const MAX_SLA_POLICIES: usize = 100;
/// Fit rules, and engagement rules, each.
pub const MAX_SCORING_RULES: usize = 500;
/// Conditions of one rule or policy.
pub const MAX_CONDITIONS: usize = 50;
/// Values in one condition's list (`in`, `not_in`, `contains_any_word`).
pub const MAX_CONDITION_VALUES: usize = 1000;
/// Lifecycle stages, and disqualify reasons, each.
pub const MAX_LIFECYCLE_ENTRIES: usize = 100;
/// Topics of one webhook or event stream filter.
pub const MAX_TOPICS: usize = 50;
/// Members of one team.
pub const MAX_TEAM_MEMBERS: usize = 1000;
/// Territories of one rep.
pub const MAX_TERRITORIES: usize = 500;
/// Working intervals in a week, and holidays, each.
pub const MAX_WORKING_INTERVALS: usize = 100;
pub const MAX_HOLIDAYS: usize = 1000;
/// Dead letters replayed by one request.
pub const MAX_REPLAY_IDS: usize = 1000;
/// Answers in one `PUT …/answers` (there are six questions).
pub const MAX_ANSWERS: usize = 50;
/// `map` overrides of one import.
pub const MAX_IMPORT_MAPPINGS: usize = 500;

/// `field` holds `count` items; more than `max` is refused.
pub fn check_count(field: &str, count: usize, max: usize) -> Result<(), FieldError> {
    if count <= max {
        return Ok(());
    }
    Err(FieldError {
        field: field.to_string(),
        code: "too_many".into(),
        message: format!("{field} has {count} entries; at most {max} are accepted"),
    })
}

/// `value` of `field` is at most `max` characters long.
pub fn check_chars(field: &str, value: &str, max: usize) -> Result<(), FieldError> {
    if value.chars().nth(max).is_none() {
        return Ok(());
    }
    Err(FieldError {
        field: field.to_string(),
        code: "too_long".into(),
        message: format!("{field} is longer than {max} characters"),
    })
}

/// The count of a rule's conditions, and of each condition's list of values.
pub fn check_conditions(field: &str, conditions: &[Condition]) -> Vec<FieldError> {
    if let Err(e) = check_count(field, conditions.len(), MAX_CONDITIONS) {
        return vec![e];
    }
    conditions
        .iter()
        .enumerate()
        .filter_map(|(i, c)| match &c.value {
            Value::Array(items) => check_count(
                &format!("{field}[{i}].value"),
                items.len(),
                MAX_CONDITION_VALUES,
            )
            .err(),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conditions::Operator;
    use serde_json::json;

    #[test]
    fn counts_are_refused_only_above_the_ceiling() {
        assert_eq!(check_count("consent", 0, MAX_CONSENTS), Ok(()));
        assert_eq!(check_count("consent", MAX_CONSENTS, MAX_CONSENTS), Ok(()));
        let e = check_count("consent", 100_000, MAX_CONSENTS).unwrap_err();
        assert_eq!((e.field.as_str(), e.code.as_str()), ("consent", "too_many"));
        assert_eq!(
            e.message,
            "consent has 100000 entries; at most 10 are accepted"
        );
    }

    #[test]
    fn lengths_count_characters_not_bytes() {
        let ok = "é".repeat(MAX_ATTRIBUTION_CHARS);
        assert_eq!(
            check_chars("utm_source", &ok, MAX_ATTRIBUTION_CHARS),
            Ok(())
        );
        let long = format!("{ok}x");
        let e = check_chars("utm_source", &long, MAX_ATTRIBUTION_CHARS).unwrap_err();
        assert_eq!(e.code, "too_long");
        assert_eq!(check_chars("x", "", 0), Ok(()));
        assert!(check_chars("x", "a", 0).is_err());
    }

    #[test]
    fn conditions_and_their_value_lists_are_capped() {
        let cond = |value: Value| Condition {
            field: "country".into(),
            op: Operator::In,
            value,
        };
        assert!(check_conditions("rules[0].conditions", &[cond(json!(["GB"]))]).is_empty());
        let many: Vec<Condition> = (0..=MAX_CONDITIONS).map(|_| cond(json!("GB"))).collect();
        let e = check_conditions("rules[0].conditions", &many);
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].field, "rules[0].conditions");
        let huge = cond(Value::Array(vec![json!("GB"); MAX_CONDITION_VALUES + 1]));
        let e = check_conditions("rules[2].conditions", &[cond(json!(["US"])), huge]);
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].field, "rules[2].conditions[1].value");
    }
}
