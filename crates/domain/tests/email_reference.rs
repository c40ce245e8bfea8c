//! E-mail addresses against references: python-email-validator's syntax test suite and
//! Dominic Sayers' is_email test suite (which email-validator's suite carries).
//!
//! `fixtures/email_reference/cases.json` holds every address of those suites with
//! email-validator's verdict under Leadline's policy for leads (see `generate.py` beside
//! it). Each runs through [`EmailAddress::parse_public`], the parser leads go through:
//! where the reference accepts, we must accept and store the same `local@ascii-domain`;
//! where it refuses, we must refuse. Every disagreement is listed with its reason in
//! `fixtures/email_reference/disagreements.json`, and the test fails unless the
//! disagreements are exactly those.

use leadline_domain::normalize::EmailAddress;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

const CASES: &str = include_str!("fixtures/email_reference/cases.json");
const KNOWN: &str = include_str!("fixtures/email_reference/disagreements.json");

#[derive(Deserialize)]
struct Case {
    origin: String,
    input: String,
    isemail: Option<String>,
    reference: String,
    normalized: Option<String>,
}

#[derive(Deserialize)]
struct Known {
    input: String,
    ours: String,
    reference: String,
    reason: String,
}

/// Our verdict in the fixture's terms: the stored address, or "invalid: <why>".
fn ours(input: &str) -> String {
    match EmailAddress::parse_public(input) {
        Ok(email) => email.as_str().to_string(),
        Err(e) => format!("invalid: {e}"),
    }
}

fn reference(case: &Case) -> String {
    match (&case.reference[..], &case.normalized) {
        ("valid", Some(normalized)) => normalized.clone(),
        _ => "invalid".into(),
    }
}

fn agrees(ours: &str, reference: &str) -> bool {
    if reference == "invalid" {
        ours.starts_with("invalid")
    } else {
        ours == reference
    }
}

#[test]
fn email_parser_agrees_with_the_reference_suites() {
    let cases: Vec<Case> = serde_json::from_str(CASES).expect("cases.json parses");
    assert!(cases.len() > 250, "only {} cases", cases.len());
    let known: Vec<Known> = serde_json::from_str(KNOWN).expect("disagreements.json parses");
    for k in &known {
        assert!(!k.reason.trim().is_empty(), "no reason for {:?}", k.input);
    }
    let known: BTreeSet<(String, String, String)> = known
        .into_iter()
        .map(|k| (k.input, k.ours, k.reference))
        .collect();

    let mut found = BTreeSet::new();
    // Per is_email diagnosis: (cases, accepted by us).
    let mut isemail: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for case in &cases {
        let (ours, reference) = (ours(&case.input), reference(case));
        // The error message is ours to word; only the verdict is compared.
        let ours_key = if ours.starts_with("invalid") {
            "invalid".to_string()
        } else {
            ours.clone()
        };
        if !agrees(&ours, &reference) {
            found.insert((case.input.clone(), ours_key, reference));
        }
        if let Some(diagnosis) = &case.isemail {
            let entry = isemail.entry(diagnosis).or_default();
            entry.0 += 1;
            entry.1 += usize::from(!ours.starts_with("invalid"));
        }
        assert!(!case.origin.is_empty());
    }
    let agreeing = cases.len() - found.len();
    let mut out = std::io::stderr();
    let _ = writeln!(
        out,
        "e-mail reference: {agreeing} of {} cases agree with email-validator, {} listed disagreements",
        cases.len(),
        found.len()
    );
    for (diagnosis, (count, accepted)) in &isemail {
        let _ = writeln!(
            out,
            "  is_email {diagnosis}: {accepted} of {count} accepted"
        );
    }

    let show = |set: Vec<&(String, String, String)>| {
        set.iter()
            .map(|(input, ours, reference)| {
                serde_json::json!({ "input": input, "ours": ours, "reference": reference, "reason": "" })
                    .to_string()
            })
            .collect::<Vec<_>>()
            .join(",\n")
    };
    let new = show(found.difference(&known).collect());
    let gone = show(known.difference(&found).collect());
    assert!(
        new.is_empty() && gone.is_empty(),
        "disagreements changed.\nnew:\n{new}\nlisted but no longer found:\n{gone}"
    );
}
