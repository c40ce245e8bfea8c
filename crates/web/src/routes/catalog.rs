//! Sources and campaigns, for reporting and for picking them in captures. Campaigns
//! carry their cost and dates, which marketing sets here.

use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath, Authenticated};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use leadline_domain::access::Permission;
use leadline_service::catalog::CampaignInput;
use leadline_store::sources::{Campaign, Source};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/sources", get(list_sources))
        .route(
            "/api/v1/campaigns",
            get(list_campaigns).post(create_campaign),
        )
        .route(
            "/api/v1/campaigns/{id}",
            get(get_campaign).patch(update_campaign),
        )
}

async fn list_sources(
    auth: Authenticated,
    State(state): State<AppState>,
) -> ApiResult<Json<Vec<Source>>> {
    auth.require(Permission::ReadCatalog)?;
    Ok(Json(state.app.list_sources().await?))
}

async fn list_campaigns(
    auth: Authenticated,
    State(state): State<AppState>,
) -> ApiResult<Json<Vec<Campaign>>> {
    auth.require(Permission::ReadCatalog)?;
    Ok(Json(state.app.list_campaigns().await?))
}

async fn get_campaign(
    auth: Authenticated,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Campaign>> {
    auth.require(Permission::ReadCatalog)?;
    Ok(Json(state.app.campaign(&id).await?))
}

async fn create_campaign(
    auth: Authenticated,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<CampaignInput>,
) -> ApiResult<Response> {
    auth.require(Permission::ManageCampaigns)?;
    let campaign = state.app.create_campaign(&body).await?;
    Ok((StatusCode::CREATED, Json(campaign)).into_response())
}

async fn update_campaign(
    auth: Authenticated,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<CampaignInput>,
) -> ApiResult<Json<Campaign>> {
    auth.require(Permission::ManageCampaigns)?;
    Ok(Json(state.app.update_campaign(&id, &body).await?))
}
