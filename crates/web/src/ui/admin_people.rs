//! Settings: users (role, working hours and time zone, capacity, territories,
//! weight), teams, and API tokens. The same service calls as the API, so the same
//! checks and the same rules about who may change what.

use super::admin::{page, problems, refuse, require, respond, secret_once, status_for};
use super::forms::{form_value as get, refuse_form};
use super::layout::{csrf_field, field_errors};
use super::lead::error_response;
use super::{see_other, Signed};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Form;
use leadline_domain::access::{Permission, Role};
use leadline_domain::routing::Territory;
use leadline_domain::schedule::{local_time, WorkingHours};
use leadline_service::users::{TeamEditor, UserInput};
use leadline_service::ServiceError;
use leadline_store::users::{TeamRow, UserRow};
use maud::{html, Markup};
use serde_json::json;

const USERS: &str = "/admin/users";
const TOKENS: &str = "/admin/tokens";

fn hours_of(u: &UserRow) -> (String, String) {
    let hours: WorkingHours = serde_json::from_value(u.working_hours.clone()).unwrap_or_default();
    (hours.to_shorthand(), hours.time_zone.clone())
}

fn territories_of(u: &UserRow) -> String {
    serde_json::from_value::<Vec<Territory>>(u.territories.clone())
        .unwrap_or_default()
        .iter()
        .map(Territory::code)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The inputs of a user, filled from `u` (or empty for a new one).
fn user_inputs(prefix: &str, u: Option<&UserRow>, new: bool) -> Markup {
    let (shorthand, zone) = u
        .map(hours_of)
        .unwrap_or_else(|| ("mon-fri 09:00-17:00".into(), "UTC".into()));
    let id = |k: &str| format!("{prefix}-{k}");
    html! {
        div.user-fields {
            @if new {
                div { label for=(id("email")) { "E-mail" } input id=(id("email")) name="email" type="email" required maxlength="320"; }
            }
            div { label for=(id("name")) { "Name" } input id=(id("name")) name="name" type="text" value=[u.map(|u| u.name.as_str())] required maxlength="200"; }
            div {
                label for=(id("role")) { "Role" }
                select id=(id("role")) name="role" {
                    @for r in Role::ALL { option value=(r.as_str()) selected[u.is_some_and(|u| u.role == r.as_str()) || (u.is_none() && r == Role::Rep)] { (r.as_str()) } }
                }
            }
            div { label for=(id("password")) { @if new { "Password (for the web app)" } @else { "New password (empty: unchanged)" } } input id=(id("password")) name="password" type="password" autocomplete="new-password" maxlength="1024"; }
            div { label for=(id("zone")) { "Time zone" } input id=(id("zone")) name="time_zone" type="text" value=(zone) maxlength="64"; }
            div { label for=(id("hours")) { "Working hours" } input id=(id("hours")) name="hours" type="text" value=(shorthand) maxlength="500" aria-describedby=(id("hours-hint")); p.hint id=(id("hours-hint")) { "e.g. mon-fri 09:00-12:00,13:00-17:00; sat 10:00-14:00" } }
            div { label for=(id("capacity")) { "Capacity (open leads, 0: no limit)" } input id=(id("capacity")) name="capacity" type="text" inputmode="numeric" value=(u.map(|u| u.capacity).unwrap_or(0)); }
            div { label for=(id("weight")) { "Weight in round robin" } input id=(id("weight")) name="weight" type="text" inputmode="numeric" value=(u.map(|u| u.weight).unwrap_or(1)); }
            div { label for=(id("territories")) { "Territories" } input id=(id("territories")) name="territories" type="text" value=(u.map(territories_of).unwrap_or_default()) maxlength="1000"; p.hint { "Countries or regions, e.g. GB, US-CA" } }
            @if !new {
                label.check { input type="checkbox" name="active" value="yes" checked[u.is_some_and(|u| u.active)]; " Active (can sign in and take leads)" }
            }
        }
    }
}

/// The form's values as the service's user input; problems the page itself can tell.
fn user_input(form: &[(String, String)], new: bool) -> Result<UserInput, Vec<(String, String)>> {
    let mut errors = Vec::new();
    let number = |k: &str, errors: &mut Vec<(String, String)>| {
        let v = get(form, k).trim();
        match v.parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) if v.is_empty() => None,
            Err(_) => {
                errors.push((k.to_string(), format!("{v:?} is not a whole number")));
                None
            }
        }
    };
    let capacity = number("capacity", &mut errors);
    let weight = number("weight", &mut errors);
    let zone = get(form, "time_zone").trim();
    let working_hours = match WorkingHours::from_shorthand(
        get(form, "hours"),
        if zone.is_empty() { "UTC" } else { zone },
    ) {
        Ok(h) => serde_json::to_value(h).ok(),
        Err(e) => {
            errors.push(("working_hours".into(), e.to_string()));
            None
        }
    };
    let territories: Vec<Territory> = get(form, "territories")
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(Territory::from_code)
        .collect();
    let password = get(form, "password");
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(UserInput {
        email: new.then(|| get(form, "email").trim().to_string()),
        name: Some(get(form, "name").trim().to_string()),
        role: Some(get(form, "role").to_string()),
        password: (!password.is_empty()).then(|| password.to_string()),
        active: (!new).then(|| get(form, "active") == "yes"),
        working_hours,
        territories: Some(json!(territories)),
        capacity,
        weight,
    })
}

async fn users_page(state: &AppState, signed: &Signed, errors: &[(String, String)]) -> Response {
    let who = &signed.principal;
    let (users, teams) = match (state.app.list_users().await, state.app.list_teams().await) {
        (Ok(u), Ok(t)) => (u, t),
        (Err(e), _) | (_, Err(e)) => return error_response(e),
    };
    let admin = who.role.allows(Permission::ManageUsers);
    let may_team = who.role.allows(Permission::ManageTeams);
    let name_of = |id: &str| {
        users
            .iter()
            .find(|u| u.id == id)
            .map(|u| u.name.clone())
            .unwrap_or_else(|| id.to_string())
    };
    let reps: Vec<&UserRow> = users
        .iter()
        .filter(|u| u.role == "rep" && u.active)
        .collect();
    let managers: Vec<&UserRow> = users
        .iter()
        .filter(|u| u.role == "manager" && u.active)
        .collect();
    let body = html! {
        (problems(errors))
        section.card aria-labelledby="users-title" {
            h2 id="users-title" { "Users" }
            table {
                thead { tr { th scope="col" { "Name" } th scope="col" { "Role" } th scope="col" { "Working hours" } th scope="col" { "Capacity" } th scope="col" { "Weight" } th scope="col" { "Territories" } th scope="col" { "Active" } } }
                tbody {
                    @for u in &users {
                        @let (hours, zone) = hours_of(u);
                        tr {
                            td { @if admin { a href={ (USERS) "/" (u.id) } { (u.name) } } @else { (u.name) } br; span.hint { (u.email) } }
                            td { (u.role) }
                            td { (hours) " " span.hint { (zone) } }
                            td.num { (u.capacity) }
                            td.num { (u.weight) }
                            td { (territories_of(u)) }
                            td { @if u.active { "yes" } @else { "no" } }
                        }
                    }
                }
            }
            @if admin {
                details {
                    summary { "Add a user" }
                    form method="post" action=(USERS) {
                        (csrf_field(who))
                        (super::forms::nonce_field())
                        (user_inputs("new", None, true))
                        button type="submit" { "Add user" }
                    }
                }
            }
        }
        section.card aria-labelledby="teams-title" {
            h2 id="teams-title" { "Teams" }
            @if teams.is_empty() { p.empty { "No team yet." } }
            @for t in &teams {
                (team_form(who, Some(t), &reps, &managers, may_team, &name_of))
            }
            @if may_team {
                details {
                    summary { "Add a team" }
                    (team_form(who, None, &reps, &managers, true, &name_of))
                }
            }
        }
    };
    let status = status_for(errors);
    respond(status, page(who, USERS, "Users and teams", body))
}

fn team_form(
    who: &leadline_service::sessions::SessionPrincipal,
    team: Option<&TeamRow>,
    reps: &[&UserRow],
    managers: &[&UserRow],
    editable: bool,
    name_of: &dyn Fn(&str) -> String,
) -> Markup {
    let key = team.map(|t| t.id.clone()).unwrap_or_else(|| "new".into());
    let action = match team {
        Some(t) => format!("/admin/teams/{}", t.id),
        None => "/admin/teams".to_string(),
    };
    html! {
        @if editable {
            form.team method="post" action=(action) {
                (csrf_field(who))
                fieldset {
                    legend { @if let Some(t) = team { (t.name) } @else { "New team" } }
                    div { label for={ "team-name-" (key) } { "Name" } input id={ "team-name-" (key) } name="name" type="text" value=[team.map(|t| t.name.as_str())] required maxlength="200"; }
                    div {
                        label for={ "team-manager-" (key) } { "Manager" }
                        select id={ "team-manager-" (key) } name="manager_id" {
                            option value="" { "—" }
                            @for m in managers { option value=(m.id) selected[team.is_some_and(|t| t.manager_id.as_deref() == Some(m.id.as_str()))] { (m.name) } }
                        }
                    }
                    div.members {
                        p { "Members" }
                        @for r in reps {
                            label.check { input type="checkbox" name="member" value=(r.id) checked[team.is_some_and(|t| t.member_ids.contains(&r.id))]; " " (r.name) }
                        }
                    }
                    button.secondary type="submit" { @if team.is_some() { "Save team" } @else { "Add team" } }
                }
            }
        } @else if let Some(t) = team {
            p { strong { (t.name) } ": " (t.member_ids.iter().map(|m| name_of(m)).collect::<Vec<_>>().join(", ")) }
        }
    }
}

/// `GET /admin/users`.
pub async fn users(State(state): State<AppState>, signed: Signed) -> Response {
    if let Some(refused) = require(&signed, Permission::ReadUsers) {
        return refused;
    }
    users_page(&state, &signed, &[]).await
}

/// `POST /admin/users`: an admin adds a user.
pub async fn add_user(
    State(state): State<AppState>,
    headers: HeaderMap,
    signed: Signed,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    if let Some(r) = refuse(&state, &headers, &signed, &form, Permission::ManageUsers) {
        return r;
    }
    super::forms::once_form(
        &state,
        &signed,
        &form,
        USERS,
        add_user_now(&state, &signed, &form),
    )
    .await
}

async fn add_user_now(state: &AppState, signed: &Signed, form: &[(String, String)]) -> Response {
    let input = match user_input(form, true) {
        Ok(i) => i,
        Err(errors) => return users_page(state, signed, &errors).await,
    };
    match state.app.create_user(input).await {
        Ok(_) => see_other(USERS),
        Err(ServiceError::Invalid(e)) => users_page(state, signed, &field_errors(e)).await,
        Err(e) => error_response(e),
    }
}

/// `GET /admin/users/{id}`: an admin edits a user.
pub async fn edit_user(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
) -> Response {
    if let Some(refused) = require(&signed, Permission::ManageUsers) {
        return refused;
    }
    user_page(&state, &signed, &id, &[]).await
}

async fn user_page(
    state: &AppState,
    signed: &Signed,
    id: &str,
    errors: &[(String, String)],
) -> Response {
    let who = &signed.principal;
    let user = match state.app.user(id).await {
        Ok(u) => u,
        Err(e) => return error_response(e),
    };
    let body = html! {
        (problems(errors))
        form.card method="post" action={ (USERS) "/" (user.id) } {
            (csrf_field(who))
            p { (user.email) }
            (user_inputs("edit", Some(&user), false))
            button type="submit" { "Save" }
        }
        p { a href=(USERS) { "All users" } }
    };
    let status = status_for(errors);
    respond(status, page(who, USERS, &user.name, body))
}

/// `POST /admin/users/{id}`.
pub async fn save_user(
    State(state): State<AppState>,
    headers: HeaderMap,
    signed: Signed,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    if let Some(r) = refuse(&state, &headers, &signed, &form, Permission::ManageUsers) {
        return r;
    }
    let input = match user_input(&form, false) {
        Ok(i) => i,
        Err(errors) => return user_page(&state, &signed, &id, &errors).await,
    };
    match state.app.update_user(&id, input).await {
        Ok(_) => see_other(USERS),
        Err(ServiceError::Invalid(e)) => user_page(&state, &signed, &id, &field_errors(e)).await,
        Err(e) => error_response(e),
    }
}

/// `POST /admin/teams`: a new team.
pub async fn add_team(
    State(state): State<AppState>,
    headers: HeaderMap,
    signed: Signed,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    save_team(&state, &headers, &signed, None, &form).await
}

/// `POST /admin/teams/{id}`: a team's name, manager and members.
pub async fn update_team(
    State(state): State<AppState>,
    headers: HeaderMap,
    signed: Signed,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    save_team(&state, &headers, &signed, Some(&id), &form).await
}

async fn save_team(
    state: &AppState,
    headers: &HeaderMap,
    signed: &Signed,
    id: Option<&str>,
    form: &[(String, String)],
) -> Response {
    if let Some(r) = refuse(state, headers, signed, form, Permission::ManageTeams) {
        return r;
    }
    let who = &signed.principal;
    let editor = if who.role.allows(Permission::ManageUsers) {
        TeamEditor::Admin
    } else {
        TeamEditor::Manager(&who.user.id)
    };
    let members: Vec<String> = form
        .iter()
        .filter(|(k, _)| k == "member")
        .map(|(_, v)| v.clone())
        .collect();
    let manager = Some(get(form, "manager_id")).filter(|m| !m.is_empty());
    match state
        .app
        .save_team(editor, id, get(form, "name"), manager, &members)
        .await
    {
        Ok(_) => see_other(USERS),
        Err(ServiceError::Invalid(e)) => users_page(state, signed, &field_errors(e)).await,
        Err(ServiceError::Forbidden(message)) => {
            users_page(state, signed, &[(String::new(), message)]).await
        }
        Err(e) => error_response(e),
    }
}

/// `GET /admin/tokens`: this person's API tokens (an admin's: everyone's).
pub async fn tokens(State(state): State<AppState>, signed: Signed) -> Response {
    tokens_page(&state, &signed, None, &[]).await
}

async fn tokens_page(
    state: &AppState,
    signed: &Signed,
    secret: Option<&str>,
    errors: &[(String, String)],
) -> Response {
    let who = &signed.principal;
    let all = who.role.allows(Permission::ManageUsers);
    let list = match state
        .app
        .list_tokens((!all).then_some(who.user.id.as_str()))
        .await
    {
        Ok(t) => t,
        Err(e) => return error_response(e),
    };
    let users = state.app.list_users().await.unwrap_or_default();
    let zone = super::inbox::time_zone(who);
    let body = html! {
        (problems(errors))
        @if let Some(secret) = secret {
            (secret_once("new-secret", "Token", "The new token — copy it now, it is shown only once:", secret))
        }
        section.card aria-labelledby="tokens-title" {
            h2 id="tokens-title" { "API tokens" }
            p.hint { "A token acts with its user's role, for integrations (CRM sync, ad platforms, scripts)." }
            @if list.is_empty() { p.empty { "No token yet." } } @else {
                table {
                    thead { tr { th scope="col" { "Name" } @if all { th scope="col" { "User" } } th scope="col" { "Created" } th scope="col" { "Last used" } th scope="col" { span.sr-only { "Revoke" } } } }
                    tbody {
                        @for t in &list {
                            tr {
                                td { (t.name) }
                                @if all { td { (t.user_id.as_deref().and_then(|id| users.iter().find(|u| u.id == id)).map(|u| u.name.as_str()).unwrap_or("–")) } }
                                td { (local_time(t.created_at, zone)) }
                                td { (t.last_used_at.map(|at| local_time(at, zone)).unwrap_or_else(|| "never".into())) }
                                td {
                                    @if t.revoked_at.is_some() { "revoked" } @else {
                                        form.inline method="post" action={ (TOKENS) "/" (t.id) "/revoke" } {
                                            (csrf_field(who))
                                            button.secondary type="submit" aria-label={ "Revoke " (t.name) } { "Revoke" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            form method="post" action=(TOKENS) {
                (csrf_field(who))
                (super::forms::nonce_field())
                label for="token-name" { "New token's name" }
                input id="token-name" name="name" type="text" required maxlength="100";
                button type="submit" { "Create token" }
            }
        }
    };
    let status = status_for(errors);
    respond(status, page(who, TOKENS, "API tokens", body))
}

/// `POST /admin/tokens`: a new token for this person; its secret is shown once.
pub async fn create_token(
    State(state): State<AppState>,
    headers: HeaderMap,
    signed: Signed,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    if let Some(r) = refuse_form(&state, &headers, &signed, get(&form, "csrf")) {
        return r;
    }
    super::forms::once_form(
        &state,
        &signed,
        &form,
        TOKENS,
        create_token_now(&state, &signed, &form),
    )
    .await
}

async fn create_token_now(
    state: &AppState,
    signed: &Signed,
    form: &[(String, String)],
) -> Response {
    match state
        .app
        .create_token(get(form, "name"), &signed.principal.user.id)
        .await
    {
        Ok((_, secret)) => tokens_page(state, signed, Some(&secret), &[]).await,
        Err(ServiceError::Invalid(e)) => tokens_page(state, signed, None, &field_errors(e)).await,
        Err(e) => error_response(e),
    }
}

/// `POST /admin/tokens/{id}/revoke`.
pub async fn revoke_token(
    State(state): State<AppState>,
    headers: HeaderMap,
    signed: Signed,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    if let Some(r) = refuse_form(&state, &headers, &signed, get(&form, "csrf")) {
        return r;
    }
    let who = &signed.principal;
    let token = match state.app.token(&id).await {
        Ok(t) => t,
        Err(e) => return error_response(e),
    };
    if !who.role.allows(Permission::ManageUsers)
        && token.user_id.as_deref() != Some(who.user.id.as_str())
    {
        return error_response(ServiceError::not_found("token", &id));
    }
    match state.app.revoke_token(&id).await {
        Ok(_) => see_other(TOKENS),
        Err(e) => error_response(e),
    }
}
