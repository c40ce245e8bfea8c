//! Phone numbers: E.164 when the number is valid, otherwise the raw text, never lost.

use super::text::clean_line;
use phonenumber::country::Id;
use phonenumber::metadata::{Metadata, DATABASE};
use phonenumber::{Mode, Type};
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
/// number written without a country code. A number written in international form
/// (`+CC`, `00 CC`, `011 CC`, or a `tel:` URI) is read as international whatever the
/// region. An extension ("ext. 12", "x12", ";ext=12") is accepted and dropped: E.164
/// has no place for it. Anything that is not a valid number comes back as
/// [`PhoneValue::Unparseable`].
pub fn normalize_phone(raw: &str, region: Option<&str>) -> PhoneValue {
    widen_regex_cache();
    let Some(cleaned) = clean_line(raw) else {
        return PhoneValue::Unparseable(String::new());
    };
    if cleaned.chars().count() > MAX_PHONE {
        return PhoneValue::Unparseable(cleaned);
    }
    let region = region.and_then(|r| r.trim().to_ascii_uppercase().parse::<Id>().ok());
    read(&cleaned, region).map_or(PhoneValue::Unparseable(cleaned), PhoneValue::E164)
}

/// The phone metadata's patterns are compiled on first use into one cache of 100
/// regular expressions shared by the whole process, behind one mutex that is held while
/// each runs. Validating a number tries every number type of every region that shares
/// its country code (25 regions for +1), so 100 was far too few: expressions were
/// compiled again and again. The cache is made large enough for every pattern the
/// metadata has; only those used are ever compiled.
fn widen_regex_cache() {
    static WIDENED: std::sync::Once = std::sync::Once::new();
    WIDENED.call_once(|| {
        const PATTERNS: usize = 16_384;
        let cache = DATABASE.cache();
        let mut cache = cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.capacity() < PATTERNS {
            cache.set_capacity(PATTERNS);
        }
    });
}

/// Reads cleaned text as a valid number in E.164, according to how it is written.
fn read(cleaned: &str, region: Option<Id>) -> Option<String> {
    let text = match strip_tel_uri(cleaned) {
        Some(Tel::Global(number)) => return international(&number),
        Some(Tel::Local(number)) => number,
        None => cleaned.to_string(),
    };
    // "(+49) 30 ..." and "(0049) 30 ...": brackets and the like before the first digit.
    let start = text.trim_start_matches(|c: char| !c.is_ascii_digit() && c != '+');
    if start.starts_with('+') {
        return international(start);
    }
    if let Some(rest) = start.strip_prefix("00") {
        // The international exit code nearly everywhere outside North America, and
        // no national number starts with it. Regions with a longer exit code
        // ("0011" in Australia) are still read in their own way below.
        return international(&format!("+{rest}")).or_else(|| national(region, start));
    }
    if let Some(rest) = start.strip_prefix("011") {
        // The North American exit code; elsewhere "011..." may well be a national
        // number (Sheffield is 0114 in the United Kingdom), which then comes first.
        let abroad = || international(&format!("+{rest}"));
        return if region.is_none_or(is_nanp) {
            abroad().or_else(|| national(region, start))
        } else {
            national(region, start).or_else(abroad)
        };
    }
    national(region, &text)
}

/// A number written with "+" and its country code. The default region must play no
/// part here: given one, the parser strips that region's national prefix from the
/// number (it read "+49 1512 3456789" in the US as +495123456789).
fn international(text: &str) -> Option<String> {
    parse_valid(None, text).or_else(|| international_from_digits(text))
}

/// A number written without a country code, read in `region`.
fn national(region: Option<Id>, text: &str) -> Option<String> {
    parse_valid(region, text).or_else(|| national_from_digits(region?, text))
}

/// Number types that make a number valid (those libphonenumber's `isValidNumber`
/// accepts).
const VALID_TYPES: [Type; 10] = [
    Type::FixedLine,
    Type::Mobile,
    Type::TollFree,
    Type::PremiumRate,
    Type::SharedCost,
    Type::PersonalNumber,
    Type::Voip,
    Type::Pager,
    Type::Uan,
    Type::Voicemail,
];

/// Whether `nsn` is a valid national significant number in `meta`'s region.
fn valid_in(meta: &Metadata, nsn: &str) -> bool {
    let descriptors = meta.descriptors();
    descriptors.general().is_match(nsn)
        && VALID_TYPES
            .iter()
            .any(|&kind| descriptors.get(kind).is_some_and(|d| d.is_match(nsn)))
}

/// The digits of a written number: digits and visual separators, then nothing or an
/// extension ("x12", "ext. 12", "#12").
fn written_digits(text: &str) -> Option<String> {
    let end = text
        .find(|c: char| !(c.is_ascii_digit() || " -./()".contains(c)))
        .unwrap_or(text.len());
    let rest = text[end..].trim_start().to_ascii_lowercase();
    let extension = rest.is_empty() || ["x", "ext", "#"].iter().any(|p| rest.starts_with(p));
    let digits: String = text[..end].chars().filter(char::is_ascii_digit).collect();
    (extension && !digits.is_empty()).then_some(digits)
}

/// "+7 800 123-45-67" read straight from its digits, as libphonenumber reads it: the
/// country code, then the national significant number as written. Needed because the
/// parser strips a national prefix after the country code too, so Russia's toll-free
/// +7 800 ... (national prefix 8) came out invalid.
fn international_from_digits(text: &str) -> Option<String> {
    let digits = written_digits(text.strip_prefix('+')?)?;
    // Country codes are one to three digits and prefix-free: the first that exists
    // is the only candidate.
    let (nsn, regions) = (1..=3).find_map(|len| {
        let code: u16 = digits.get(..len)?.parse().ok()?;
        Some((digits.get(len..)?, DATABASE.by_code(&code)?))
    })?;
    regions
        .iter()
        .any(|meta| valid_in(meta, nsn))
        .then(|| format!("+{digits}"))
}

/// A national number read straight from its digits in `region`, with or without the
/// region's national prefix. Needed where the parser strips too much: the national
/// prefix twice ("8 800 ..." in Kazakhstan), or a country code that is really the
/// start of the number ("250 123 456" in Rwanda, whose country code is 250).
fn national_from_digits(region: Id, text: &str) -> Option<String> {
    let meta = DATABASE.by_id(region.as_ref())?;
    let digits = written_digits(text)?;
    let stripped = meta
        .national_prefix()
        .and_then(|prefix| digits.strip_prefix(prefix));
    let nsn = stripped
        .into_iter()
        .chain([digits.as_str()])
        .find(|nsn| valid_in(meta, nsn))?;
    Some(format!("+{}{nsn}", meta.country_code()))
}

/// Whether the region dials with country code 1 (the North American Numbering Plan).
fn is_nanp(region: Id) -> bool {
    DATABASE
        .by_id(region.as_ref())
        .is_some_and(|meta| meta.country_code() == 1)
}

/// A `tel:` URI (RFC 3966) taken apart.
enum Tel {
    /// A global number ("tel:+49-30-123456"), as "+4930123456" with separators.
    Global(String),
    /// A local number without a usable context, read with the default region.
    Local(String),
}

/// Strips the `tel:` scheme and the parameters (`;ext=`, `;isub=`, ...). A local
/// number whose `phone-context` is a "+CC..." prefix is put under that prefix.
fn strip_tel_uri(text: &str) -> Option<Tel> {
    let scheme = text.get(..4).filter(|s| s.eq_ignore_ascii_case("tel:"))?;
    let rest = text[scheme.len()..].trim_start();
    let mut parts = rest.split(';');
    let number = parts.next().unwrap_or_default().trim();
    if number.starts_with('+') {
        return Some(Tel::Global(global_digits(number)));
    }
    let context = parts.find_map(|p| {
        let (name, value) = p.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("phone-context")
            .then(|| value.trim())
    });
    Some(match context {
        Some(prefix) if prefix.starts_with('+') => {
            Tel::Global(global_digits(&format!("{prefix}{number}")))
        }
        _ => Tel::Local(number.to_string()),
    })
}

/// "+49-30-123456" as "+4930123456". The parser misreads some dashed forms
/// ("+491512-3456789" fails to parse), and RFC 3966 allows only digits and visual
/// separators here; anything else is left for the parser to refuse.
fn global_digits(number: &str) -> String {
    let visual = |c: char| c.is_ascii_digit() || matches!(c, '+' | '-' | '.' | '(' | ')' | ' ');
    if number.chars().all(visual) {
        let digits: String = number.chars().filter(char::is_ascii_digit).collect();
        format!("+{digits}")
    } else {
        number.to_string()
    }
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
            // Russia and Kazakhstan: national prefix 8, toll-free numbers 8 800 ...
            ("+7 800 123-45-67", None, "+78001234567"),
            ("+7 800 123-45-67", Some("RU"), "+78001234567"),
            ("8 (800) 123-45-67", Some("RU"), "+78001234567"),
            ("8-800-123-45-67", Some("KZ"), "+78001234567"),
            ("+7 800 123-45-67 ext. 5", Some("US"), "+78001234567"),
            ("+370 800 12 345", Some("LT"), "+37080012345"),
            // Rwanda: the number starts with its own country code 250.
            ("250 123 456", Some("RW"), "+250250123456"),
            ("0250 123 456", Some("RW"), "+250250123456"),
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
    fn international_forms_ignore_the_default_region() {
        // The phonenumber crate alone stored "+49 1512 3456789" read in the US as the
        // valid but wrong +495123456789: it stripped the US national prefix "1".
        let german_mobile = "+4915123456789";
        for raw in [
            "+49 1512 3456789",
            "+49-1512-3456789",
            "+4915123456789",
            "(+49) 1512 3456789",
            "0049 1512 3456789",
            "00 49 1512 3456789",
            "011 49 1512 3456789",
            "tel:+49-1512-3456789",
            "TEL:+49-1512-3456789;ext=12",
            "tel:+49-1512-3456789;isub=3;ext=7",
            "tel:1512-3456789;phone-context=+49",
        ] {
            for region in [
                None,
                Some("US"),
                Some("DE"),
                Some("GB"),
                Some("CA"),
                Some("AU"),
            ] {
                assert_eq!(
                    normalize_phone(raw, region),
                    e164(german_mobile),
                    "{raw:?} {region:?}"
                );
            }
        }
    }

    #[test]
    fn exit_codes_that_are_national_numbers_elsewhere() {
        // 0114 is Sheffield: in the UK "0114 ..." is a national number, not "011 4...".
        assert_eq!(
            normalize_phone("0114 496 0123", Some("GB")),
            e164("+441144960123")
        );
        // Read from the US the same digits are the exit code 011 and +44 114 496 0123.
        assert_eq!(
            normalize_phone("011 44 114 496 0123", Some("US")),
            e164("+441144960123")
        );
        assert_eq!(
            normalize_phone("011 44 114 496 0123", Some("GB")),
            e164("+441144960123")
        );
        // Australia's own exit code 0011 still works.
        assert_eq!(
            normalize_phone("0011 44 20 7946 0958", Some("AU")),
            e164("+442079460958")
        );
        // A local tel: URI without a number context is read in the default region.
        assert_eq!(
            normalize_phone("tel:030-123456;phone-context=example.com", Some("DE")),
            e164("+4930123456")
        );
        assert!(!normalize_phone("tel:", Some("DE")).is_valid());
        assert!(!normalize_phone("tel:+", None).is_valid());
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
            ("+7 800 123-45-67 call me", None, "+7 800 123-45-67 call me"),
            ("8 800 123 45", Some("RU"), "8 800 123 45"),
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
    fn the_pattern_cache_keeps_more_than_a_hundred_expressions() {
        // Numbers of every North American region: each is tried against the number
        // types of all 25 regions of +1, more patterns than the crate's own cache of 100.
        for meta in DATABASE.by_code(&1).unwrap() {
            for kind in VALID_TYPES {
                if let Some(example) = meta.descriptors().get(kind).and_then(|d| d.example()) {
                    normalize_phone(&format!("+1 {example}"), None);
                }
            }
        }
        let cache = DATABASE.cache();
        let cache = cache.lock().unwrap();
        assert!(cache.capacity() >= 16_384);
        assert!(cache.len() > 100, "{} patterns kept", cache.len());
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
