//! `/api/v1/users` and `/api/v1/teams`: people, their roles and rep settings.

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, Authenticated};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use leadline_domain::access::Permission;
use leadline_domain::access::Role;
use leadline_service::users::UserInput;
use leadline_service::ServiceError;
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

/// A manager's lead scope is their teams' members' leads, so a manager (who manages
/// teams but not users) may not widen it over people another manager looks after:
/// they change only teams they manage, name no other manager, and take in only reps
/// no other manager's team has. An admin changes any team.
async fn check_team_change(
    auth: &Authenticated,
    state: &AppState,
    id: Option<&str>,
    body: &TeamBody,
) -> ApiResult<()> {
    if auth.0.role.allows(Permission::ManageUsers) {
        return Ok(());
    }
    let me = auth.0.user.id.as_str();
    let forbidden =
        |message: String| Err(ApiError::new(StatusCode::FORBIDDEN, "forbidden", message));
    let teams = state.app.list_teams().await?;
    if let Some(team) = id.and_then(|id| teams.iter().find(|t| t.id == id)) {
        if team.manager_id.as_deref() != Some(me) {
            return forbidden(format!("team {:?} is not yours to change", team.name));
        }
    }
    if body.manager_id.as_deref().is_some_and(|m| m != me) {
        return forbidden("a manager makes teams they manage themselves".into());
    }
    for member in &body.member_ids {
        let theirs = teams.iter().find(|t| {
            t.manager_id.as_deref().is_some_and(|m| m != me) && t.member_ids.contains(member)
        });
        if let Some(team) = theirs {
            return forbidden(format!(
                "{member:?} is in team {:?}, which another manager runs",
                team.name
            ));
        }
        match state.app.user(member).await {
            Ok(user) if user.role != "rep" => {
                return forbidden(format!(
                    "{member:?} is not a rep; only an admin puts them in a team"
                ))
            }
            // Unknown ids are named, all at once, by `save_team`.
            Ok(_) | Err(ServiceError::NotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

async fn create_team(
    auth: Authenticated,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<TeamBody>,
) -> ApiResult<Response> {
    auth.require(Permission::ManageTeams)?;
    check_team_change(&auth, &state, None, &body).await?;
    let team = state
        .app
        .save_team(
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
    check_team_change(&auth, &state, Some(&id), &body).await?;
    let team = state
        .app
        .save_team(
            Some(&id),
            &body.name,
            body.manager_id.as_deref(),
            &body.member_ids,
        )
        .await?;
    Ok(Json(team).into_response())
}
