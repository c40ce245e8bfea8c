//! `/api/v1/tokens`: API tokens. Everyone lists, creates and revokes their own; an
//! admin (who manages users) sees and revokes everyone's and creates them for anyone.
//! Only hashes are stored: the secret is in the creation answer and nowhere else.

use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath, Authenticated};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use leadline_domain::access::Permission;
use leadline_store::tokens::ApiToken;
use schemars::JsonSchema;
use serde::Deserialize;
use serde::Serialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/tokens", get(list_tokens).post(create_token))
        .route("/api/v1/tokens/{id}", delete(revoke_token))
}

/// Whether the caller may act on every user's tokens.
fn manages_all(auth: &Authenticated) -> bool {
    auth.0.role.allows(Permission::ManageUsers)
}

async fn list_tokens(auth: Authenticated, State(state): State<AppState>) -> ApiResult<Response> {
    let owner = (!manages_all(&auth)).then_some(auth.0.user.id.as_str());
    let tokens = state.app.list_tokens(owner).await?;
    Ok(Json(TokenList { tokens }).into_response())
}

/// `GET /api/v1/tokens`: newest first, never a secret or hash.
#[derive(Debug, Serialize, JsonSchema)]
pub struct TokenList {
    pub tokens: Vec<ApiToken>,
}

/// `POST /api/v1/tokens`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct NewTokenAnswer {
    pub token: ApiToken,
    /// The bearer secret: shown in this answer only, stored as a hash.
    pub secret: String,
}

/// `DELETE /api/v1/tokens/{id}`: the token, now with `revoked_at`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct RevokedToken {
    pub token: ApiToken,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// 1 to 100 characters.
    #[schemars(length(min = 1, max = 100))]
    name: String,
    /// The user the token acts as; default the caller. Only an admin names another.
    user_id: Option<String>,
}

async fn create_token(
    auth: Authenticated,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<NewToken>,
) -> ApiResult<Response> {
    let user_id = body.user_id.unwrap_or_else(|| auth.0.user.id.clone());
    if user_id != auth.0.user.id {
        auth.require(Permission::ManageUsers)?;
    }
    let (token, secret) = state.app.create_token(&body.name, &user_id).await?;
    Ok((StatusCode::CREATED, Json(NewTokenAnswer { token, secret })).into_response())
}

async fn revoke_token(
    auth: Authenticated,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Response> {
    let token = state.app.token(&id).await?;
    if !manages_all(&auth) && token.user_id.as_deref() != Some(auth.0.user.id.as_str()) {
        // Someone else's token: as if it did not exist.
        return Err(leadline_service::ServiceError::not_found("token", &id).into());
    }
    let token = state.app.revoke_token(&id).await?;
    Ok(Json(RevokedToken { token }).into_response())
}
