//! A lead's workspace: every field (editable, with the server's message beside a
//! refused one), the stage as a path with the playbook's questions and the allowed
//! moves, the score point by point, the timeline (filterable), attribution, consent
//! with its evidence, possible duplicates, and the owner (reassigned by managers).

use super::forms::{error_page, fingerprint, non_empty, nonce_field, once, refuse_lead_form};
use super::inbox::{back_to, time_zone, touch_form};
use super::layout::{csrf_field, error_for, field_errors, joined_messages};
use super::{page_response, see_other, Signed};
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use leadline_domain::access::Permission;
use leadline_domain::fields::LeadField;
use leadline_domain::lifecycle::{Lifecycle, StageKind};
use leadline_domain::qualification::{Answer, QuestionKey};
use leadline_domain::schedule::local_time;
use leadline_domain::scoring::ScorePart;
use leadline_service::duplicates::{DuplicateFilter, DuplicateItem};
use leadline_service::leads::{LeadDetail, LeadPatch};
use leadline_service::lifecycle::Qualification;
use leadline_service::ServiceError;
use leadline_store::leads::LeadRecord;
use leadline_store::timeline::TimelineEvent;
use leadline_store::users::UserRow;
use leadline_store::work::LeadWork;
use maud::{html, Markup};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};

/// The fields a person edits, in the order a lead card shows them.
const EDITABLE: &[(LeadField, &str, &str)] = &[
    (LeadField::FirstName, "First name", "text"),
    (LeadField::LastName, "Last name", "text"),
    (LeadField::Title, "Title", "text"),
    (LeadField::Email, "E-mail", "email"),
    (LeadField::Phone, "Phone", "tel"),
    (LeadField::Company, "Company", "text"),
    (LeadField::Website, "Website", "text"),
    (LeadField::Street, "Street", "text"),
    (LeadField::PostalCode, "Postal code", "text"),
    (LeadField::City, "City", "text"),
    (LeadField::Region, "Region", "text"),
    (LeadField::Country, "Country", "text"),
    (LeadField::DateOfBirth, "Date of birth", "text"),
];

/// The name a lead goes by on screen.
pub(super) fn lead_name(lead: &LeadRecord) -> String {
    let f = &lead.fields;
    super::forms::person_name(
        f.first_name.as_deref(),
        f.last_name.as_deref(),
        f.email.as_deref(),
        f.company.as_deref(),
    )
}

/// A service error as a page: "not found" for a lead outside the person's scope
/// (nothing says it exists), the API's answer otherwise.
pub(super) fn error_response(e: ServiceError) -> Response {
    match e {
        ServiceError::NotFound { .. } => page_response(
            StatusCode::NOT_FOUND,
            super::layout::bare(
                "Not found",
                html! {
                    h1 { "Not found" }
                    p { "There is no such lead, or it is not one you may see." }
                    p { a href="/" { "Back to your leads" } }
                },
            ),
        ),
        e => crate::error::ApiError::from(e).into_response(),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct TimelineQuery {
    /// Only timeline events of this kind.
    kind: Option<String>,
}

/// What a refused edit brings back to the page: the values as typed and the reasons.
struct Edits {
    values: BTreeMap<String, String>,
    errors: Vec<(String, String)>,
}

/// Everything the workspace shows, read through the same services as the API.
struct Workspace {
    detail: LeadDetail,
    work: LeadWork,
    qualification: Qualification,
    lifecycle: Lifecycle,
    timeline: Vec<TimelineEvent>,
    duplicates: Vec<DuplicateItem>,
    users: Vec<UserRow>,
    sources: HashMap<String, String>,
    campaigns: HashMap<String, String>,
}

/// Everything else the workspace shows about the lead of `detail`.
async fn load(
    state: &AppState,
    signed: &Signed,
    detail: LeadDetail,
) -> Result<Workspace, ServiceError> {
    let app = &state.app;
    let scope = &signed.principal.scope;
    let id = detail.lead.id.as_str();
    let filter = DuplicateFilter {
        lead_id: Some(id.to_string()),
        ..Default::default()
    };
    let (duplicates, _) = app.list_duplicates(scope, &filter, None, 20).await?;
    let (sources, campaigns) = super::leads::catalog_names(state).await?;
    Ok(Workspace {
        work: app.lead_score(id).await?,
        qualification: app.qualification(id).await?,
        lifecycle: app.lifecycle().await?,
        timeline: app.timeline(scope, id).await?,
        users: app.list_users().await?,
        sources: sources.into_iter().collect(),
        campaigns: campaigns.into_iter().collect(),
        duplicates,
        detail,
    })
}

/// `GET /leads/{id}`.
pub async fn show(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    Query(q): Query<TimelineQuery>,
) -> Response {
    render(&state, &signed, &id, q.kind.as_deref(), None).await
}

async fn render(
    state: &AppState,
    signed: &Signed,
    id: &str,
    kind: Option<&str>,
    edits: Option<Edits>,
) -> Response {
    let detail = match state.app.lead_detail(&signed.principal.scope, id).await {
        Ok(d) => d,
        Err(e) => return error_response(e),
    };
    // A merged-away lead lives on in its survivor.
    if let Some(survivor) = &detail.lead.merged_into {
        return see_other(&format!("/leads/{survivor}"));
    }
    let ws = match load(state, signed, detail).await {
        Ok(ws) => ws,
        Err(e) => return error_response(e),
    };
    let lead = &ws.detail.lead;
    let name = lead_name(lead);
    let who = &signed.principal;
    let status = if edits.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let body = html! {
        div.lead-head {
            div {
                h1 { (name) }
                p.hint {
                    @if let Some(title) = &lead.fields.title { (title) }
                    @if lead.fields.title.is_some() && lead.fields.company.is_some() { " at " }
                    @if let Some(company) = &lead.fields.company { (company) }
                }
            }
            (owner_box(signed, &ws))
        }
        @if let Some(edits) = &edits {
            p.alert.error role="alert" { "Not saved: " (edits.errors.iter().map(|(_, m)| m.as_str()).collect::<Vec<_>>().join("; ")) }
        }
        div.workspace {
            div.column {
                (stage_path(signed, &ws))
                section.card aria-labelledby="log-title" {
                    h2 id="log-title" { "Log what you did" }
                    (touch_form(who, id, "lead"))
                }
                (timeline(signed, &ws, kind))
            }
            div.column {
                (fields_form(signed, lead, edits.as_ref()))
                (score(&ws.work))
                (duplicates(signed, &ws))
                (attribution(who, &ws))
                (consents(who, &ws))
            }
        }
    };
    page_response(status, super::layout::signed_in(&name, who, body))
}

fn owner_box(signed: &Signed, ws: &Workspace) -> Markup {
    let who = &signed.principal;
    let owner = ws.work.owner_id.as_deref();
    let owner_name = owner
        .and_then(|o| ws.users.iter().find(|u| u.id == o))
        .map(|u| u.name.as_str());
    // The caller's own reps first, then everyone else's (a hand-off to another team).
    let mut reps: Vec<&UserRow> = ws
        .users
        .iter()
        .filter(|u| u.role == "rep" && u.active && Some(u.id.as_str()) != owner)
        .collect();
    reps.sort_by_key(|u| (!who.scope.includes(Some(&u.id)), u.name.to_lowercase()));
    let id = &ws.detail.lead.id;
    html! {
        div.owner-box {
            p { "Owner: " strong { (owner_name.unwrap_or("nobody yet")) } }
            @if who.role.allows(Permission::ManageTeams) && !reps.is_empty() {
                form method="post" action={ "/leads/" (id) "/owner" } {
                    (csrf_field(who))
                    (nonce_field())
                    label for="owner_id" { "Reassign to" }
                    select id="owner_id" name="owner_id" {
                        @for rep in &reps { option value=(rep.id) { (rep.name) } }
                    }
                    button.secondary type="submit" { "Reassign" }
                }
            }
        }
    }
}

fn answer_text(answer: Option<&Answer>) -> String {
    answer.map(|a| a.to_string()).unwrap_or_default()
}

/// The stage as a path: the open stages in order with the lead's marked, the side
/// states beside it, the playbook's questions, and a button per allowed move.
fn stage_path(signed: &Signed, ws: &Workspace) -> Markup {
    let who = &signed.principal;
    let lifecycle = &ws.lifecycle;
    let q = &ws.qualification;
    let current = q.stage.as_str();
    let id = &ws.detail.lead.id;
    let moves = lifecycle.allowed_from(current);
    // The questions the next moves need, so the rep asks those first.
    let mut needed: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for to in moves {
        if let Some(stage) = lifecycle.stage(to) {
            for key in &stage.required_answers {
                needed
                    .entry(key.clone())
                    .or_default()
                    .push(stage.label.clone());
            }
        }
    }
    let vocab = |v: &str| q.vocabularies.get(v).cloned().flatten();
    html! {
        section.card aria-labelledby="stage-title" {
            h2 id="stage-title" { "Stage" }
            ol.path aria-label="Lifecycle" {
                @for stage in lifecycle.stages.iter().filter(|s| matches!(s.kind, StageKind::Open | StageKind::Won)) {
                    @if stage.key == current {
                        li.current aria-current="step" { (stage.label) }
                    } @else {
                        li { (stage.label) }
                    }
                }
            }
            p {
                "Now: " strong { (vocab("stage").unwrap_or_else(|| current.to_string())) }
                @if let Some(f) = vocab("funnel") { " · " (f) }
                @if let Some(l) = vocab("ladder") { " · " (l) }
                @if let Some(level) = vocab("qualification_level") { " · qualification level " (level) }
                @if let Some(h) = &q.horizon { " · horizon " (serde_json::to_value(h).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()) }
                @if let Some(reason) = &q.disqualify_reason { " · reason: " (lifecycle.reason(reason).map(|r| r.label.as_str()).unwrap_or(reason)) }
            }
            @if moves.is_empty() {
                p.hint { "No move leads on from this stage." }
            } @else {
                div.moves {
                    @for to in moves {
                        @if let Some(stage) = lifecycle.stage(to) {
                            form method="post" action={ "/leads/" (id) "/stage" } {
                                (csrf_field(who))
                                (nonce_field())
                                input type="hidden" name="back" value="lead";
                                input type="hidden" name="to" value=(stage.key);
                                @if stage.kind == StageKind::Disqualified {
                                    label for={ "reason-" (stage.key) } { "Reason" }
                                    select id={ "reason-" (stage.key) } name="reason" {
                                        @for r in &lifecycle.disqualify_reasons { option value=(r.key) { (r.label) } }
                                    }
                                }
                                @let missing = lifecycle.missing_answers(&stage.key, &q.answers);
                                button.secondary type="submit" aria-describedby=[(!missing.is_empty()).then(|| format!("needs-{}", stage.key))] {
                                    "Move to " (stage.label)
                                }
                                @if !missing.is_empty() {
                                    p.hint id={ "needs-" (stage.key) } {
                                        "Needs an answer to: "
                                        (missing.iter().map(|k| k.parse::<QuestionKey>().map(|q| q.label().to_string()).unwrap_or_else(|_| k.clone())).collect::<Vec<_>>().join(", "))
                                    }
                                }
                            }
                        }
                    }
                }
            }
            form.answers method="post" action={ "/leads/" (id) "/answers" } {
                (csrf_field(who))
                (nonce_field())
                h3 { "Qualification" }
                @for question in QuestionKey::ALL {
                    @let key = question.as_str();
                    @let current_answer = answer_text(q.answers.get(question));
                    @let field = format!("answer-{key}");
                    div.question {
                        label for=(field) {
                            (question.label())
                            @if let Some(stages) = needed.get(key) { " " span.badge { "needed for " (stages.join(", ")) } }
                        }
                        @if question == QuestionKey::Timeframe {
                            input id=(field) name=(key) type="text" value=(current_answer)
                                placeholder="now, 3_months, 2027-03-31, no_plans" maxlength="40";
                            @if let Some(words) = q.answer_texts.get(key) { p.hint { "They said: “" (words) "”" } }
                        } @else {
                            select id=(field) name=(key) {
                                @for (value, label) in [("", "not asked"), ("yes", "Yes"), ("no", "No"), ("unknown", "Asked, no answer")] {
                                    option value=(value) selected[current_answer == value] { (label) }
                                }
                            }
                        }
                    }
                }
                div.question {
                    label for="horizon" { "Horizon" }
                    select id="horizon" name="horizon" {
                        option value="" selected[!q.horizon_overridden] { "From the timeframe" }
                        @for (value, label) in [("short_range", "Short range (buying soon)"), ("long_range", "Long range (nurture)")] {
                            @let chosen = q.horizon_overridden && q.horizon.as_ref().and_then(|h| serde_json::to_value(h).ok()).and_then(|v| v.as_str().map(str::to_string)).as_deref() == Some(value);
                            option value=(value) selected[chosen] { (label) }
                        }
                    }
                }
                button type="submit" { "Save answers" }
            }
        }
    }
}

fn fields_form(signed: &Signed, lead: &LeadRecord, edits: Option<&Edits>) -> Markup {
    let who = &signed.principal;
    let input = lead.fields.to_input();
    let value_of = |name: &str, stored: Option<&str>| -> String {
        match edits {
            Some(e) => e.values.get(name).cloned().unwrap_or_default(),
            None => stored.unwrap_or_default().to_string(),
        }
    };
    let errors: &[(String, String)] = edits.map(|e| e.errors.as_slice()).unwrap_or(&[]);
    html! {
        section.card aria-labelledby="fields-title" {
            h2 id="fields-title" { "Details" }
            form.fields method="post" action={ "/leads/" (lead.id) "/fields" } novalidate {
                (csrf_field(who))
                (nonce_field())
                @for (field, label, kind) in EDITABLE {
                    @let name = field.as_str();
                    @let error = error_for(errors, name);
                    @let input_id = format!("field-{name}");
                    div.field {
                        label for=(input_id) { (label) }
                        input id=(input_id) name=(name) type=(kind) value=(value_of(name, input.get(*field)))
                            maxlength="1024"
                            aria-invalid=[error.map(|_| "true")]
                            aria-describedby=[error.map(|_| format!("{input_id}-error"))];
                        @if let Some(message) = error { p.field-error id={ (input_id) "-error" } { (message) } }
                    }
                }
                @for (key, stored) in &lead.fields.custom {
                    @let name = format!("custom.{key}");
                    @let error = error_for(errors, &name);
                    @let input_id = format!("field-custom-{}", fingerprint(&[key]).get(..12).unwrap_or_default());
                    div.field {
                        label for=(input_id) { (key) }
                        input id=(input_id) name=(name) type="text" value=(value_of(&name, Some(stored))) maxlength="10000"
                            aria-invalid=[error.map(|_| "true")]
                            aria-describedby=[error.map(|_| format!("{input_id}-error"))];
                        @if let Some(message) = error { p.field-error id={ (input_id) "-error" } { (message) } }
                    }
                }
                @if !lead.fields.flags.is_empty() {
                    p.hint { "Kept as given: " (lead.fields.flags.iter().map(|f| serde_json::to_value(f).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default().replace('_', " ")).collect::<Vec<_>>().join(", ")) }
                }
                button type="submit" { "Save details" }
            }
        }
    }
}

fn score(work: &LeadWork) -> Markup {
    let parts: Vec<ScorePart> = work
        .score_explanation
        .as_ref()
        .and_then(|e| serde_json::from_value(e["parts"].clone()).ok())
        .unwrap_or_default();
    let fmt = |v: Option<f64>| v.map(|v| format!("{v:.0}")).unwrap_or_else(|| "–".into());
    html! {
        section.card aria-labelledby="score-title" {
            h2 id="score-title" { "Score " (fmt(work.score)) }
            p { "Fit " strong { (fmt(work.fit_score)) } " · engagement " strong { (fmt(work.engagement_score)) } }
            @if parts.is_empty() {
                p.hint { "No rule gave points yet." }
            } @else {
                table {
                    caption.sr-only { "What gave the points" }
                    thead { tr { th scope="col" { "Rule" } th scope="col" { "Why" } th scope="col" { "Points" } } }
                    tbody {
                        @for part in &parts {
                            tr {
                                td { (part.rule_name) }
                                td {
                                    @match &part.event_type {
                                        Some(event) => {
                                            (event)
                                            @if let Some(age) = part.age_days { ", " (format!("{age:.0}")) " days ago" }
                                            @if part.points != part.base_points { " (of " (format!("{:.0}", part.base_points)) ", faded)" }
                                        }
                                        None => "fits the profile",
                                    }
                                }
                                td.num { (format!("{:+.1}", part.points)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// One line telling what a timeline event was.
fn event_summary(e: &TimelineEvent, ws: &Workspace) -> String {
    let users = &ws.users;
    let p = &e.payload;
    let s = |k: &str| p[k].as_str().unwrap_or("").to_string();
    let user = |k: &str| {
        p[k].as_str()
            .and_then(|id| users.iter().find(|u| u.id == id))
            .map(|u| u.name.clone())
            .unwrap_or_else(|| "nobody".into())
    };
    match e.kind.as_str() {
        "field_changed" => format!(
            "{}: {} → {}",
            s("field").replace('_', " "),
            p["old"].as_str().unwrap_or("(empty)"),
            p["new"].as_str().unwrap_or("(empty)")
        ),
        "stage_changed" => {
            let mut line = format!("{} → {}", s("from"), s("to"));
            if let Some(reason) = p["reason"].as_str() {
                line.push_str(&format!(" ({reason})"));
            }
            line
        }
        "routed" => format!("to {}", user("owner_id")),
        "routing_failed" => "no rep could take it".into(),
        "captured" => {
            let named = |map: &HashMap<String, String>, key: &str| {
                p[key].as_str().and_then(|id| map.get(id)).cloned()
            };
            [
                Some(s("outcome")),
                Some(s("channel").replace('_', " ")),
                named(&ws.sources, "source_id"),
                named(&ws.campaigns, "campaign_id"),
            ]
            .into_iter()
            .flatten()
            .filter(|x| !x.is_empty())
            .collect::<Vec<_>>()
            .join(" · ")
        }
        "qualification_changed" => p["changes"]
            .as_array()
            .map(|changes| {
                changes
                    .iter()
                    .map(|c| {
                        let question = c["question"].as_str().unwrap_or("");
                        let label = question
                            .parse::<QuestionKey>()
                            .map(|q| q.label().to_string())
                            .unwrap_or_else(|_| question.to_string());
                        let answer = c["answer"].as_str().unwrap_or("cleared");
                        format!("{label}: {answer}")
                    })
                    .collect::<Vec<_>>()
                    .join(" · ")
            })
            .unwrap_or_default(),
        "scored" => format!(
            "{} → {}",
            p["from"]
                .as_f64()
                .map(|v| format!("{v:.0}"))
                .unwrap_or("–".into()),
            p["to"]
                .as_f64()
                .map(|v| format!("{v:.0}"))
                .unwrap_or("–".into())
        ),
        "touched" => [s("kind").replace('_', " "), s("outcome"), s("next_step")]
            .into_iter()
            .filter(|x| !x.is_empty())
            .collect::<Vec<_>>()
            .join(" · "),
        _ => {
            // Other events: their plain values, as the API shows them.
            let Some(map) = p.as_object() else {
                return String::new();
            };
            map.iter()
                .filter_map(|(k, v)| match v {
                    serde_json::Value::String(x) if k != "merge_id" => Some(format!("{k}: {x}")),
                    serde_json::Value::Number(n) => Some(format!("{k}: {n}")),
                    serde_json::Value::Bool(b) => Some(format!("{k}: {b}")),
                    _ => None,
                })
                .take(6)
                .collect::<Vec<_>>()
                .join(" · ")
        }
    }
}

fn timeline(signed: &Signed, ws: &Workspace, kind: Option<&str>) -> Markup {
    let who = &signed.principal;
    let zone = time_zone(who);
    let kind = kind.filter(|k| !k.is_empty());
    let mut kinds: Vec<&str> = ws.timeline.iter().map(|e| e.kind.as_str()).collect();
    kinds.sort_unstable();
    kinds.dedup();
    let undone: Vec<&str> = ws
        .timeline
        .iter()
        .filter(|e| e.kind == "merge_undone")
        .filter_map(|e| e.payload["merge_id"].as_str())
        .collect();
    let may_merge = who.role.allows(Permission::MergeLeads);
    let id = &ws.detail.lead.id;
    html! {
        section.card aria-labelledby="timeline-title" {
            h2 id="timeline-title" { "Timeline" }
            form.inline method="get" action={ "/leads/" (id) } {
                label for="kind" { "Show" }
                select id="kind" name="kind" {
                    option value="" { "every event" }
                    @for k in &kinds { option value=(k) selected[kind == Some(*k)] { (k.replace('_', " ")) } }
                }
                button.secondary type="submit" { "Filter" }
            }
            ol.timeline reversed {
                @for e in ws.timeline.iter().rev().filter(|e| kind.is_none_or(|k| e.kind == k)) {
                    li {
                        time datetime=(e.occurred_at) { (local_time(e.occurred_at, zone)) }
                        " " strong { (e.kind.replace('_', " ")) }
                        " " span { (event_summary(e, ws)) }
                        span.hint { " — " (e.actor) }
                        @if let (true, "merged", Some(merge_id)) = (may_merge, e.kind.as_str(), e.payload["merge_id"].as_str()) {
                            @if !undone.contains(&merge_id) {
                                form.inline method="post" action={ "/merges/" (merge_id) "/undo" } {
                                    (csrf_field(who))
                                    (nonce_field())
                                    input type="hidden" name="lead_id" value=(id);
                                    button.secondary type="submit" { "Undo this merge" }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn duplicates(signed: &Signed, ws: &Workspace) -> Markup {
    let who = &signed.principal;
    let id = &ws.detail.lead.id;
    let may_merge = who.role.allows(Permission::MergeLeads);
    let others: Vec<(&DuplicateItem, &leadline_store::duplicates::LeadSummary)> = ws
        .duplicates
        .iter()
        .map(|d| {
            (
                d,
                if &d.lead_a.id == id {
                    &d.lead_b
                } else {
                    &d.lead_a
                },
            )
        })
        .collect();
    let flagged = ws
        .detail
        .lead
        .possible_duplicate_of
        .as_deref()
        .filter(|other| !others.iter().any(|(_, o)| o.id == *other));
    html! {
        @if !others.is_empty() || flagged.is_some() {
            section.card aria-labelledby="dupes-title" {
                h2 id="dupes-title" { "Possible duplicates" }
                ul {
                    @for (pair, other) in &others {
                        li {
                            a href={ "/leads/" (other.id) } {
                                ([other.first_name.as_deref(), other.last_name.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(" "))
                                @if let Some(e) = &other.email { " <" (e) ">" }
                            }
                            " · " (format!("{:.0}", pair.probability * 100.0)) "% likely"
                            @if may_merge { " · " a href={ "/leads/" (id) "/merge/" (other.id) } { "Compare and merge" } }
                        }
                    }
                    @if let Some(other) = flagged {
                        li {
                            a href={ "/leads/" (other) } { "A lead this one may duplicate" }
                            @if may_merge { " · " a href={ "/leads/" (id) "/merge/" (other) } { "Compare and merge" } }
                        }
                    }
                }
            }
        }
    }
}

fn attribution(who: &leadline_service::sessions::SessionPrincipal, ws: &Workspace) -> Markup {
    let zone = time_zone(who);
    let name = |map: &HashMap<String, String>, id: &Option<String>| {
        id.as_ref()
            .map(|i| map.get(i).cloned().unwrap_or_else(|| i.clone()))
            .unwrap_or_else(|| "–".into())
    };
    html! {
        section.card aria-labelledby="attribution-title" {
            h2 id="attribution-title" { "Attribution" }
            @if ws.detail.touches.is_empty() {
                p.hint { "No recorded touches." }
            } @else {
                ol.touches {
                    @for t in &ws.detail.touches {
                        li {
                            strong { (local_time(t.occurred_at, zone)) } " · " (t.channel.replace('_', " "))
                            dl.facts {
                                dt { "Source" } dd { (name(&ws.sources, &t.source_id)) }
                                dt { "Campaign" } dd { (name(&ws.campaigns, &t.campaign_id)) }
                                @for (label, value) in [("UTM source", &t.utm_source), ("UTM medium", &t.utm_medium), ("UTM campaign", &t.utm_campaign), ("UTM term", &t.utm_term), ("UTM content", &t.utm_content), ("Referrer", &t.referrer), ("Landing page", &t.landing_page), ("Form", &t.form_id), ("Import", &t.import_id)] {
                                    @if let Some(v) = value { dt { (label) } dd { (v) } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn consents(who: &leadline_service::sessions::SessionPrincipal, ws: &Workspace) -> Markup {
    let zone = time_zone(who);
    html! {
        section.card aria-labelledby="consent-title" {
            h2 id="consent-title" { "Consent" }
            @if ws.detail.consents.is_empty() {
                p.hint { "No consent recorded: do not send marketing to this person." }
            } @else {
                ul {
                    @for c in &ws.detail.consents {
                        li {
                            strong { (c.channel) ": " (c.status) } " · " (local_time(c.recorded_at, zone))
                            @if let Some(w) = &c.wording { p { "Shown: “" (w) "”" } }
                            @if let Some(evidence) = c.evidence.as_object() {
                                dl.facts {
                                    @for (k, v) in evidence {
                                        dt { (k.replace('_', " ")) }
                                        dd { (v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `POST /leads/{id}/fields`: the details form.
pub async fn save_fields(
    State(state): State<AppState>,
    headers: HeaderMap,
    signed: Signed,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let get = |k: &str| super::forms::form_value(&form, k);
    if let Some(refused) = refuse_lead_form(&state, &headers, &signed, get("csrf"), &id).await {
        return refused;
    }
    if form.len() > 400 {
        return error_page(
            "Not saved",
            "The form has too many fields.",
            &format!("/leads/{id}"),
        );
    }
    let lead = match state.app.lead_for(&signed.principal.scope, &id).await {
        Ok(lead) => lead,
        Err(e) => return error_response(e),
    };
    // Only what changed is sent on, so an untouched field never fails for a value
    // it already had (a phone kept as given, say).
    let stored = lead.fields.to_input();
    let mut patch = LeadPatch::default();
    let mut values = BTreeMap::new();
    for (field, _, _) in EDITABLE {
        let typed = get(field.as_str()).trim().to_string();
        if typed != stored.get(*field).unwrap_or("").trim() {
            patch.fields.insert(*field, non_empty(&typed));
        }
        values.insert(field.as_str().to_string(), typed);
    }
    for (key, old) in &lead.fields.custom {
        let name = format!("custom.{key}");
        let typed = get(&name).trim().to_string();
        if &typed != old {
            patch.custom.insert(key.clone(), non_empty(&typed));
        }
        values.insert(name, typed);
    }
    let fp = fingerprint(
        &form
            .iter()
            .filter(|(k, _)| k != "nonce" && k != "csrf")
            .flat_map(|(k, v)| [k.as_str(), v.as_str()])
            .collect::<Vec<_>>(),
    );
    let back = format!("/leads/{id}");
    let nonce = get("nonce").to_string();
    let actor = format!("user:{}", signed.principal.user.id);
    let action = async {
        if patch.fields.is_empty() && patch.custom.is_empty() {
            return see_other(&back);
        }
        match state
            .app
            .patch_lead(&signed.principal.scope, &id, &patch, &actor)
            .await
        {
            Ok(_) => see_other(&back),
            Err(ServiceError::Invalid(errors)) => {
                let errors = field_errors(errors);
                render(&state, &signed, &id, None, Some(Edits { values, errors })).await
            }
            Err(e) => error_response(e),
        }
    };
    once(&state, &signed, &nonce, &fp, &back, action).await
}

/// `POST /leads/{id}/answers`: the qualification questions and the horizon.
pub async fn save_answers(
    State(state): State<AppState>,
    headers: HeaderMap,
    signed: Signed,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let get = |k: &str| {
        form.iter()
            .find(|(name, _)| name == k)
            .map(|(_, v)| v.trim())
    };
    if let Some(refused) =
        refuse_lead_form(&state, &headers, &signed, get("csrf").unwrap_or(""), &id).await
    {
        return refused;
    }
    let back = format!("/leads/{id}");
    let current = match state.app.qualification(&id).await {
        Ok(q) => q,
        Err(e) => return error_response(e),
    };
    // Only the answers that changed: an answer read from the lead's own words stays
    // as it is unless the rep changes it.
    let mut changes = BTreeMap::new();
    for question in QuestionKey::ALL {
        let Some(typed) = get(question.as_str()) else {
            continue;
        };
        if typed != answer_text(current.answers.get(question)) {
            changes.insert(question.as_str().to_string(), non_empty(typed));
        }
    }
    let horizon_manual = match get("horizon") {
        Some("") | None if current.horizon_overridden => Some(None),
        Some("") | None => None,
        Some(h) => Some(Some(h.to_string())),
    };
    let fp = fingerprint(
        &form
            .iter()
            .filter(|(k, _)| k != "nonce" && k != "csrf")
            .flat_map(|(k, v)| [k.as_str(), v.as_str()])
            .collect::<Vec<_>>(),
    );
    let nonce = get("nonce").unwrap_or("").to_string();
    let actor = format!("user:{}", signed.principal.user.id);
    let action = async {
        if changes.is_empty() && horizon_manual.is_none() {
            return see_other(&back);
        }
        match state
            .app
            .set_answers(&id, &changes, horizon_manual, &actor)
            .await
        {
            Ok(_) => see_other(&back),
            Err(ServiceError::Invalid(errors)) => {
                error_page("Answers not saved", &joined_messages(&errors), &back)
            }
            Err(e) => error_response(e),
        }
    };
    once(&state, &signed, &nonce, &fp, &back, action).await
}

#[derive(Debug, Deserialize)]
pub struct OwnerForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    nonce: String,
    #[serde(default)]
    owner_id: String,
    /// `team` when sent from the team board.
    #[serde(default)]
    back: String,
}

/// `POST /leads/{id}/owner`: a manager gives the lead to another of their reps.
pub async fn reassign(
    State(state): State<AppState>,
    headers: HeaderMap,
    signed: Signed,
    Path(id): Path<String>,
    Form(form): Form<OwnerForm>,
) -> Response {
    if let Some(refused) = refuse_lead_form(&state, &headers, &signed, &form.csrf, &id).await {
        return refused;
    }
    if !signed.principal.role.allows(Permission::ManageTeams) {
        return super::refused_page();
    }
    let back = back_to(if form.back == "team" { "team" } else { "lead" }, &id);
    let actor = format!("user:{}", signed.principal.user.id);
    let action = async {
        match state
            .app
            .assign_lead(&signed.principal.scope, &id, &form.owner_id, &actor)
            .await
        {
            Ok(_) => see_other(&back),
            Err(ServiceError::Invalid(errors)) => {
                error_page("Not reassigned", &joined_messages(&errors), &back)
            }
            Err(e) => error_response(e),
        }
    };
    let fp = fingerprint(&[&id, &form.owner_id]);
    once(&state, &signed, &form.nonce, &fp, &back, action).await
}
