//! One whole capture: every field normalised, every problem reported together.

use super::text::{clean_block, clean_line, forbidden_control};
use super::{
    company_match_key, domain_from_email, normalize_country, normalize_date_of_birth,
    normalize_name, normalize_phone, split_full_name, web_domain, DataFlag, EmailAddress,
    FieldError, NormalizeOptions, NormalizedLead, DATE_OF_BIRTH_AS_GIVEN,
};
use crate::fields::{LeadField, LeadInput};
use unicode_normalization::UnicodeNormalization;

/// Most custom attributes one lead may carry.
const MAX_CUSTOM: usize = 100;
/// Longest custom attribute name, in characters.
const MAX_CUSTOM_KEY: usize = 64;
/// Longest custom attribute value, in characters.
const MAX_CUSTOM_VALUE: usize = 4000;

const MISSING_IDENTITY: &str =
    "a lead needs an e-mail address, a phone number, or a name with a company or postal address";

/// Longest accepted value of a standard field, in characters.
fn max_len(field: LeadField) -> usize {
    match field {
        LeadField::FirstName
        | LeadField::LastName
        | LeadField::FullName
        | LeadField::Title
        | LeadField::City
        | LeadField::Region => 200,
        LeadField::Email => 254,
        LeadField::Phone | LeadField::DateOfBirth => 64,
        LeadField::Company => 300,
        LeadField::Website => 2048,
        LeadField::Street => 500,
        LeadField::PostalCode => 20,
        LeadField::Country => 100,
    }
}

/// Normalises one capture. Every field is checked and all problems come back together,
/// so a form or an import row can be fixed in one go. Values that are merely odd are
/// kept and flagged instead (an unparseable phone, an unknown country, a date of birth
/// that is no real date); markup and SQL are just text here, escaping them is the
/// output's job.
///
/// Error codes: `too_long`, `control_character`, `invalid_email`,
/// `too_many_attributes`, `invalid_key`, `missing_identity`.
pub fn normalize_lead(
    input: &LeadInput,
    opts: &NormalizeOptions,
) -> Result<NormalizedLead, Vec<FieldError>> {
    let mut check = Checker::default();
    let mut lead = NormalizedLead::default();
    names(&mut check, input, &mut lead);
    lead.title = check.take(LeadField::Title, input).and_then(clean_line);
    let email_domain = email(&mut check, input, &mut lead);
    company(&mut check, input, &mut lead, email_domain);
    let country = address(&mut check, input, &mut lead);
    let region = country.as_deref().or(opts.default_region.as_deref());
    phone(&mut check, input, region, &mut lead);
    date_of_birth(&mut check, input, opts, &mut lead);
    custom(&mut check, input, &mut lead);
    if !has_identity(input) {
        check.push("lead", "missing_identity", MISSING_IDENTITY);
    }
    if check.errors.is_empty() {
        Ok(lead)
    } else {
        Err(check.errors)
    }
}

/// Collects field errors while handing out the values that pass the shared checks.
#[derive(Default)]
struct Checker {
    errors: Vec<FieldError>,
}

impl Checker {
    fn push(&mut self, field: &str, code: &str, message: impl Into<String>) {
        self.errors.push(FieldError {
            field: field.to_string(),
            code: code.to_string(),
            message: message.into(),
        });
    }

    /// A standard field's trimmed raw value, if present and acceptable.
    fn take<'a>(&mut self, field: LeadField, input: &'a LeadInput) -> Option<&'a str> {
        self.take_value(field.as_str(), input.get(field), max_len(field))
    }

    /// The trimmed value, or `None` when it is blank (absent) or fails the length or
    /// control-character check (reported).
    fn take_value<'a>(
        &mut self,
        field: &str,
        raw: Option<&'a str>,
        limit: usize,
    ) -> Option<&'a str> {
        let value = raw?.trim();
        if value.is_empty() {
            return None;
        }
        if value.chars().nth(limit).is_some() {
            self.push(
                field,
                "too_long",
                format!("{field} is longer than {limit} characters"),
            );
            return None;
        }
        if let Some(c) = forbidden_control(value) {
            let message = format!(
                "{field} contains the control character U+{:04X}",
                u32::from(c)
            );
            self.push(field, "control_character", message);
            return None;
        }
        Some(value)
    }
}

/// First and last name, filled from the full name where they are missing.
fn names(check: &mut Checker, input: &LeadInput, lead: &mut NormalizedLead) {
    let first = check
        .take(LeadField::FirstName, input)
        .and_then(normalize_name);
    let last = check
        .take(LeadField::LastName, input)
        .and_then(normalize_name);
    let (split_first, split_last) = check
        .take(LeadField::FullName, input)
        .map(split_full_name)
        .unwrap_or_default();
    lead.first_name = first.or(split_first);
    lead.last_name = last.or(split_last);
}

/// The e-mail address and its match key; returns the company domain it reveals.
fn email(check: &mut Checker, input: &LeadInput, lead: &mut NormalizedLead) -> Option<String> {
    check.take(LeadField::Email, input)?;
    // The field as given, not trimmed of line breaks: a CR or LF is refused here.
    let raw = input.get(LeadField::Email).unwrap_or_default();
    match EmailAddress::parse_public(raw) {
        Ok(email) => {
            lead.email_key = Some(email.match_key());
            let domain = domain_from_email(&email);
            lead.email = Some(email.into());
            domain
        }
        Err(e) => {
            check.push("email", "invalid_email", e.to_string());
            None
        }
    }
}

/// Company name and key, website, and the web domain (website first, then e-mail).
fn company(
    check: &mut Checker,
    input: &LeadInput,
    lead: &mut NormalizedLead,
    email_domain: Option<String>,
) {
    lead.company = check.take(LeadField::Company, input).and_then(clean_line);
    lead.company_key = lead.company.as_deref().and_then(company_match_key);
    lead.website = check.take(LeadField::Website, input).and_then(clean_line);
    lead.domain = lead
        .website
        .as_deref()
        .and_then(web_domain)
        .or(email_domain);
}

/// Street, postal code, city, region and country; returns the country when recognised.
fn address(check: &mut Checker, input: &LeadInput, lead: &mut NormalizedLead) -> Option<String> {
    lead.street = check.take(LeadField::Street, input).and_then(clean_line);
    lead.postal_code = check
        .take(LeadField::PostalCode, input)
        .and_then(clean_line)
        .map(|code| code.to_uppercase());
    lead.city = check.take(LeadField::City, input).and_then(clean_line);
    lead.region = check.take(LeadField::Region, input).and_then(clean_line);
    let raw = check.take(LeadField::Country, input)?;
    let code = normalize_country(raw);
    if code.is_none() {
        lead.flags.push(DataFlag::CountryUnrecognised);
    }
    lead.country = code.clone().or_else(|| clean_line(raw));
    code
}

/// The phone in E.164, read in `region` (the lead's own country, else the default).
fn phone(check: &mut Checker, input: &LeadInput, region: Option<&str>, lead: &mut NormalizedLead) {
    let Some(raw) = check.take(LeadField::Phone, input) else {
        return;
    };
    let value = normalize_phone(raw, region);
    lead.phone_valid = value.is_valid();
    if !lead.phone_valid {
        lead.flags.push(DataFlag::PhoneUnparseable);
    }
    lead.phone = Some(value.as_str().to_string());
}

fn date_of_birth(
    check: &mut Checker,
    input: &LeadInput,
    opts: &NormalizeOptions,
    lead: &mut NormalizedLead,
) {
    let Some(raw) = check.take(LeadField::DateOfBirth, input) else {
        return;
    };
    match normalize_date_of_birth(raw, opts.today) {
        Ok(date) => lead.date_of_birth = Some(date),
        // A mistyped date of birth is no reason to lose the lead: like an unparseable
        // phone it is flagged and kept, here beside the field so that matching never
        // compares it as a date. A custom attribute of the same name wins (`custom`
        // runs later).
        Err(_) => {
            lead.flags.push(DataFlag::DateOfBirthInvalid);
            if let Some(text) = clean_line(raw) {
                lead.custom.insert(DATE_OF_BIRTH_AS_GIVEN.to_string(), text);
            }
        }
    }
}

/// Custom attributes: names trimmed (NFC), values trimmed (NFC, line breaks kept),
/// blank values dropped. If two names trim to the same one, the later in order wins.
fn custom(check: &mut Checker, input: &LeadInput, lead: &mut NormalizedLead) {
    let count = input.custom.len();
    if count > MAX_CUSTOM {
        let message =
            format!("a lead can carry at most {MAX_CUSTOM} custom attributes, not {count}");
        check.push("custom", "too_many_attributes", message);
        return;
    }
    for (raw_key, raw_value) in &input.custom {
        let Some(key) = custom_key(check, raw_key, raw_value) else {
            continue;
        };
        let field = format!("custom.{key}");
        let value = check
            .take_value(&field, Some(raw_value), MAX_CUSTOM_VALUE)
            .and_then(clean_block);
        if let Some(value) = value {
            lead.custom.insert(key, value);
        }
    }
}

/// A custom attribute's name, trimmed and NFC; errors are reported under `custom`.
fn custom_key(check: &mut Checker, raw_key: &str, raw_value: &str) -> Option<String> {
    let trimmed = raw_key.trim();
    if trimmed.is_empty() {
        if !raw_value.trim().is_empty() {
            check.push("custom", "invalid_key", "a custom attribute needs a name");
        }
        return None;
    }
    if trimmed.chars().nth(MAX_CUSTOM_KEY).is_some() {
        let message = format!("a custom attribute name is longer than {MAX_CUSTOM_KEY} characters");
        check.push("custom", "too_long", message);
        return None;
    }
    if let Some(c) = forbidden_control(trimmed) {
        let message = format!(
            "a custom attribute name contains the control character U+{:04X}",
            u32::from(c)
        );
        check.push("custom", "control_character", message);
        return None;
    }
    Some(trimmed.nfc().collect())
}

/// Whether the input offers a way to reach or recognise the person: an e-mail, a phone,
/// or a name together with a company or postal address. Judged on what was offered, so
/// an invalid e-mail gets its own error rather than an extra "missing identity".
fn has_identity(input: &LeadInput) -> bool {
    let offered = |field| input.get(field).is_some_and(|v| !v.trim().is_empty());
    let name = [
        LeadField::FirstName,
        LeadField::LastName,
        LeadField::FullName,
    ]
    .into_iter()
    .any(offered);
    let anchor = [LeadField::Company, LeadField::Street, LeadField::PostalCode]
        .into_iter()
        .any(offered);
    offered(LeadField::Email) || offered(LeadField::Phone) || (name && anchor)
}

#[cfg(test)]
mod tests;
