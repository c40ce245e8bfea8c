//! The lifecycle: its configuration, and moving leads through it.

use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath, Authenticated};
use crate::AppState;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use leadline_domain::access::Permission;
use leadline_domain::lifecycle::Lifecycle;
use schemars::JsonSchema;
use serde::Deserialize;
use std::collections::BTreeMap;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/lifecycle", get(get_lifecycle).put(put_lifecycle))
        .route("/api/v1/leads/{id}/qualification", get(qualification))
        .route("/api/v1/leads/{id}/answers", put(set_answers))
        .route("/api/v1/leads/{id}/stage", post(change_stage))
}

async fn get_lifecycle(auth: Authenticated, State(state): State<AppState>) -> ApiResult<Response> {
    auth.require(Permission::ReadLeads)?;
    Ok(Json(state.app.lifecycle().await?).into_response())
}

async fn put_lifecycle(
    auth: Authenticated,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<Lifecycle>,
) -> ApiResult<Response> {
    auth.require(Permission::ConfigureLifecycle)?;
    state.app.set_lifecycle(&body).await?;
    Ok(Json(body).into_response())
}

async fn qualification(
    auth: Authenticated,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Response> {
    auth.require_lead(Permission::ReadLeads, &state.app, &id)
        .await?;
    Ok(Json(state.app.qualification(&id).await?).into_response())
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswersBody {
    /// Question → answer text (`"yes"`, `"no"`, `"3_months"`, `"2027-03-01"` …); null clears.
    #[serde(default)]
    answers: BTreeMap<String, Option<String>>,
    /// `"short_range"` / `"long_range"` overrides the derived horizon; null removes the override.
    #[serde(default, deserialize_with = "double_option::deserialize")]
    #[schemars(with = "Option<leadline_domain::qualification::Horizon>")]
    horizon: Option<Option<String>>,
}

/// Tells an absent field (no change) from an explicit null (clear).
mod double_option {
    use serde::{Deserialize, Deserializer};
    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Option<String>>, D::Error> {
        Option::<String>::deserialize(d).map(Some)
    }
}

async fn set_answers(
    auth: Authenticated,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<AnswersBody>,
) -> ApiResult<Response> {
    auth.require_lead(Permission::WriteLeads, &state.app, &id)
        .await?;
    let q = state
        .app
        .set_answers(&id, &body.answers, body.horizon, &auth.actor())
        .await?;
    Ok(Json(q).into_response())
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StageBody {
    stage: String,
    /// Required when disqualifying: one of the lifecycle's disqualify reasons.
    reason: Option<String>,
}

async fn change_stage(
    auth: Authenticated,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<StageBody>,
) -> ApiResult<Response> {
    auth.require_lead(Permission::WriteLeads, &state.app, &id)
        .await?;
    let q = state
        .app
        .change_stage(
            &id,
            body.stage.trim(),
            body.reason.as_deref(),
            &auth.actor(),
        )
        .await?;
    Ok(Json(q).into_response())
}
