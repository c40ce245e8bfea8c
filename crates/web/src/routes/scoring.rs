//! Scoring: the rules, engagement events, and each lead's explained score.

use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath, Authenticated};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use leadline_domain::access::Permission;
use leadline_domain::scoring::ScorePart;
use leadline_domain::scoring::ScoringConfig;
use leadline_store::work::LeadWork;
use schemars::JsonSchema;
use serde::Deserialize;
use serde::Serialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/scoring", get(get_config).put(put_config))
        .route("/api/v1/leads/{id}/events", post(record_event))
        .route("/api/v1/leads/{id}/score", get(lead_score))
}

async fn get_config(auth: Authenticated, State(state): State<AppState>) -> ApiResult<Response> {
    auth.require(Permission::ReadLeads)?;
    Ok(Json(state.app.scoring_config().await?).into_response())
}

async fn put_config(
    auth: Authenticated,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<ScoringConfig>,
) -> ApiResult<Response> {
    auth.require(Permission::ConfigureScoring)?;
    state.app.set_scoring_config(&body).await?;
    Ok(Json(body).into_response())
}

/// A lead's score; the numbers are null until it was first scored.
#[derive(Debug, Serialize, JsonSchema)]
pub struct LeadScore {
    pub lead_id: String,
    pub fit: Option<f64>,
    pub engagement: Option<f64>,
    /// `fit + engagement`: what the stage thresholds compare against.
    pub total: Option<f64>,
    pub explanation: Option<ScoreExplanation>,
    /// Epoch milliseconds.
    pub scored_at: Option<i64>,
}

/// Every rule and activity that gave points, as stored with the score.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct ScoreExplanation {
    pub parts: Vec<ScorePart>,
    /// Matching activities left out because their points have faded to 0.00.
    #[serde(default)]
    pub faded: usize,
    /// Matching activities left out because their rule's daily cap was reached.
    #[serde(default)]
    pub capped: usize,
}

fn score_body(w: &LeadWork) -> LeadScore {
    LeadScore {
        lead_id: w.lead_id.clone(),
        fit: w.fit_score,
        engagement: w.engagement_score,
        total: w.score,
        explanation: w
            .score_explanation
            .clone()
            .and_then(|v| serde_json::from_value(v).ok()),
        scored_at: w.scored_at,
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EventBody {
    /// `email_opened`, `email_clicked`, `page_visited`, `demo_requested` …: a type
    /// some engagement rule scores (`GET /api/v1/scoring`).
    #[serde(rename = "type")]
    event_type: String,
    /// Epoch milliseconds; default now. At most a few minutes ahead (clock skew).
    occurred_at: Option<i64>,
}

async fn record_event(
    auth: Authenticated,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<EventBody>,
) -> ApiResult<Response> {
    auth.require_lead(Permission::WriteLeads, &state.app, &id)
        .await?;
    let w = state
        .app
        .record_activity(&id, &body.event_type, body.occurred_at, &auth.actor())
        .await?;
    Ok((StatusCode::CREATED, Json(score_body(&w))).into_response())
}

async fn lead_score(
    auth: Authenticated,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Response> {
    auth.require_lead(Permission::ReadLeads, &state.app, &id)
        .await?;
    Ok(Json(score_body(&state.app.lead_score(&id).await?)).into_response())
}
