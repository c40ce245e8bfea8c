//! Settings: sources and campaigns (cost and dates, what reports judge them by), the
//! lifecycle with its playbooks, and the scoring rules with a preview of what they
//! would give a chosen lead. Lifecycle and scoring are edited as JSON, checked by the
//! same service calls as the API, every problem listed in place.

use super::admin::{page, problems, refuse, require, respond, status_for};
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
use leadline_domain::lifecycle::Lifecycle;
use leadline_domain::scoring::ScoringConfig;
use leadline_service::catalog::CampaignInput;
use leadline_service::ServiceError;
use maud::html;
use serde_json::Value;

const CATALOG: &str = "/admin/sources";
const LIFECYCLE: &str = "/admin/lifecycle";
const SCORING: &str = "/admin/scoring";

fn blank_none(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

fn money(cents: Option<i64>, currency: Option<&str>) -> String {
    match cents {
        Some(c) => format!(
            "{}.{:02} {}",
            c / 100,
            (c % 100).abs(),
            currency.unwrap_or("")
        ),
        None => "–".into(),
    }
}

async fn catalog_page(state: &AppState, signed: &Signed, errors: &[(String, String)]) -> Response {
    let who = &signed.principal;
    let (sources, campaigns) = match (
        state.app.list_sources().await,
        state.app.list_campaigns().await,
    ) {
        (Ok(s), Ok(c)) => (s, c),
        (Err(e), _) | (_, Err(e)) => return error_response(e),
    };
    let edit = who.role.allows(Permission::ManageCampaigns);
    let source_name = |id: &str| {
        sources
            .iter()
            .find(|s| s.id == id)
            .map(|s| s.name.clone())
            .unwrap_or_default()
    };
    let body = html! {
        (problems(errors))
        section.card aria-labelledby="sources-title" {
            h2 id="sources-title" { "Sources" }
            p.hint { "Made on first use by forms, imports and the API." }
            table {
                thead { tr { th scope="col" { "Source" } th scope="col" { "Channel" } th scope="col" { "Its leads" } } }
                tbody {
                    @for s in &sources {
                        tr { td { (s.name) } td { (s.channel.replace('_', " ")) } td { a href={ "/leads?source=" (s.id) } { "list" } } }
                    }
                }
            }
        }
        section.card aria-labelledby="campaigns-title" {
            h2 id="campaigns-title" { "Campaigns" }
            @if campaigns.is_empty() { p.empty { "No campaign yet." } } @else {
                table {
                    thead { tr { th scope="col" { "Campaign" } th scope="col" { "Source" } th scope="col" { "Cost" } th scope="col" { "Runs" } @if edit { th scope="col" { span.sr-only { "Change" } } } } }
                    tbody {
                        @for c in &campaigns {
                            tr {
                                td { a href={ "/leads?campaign=" (c.id) } { (c.name) } }
                                td { (source_name(&c.source_id)) }
                                td.num { (money(c.cost_cents, c.currency.as_deref())) }
                                td { (c.starts_on.as_deref().unwrap_or("…")) " – " (c.ends_on.as_deref().unwrap_or("…")) }
                                @if edit { td { a href={ (CATALOG) "/campaigns/" (c.id) } { "Change" } } }
                            }
                        }
                    }
                }
            }
            @if edit {
                details {
                    summary { "Add a campaign" }
                    (campaign_form(who, None))
                }
            }
        }
    };
    let status = status_for(errors);
    respond(status, page(who, CATALOG, "Sources and campaigns", body))
}

fn campaign_form(
    who: &leadline_service::sessions::SessionPrincipal,
    c: Option<&leadline_store::sources::Campaign>,
) -> maud::Markup {
    let action = match c {
        Some(c) => format!("{CATALOG}/campaigns/{}", c.id),
        None => format!("{CATALOG}/campaigns"),
    };
    let cost = c
        .and_then(|c| c.cost_cents)
        .map(|cents| format!("{}.{:02}", cents / 100, (cents % 100).abs()));
    html! {
        form.numbers method="post" action=(action) {
            (csrf_field(who))
            (super::forms::nonce_field())
            div { label for="c-name" { "Name" } input id="c-name" name="name" type="text" value=[c.map(|c| c.name.as_str())] required maxlength="200"; }
            @if c.is_none() {
                div { label for="c-source" { "Source" } input id="c-source" name="source" type="text" required maxlength="200"; }
            }
            div { label for="c-cost" { "Cost" } input id="c-cost" name="cost" type="text" inputmode="decimal" value=[cost.as_deref()] placeholder="1250.50"; }
            div { label for="c-currency" { "Currency" } input id="c-currency" name="currency" type="text" value=[c.and_then(|c| c.currency.as_deref())] maxlength="3" placeholder="EUR"; }
            div { label for="c-starts" { "Starts on" } input id="c-starts" name="starts_on" type="date" value=[c.and_then(|c| c.starts_on.as_deref())]; }
            div { label for="c-ends" { "Ends on" } input id="c-ends" name="ends_on" type="date" value=[c.and_then(|c| c.ends_on.as_deref())]; }
            div { button type="submit" { @if c.is_some() { "Save campaign" } @else { "Add campaign" } } }
        }
    }
}

fn campaign_input(form: &[(String, String)], new: bool) -> CampaignInput {
    CampaignInput {
        name: Some(get(form, "name").trim().to_string()),
        source: new.then(|| get(form, "source").trim().to_string()),
        channel: None,
        cost_cents: None,
        cost: Some(blank_none(get(form, "cost")).map(Value::String)),
        currency: Some(blank_none(get(form, "currency"))),
        starts_on: Some(blank_none(get(form, "starts_on"))),
        ends_on: Some(blank_none(get(form, "ends_on"))),
    }
}

/// `GET /admin/sources`.
pub async fn catalog(State(state): State<AppState>, signed: Signed) -> Response {
    if let Some(refused) = require(&signed, Permission::ReadCatalog) {
        return refused;
    }
    catalog_page(&state, &signed, &[]).await
}

/// `POST /admin/sources/campaigns`.
pub async fn add_campaign(
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
    super::forms::once_form(
        &state,
        &signed,
        &form,
        CATALOG,
        add_campaign_now(&state, &signed, &form),
    )
    .await
}

async fn add_campaign_now(
    state: &AppState,
    signed: &Signed,
    form: &[(String, String)],
) -> Response {
    match state.app.create_campaign(&campaign_input(form, true)).await {
        Ok(_) => see_other(CATALOG),
        Err(ServiceError::Invalid(e)) => catalog_page(state, signed, &field_errors(e)).await,
        Err(e) => error_response(e),
    }
}

/// `GET /admin/sources/campaigns/{id}`.
pub async fn edit_campaign(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
) -> Response {
    if let Some(refused) = require(&signed, Permission::ManageCampaigns) {
        return refused;
    }
    campaign_page(&state, &signed, &id, &[]).await
}

async fn campaign_page(
    state: &AppState,
    signed: &Signed,
    id: &str,
    errors: &[(String, String)],
) -> Response {
    let campaign = match state.app.campaign(id).await {
        Ok(c) => c,
        Err(e) => return error_response(e),
    };
    let who = &signed.principal;
    let body = html! {
        (problems(errors))
        section.card { (campaign_form(who, Some(&campaign))) }
        p { a href=(CATALOG) { "All sources and campaigns" } }
    };
    let status = status_for(errors);
    respond(status, page(who, CATALOG, &campaign.name, body))
}

/// `POST /admin/sources/campaigns/{id}`.
pub async fn save_campaign(
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
    match state
        .app
        .update_campaign(&id, &campaign_input(&form, false))
        .await
    {
        Ok(_) => see_other(CATALOG),
        Err(ServiceError::Invalid(e)) => {
            campaign_page(&state, &signed, &id, &field_errors(e)).await
        }
        Err(e) => error_response(e),
    }
}

/// A JSON configuration page: the text (as saved, or as typed when refused) and the
/// problems.
/// A configuration edited as JSON: its address, title and what it holds.
struct JsonSection {
    path: &'static str,
    title: &'static str,
    intro: &'static str,
}

const LIFECYCLE_PAGE: JsonSection = JsonSection {
    path: LIFECYCLE,
    title: "Lifecycle",
    intro: LIFECYCLE_INTRO,
};

const SCORING_PAGE: JsonSection = JsonSection {
    path: SCORING,
    title: "Scoring",
    intro: SCORING_INTRO,
};

fn json_page(
    signed: &Signed,
    section: &JsonSection,
    text: &str,
    errors: &[(String, String)],
    inside: maud::Markup,
    extra: maud::Markup,
) -> Response {
    let who = &signed.principal;
    let JsonSection { path, title, intro } = section;
    let body = html! {
        p.hint { (intro) }
        (problems(errors))
        form.card method="post" action=(path) {
            (csrf_field(who))
            label for="config-json" { (title) " as JSON" }
            textarea id="config-json" name="json" rows="28" spellcheck="false" { (text) }
            (inside)
            button type="submit" { "Save" }
        }
        (extra)
    };
    let status = status_for(errors);
    respond(status, page(who, path, title, body))
}

/// `GET /admin/lifecycle`.
pub async fn lifecycle(State(state): State<AppState>, signed: Signed) -> Response {
    if let Some(refused) = require(&signed, Permission::ConfigureLifecycle) {
        return refused;
    }
    match state.app.lifecycle().await {
        Ok(l) => json_page(
            &signed,
            &LIFECYCLE_PAGE,
            &serde_json::to_string_pretty(&l).unwrap_or_default(),
            &[],
            html! {},
            html! {},
        ),
        Err(e) => error_response(e),
    }
}

const LIFECYCLE_INTRO: &str = "Stages (their funnel, ladder and qualification level), the moves allowed between them, the playbook answers a stage needs (required_answers), which stages go to sales (sales_ready), and the reasons a lead may be disqualified for.";

/// `POST /admin/lifecycle`.
pub async fn save_lifecycle(
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
        Permission::ConfigureLifecycle,
    ) {
        return r;
    }
    let text = get(&form, "json");
    let errors = match serde_json::from_str::<Lifecycle>(text) {
        Ok(l) => match state.app.set_lifecycle(&l).await {
            Ok(()) => return see_other(LIFECYCLE),
            Err(ServiceError::Invalid(e)) => field_errors(e),
            Err(e) => return error_response(e),
        },
        Err(e) => vec![("json".to_string(), e.to_string())],
    };
    json_page(&signed, &LIFECYCLE_PAGE, text, &errors, html! {}, html! {})
}

const SCORING_INTRO: &str = "Fit rules (who the lead is) and engagement rules (what they did, fading with a half-life), and the thresholds that lift a lead to a stage.";

/// The lead-id input and the preview button inside the scoring form: the rules as
/// typed are tried on the lead, nothing saved.
fn preview_inputs(lead: Option<&str>) -> maud::Markup {
    html! {
        div.preview-try {
            label for="preview-lead" { "Try these rules on a lead (its id, from /leads/…)" }
            input id="preview-lead" name="lead" type="text" value=[lead] maxlength="64";
            button.secondary type="submit" formaction="/admin/scoring/preview" { "Preview without saving" }
        }
    }
}

/// What the rules would give the lead, beside the score it has now.
async fn preview(
    state: &AppState,
    signed: &Signed,
    config: &ScoringConfig,
    lead: &str,
) -> maud::Markup {
    let result = state
        .app
        .preview_score(&signed.principal.scope, lead, config)
        .await;
    html! {
        section.card aria-labelledby="preview-title" role="status" {
            h2 id="preview-title" { "Preview" }
            @match result {
                Err(e) => { p.alert.error { (e) } }
                Ok((now, with_rules)) => {
                    p { a href={ "/leads/" (lead) } { "The lead" } ": now " strong { (now.map(|s| format!("{s:.1}")).unwrap_or_else(|| "unscored".into())) } ", with these rules " strong { (format!("{:.1}", with_rules.total)) } " (fit " (format!("{:.1}", with_rules.fit)) ", engagement " (format!("{:.1}", with_rules.engagement)) ")" }
                    ul { @for part in &with_rules.parts { li { (part.rule_name) ": " (format!("{:+.1}", part.points)) } } }
                }
            }
        }
    }
}

/// `GET /admin/scoring`.
pub async fn scoring(State(state): State<AppState>, signed: Signed) -> Response {
    if let Some(refused) = require(&signed, Permission::ConfigureScoring) {
        return refused;
    }
    let config = match state.app.scoring_config().await {
        Ok(c) => c,
        Err(e) => return error_response(e),
    };
    json_page(
        &signed,
        &SCORING_PAGE,
        &serde_json::to_string_pretty(&config).unwrap_or_default(),
        &[],
        preview_inputs(None),
        html! {},
    )
}

/// `POST /admin/scoring/preview`: the typed rules tried on a lead, nothing saved.
pub async fn preview_scoring(
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
        Permission::ConfigureScoring,
    ) {
        return r;
    }
    let text = get(&form, "json");
    let lead = get(&form, "lead").trim();
    match serde_json::from_str::<ScoringConfig>(text) {
        Ok(config) => {
            let errors = match config.validate() {
                Ok(()) => Vec::new(),
                Err(problems) => problems
                    .iter()
                    .map(|p| ("scoring".to_string(), p.to_string()))
                    .collect(),
            };
            let extra = if errors.is_empty() && !lead.is_empty() {
                preview(&state, &signed, &config, lead).await
            } else {
                html! {}
            };
            json_page(
                &signed,
                &SCORING_PAGE,
                text,
                &errors,
                preview_inputs(Some(lead)),
                extra,
            )
        }
        Err(e) => json_page(
            &signed,
            &SCORING_PAGE,
            text,
            &[("json".to_string(), e.to_string())],
            preview_inputs(Some(lead)),
            html! {},
        ),
    }
}

/// `POST /admin/scoring`.
pub async fn save_scoring(
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
        Permission::ConfigureScoring,
    ) {
        return r;
    }
    let text = get(&form, "json");
    let errors = match serde_json::from_str::<ScoringConfig>(text) {
        Ok(c) => match state.app.set_scoring_config(&c).await {
            Ok(()) => return see_other(SCORING),
            Err(ServiceError::Invalid(e)) => field_errors(e),
            Err(e) => return error_response(e),
        },
        Err(e) => vec![("json".to_string(), e.to_string())],
    };
    json_page(
        &signed,
        &SCORING_PAGE,
        text,
        &errors,
        preview_inputs(None),
        html! {},
    )
}
