//! Phone numbers against libphonenumber as the oracle.
//!
//! `fixtures/phone_oracle/cases.csv` holds libphonenumber's reading of every example
//! number of every region and number type, written the ways people write them and read
//! with several default regions (see `generate.py` beside it for how it is made and
//! what its columns mean). Every row is run through [`normalize_phone`]:
//!
//! - where libphonenumber reads a valid number, we must store exactly that E.164;
//! - where it reads an invalid number or nothing, we must not claim a valid number.
//!
//! Every remaining disagreement is listed, with its reason, in
//! `fixtures/phone_oracle/disagreements.csv`; the test fails if the disagreements are
//! not exactly that list (a new one is a regression, a vanished one must be removed).

use leadline_domain::normalize::{normalize_phone, PhoneValue};
use std::collections::BTreeSet;
use std::io::Write;

const CASES: &str = include_str!("fixtures/phone_oracle/cases.csv");
const KNOWN: &str = include_str!("fixtures/phone_oracle/disagreements.csv");
/// The agreement the normaliser must reach, in percent.
const REQUIRED_AGREEMENT: f64 = 99.9;

/// One disagreement: the text, the default region, what we stored, what was expected.
type Disagreement = (String, String, String, String);

fn records(text: &str) -> Vec<csv::StringRecord> {
    csv::ReaderBuilder::new()
        .comment(Some(b'#'))
        .from_reader(text.as_bytes())
        .records()
        .collect::<Result<_, _>>()
        .expect("fixture is valid CSV")
}

/// Our result in the fixture's notation: the E.164 number, or "not valid".
fn ours(value: &PhoneValue) -> String {
    match value {
        PhoneValue::E164(number) => number.clone(),
        PhoneValue::Unparseable(_) => "not valid".into(),
    }
}

/// Whether our result agrees with the expected one: the same valid number, or no
/// valid number where libphonenumber found none.
fn agrees(ours: &PhoneValue, expected: &str) -> bool {
    match ours {
        PhoneValue::E164(number) => number == expected,
        PhoneValue::Unparseable(_) => !expected.starts_with('+'),
    }
}

/// Disagreements as lines of the list's CSV (without the reason), to read or paste.
fn as_csv<'a>(rows: impl Iterator<Item = &'a Disagreement>) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    for (written, default, ours, expected) in rows {
        w.write_record([written, default, ours, expected])
            .expect("writing to memory");
    }
    String::from_utf8(w.into_inner().expect("writing to memory")).expect("UTF-8 in, UTF-8 out")
}

#[test]
fn phone_normaliser_agrees_with_libphonenumber() {
    let mut total = 0usize;
    let mut exit_code_rows = 0usize;
    let mut found: BTreeSet<Disagreement> = BTreeSet::new();
    for row in records(CASES) {
        let number = &row[0];
        let (default, written, basis) = (&row[4], &row[5], &row[8]);
        let resolve = |v: &str| {
            if v == "=" {
                number.to_string()
            } else {
                v.to_string()
            }
        };
        let expected = resolve(&row[7]);
        total += 1;
        exit_code_rows += usize::from(basis == "exit_code");
        let region = (!default.is_empty()).then_some(default);
        let value = normalize_phone(written, region);
        if !agrees(&value, &expected) {
            found.insert((
                written.to_string(),
                default.to_string(),
                ours(&value),
                expected,
            ));
        }
    }
    assert!(total > 20_000, "the fixture has only {total} rows");

    let known: BTreeSet<Disagreement> = records(KNOWN)
        .iter()
        .map(|r| {
            assert!(
                !r[4].trim().is_empty(),
                "disagreement without a reason: {r:?}"
            );
            (r[0].into(), r[1].into(), r[2].into(), r[3].into())
        })
        .collect();
    let agreeing = total - found.len();
    let percent = 100.0 * agreeing as f64 / total as f64;
    // Written to stderr directly, not with println!, so that it shows in the test
    // output without --nocapture.
    let _ = writeln!(
        std::io::stderr(),
        "phone oracle: {agreeing} of {total} cases agree with libphonenumber ({percent:.3}%); \
         {} known disagreements; {exit_code_rows} rows read 00/011 as an exit code where \
         libphonenumber does not",
        found.len()
    );
    let new = as_csv(found.difference(&known));
    let gone = as_csv(known.difference(&found));
    assert!(
        new.is_empty() && gone.is_empty(),
        "disagreements changed.\nnew (written,default,ours,expected):\n{new}\n\
         listed but no longer found:\n{gone}"
    );
    assert!(
        percent >= REQUIRED_AGREEMENT,
        "agreement {percent:.3}% is below {REQUIRED_AGREEMENT}%"
    );
}
