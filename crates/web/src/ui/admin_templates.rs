//! Settings: e-mail templates. A template is saved only when its subject, text and
//! HTML parse with known merge fields (each problem with its line and column, beside
//! its part); a preview fills it in for a chosen lead, the HTML shown in a sandboxed
//! frame that can run nothing.

use super::admin::{page, problems, refuse, require, respond, status_for};
use super::forms::{form_value as get, nonce_field, once_form};
use super::layout::{csrf_field, field_errors};
use super::lead::error_response;
use super::{see_other, Signed};
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Form;
use leadline_domain::access::Permission;
use leadline_service::templates::{MessageLinks, TemplateInput};
use leadline_service::ServiceError;
use leadline_store::templates::EmailTemplate;
use maud::{html, Markup};

const TEMPLATES: &str = "/admin/templates";

#[derive(Debug, Default, serde::Deserialize)]
pub struct PreviewQuery {
    lead: Option<String>,
}

fn preview_links(state: &AppState) -> MessageLinks {
    let base = state.config.public_url.trim_end_matches('/');
    MessageLinks {
        unsubscribe: format!("{base}/u/preview"),
        preferences: format!("{base}/p/preview"),
        booking: format!("{base}/book/preview"),
    }
}

fn editor(
    who: &leadline_service::sessions::SessionPrincipal,
    action: &str,
    values: &TemplateInput,
    errors: &[(String, String)],
) -> Markup {
    let beside = |field: &str| {
        let mine: Vec<&str> = errors
            .iter()
            .filter(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
            .collect();
        html! { @for m in &mine { p.field-error id={ "t-" (field) "-error" } { (m) } } }
    };
    let invalid = |field: &str| errors.iter().any(|(f, _)| f == field).then_some("true");
    html! {
        form.card method="post" action=(action) {
            (csrf_field(who))
            (nonce_field())
            label for="t-name" { "Name" }
            input id="t-name" name="name" type="text" value=(values.name) required maxlength="200" aria-invalid=[invalid("name")];
            (beside("name"))
            label for="t-subject" { "Subject" }
            input id="t-subject" name="subject" type="text" value=(values.subject) required maxlength="500" aria-invalid=[invalid("subject")];
            (beside("subject"))
            label for="t-text" { "Plain-text part" }
            textarea id="t-text" name="body_text" rows="10" aria-invalid=[invalid("body_text")] { (values.body_text) }
            (beside("body_text"))
            label for="t-html" { "HTML part (empty: made from the text)" }
            textarea id="t-html" name="body_html" rows="10" spellcheck="false" aria-invalid=[invalid("body_html")] { (values.body_html) }
            (beside("body_html"))
            p.hint {
                "Merge fields: " code { "{{ first_name }}" } ", " code { "{{ company | \"your team\" }}" } " (with a fallback), "
                code { "{{ custom.key }}" } ", " code { "{{ answers.timeframe }}" } ", " code { "{{ owner.name }}" } ", "
                code { "{{ unsubscribe_url }}" } ", " code { "{{ preferences_url }}" } ", " code { "{{ booking_url }}" } ". Values are escaped in the HTML part."
            }
            button type="submit" { "Save template" }
        }
    }
}

async fn list_page(
    state: &AppState,
    signed: &Signed,
    values: &TemplateInput,
    errors: &[(String, String)],
) -> Response {
    let who = &signed.principal;
    let list = match state.app.templates().await {
        Ok(t) => t,
        Err(e) => return error_response(e),
    };
    let body = html! {
        section.card aria-labelledby="templates-title" {
            h2 id="templates-title" { "Templates" }
            @if list.is_empty() { p.empty { "No template yet." } } @else {
                ul { @for t in &list { li { a href={ (TEMPLATES) "/" (t.id) } { (t.name) } " — " (t.subject) } } }
            }
        }
        h2 { "New template" }
        (problems(errors))
        (editor(who, TEMPLATES, values, errors))
    };
    let status = status_for(errors);
    respond(status, page(who, TEMPLATES, "E-mail templates", body))
}

fn input_of(form: &[(String, String)]) -> TemplateInput {
    TemplateInput {
        name: get(form, "name").to_string(),
        subject: get(form, "subject").to_string(),
        body_text: get(form, "body_text").to_string(),
        body_html: get(form, "body_html").to_string(),
    }
}

/// `GET /admin/templates`.
pub async fn show(State(state): State<AppState>, signed: Signed) -> Response {
    if let Some(refused) = require(&signed, Permission::ManageCampaigns) {
        return refused;
    }
    list_page(&state, &signed, &TemplateInput::default(), &[]).await
}

/// `POST /admin/templates`.
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
        Permission::ManageCampaigns,
    ) {
        return r;
    }
    let input = input_of(&form);
    let action = async {
        match state.app.save_template(None, &input).await {
            Ok(t) => see_other(&format!("{TEMPLATES}/{}", t.id)),
            Err(ServiceError::Invalid(e)) => {
                list_page(&state, &signed, &input, &field_errors(e)).await
            }
            Err(e) => error_response(e),
        }
    };
    once_form(&state, &signed, &form, TEMPLATES, action).await
}

async fn edit_page(
    state: &AppState,
    signed: &Signed,
    t: &EmailTemplate,
    values: &TemplateInput,
    errors: &[(String, String)],
    lead: Option<&str>,
) -> Response {
    let who = &signed.principal;
    let lead = lead.map(str::trim).filter(|l| !l.is_empty());
    let preview = match lead {
        None => None,
        Some(lead) => Some(
            state
                .app
                .render_template(&who.scope, &t.id, lead, &preview_links(state))
                .await,
        ),
    };
    let body = html! {
        (problems(errors))
        (editor(who, &format!("{TEMPLATES}/{}", t.id), values, errors))
        section.card aria-labelledby="preview-title" {
            h2 id="preview-title" { "Preview for a lead" }
            form.inline method="get" action={ (TEMPLATES) "/" (t.id) } {
                label for="preview-lead" { "Lead id" }
                input id="preview-lead" name="lead" type="text" value=[lead] maxlength="64";
                button.secondary type="submit" { "Preview" }
            }
            @match (&preview, lead) {
                (Some(Ok(m)), Some(lead)) => {
                    dl.facts { dt { "Subject" } dd { (m.subject) } }
                    h3 { "Plain text" }
                    pre.message { (m.text) }
                    h3 { "HTML" }
                    iframe.message src={ (TEMPLATES) "/" (t.id) "/preview.html?lead=" (lead) } title="The HTML part as the lead would see it" sandbox="" {}
                }
                (Some(Err(e)), _) => { p.alert.error role="alert" { (e) } }
                _ => { p.hint { "A lead's id is in its address (/leads/…)." } }
            }
        }
        p { a href=(TEMPLATES) { "All templates" } }
    };
    let status = status_for(errors);
    let mut response = respond(status, page(who, TEMPLATES, &t.name, body));
    // The preview frame is ours; nothing else may be framed or loaded.
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self'; frame-src 'self'; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    response
}

fn values_of(t: &EmailTemplate) -> TemplateInput {
    TemplateInput {
        name: t.name.clone(),
        subject: t.subject.clone(),
        body_text: t.body_text.clone(),
        body_html: t.body_html.clone(),
    }
}

/// `GET /admin/templates/{id}` (`?lead=` previews it for a lead).
pub async fn edit(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    Query(q): Query<PreviewQuery>,
) -> Response {
    if let Some(refused) = require(&signed, Permission::ManageCampaigns) {
        return refused;
    }
    match state.app.template(&id).await {
        Ok(t) => edit_page(&state, &signed, &t, &values_of(&t), &[], q.lead.as_deref()).await,
        Err(e) => error_response(e),
    }
}

/// `POST /admin/templates/{id}`.
pub async fn save(
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
        Permission::ManageCampaigns,
    ) {
        return r;
    }
    let existing = match state.app.template(&id).await {
        Ok(t) => t,
        Err(e) => return error_response(e),
    };
    let input = input_of(&form);
    let back = format!("{TEMPLATES}/{id}");
    let action = async {
        match state.app.save_template(Some(&id), &input).await {
            Ok(_) => see_other(&back),
            Err(ServiceError::Invalid(e)) => {
                edit_page(&state, &signed, &existing, &input, &field_errors(e), None).await
            }
            Err(e) => error_response(e),
        }
    };
    once_form(&state, &signed, &form, &back, action).await
}

/// `GET /admin/templates/{id}/preview.html?lead=`: the HTML part for the lead, to be
/// shown only in the editor's sandboxed frame (no script, no requests).
pub async fn preview_html(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    Query(q): Query<PreviewQuery>,
) -> Response {
    if let Some(refused) = require(&signed, Permission::ManageCampaigns) {
        return refused;
    }
    let lead = q.lead.unwrap_or_default();
    match state
        .app
        .render_template(&signed.principal.scope, &id, &lead, &preview_links(&state))
        .await
    {
        Ok(m) => {
            let mut response = m.html.into_response();
            let headers = response.headers_mut();
            super::secure_headers(headers);
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            headers.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'"),
            );
            headers.insert(
                header::X_FRAME_OPTIONS,
                HeaderValue::from_static("SAMEORIGIN"),
            );
            response
        }
        Err(e) => error_response(e),
    }
}
