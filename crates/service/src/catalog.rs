//! Sources and campaigns.

use crate::error::{Result, ServiceError};
use crate::App;
use leadline_domain::campaign::{self, CampaignError};
use leadline_domain::normalize::FieldError;
use leadline_domain::Channel;
use leadline_store::sources::{self, Campaign, Source};
use leadline_store::{new_id, StoreError};
use serde::Deserialize;
use serde_json::Value;

/// A campaign as the API creates or changes it. Absent fields are left as they are;
/// `null` clears cost, currency and dates.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignInput {
    pub name: Option<String>,
    /// Source name; created with the campaign's channel on first use.
    pub source: Option<String>,
    /// Default: the source's channel.
    pub channel: Option<String>,
    /// Cost in the currency's minor unit (cents).
    #[serde(default, deserialize_with = "present")]
    pub cost_cents: Option<Option<i64>>,
    /// Cost as a decimal in the major unit ("1250.50"), instead of `cost_cents`.
    #[serde(default, deserialize_with = "present")]
    pub cost: Option<Option<Value>>,
    /// ISO 4217 code; required with a cost.
    #[serde(default, deserialize_with = "present")]
    pub currency: Option<Option<String>>,
    /// `YYYY-MM-DD`.
    #[serde(default, deserialize_with = "present")]
    pub starts_on: Option<Option<String>>,
    /// `YYYY-MM-DD`, on or after `starts_on`.
    #[serde(default, deserialize_with = "present")]
    pub ends_on: Option<Option<String>>,
}

/// A field that is present, even as `null`, becomes `Some(…)`; absent stays `None`.
fn present<'de, D, T>(d: D) -> std::result::Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

fn problem(field: &str, code: &str, e: impl ToString) -> FieldError {
    FieldError {
        field: field.to_string(),
        code: code.to_string(),
        message: e.to_string(),
    }
}

fn campaign_problem(field: &str, e: CampaignError) -> FieldError {
    let code = match &e {
        CampaignError::UnknownCurrency(_) => "unknown_currency",
        CampaignError::CurrencyRequired => "required",
        CampaignError::CostTwice => "conflicting_fields",
        CampaignError::MalformedCost { .. } => "invalid_amount",
        CampaignError::TooManyDecimals { .. } => "invalid_amount",
        CampaignError::CostOutOfRange => "out_of_range",
        CampaignError::MalformedDate { .. } => "invalid_date",
        CampaignError::EndsBeforeStart { .. } => "ends_before_start",
    };
    problem(field, code, e)
}

/// Applies the money and date fields of `input` to `c`, collecting every problem.
fn apply_terms(c: &mut Campaign, input: &CampaignInput, errors: &mut Vec<FieldError>) {
    match &input.currency {
        Some(Some(code)) => match campaign::parse_currency(code) {
            Ok((code, _)) => c.currency = Some(code),
            Err(e) => errors.push(campaign_problem("currency", e)),
        },
        Some(None) => c.currency = None,
        None => {}
    }
    let currency_ok = !errors.iter().any(|e| e.field == "currency");
    match (&input.cost_cents, &input.cost) {
        (Some(Some(_)), Some(Some(_))) => {
            errors.push(campaign_problem("cost", CampaignError::CostTwice))
        }
        (Some(Some(minor)), _) => match campaign::check_cost(*minor) {
            Ok(minor) => c.cost_cents = Some(minor),
            Err(e) => errors.push(campaign_problem("cost_cents", e)),
        },
        (_, Some(Some(amount))) => {
            let text = match amount {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            };
            match (text, c.currency.clone()) {
                (None, _) => errors.push(problem(
                    "cost",
                    "invalid_type",
                    "cost is a decimal number or a string such as \"1250.50\"",
                )),
                (Some(_), None) if currency_ok => errors.push(campaign_problem(
                    "currency",
                    CampaignError::CurrencyRequired,
                )),
                (Some(_), None) => {}
                (Some(text), Some(currency)) => match campaign::parse_cost(&text, &currency) {
                    Ok(minor) => c.cost_cents = Some(minor),
                    Err(e) => errors.push(campaign_problem("cost", e)),
                },
            }
        }
        (Some(None), _) | (_, Some(None)) => c.cost_cents = None,
        (None, None) => {}
    }
    if c.cost_cents.is_some()
        && c.currency.is_none()
        && !errors.iter().any(|e| e.field == "currency")
    {
        errors.push(campaign_problem(
            "currency",
            CampaignError::CurrencyRequired,
        ));
    }
    let mut day =
        |field: &str, value: &Option<Option<String>>, slot: &mut Option<String>| match value {
            Some(Some(text)) => match campaign::parse_day(text) {
                Ok(d) => *slot = Some(d.to_string()),
                Err(e) => errors.push(campaign_problem(field, e)),
            },
            Some(None) => *slot = None,
            None => {}
        };
    day("starts_on", &input.starts_on, &mut c.starts_on);
    day("ends_on", &input.ends_on, &mut c.ends_on);
    let parsed = |s: &Option<String>| s.as_deref().and_then(|d| campaign::parse_day(d).ok());
    if !errors.iter().any(|e| e.field.ends_with("_on")) {
        if let Err(e) = campaign::check_dates(parsed(&c.starts_on), parsed(&c.ends_on)) {
            errors.push(campaign_problem("ends_on", e));
        }
    }
}

impl App {
    pub async fn list_sources(&self) -> Result<Vec<Source>> {
        let mut conn = self.db.acquire().await?;
        Ok(sources::list_sources(&mut conn).await?)
    }

    pub async fn list_campaigns(&self) -> Result<Vec<Campaign>> {
        let mut conn = self.db.acquire().await?;
        Ok(sources::list_campaigns(&mut conn).await?)
    }

    pub async fn campaign(&self, id: &str) -> Result<Campaign> {
        let mut conn = self.db.acquire().await?;
        sources::campaign_by_id(&mut conn, id)
            .await?
            .ok_or_else(|| ServiceError::not_found("campaign", id))
    }

    /// Creates a campaign (and its source, on first use) after checking every field.
    pub async fn create_campaign(&self, input: &CampaignInput) -> Result<Campaign> {
        let mut campaign = Campaign {
            id: new_id(),
            name: String::new(),
            source_id: String::new(),
            channel: String::new(),
            cost_cents: None,
            currency: None,
            starts_on: None,
            ends_on: None,
            created_at: self.now(),
        };
        self.save_campaign(&mut campaign, input, true).await?;
        Ok(campaign)
    }

    /// Changes the fields `input` names; the rest stay.
    pub async fn update_campaign(&self, id: &str, input: &CampaignInput) -> Result<Campaign> {
        let mut campaign = self.campaign(id).await?;
        self.save_campaign(&mut campaign, input, false).await?;
        Ok(campaign)
    }

    async fn save_campaign(
        &self,
        c: &mut Campaign,
        input: &CampaignInput,
        creating: bool,
    ) -> Result<()> {
        let mut errors = Vec::new();
        match input.name.as_deref().map(str::trim) {
            Some(n) if !n.is_empty() && n.chars().count() <= 200 => c.name = n.to_string(),
            Some(_) => errors.push(problem(
                "name",
                "invalid_length",
                "a campaign name has 1 to 200 characters",
            )),
            None if creating => errors.push(problem("name", "required", "a name is required")),
            None => {}
        }
        let channel = match input.channel.as_deref().map(str::parse::<Channel>) {
            Some(Ok(ch)) => Some(ch),
            Some(Err(e)) => {
                errors.push(problem("channel", "unknown_channel", e));
                None
            }
            None => None,
        };
        let source_name = match input.source.as_deref().map(str::trim) {
            Some(s) if !s.is_empty() && s.chars().count() <= 200 => Some(s.to_string()),
            Some(_) => {
                errors.push(problem(
                    "source",
                    "invalid_length",
                    "a source name has 1 to 200 characters",
                ));
                None
            }
            None if creating => {
                errors.push(problem(
                    "source",
                    "required",
                    "the campaign's source (e.g. \"Trade shows\") is required",
                ));
                None
            }
            None => None,
        };
        apply_terms(c, input, &mut errors);
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let existing_source = match &source_name {
            Some(name) => sources::source_by_name(&mut tx, name).await?,
            None => None,
        };
        let channel_given = input.channel.is_some();
        if source_name.is_some() && existing_source.is_none() && !channel_given {
            errors.push(problem(
                "channel",
                "required",
                "a new source needs its channel (web_form, trade_show, sem …)",
            ));
        }
        if !errors.is_empty() {
            return Err(ServiceError::Invalid(errors));
        }
        if let Some(name) = &source_name {
            let source = match existing_source {
                Some(s) => s,
                None => {
                    let ch = channel.map(Channel::as_str).unwrap_or("other");
                    sources::ensure_source(&mut tx, name, ch, now).await?
                }
            };
            if channel.is_none() {
                c.channel = source.channel.clone();
            }
            c.source_id = source.id;
        }
        if let Some(ch) = channel {
            c.channel = ch.as_str().to_string();
        }
        let saved = if creating {
            sources::insert_campaign(&mut tx, c).await
        } else {
            sources::update_campaign(&mut tx, c).await
        };
        match saved {
            Err(StoreError::Conflict(m)) => {
                return Err(ServiceError::conflict("campaign_exists", m))
            }
            other => other?,
        }
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }

    /// The source called `name`, created with `channel` on first use.
    pub async fn ensure_source(&self, name: &str, channel: Channel) -> Result<Source> {
        let mut conn = self.db.acquire().await?;
        Ok(sources::ensure_source(&mut conn, name, channel.as_str(), self.now()).await?)
    }

    /// The campaign named `name` (blank or absent means none), created on first use.
    pub async fn ensure_campaign(
        &self,
        name: Option<&str>,
        source: &Source,
        channel: Channel,
    ) -> Result<Option<Campaign>> {
        let mut conn = self.db.acquire().await?;
        Ok(
            sources::ensure_named_campaign(&mut conn, name, source, channel.as_str(), self.now())
                .await?,
        )
    }

    pub async fn source_by_name(&self, name: &str) -> Result<Option<Source>> {
        let mut conn = self.db.acquire().await?;
        Ok(sources::source_by_name(&mut conn, name).await?)
    }
}
