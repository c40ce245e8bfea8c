//! `/api/v1/leads`: capture by API (idempotent), read, edit, list, timeline, merges.

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Authenticated};
use crate::AppState;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use leadline_domain::access::Permission;
use leadline_domain::fields::{LeadField, CONSENT_CHANNELS};
use leadline_domain::merge::{FieldChange, FieldConflict};
use leadline_domain::normalize::{
    company_match_key, normalize_phone, EmailAddress, FieldError, PhoneValue,
};
use leadline_domain::{Channel, LeadInput};
use leadline_service::capture::{
    Attribution, Capture, CaptureCaller, CaptureOutcome, ConsentGrant,
};
use leadline_service::leads::LeadPatch;
use leadline_service::tokens::Idempotency;
use leadline_store::leads::{LeadCursor, LeadFilter, LeadRecord};
use leadline_store::timeline::TimelineEvent;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/leads", post(create_lead).get(list_leads))
        .route("/api/v1/leads/{id}", get(get_lead).patch(patch_lead))
        .route("/api/v1/leads/{id}/timeline", get(timeline))
        .route("/api/v1/leads/{id}/merge", post(merge_lead))
        .route("/api/v1/merges/{id}/undo", post(undo_merge))
}

/// Consent given with an API capture.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentBody {
    /// `email`, `phone` or `sms`.
    #[schemars(extend("enum" = CONSENT_CHANNELS))]
    pub channel: String,
    pub granted: bool,
    /// The wording the person agreed to.
    pub wording: Option<String>,
    /// Proof of the consent (default: the API token and user that sent it).
    #[serde(default)]
    pub evidence: Value,
}

/// The answer of `POST /api/v1/leads`, by what the capture did.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum CaptureAnswer {
    /// No existing lead matched: a new lead (201).
    Created {
        lead: LeadRecord,
        /// A lead (that the caller may see) this one may duplicate, for a person to review.
        possible_duplicate_of: Option<String>,
    },
    /// An existing lead matched surely: its empty fields were filled (200).
    Merged {
        lead: LeadRecord,
        filled: Vec<FieldChange>,
        /// Values that differ from the lead's and were kept aside, not written.
        conflicts: Vec<FieldConflict>,
    },
    /// The same capture was recorded before (200).
    Unchanged { lead: LeadRecord },
    /// The person is already a lead the caller may not see: the capture went to that
    /// lead's history for its owner, and nothing of it is shown (202).
    RecordedForOwner {
        /// Always null.
        lead: Option<LeadRecord>,
        message: String,
    },
}

/// `GET /api/v1/leads/{id}/timeline`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct TimelineAnswer {
    pub lead_id: String,
    /// Oldest first.
    pub events: Vec<TimelineEvent>,
}

/// `GET /api/v1/leads`: a page of leads, newest first.
#[derive(Debug, Serialize, JsonSchema)]
pub struct LeadList {
    pub leads: Vec<LeadRecord>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// `POST /api/v1/leads/{id}/merge`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct MergeAnswer {
    /// Undo with `POST /api/v1/merges/{merge_id}/undo`.
    pub merge_id: String,
    pub survivor_id: String,
    pub merged_id: String,
    /// The survivor after the merge.
    pub lead: LeadRecord,
}

/// `POST /api/v1/merges/{id}/undo`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct UndoAnswer {
    pub merge_id: String,
    /// Epoch milliseconds.
    pub undone_at: Option<i64>,
    pub survivor: LeadRecord,
    pub restored: LeadRecord,
}

/// `POST /api/v1/leads`. Unknown fields are refused so a typo never loses data silently.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(example = serde_json::json!({
    "first_name": "Ada", "last_name": "Lovelace", "email": "ada@analytical.example.com",
    "phone": "+44 20 7946 0958", "company": "Analytical Engines Ltd", "country": "GB",
    "source": "Partner referrals", "channel": "referral", "campaign": "Spring 2027",
    "attribution": { "utm_source": "partner", "utm_medium": "referral" },
    "consent": [{ "channel": "email", "granted": true, "wording": "Send me product news" }],
    "custom": { "seats": 12 }
}))]
pub struct CreateLead {
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
    #[serde(default)]
    pub custom: BTreeMap<String, Value>,
    /// Source name; created with `channel` on first use. Default "API".
    pub source: Option<String>,
    pub channel: Option<Channel>,
    pub campaign: Option<String>,
    #[serde(default)]
    pub attribution: Attribution,
    #[serde(default)]
    pub consent: Vec<ConsentBody>,
    /// Region for phone numbers without a country code (ISO alpha-2 or a country name).
    pub default_region: Option<String>,
}

fn custom_values(
    custom: &BTreeMap<String, Value>,
) -> Result<BTreeMap<String, String>, Vec<FieldError>> {
    let mut out = BTreeMap::new();
    let mut errors = Vec::new();
    for (key, value) in custom {
        match value {
            Value::String(s) => {
                out.insert(key.clone(), s.clone());
            }
            Value::Number(n) => {
                out.insert(key.clone(), n.to_string());
            }
            Value::Bool(b) => {
                out.insert(key.clone(), b.to_string());
            }
            Value::Null => {}
            _ => errors.push(FieldError {
                field: format!("custom.{key}"),
                code: "invalid_type".into(),
                message: "a custom attribute must be a string, number or boolean".into(),
            }),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

fn consent_errors(consent: &[ConsentBody]) -> Vec<FieldError> {
    consent
        .iter()
        .enumerate()
        .filter(|(_, c)| !CONSENT_CHANNELS.contains(&c.channel.as_str()))
        .map(|(i, c)| FieldError {
            field: format!("consent[{i}].channel"),
            code: "unknown_channel".into(),
            message: format!("{:?} is not email, phone or sms", c.channel),
        })
        .collect()
}

/// `fingerprint` marks the capture of an idempotent request (see `IdempotencyClaim`).
async fn run_create(
    state: &AppState,
    auth: &Authenticated,
    body: CreateLead,
    fingerprint: Option<String>,
) -> ApiResult<(StatusCode, CaptureAnswer)> {
    let too_many = crate::limits::capture_body(&body);
    if !too_many.is_empty() {
        return Err(ApiError::invalid(too_many));
    }
    let mut errors = consent_errors(&body.consent);
    let custom = custom_values(&body.custom).unwrap_or_else(|e| {
        errors.extend(e);
        BTreeMap::new()
    });
    let default_region = match &body.default_region {
        Some(r) => match leadline_domain::normalize::normalize_country(r) {
            Some(code) => Some(code),
            None => {
                errors.push(FieldError {
                    field: "default_region".into(),
                    code: "unknown_country".into(),
                    message: format!("{r:?} is not a country"),
                });
                None
            }
        },
        None => None,
    };
    let source_name = body.source.as_deref().map(str::trim).unwrap_or("API");
    if source_name.is_empty() || source_name.chars().count() > 200 {
        errors.push(FieldError {
            field: "source".into(),
            code: "invalid_length".into(),
            message: "a source name has 1 to 200 characters".into(),
        });
    }
    if !errors.is_empty() {
        return Err(ApiError::invalid(errors));
    }
    let channel = body.channel.unwrap_or(Channel::Api);
    let source = state.app.ensure_source(source_name, channel).await?;
    let campaign = state
        .app
        .ensure_campaign(body.campaign.as_deref(), &source, channel)
        .await?;
    let input = LeadInput {
        first_name: body.first_name,
        last_name: body.last_name,
        full_name: body.full_name,
        title: body.title,
        email: body.email,
        phone: body.phone,
        company: body.company,
        website: body.website,
        street: body.street,
        postal_code: body.postal_code,
        city: body.city,
        region: body.region,
        country: body.country,
        date_of_birth: body.date_of_birth,
        custom,
    };
    let actor = auth.actor();
    let mut capture = Capture::new(input, channel, &source.id, &actor);
    capture.caller = Some(CaptureCaller {
        user_id: auth.0.user.id.clone(),
        scope: auth.scope().clone(),
    });
    capture.campaign_id = campaign.map(|c| c.id);
    capture.attribution = body.attribution;
    capture.default_region = default_region;
    capture.fingerprint = fingerprint;
    capture.consents = body
        .consent
        .into_iter()
        .map(|c| ConsentGrant {
            channel: c.channel,
            granted: c.granted,
            wording: c.wording,
            evidence: if c.evidence.is_null() {
                json!({ "api_token": auth.0.token.id, "user_id": auth.0.user.id })
            } else {
                c.evidence
            },
        })
        .collect();
    let scope = auth.scope();
    match state.app.capture(capture).await? {
        CaptureOutcome::Created {
            lead_id,
            possible_duplicate_of,
        } => {
            let lead = state.app.lead_for(scope, &lead_id).await?;
            Ok((
                StatusCode::CREATED,
                CaptureAnswer::Created {
                    lead,
                    possible_duplicate_of,
                },
            ))
        }
        CaptureOutcome::Merged {
            lead_id,
            filled,
            conflicts,
        } => {
            let lead = state.app.lead_for(scope, &lead_id).await?;
            Ok((
                StatusCode::OK,
                CaptureAnswer::Merged {
                    lead,
                    filled,
                    conflicts,
                },
            ))
        }
        CaptureOutcome::Unchanged { lead_id } => {
            let lead = state.app.lead_for(scope, &lead_id).await?;
            Ok((StatusCode::OK, CaptureAnswer::Unchanged { lead }))
        }
        // Nothing of the other lead is shown, not even its id: only that the person is
        // someone else's lead now, so the caller does not chase them too.
        CaptureOutcome::RecordedForOwner { .. } => Ok((
            StatusCode::ACCEPTED,
            CaptureAnswer::RecordedForOwner {
                lead: None,
                message: "this person is already a lead you cannot see; the capture was added to that lead's history for its owner".into(),
            },
        )),
        CaptureOutcome::Rejected { errors } => Err(ApiError::invalid(errors)),
    }
}

fn json_response(status: StatusCode, body: String, replayed: bool) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if replayed {
        headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    response
}

/// Idempotency keys are opaque client strings: printable ASCII, at most 255 long.
fn idempotency_key(headers: &HeaderMap) -> ApiResult<Option<String>> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value.to_str().ok().map(str::trim).filter(|k| {
        !k.is_empty() && k.len() <= 255 && k.bytes().all(|b| (0x21..0x7f).contains(&b))
    });
    match key {
        Some(k) => Ok(Some(k.to_string())),
        None => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_idempotency_key",
            "Idempotency-Key must be 1 to 255 printable ASCII characters",
        )
        .field("Idempotency-Key")),
    }
}

async fn create_lead(
    auth: Authenticated,
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<CreateLead>,
) -> ApiResult<Response> {
    auth.require(Permission::WriteLeads)?;
    let Some(key) = idempotency_key(&headers)? else {
        let (status, answer) = run_create(&state, &auth, body, None).await?;
        return Ok((status, Json(answer)).into_response());
    };
    let hash = hex::encode(Sha256::digest(
        serde_json::to_vec(&body).unwrap_or_default(),
    ));
    let claim = match state
        .app
        .begin_idempotent(&auth.0.token.id, &key, &hash)
        .await?
    {
        Idempotency::Fresh(claim) => claim,
        Idempotency::Replay { status, body } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            return Ok(json_response(status, body, true));
        }
        Idempotency::InProgress { retry_after_ms } => {
            let mut response = ApiError::new(
                StatusCode::CONFLICT,
                "idempotency_key_in_progress",
                "a request with this Idempotency-Key is still being processed; retry after the Retry-After seconds",
            )
            .into_response();
            let secs = (retry_after_ms.max(1) + 999) / 1000;
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
            return Ok(response);
        }
        Idempotency::Mismatch => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "this Idempotency-Key was used with a different request body",
            )
            .field("Idempotency-Key"))
        }
    };
    let fingerprint = Some(claim.capture_fingerprint());
    let (status, text) = match run_create(&state, &auth, body, fingerprint).await {
        Ok((status, answer)) => (status, serde_json::to_string(&answer).unwrap_or_default()),
        Err(e) => (e.status, e.body().to_string()),
    };
    state
        .app
        .finish_idempotent(&claim, status.as_u16(), &text)
        .await?;
    Ok(json_response(status, text, false))
}

async fn get_lead(
    auth: Authenticated,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Response> {
    auth.require_lead(Permission::ReadLeads, &state.app, &id)
        .await?;
    Ok(Json(state.app.lead_detail(auth.scope(), &id).await?).into_response())
}

async fn timeline(
    auth: Authenticated,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Response> {
    auth.require_lead(Permission::ReadLeads, &state.app, &id)
        .await?;
    let events = state.app.timeline(auth.scope(), &id).await?;
    Ok(Json(TimelineAnswer {
        lead_id: id,
        events,
    })
    .into_response())
}

/// The `PATCH /api/v1/leads/{id}` body, documented from the same field list
/// `parse_patch` accepts: a string sets a field, null clears it, an absent field stays.
pub struct LeadPatchBody;

impl JsonSchema for LeadPatchBody {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "LeadPatch".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let mut properties = serde_json::Map::new();
        for field in LeadField::ALL {
            properties.insert(field.as_str().into(), json!({ "type": ["string", "null"] }));
        }
        properties.insert(
            "custom".into(),
            json!({ "type": "object", "description": "Custom attributes; null removes one",
                    "additionalProperties": { "type": ["string", "number", "boolean", "null"] } }),
        );
        schemars::json_schema!({
            "type": "object",
            "description": "Fields to change: a string sets, null clears, an absent field is kept. Every change is a timeline event and the lead is rescored.",
            "properties": properties,
            "additionalProperties": false,
            "example": { "title": "CTO", "phone": null, "custom": { "budget": "50k" } }
        })
    }
}

/// `PATCH` body: `{"title": "CTO", "phone": null, "custom": {"budget": "50k"}}`.
fn parse_patch(body: serde_json::Map<String, Value>) -> Result<LeadPatch, Vec<FieldError>> {
    let mut patch = LeadPatch::default();
    let mut errors = Vec::new();
    let invalid = |field: &str, code: &str, message: &str| FieldError {
        field: field.to_string(),
        code: code.to_string(),
        message: message.to_string(),
    };
    for (name, value) in body {
        if name == "custom" {
            match value {
                Value::Object(map) => {
                    for (key, v) in map {
                        match v {
                            Value::String(s) => {
                                patch.custom.insert(key, Some(s));
                            }
                            Value::Null => {
                                patch.custom.insert(key, None);
                            }
                            Value::Number(n) => {
                                patch.custom.insert(key, Some(n.to_string()));
                            }
                            Value::Bool(b) => {
                                patch.custom.insert(key, Some(b.to_string()));
                            }
                            _ => errors.push(invalid(
                                &format!("custom.{key}"),
                                "invalid_type",
                                "must be a string, number, boolean or null",
                            )),
                        }
                    }
                }
                _ => errors.push(invalid(
                    "custom",
                    "invalid_type",
                    "custom must be an object",
                )),
            }
            continue;
        }
        let Ok(field) = name.parse::<LeadField>() else {
            errors.push(invalid(&name, "unknown_field", "not a lead field"));
            continue;
        };
        match value {
            Value::String(s) => {
                patch.fields.insert(field, Some(s));
            }
            Value::Null => {
                patch.fields.insert(field, None);
            }
            _ => errors.push(invalid(&name, "invalid_type", "must be a string or null")),
        }
    }
    if errors.is_empty() {
        Ok(patch)
    } else {
        Err(errors)
    }
}

async fn patch_lead(
    auth: Authenticated,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<serde_json::Map<String, Value>>,
) -> ApiResult<Response> {
    auth.require_lead(Permission::WriteLeads, &state.app, &id)
        .await?;
    crate::limits::lead_patch(&body).map_err(ApiError::invalid)?;
    let patch = parse_patch(body).map_err(ApiError::invalid)?;
    let lead = state
        .app
        .patch_lead(auth.scope(), &id, &patch, &auth.actor())
        .await?;
    Ok(Json(lead).into_response())
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Any spelling of an e-mail address; a merged-away address finds its survivor.
    pub email: Option<String>,
    /// A phone number in any format.
    pub phone: Option<String>,
    /// A company name; legal forms and case are ignored.
    pub company: Option<String>,
    /// Source name or id.
    pub source: Option<String>,
    pub stage: Option<String>,
    /// Inclusive lower bound: an RFC 3339 time, epoch milliseconds, or a date
    /// (`2026-11-01`: from the start of that day, UTC).
    pub created_from: Option<String>,
    /// Exclusive upper bound: an RFC 3339 time, epoch milliseconds, or a date
    /// (`2026-11-30`: through the end of that day, UTC — the bound is the next midnight).
    pub created_to: Option<String>,
    /// 1 to 500, default 50.
    #[schemars(range(min = 1, max = 500))]
    pub limit: Option<usize>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A bound of a time range: epoch ms, an RFC 3339 time, or a date. A date means its
/// first instant (UTC), except as the exclusive upper bound `…_to`, where it means the
/// day's end: the next midnight.
fn parse_time(field: &str, value: &str) -> Result<i64, FieldError> {
    if let Ok(ms) = value.parse::<i64>() {
        return Ok(ms);
    }
    if let Ok(t) =
        time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc3339)
    {
        return Ok((t.unix_timestamp_nanos() / 1_000_000) as i64);
    }
    let day = time::Date::parse(
        value,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .ok()
    .and_then(|d| {
        if field.ends_with("_to") {
            d.next_day()
        } else {
            Some(d)
        }
    });
    match day {
        Some(d) => Ok(d.midnight().assume_utc().unix_timestamp() * 1000),
        None => Err(FieldError {
            field: field.into(),
            code: "invalid_time".into(),
            message: "use a date (2026-01-31), an RFC 3339 time (2026-01-31T09:00:00Z) or epoch milliseconds".into(),
        }),
    }
}

fn encode_cursor(c: &LeadCursor) -> String {
    format!("{}.{}", c.created_at, c.id)
}

fn decode_cursor(s: &str) -> Option<LeadCursor> {
    let (ts, id) = s.split_once('.')?;
    let valid_id =
        !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric());
    valid_id.then_some(())?;
    Some(LeadCursor {
        created_at: ts.parse().ok()?,
        id: id.to_string(),
    })
}

async fn list_leads(
    auth: Authenticated,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Response> {
    auth.require(Permission::ReadLeads)?;
    let mut errors = Vec::new();
    let mut filter = LeadFilter::default();
    if let Some(email) = &q.email {
        match EmailAddress::parse(email) {
            Ok(e) => filter.email_key = Some(e.match_key()),
            Err(e) => errors.push(FieldError {
                field: "email".into(),
                code: "invalid_email".into(),
                message: e.to_string(),
            }),
        }
    }
    if let Some(phone) = &q.phone {
        filter.phone = Some(match normalize_phone(phone, None) {
            PhoneValue::E164(p) => p,
            PhoneValue::Unparseable(raw) => raw,
        });
    }
    if let Some(company) = &q.company {
        filter.company_key = Some(company_match_key(company).unwrap_or_default());
    }
    if let Some(source) = &q.source {
        filter.source_id = Some(match state.app.source_by_name(source).await? {
            Some(s) => s.id,
            None => source.clone(),
        });
    }
    filter.stage = q.stage.clone();
    for (field, value, slot) in [
        ("created_from", &q.created_from, &mut filter.created_from),
        ("created_to", &q.created_to, &mut filter.created_to),
    ] {
        if let Some(v) = value {
            match parse_time(field, v) {
                Ok(ms) => *slot = Some(ms),
                Err(e) => errors.push(e),
            }
        }
    }
    let limit = q.limit.unwrap_or(50);
    if limit == 0 || limit > 500 {
        errors.push(FieldError {
            field: "limit".into(),
            code: "out_of_range".into(),
            message: "limit must be 1 to 500".into(),
        });
    }
    let cursor = match &q.cursor {
        Some(c) => match decode_cursor(c) {
            Some(c) => Some(c),
            None => {
                errors.push(FieldError {
                    field: "cursor".into(),
                    code: "invalid_cursor".into(),
                    message: "the cursor is not one this API returned".into(),
                });
                None
            }
        },
        None => None,
    };
    if !errors.is_empty() {
        return Err(ApiError::invalid(errors));
    }
    let (leads, next) = state
        .app
        .list_leads(auth.scope(), &filter, cursor.as_ref(), limit)
        .await?;
    let next_cursor = next.as_ref().map(encode_cursor);
    Ok(Json(LeadList { leads, next_cursor }).into_response())
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeBody {
    /// The lead to fold into the one in the path.
    pub other_lead_id: String,
    /// Fields whose value comes from the other lead instead of the one in the path
    /// (lead field names or `custom.<name>`); the replaced values stay in history as
    /// alternates. By default the lead in the path keeps every value it has.
    #[serde(default)]
    pub take_from_other: Vec<String>,
}

async fn merge_lead(
    auth: Authenticated,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<MergeBody>,
) -> ApiResult<Response> {
    auth.require(Permission::MergeLeads)?;
    let merge = state
        .app
        .merge_leads_picking(
            auth.scope(),
            &id,
            &body.other_lead_id,
            &body.take_from_other,
            &auth.actor(),
        )
        .await?;
    let lead = state.app.lead_for(auth.scope(), &id).await?;
    Ok(Json(MergeAnswer {
        merge_id: merge.id,
        survivor_id: merge.survivor_id,
        merged_id: merge.merged_id,
        lead,
    })
    .into_response())
}

async fn undo_merge(
    auth: Authenticated,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Response> {
    auth.require(Permission::MergeLeads)?;
    let merge = state
        .app
        .undo_merge(auth.scope(), &id, &auth.actor())
        .await?;
    let survivor = state.app.lead_for(auth.scope(), &merge.survivor_id).await?;
    let restored = state.app.lead_for(auth.scope(), &merge.merged_id).await?;
    Ok(Json(UndoAnswer {
        merge_id: merge.id,
        undone_at: merge.undone_at,
        survivor,
        restored,
    })
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_tampering() {
        let c = LeadCursor {
            created_at: 1_700_000_000_000,
            id: "01HZX".into(),
        };
        assert_eq!(decode_cursor(&encode_cursor(&c)), Some(c));
        for bad in ["", "x.y", "1.", "1.a b", "1.'; DROP TABLE leads;--"] {
            assert_eq!(decode_cursor(bad), None, "{bad}");
        }
    }

    #[test]
    fn patches_name_every_bad_field() {
        let body = json!({ "title": "CTO", "phone": null, "emial": "x", "company": 5, "custom": { "a": [1] } });
        let errors = parse_patch(body.as_object().unwrap().clone()).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["company", "custom.a", "emial"]);
    }
}
