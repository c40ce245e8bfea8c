//! Ceilings on the repeated and map fields of API bodies that reach no service check
//! of their own (see `leadline_domain::limits`), applied before any item is looked at.

use crate::routes::leads::CreateLead;
use leadline_domain::limits::{self, check_chars, check_count};
use leadline_domain::normalize::FieldError;
use serde_json::{Map, Value};

/// `POST /api/v1/leads`: consent entries (count, wording, evidence) and attribution
/// values. (Custom attributes are checked where every capture is normalised.)
pub fn capture_body(body: &CreateLead) -> Vec<FieldError> {
    if let Err(e) = check_count("consent", body.consent.len(), limits::MAX_CONSENTS) {
        return vec![e];
    }
    let mut errors = Vec::new();
    for (i, c) in body.consent.iter().enumerate() {
        if let Some(w) = &c.wording {
            errors.extend(
                check_chars(
                    &format!("consent[{i}].wording"),
                    w,
                    limits::MAX_CONSENT_WORDING_CHARS,
                )
                .err(),
            );
        }
        let evidence_bytes = serde_json::to_vec(&c.evidence).map_or(usize::MAX, |v| v.len());
        if evidence_bytes > limits::MAX_CONSENT_EVIDENCE_BYTES {
            errors.push(FieldError {
                field: format!("consent[{i}].evidence"),
                code: "too_long".into(),
                message: format!(
                    "consent evidence is at most {} KiB of JSON",
                    limits::MAX_CONSENT_EVIDENCE_BYTES / 1024
                ),
            });
        }
    }
    let a = &body.attribution;
    for (name, value) in [
        ("utm_source", &a.utm_source),
        ("utm_medium", &a.utm_medium),
        ("utm_campaign", &a.utm_campaign),
        ("utm_term", &a.utm_term),
        ("utm_content", &a.utm_content),
        ("referrer", &a.referrer),
        ("landing_page", &a.landing_page),
    ] {
        if let Some(v) = value {
            errors.extend(
                check_chars(
                    &format!("attribution.{name}"),
                    v,
                    limits::MAX_ATTRIBUTION_CHARS,
                )
                .err(),
            );
        }
    }
    errors
}

/// `PATCH /api/v1/leads/{id}`: how many custom attributes one edit may change.
pub fn lead_patch(body: &Map<String, Value>) -> Result<(), Vec<FieldError>> {
    match body.get("custom") {
        Some(Value::Object(custom)) => {
            check_count("custom", custom.len(), limits::MAX_CUSTOM_CHANGES).map_err(|e| vec![e])
        }
        _ => Ok(()),
    }
}

/// A topic filter (webhook subscriptions, the event stream).
pub fn topics(topics: &[String]) -> Result<(), FieldError> {
    check_count("topics", topics.len(), limits::MAX_TOPICS)
}
