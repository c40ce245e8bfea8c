//! Reading answers from what people type into a form: "sure, call me", "no thanks",
//! "not sure yet", "asap", "next quarter", "in 3-6 months". A form has already told
//! the visitor "thank you", so reading never fails: text that says nothing we can
//! use is `unknown`, and the person's own words are kept beside the answer.

use super::{Answer, QuestionKey, Timeframe};

/// An answer read from free text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadAnswer {
    pub answer: Answer,
    /// The words as written, kept when they are not simply the answer's own text
    /// (`"yes"`, `"3_months"`), so a rep sees what the lead actually said.
    pub text: Option<String>,
}

/// Longest text kept beside an answer.
const MAX_TEXT_CHARS: usize = 500;

impl Answer {
    /// Reads `text` as an answer to `question` the way a person meant it. Canonical
    /// answers (`yes`, `3_months`, `2027-03-01` …) read as themselves; synonyms and
    /// phrases read as what they say; anything else is `unknown` with the text kept.
    pub fn read_for(question: QuestionKey, text: &str) -> ReadAnswer {
        let trimmed = text.trim();
        if let Ok(answer) = Answer::parse_for(question, trimmed) {
            let canonical = answer.to_string() == trimmed.to_ascii_lowercase();
            return ReadAnswer {
                answer,
                text: (!canonical).then(|| kept(trimmed)),
            };
        }
        let words = words(trimmed);
        let answer = match question {
            QuestionKey::Timeframe => read_timeframe(&words).map(Answer::Timeframe),
            _ => read_yes_no(&words),
        };
        ReadAnswer {
            answer: answer.unwrap_or(Answer::Unknown),
            text: (!trimmed.is_empty()).then(|| kept(trimmed)),
        }
    }
}

fn kept(text: &str) -> String {
    text.chars().take(MAX_TEXT_CHARS).collect()
}

/// Lower-case words and numbers, punctuation dropped ("3-6 months!" → 3, 6, months);
/// "don't" stays one word.
fn words(text: &str) -> Vec<String> {
    text.to_lowercase()
        .replace(['’', '‘'], "'")
        .split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '+'))
        .map(|w| w.trim_matches('\''))
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

fn has(words: &[String], phrase: &str) -> bool {
    let phrase: Vec<&str> = phrase.split(' ').collect();
    words
        .windows(phrase.len())
        .any(|w| w.iter().zip(&phrase).all(|(a, b)| a == b))
}

fn has_any(words: &[String], phrases: &[&str]) -> bool {
    phrases.iter().any(|p| has(words, p))
}

const UNSURE: &[&str] = &[
    "not sure",
    "unsure",
    "don't know",
    "dont know",
    "do not know",
    "no idea",
    "maybe",
    "perhaps",
    "possibly",
    "undecided",
    "unknown",
    "not yet decided",
    "depends",
    "n a",
    "na",
];
const NEGATIVE: &[&str] = &[
    "no", "n", "nope", "nah", "never", "not", "don't", "dont", "do not", "false", "0", "off",
    "non", "nein",
];
const POSITIVE: &[&str] = &[
    "yes",
    "y",
    "yeah",
    "yep",
    "yup",
    "sure",
    "ok",
    "okay",
    "definitely",
    "absolutely",
    "certainly",
    "of course",
    "please",
    "true",
    "1",
    "on",
    "checked",
    "agree",
    "call me",
    "contact me",
    "email me",
    "get in touch",
    "oui",
    "ja",
    "si",
    "sí",
];

/// Yes or no, with doubt and negation read first ("not sure" is not "no"; "no,
/// please don't call" is not "yes").
fn read_yes_no(words: &[String]) -> Option<Answer> {
    if has_any(words, UNSURE) {
        return Some(Answer::Unknown);
    }
    if has_any(words, NEGATIVE) {
        return Some(Answer::No);
    }
    if has_any(words, POSITIVE) {
        return Some(Answer::Yes);
    }
    None
}

fn number(word: &str) -> Option<u32> {
    if let Ok(n) = word.trim_end_matches('+').parse::<u32>() {
        return Some(n);
    }
    const NAMES: [&str; 13] = [
        "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
        "eleven", "twelve",
    ];
    match word {
        "a" | "an" => Some(1),
        "couple" => Some(2),
        "few" | "several" => Some(3),
        "half" => None,
        _ => NAMES.iter().position(|n| *n == word).map(|n| n as u32),
    }
}

/// Months in a timeframe spelled with a unit: "6 months", "3-6 months" (the later
/// end), "two weeks", "a year", "18+ months".
fn counted_months(words: &[String]) -> Option<u32> {
    let unit_at = words.iter().position(|w| {
        matches!(
            w.as_str(),
            "month"
                | "months"
                | "mo"
                | "mos"
                | "week"
                | "weeks"
                | "wk"
                | "wks"
                | "year"
                | "years"
                | "yr"
                | "yrs"
        )
    })?;
    let count = words[..unit_at]
        .iter()
        .rev()
        .take(3)
        .filter_map(|w| number(w))
        .max()
        .unwrap_or(1);
    let months = match words[unit_at].as_str() {
        "week" | "weeks" | "wk" | "wks" => count.div_ceil(4).max(1),
        "year" | "years" | "yr" | "yrs" => count.saturating_mul(12),
        _ => count,
    };
    Some(months)
}

fn read_timeframe(words: &[String]) -> Option<Timeframe> {
    if has_any(
        words,
        &[
            "no plans",
            "no plan",
            "not planning",
            "not buying",
            "never",
            "none",
        ],
    ) || words == ["no"]
    {
        return Some(Timeframe::NoPlans);
    }
    if has_any(
        words,
        &[
            "now",
            "asap",
            "immediately",
            "right away",
            "today",
            "this week",
            "urgent",
            "urgently",
            "straight away",
        ],
    ) {
        return Some(Timeframe::Now);
    }
    let months = if has(words, "this quarter") {
        Some(3)
    } else if has(words, "next quarter") {
        Some(6)
    } else if has(words, "next month") || has(words, "this month") {
        Some(1)
    } else if has(words, "this year") {
        Some(12)
    } else if has(words, "next year") {
        Some(24)
    } else {
        counted_months(words)
    };
    months.map(|m| match m {
        0 => Timeframe::Now,
        m => Timeframe::WithinMonths(u8::try_from(m).unwrap_or(u8::MAX)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(question: QuestionKey, text: &str) -> (String, Option<String>) {
        let r = Answer::read_for(question, text);
        (r.answer.to_string(), r.text)
    }

    #[test]
    fn canonical_answers_read_as_themselves_without_a_note() {
        for (q, text) in [
            (QuestionKey::Need, "yes"),
            (QuestionKey::Need, "no"),
            (QuestionKey::Authority, "unknown"),
            (QuestionKey::Timeframe, "3_months"),
            (QuestionKey::Timeframe, "now"),
            (QuestionKey::Timeframe, "no_plans"),
            (QuestionKey::Timeframe, "2027-03-01"),
        ] {
            assert_eq!(read(q, text), (text.to_string(), None), "{text}");
        }
        // Case is not worth a note; other spellings keep the words.
        assert_eq!(read(QuestionKey::Need, "YES"), ("yes".into(), None));
        assert_eq!(
            read(QuestionKey::Timeframe, "within 6 months"),
            ("6_months".into(), Some("within 6 months".into()))
        );
    }

    #[test]
    fn yes_and_no_as_people_write_them() {
        let cases = [
            ("sure, call me", "yes"),
            ("Sure — call me!", "yes"),
            ("yes please", "yes"),
            ("Y", "yes"),
            ("yeah", "yes"),
            ("ok", "yes"),
            ("Please call me tomorrow", "yes"),
            ("of course", "yes"),
            ("on", "yes"),
            ("Oui", "yes"),
            ("no thanks", "no"),
            ("No, please don't call", "no"),
            ("nope", "no"),
            ("do not contact me", "no"),
            ("don’t call me", "no"),
            ("not interested", "no"),
            ("false", "no"),
            ("not sure", "unknown"),
            ("maybe later", "unknown"),
            ("I don't know", "unknown"),
            ("n/a", "unknown"),
            ("depends on the price", "unknown"),
            ("purple", "unknown"),
            ("🙂", "unknown"),
        ];
        for (text, expected) in cases {
            let (answer, note) = read(QuestionKey::AskedToBeContacted, text);
            assert_eq!(answer, expected, "{text:?}");
            assert_eq!(
                note.as_deref(),
                Some(text.trim()),
                "{text:?} keeps its words"
            );
        }
    }

    #[test]
    fn timeframes_as_people_write_them() {
        let cases = [
            ("next quarter", "6_months"),
            ("this quarter", "3_months"),
            ("ASAP", "now"),
            ("right away please", "now"),
            ("Immediately!", "now"),
            ("this month", "1_months"),
            ("in 3-6 months", "6_months"),
            ("3 to 6 months", "6_months"),
            ("six months", "6_months"),
            ("within a year", "12_months"),
            ("next year", "24_months"),
            ("this year", "12_months"),
            ("two weeks", "1_months"),
            ("in 6 weeks", "2_months"),
            ("18+ months", "18_months"),
            ("2 years", "24_months"),
            ("100 years", "255_months"),
            ("no plans yet", "no_plans"),
            ("not planning to buy", "no_plans"),
            ("no", "no_plans"),
            ("just looking", "unknown"),
            ("when the budget is approved", "unknown"),
            ("", "unknown"),
        ];
        for (text, expected) in cases {
            assert_eq!(read(QuestionKey::Timeframe, text).0, expected, "{text:?}");
        }
        assert_eq!(
            read(QuestionKey::Timeframe, "when the budget is approved")
                .1
                .as_deref(),
            Some("when the budget is approved")
        );
        assert_eq!(read(QuestionKey::Timeframe, "  ").1, None);
    }

    #[test]
    fn every_reading_fits_its_question() {
        let texts = [
            "sure",
            "no",
            "now",
            "3 months",
            "next quarter",
            "maybe",
            "2027-03-01",
            "x",
            "",
            "yes please call",
            "no plans",
        ];
        for q in QuestionKey::ALL {
            for text in texts {
                let r = Answer::read_for(q, text);
                assert!(q.accepts(&r.answer), "{q} read {text:?} as {:?}", r.answer);
            }
        }
    }

    #[test]
    fn kept_words_are_bounded() {
        let long = "x".repeat(2000);
        let r = Answer::read_for(QuestionKey::Need, &long);
        assert_eq!(r.text.unwrap().chars().count(), MAX_TEXT_CHARS);
    }
}
