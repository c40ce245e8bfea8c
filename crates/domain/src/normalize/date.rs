//! Dates of birth: the common written forms in, ISO 8601 out, nothing guessed.

use time::{Date, Month};

/// Inputs longer than this are not dates.
const MAX_DATE: usize = 64;
/// Earliest year accepted: older dates of birth are typing errors, not leads.
const MIN_YEAR: u16 = 1900;

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// Why a date of birth was refused. Messages tell the person how to write it instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    #[error("the date is empty")]
    Empty,
    #[error("not a recognisable date; write it as YYYY-MM-DD, for example 1980-04-23")]
    Unrecognised,
    #[error("the date is ambiguous (day and month could be swapped); write it as YYYY-MM-DD")]
    Ambiguous,
    #[error("the year needs four digits")]
    TwoDigitYear,
    #[error("there is no such day in the calendar")]
    Impossible,
    #[error("dates before {MIN_YEAR} are not accepted")]
    TooEarly,
    #[error("a date of birth cannot be in the future")]
    InFuture,
}

/// Reads a date of birth and writes it as `YYYY-MM-DD`.
///
/// Accepted: ISO `1980-04-23` (also with `/` or `.`, or `19800423`, or with a time
/// after it), day-first dotted `23.04.1980`, slashed or dashed `23/04/1980` and
/// `04/23/1980` when the order is clear from a part above 12 (or both parts are
/// equal), and English month names (`23 April 1980`, `Apr 23, 1980`). Slashed dates
/// that could be read both ways are refused rather than guessed. Years before 1900,
/// impossible days, and (when `today` is given) future dates are refused.
pub fn normalize_date_of_birth(raw: &str, today: Option<Date>) -> Result<String, DateError> {
    let date = parse_date_of_birth(raw, today)?;
    Ok(format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    ))
}

/// Like [`normalize_date_of_birth`], returning the date itself.
pub fn parse_date_of_birth(raw: &str, today: Option<Date>) -> Result<Date, DateError> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(DateError::Empty);
    }
    if text.len() > MAX_DATE {
        return Err(DateError::Unrecognised);
    }
    let (year, month, day) = read_parts(strip_time(text))?;
    let date = build(year, month, day)?;
    match today {
        Some(today) if date > today => Err(DateError::InFuture),
        _ => Ok(date),
    }
}

/// "1980-04-23T00:00:00Z" or "1980-04-23 12:00" -> "1980-04-23".
fn strip_time(text: &str) -> &str {
    let bytes = text.as_bytes();
    let iso_like = bytes.len() > 10
        && bytes[..4].iter().all(u8::is_ascii_digit)
        && matches!(bytes[10], b'T' | b't' | b' ');
    if iso_like {
        &text[..10]
    } else {
        text
    }
}

/// Splits into (year, month, day) according to the written form.
fn read_parts(text: &str) -> Result<(u16, u16, u16), DateError> {
    let tokens: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || matches!(c, '-' | '/' | '.' | ','))
        .filter(|t| !t.is_empty())
        .collect();
    match tokens.as_slice() {
        [compact] if compact.len() == 8 && compact.bytes().all(|b| b.is_ascii_digit()) => {
            let (y, rest) = compact.split_at(4);
            let (m, d) = rest.split_at(2);
            Ok((number(y)?, number(m)?, number(d)?))
        }
        [a, b, c] if [a, b, c].iter().any(|t| t.chars().any(char::is_alphabetic)) => {
            with_month_name([a, b, c])
        }
        [a, b, c] => numeric(a, b, c, text.contains('.')),
        _ => Err(DateError::Unrecognised),
    }
}

/// Three numbers: year first (ISO order), or year last with day and month before it.
fn numeric(a: &str, b: &str, c: &str, dotted: bool) -> Result<(u16, u16, u16), DateError> {
    let (na, nb, nc) = (number(a)?, number(b)?, number(c)?);
    match (a.len(), c.len()) {
        (4, 1..=2) if b.len() <= 2 => Ok((na, nb, nc)),
        (1..=2, 4) if b.len() <= 2 => day_month(na, nb, dotted).map(|(d, m)| (nc, m, d)),
        (1..=2, 1..=2) if b.len() <= 2 => Err(DateError::TwoDigitYear),
        _ => Err(DateError::Unrecognised),
    }
}

/// Orders the two leading parts of a year-last date as (day, month). Dotted dates are
/// day-first by convention; slashed and dashed ones only when a part shows it.
fn day_month(first: u16, second: u16, dotted: bool) -> Result<(u16, u16), DateError> {
    if dotted || first == second || (first > 12 && second <= 12) {
        Ok((first, second))
    } else if second > 12 && first <= 12 {
        Ok((second, first))
    } else if first > 12 {
        Err(DateError::Impossible)
    } else {
        Err(DateError::Ambiguous)
    }
}

/// "23 April 1980", "April 23, 1980", "1980 Apr 23", "23rd of"... (English names).
fn with_month_name(tokens: [&str; 3]) -> Result<(u16, u16, u16), DateError> {
    let months: Vec<u16> = tokens.iter().filter_map(|t| month_number(t)).collect();
    let [month] = months.as_slice() else {
        return Err(DateError::Unrecognised);
    };
    let numbers: Vec<&str> = tokens
        .iter()
        .filter(|t| month_number(t).is_none())
        .map(|t| strip_ordinal(t))
        .collect();
    let [x, y] = numbers.as_slice() else {
        return Err(DateError::Unrecognised);
    };
    match (x.len(), y.len()) {
        (4, 1..=2) => Ok((number(x)?, *month, number(y)?)),
        (1..=2, 4) => Ok((number(y)?, *month, number(x)?)),
        (1..=2, 1..=2) => Err(DateError::TwoDigitYear),
        _ => Err(DateError::Unrecognised),
    }
}

/// 1..=12 for an English month name or an abbreviation of at least three letters.
fn month_number(token: &str) -> Option<u16> {
    let lower = token.to_lowercase();
    let lower = lower.trim_end_matches('.');
    if lower.len() < 3 || !lower.chars().all(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    let lower = if lower == "sept" { "sep" } else { lower };
    MONTHS
        .iter()
        .position(|m| m.starts_with(lower))
        .and_then(|i| u16::try_from(i + 1).ok())
}

/// "23rd" -> "23".
fn strip_ordinal(token: &str) -> &str {
    ["st", "nd", "rd", "th"]
        .iter()
        .find_map(|suffix| token.strip_suffix(suffix))
        .filter(|digits| !digits.is_empty())
        .unwrap_or(token)
}

/// A run of ASCII digits as a number (no signs, no other digits).
fn number(token: &str) -> Result<u16, DateError> {
    if token.is_empty() || token.len() > 4 || !token.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DateError::Unrecognised);
    }
    token.parse().map_err(|_| DateError::Unrecognised)
}

fn build(year: u16, month: u16, day: u16) -> Result<Date, DateError> {
    if year < MIN_YEAR {
        return Err(DateError::TooEarly);
    }
    let month = u8::try_from(month)
        .ok()
        .and_then(|m| Month::try_from(m).ok())
        .ok_or(DateError::Impossible)?;
    let day = u8::try_from(day).map_err(|_| DateError::Impossible)?;
    Date::from_calendar_date(i32::from(year), month, day).map_err(|_| DateError::Impossible)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn accepted_forms() {
        let cases = [
            ("1980-04-23", "1980-04-23"),
            ("  1980-04-23 ", "1980-04-23"),
            ("1980-4-3", "1980-04-03"),
            ("1980/04/23", "1980-04-23"),
            ("1980.04.23", "1980-04-23"),
            ("19800423", "1980-04-23"),
            ("1980-04-23T00:00:00Z", "1980-04-23"),
            ("1980-04-23 08:15", "1980-04-23"),
            ("23.04.1980", "1980-04-23"),
            ("3.4.1980", "1980-04-03"),
            ("01.02.1980", "1980-02-01"),
            ("23/04/1980", "1980-04-23"),
            ("04/23/1980", "1980-04-23"),
            ("23-04-1980", "1980-04-23"),
            ("04-23-1980", "1980-04-23"),
            ("05/05/1980", "1980-05-05"),
            ("23 April 1980", "1980-04-23"),
            ("23 apr 1980", "1980-04-23"),
            ("April 23, 1980", "1980-04-23"),
            ("Apr. 23, 1980", "1980-04-23"),
            ("23rd April 1980", "1980-04-23"),
            ("1st Sept 1980", "1980-09-01"),
            ("1980 Dec 31", "1980-12-31"),
            ("23-APR-1980", "1980-04-23"),
            ("2000-02-29", "2000-02-29"),
            ("1900-01-01", "1900-01-01"),
        ];
        for (raw, want) in cases {
            assert_eq!(
                normalize_date_of_birth(raw, None).as_deref(),
                Ok(want),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn refused_forms() {
        use DateError::*;
        let cases = [
            ("", Empty),
            ("   ", Empty),
            ("04/05/1980", Ambiguous),
            ("01-02-1980", Ambiguous),
            ("13/13/1980", Impossible),
            ("1980-02-30", Impossible),
            ("1981-02-29", Impossible),
            ("1900-02-29", Impossible),
            ("1980-13-01", Impossible),
            ("1980-00-10", Impossible),
            ("1980-04-00", Impossible),
            ("31.04.1980", Impossible),
            ("30 February 1980", Impossible),
            ("1899-12-31", TooEarly),
            ("0000-01-01", TooEarly),
            ("23.04.80", TwoDigitYear),
            ("04/23/80", TwoDigitYear),
            ("April 23, 80", TwoDigitYear),
            ("yesterday", Unrecognised),
            ("1980", Unrecognised),
            ("1980-04", Unrecognised),
            ("1980-04-23-01", Unrecognised),
            ("23 Foo 1980", Unrecognised),
            ("April May 1980", Unrecognised),
            ("+1980-04-23", Unrecognised),
            ("１９８０-04-23", Unrecognised),
            ("19800-04-23", Unrecognised),
            ("1980042a", Unrecognised),
            ("aéééb", Unrecognised),
            ("<script>alert(1)</script>", Unrecognised),
            ("Robert'); DROP TABLE leads;--", Unrecognised),
        ];
        for (raw, want) in cases {
            assert_eq!(normalize_date_of_birth(raw, None), Err(want), "{raw:?}");
        }
    }

    #[test]
    fn future_dates_need_today() {
        let today = date!(2024 - 06 - 15);
        assert_eq!(
            normalize_date_of_birth("2024-06-15", Some(today)).as_deref(),
            Ok("2024-06-15")
        );
        assert_eq!(
            normalize_date_of_birth("2024-06-16", Some(today)),
            Err(DateError::InFuture)
        );
        assert_eq!(
            normalize_date_of_birth("2030-01-01", None).as_deref(),
            Ok("2030-01-01")
        );
        assert_eq!(
            parse_date_of_birth("23.04.1980", Some(today)),
            Ok(date!(1980 - 04 - 23))
        );
    }

    #[test]
    fn huge_input_is_unrecognised() {
        let huge = "1".repeat(1 << 20);
        assert_eq!(
            normalize_date_of_birth(&huge, None),
            Err(DateError::Unrecognised)
        );
    }

    #[test]
    fn messages_explain() {
        assert_eq!(
            DateError::Ambiguous.to_string(),
            "the date is ambiguous (day and month could be swapped); write it as YYYY-MM-DD"
        );
        assert_eq!(
            DateError::TooEarly.to_string(),
            "dates before 1900 are not accepted"
        );
    }
}
