//! Sources and campaigns, for reporting and for picking them in captures.

use crate::error::ApiResult;
use crate::extract::Authenticated;
use crate::AppState;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use leadline_domain::access::Permission;
use leadline_store::sources::{Campaign, Source};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/sources", get(list_sources))
        .route("/api/v1/campaigns", get(list_campaigns))
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
