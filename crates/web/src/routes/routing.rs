//! Routing: the ordered rules, and routing a lead on demand.

use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath, Authenticated};
use crate::AppState;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use leadline_domain::access::Permission;
use leadline_domain::sla::SlaPolicy;
use leadline_service::routing::RoutingRules;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/routing", get(get_rules).put(put_rules))
        .route("/api/v1/leads/{id}/route", post(route_lead))
        .route("/api/v1/leads/{id}/owner", put(assign_lead))
        .route(
            "/api/v1/sla-policies",
            get(get_sla_policies).put(put_sla_policies),
        )
        .route("/api/v1/accounts/{id}", get(get_account))
        .route("/api/v1/accounts/{id}/owner", put(put_account_owner))
}

async fn get_account(
    auth: Authenticated,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Response> {
    auth.require(Permission::ReadAccounts)?;
    Ok(Json(state.app.account(&id).await?).into_response())
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountOwner {
    owner_id: Option<String>,
}

/// Gives the account to a rep (`null` frees it).
async fn put_account_owner(
    auth: Authenticated,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<AccountOwner>,
) -> ApiResult<Response> {
    auth.require(Permission::ManageTeams)?;
    let account = state
        .app
        .set_account_owner(&id, body.owner_id.as_deref())
        .await?;
    Ok(Json(account).into_response())
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SlaPolicies {
    policies: Vec<SlaPolicy>,
}

async fn get_sla_policies(
    auth: Authenticated,
    State(state): State<AppState>,
) -> ApiResult<Response> {
    auth.require(Permission::ReadUsers)?;
    let policies = state.app.sla_policies().await?;
    Ok(Json(SlaPolicies { policies }).into_response())
}

/// Replaces the speed-to-lead policies (checked one by one).
async fn put_sla_policies(
    auth: Authenticated,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<SlaPolicies>,
) -> ApiResult<Response> {
    auth.require(Permission::ManageTeams)?;
    state.app.set_sla_policies(&body.policies).await?;
    Ok(Json(body).into_response())
}

async fn get_rules(auth: Authenticated, State(state): State<AppState>) -> ApiResult<Response> {
    auth.require(Permission::ReadUsers)?;
    Ok(Json(state.app.routing_rules().await?).into_response())
}

async fn put_rules(
    auth: Authenticated,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<RoutingRules>,
) -> ApiResult<Response> {
    auth.require(Permission::ManageTeams)?;
    state.app.set_routing_rules(&body).await?;
    Ok(Json(body).into_response())
}

/// `PUT /api/v1/leads/{id}/owner`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LeadOwner {
    /// An active rep.
    pub owner_id: String,
}

/// Gives a lead to a rep by hand (managers, admins).
async fn assign_lead(
    auth: Authenticated,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<LeadOwner>,
) -> ApiResult<Response> {
    auth.require_lead(Permission::ManageTeams, &state.app, &id)
        .await?;
    let routed = state
        .app
        .assign_lead(auth.scope(), &id, &body.owner_id, &auth.actor())
        .await?;
    Ok(Json(routed).into_response())
}

/// Routes (or re-routes) a lead now, whatever its stage.
async fn route_lead(
    auth: Authenticated,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Response> {
    auth.require_lead(Permission::ManageTeams, &state.app, &id)
        .await?;
    Ok(Json(state.app.route_lead(&id, &[]).await?).into_response())
}
