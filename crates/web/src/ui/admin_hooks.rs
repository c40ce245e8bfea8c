//! Settings: webhooks, their deliveries, the dead letters and replaying them.

use super::admin::{page, problems, refuse, require, respond, secret_once, status_for};
use super::forms::form_value as get;
use super::layout::{csrf_field, field_errors};
use super::lead::error_response;
use super::{see_other, Signed};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Form;
use leadline_domain::access::Permission;
use leadline_domain::schedule::local_time;
use leadline_service::outbox::WebhookInput;
use leadline_service::ServiceError;
use leadline_store::outbox::{DeliveryFilter, DEAD};
use maud::html;

const HOOKS: &str = "/admin/webhooks";

async fn hooks_page(
    state: &AppState,
    signed: &Signed,
    secret: Option<&str>,
    errors: &[(String, String)],
) -> Response {
    let who = &signed.principal;
    let zone = super::inbox::time_zone(who);
    let hooks = match state.app.webhooks().await {
        Ok(h) => h,
        Err(e) => return error_response(e),
    };
    let webhook_deliveries = DeliveryFilter {
        channel: Some("webhook".into()),
        ..Default::default()
    };
    let recent = match state.app.deliveries(&webhook_deliveries, None, 50).await {
        Ok(d) => d,
        Err(e) => return error_response(e),
    };
    let dead = recent.iter().filter(|d| d.status == DEAD).count();
    let url_of = |id: &str| {
        hooks
            .iter()
            .find(|h| h.id == id)
            .map(|h| h.url.clone())
            .unwrap_or_else(|| id.to_string())
    };
    let body = html! {
        (problems(errors))
        @if let Some(secret) = secret {
            (secret_once("hook-secret", "Secret", "The signing secret — copy it now, it is shown only once:", secret))
        }
        section.card aria-labelledby="hooks-title" {
            h2 id="hooks-title" { "Webhooks" }
            p.hint { "Each event is posted, signed (Standard Webhooks, HMAC-SHA256), and retried with backoff; after the last try it is a dead letter you can replay." }
            @if hooks.is_empty() { p.empty { "No webhook yet." } } @else {
                table {
                    thead { tr { th scope="col" { "Address" } th scope="col" { "Topics" } th scope="col" { "Active" } th scope="col" { span.sr-only { "Change" } } } }
                    tbody {
                        @for h in &hooks {
                            tr {
                                td { (h.url) @if !h.description.is_empty() { br; span.hint { (h.description) } } }
                                td { @if h.topics.is_empty() { "all" } @else { (h.topics.join(", ")) } }
                                td { @if h.active { "yes" } @else { "paused" } }
                                td {
                                    form.inline method="post" action={ (HOOKS) "/" (h.id) "/toggle" } {
                                        (csrf_field(who))
                                        button.secondary type="submit" { @if h.active { "Pause" } @else { "Resume" } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            form.numbers method="post" action=(HOOKS) {
                (csrf_field(who))
                (super::forms::nonce_field())
                div { label for="hook-url" { "Address (https://…)" } input id="hook-url" name="url" type="text" required maxlength="2000"; }
                div { label for="hook-topics" { "Topics (comma-separated, empty: all)" } input id="hook-topics" name="topics" type="text" maxlength="500" placeholder="lead.assigned, lead.sla_breached"; }
                div { label for="hook-description" { "Description" } input id="hook-description" name="description" type="text" maxlength="500"; }
                div { button type="submit" { "Add webhook" } }
            }
        }
        section.card aria-labelledby="deliveries-title" {
            h2 id="deliveries-title" { "Recent deliveries" }
            @if dead > 0 {
                form.inline method="post" action={ (HOOKS) "/replay" } {
                    (csrf_field(who))
                    button type="submit" { "Replay " (dead) " dead letters" }
                }
            }
            @if recent.is_empty() { p.empty { "Nothing delivered yet." } } @else {
                table {
                    thead { tr { th scope="col" { "When" } th scope="col" { "To" } th scope="col" { "Status" } th scope="col" { "Tries" } th scope="col" { "Last answer" } } }
                    tbody {
                        @for d in &recent {
                            tr {
                                td { (local_time(d.delivered_at.unwrap_or(d.next_attempt_at), zone)) }
                                td { (url_of(&d.target)) }
                                td { @if d.status == DEAD { strong.overdue { "dead letter" } } @else { (d.status) } }
                                td.num { (d.attempts) }
                                td { (d.last_status_code.map(|c| c.to_string()).unwrap_or_default()) " " span.hint { (d.last_error.as_deref().unwrap_or("")) } }
                            }
                        }
                    }
                }
            }
        }
    };
    let status = status_for(errors);
    respond(status, page(who, HOOKS, "Webhooks", body))
}

/// `GET /admin/webhooks`.
pub async fn show(State(state): State<AppState>, signed: Signed) -> Response {
    if let Some(refused) = require(&signed, Permission::ManageIntegrations) {
        return refused;
    }
    hooks_page(&state, &signed, None, &[]).await
}

/// `POST /admin/webhooks`.
pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    signed: Signed,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    if let Some(r) = refuse(
        &state,
        &headers,
        &signed,
        &form,
        Permission::ManageIntegrations,
    ) {
        return r;
    }
    super::forms::once_form(
        &state,
        &signed,
        &form,
        HOOKS,
        create_now(&state, &signed, &form),
    )
    .await
}

async fn create_now(state: &AppState, signed: &Signed, form: &[(String, String)]) -> Response {
    let topics: Vec<String> = get(form, "topics")
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect();
    let input = WebhookInput {
        url: Some(get(form, "url").trim().to_string()),
        topics: Some(topics),
        description: Some(get(form, "description").trim().to_string()),
        active: Some(true),
    };
    match state.app.create_webhook(input).await {
        Ok(created) => hooks_page(state, signed, Some(&created.secret), &[]).await,
        Err(ServiceError::Invalid(e)) => hooks_page(state, signed, None, &field_errors(e)).await,
        Err(e) => error_response(e),
    }
}

/// `POST /admin/webhooks/{id}/toggle`: pause or resume.
pub async fn toggle(
    State(state): State<AppState>,
    headers: HeaderMap,
    signed: Signed,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    if let Some(r) = refuse(
        &state,
        &headers,
        &signed,
        &form,
        Permission::ManageIntegrations,
    ) {
        return r;
    }
    let hook = match state.app.webhook(&id).await {
        Ok(h) => h,
        Err(e) => return error_response(e),
    };
    let input = WebhookInput {
        url: None,
        topics: None,
        description: None,
        active: Some(!hook.active),
    };
    match state.app.update_webhook(&id, input).await {
        Ok(_) => see_other(HOOKS),
        Err(e) => error_response(e),
    }
}

/// `POST /admin/webhooks/replay`: every webhook dead letter queued again.
pub async fn replay(
    State(state): State<AppState>,
    headers: HeaderMap,
    signed: Signed,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    if let Some(r) = refuse(
        &state,
        &headers,
        &signed,
        &form,
        Permission::ManageIntegrations,
    ) {
        return r;
    }
    let filter = DeliveryFilter {
        channel: Some("webhook".into()),
        ..Default::default()
    };
    match state.app.replay_deliveries(&filter).await {
        Ok(_) => see_other(HOOKS),
        Err(e) => error_response(e),
    }
}
