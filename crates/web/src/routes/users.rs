//! `/api/v1/users` and `/api/v1/teams`: people, their roles and rep settings.

use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath, Authenticated};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use leadline_domain::access::Permission;
use leadline_domain::access::Role;
use leadline_service::users::{TeamEditor, UserInput};
use leadline_store::tokens::ApiToken;
use leadline_store::users::{TeamRow, UserRow};
use schemars::JsonSchema;
use serde::Deserialize;
use serde::Serialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/users", get(list_users).post(create_user))
        .route("/api/v1/users/me", get(me))
        .route("/api/v1/users/{id}", get(get_user).patch(update_user))
        .route("/api/v1/teams", get(list_teams).post(create_team))
        .route("/api/v1/teams/{id}", put(replace_team))
}

async fn me(auth: Authenticated) -> ApiResult<Response> {
    let p = &auth.0;
    Ok(Json(Me {
        user: p.user.clone(),
        role: p.role,
        token: p.token.clone(),
    })
    .into_response())
}

/// `GET /api/v1/users/me`: who this token acts as.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Me {
    pub user: UserRow,
    pub role: Role,
    pub token: ApiToken,
}

/// `GET /api/v1/users`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct UserList {
    pub users: Vec<UserRow>,
}

/// `GET /api/v1/teams`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct TeamList {
    pub teams: Vec<TeamRow>,
}

async fn list_users(auth: Authenticated, State(state): State<AppState>) -> ApiResult<Response> {
    auth.require(Permission::ReadUsers)?;
    let users = state.app.list_users().await?;
    Ok(Json(UserList { users }).into_response())
}

async fn get_user(
    auth: Authenticated,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Response> {
    if auth.0.user.id != id {
        auth.require(Permission::ReadUsers)?;
    }
    Ok(Json(state.app.user(&id).await?).into_response())
}

async fn create_user(
    auth: Authenticated,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<UserInput>,
) -> ApiResult<Response> {
    auth.require(Permission::ManageUsers)?;
    Ok((
        StatusCode::CREATED,
        Json(state.app.create_user(body).await?),
    )
        .into_response())
}

async fn update_user(
    auth: Authenticated,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<UserInput>,
) -> ApiResult<Response> {
    auth.require(Permission::ManageUsers)?;
    Ok(Json(state.app.update_user(&id, body).await?).into_response())
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamBody {
    name: String,
    /// A user with the manager (or admin) role; null: none.
    manager_id: Option<String>,
    /// The team's reps (user ids); a PUT replaces the list.
    #[serde(default)]
    member_ids: Vec<String>,
}

async fn list_teams(auth: Authenticated, State(state): State<AppState>) -> ApiResult<Response> {
    auth.require(Permission::ReadUsers)?;
    let teams = state.app.list_teams().await?;
    Ok(Json(TeamList { teams }).into_response())
}

/// Who is saving a team: someone who manages users is unrestricted, a manager is held
/// to the rule that keeps their lead scope theirs (`access::refuse_team_change`).
fn team_editor(auth: &Authenticated) -> TeamEditor<'_> {
    if auth.0.role.allows(Permission::ManageUsers) {
        TeamEditor::Admin
    } else {
        TeamEditor::Manager(&auth.0.user.id)
    }
}

async fn create_team(
    auth: Authenticated,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<TeamBody>,
) -> ApiResult<Response> {
    auth.require(Permission::ManageTeams)?;
    let team = state
        .app
        .save_team(
            team_editor(&auth),
            None,
            &body.name,
            body.manager_id.as_deref(),
            &body.member_ids,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(team)).into_response())
}

async fn replace_team(
    auth: Authenticated,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<TeamBody>,
) -> ApiResult<Response> {
    auth.require(Permission::ManageTeams)?;
    let team = state
        .app
        .save_team(
            team_editor(&auth),
            Some(&id),
            &body.name,
            body.manager_id.as_deref(),
            &body.member_ids,
        )
        .await?;
    Ok(Json(team).into_response())
}
