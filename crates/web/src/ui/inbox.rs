//! A rep's home page: their open leads, most urgent first, each with a live
//! countdown to its first-touch deadline and a form to log what was done.

use super::forms::{error_page, fingerprint, non_empty, nonce_field, once, refuse_lead_form};
use super::layout::{csrf_field, joined_messages};
use super::{page_response, see_other, Signed};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use leadline_domain::inbox::{countdown, InboxLead, Urgency};
use leadline_domain::lifecycle::Reason;
use leadline_domain::sla::LosingTouchReason;
use leadline_service::sales_touches::{TouchInput, TOUCH_KINDS};
use leadline_service::ServiceError;
use leadline_store::work::InboxRow;
use maud::{html, Markup};
use serde::Deserialize;

fn kind_label(kind: &str) -> &'static str {
    match kind {
        "call_attempt" => "Call, no answer",
        "connected_call" => "Call, connected",
        "voicemail" => "Voicemail left",
        "email" => "E-mail sent",
        "meeting" => "Meeting",
        _ => "Note",
    }
}

fn display_name(row: &InboxRow) -> String {
    super::forms::person_name(
        row.first_name.as_deref(),
        row.last_name.as_deref(),
        row.email.as_deref(),
        None,
    )
}

/// The inbox's keys (inbox.js), as the `?` list shows them.
const SHORTCUTS: &[(&str, &str)] = &[
    ("j", "next lead"),
    ("k", "previous lead"),
    ("c", "log a connected call"),
    ("a", "log a call attempt (no answer)"),
    ("v", "log a voicemail"),
    ("e", "log an e-mail"),
    ("m", "log a meeting"),
    ("n", "set the next step"),
    ("?", "this list"),
];

/// A lead nobody touched for this long is losing touch (as the API's default).
const LOSING_TOUCH_IDLE_MS: i64 = 72 * 3_600_000;

fn losing_reason(reason: &LosingTouchReason) -> String {
    match reason {
        LosingTouchReason::NextStepOverdue { overdue_ms } => {
            format!("next step {} late", ago(*overdue_ms))
        }
        LosingTouchReason::NoTouchFor { idle_ms } => format!("no touch for {}", ago(*idle_ms)),
        LosingTouchReason::NoNextStep => "worked, but no next step planned".into(),
    }
}

fn ago(ms: i64) -> String {
    let minutes = ms / 60_000;
    match minutes {
        m if m < 60 => format!("{m} min"),
        m if m < 48 * 60 => format!("{} h", m / 60),
        m => format!("{} days", m / (24 * 60)),
    }
}

fn lead_row(
    who: &Signed,
    reasons: &[Reason],
    urgency: Urgency,
    lead: &InboxLead<InboxRow>,
    now: i64,
) -> Markup {
    let row = &lead.row;
    let id = &row.lead_id;
    let name = display_name(row);
    html! {
        article.lead-row aria-labelledby={ "lead-" (id) } tabindex="-1" {
            div {
                @match (urgency, lead.sla_due_at) {
                    (Urgency::FirstTouchDue, Some(due)) => {
                        span.due-label { @if due < now { "Overdue by" } @else { "First touch in" } }
                        br;
                        span.countdown.breached[due < now] data-due=(due) role="timer" { (countdown(due, now).trim_start_matches('-')) }
                    }
                    (Urgency::NextStepOverdue, _) => {
                        span.overdue { "Next step overdue" }
                        @if let Some(due) = lead.next_step_due_at { p.due-label { (ago(now - due)) " late" } }
                    }
                    _ => {
                        span.due-label { "Score" }
                        br;
                        strong { @if let Some(s) = lead.score { (format!("{s:.0}")) } @else { "–" } }
                    }
                }
            }
            div {
                h3 id={ "lead-" (id) } { a href={ "/leads/" (id) } { (name) } }
                @if let Some(company) = &row.company { p { (company) } }
                p {
                    @if let Some(phone) = &row.phone { a href={ "tel:" (phone) } { (phone) } " " }
                    @if let Some(email) = &row.email { a href={ "mailto:" (email) } { (email) } }
                }
                p.due-label { "Stage: " (row.stage) " · came in " (ago(now - row.created_at)) " ago" }
                @if let Some(step) = &row.next_step { p { "Next step: " (step) } }
            }
            (touch_form(&who.principal, id, ""))
            form.move-form method="post" action={ "/leads/" (id) "/stage" } {
                (csrf_field(&who.principal))
                (nonce_field())
                label for={ "to-" (id) } { "Not ready or not a fit?" }
                select id={ "to-" (id) } name="to" {
                    option value="nurture" { "Send to nurture" }
                    @for r in reasons { option value={ "disqualified:" (r.key) } { "Disqualify: " (r.label) } }
                }
                button.secondary type="submit" { "Move" }
            }
        }
    }
}

/// The form logging what was done on a lead (a call, an e-mail …) with its next step;
/// `back` is `lead` on the lead's workspace.
pub(super) fn touch_form(
    who: &leadline_service::sessions::SessionPrincipal,
    id: &str,
    back: &str,
) -> Markup {
    html! {
        form.touch-form method="post" action={ "/leads/" (id) "/touch" } {
            (csrf_field(who))
            @if !back.is_empty() { input type="hidden" name="back" value=(back); }
            // One use per rendering: the same form sent twice logs once.
            (nonce_field())
            div {
                label for={ "kind-" (id) } { "What you did" }
                select id={ "kind-" (id) } name="kind" {
                    @for kind in TOUCH_KINDS { option value=(kind) { (kind_label(kind)) } }
                }
            }
            div {
                label for={ "outcome-" (id) } { "Outcome" }
                input id={ "outcome-" (id) } name="outcome" type="text" maxlength="200";
            }
            div.wide {
                label for={ "notes-" (id) } { "Note" }
                input id={ "notes-" (id) } name="notes" type="text" maxlength="10000";
            }
            div {
                label for={ "next-" (id) } { "Next step" }
                input id={ "next-" (id) } name="next_step" type="text" maxlength="500";
            }
            div {
                label for={ "due-" (id) } { "Due on" }
                input id={ "due-" (id) } name="next_step_due" type="date";
            }
            div.wide { button type="submit" { "Log it" } }
        }
    }
}

async fn render_sections(state: &AppState, signed: &Signed) -> Result<Markup, Response> {
    let inbox = state
        .app
        .inbox(&signed.principal.user.id)
        .await
        .map_err(|e| crate::error::ApiError::from(e).into_response())?;
    let now = inbox.now;
    let leads = &inbox.leads;
    let reasons = state
        .app
        .lifecycle()
        .await
        .map_err(|e| crate::error::ApiError::from(e).into_response())?
        .disqualify_reasons;
    let losing = state
        .app
        .losing_touch(&signed.principal.scope, LOSING_TOUCH_IDLE_MS)
        .await
        .map_err(|e| crate::error::ApiError::from(e).into_response())?;
    // Only this person's own leads (a manager's scope is wider than their inbox).
    let losing: Vec<(&InboxLead<InboxRow>, String)> = leads
        .in_order()
        .filter_map(|(_, lead)| {
            let reason = losing.iter().find(|l| l.lead_id == lead.row.lead_id)?;
            Some((lead, losing_reason(&reason.reason)))
        })
        .collect();
    let section = |title: &str, urgency: Urgency, items: &[InboxLead<InboxRow>]| {
        html! {
            @if !items.is_empty() {
                section.inbox-section aria-label=(title) {
                    h2 { (title) " (" (items.len()) ")" }
                    @for lead in items { (lead_row(signed, &reasons, urgency, lead, now)) }
                }
            }
        }
    };
    let markup = html! {
        div id="inbox" data-now=(now) data-live-src="/inbox/leads" {
            @if !losing.is_empty() {
                section.inbox-section.losing aria-label="Losing touch" {
                    h2 { "Losing touch (" (losing.len()) ")" }
                    ul {
                        @for (lead, reason) in &losing {
                            li { a href={ "#lead-" (lead.row.lead_id) } { (display_name(&lead.row)) } ": " (reason) }
                        }
                    }
                }
            }
            @if leads.is_empty() {
                p.empty { "No open leads are yours right now. New ones appear here when they are routed to you." }
            }
            (section("First touch due", Urgency::FirstTouchDue, &leads.first_touch_due))
            (section("Next step overdue", Urgency::NextStepOverdue, &leads.next_step_overdue))
            (section("Open", Urgency::Open, &leads.open))
        }
    };
    Ok(markup)
}

pub async fn show(State(state): State<AppState>, signed: Signed) -> Response {
    let sections = match render_sections(&state, &signed).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let body = html! {
        h1 { "Your leads" }
        p.sr-only role="status" aria-live="polite" id="inbox-status" {}
        button.secondary id="notify-toggle" type="button" hidden { "Notify me of new leads" }
        " "
        button.secondary id="sound-toggle" type="button" aria-pressed="false" hidden { "Sound off" }
        p.hint { "Press " kbd { "?" } " for keyboard shortcuts." }
        dialog id="shortcuts" aria-labelledby="shortcuts-title" {
            h2 id="shortcuts-title" { "Keyboard shortcuts" }
            dl.facts {
                @for (key, what) in SHORTCUTS { dt { kbd { (key) } } dd { (what) } }
            }
            form method="dialog" { button type="submit" { "Close" } }
        }
        (sections)
    };
    let markup =
        super::layout::signed_in_live("Your leads", &signed.principal, body, "/assets/inbox.js");
    let mut response = page_response(StatusCode::OK, markup);
    // The page's own script (the countdowns) may run: `script-src 'self'`, nothing inline.
    super::allow_own_script(response.headers_mut());
    response
}

#[derive(Debug, Deserialize)]
pub struct TouchForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    notes: String,
    #[serde(default)]
    next_step: String,
    #[serde(default)]
    next_step_due: String,
    #[serde(default)]
    nonce: String,
    /// `lead` when sent from the lead's workspace, which it goes back to.
    #[serde(default)]
    back: String,
}

impl TouchForm {
    /// What the form says, to tell a second sending of it from another form.
    fn fingerprint(&self, lead_id: &str) -> String {
        fingerprint(&[
            lead_id,
            &self.kind,
            &self.outcome,
            &self.notes,
            &self.next_step,
            &self.next_step_due,
        ])
    }
}

/// Where a form on a lead goes back to: the lead's workspace, the pipeline board or
/// the inbox.
pub(super) fn back_to(back: &str, lead_id: &str) -> String {
    match back {
        "lead" => format!("/leads/{lead_id}"),
        "pipeline" => "/pipeline".to_string(),
        "team" => "/team".to_string(),
        _ => "/".to_string(),
    }
}

pub async fn log_touch(
    State(state): State<AppState>,
    headers: HeaderMap,
    signed: Signed,
    Path(lead_id): Path<String>,
    Form(form): Form<TouchForm>,
) -> Response {
    if let Some(refused) = refuse_lead_form(&state, &headers, &signed, &form.csrf, &lead_id).await {
        return refused;
    }
    let nonce = form.nonce.clone();
    let fingerprint = form.fingerprint(&lead_id);
    let back = back_to(&form.back, &lead_id);
    let action = record(&state, &signed, &lead_id, &back, form);
    once(&state, &signed, &nonce, &fingerprint, &back, action).await
}

#[derive(Debug, Deserialize)]
pub struct StageForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    nonce: String,
    /// A stage key, or `<stage>:<reason key>` (the inbox's `disqualified:no_budget`).
    #[serde(default)]
    to: String,
    /// The disqualify reason, when not given with `to`.
    #[serde(default)]
    reason: String,
    #[serde(default)]
    back: String,
}

/// `POST /leads/{id}/stage`: move a lead (to nurture, disqualified with a listed
/// reason, or along its path) as the lifecycle and its playbooks allow.
pub async fn move_stage(
    State(state): State<AppState>,
    headers: HeaderMap,
    signed: Signed,
    Path(lead_id): Path<String>,
    Form(form): Form<StageForm>,
) -> Response {
    if let Some(refused) = refuse_lead_form(&state, &headers, &signed, &form.csrf, &lead_id).await {
        return refused;
    }
    let (to, reason) = match form.to.split_once(':') {
        Some((to, reason)) => (to.to_string(), Some(reason.to_string())),
        None => (form.to.clone(), non_empty(&form.reason)),
    };
    let fingerprint = fingerprint(&[&lead_id, &form.to, &form.reason]);
    let actor = format!("user:{}", signed.principal.user.id);
    let back = back_to(&form.back, &lead_id);
    let action = async {
        match state
            .app
            .change_stage(&lead_id, &to, reason.as_deref(), &actor)
            .await
        {
            Ok(_) => see_other(&back),
            Err(ServiceError::Invalid(errors)) => {
                error_page("Not moved", &joined_messages(&errors), &back)
            }
            Err(ServiceError::Conflict { message, .. }) => error_page("Not moved", &message, &back),
            Err(e) => crate::error::ApiError::from(e).into_response(),
        }
    };
    once(&state, &signed, &form.nonce, &fingerprint, &back, action).await
}

async fn record(
    state: &AppState,
    signed: &Signed,
    lead_id: &str,
    back: &str,
    form: TouchForm,
) -> Response {
    let who = &signed.principal;
    let due = non_empty(&form.next_step_due);
    let next_step_due_at = match &due {
        Some(day) => match leadline_domain::schedule::local_instant(day, "09:00", time_zone(who)) {
            Some(at) => Some(at),
            None => {
                return error_page(
                    "Not logged",
                    "The next step's date is not a date (use the date picker).",
                    back,
                )
            }
        },
        None => None,
    };
    let input = TouchInput {
        kind: form.kind,
        outcome: non_empty(&form.outcome),
        notes: non_empty(&form.notes),
        occurred_at: None,
        next_step: non_empty(&form.next_step),
        next_step_due_at,
    };
    let actor = format!("user:{}", who.user.id);
    match state
        .app
        .record_touch(lead_id, &input, &who.user.id, &actor)
        .await
    {
        Ok(_) => see_other(back),
        Err(ServiceError::Invalid(errors)) => {
            error_page("Not logged", &joined_messages(&errors), back)
        }
        Err(e) => crate::error::ApiError::from(e).into_response(),
    }
}

/// The person's IANA time zone from their working hours ("" when none is set).
pub(super) fn time_zone(who: &leadline_service::sessions::SessionPrincipal) -> &str {
    who.user
        .working_hours
        .get("time_zone")
        .and_then(|z| z.as_str())
        .unwrap_or("")
}

/// `GET /events`: the web app's live events for the signed-in person, on their
/// session: a lead assigned to them, or one of theirs breaching its deadline. The
/// inbox listens and shows the change without a reload.
pub async fn events(State(state): State<AppState>, signed: Signed) -> Response {
    let who = signed.principal;
    let topics = vec![
        leadline_domain::notify::LEAD_ASSIGNED.to_string(),
        leadline_domain::notify::LEAD_SLA_BREACHED.to_string(),
        leadline_domain::notify::LEAD_ROUTING_FAILED.to_string(),
    ];
    match crate::routes::notifications::open_stream(&state.app, who.role, who.scope, topics, None)
        .await
    {
        Ok(response) => response,
        Err(e) => e.into_response(),
    }
}

/// `GET /inbox/leads`: the inbox's lead sections alone, for the page to swap in when
/// an event says they changed.
pub async fn sections(State(state): State<AppState>, signed: Signed) -> Response {
    match render_sections(&state, &signed).await {
        Ok(markup) => page_response(StatusCode::OK, markup),
        Err(response) => response,
    }
}
