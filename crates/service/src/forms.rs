//! Capture forms: definitions made through the API, and public submissions with the
//! spam defences that belong to the use case (honeypot, signed minimum fill time).
//! Rate and size limits are HTTP concerns and live in the web crate.

use crate::capture::{Attribution, Capture, CaptureOutcome, ConsentGrant};
use crate::error::{Result, ServiceError};
use crate::App;
use hmac::{Hmac, Mac};
use leadline_domain::fields::{LeadField, CONSENT_CHANNELS};
use leadline_domain::normalize::{normalize_country, FieldError};
use leadline_domain::qualification::QuestionKey;
use leadline_domain::Channel;
use leadline_store::forms::{self, FormRow};
use leadline_store::{new_id, settings, sources};
use rand::distributions::{Alphanumeric, DistString};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::Sha256;
use std::collections::{BTreeMap, HashSet};

/// Name of the hidden honeypot input. People never see it; bots fill it in.
pub const HONEYPOT_FIELD: &str = "fax";
/// Name of the hidden input carrying the signed render time.
pub const TOKEN_FIELD: &str = "_ts";
/// Name of the consent checkbox.
pub const CONSENT_FIELD: &str = "consent";
/// Attribution parameters a submission may carry besides its fields.
pub const ATTRIBUTION_FIELDS: [&str; 7] = [
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "referrer",
    "page_url",
];
/// A form token older than this is stale (the page sat open for a day).
const TOKEN_MAX_AGE_MS: i64 = 24 * 3600 * 1000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FormField {
    /// A standard field (`email`, `first_name` …) or `custom.<key>`.
    pub name: String,
    pub label: String,
    #[serde(default)]
    pub required: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ConsentSpec {
    /// `email`, `phone` and/or `sms`.
    pub channels: Vec<String>,
    /// The exact wording shown beside the checkbox; stored with every grant.
    pub wording: String,
    #[serde(default)]
    pub required: bool,
}

/// What a form shows and does. Stored as JSON so options can grow without migrations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FormDefinition {
    pub fields: Vec<FormField>,
    pub consent: Option<ConsentSpec>,
    pub redirect_url: Option<String>,
    /// Region for reading phone numbers written without a country code.
    pub default_region: Option<String>,
    pub min_fill_seconds: u32,
    pub submit_label: String,
    pub success_message: String,
}

/// A form definition request as the API receives it.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
pub struct NewForm {
    pub name: String,
    pub source: String,
    pub channel: Option<Channel>,
    pub campaign: Option<String>,
    pub fields: Vec<FormField>,
    pub consent: Option<ConsentSpec>,
    pub redirect_url: Option<String>,
    pub default_region: Option<String>,
    pub min_fill_seconds: Option<u32>,
    pub submit_label: Option<String>,
    pub success_message: Option<String>,
}

/// A stored form with its parsed definition.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Form {
    pub id: String,
    pub key: String,
    pub name: String,
    pub source_id: String,
    pub campaign_id: Option<String>,
    pub channel: Channel,
    #[serde(flatten)]
    pub definition: FormDefinition,
    pub created_at: i64,
}

fn err(field: impl Into<String>, code: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.into(),
        code: code.to_string(),
        message: message.into(),
    }
}

fn is_custom_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 64
        && key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Checks a form request field by field; every problem is reported at once.
pub fn validate_new_form(new: &NewForm) -> std::result::Result<FormDefinition, Vec<FieldError>> {
    use leadline_domain::limits::{check_count, MAX_FORM_CONSENT_CHANNELS, MAX_FORM_FIELDS};
    // Lists over their ceiling are refused before their items are looked at.
    let too_many: Vec<FieldError> = [
        check_count("fields", new.fields.len(), MAX_FORM_FIELDS),
        check_count(
            "consent.channels",
            new.consent.as_ref().map_or(0, |c| c.channels.len()),
            MAX_FORM_CONSENT_CHANNELS,
        ),
    ]
    .into_iter()
    .filter_map(|r| r.err())
    .collect();
    if !too_many.is_empty() {
        return Err(too_many);
    }
    let mut errors = Vec::new();
    let name_len = new.name.trim().chars().count();
    if name_len == 0 || name_len > 200 {
        errors.push(err(
            "name",
            "invalid_length",
            "a form name of 1 to 200 characters is required",
        ));
    }
    let source_len = new.source.trim().chars().count();
    if source_len == 0 || source_len > 200 {
        errors.push(err(
            "source",
            "invalid_length",
            "a source name of 1 to 200 characters is required",
        ));
    }
    if new.fields.is_empty() {
        errors.push(err("fields", "required", "a form needs at least one field"));
    }
    let mut seen = HashSet::new();
    for (i, f) in new.fields.iter().enumerate() {
        let at = format!("fields[{i}].name");
        let known = if let Some(key) = f.name.strip_prefix("custom.") {
            is_custom_key(key)
        } else if let Some(question) = f.name.strip_prefix("answers.") {
            question.parse::<QuestionKey>().is_ok()
        } else {
            f.name.parse::<LeadField>().is_ok()
        };
        if !known {
            errors.push(err(&at, "unknown_field", format!(
                "{:?} is not a lead field (email, first_name, phone …), custom.<key> with a-z, 0-9 and _, or answers.<question>",
                f.name.chars().take(80).collect::<String>()
            )));
        }
        if !seen.insert(f.name.as_str()) {
            errors.push(err(
                &at,
                "duplicate_field",
                format!("field {:?} appears twice", f.name),
            ));
        }
        let label_len = f.label.trim().chars().count();
        if label_len == 0 || label_len > 200 {
            errors.push(err(
                format!("fields[{i}].label"),
                "invalid_length",
                "a label of 1 to 200 characters is required",
            ));
        }
    }
    if let Some(c) = &new.consent {
        let wording_len = c.wording.trim().chars().count();
        if wording_len == 0 || wording_len > 2000 {
            errors.push(err(
                "consent.wording",
                "invalid_length",
                "consent wording of 1 to 2000 characters is required",
            ));
        }
        if c.channels.is_empty() {
            errors.push(err(
                "consent.channels",
                "required",
                "name at least one channel: email, phone or sms",
            ));
        }
        for ch in &c.channels {
            if !CONSENT_CHANNELS.contains(&ch.as_str()) {
                errors.push(err(
                    "consent.channels",
                    "unknown_channel",
                    format!("{ch:?} is not email, phone or sms"),
                ));
            }
        }
    }
    if let Some(url) = &new.redirect_url {
        let ok = (url.starts_with("https://") || url.starts_with("http://"))
            && url.len() <= 2000
            && !url.chars().any(|c| c.is_whitespace() || c.is_control());
        if !ok {
            errors.push(err(
                "redirect_url",
                "invalid_url",
                "redirect_url must be an absolute http(s) URL",
            ));
        }
    }
    let default_region = match &new.default_region {
        Some(r) => match normalize_country(r) {
            Some(code) => Some(code),
            None => {
                errors.push(err(
                    "default_region",
                    "unknown_country",
                    format!("{r:?} is not a country"),
                ));
                None
            }
        },
        None => None,
    };
    let min_fill_seconds = new.min_fill_seconds.unwrap_or(3);
    if min_fill_seconds > 3600 {
        errors.push(err(
            "min_fill_seconds",
            "out_of_range",
            "min_fill_seconds must be at most 3600",
        ));
    }
    for (field, value) in [
        ("submit_label", &new.submit_label),
        ("success_message", &new.success_message),
    ] {
        if value.as_ref().is_some_and(|v| v.chars().count() > 500) {
            errors.push(err(field, "too_long", "at most 500 characters"));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(FormDefinition {
        fields: new
            .fields
            .iter()
            .map(|f| FormField {
                name: f.name.clone(),
                label: f.label.trim().to_string(),
                required: f.required,
            })
            .collect(),
        consent: new.consent.clone(),
        redirect_url: new.redirect_url.clone(),
        default_region,
        min_fill_seconds,
        submit_label: new.submit_label.clone().unwrap_or_else(|| "Submit".into()),
        success_message: new
            .success_message
            .clone()
            .unwrap_or_else(|| "Thank you — we will be in touch soon.".into()),
    })
}

/// A public submission as the web edge received it.
#[derive(Debug, Clone, Default)]
pub struct Submission {
    pub values: BTreeMap<String, String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub referrer: Option<String>,
}

/// What happened to a submission.
#[derive(Debug, Clone, PartialEq)]
pub enum SubmitResult {
    Captured(CaptureOutcome),
    /// Looked like a bot (honeypot filled): answered as a success, stored nothing.
    Discarded,
}

fn truthy(v: &str) -> bool {
    matches!(
        v.trim().to_ascii_lowercase().as_str(),
        "on" | "yes" | "true" | "1" | "checked"
    )
}

type HmacSha256 = Hmac<Sha256>;

fn sign(secret: &str, form_key: &str, issued_at: i64) -> String {
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(format!("{form_key}:{issued_at}").as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Checks the signed render time: present, authentic, not stale, and old enough that a
/// person could have filled the form in.
pub fn check_form_token(
    secret: &str,
    form_key: &str,
    token: Option<&str>,
    now: i64,
    min_fill_seconds: u32,
) -> std::result::Result<(), FieldError> {
    let token = token.ok_or_else(|| {
        err(
            TOKEN_FIELD,
            "form_token_missing",
            "the form token is missing; load the form page (or GET /f/{key}/token) first",
        )
    })?;
    let (issued, sig) = token
        .split_once('.')
        .and_then(|(t, s)| t.parse::<i64>().ok().map(|t| (t, s)))
        .ok_or_else(|| {
            err(
                TOKEN_FIELD,
                "form_token_invalid",
                "the form token is malformed",
            )
        })?;
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(format!("{form_key}:{issued}").as_bytes());
    let sig_bytes = hex::decode(sig).map_err(|_| {
        err(
            TOKEN_FIELD,
            "form_token_invalid",
            "the form token is malformed",
        )
    })?;
    if mac.verify_slice(&sig_bytes).is_err() {
        return Err(err(
            TOKEN_FIELD,
            "form_token_invalid",
            "the form token is not valid for this form",
        ));
    }
    if now - issued > TOKEN_MAX_AGE_MS || issued > now + 60_000 {
        return Err(err(
            TOKEN_FIELD,
            "form_token_expired",
            "the form has expired; reload the page and submit again",
        ));
    }
    if now - issued < i64::from(min_fill_seconds) * 1000 {
        return Err(err(
            TOKEN_FIELD,
            "too_fast",
            "the form was submitted too quickly; please try again",
        ));
    }
    Ok(())
}

impl App {
    /// The key forms are signed with, created once per database and cached.
    async fn form_secret(&self) -> Result<String> {
        let secret = self
            .form_secret
            .get_or_try_init(|| async {
                let mut conn = self.db.acquire().await?;
                let fresh = Alphanumeric.sample_string(&mut rand::rngs::OsRng, 48);
                let secret =
                    settings::get_or_init(&mut conn, "form_token_secret", &fresh, self.now())
                        .await?;
                Ok::<_, crate::ServiceError>(secret)
            })
            .await?;
        Ok(secret.clone())
    }

    /// A token to put in a rendered form: `<issued ms>.<hmac>`.
    pub async fn form_token(&self, form_key: &str) -> Result<String> {
        let now = self.now();
        Ok(format!(
            "{now}.{}",
            sign(&self.form_secret().await?, form_key, now)
        ))
    }

    pub async fn create_form(&self, new: &NewForm) -> Result<Form> {
        let definition = validate_new_form(new).map_err(ServiceError::Invalid)?;
        let now = self.now();
        let channel = new.channel.unwrap_or(Channel::WebForm);
        let mut tx = self.db.begin().await?;
        let source =
            sources::ensure_source(&mut tx, new.source.trim(), channel.as_str(), now).await?;
        let campaign = sources::ensure_named_campaign(
            &mut tx,
            new.campaign.as_deref(),
            &source,
            channel.as_str(),
            now,
        )
        .await?;
        let row = FormRow {
            id: new_id(),
            form_key: Alphanumeric
                .sample_string(&mut rand::rngs::OsRng, 12)
                .to_lowercase(),
            name: new.name.trim().to_string(),
            definition: serde_json::to_value(&definition).map_err(anyhow::Error::new)?,
            source_id: source.id.clone(),
            campaign_id: campaign.map(|c| c.id),
            created_at: now,
        };
        forms::insert(&mut tx, &row).await?;
        tx.commit()
            .await
            .map_err(leadline_store::StoreError::from)?;
        Ok(Form {
            id: row.id,
            key: row.form_key,
            name: row.name,
            source_id: row.source_id,
            campaign_id: row.campaign_id,
            channel,
            definition,
            created_at: row.created_at,
        })
    }

    async fn form_from_row(&self, row: FormRow) -> Result<Form> {
        let mut conn = self.db.acquire().await?;
        let channel = sources::source_by_id(&mut conn, &row.source_id)
            .await?
            .and_then(|s| s.channel.parse().ok())
            .unwrap_or(Channel::WebForm);
        Ok(Form {
            definition: serde_json::from_value(row.definition).map_err(anyhow::Error::new)?,
            id: row.id,
            key: row.form_key,
            name: row.name,
            source_id: row.source_id,
            campaign_id: row.campaign_id,
            channel,
            created_at: row.created_at,
        })
    }

    /// A form by its public key. Every submission looks its form up, and forms do not
    /// change once created, so found forms are kept for a few seconds.
    pub async fn form_by_key(&self, key: &str) -> Result<Form> {
        {
            let cache = self.forms_cache.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((at, form)) = cache.get(key) {
                if at.elapsed() < crate::SETTINGS_FRESHNESS {
                    return Ok(form.clone());
                }
            }
        }
        let mut conn = self.db.acquire().await?;
        let row = forms::by_key(&mut conn, key)
            .await?
            .ok_or_else(|| ServiceError::not_found("form", key))?;
        drop(conn);
        let form = self.form_from_row(row).await?;
        let mut cache = self.forms_cache.lock().unwrap_or_else(|p| p.into_inner());
        cache.retain(|_, (at, _)| at.elapsed() < crate::SETTINGS_FRESHNESS);
        cache.insert(key.to_string(), (std::time::Instant::now(), form.clone()));
        Ok(form)
    }

    pub async fn form_by_id(&self, id: &str) -> Result<Form> {
        let mut conn = self.db.acquire().await?;
        let row = forms::by_id(&mut conn, id)
            .await?
            .ok_or_else(|| ServiceError::not_found("form", id))?;
        drop(conn);
        self.form_from_row(row).await
    }

    pub async fn list_forms(&self) -> Result<Vec<Form>> {
        let mut conn = self.db.acquire().await?;
        let rows = forms::list(&mut conn).await?;
        drop(conn);
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            out.push(self.form_from_row(row).await?);
        }
        Ok(out)
    }

    /// Accepts a public submission: spam checks, required fields and consent, then the
    /// capture pipeline with the form's source, campaign and consent evidence.
    pub async fn submit_form(&self, form: &Form, sub: &Submission) -> Result<SubmitResult> {
        if sub
            .values
            .get(HONEYPOT_FIELD)
            .is_some_and(|v| !v.trim().is_empty())
        {
            return Ok(SubmitResult::Discarded);
        }
        let secret = self.form_secret().await?;
        let mut errors = Vec::new();
        if let Err(e) = check_form_token(
            &secret,
            &form.key,
            sub.values.get(TOKEN_FIELD).map(String::as_str),
            self.now(),
            form.definition.min_fill_seconds,
        ) {
            errors.push(e);
        }
        let mut input = leadline_domain::LeadInput::default();
        let mut answers = std::collections::BTreeMap::new();
        for f in &form.definition.fields {
            let value = sub
                .values
                .get(&f.name)
                .map(|v| v.trim())
                .filter(|v| !v.is_empty());
            match value {
                None if f.required => {
                    errors.push(err(&f.name, "required", format!("{} is required", f.label)))
                }
                None => {}
                Some(v) => {
                    if let Some(key) = f.name.strip_prefix("custom.") {
                        input.custom.insert(key.to_string(), v.to_string());
                    } else if let Some(question) = f.name.strip_prefix("answers.") {
                        // A checkbox sends "on"; the qualification answer is "yes".
                        let answer = if truthy(v) {
                            "yes".to_string()
                        } else {
                            v.to_string()
                        };
                        answers.insert(question.to_string(), Some(answer));
                    } else if let Ok(field) = f.name.parse::<LeadField>() {
                        input.set(field, v);
                    }
                }
            }
        }
        let consent_given = sub.values.get(CONSENT_FIELD).is_some_and(|v| truthy(v));
        if let Some(spec) = &form.definition.consent {
            if spec.required && !consent_given {
                errors.push(err(
                    CONSENT_FIELD,
                    "consent_required",
                    "please agree to be contacted",
                ));
            }
        }
        if !errors.is_empty() {
            return Err(ServiceError::Invalid(errors));
        }

        let text = |k: &str| {
            sub.values
                .get(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let mut capture = Capture::new(
            input,
            form.channel,
            &form.source_id,
            &format!("form:{}", form.key),
        );
        capture.campaign_id = form.campaign_id.clone();
        capture.form_id = Some(form.id.clone());
        capture.default_region = form.definition.default_region.clone();
        capture.attribution = Attribution {
            utm_source: text("utm_source"),
            utm_medium: text("utm_medium"),
            utm_campaign: text("utm_campaign"),
            utm_term: text("utm_term"),
            utm_content: text("utm_content"),
            referrer: text("referrer").or_else(|| sub.referrer.clone()),
            landing_page: text("page_url"),
        };
        if let (Some(spec), true) = (&form.definition.consent, consent_given) {
            let evidence = json!({
                "form_id": form.id,
                "form_key": form.key,
                "ip": sub.ip,
                "user_agent": sub.user_agent,
                "page_url": text("page_url"),
            });
            capture.consents = spec
                .channels
                .iter()
                .map(|channel| ConsentGrant {
                    channel: channel.clone(),
                    granted: true,
                    wording: Some(spec.wording.clone()),
                    evidence: evidence.clone(),
                })
                .collect();
        }
        // Scoring, answers (which may route the lead) and triage follow in the
        // background, so the visitor is answered as soon as the capture commits; the
        // follow-up is written in the capture's transaction, so it is never lost.
        capture.followup = Some(answers);
        match self.capture(capture).await? {
            CaptureOutcome::Rejected { errors } => Err(ServiceError::Invalid(errors)),
            outcome => Ok(SubmitResult::Captured(outcome)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "test-secret";

    #[test]
    fn a_fresh_signed_token_passes_after_the_minimum_fill_time() {
        let token = format!("1000.{}", sign(SECRET, "abc", 1000));
        assert!(check_form_token(SECRET, "abc", Some(&token), 5000, 3).is_ok());
        let e = check_form_token(SECRET, "abc", Some(&token), 2000, 3).unwrap_err();
        assert_eq!(e.code, "too_fast");
    }

    #[test]
    fn tokens_are_bound_to_their_form_and_secret() {
        let token = format!("1000.{}", sign(SECRET, "abc", 1000));
        assert_eq!(
            check_form_token(SECRET, "other", Some(&token), 9000, 0)
                .unwrap_err()
                .code,
            "form_token_invalid"
        );
        assert_eq!(
            check_form_token("x", "abc", Some(&token), 9000, 0)
                .unwrap_err()
                .code,
            "form_token_invalid"
        );
        let forged = format!("1.{}", sign(SECRET, "abc", 1000));
        assert_eq!(
            check_form_token(SECRET, "abc", Some(&forged), 9000, 0)
                .unwrap_err()
                .code,
            "form_token_invalid"
        );
    }

    #[test]
    fn missing_malformed_and_stale_tokens_are_named() {
        assert_eq!(
            check_form_token(SECRET, "k", None, 0, 0).unwrap_err().code,
            "form_token_missing"
        );
        for bad in ["", "abc", "12.zz", ".", "1.2.3"] {
            assert_eq!(
                check_form_token(SECRET, "k", Some(bad), 0, 0)
                    .unwrap_err()
                    .code,
                "form_token_invalid",
                "{bad}"
            );
        }
        let token = format!("1000.{}", sign(SECRET, "k", 1000));
        assert_eq!(
            check_form_token(SECRET, "k", Some(&token), 1000 + TOKEN_MAX_AGE_MS + 1, 0)
                .unwrap_err()
                .code,
            "form_token_expired"
        );
    }

    fn new_form() -> NewForm {
        NewForm {
            name: "Contact".into(),
            source: "Website".into(),
            channel: None,
            campaign: None,
            fields: vec![FormField {
                name: "email".into(),
                label: "E-mail".into(),
                required: true,
            }],
            consent: None,
            redirect_url: None,
            default_region: Some("United Kingdom".into()),
            min_fill_seconds: None,
            submit_label: None,
            success_message: None,
        }
    }

    #[test]
    fn a_valid_form_gets_defaults_and_a_normalised_region() {
        let def = validate_new_form(&new_form()).unwrap();
        assert_eq!(def.default_region.as_deref(), Some("GB"));
        assert_eq!(def.min_fill_seconds, 3);
    }

    #[test]
    fn every_problem_in_a_form_is_reported_with_its_field() {
        let mut f = new_form();
        f.name = " ".into();
        f.fields.push(FormField {
            name: "email".into(),
            label: "".into(),
            required: false,
        });
        f.fields.push(FormField {
            name: "salary<script>".into(),
            label: "x".into(),
            required: false,
        });
        f.redirect_url = Some("javascript:alert(1)".into());
        f.consent = Some(ConsentSpec {
            channels: vec!["fax".into()],
            wording: "".into(),
            required: true,
        });
        f.default_region = Some("Atlantis".into());
        let fields: Vec<String> = validate_new_form(&f)
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        for expected in [
            "name",
            "fields[1].name",
            "fields[1].label",
            "fields[2].name",
            "redirect_url",
            "consent.wording",
            "consent.channels",
            "default_region",
        ] {
            assert!(
                fields.iter().any(|f| f == expected),
                "{expected} missing from {fields:?}"
            );
        }
    }
}
