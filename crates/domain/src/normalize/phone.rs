//! Phone numbers: E.164 when the number is valid, otherwise the raw text, never lost.

use super::text::clean_line;
use phonenumber::country::Id;
use phonenumber::Mode;
use serde::{Deserialize, Serialize};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Longest input handed to the phone parser; anything longer is not a phone number.
const MAX_PHONE: usize = 64;

/// A phone number after normalisation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum PhoneValue {
    /// A valid number in E.164 form ("+14155552671"). Extensions are not kept.
    E164(String),
    /// Text that is not a valid number, kept trimmed and NFC so nothing is lost.
    Unparseable(String),
}

impl PhoneValue {
    /// The stored text: the E.164 number or the raw input.
    pub fn as_str(&self) -> &str {
        match self {
            PhoneValue::E164(s) | PhoneValue::Unparseable(s) => s,
        }
    }

    /// Whether the number parsed and is valid for its country.
    pub fn is_valid(&self) -> bool {
        matches!(self, PhoneValue::E164(_))
    }
}

/// Reads a phone number as E.164. `region` (ISO 3166-1 alpha-2) says how to read a
/// number without a country code; numbers starting with `+` or `00` need none. An
/// extension ("ext. 12", "x12") is accepted and dropped: E.164 has no place for it.
/// Anything that is not a valid number comes back as [`PhoneValue::Unparseable`].
pub fn normalize_phone(raw: &str, region: Option<&str>) -> PhoneValue {
    let Some(cleaned) = clean_line(raw) else {
        return PhoneValue::Unparseable(String::new());
    };
    if cleaned.chars().count() > MAX_PHONE {
        return PhoneValue::Unparseable(cleaned);
    }
    let region = region.and_then(|r| r.trim().to_ascii_uppercase().parse::<Id>().ok());
    let international = international_form(&cleaned);
    parse_valid(region, &cleaned)
        .or_else(|| international.and_then(|s| parse_valid(None, &s)))
        .map_or(PhoneValue::Unparseable(cleaned), PhoneValue::E164)
}

/// "0044 20 ..." as "+44 20 ...": `00` is the international prefix nearly everywhere
/// outside North America, so a number written with it is readable without a region.
fn international_form(cleaned: &str) -> Option<String> {
    let start = cleaned.trim_start_matches(|c: char| !c.is_ascii_digit() && c != '+');
    start.strip_prefix("00").map(|rest| format!("+{rest}"))
}

/// Parses and validates, returning E.164. The parser is third-party code that has
/// panicked on odd input before (rust-phonenumber issue 43); a panic there must not
/// take a lead down with it, so it is contained and treated as "not a number".
fn parse_valid(region: Option<Id>, text: &str) -> Option<String> {
    let parsed = catch_unwind(AssertUnwindSafe(|| {
        let number = phonenumber::parse(region, text).ok()?;
        phonenumber::is_valid(&number).then(|| number.format().mode(Mode::E164).to_string())
    }));
    parsed.ok().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e164(s: &str) -> PhoneValue {
        PhoneValue::E164(s.to_string())
    }

    #[test]
    fn parses_many_written_forms() {
        let cases: &[(&str, Option<&str>, &str)] = &[
            // United States
            ("(201) 555-0123", Some("US"), "+12015550123"),
            ("201-555-0123", Some("US"), "+12015550123"),
            ("201.555.0123", Some("us"), "+12015550123"),
            ("2015550123", Some("US"), "+12015550123"),
            ("1 201 555 0123", Some("US"), "+12015550123"),
            ("+1 (201) 555-0123", None, "+12015550123"),
            ("+1-201-555-0123", Some("DE"), "+12015550123"),
            ("001 201 555 0123", None, "+12015550123"),
            ("011 44 20 7946 0958", Some("US"), "+442079460958"),
            ("(201) 555-0123 ext. 12", Some("US"), "+12015550123"),
            ("201-555-0123 x12", Some("US"), "+12015550123"),
            ("tel:+1-201-555-0123", None, "+12015550123"),
            // United Kingdom
            ("+44 20 7946 0958", None, "+442079460958"),
            ("0044 20 7946 0958", None, "+442079460958"),
            ("0044 20 7946 0958", Some("GB"), "+442079460958"),
            ("020 7946 0958", Some("GB"), "+442079460958"),
            ("(020) 7946-0958", Some("GB"), "+442079460958"),
            ("+44 (0)20 7946 0958", None, "+442079460958"),
            ("07400 123456", Some("GB"), "+447400123456"),
            ("01212 345678", Some("GB"), "+441212345678"),
            // Germany
            ("030 123456", Some("DE"), "+4930123456"),
            ("030/123456", Some("DE"), "+4930123456"),
            ("+49 30 123456", None, "+4930123456"),
            ("0049 (0)30 123456", None, "+4930123456"),
            ("0151 23456789", Some("DE"), "+4915123456789"),
            // France
            ("01 23 45 67 89", Some("FR"), "+33123456789"),
            ("01.23.45.67.89", Some("FR"), "+33123456789"),
            ("+33 6 12 34 56 78", None, "+33612345678"),
            ("0033 612345678", None, "+33612345678"),
            // Netherlands
            ("010 123 4567", Some("NL"), "+31101234567"),
            ("06-12345678", Some("NL"), "+31612345678"),
            ("+31 6 12345678", None, "+31612345678"),
            // Australia
            ("(02) 1234 5678", Some("AU"), "+61212345678"),
            ("0412 345 678", Some("AU"), "+61412345678"),
            ("+61 412 345 678", None, "+61412345678"),
            ("0011 61 412 345 678", Some("AU"), "+61412345678"),
            // India
            ("074104 10123", Some("IN"), "+917410410123"),
            ("81234 56789", Some("IN"), "+918123456789"),
            ("+91 81234 56789", None, "+918123456789"),
            ("+91-8123456789", Some("US"), "+918123456789"),
        ];
        for (raw, region, want) in cases {
            assert_eq!(
                normalize_phone(raw, *region),
                e164(want),
                "{raw:?} {region:?}"
            );
        }
    }

    #[test]
    fn unparseable_numbers_are_kept_raw() {
        let cases: &[(&str, Option<&str>, &str)] = &[
            ("020 7946 0958", None, "020 7946 0958"),
            ("(201) 555-0123", None, "(201) 555-0123"),
            ("  call me  maybe ", Some("US"), "call me maybe"),
            ("12", Some("US"), "12"),
            ("+1 555", None, "+1 555"),
            ("+999 123 456 789", None, "+999 123 456 789"),
            ("0000000000", Some("GB"), "0000000000"),
            ("2015550123", Some("XX"), "2015550123"),
            ("2015550123", Some("not a region"), "2015550123"),
            (
                "<script>alert(1)</script>",
                Some("US"),
                "<script>alert(1)</script>",
            ),
            ("０２０\u{3000}７９４６", Some("GB"), "０２０ ７９４６"),
        ];
        for (raw, region, want) in cases {
            let got = normalize_phone(raw, *region);
            assert_eq!(got, PhoneValue::Unparseable(want.to_string()), "{raw:?}");
            assert!(!got.is_valid());
            assert_eq!(got.as_str(), *want);
        }
    }

    #[test]
    fn empty_and_huge_inputs() {
        assert_eq!(
            normalize_phone("  ", Some("US")),
            PhoneValue::Unparseable(String::new())
        );
        let huge = "1".repeat(1 << 20);
        assert_eq!(
            normalize_phone(&huge, Some("US")),
            PhoneValue::Unparseable(huge.clone())
        );
    }

    #[test]
    fn value_accessors_and_serde() {
        let valid = e164("+12015550123");
        assert!(valid.is_valid());
        assert_eq!(valid.as_str(), "+12015550123");
        let json = serde_json::to_string(&valid).unwrap_or_default();
        assert_eq!(json, r#"{"kind":"e164","value":"+12015550123"}"#);
    }

    #[test]
    fn odd_inputs_never_panic() {
        // A small deterministic fuzz over the characters phone input is made of.
        let alphabet: Vec<char> = "0123456789+()-. #*x:;/ext,tel+00\u{ff10}\u{660}a"
            .chars()
            .collect();
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..2000 {
            let mut s = String::new();
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = (seed % 24) as usize;
            for i in 0..len {
                let pick = (seed.rotate_left(i as u32 * 5) % alphabet.len() as u64) as usize;
                s.push(alphabet[pick]);
            }
            for region in [None, Some("US"), Some("DE"), Some("GB")] {
                let value = normalize_phone(&s, region);
                if let PhoneValue::E164(number) = &value {
                    assert!(number.starts_with('+'), "{s:?} -> {number}");
                }
            }
        }
    }
}
