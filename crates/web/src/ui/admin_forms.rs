//! Settings: capture forms. The builder picks fields (standard, custom or a
//! qualification question), the consent wording, the redirect and the region phone
//! numbers are read in, with a preview that follows every change; a saved form shows
//! its hosted address and a copyable embed snippet.

use super::admin::{page, problems, refuse, require, respond, status_for};
use super::forms::form_value as get;
use super::layout::{csrf_field, error_for, field_errors};
use super::lead::error_response;
use super::{see_other, Signed};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use leadline_domain::access::Permission;
use leadline_domain::Channel;
use leadline_service::forms::{ConsentSpec, FormField, NewForm};
use leadline_service::ServiceError;
use maud::{html, Markup};

const SECTION: &str = "/admin/forms";

/// The fields the builder offers, with their usual labels.
const OFFERED: &[(&str, &str)] = &[
    ("first_name", "First name"),
    ("last_name", "Last name"),
    ("email", "E-mail"),
    ("phone", "Phone"),
    ("company", "Company"),
    ("title", "Job title"),
    ("website", "Website"),
    ("city", "City"),
    ("country", "Country"),
    ("answers.timeframe", "When do you plan to buy?"),
    (
        "answers.asked_to_be_contacted",
        "Would you like us to call you?",
    ),
];
/// Rows for custom fields.
const CUSTOM_ROWS: usize = 3;

fn opt(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

/// The builder's inputs as the service's form request.
fn new_form(form: &[(String, String)]) -> NewForm {
    let mut fields = Vec::new();
    for (i, (name, _)) in OFFERED.iter().enumerate() {
        if get(form, &format!("use{i}")) == "yes" {
            fields.push(FormField {
                name: name.to_string(),
                label: get(form, &format!("label{i}")).trim().to_string(),
                required: get(form, &format!("required{i}")) == "yes",
            });
        }
    }
    for n in 0..CUSTOM_ROWS {
        let key = get(form, &format!("custom_key{n}")).trim();
        if !key.is_empty() {
            fields.push(FormField {
                name: format!("custom.{key}"),
                label: get(form, &format!("custom_label{n}")).trim().to_string(),
                required: get(form, &format!("custom_required{n}")) == "yes",
            });
        }
    }
    let channels: Vec<String> = ["email", "phone", "sms"]
        .into_iter()
        .filter(|c| get(form, &format!("consent_{c}")) == "yes")
        .map(str::to_string)
        .collect();
    let wording = get(form, "consent_wording").trim().to_string();
    let consent = (!channels.is_empty() || !wording.is_empty()).then(|| ConsentSpec {
        channels,
        wording,
        required: get(form, "consent_required") == "yes",
    });
    NewForm {
        name: get(form, "name").trim().to_string(),
        source: get(form, "source").trim().to_string(),
        channel: get(form, "channel").parse::<Channel>().ok(),
        campaign: opt(get(form, "campaign")),
        fields,
        consent,
        redirect_url: opt(get(form, "redirect_url")),
        default_region: opt(get(form, "default_region")),
        min_fill_seconds: get(form, "min_fill_seconds").trim().parse().ok(),
        submit_label: opt(get(form, "submit_label")),
        success_message: opt(get(form, "success_message")),
    }
}

/// What visitors will see: the fields, the consent box and the button, as drawn now.
fn preview(f: &NewForm) -> Markup {
    html! {
        div id="form-preview" data-preview {
            h2 { "Preview" }
            div.preview-frame aria-label="How the form will look" role="group" {
                p.preview-title { @if f.name.is_empty() { "(untitled form)" } @else { (f.name) } }
                @if f.fields.is_empty() { p.hint { "Choose at least one field." } }
                @for field in &f.fields {
                    p.preview-field {
                        span { (if field.label.is_empty() { field.name.as_str() } else { field.label.as_str() }) @if field.required { " *" } }
                        span.preview-input {}
                    }
                }
                @if let Some(c) = &f.consent {
                    p.preview-consent { "☐ " (c.wording) @if c.required { " *" } }
                }
                p { span.preview-button { (f.submit_label.as_deref().unwrap_or("Send")) } }
            }
        }
    }
}

fn builder(
    who: &leadline_service::sessions::SessionPrincipal,
    form: &[(String, String)],
    errors: &[(String, String)],
) -> Markup {
    let fresh = form.is_empty();
    let value = |k: &str| get(form, k).to_string();
    let error = |k: &str| error_for(errors, k);
    let text = |k: &str, label: &str, hint: Option<&str>| {
        let id = format!("form-{k}");
        let e = error(k);
        html! {
            div {
                label for=(id) { (label) }
                input id=(id) name=(k) type="text" value=(value(k)) maxlength="2000"
                    aria-invalid=[e.map(|_| "true")] aria-describedby=[e.map(|_| format!("{id}-error"))];
                @if let Some(h) = hint { p.hint { (h) } }
                @if let Some(m) = e { p.field-error id={ (id) "-error" } { (m) } }
            }
        }
    };
    html! {
        form.builder method="post" action="/admin/forms" data-builder {
            (csrf_field(who))
            (super::forms::nonce_field())
            (text("name", "Form name", None))
            (text("source", "Source (created on first use)", Some("Where its leads are said to come from, e.g. Website")))
            div {
                label for="form-channel" { "Channel" }
                select id="form-channel" name="channel" {
                    @for c in Channel::ALL {
                        option value=(c.as_str()) selected[value("channel") == c.as_str() || (fresh && c == Channel::WebForm)] { (c.as_str().replace('_', " ")) }
                    }
                }
            }
            (text("campaign", "Campaign (optional)", None))
            fieldset {
                legend { "Fields" }
                @if let Some(m) = error("fields") { p.field-error { (m) } }
                table.builder-fields {
                    thead { tr { th scope="col" { "Ask" } th scope="col" { "Label" } th scope="col" { "Required" } } }
                    tbody {
                        @for (i, (name, label)) in OFFERED.iter().enumerate() {
                            @let on = if fresh { matches!(*name, "first_name" | "last_name" | "email") } else { value(&format!("use{i}")) == "yes" };
                            @let req = if fresh { *name == "email" } else { value(&format!("required{i}")) == "yes" };
                            @let shown = if fresh { label.to_string() } else { value(&format!("label{i}")) };
                            tr {
                                td { label.check { input type="checkbox" name={ "use" (i) } value="yes" checked[on]; " " (name) } }
                                td { input type="text" name={ "label" (i) } value=(shown) maxlength="200" aria-label={ "Label for " (name) }; }
                                td { input type="checkbox" name={ "required" (i) } value="yes" checked[req] aria-label={ (name) " is required" }; }
                            }
                        }
                        @for n in 0..CUSTOM_ROWS {
                            tr {
                                td { input type="text" name={ "custom_key" (n) } value=(value(&format!("custom_key{n}"))) maxlength="64" placeholder="custom key" aria-label={ "Custom field " (n + 1) " key (a-z, 0-9, _)" }; }
                                td { input type="text" name={ "custom_label" (n) } value=(value(&format!("custom_label{n}"))) maxlength="200" aria-label={ "Custom field " (n + 1) " label" }; }
                                td { input type="checkbox" name={ "custom_required" (n) } value="yes" checked[value(&format!("custom_required{n}")) == "yes"] aria-label={ "Custom field " (n + 1) " is required" }; }
                            }
                        }
                    }
                }
                @for (f, m) in errors.iter().filter(|(f, _)| f.starts_with("fields[")) { p.field-error { code { (f) } ": " (m) } }
            }
            fieldset {
                legend { "Consent" }
                p.hint { "The exact words are stored with every grant, as proof." }
                @for c in ["email", "phone", "sms"] {
                    label.check { input type="checkbox" name={ "consent_" (c) } value="yes" checked[(fresh && c == "email") || value(&format!("consent_{c}")) == "yes"]; " " (c) }
                }
                @if let Some(m) = error("consent.channels") { p.field-error { (m) } }
                label for="form-consent_wording" { "Wording beside the checkbox" }
                textarea id="form-consent_wording" name="consent_wording" rows="3" maxlength="2000"
                    aria-invalid=[error("consent.wording").map(|_| "true")] {
                    @if fresh { "Yes, send me news and offers by e-mail. I can unsubscribe at any time." } @else { (value("consent_wording")) }
                }
                @if let Some(m) = error("consent.wording") { p.field-error { (m) } }
                label.check { input type="checkbox" name="consent_required" value="yes" checked[value("consent_required") == "yes"]; " The box must be ticked to send the form" }
            }
            (text("redirect_url", "After sending, go to (optional)", Some("An absolute http(s) address; without it the form thanks the visitor itself.")))
            (text("default_region", "Phone numbers without a country code are in (optional)", Some("A country code or name, e.g. GB")))
            (text("submit_label", "Button text", None))
            (text("success_message", "Thank-you message", None))
            (text("min_fill_seconds", "Seconds a person needs at least (bots are faster)", None))
            button type="submit" { "Create form" }
        }
    }
}

async fn list_page(
    state: &AppState,
    signed: &Signed,
    form: &[(String, String)],
    errors: &[(String, String)],
) -> Response {
    let who = &signed.principal;
    let forms = match state.app.list_forms().await {
        Ok(f) => f,
        Err(e) => return error_response(e),
    };
    let draft = new_form(form);
    let fresh_draft = if form.is_empty() {
        // What the builder starts with, so the preview matches it.
        new_form(&[
            ("use0".into(), "yes".into()),
            ("label0".into(), "First name".into()),
            ("use1".into(), "yes".into()),
            ("label1".into(), "Last name".into()),
            ("use2".into(), "yes".into()),
            ("label2".into(), "E-mail".into()),
            ("required2".into(), "yes".into()),
            ("consent_email".into(), "yes".into()),
            (
                "consent_wording".into(),
                "Yes, send me news and offers by e-mail. I can unsubscribe at any time.".into(),
            ),
        ])
    } else {
        draft
    };
    let body = html! {
        section.card aria-labelledby="forms-title" {
            h2 id="forms-title" { "Forms" }
            @if forms.is_empty() {
                p.empty { "No form yet." }
            } @else {
                ul { @for f in &forms { li { a href={ "/admin/forms/" (f.id) } { (f.name) } " · " code { "/f/" (f.key) } } } }
            }
        }
        section.card aria-labelledby="new-title" {
            h2 id="new-title" { "New form" }
            (problems(errors))
            div.builder-layout {
                (builder(who, form, errors))
                (preview(&fresh_draft))
            }
        }
    };
    let status = status_for(errors);
    let mut response = respond(
        status,
        page(
            who,
            SECTION,
            "Forms",
            html! { (body) script src="/assets/builder.js" {} },
        ),
    );
    super::allow_own_script(response.headers_mut());
    response
}

/// `GET /admin/forms`.
pub async fn show(State(state): State<AppState>, signed: Signed) -> Response {
    if let Some(refused) = require(&signed, Permission::ManageForms) {
        return refused;
    }
    list_page(&state, &signed, &[], &[]).await
}

/// `POST /admin/forms/preview`: the preview of what the builder holds now (the
/// builder's script swaps it in as the person types).
pub async fn preview_fragment(
    State(state): State<AppState>,
    headers: HeaderMap,
    signed: Signed,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    if let Some(refused) = refuse(&state, &headers, &signed, &form, Permission::ManageForms) {
        return refused;
    }
    respond(StatusCode::OK, preview(&new_form(&form)))
}

/// `POST /admin/forms`: create the form.
pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    signed: Signed,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    if let Some(refused) = refuse(&state, &headers, &signed, &form, Permission::ManageForms) {
        return refused;
    }
    super::forms::once_form(
        &state,
        &signed,
        &form,
        SECTION,
        create_now(&state, &signed, &form),
    )
    .await
}

async fn create_now(state: &AppState, signed: &Signed, form: &[(String, String)]) -> Response {
    if form.len() > 200 {
        return list_page(
            state,
            signed,
            &[],
            &[("".into(), "the form has too many fields".into())],
        )
        .await;
    }
    let mut errors = Vec::new();
    if !get(form, "min_fill_seconds").trim().is_empty()
        && get(form, "min_fill_seconds").trim().parse::<u32>().is_err()
    {
        errors.push((
            "min_fill_seconds".to_string(),
            "a whole number of seconds".to_string(),
        ));
    }
    if errors.is_empty() {
        match state.app.create_form(&new_form(form)).await {
            Ok(created) => return see_other(&format!("/admin/forms/{}", created.id)),
            Err(ServiceError::Invalid(e)) => errors = field_errors(e),
            Err(e) => return error_response(e),
        }
    }
    list_page(state, signed, form, &errors).await
}

/// `GET /admin/forms/{id}`: the saved form, its address and embed snippet.
pub async fn detail(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
) -> Response {
    if let Some(refused) = require(&signed, Permission::ManageForms) {
        return refused;
    }
    let form = match state.app.form_by_id(&id).await {
        Ok(f) => f,
        Err(e) => return error_response(e),
    };
    let who = &signed.principal;
    let url = format!(
        "{}/f/{}",
        state.config.public_url.trim_end_matches('/'),
        form.key
    );
    let iframe = format!(
        "<iframe src=\"{url}?embed=1\" title=\"{}\" style=\"width:100%;min-height:520px;border:0\" loading=\"lazy\"></iframe>",
        maud::html! { (form.name) }.into_string()
    );
    let d = &form.definition;
    let as_new = NewForm {
        name: form.name.clone(),
        source: String::new(),
        channel: Some(form.channel),
        campaign: None,
        fields: d.fields.clone(),
        consent: d.consent.clone(),
        redirect_url: d.redirect_url.clone(),
        default_region: d.default_region.clone(),
        min_fill_seconds: Some(d.min_fill_seconds),
        submit_label: Some(d.submit_label.clone()),
        success_message: Some(d.success_message.clone()),
    };
    let body = html! {
        section.card aria-labelledby="where-title" {
            h2 id="where-title" { "Where it lives" }
            p { "Hosted at " a href=(url) { (url) } }
            label for="embed" { "Embed it on your site (copy this)" }
            textarea id="embed" readonly rows="3" data-copy { (iframe) }
            button.secondary type="button" data-copy-button="embed" hidden { "Copy" }
            p.hint { "Or post to " code { (url) } " from your own form, with a token from " code { (url) "/token" } "." }
        }
        section.card aria-labelledby="def-title" {
            h2 id="def-title" { "What it asks" }
            dl.facts {
                dt { "Channel" } dd { (form.channel.as_str().replace('_', " ")) }
                dt { "Fields" } dd { (d.fields.iter().map(|f| format!("{}{}", f.label, if f.required { " *" } else { "" })).collect::<Vec<_>>().join(", ")) }
                @if let Some(c) = &d.consent { dt { "Consent" } dd { (c.channels.join(", ")) ": “" (c.wording) "”" } }
                @if let Some(r) = &d.redirect_url { dt { "Then goes to" } dd { (r) } }
                @if let Some(r) = &d.default_region { dt { "Phones read in" } dd { (r) } }
            }
            (preview(&as_new))
        }
        p { a href=(SECTION) { "All forms" } }
    };
    let mut response = respond(
        StatusCode::OK,
        page(
            who,
            SECTION,
            &form.name,
            html! { (body) script src="/assets/builder.js" {} },
        ),
    );
    super::allow_own_script(response.headers_mut());
    response
}
