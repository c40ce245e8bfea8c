//! Normalisation: raw capture input in, clean comparable values out.
//!
//! Each field has a pure function in its own submodule (names, e-mail, phone, company
//! and web domain, country, date of birth); [`normalize_lead`] applies them all to one
//! capture and reports every field problem at once. Nothing here does I/O or reads the
//! clock: "today" for the date-of-birth check comes in through [`NormalizeOptions`].

mod company;
mod country;
mod date;
mod email;
mod host;
mod lead;
mod name;
mod phone;
mod text;

pub use company::{company_match_key, domain_from_email, web_domain};
pub use country::normalize_country;
pub use date::{normalize_date_of_birth, parse_date_of_birth, DateError};
pub use email::{is_free_mail_domain, EmailAddress, EmailError};
pub use host::DomainError;
pub use lead::normalize_lead;
pub use name::{normalize_name, split_full_name};
pub use phone::{normalize_phone, PhoneValue};

use crate::fields::LeadInput;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Options that change how one capture is normalised.
#[derive(Debug, Clone, Default)]
pub struct NormalizeOptions {
    /// ISO 3166-1 alpha-2 region used to read phone numbers written without a country
    /// code, when the lead itself has no country. Comes from the form or import.
    pub default_region: Option<String>,
    /// The caller's current date, used to refuse dates of birth in the future. `None`
    /// skips that check (this crate never reads the clock itself).
    pub today: Option<time::Date>,
}

/// Something worth knowing about a value we kept although it did not normalise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DataFlag {
    /// The phone could not be read as a number; it is stored raw.
    PhoneUnparseable,
    /// The country did not match any ISO 3166-1 country; it is stored as given.
    CountryUnrecognised,
    /// The date of birth is not a real, readable date (no such day, ambiguous, before
    /// 1900 or in the future). `date_of_birth` stays empty, so matching and rules only
    /// ever see calendar dates; the text is kept in the custom attribute
    /// [`DATE_OF_BIRTH_AS_GIVEN`].
    DateOfBirthInvalid,
}

/// The custom attribute that keeps a date of birth as typed when it could not be read
/// (see [`DataFlag::DateOfBirthInvalid`]).
pub const DATE_OF_BIRTH_AS_GIVEN: &str = "date_of_birth_as_given";

/// A lead after normalisation: every value trimmed, NFC, and in its canonical form.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct NormalizedLead {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub title: Option<String>,
    /// Local part as given, domain lower-cased and IDNA (punycode) encoded.
    pub email: Option<String>,
    /// Folded key used only for matching (case, and for Gmail-style providers dots and +tags).
    pub email_key: Option<String>,
    /// E.164 when it parsed (`phone_valid`), otherwise the raw trimmed input.
    pub phone: Option<String>,
    pub phone_valid: bool,
    pub company: Option<String>,
    /// Company name without legal suffixes, punctuation and case, for matching.
    pub company_key: Option<String>,
    pub website: Option<String>,
    /// Web domain from the website, or from a non-free-mail e-mail address.
    pub domain: Option<String>,
    pub street: Option<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    /// ISO 3166-1 alpha-2 when recognised, otherwise as given (and flagged).
    pub country: Option<String>,
    /// ISO 8601 calendar date (YYYY-MM-DD).
    pub date_of_birth: Option<String>,
    pub custom: BTreeMap<String, String>,
    pub flags: Vec<DataFlag>,
}

impl NormalizedLead {
    /// The lead as raw input again, so an edit re-runs the same normalisation as a
    /// capture (normalising a normalised value changes nothing).
    pub fn to_input(&self) -> LeadInput {
        LeadInput {
            first_name: self.first_name.clone(),
            last_name: self.last_name.clone(),
            full_name: None,
            title: self.title.clone(),
            email: self.email.clone(),
            phone: self.phone.clone(),
            company: self.company.clone(),
            website: self.website.clone(),
            street: self.street.clone(),
            postal_code: self.postal_code.clone(),
            city: self.city.clone(),
            region: self.region.clone(),
            country: self.country.clone(),
            date_of_birth: self.date_of_birth.clone(),
            custom: self.custom.clone(),
        }
    }
}

/// A specific problem with one input field. `field` is the snake_case field name
/// (or `custom.<name>` for a custom attribute); `code` is stable and machine-readable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FieldError {
    pub field: String,
    pub code: String,
    pub message: String,
}
