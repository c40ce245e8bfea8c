//! Person names: clean spacing and fix SHOUTING or lower-case input, but never touch
//! capitalisation a person chose ("McDonald", "DeVito", "d'Artagnan" stay as typed).

use super::text::clean_line;

/// Name particles that stay lower case inside a name ("Ludwig van Beethoven"). They are
/// capitalised as the first word ("Van der Berg" standing alone is correct Dutch).
const PARTICLES: &[&str] = &[
    "van", "der", "den", "de", "da", "di", "du", "la", "le", "von", "del", "della", "dos", "das",
    "y", "ten", "ter",
];

/// Scottish and Irish "Mac" surnames capitalised as "MacX". A list rather than a rule,
/// because "Macy", "Mack" or "Machado" are not "MacY", "MacK" or "MacHado".
const MAC_NAMES: &[&str] = &[
    "macarthur",
    "macaulay",
    "macdonald",
    "macdougall",
    "macfarlane",
    "macgregor",
    "macintyre",
    "mackenzie",
    "maclachlan",
    "maclean",
    "macleod",
    "macmillan",
    "macneil",
    "macpherson",
];

/// Leading courtesy titles dropped when splitting a one-column name.
const HONORIFICS: &[&str] = &[
    "mr", "mr.", "mrs", "mrs.", "ms", "ms.", "miss", "mx", "mx.", "dr", "dr.", "prof", "prof.",
    "herr", "frau", "mme", "mme.", "mlle", "sr.", "sra.",
];

/// Generational and academic suffixes that belong with the last name ("Smith Jr.").
const SUFFIXES: &[&str] = &[
    "jr", "jr.", "sr", "sr.", "ii", "iii", "iv", "phd", "ph.d.", "md", "m.d.", "esq", "esq.",
];

/// Cleans one name: NFC, trimmed, single spaces. Capitalisation is fixed only when the
/// input is entirely upper or entirely lower case; mixed case is the person's own
/// spelling and is kept. `None` when nothing is left.
pub fn normalize_name(raw: &str) -> Option<String> {
    let cleaned = clean_line(raw)?;
    let has_upper = cleaned.chars().any(char::is_uppercase);
    let has_lower = cleaned.chars().any(char::is_lowercase);
    if has_upper == has_lower {
        // Mixed case (a person's choice) or no cased letters at all (CJK, digits).
        return Some(cleaned);
    }
    Some(recase(&cleaned))
}

/// Title-cases every word of an all-upper or all-lower name.
fn recase(name: &str) -> String {
    let words: Vec<&str> = name.split(' ').collect();
    let last = words.len().saturating_sub(1);
    words
        .iter()
        .enumerate()
        .map(|(i, word)| {
            let lower = word.to_lowercase();
            if i > 0 && i < last && PARTICLES.contains(&lower.as_str()) {
                lower
            } else {
                recase_word(&lower)
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Capitalises a lower-cased word, part by part around hyphens ("Jean-Luc").
fn recase_word(lower: &str) -> String {
    lower
        .split('-')
        .map(recase_hyphen_part)
        .collect::<Vec<_>>()
        .join("-")
}

/// Capitalises one hyphen-free part: "o'brien" -> "O'Brien", "mcdonald" -> "McDonald".
fn recase_hyphen_part(part: &str) -> String {
    if let Some(rest) = part.strip_prefix("mc").filter(|r| !r.is_empty()) {
        return format!("Mc{}", capitalise(rest));
    }
    if MAC_NAMES.contains(&part) {
        return format!("Mac{}", capitalise(&part[3..]));
    }
    let pieces: Vec<&str> = part.split(['\'', '\u{2019}']).collect();
    if pieces.len() == 1 {
        return capitalise(part);
    }
    // Capitalise after an apostrophe only when a real name part follows ("O'Brien"),
    // not a possessive-like single letter.
    let mut out = String::with_capacity(part.len());
    let mut rest = part;
    for (i, piece) in pieces.iter().enumerate() {
        if i == 0 || piece.chars().count() >= 2 {
            out.push_str(&capitalise(piece));
        } else {
            out.push_str(piece);
        }
        rest = &rest[piece.len()..];
        if let Some(apostrophe) = rest.chars().next() {
            out.push(apostrophe);
            rest = &rest[apostrophe.len_utf8()..];
        }
    }
    out
}

/// Upper-cases the first alphabetic character, leaving everything before it ("(john)").
fn capitalise(word: &str) -> String {
    match word.char_indices().find(|(_, c)| c.is_alphabetic()) {
        Some((at, c)) => {
            let mut out = String::with_capacity(word.len() + 2);
            out.push_str(&word[..at]);
            out.extend(c.to_uppercase());
            out.push_str(&word[at + c.len_utf8()..]);
            out
        }
        None => word.to_string(),
    }
}

/// Splits a one-column name into (first, last), both normalised like [`normalize_name`].
///
/// "Doe, Jane" is read last-name-first; otherwise the last word is the last name,
/// together with any particles before it ("Ludwig van Beethoven" -> "Ludwig",
/// "van Beethoven") and suffixes after it ("John Smith Jr." -> "John", "Smith Jr.").
/// Leading courtesy titles ("Dr.", "Mrs") are dropped. A single word is taken as the
/// last name, because a last name is what lists sort by and what matching weighs most.
pub fn split_full_name(raw: &str) -> (Option<String>, Option<String>) {
    let Some(name) = normalize_name(raw) else {
        return (None, None);
    };
    let parts: Vec<&str> = name.split(',').map(str::trim).collect();
    let Some((surname, rest)) = parts.split_first().filter(|(_, rest)| !rest.is_empty()) else {
        return split_words(&name);
    };
    let (suffixes, given): (Vec<&str>, Vec<&str>) = rest.iter().partition(|p| is_suffix(p));
    let given = given.join(" ");
    let given = given.trim();
    let surname = std::iter::once(*surname)
        .chain(suffixes)
        .collect::<Vec<_>>()
        .join(" ");
    if given.is_empty() && surname.contains(' ') {
        // "John Smith, Jr.": the comma only set off the suffix.
        return split_words(&surname);
    }
    (non_empty(given), non_empty(surname.trim()))
}

fn is_suffix(word: &str) -> bool {
    SUFFIXES.contains(&word.to_lowercase().as_str())
}

/// Splits "First Middle [particles] Last [suffix]" at the start of the last name.
fn split_words(name: &str) -> (Option<String>, Option<String>) {
    let mut words: Vec<&str> = name.split_whitespace().collect();
    while words.len() > 1 && HONORIFICS.contains(&words[0].to_lowercase().as_str()) {
        words.remove(0);
    }
    let mut last_start = words.len().saturating_sub(1);
    while last_start > 1 && is_suffix(words[last_start]) {
        last_start -= 1;
    }
    while last_start > 1 && PARTICLES.contains(&words[last_start - 1].to_lowercase().as_str()) {
        last_start -= 1;
    }
    let first = words[..last_start].join(" ");
    let last = words[last_start..].join(" ");
    (non_empty(&first), non_empty(&last))
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixes_all_upper_and_all_lower_names() {
        let cases = [
            ("JOHN", "John"),
            ("john", "John"),
            ("  jane   DOE ", "jane DOE"),
            ("MCDONALD", "McDonald"),
            ("mcdonald", "McDonald"),
            ("MACDONALD", "MacDonald"),
            ("MACY", "Macy"),
            ("mack", "Mack"),
            ("machado", "Machado"),
            ("O'BRIEN", "O'Brien"),
            ("o\u{2019}neill", "O\u{2019}Neill"),
            ("d'angelo", "D'Angelo"),
            ("jean-luc", "Jean-Luc"),
            ("JEAN-LUC PICARD", "Jean-Luc Picard"),
            ("anne-marie o'neil-smith", "Anne-Marie O'Neil-Smith"),
            ("ÉMILIE", "Émilie"),
            ("müller", "Müller"),
            ("ÅSA ÖBERG", "Åsa Öberg"),
            ("łukasz żółć", "Łukasz Żółć"),
            ("ΟΔΥΣΣΕΑΣ", "Οδυσσεας"),
            ("νίκος", "Νίκος"),
            ("ДМИТРИЙ", "Дмитрий"),
            ("анна", "Анна"),
            ("VAN DER BERG", "Van der Berg"),
            ("ludwig van beethoven", "Ludwig van Beethoven"),
            ("LEONARDO DA VINCI", "Leonardo da Vinci"),
            ("gabriel garcía y lópez", "Gabriel García y López"),
            ("maria de", "Maria De"),
            ("(john)", "(John)"),
            ("j. r. r.", "J. R. R."),
        ];
        for (raw, want) in cases {
            assert_eq!(normalize_name(raw).as_deref(), Some(want), "{raw:?}");
        }
    }

    #[test]
    fn keeps_mixed_case_as_typed() {
        for raw in [
            "McDonald",
            "DeVito",
            "van der Berg",
            "d'Artagnan",
            "MacY",
            "iPhone",
            "jane DOE",
            "DJ Khaled",
        ] {
            assert_eq!(normalize_name(raw).as_deref(), Some(raw));
        }
    }

    #[test]
    fn uncased_scripts_and_symbols_are_kept() {
        for raw in ["山田 太郎", "김민준", "محمد", "1234", "😀 Smiley"] {
            assert_eq!(normalize_name(raw).as_deref(), Some(raw));
        }
    }

    #[test]
    fn empty_and_whitespace_are_absent() {
        for raw in ["", " ", "\t\n", "\u{a0}\u{3000}"] {
            assert_eq!(normalize_name(raw), None, "{raw:?}");
        }
    }

    #[test]
    fn whitespace_is_collapsed_and_nfd_composed() {
        assert_eq!(
            normalize_name("  Jane \t  Doe\n").as_deref(),
            Some("Jane Doe")
        );
        assert_eq!(
            normalize_name("E\u{301}milie").as_deref(),
            Some("\u{c9}milie")
        );
        assert_eq!(
            normalize_name("e\u{301}milie").as_deref(),
            Some("\u{c9}milie")
        );
    }

    #[test]
    fn sql_and_markup_survive_as_text() {
        let raw = "Robert'); DROP TABLE leads;--";
        assert_eq!(normalize_name(raw).as_deref(), Some(raw));
        assert_eq!(normalize_name("<b>bob</b>").as_deref(), Some("<B>bob</b>"));
    }

    #[test]
    fn normalize_name_is_idempotent() {
        let names = [
            "JOHN",
            "john",
            "Jane Doe",
            "MCDONALD",
            "mcdonald",
            "MACDONALD",
            "Macy",
            "O'BRIEN",
            "o'brien",
            "d'angelo",
            "D'ANGELO",
            "jean-luc",
            "JEAN-LUC",
            "ÉMILIE",
            "émilie",
            "müller",
            "MÜLLER",
            "ΟΔΥΣΣΕΑΣ",
            "ДМИТРИЙ",
            "анна",
            "VAN DER BERG",
            "van der berg",
            "ludwig van beethoven",
            "LEONARDO DA VINCI",
            "gabriel garcía y lópez",
            "maria de",
            "(john)",
            "j. r. r.",
            "山田 太郎",
            "  spaced   out  ",
            "e\u{301}milie",
            "DeVito",
            "McDonald",
            "iPhone",
            "x",
            "X",
            "de",
            "DE LA CRUZ",
            "de la cruz",
            "st. john",
            "ST JOHN",
            "ßtraße",
            "STRASSE",
            "ǆ",
            "o'",
            "'",
            "-",
            "a-",
            "--x--",
            "mc",
        ];
        assert_eq!(names.len(), 50);
        for raw in names {
            let once = normalize_name(raw);
            let twice = once.as_deref().and_then(normalize_name);
            assert_eq!(once, twice, "{raw:?}");
        }
    }

    #[test]
    fn splits_full_names() {
        let cases: &[(&str, Option<&str>, Option<&str>)] = &[
            ("Jane Doe", Some("Jane"), Some("Doe")),
            ("  jane   doe ", Some("Jane"), Some("Doe")),
            ("Doe, Jane", Some("Jane"), Some("Doe")),
            ("DOE, JANE", Some("Jane"), Some("Doe")),
            ("Doe,Jane", Some("Jane"), Some("Doe")),
            ("Doe,", None, Some("Doe")),
            (", Jane", Some("Jane"), None),
            (
                "Ludwig van Beethoven",
                Some("Ludwig"),
                Some("van Beethoven"),
            ),
            (
                "ludwig van beethoven",
                Some("Ludwig"),
                Some("van Beethoven"),
            ),
            ("Jan van der Berg", Some("Jan"), Some("van der Berg")),
            ("Leonardo da Vinci", Some("Leonardo"), Some("da Vinci")),
            ("Mary Ann Smith", Some("Mary Ann"), Some("Smith")),
            ("John Smith Jr.", Some("John"), Some("Smith Jr.")),
            ("Smith, John, Jr.", Some("John"), Some("Smith Jr.")),
            ("Smith, John Paul", Some("John Paul"), Some("Smith")),
            ("John Smith, Jr.", Some("John"), Some("Smith Jr.")),
            ("Dr. Jane Doe", Some("Jane"), Some("Doe")),
            ("MRS JANE DOE", Some("Jane"), Some("Doe")),
            ("Cher", None, Some("Cher")),
            ("Dr.", None, Some("Dr.")),
            ("van", None, Some("Van")),
            ("Van Morrison", Some("Van"), Some("Morrison")),
            ("山田 太郎", Some("山田"), Some("太郎")),
            ("", None, None),
            ("   ", None, None),
        ];
        for (raw, first, last) in cases {
            assert_eq!(
                split_full_name(raw),
                (first.map(String::from), last.map(String::from)),
                "{raw:?}"
            );
        }
    }
}
