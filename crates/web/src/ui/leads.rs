//! The lead list: search and filters, sorting, cursor paging, saved views, the CSV
//! export, and bulk changes for managers; and the stage vocabulary a person reads.

use super::forms::{error_page, fingerprint, nonce_field, once, refuse_form};
use super::inbox::time_zone;
use super::layout::{csrf_field, error_for, field_errors};
use super::lead::error_response;
use super::{page_response, see_other, Signed};
use crate::AppState;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use leadline_domain::access::Permission;
use leadline_domain::lifecycle::{Lifecycle, StageKind, Vocabulary};
use leadline_domain::schedule::local_time;
use leadline_domain::Channel;
use leadline_service::lead_list::{BulkAction, LeadPage, ListRequest, COUNT_CAP, MAX_BULK};
use leadline_service::ServiceError;
use leadline_store::lead_list::ListRow;
use leadline_store::users::{TeamRow, UserRow};
use maud::{html, Markup};
use serde::Deserialize;
use std::collections::HashMap;

/// Rows per page.
const PAGE: usize = 50;

/// The vocabularies a person may read stages in, with what the choice is called.
pub(super) const VOCABULARIES: [(Vocabulary, &str, &str); 4] = [
    (
        Vocabulary::Stage,
        "stage",
        "Lifecycle stages (New, MQL, SQL …)",
    ),
    (Vocabulary::Funnel, "funnel", "Funnel (TOFU, MOFU, BOFU)"),
    (
        Vocabulary::Ladder,
        "ladder",
        "Name, target, suspect, prospect",
    ),
    (
        Vocabulary::QualificationLevel,
        "qualification_level",
        "Qualification level (1–6)",
    ),
];

/// A stage as this person reads it: in their vocabulary where it covers the stage,
/// else by the lifecycle's label.
pub(super) fn stage_words(lifecycle: &Lifecycle, stage: &str, vocabulary: Vocabulary) -> String {
    let label = lifecycle
        .describe(stage, Vocabulary::Stage)
        .unwrap_or_else(|| stage.to_string());
    match vocabulary {
        Vocabulary::Stage => label,
        Vocabulary::QualificationLevel => lifecycle
            .describe(stage, vocabulary)
            .map(|l| format!("Level {l}"))
            .unwrap_or(label),
        v => lifecycle.describe(stage, v).unwrap_or(label),
    }
}

pub(super) fn row_name(row: &ListRow) -> String {
    super::forms::person_name(
        row.first_name.as_deref(),
        row.last_name.as_deref(),
        row.email.as_deref(),
        row.company.as_deref(),
    )
}

/// The list's request from the query string; junk reads as no filter (the service
/// then names what is wrong with the rest).
fn read_request(query: Option<&str>) -> ListRequest {
    serde_urlencoded::from_str(query.unwrap_or("")).unwrap_or_default()
}

/// What the list page needs besides the rows.
struct Context {
    lifecycle: Lifecycle,
    vocabulary: Vocabulary,
    users: Vec<UserRow>,
    teams: Vec<TeamRow>,
    sources: Vec<(String, String)>,
    campaigns: Vec<(String, String)>,
}

async fn context(state: &AppState, signed: &Signed) -> Result<Context, ServiceError> {
    let app = &state.app;
    let who = &signed.principal;
    let (sources, campaigns) = catalog_names(state).await?;
    Ok(Context {
        lifecycle: app.lifecycle().await?,
        vocabulary: app.stage_vocabulary(&who.user.id).await?,
        users: app.list_users().await?,
        teams: if who.role.allows(Permission::ReadUsers) {
            app.list_teams().await?
        } else {
            Vec::new()
        },
        sources,
        campaigns,
    })
}

/// Sources and campaigns as (id, name), for filters and for naming them on a page.
pub(super) async fn catalog_names(
    state: &AppState,
) -> Result<(Vec<(String, String)>, Vec<(String, String)>), ServiceError> {
    let app = &state.app;
    let sources = app
        .list_sources()
        .await?
        .into_iter()
        .map(|s| (s.id, s.name))
        .collect();
    let campaigns = app
        .list_campaigns()
        .await?
        .into_iter()
        .map(|c| (c.id, c.name))
        .collect();
    Ok((sources, campaigns))
}

/// `GET /leads`.
pub async fn list(
    State(state): State<AppState>,
    signed: Signed,
    RawQuery(query): RawQuery,
) -> Response {
    let request = read_request(query.as_deref());
    let ctx = match context(&state, &signed).await {
        Ok(c) => c,
        Err(e) => return error_response(e),
    };
    let who = &signed.principal;
    let (page, errors) = match state
        .app
        .lead_list(&who.scope, &who.user.id, time_zone(who), &request, PAGE)
        .await
    {
        Ok(page) => (Some(page), Vec::new()),
        Err(ServiceError::Invalid(errors)) => (None, field_errors(errors)),
        Err(e) => return error_response(e),
    };
    let views = match state.app.saved_views(&who.user.id).await {
        Ok(v) => v,
        Err(e) => return error_response(e),
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let query = request.to_query();
    let body = html! {
        h1 { "Leads" }
        div.list-layout {
            aside.card aria-labelledby="views-title" {
                h2 id="views-title" { "Views" }
                ul.views {
                    li { a href="/leads" { "All my leads" } }
                    li { a href="/leads?sort=score" { "Best score first" } }
                    li { a href="/leads?sort=last_touch" { "Longest untouched" } }
                    @for view in &views {
                        li {
                            a href={ "/leads?" (view.query) } { (view.name) }
                            form.inline method="post" action={ "/views/" (view.id) "/delete" } {
                                (csrf_field(who))
                                button.link type="submit" aria-label={ "Delete view " (view.name) } { "×" }
                            }
                        }
                    }
                }
                form method="post" action="/views" {
                    (csrf_field(who))
                    input type="hidden" name="query" value=(query);
                    label for="view-name" { "Save these filters as" }
                    input id="view-name" name="name" type="text" maxlength="100" required;
                    button.secondary type="submit" { "Save view" }
                }
                form method="post" action="/account/vocabulary" {
                    (csrf_field(who))
                    input type="hidden" name="back" value=(list_back(&query));
                    label for="vocabulary" { "Show stages as" }
                    select id="vocabulary" name="vocabulary" {
                        @for (v, key, label) in VOCABULARIES {
                            option value=(key) selected[v == ctx.vocabulary] { (label) }
                        }
                    }
                    button.secondary type="submit" { "Show" }
                }
            }
            div.list-main {
                (filters(who, &ctx, &request, &errors))
                @if let Some(page) = &page {
                    (results(&signed, &ctx, &request, page))
                }
            }
        }
    };
    page_response(status, super::layout::signed_in("Leads", who, body))
}

fn filters(
    who: &leadline_service::sessions::SessionPrincipal,
    ctx: &Context,
    r: &ListRequest,
    errors: &[(String, String)],
) -> Markup {
    let text = |name: &str, label: &str, value: &str, kind: &str| {
        let error = error_for(errors, name);
        let id = format!("filter-{name}");
        html! {
            div {
                label for=(id) { (label) }
                input id=(id) name=(name) type=(kind) value=(value) maxlength="200"
                    aria-invalid=[error.map(|_| "true")]
                    aria-describedby=[error.map(|_| format!("{id}-error"))];
                @if let Some(m) = error { p.field-error id={ (id) "-error" } { (m) } }
            }
        }
    };
    let choice = |name: &str, label: &str, value: &str, options: Vec<(String, String)>| {
        let error = error_for(errors, name);
        let id = format!("filter-{name}");
        html! {
            div {
                label for=(id) { (label) }
                select id=(id) name=(name) aria-invalid=[error.map(|_| "true")]
                    aria-describedby=[error.map(|_| format!("{id}-error"))] {
                    option value="" { "any" }
                    @for (key, text) in &options { option value=(key) selected[key == value] { (text) } }
                }
                @if let Some(m) = error { p.field-error id={ (id) "-error" } { (m) } }
            }
        }
    };
    let stages: Vec<(String, String)> = ctx
        .lifecycle
        .stages
        .iter()
        .map(|s| {
            (
                s.key.clone(),
                stage_words(&ctx.lifecycle, &s.key, ctx.vocabulary),
            )
        })
        .collect();
    let mut owners = vec![("me".to_string(), "me".to_string())];
    if who.role != leadline_domain::access::Role::Rep {
        owners.push(("nobody".into(), "nobody (unassigned)".into()));
        owners.extend(
            ctx.users
                .iter()
                .filter(|u| u.role == "rep" && who.scope.includes(Some(&u.id)))
                .map(|u| (u.id.clone(), u.name.clone())),
        );
    }
    let channels: Vec<(String, String)> = Channel::ALL
        .iter()
        .map(|c| (c.as_str().to_string(), c.as_str().replace('_', " ")))
        .collect();
    html! {
        form.card.filters method="get" action="/leads" role="search" aria-label="Find leads" {
            (text("q", "Search name, e-mail, phone or company", &r.q, "search"))
            (choice("stage", "Stage", &r.stage, stages))
            (choice("owner", "Owner", &r.owner, owners))
            @if !ctx.teams.is_empty() {
                (choice("team", "Team", &r.team, ctx.teams.iter().map(|t| (t.id.clone(), t.name.clone())).collect()))
            }
            (choice("source", "Source", &r.source, ctx.sources.clone()))
            (choice("campaign", "Campaign", &r.campaign, ctx.campaigns.clone()))
            (choice("channel", "Channel", &r.channel, channels))
            (choice("horizon", "Horizon", &r.horizon, vec![("short_range".into(), "short range".into()), ("long_range".into(), "long range".into())]))
            (text("score_min", "Score from", &r.score_min, "text"))
            (text("score_max", "Score to", &r.score_max, "text"))
            (text("created_from", "Created from", &r.created_from, "date"))
            (text("created_to", "Created to", &r.created_to, "date"))
            div {
                label for="filter-sort" { "Sort by" }
                select id="filter-sort" name="sort" {
                    @for (key, label) in [("newest", "newest first"), ("oldest", "oldest first"), ("score", "best score first"), ("last_touch", "longest untouched first")] {
                        option value=(key) selected[r.sort == key] { (label) }
                    }
                }
                @if let Some(m) = error_for(errors, "sort") { p.field-error { (m) } }
            }
            div.actions {
                button type="submit" { "Find" }
                a.button.secondary href="/leads" { "Clear" }
            }
        }
    }
}

fn results(signed: &Signed, ctx: &Context, r: &ListRequest, page: &LeadPage) -> Markup {
    let who = &signed.principal;
    let zone = time_zone(who);
    let names: HashMap<&str, &str> = ctx
        .users
        .iter()
        .map(|u| (u.id.as_str(), u.name.as_str()))
        .collect();
    let sources: HashMap<&str, &str> = ctx
        .sources
        .iter()
        .map(|(i, n)| (i.as_str(), n.as_str()))
        .collect();
    let bulk = who.role.allows(Permission::ManageTeams);
    let query = r.to_query();
    let found = if page.found >= COUNT_CAP {
        format!("more than {COUNT_CAP} leads")
    } else if page.found == 1 {
        "1 lead".to_string()
    } else {
        format!("{} leads", page.found)
    };
    let csv_href = if query.is_empty() {
        "/leads.csv".to_string()
    } else {
        format!("/leads.csv?{query}")
    };
    let table = html! {
        table.leads {
            caption { (found) }
            thead {
                tr {
                    @if bulk { th scope="col" { span.sr-only { "Choose" } } }
                    th scope="col" { "Name" }
                    th scope="col" { "Company" }
                    th scope="col" { "Stage" }
                    th scope="col" { "Owner" }
                    th scope="col" { "Score" }
                    th scope="col" { "Source" }
                    th scope="col" { "Created" }
                    th scope="col" { "Last touch" }
                }
            }
            tbody {
                @for row in &page.rows {
                    tr {
                        @if bulk {
                            td { input type="checkbox" name="lead" value=(row.id) id={ "pick-" (row.id) } aria-label={ "Choose " (row_name(row)) }; }
                        }
                        td { a href={ "/leads/" (row.id) } { (row_name(row)) } @if let Some(e) = &row.email { br; span.hint { (e) } } }
                        td { (row.company.as_deref().unwrap_or("")) }
                        td { (stage_words(&ctx.lifecycle, &row.stage, ctx.vocabulary)) }
                        td { (row.owner_id.as_deref().and_then(|o| names.get(o).copied()).unwrap_or("–")) }
                        td.num { (row.score.map(|s| format!("{s:.0}")).unwrap_or_else(|| "–".into())) }
                        td { (row.source_id.as_deref().and_then(|s| sources.get(s).copied()).unwrap_or("")) }
                        td { (local_time(row.created_at, zone)) }
                        td { (row.last_touch_at.map(|t| local_time(t, zone)).unwrap_or_else(|| "never".into())) }
                    }
                }
            }
        }
    };
    html! {
        div.list-tools {
            a.button.secondary href=(csv_href) download { "Export CSV" }
        }
        @if page.rows.is_empty() {
            p.empty { "No lead matches these filters." }
        } @else if bulk {
            form method="post" action="/leads/bulk" {
                (csrf_field(who))
                (nonce_field())
                input type="hidden" name="back" value=(query);
                (table)
                fieldset.bulk {
                    legend { "With the chosen leads (up to " (MAX_BULK) ")" }
                    div {
                        label for="bulk-owner" { "Assign to" }
                        select id="bulk-owner" name="owner_id" {
                            @for u in ctx.users.iter().filter(|u| u.role == "rep" && u.active) { option value=(u.id) { (u.name) } }
                        }
                        button.secondary type="submit" name="action" value="assign" { "Assign" }
                    }
                    div {
                        label for="bulk-stage" { "Move to" }
                        select id="bulk-stage" name="to" {
                            @for s in ctx.lifecycle.stages.iter().filter(|s| s.kind != StageKind::Disqualified) {
                                option value=(s.key) { (stage_words(&ctx.lifecycle, &s.key, ctx.vocabulary)) }
                            }
                        }
                        button.secondary type="submit" name="action" value="stage" { "Move" }
                    }
                    div {
                        button.secondary type="submit" name="action" value="nurture" { "Send to nurture" }
                    }
                }
            }
        } @else {
            (table)
        }
        nav.pager aria-label="Pages" {
            @if !r.cursor.is_empty() {
                a href={ "/leads?" (query) } { "First page" }
            }
            @if let Some(next) = &page.next {
                @let next_query = if query.is_empty() { format!("cursor={}", urlencode(next)) } else { format!("{query}&cursor={}", urlencode(next)) };
                a href={ "/leads?" (next_query) } rel="next" { "Next page" }
            }
        }
    }
}

fn urlencode(value: &str) -> String {
    serde_urlencoded::to_string([("v", value)])
        .unwrap_or_default()
        .trim_start_matches("v=")
        .to_string()
}

/// `GET /leads.csv`: the list with the same filters, as a download.
pub async fn export(
    State(state): State<AppState>,
    signed: Signed,
    RawQuery(query): RawQuery,
) -> Response {
    let request = read_request(query.as_deref());
    let who = &signed.principal;
    match state
        .app
        .export_leads_csv(&who.scope, &who.user.id, time_zone(who), &request)
        .await
    {
        Ok(bytes) => super::csv_download(bytes, "leads.csv"),
        Err(ServiceError::Invalid(errors)) => error_page(
            "Not exported",
            &super::layout::joined_messages(&errors),
            "/leads",
        ),
        Err(e) => error_response(e),
    }
}

/// A query string sent back by a form, if it reads as the list's (so a form cannot
/// send anyone elsewhere).
fn list_back(query: &str) -> String {
    let request: ListRequest = serde_urlencoded::from_str(query).unwrap_or_default();
    let query = request.to_query();
    if query.is_empty() {
        "/leads".into()
    } else {
        format!("/leads?{query}")
    }
}

/// `POST /leads/bulk`.
pub async fn bulk(
    State(state): State<AppState>,
    headers: HeaderMap,
    signed: Signed,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let get = |k: &str| super::forms::form_value(&form, k);
    if let Some(refused) = refuse_form(&state, &headers, &signed, get("csrf")) {
        return refused;
    }
    let who = &signed.principal;
    if !who.role.allows(Permission::ManageTeams) {
        return super::refused_page();
    }
    let back = list_back(get("back"));
    let ids: Vec<String> = form
        .iter()
        .filter(|(k, _)| k == "lead")
        .map(|(_, v)| v.clone())
        .take(MAX_BULK + 1)
        .collect();
    let action = match get("action") {
        "assign" => BulkAction::Assign {
            rep_id: get("owner_id").to_string(),
        },
        "stage" => BulkAction::Stage {
            to: get("to").to_string(),
            reason: None,
        },
        "nurture" => match state.app.nurture_stage().await {
            Ok(to) => BulkAction::Stage { to, reason: None },
            Err(e) => return error_response(e),
        },
        _ => {
            return error_page(
                "Nothing changed",
                "Choose what to do with the leads.",
                &back,
            )
        }
    };
    if ids.is_empty() {
        return error_page("Nothing changed", "Choose at least one lead first.", &back);
    }
    let mut parts: Vec<&str> = vec![get("action"), get("owner_id"), get("to")];
    parts.extend(ids.iter().map(String::as_str));
    let fp = fingerprint(&parts);
    let actor = format!("user:{}", who.user.id);
    let work = async {
        match state
            .app
            .bulk_change(&who.scope, &ids, &action, &actor)
            .await
        {
            Ok(outcome) if outcome.refused.is_empty() => see_other(&back),
            Ok(outcome) => {
                let body = html! {
                    h1 { "Done, with exceptions" }
                    p role="status" { (outcome.done) " changed; " (outcome.refused.len()) " not:" }
                    ul { @for (id, why) in &outcome.refused { li { a href={ "/leads/" (id) } { (id) } ": " (why) } } }
                    p { a href=(back) { "Back to the list" } }
                };
                page_response(
                    StatusCode::OK,
                    super::layout::signed_in("Bulk change", who, body),
                )
            }
            Err(ServiceError::Invalid(errors)) => error_page(
                "Nothing changed",
                &super::layout::joined_messages(&errors),
                &back,
            ),
            Err(e) => error_response(e),
        }
    };
    once(&state, &signed, get("nonce"), &fp, &back, work).await
}

#[derive(Debug, Deserialize)]
pub struct ViewForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    query: String,
}

/// `POST /views`: the list's filters saved under a name.
pub async fn save_view(
    State(state): State<AppState>,
    headers: HeaderMap,
    signed: Signed,
    Form(form): Form<ViewForm>,
) -> Response {
    if let Some(refused) = refuse_form(&state, &headers, &signed, &form.csrf) {
        return refused;
    }
    let request: ListRequest = serde_urlencoded::from_str(&form.query).unwrap_or_default();
    let back = list_back(&form.query);
    match state
        .app
        .save_view(&signed.principal.user.id, &form.name, &request)
        .await
    {
        Ok(_) => see_other(&back),
        Err(ServiceError::Invalid(errors)) => error_page(
            "View not saved",
            &super::layout::joined_messages(&errors),
            &back,
        ),
        Err(e) => error_response(e),
    }
}

#[derive(Debug, Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

/// `POST /views/{id}/delete`.
pub async fn delete_view(
    State(state): State<AppState>,
    headers: HeaderMap,
    signed: Signed,
    Path(id): Path<String>,
    Form(form): Form<CsrfOnly>,
) -> Response {
    if let Some(refused) = refuse_form(&state, &headers, &signed, &form.csrf) {
        return refused;
    }
    match state.app.delete_view(&signed.principal.user.id, &id).await {
        Ok(()) => see_other("/leads"),
        Err(e) => error_response(e),
    }
}

#[derive(Debug, Deserialize)]
pub struct VocabularyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    vocabulary: String,
    #[serde(default)]
    back: String,
}

/// `POST /account/vocabulary`: the words stages are shown in, for this person.
pub async fn set_vocabulary(
    State(state): State<AppState>,
    headers: HeaderMap,
    signed: Signed,
    Form(form): Form<VocabularyForm>,
) -> Response {
    if let Some(refused) = refuse_form(&state, &headers, &signed, &form.csrf) {
        return refused;
    }
    let back = super::local_path(Some(&form.back))
        .unwrap_or("/leads")
        .to_string();
    let Some((vocabulary, _, _)) = VOCABULARIES
        .iter()
        .find(|(_, key, _)| *key == form.vocabulary)
    else {
        return error_page(
            "Not changed",
            "Choose one of the listed vocabularies.",
            &back,
        );
    };
    match state
        .app
        .set_stage_vocabulary(&signed.principal.user.id, *vocabulary)
        .await
    {
        Ok(()) => see_other(&back),
        Err(e) => error_response(e),
    }
}
