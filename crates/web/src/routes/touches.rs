//! Reps' touches on a lead, and the leads losing touch.

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Authenticated};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use leadline_domain::access::Permission;
use leadline_service::sales_touches::LosingTouch;
use leadline_service::sales_touches::TouchInput;
use leadline_store::work::SalesTouch;
use schemars::JsonSchema;
use serde::Deserialize;
use serde::Serialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/leads/{id}/touches",
            get(list_touches).post(record_touch),
        )
        .route("/api/v1/losing-touch", get(losing_touch))
}

async fn record_touch(
    auth: Authenticated,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<TouchInput>,
) -> ApiResult<Response> {
    auth.require_lead(Permission::WriteLeads, &state.app, &id)
        .await?;
    let result = state
        .app
        .record_touch(&id, &body, &auth.0.user.id, &auth.actor())
        .await?;
    Ok((StatusCode::CREATED, Json(result)).into_response())
}

async fn list_touches(
    auth: Authenticated,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Response> {
    auth.require_lead(Permission::ReadLeads, &state.app, &id)
        .await?;
    let touches = state.app.sales_touches(&id).await?;
    Ok(Json(TouchList {
        lead_id: id,
        touches,
    })
    .into_response())
}

/// `GET /api/v1/leads/{id}/touches`: oldest first.
#[derive(Debug, Serialize, JsonSchema)]
pub struct TouchList {
    pub lead_id: String,
    pub touches: Vec<SalesTouch>,
}

/// `GET /api/v1/losing-touch`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct LosingTouchList {
    pub max_idle_hours: i64,
    pub leads: Vec<LosingTouch>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LosingQuery {
    /// A lead nobody touched for this long is losing touch (default 72 hours).
    #[schemars(range(min = 1, max = 8760))]
    max_idle_hours: Option<i64>,
}

async fn losing_touch(
    auth: Authenticated,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<LosingQuery>,
) -> ApiResult<Response> {
    auth.require(Permission::ReadLeads)?;
    let hours = q.max_idle_hours.unwrap_or(72);
    if !(1..=24 * 365).contains(&hours) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "out_of_range",
            "max_idle_hours is 1 to 8760",
        )
        .field("max_idle_hours"));
    }
    let leads = state
        .app
        .losing_touch(auth.scope(), hours * 3_600_000)
        .await?;
    Ok(Json(LosingTouchList {
        max_idle_hours: hours,
        leads,
    })
    .into_response())
}
