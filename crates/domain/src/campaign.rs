//! Campaign money and dates: what a marketer may set on a campaign, checked before it
//! is stored, so cost-per-lead reports never divide garbage.
//!
//! Costs are kept as an integer of the currency's minor unit (`cost_cents`: cents,
//! pence, yen), with the ISO 4217 code beside them. A decimal `cost` ("1250.50") is
//! converted with the currency's own exponent: two decimals for EUR, none for JPY,
//! three for KWD; more decimals than the currency has are refused, never rounded.

use time::Date;

/// Largest cost accepted, in minor units (10 trillion: far above any campaign).
pub const MAX_COST_MINOR: i64 = 10_000_000_000_000;

/// Active ISO 4217 currency codes and the number of decimals of their minor unit.
/// Fund codes (BOV, CHE, CHW, CLF, COU, MXV, USN, UYI, UYW) are kept, since some
/// treasuries report in them; precious metals, SDR and test codes are not currencies
/// a campaign is paid in and are left out.
#[rustfmt::skip]
const CURRENCIES: &[(&str, u8)] = &[
    ("AED", 2), ("AFN", 2), ("ALL", 2), ("AMD", 2), ("ANG", 2), ("AOA", 2), ("ARS", 2),
    ("AUD", 2), ("AWG", 2), ("AZN", 2), ("BAM", 2), ("BBD", 2), ("BDT", 2), ("BGN", 2),
    ("BHD", 3), ("BIF", 0), ("BMD", 2), ("BND", 2), ("BOB", 2), ("BOV", 2), ("BRL", 2),
    ("BSD", 2), ("BTN", 2), ("BWP", 2), ("BYN", 2), ("BZD", 2), ("CAD", 2), ("CDF", 2),
    ("CHE", 2), ("CHF", 2), ("CHW", 2), ("CLF", 4), ("CLP", 0), ("CNY", 2), ("COP", 2),
    ("COU", 2), ("CRC", 2), ("CUP", 2), ("CVE", 2), ("CZK", 2), ("DJF", 0), ("DKK", 2),
    ("DOP", 2), ("DZD", 2), ("EGP", 2), ("ERN", 2), ("ETB", 2), ("EUR", 2), ("FJD", 2),
    ("FKP", 2), ("GBP", 2), ("GEL", 2), ("GHS", 2), ("GIP", 2), ("GMD", 2), ("GNF", 0),
    ("GTQ", 2), ("GYD", 2), ("HKD", 2), ("HNL", 2), ("HTG", 2), ("HUF", 2), ("IDR", 2),
    ("ILS", 2), ("INR", 2), ("IQD", 3), ("IRR", 2), ("ISK", 0), ("JMD", 2), ("JOD", 3),
    ("JPY", 0), ("KES", 2), ("KGS", 2), ("KHR", 2), ("KMF", 0), ("KPW", 2), ("KRW", 0),
    ("KWD", 3), ("KYD", 2), ("KZT", 2), ("LAK", 2), ("LBP", 2), ("LKR", 2), ("LRD", 2),
    ("LSL", 2), ("LYD", 3), ("MAD", 2), ("MDL", 2), ("MGA", 2), ("MKD", 2), ("MMK", 2),
    ("MNT", 2), ("MOP", 2), ("MRU", 2), ("MUR", 2), ("MVR", 2), ("MWK", 2), ("MXN", 2),
    ("MXV", 2), ("MYR", 2), ("MZN", 2), ("NAD", 2), ("NGN", 2), ("NIO", 2), ("NOK", 2),
    ("NPR", 2), ("NZD", 2), ("OMR", 3), ("PAB", 2), ("PEN", 2), ("PGK", 2), ("PHP", 2),
    ("PKR", 2), ("PLN", 2), ("PYG", 0), ("QAR", 2), ("RON", 2), ("RSD", 2), ("RUB", 2),
    ("RWF", 0), ("SAR", 2), ("SBD", 2), ("SCR", 2), ("SDG", 2), ("SEK", 2), ("SGD", 2),
    ("SHP", 2), ("SLE", 2), ("SOS", 2), ("SRD", 2), ("SSP", 2), ("STN", 2), ("SVC", 2),
    ("SYP", 2), ("SZL", 2), ("THB", 2), ("TJS", 2), ("TMT", 2), ("TND", 3), ("TOP", 2),
    ("TRY", 2), ("TTD", 2), ("TWD", 2), ("TZS", 2), ("UAH", 2), ("UGX", 0), ("USD", 2),
    ("USN", 2), ("UYI", 0), ("UYU", 2), ("UYW", 4), ("UZS", 2), ("VED", 2), ("VES", 2),
    ("VND", 0), ("VUV", 0), ("WST", 2), ("XAF", 0), ("XCD", 2), ("XCG", 2), ("XOF", 0),
    ("XPF", 0), ("YER", 2), ("ZAR", 2), ("ZMW", 2), ("ZWG", 2),
];

/// Why a campaign's money or dates cannot be stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CampaignError {
    #[error("{0:?} is not an ISO 4217 currency code (EUR, USD, GBP, JPY …)")]
    UnknownCurrency(String),
    #[error("a cost needs its currency: add \"currency\" (ISO 4217, e.g. EUR)")]
    CurrencyRequired,
    #[error("give the cost either as cost_cents (minor units) or as cost (a decimal), not both")]
    CostTwice,
    #[error("{text:?} is not an amount; write digits with an optional decimal point, e.g. 1250.50 (no thousands separators)")]
    MalformedCost { text: String },
    #[error("{currency} has {decimals} decimal places; {text:?} has more")]
    TooManyDecimals {
        text: String,
        currency: String,
        decimals: u8,
    },
    #[error("a cost is 0 to {MAX_COST_MINOR} minor units")]
    CostOutOfRange,
    #[error("{text:?} is not a date; use YYYY-MM-DD")]
    MalformedDate { text: String },
    #[error("ends_on {ends_on} is before starts_on {starts_on}")]
    EndsBeforeStart { starts_on: Date, ends_on: Date },
}

/// The normalised ISO 4217 code and its decimals, or an error.
pub fn parse_currency(code: &str) -> Result<(String, u8), CampaignError> {
    let upper = code.trim().to_ascii_uppercase();
    CURRENCIES
        .iter()
        .find(|(c, _)| *c == upper)
        .map(|(c, d)| ((*c).to_string(), *d))
        .ok_or_else(|| CampaignError::UnknownCurrency(code.to_string()))
}

/// A decimal amount in `currency`'s major unit ("1250.50" EUR) as minor units (125050).
pub fn parse_cost(text: &str, currency: &str) -> Result<i64, CampaignError> {
    let (code, decimals) = parse_currency(currency)?;
    let t = text.trim();
    let malformed = || CampaignError::MalformedCost {
        text: text.to_string(),
    };
    let (whole, fraction) = t.split_once('.').unwrap_or((t, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(fraction) || (t.ends_with('.')) {
        return Err(malformed());
    }
    let fraction = fraction.trim_end_matches('0');
    if fraction.len() > usize::from(decimals) {
        return Err(CampaignError::TooManyDecimals {
            text: text.to_string(),
            currency: code,
            decimals,
        });
    }
    let scale = 10i64.pow(u32::from(decimals));
    let whole: i64 = whole.parse().map_err(|_| CampaignError::CostOutOfRange)?;
    let padded = format!("{fraction:0<width$}", width = usize::from(decimals));
    let minor: i64 = if padded.is_empty() {
        0
    } else {
        padded.parse().map_err(|_| malformed())?
    };
    let total = whole
        .checked_mul(scale)
        .and_then(|w| w.checked_add(minor))
        .ok_or(CampaignError::CostOutOfRange)?;
    check_cost(total)?;
    Ok(total)
}

/// A cost in minor units within range.
pub fn check_cost(minor: i64) -> Result<i64, CampaignError> {
    if (0..=MAX_COST_MINOR).contains(&minor) {
        Ok(minor)
    } else {
        Err(CampaignError::CostOutOfRange)
    }
}

/// A calendar day written `YYYY-MM-DD`.
pub fn parse_day(text: &str) -> Result<Date, CampaignError> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(text.trim(), &format).map_err(|_| CampaignError::MalformedDate {
        text: text.to_string(),
    })
}

/// A campaign runs forward: it may end on the day it starts, never before.
pub fn check_dates(starts_on: Option<Date>, ends_on: Option<Date>) -> Result<(), CampaignError> {
    match (starts_on, ends_on) {
        (Some(starts_on), Some(ends_on)) if ends_on < starts_on => {
            Err(CampaignError::EndsBeforeStart { starts_on, ends_on })
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn currencies_are_iso_4217_with_their_decimals() {
        assert_eq!(parse_currency("eur"), Ok(("EUR".into(), 2)));
        assert_eq!(parse_currency(" JPY "), Ok(("JPY".into(), 0)));
        assert_eq!(parse_currency("KWD"), Ok(("KWD".into(), 3)));
        assert_eq!(parse_currency("CLF"), Ok(("CLF".into(), 4)));
        for bad in ["", "EU", "EURO", "XAU", "XXX", "HRK", "€"] {
            assert_eq!(
                parse_currency(bad),
                Err(CampaignError::UnknownCurrency(bad.into())),
                "{bad}"
            );
        }
        // The table is sorted and holds each code once, three capitals long.
        assert!(CURRENCIES.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(CURRENCIES
            .iter()
            .all(|(c, d)| c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase()) && *d <= 4));
        assert!(CURRENCIES.len() > 150);
    }

    #[test]
    fn decimal_costs_become_minor_units_exactly() {
        for (text, currency, minor) in [
            ("1250.50", "EUR", 125_050),
            ("1250.5", "EUR", 125_050),
            ("1250", "EUR", 125_000),
            ("0", "USD", 0),
            ("0.01", "GBP", 1),
            ("19.990", "EUR", 1999),
            ("12000", "JPY", 12_000),
            ("12000.00", "JPY", 12_000),
            ("1.234", "KWD", 1234),
            (" 7.5 ", "USD", 750),
            ("100000000000", "EUR", 10_000_000_000_000),
        ] {
            assert_eq!(parse_cost(text, currency), Ok(minor), "{text} {currency}");
        }
        assert!(matches!(
            parse_cost("1.005", "EUR"),
            Err(CampaignError::TooManyDecimals { decimals: 2, .. })
        ));
        assert!(matches!(
            parse_cost("10.5", "JPY"),
            Err(CampaignError::TooManyDecimals { decimals: 0, .. })
        ));
        for bad in [
            "", "-5", "1,250.00", "1.250,00", "12.", ".5", "1e3", "abc", "€12", "1 000",
        ] {
            assert!(
                matches!(
                    parse_cost(bad, "EUR"),
                    Err(CampaignError::MalformedCost { .. })
                ),
                "{bad}"
            );
        }
        assert_eq!(
            parse_cost("100000000000.01", "EUR"),
            Err(CampaignError::CostOutOfRange)
        );
        assert_eq!(
            parse_cost("99999999999999999999", "EUR"),
            Err(CampaignError::CostOutOfRange)
        );
        assert_eq!(
            parse_cost("5", "ZZZ"),
            Err(CampaignError::UnknownCurrency("ZZZ".into()))
        );
        assert_eq!(check_cost(-1), Err(CampaignError::CostOutOfRange));
        assert_eq!(check_cost(MAX_COST_MINOR), Ok(MAX_COST_MINOR));
    }

    #[test]
    fn campaigns_end_on_or_after_their_start() {
        let d = |s| parse_day(s).unwrap();
        assert_eq!(d("2026-11-01").to_string(), "2026-11-01");
        assert_eq!(
            check_dates(Some(d("2026-11-01")), Some(d("2026-11-01"))),
            Ok(())
        );
        assert_eq!(
            check_dates(Some(d("2026-11-01")), Some(d("2026-12-31"))),
            Ok(())
        );
        assert_eq!(check_dates(None, Some(d("2026-12-31"))), Ok(()));
        assert!(matches!(
            check_dates(Some(d("2026-11-02")), Some(d("2026-11-01"))),
            Err(CampaignError::EndsBeforeStart { .. })
        ));
        for bad in [
            "2026-13-01",
            "2026-02-30",
            "01/11/2026",
            "2026-1-1",
            "",
            "tomorrow",
        ] {
            assert!(parse_day(bad).is_err(), "{bad}");
        }
        assert!(parse_day("2028-02-29").is_ok());
    }
}
