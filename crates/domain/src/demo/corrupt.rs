//! The ways a person's details come out wrong on a second list: typing slips, OCR
//! misreadings, spellings that sound alike, short forms of names and streets, and
//! garbled dates. Each function is pure given the random generator and returns `None`
//! when it cannot apply to the value (no letter to swap, no "Street" to abbreviate),
//! so the caller can pick another corruption instead of recording one that did nothing.

use super::linkage_tables::{
    NICKNAMES, OCR_CONFUSIONS, PHONETIC, STREET_ABBREVIATIONS, TRANSLITERATIONS,
};
use super::people::{pick, typo};
use rand::rngs::StdRng;
use rand::Rng;
use time::{Date, Month};

/// One typing slip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Edit {
    /// A neighbouring key pressed as well.
    Insert,
    /// A letter left out.
    Delete,
    /// A neighbouring key pressed instead.
    Substitute,
    /// Two neighbouring letters in the wrong order.
    Transpose,
}

const EDITS: [Edit; 4] = [
    Edit::Insert,
    Edit::Delete,
    Edit::Substitute,
    Edit::Transpose,
];

/// Keys next to a letter on a QWERTY keyboard.
fn neighbours(c: char) -> &'static str {
    match c.to_ascii_lowercase() {
        'a' => "qwsz",
        'b' => "vghn",
        'c' => "xdfv",
        'd' => "serfcx",
        'e' => "wsdr",
        'f' => "drtgvc",
        'g' => "ftyhbv",
        'h' => "gyujnb",
        'i' => "ujko",
        'j' => "huikmn",
        'k' => "jiolm",
        'l' => "kop",
        'm' => "njk",
        'n' => "bhjm",
        'o' => "iklp",
        'p' => "ol",
        'q' => "wa",
        'r' => "edft",
        's' => "awedxz",
        't' => "rfgy",
        'u' => "yhji",
        'v' => "cfgb",
        'w' => "qase",
        'x' => "zsdc",
        'y' => "tghu",
        'z' => "asx",
        _ => "e",
    }
}

fn with_case_of(model: char, c: char) -> char {
    if model.is_uppercase() {
        c.to_ascii_uppercase()
    } else {
        c
    }
}

/// Positions of letters a slip may hit. The first letter is hit only one time in ten:
/// people rarely mistype the start of a name, but when they do it defeats any key
/// built on the first letter (Soundex, initials).
fn slip_position(rng: &mut StdRng, chars: &[char]) -> Option<usize> {
    let letters: Vec<usize> = (0..chars.len())
        .filter(|&i| chars[i].is_alphabetic())
        .collect();
    let later: Vec<usize> = letters.iter().copied().filter(|&i| i > 0).collect();
    if !later.is_empty() && (letters.first() != Some(&0) || rng.gen_bool(0.9)) {
        Some(later[rng.gen_range(0..later.len())])
    } else {
        letters.first().copied()
    }
}

/// One typing slip of the given kind in a word or name; `None` when the value is too
/// short for it or the slip would change nothing.
pub(crate) fn edit(rng: &mut StdRng, value: &str, kind: Edit) -> Option<String> {
    let mut chars: Vec<char> = value.chars().collect();
    let at = slip_position(rng, &chars)?;
    let c = chars[at];
    match kind {
        Edit::Insert => {
            let extra = pick(rng, neighbours(c).as_bytes()) as char;
            chars.insert(at + 1, extra);
        }
        Edit::Delete => {
            if chars.iter().filter(|c| c.is_alphabetic()).count() < 3 {
                return None;
            }
            chars.remove(at);
        }
        Edit::Substitute => {
            let new = pick(rng, neighbours(c).as_bytes()) as char;
            chars[at] = with_case_of(c, new);
        }
        Edit::Transpose => {
            // Swap with the next letter, or the previous one at the end of the word.
            let other = if at + 1 < chars.len() && chars[at + 1].is_alphabetic() {
                at + 1
            } else if at > 0 && chars[at - 1].is_alphabetic() {
                at - 1
            } else {
                return None;
            };
            if chars[at].to_lowercase().eq(chars[other].to_lowercase()) {
                return None;
            }
            let (lo, hi) = (at.min(other), at.max(other));
            // Keep the capital where it was ("Smith" -> "Msith" would read "MSith").
            let (a, b) = (chars[lo], chars[hi]);
            if a.is_uppercase() && lo == 0 {
                chars[lo] = b.to_uppercase().next().unwrap_or(b);
                chars[hi] = a.to_lowercase().next().unwrap_or(a);
            } else {
                chars.swap(lo, hi);
            }
        }
    }
    let out: String = chars.into_iter().collect();
    (out != value).then_some(out)
}

/// A slip of a random kind; tries the others when the first one cannot apply.
pub(crate) fn any_edit(rng: &mut StdRng, value: &str) -> Option<String> {
    let first = rng.gen_range(0..EDITS.len());
    (0..EDITS.len()).find_map(|k| edit(rng, value, EDITS[(first + k) % EDITS.len()]))
}

/// One letter of a short first name replaced, never the first: "Lisa" -> "Lusa",
/// "Mark" -> "Mauk". Short names are where a one-letter difference weighs most.
pub(crate) fn short_name_typo(rng: &mut StdRng, name: &str) -> Option<String> {
    let chars: Vec<char> = name.chars().collect();
    if !(3..=5).contains(&chars.len()) || !chars.iter().all(|c| c.is_alphabetic()) {
        return None;
    }
    let at = rng.gen_range(1..chars.len());
    let old = chars[at].to_ascii_lowercase();
    let pool: &[u8] = if "aeiou".contains(old) {
        b"aeiou"
    } else {
        neighbours(old).as_bytes()
    };
    let choices: Vec<char> = pool
        .iter()
        .map(|&b| b as char)
        .filter(|&c| c != old)
        .collect();
    let mut out = chars;
    out[at] = pick(rng, &choices);
    Some(out.into_iter().collect())
}

/// Replaces one occurrence of `from` (compared lower-cased) with `to`, keeping a
/// leading capital. `None` if `from` does not occur (or only where case folding would
/// shift the text).
fn replace_one(rng: &mut StdRng, value: &str, from: &str, to: &str, fold: bool) -> Option<String> {
    let haystack = if fold {
        value.to_lowercase()
    } else {
        value.to_string()
    };
    if haystack.len() != value.len() {
        return None;
    }
    let hits: Vec<usize> = haystack.match_indices(from).map(|(i, _)| i).collect();
    if hits.is_empty() {
        return None;
    }
    let at = hits[rng.gen_range(0..hits.len())];
    let replaced = &value[at..at + from.len()];
    let mut to = to.to_string();
    if fold && replaced.chars().next().is_some_and(char::is_uppercase) {
        let mut cs = to.chars();
        if let Some(first) = cs.next() {
            to = first.to_uppercase().chain(cs).collect();
        }
    }
    let out = format!("{}{to}{}", &value[..at], &value[at + from.len()..]);
    (out != value).then_some(out)
}

/// Picks one applicable pair of a confusion table (either direction when `both_ways`)
/// and applies it once.
fn confuse(
    rng: &mut StdRng,
    value: &str,
    table: &[(&str, &str)],
    both_ways: bool,
    fold: bool,
) -> Option<String> {
    let mut options: Vec<(&str, &str)> = Vec::new();
    let lower = value.to_lowercase();
    let probe = if fold { &lower } else { value };
    for &(a, b) in table {
        if probe.contains(a) {
            options.push((a, b));
        }
        if both_ways && probe.contains(b) {
            options.push((b, a));
        }
    }
    while !options.is_empty() {
        let i = rng.gen_range(0..options.len());
        let (from, to) = options.swap_remove(i);
        if let Some(out) = replace_one(rng, value, from, to, fold) {
            return Some(out);
        }
    }
    None
}

/// An OCR misreading: "rn" read as "m", "0" as "O", "1" as "l", "5" as "S", "cl" as
/// "d" and the like. Case matters to OCR, so nothing is folded.
pub(crate) fn ocr(rng: &mut StdRng, value: &str) -> Option<String> {
    confuse(rng, value, OCR_CONFUSIONS, false, false)
}

/// A spelling that sounds the same: "ph"/"f", "ck"/"k", "ie"/"y", "ü" -> "ue", …
/// A name with an umlaut is transliterated half the time, as keyboards abroad do.
pub(crate) fn phonetic(rng: &mut StdRng, value: &str) -> Option<String> {
    if rng.gen_bool(0.5) {
        if let Some(out) = confuse(rng, value, TRANSLITERATIONS, false, true) {
            return Some(out);
        }
    }
    confuse(rng, value, PHONETIC, true, true)
}

/// A short form of a formal first name ("Robert" -> "Bob"), if the table knows one.
pub(crate) fn nickname(rng: &mut StdRng, first: &str) -> Option<String> {
    NICKNAMES
        .iter()
        .find(|(formal, _)| *formal == first)
        .map(|(_, short)| pick(rng, short).to_string())
}

/// The first name cut to its initial, with or without a full stop.
pub(crate) fn initial(rng: &mut StdRng, first: &str) -> Option<String> {
    let c = first.chars().next()?;
    if first.chars().count() < 2 {
        return None;
    }
    Some(if rng.gen_bool(0.5) {
        format!("{c}.")
    } else {
        c.to_string()
    })
}

/// A street word written short: "Street" -> "St", "Hauptstraße" -> "Hauptstr.",
/// "Calle Mayor" -> "C/ Mayor".
pub(crate) fn abbreviate_street(rng: &mut StdRng, street: &str) -> Option<String> {
    let options: Vec<&(&str, &[&str])> = STREET_ABBREVIATIONS
        .iter()
        .filter(|(word, _)| street.contains(word))
        .collect();
    if options.is_empty() {
        return None;
    }
    let (word, short) = *options[rng.gen_range(0..options.len())];
    Some(street.replacen(word, pick(rng, short), 1))
}

/// A typo in the longest word of the street name (the house number is left alone).
pub(crate) fn street_typo(rng: &mut StdRng, street: &str) -> Option<String> {
    let word = street
        .split([' ', ','])
        .filter(|w| w.chars().all(char::is_alphabetic))
        .max_by_key(|w| w.chars().count())?;
    if word.chars().count() < 4 {
        return None;
    }
    let bad = typo(rng, word);
    Some(street.replacen(word, &bad, 1))
}

/// The street without its house number (and without a flat or suite number after it):
/// "12 High Street" -> "High Street", "Calle Mayor, 15" -> "Calle Mayor".
pub(crate) fn drop_house_number(street: &str) -> Option<String> {
    let main = street.split(", ").next().unwrap_or(street);
    let cut = match street.split_once(", ") {
        // "Calle Mayor, 15": the number is the part after the comma.
        Some((name, rest)) if rest.chars().all(|c| c.is_ascii_digit()) => name.to_string(),
        _ => main
            .split(' ')
            .filter(|w| !w.chars().any(|c| c.is_ascii_digit()))
            .collect::<Vec<_>>()
            .join(" "),
    };
    let cut = cut.trim().to_string();
    (cut != street && !cut.is_empty() && cut.chars().any(char::is_alphabetic)).then_some(cut)
}

/// One digit of a postal code changed by one, or two neighbouring digits swapped.
pub(crate) fn postal_typo(rng: &mut StdRng, code: &str) -> Option<String> {
    let mut chars: Vec<char> = code.chars().collect();
    let digits: Vec<usize> = (0..chars.len())
        .filter(|&i| chars[i].is_ascii_digit())
        .collect();
    if digits.is_empty() {
        return None;
    }
    let at = digits[rng.gen_range(0..digits.len())];
    let swap_with = digits.iter().copied().find(|&j| j == at + 1);
    match swap_with {
        Some(j) if chars[at] != chars[j] && rng.gen_bool(0.4) => chars.swap(at, j),
        _ => {
            let d = chars[at].to_digit(10).unwrap_or(0);
            let new = if d == 9 || (d > 0 && rng.gen_bool(0.5)) {
                d - 1
            } else {
                d + 1
            };
            chars[at] = char::from_digit(new, 10).unwrap_or('0');
        }
    }
    Some(chars.into_iter().collect())
}

/// Day and month swapped, when that still is a date (both at most 12) and differs.
pub(crate) fn dob_swap(date: Date) -> Option<Date> {
    let (day, month) = (date.day(), u8::from(date.month()));
    if day > 12 || day == month {
        return None;
    }
    let month = Month::try_from(day).ok()?;
    Date::from_calendar_date(date.year(), month, u8::from(date.month())).ok()
}

/// One digit of the date typed wrong: a digit of the day, the month or the last two
/// of the year, such that the result is still a real date.
pub(crate) fn dob_digit(rng: &mut StdRng, date: Date) -> Date {
    for _ in 0..32 {
        let iso = format!(
            "{:04}{:02}{:02}",
            date.year(),
            u8::from(date.month()),
            date.day()
        );
        let mut digits: Vec<u8> = iso.bytes().map(|b| b - b'0').collect();
        // Positions 2..8: decade, year, month (2), day (2).
        let at = rng.gen_range(2..8);
        let old = digits[at];
        let new = rng.gen_range(0..10u8);
        if new == old {
            continue;
        }
        digits[at] = new;
        let year = i32::from(digits[0]) * 1000
            + i32::from(digits[1]) * 100
            + i32::from(digits[2]) * 10
            + i32::from(digits[3]);
        let month = digits[4] * 10 + digits[5];
        let day = digits[6] * 10 + digits[7];
        if let Ok(m) = Month::try_from(month) {
            if let Ok(d) = Date::from_calendar_date(year, m, day) {
                if (1900..=2010).contains(&year) {
                    return d;
                }
            }
        }
    }
    // Every draw failed (vanishingly rare): the day next to it is one digit off too.
    date.next_day()
        .filter(|d| d.month() == date.month())
        .or_else(|| date.previous_day())
        .unwrap_or(date)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use time::macros::date;

    fn rng() -> StdRng {
        StdRng::seed_from_u64(7)
    }

    /// Edit distance ignoring case (a transposed capital moves its capital along).
    fn distance(a: &str, b: &str) -> usize {
        strsim::damerau_levenshtein(&a.to_lowercase(), &b.to_lowercase())
    }

    #[test]
    fn each_edit_is_one_damerau_step() {
        let mut r = rng();
        for name in ["Smith", "Johnson", "Müller", "Lee", "O'Brien", "de Jong"] {
            for kind in EDITS {
                for _ in 0..30 {
                    if let Some(out) = edit(&mut r, name, kind) {
                        assert_eq!(distance(name, &out), 1, "{kind:?} {name} -> {out}");
                        let len = |s: &str| s.chars().count() as i64;
                        let change = len(&out) - len(name);
                        let want = match kind {
                            Edit::Insert => 1,
                            Edit::Delete => -1,
                            Edit::Substitute | Edit::Transpose => 0,
                        };
                        assert_eq!(change, want, "{kind:?} {name} -> {out}");
                    }
                }
            }
        }
        assert_eq!(edit(&mut r, "Li", Edit::Delete), None);
        assert_eq!(edit(&mut r, "", Edit::Insert), None);
        assert!(any_edit(&mut r, "Li").is_some());
    }

    #[test]
    fn slips_rarely_hit_the_first_letter() {
        let mut r = rng();
        let hits = (0..2000)
            .filter(|_| {
                let out = edit(&mut r, "Robinson", Edit::Substitute).unwrap();
                !out.starts_with('R')
            })
            .count();
        assert!((100..320).contains(&hits), "{hits} of 2000");
    }

    #[test]
    fn short_name_typos_keep_length_and_first_letter() {
        let mut r = rng();
        for name in ["Lisa", "Mark", "Ann", "Emma"] {
            for _ in 0..20 {
                let out = short_name_typo(&mut r, name).unwrap();
                assert_eq!(out.chars().count(), name.chars().count());
                assert_eq!(out.chars().next(), name.chars().next());
                assert_eq!(distance(name, &out), 1, "{name} -> {out}");
            }
        }
        assert_eq!(short_name_typo(&mut r, "Christopher"), None);
        assert_eq!(short_name_typo(&mut r, "Jo"), None);
    }

    #[test]
    fn ocr_and_phonetic_confusions_come_from_the_tables() {
        let mut r = rng();
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            seen.insert(ocr(&mut r, "Bernard").unwrap());
        }
        assert!(seen.contains("Bemard"), "{seen:?}");
        assert!(seen.contains("Bernarcl"), "{seen:?}");
        let code = ocr(&mut r, "SW1A 1AA").unwrap();
        assert!(
            ["SWlA 1AA", "SW1A lAA", "5W1A 1AA"].contains(&code.as_str()),
            "{code}"
        );
        assert_eq!(ocr(&mut r, "xyz"), None);

        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            seen.insert(phonetic(&mut r, "Philips").unwrap());
            seen.insert(phonetic(&mut r, "Müller").unwrap());
        }
        assert!(seen.contains("Filips"), "{seen:?}");
        assert!(seen.contains("Mueller"), "{seen:?}");
        assert!(!seen.contains("Philips") && !seen.contains("Müller"));
        // A leading capital stays when the swap is at the start.
        for _ in 0..50 {
            let out = phonetic(&mut r, "Catherine").unwrap();
            assert!(out.starts_with(char::is_uppercase), "{out}");
        }
        assert_eq!(phonetic(&mut r, "123"), None);
    }

    #[test]
    fn nicknames_initials_and_streets() {
        let mut r = rng();
        let n = nickname(&mut r, "Robert").unwrap();
        assert!(["Bob", "Rob", "Bobby"].contains(&n.as_str()));
        assert_eq!(nickname(&mut r, "Oliver"), None);
        let i = initial(&mut r, "Robert").unwrap();
        assert!(i == "R" || i == "R.");
        assert_eq!(initial(&mut r, "R"), None);

        let s = abbreviate_street(&mut r, "12 High Street").unwrap();
        assert!(["12 High St", "12 High St.", "12 High Str"].contains(&s.as_str()));
        let s = abbreviate_street(&mut r, "Hauptstraße 5").unwrap();
        assert!(s.starts_with("Haupt") && s.ends_with(" 5") && !s.contains("straße"));
        assert_eq!(abbreviate_street(&mut r, "Kingsway 3"), None);

        assert_eq!(
            drop_house_number("12 High Street").as_deref(),
            Some("High Street")
        );
        assert_eq!(
            drop_house_number("Hauptstraße 12").as_deref(),
            Some("Hauptstraße")
        );
        assert_eq!(
            drop_house_number("Calle Mayor, 15").as_deref(),
            Some("Calle Mayor")
        );
        assert_eq!(
            drop_house_number("12 Main Street, Apt 300").as_deref(),
            Some("Main Street")
        );
        assert_eq!(drop_house_number("High Street"), None);

        let t = street_typo(&mut r, "12 Baker Street").unwrap();
        assert!(t.starts_with("12 ") && t != "12 Baker Street");
        assert_eq!(street_typo(&mut r, "1 A"), None);
    }

    #[test]
    fn postal_typos_change_one_digit_or_swap_two() {
        let mut r = rng();
        for code in ["10115", "SW1A 1AA", "1012 AB", "94110"] {
            for _ in 0..20 {
                let out = postal_typo(&mut r, code).unwrap();
                assert_ne!(out, code);
                assert_eq!(out.len(), code.len());
                assert!(distance(code, &out) <= 1, "{code} -> {out}");
            }
        }
        assert_eq!(postal_typo(&mut r, "ABC"), None);
    }

    #[test]
    fn dates_of_birth_swap_and_slip() {
        assert_eq!(dob_swap(date!(1980 - 04 - 12)), Some(date!(1980 - 12 - 04)));
        assert_eq!(dob_swap(date!(1980 - 04 - 23)), None);
        assert_eq!(dob_swap(date!(1980 - 05 - 05)), None);
        let mut r = rng();
        for d in [
            date!(1980 - 04 - 12),
            date!(1959 - 12 - 31),
            date!(2001 - 02 - 28),
        ] {
            for _ in 0..50 {
                let out = dob_digit(&mut r, d);
                assert_ne!(out, d);
                let a = d.to_string();
                let b = out.to_string();
                let differ = a.bytes().zip(b.bytes()).filter(|(x, y)| x != y).count();
                assert_eq!(differ, 1, "{a} -> {b}");
            }
        }
    }
}
