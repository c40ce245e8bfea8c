//! Text helpers for comparing lead values: folding, a phonetic surname code, street
//! parts and postal-code keys.

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// Trimmed value, `None` when missing or blank.
pub(crate) fn present(v: &Option<String>) -> Option<&str> {
    let s = v.as_deref()?;
    // Normalised values are trimmed already, and a comparison asks this a dozen times
    // per pair: when both ends are visible ASCII there is nothing to trim (Unicode
    // trimming decodes from each end), otherwise trim as usual.
    match (s.as_bytes().first(), s.as_bytes().last()) {
        (Some(first), Some(last)) if first.is_ascii_graphic() && last.is_ascii_graphic() => Some(s),
        _ => Some(s.trim()).filter(|t| !t.is_empty()),
    }
}

/// Case- and accent-folds `s` into `out`: lower case, combining marks removed, a few
/// letters spelled out (ß → ss, æ → ae, ø → o, …), apostrophes dropped and every other
/// run of non-alphanumerics turned into one space.
pub(crate) fn fold_into(s: &str, out: &mut String) {
    // ASCII has nothing to decompose; most values are ASCII and skip the NFD pass.
    if s.is_ascii() {
        fold_chars(s.chars(), out);
    } else {
        fold_chars(s.nfd(), out);
    }
}

fn fold_chars(chars: impl Iterator<Item = char>, out: &mut String) {
    out.clear();
    let mut gap = false;
    for c in chars {
        if is_combining_mark(c) || matches!(c, '\'' | '’' | '‘' | '`' | '´') {
            continue;
        }
        if !c.is_alphanumeric() {
            gap = true;
            continue;
        }
        if gap && !out.is_empty() {
            out.push(' ');
        }
        gap = false;
        match c {
            'ß' | 'ẞ' => out.push_str("ss"),
            'æ' | 'Æ' => out.push_str("ae"),
            'œ' | 'Œ' => out.push_str("oe"),
            'ø' | 'Ø' => out.push('o'),
            'ł' | 'Ł' => out.push('l'),
            'đ' | 'Đ' => out.push('d'),
            'þ' | 'Þ' => out.push_str("th"),
            'ı' => out.push('i'),
            _ => out.extend(c.to_lowercase()),
        }
    }
}

/// American Soundex of a folded name (letter + three digits), falling back to the first
/// four characters for names without Latin letters.
pub(crate) fn surname_code(folded: &str) -> Option<String> {
    let mut out = String::with_capacity(4);
    let mut last = 0u8;
    for c in folded.chars().filter(char::is_ascii_alphabetic) {
        let c = c.to_ascii_lowercase();
        let code = match c {
            'b' | 'f' | 'p' | 'v' => b'1',
            'c' | 'g' | 'j' | 'k' | 'q' | 's' | 'x' | 'z' => b'2',
            'd' | 't' => b'3',
            'l' => b'4',
            'm' | 'n' => b'5',
            'r' => b'6',
            'h' | 'w' => b'-',
            _ => 0,
        };
        if out.is_empty() {
            out.push(c.to_ascii_uppercase());
            last = if code == b'-' { 0 } else { code };
            continue;
        }
        match code {
            b'-' => {} // h and w do not separate equal codes
            0 => last = 0,
            _ => {
                if code != last {
                    out.push(char::from(code));
                    if out.len() == 4 {
                        break;
                    }
                }
                last = code;
            }
        }
    }
    if out.is_empty() {
        let prefix: String = folded.chars().filter(|c| *c != ' ').take(4).collect();
        return (!prefix.is_empty()).then_some(prefix);
    }
    while out.len() < 4 {
        out.push('0');
    }
    Some(out)
}

/// A street split into house number(s) and the street name with unified abbreviations.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct StreetParts {
    /// House number tokens ("12", "12a", "12 14"), space separated.
    pub(crate) number: String,
    /// Street name tokens, abbreviated and joined without spaces so "Haupt Str" and
    /// "Hauptstr" compare equal.
    pub(crate) name: String,
}

impl StreetParts {
    pub(crate) fn is_empty(&self) -> bool {
        self.number.is_empty() && self.name.is_empty()
    }

    pub(crate) fn first_number(&self) -> Option<String> {
        self.number
            .split(' ')
            .next()
            .filter(|n| !n.is_empty())
            .map(str::to_owned)
    }
}

/// Words that introduce a flat or unit number, which is not the house number.
const UNIT_WORDS: [&str; 6] = ["flat", "apt", "apartment", "unit", "suite", "ste"];

pub(crate) fn street_parts(s: &str) -> StreetParts {
    let mut folded = String::with_capacity(s.len());
    fold_into(s, &mut folded);
    let mut parts = StreetParts::default();
    let mut skip_next = false;
    let mut after_number = false;
    let tokens: Vec<&str> = folded.split(' ').filter(|t| !t.is_empty()).collect();
    for (at, &tok) in tokens.iter().enumerate() {
        if skip_next {
            skip_next = false;
            continue;
        }
        if UNIT_WORDS.contains(&tok) {
            skip_next = true;
            after_number = false;
            continue;
        }
        if tok.starts_with(|c: char| c.is_ascii_digit()) && !is_ordinal(tok) {
            if !parts.number.is_empty() {
                parts.number.push(' ');
            }
            parts.number.push_str(tok);
            after_number = true;
            continue;
        }
        // "r", "c" and "q" before more words are "rue", "calle", "quai" ("2162 r. du
        // Faubourg"), not a house number's letter.
        let street_word = matches!(tok, "r" | "c" | "q") && at + 1 < tokens.len();
        if after_number && tok.chars().count() == 1 && !street_word {
            // "12 a" is house number 12a.
            parts.number.push_str(tok);
            after_number = false;
            continue;
        }
        after_number = false;
        // A street word at the end of a compound ("hauptstrasse" → "hauptstr",
        // "konigsallee" → "konigsal"); the whole word is handled by `abbreviate`.
        let compound = COMPOUND_SUFFIXES.iter().find_map(|(long, short)| {
            tok.strip_suffix(long)
                .filter(|stem| !stem.is_empty())
                .map(|stem| (stem, short))
        });
        if let Some((stem, short)) = compound {
            parts.name.push_str(stem);
            parts.name.push_str(short);
        } else {
            parts.name.push_str(abbreviate(tok));
        }
    }
    parts
}

/// Street words written at the end of a compound (German and Dutch) and their short
/// forms; the short forms themselves ("hauptstr") are left as they are.
const COMPOUND_SUFFIXES: &[(&str, &str)] = &[
    ("strasse", "str"),
    ("straat", "str"),
    ("allee", "al"),
    ("gracht", "gr"),
    ("plein", "pl"),
    ("weg", "wg"),
];

/// "1st", "22nd", "3rd", "4th": a street name, not a house number.
fn is_ordinal(tok: &str) -> bool {
    let digits = tok.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let suffix = &tok[digits.len()..];
    !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && matches!(suffix, "st" | "nd" | "rd" | "th")
}

fn abbreviate(tok: &str) -> &str {
    match tok {
        "street" => "st",
        "road" => "rd",
        "avenue" | "av" => "ave",
        "drive" => "dr",
        "lane" => "ln",
        "boulevard" => "blvd",
        "place" => "pl",
        "court" => "ct",
        "square" => "sq",
        "terrace" => "ter",
        "crescent" => "cres",
        "highway" => "hwy",
        "parkway" => "pkwy",
        "strasse" | "straat" => "str",
        "allee" | "all" => "al",
        "weg" => "wg",
        "gracht" => "gr",
        "plein" | "plaza" | "pza" => "pl",
        "rue" => "r",
        "chemin" => "ch",
        "quai" => "q",
        "bd" => "blvd",
        "laan" => "ln",
        "calle" | "carrer" => "c",
        "avenida" | "avda" => "ave",
        other => other,
    }
}

/// Whether two street strings name the same street and house number once abbreviations,
/// case and accents are unified (used by merge to avoid spurious conflicts).
pub(crate) fn same_street(a: &str, b: &str) -> bool {
    street_parts(a) == street_parts(b)
}

/// Postal code chars that matter: letters and digits, upper-cased.
pub(crate) fn postal_chars(s: &str) -> impl Iterator<Item = char> + '_ {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_uppercase)
}

pub(crate) fn postal_key(s: &str) -> String {
    postal_chars(s).collect()
}

/// A folded copy of `s` (see [`fold_into`]).
pub(crate) fn folded(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    fold_into(s, &mut out);
    out
}

/// Spellings that sound alike, longest first, each rewritten to one form: the common
/// ways English, German, French and Dutch write one sound ("ph"/"f", "eau"/"o",
/// "ue"/"u" for a transliterated ü, "ij"/"y"/"i", "tz"/"z"/"s" …).
const SOUND_RULES: &[(&str, &str)] = &[
    ("sch", "s"),
    ("eau", "o"),
    ("ph", "f"),
    ("ck", "k"),
    ("qu", "k"),
    ("th", "t"),
    ("dt", "t"),
    ("tz", "s"),
    ("ch", "s"),
    ("sh", "s"),
    ("ie", "i"),
    ("ey", "i"),
    ("ij", "i"),
    ("ee", "i"),
    ("ei", "e"),
    ("ai", "e"),
    ("ay", "e"),
    ("au", "o"),
    ("ou", "u"),
    ("oo", "u"),
    ("ue", "u"),
    ("oe", "o"),
    ("ae", "a"),
    ("x", "ks"),
    ("y", "i"),
    ("c", "k"),
    ("z", "s"),
    ("w", "v"),
];

/// Sequences OCR reads one for another, each rewritten to one form ("rn" and "m",
/// "cl" and "d", "li" and "h", "ri" and "n", digits for the letters they resemble).
const OCR_RULES: &[(&str, &str)] = &[
    ("rn", "m"),
    ("in", "m"),
    ("nn", "m"),
    ("ri", "n"),
    ("cl", "d"),
    ("vv", "w"),
    ("li", "h"),
    ("ii", "u"),
    ("0", "o"),
    ("1", "l"),
    ("5", "s"),
    ("8", "b"),
    ("2", "z"),
    ("6", "g"),
];

fn rewrite(s: &str, rules: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    'outer: while let Some(c) = rest.chars().next() {
        for (from, to) in rules {
            if let Some(tail) = rest.strip_prefix(from) {
                out.push_str(to);
                rest = tail;
                continue 'outer;
            }
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// A folded name as it sounds: [`SOUND_RULES`] applied, doubled letters written once
/// and a final "sen" written "son" (Johnsen, Johnson). Two spellings of one name that
/// Soundex misses because they start differently ("Phillips"/"Fillips",
/// "Eaulivia"/"Olivia") get the same skeleton.
pub(crate) fn sound_skeleton(folded: &str) -> String {
    let mut s = rewrite(folded, SOUND_RULES);
    collapse_runs(&mut s);
    if let Some(stem) = s.strip_suffix("sen") {
        s = format!("{stem}son");
    }
    s
}

/// A folded value with [`OCR_RULES`] applied until nothing changes (at most three
/// rounds): "Karin" and its misreading "Kann" give the same form.
pub(crate) fn ocr_skeleton(folded: &str) -> String {
    let mut s = folded.to_string();
    for _ in 0..3 {
        let next = rewrite(&s, OCR_RULES);
        if next == s {
            break;
        }
        s = next;
    }
    s
}

/// Runs of one letter written once.
fn collapse_runs(s: &mut String) {
    let mut prev = None;
    s.retain(|c| {
        let keep = Some(c) != prev;
        prev = Some(c);
        keep
    });
}
