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
use leadline_domain::scoring::ScoringConfig;
use leadline_store::work::LeadWork;
use serde::Deserialize;
use serde_json::json;

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

fn score_body(w: &LeadWork) -> serde_json::Value {
    json!({
        "lead_id": w.lead_id,
        "fit": w.fit_score,
        "engagement": w.engagement_score,
        "total": w.score,
        "explanation": w.score_explanation,
        "scored_at": w.scored_at,
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EventBody {
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
