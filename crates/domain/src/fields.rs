//! The fields a lead carries, and the raw, un-normalised input a capture brings.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// A standard lead field. Anything else a form or file carries is a custom attribute.
/// The channels a person can consent (or refuse) to be contacted on.
pub const CONSENT_CHANNELS: [&str; 3] = ["email", "phone", "sms"];

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum LeadField {
    FirstName,
    LastName,
    /// "Jane Doe" in one column; split into first and last name during normalisation.
    FullName,
    Title,
    Email,
    Phone,
    Company,
    Website,
    Street,
    PostalCode,
    City,
    Region,
    Country,
    DateOfBirth,
}

impl LeadField {
    pub const ALL: [LeadField; 14] = [
        LeadField::FirstName,
        LeadField::LastName,
        LeadField::FullName,
        LeadField::Title,
        LeadField::Email,
        LeadField::Phone,
        LeadField::Company,
        LeadField::Website,
        LeadField::Street,
        LeadField::PostalCode,
        LeadField::City,
        LeadField::Region,
        LeadField::Country,
        LeadField::DateOfBirth,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LeadField::FirstName => "first_name",
            LeadField::LastName => "last_name",
            LeadField::FullName => "full_name",
            LeadField::Title => "title",
            LeadField::Email => "email",
            LeadField::Phone => "phone",
            LeadField::Company => "company",
            LeadField::Website => "website",
            LeadField::Street => "street",
            LeadField::PostalCode => "postal_code",
            LeadField::City => "city",
            LeadField::Region => "region",
            LeadField::Country => "country",
            LeadField::DateOfBirth => "date_of_birth",
        }
    }
}

impl fmt::Display for LeadField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown lead field {0:?}")]
pub struct UnknownField(pub String);

impl FromStr for LeadField {
    type Err = UnknownField;
    /// Parses the canonical snake_case name only; header aliases ("E-mail Address")
    /// live in `import::header`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        LeadField::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| UnknownField(s.to_string()))
    }
}

/// Raw capture input exactly as a form, API call or CSV row gave it.
/// Nothing here is validated yet: `normalize::normalize_lead` turns it into a
/// `normalize::NormalizedLead` or a list of field errors.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LeadInput {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub full_name: Option<String>,
    pub title: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company: Option<String>,
    pub website: Option<String>,
    pub street: Option<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub country: Option<String>,
    pub date_of_birth: Option<String>,
    /// Custom attributes, keyed by their (trimmed) name.
    #[serde(default)]
    pub custom: BTreeMap<String, String>,
}

impl LeadInput {
    /// Sets a standard field from a raw value (used by forms and importers).
    pub fn set(&mut self, field: LeadField, value: impl Into<String>) {
        let slot = match field {
            LeadField::FirstName => &mut self.first_name,
            LeadField::LastName => &mut self.last_name,
            LeadField::FullName => &mut self.full_name,
            LeadField::Title => &mut self.title,
            LeadField::Email => &mut self.email,
            LeadField::Phone => &mut self.phone,
            LeadField::Company => &mut self.company,
            LeadField::Website => &mut self.website,
            LeadField::Street => &mut self.street,
            LeadField::PostalCode => &mut self.postal_code,
            LeadField::City => &mut self.city,
            LeadField::Region => &mut self.region,
            LeadField::Country => &mut self.country,
            LeadField::DateOfBirth => &mut self.date_of_birth,
        };
        *slot = Some(value.into());
    }

    pub fn get(&self, field: LeadField) -> Option<&str> {
        match field {
            LeadField::FirstName => self.first_name.as_deref(),
            LeadField::LastName => self.last_name.as_deref(),
            LeadField::FullName => self.full_name.as_deref(),
            LeadField::Title => self.title.as_deref(),
            LeadField::Email => self.email.as_deref(),
            LeadField::Phone => self.phone.as_deref(),
            LeadField::Company => self.company.as_deref(),
            LeadField::Website => self.website.as_deref(),
            LeadField::Street => self.street.as_deref(),
            LeadField::PostalCode => self.postal_code.as_deref(),
            LeadField::City => self.city.as_deref(),
            LeadField::Region => self.region.as_deref(),
            LeadField::Country => self.country.as_deref(),
            LeadField::DateOfBirth => self.date_of_birth.as_deref(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_and_get_cover_every_field() {
        let mut input = LeadInput::default();
        for f in LeadField::ALL {
            input.set(f, f.as_str());
        }
        for f in LeadField::ALL {
            assert_eq!(input.get(f), Some(f.as_str()));
            assert_eq!(f.as_str().parse::<LeadField>().unwrap(), f);
        }
    }
}
