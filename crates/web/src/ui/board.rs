//! The pipeline board (open leads by stage, moved as the lifecycle allows) and the
//! duplicates review queue.

use super::forms::{nonce_field, refuse_form};
use super::inbox::time_zone;
use super::layout::csrf_field;
use super::lead::error_response;
use super::leads::{row_name, stage_words};
use super::{page_response, see_other, Signed};
use crate::AppState;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use leadline_domain::access::Permission;
use leadline_domain::lifecycle::StageKind;
use leadline_service::duplicates::DuplicateFilter;
use leadline_service::lead_list::ListRequest;
use leadline_service::ServiceError;
use leadline_store::duplicates::LeadSummary;
use maud::html;

/// Cards per column: the best-scored first; the list shows the rest.
const COLUMN: usize = 25;

/// `GET /pipeline`: a column per open stage, each card with the moves its stage allows.
/// The list's owner and team filters apply (`?owner=me`).
pub async fn pipeline(
    State(state): State<AppState>,
    signed: Signed,
    RawQuery(query): RawQuery,
) -> Response {
    let who = &signed.principal;
    let base: ListRequest =
        serde_urlencoded::from_str(query.as_deref().unwrap_or("")).unwrap_or_default();
    let lifecycle = match state.app.lifecycle().await {
        Ok(l) => l,
        Err(e) => return error_response(e),
    };
    let vocabulary = match state.app.stage_vocabulary(&who.user.id).await {
        Ok(v) => v,
        Err(e) => return error_response(e),
    };
    let mut columns = Vec::new();
    for stage in lifecycle
        .stages
        .iter()
        .filter(|s| s.kind == StageKind::Open)
    {
        let request = ListRequest {
            stage: stage.key.clone(),
            sort: "score".into(),
            cursor: String::new(),
            ..base.clone()
        };
        match state
            .app
            .lead_list(&who.scope, &who.user.id, time_zone(who), &request, COLUMN)
            .await
        {
            Ok(page) => columns.push((stage, request, page)),
            Err(ServiceError::Invalid(_)) => {
                return see_other("/pipeline");
            }
            Err(e) => return error_response(e),
        }
    }
    let body = html! {
        h1 { "Pipeline" }
        p.hint {
            "Open leads by stage, best score first. "
            a href="/pipeline?owner=me" { "Only mine" } " · " a href="/pipeline" { "Everyone I may see" }
        }
        div.board {
            @for (stage, request, page) in &columns {
                section.column aria-labelledby={ "col-" (stage.key) } {
                    h2 id={ "col-" (stage.key) } { (stage_words(&lifecycle, &stage.key, vocabulary)) " " span.count { "(" (page.found) ")" } }
                    @for row in &page.rows {
                        article.card-lead {
                            a href={ "/leads/" (row.id) } { (row_name(row)) }
                            @if let Some(c) = &row.company { p.hint { (c) } }
                            p.hint { "Score " (row.score.map(|s| format!("{s:.0}")).unwrap_or_else(|| "–".into())) }
                            @let moves = lifecycle.allowed_from(&stage.key);
                            @if !moves.is_empty() {
                                form.inline method="post" action={ "/leads/" (row.id) "/stage" } {
                                    (csrf_field(who))
                                    (nonce_field())
                                    input type="hidden" name="back" value="pipeline";
                                    label.sr-only for={ "move-" (row.id) } { "Move " (row_name(row)) " to" }
                                    select id={ "move-" (row.id) } name="to" {
                                        @for to in moves.iter().filter(|t| lifecycle.stage(t).is_some_and(|s| s.kind != StageKind::Disqualified)) {
                                            option value=(to) { (stage_words(&lifecycle, to, vocabulary)) }
                                        }
                                    }
                                    button.secondary type="submit" { "Move" }
                                }
                            }
                        }
                    }
                    @if page.found as usize > page.rows.len() {
                        a href={ "/leads?" (request.to_query()) } { "All " (page.found) " in the list" }
                    }
                }
            }
        }
    };
    page_response(
        StatusCode::OK,
        super::layout::signed_in("Pipeline", who, body),
    )
}

fn summary(lead: &LeadSummary) -> maud::Markup {
    let name = [lead.first_name.as_deref(), lead.last_name.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    html! {
        a href={ "/leads/" (lead.id) } { @if name.is_empty() { "(no name)" } @else { (name) } }
        dl.facts {
            @if let Some(v) = &lead.email { dt { "E-mail" } dd { (v) } }
            @if let Some(v) = &lead.phone { dt { "Phone" } dd { (v) } }
            @if let Some(v) = &lead.company { dt { "Company" } dd { (v) } }
        }
    }
}

/// `GET /duplicates`: the review queue, most probable first.
pub async fn duplicates(State(state): State<AppState>, signed: Signed) -> Response {
    let who = &signed.principal;
    let (pairs, _) = match state
        .app
        .list_duplicates(&who.scope, &DuplicateFilter::default(), None, 50)
        .await
    {
        Ok(p) => p,
        Err(e) => return error_response(e),
    };
    let may_merge = who.role.allows(Permission::MergeLeads);
    let body = html! {
        h1 { "Possible duplicates" }
        @if pairs.is_empty() {
            p.empty { "Nothing to review: no open pair of leads you may see." }
        } @else {
            table.pairs {
                caption { "Most probable first. Merge keeps one lead with the values you pick; dismiss says they are two people." }
                thead { tr { th scope="col" { "Lead" } th scope="col" { "Possible duplicate" } th scope="col" { "Likelihood" } th scope="col" { span.sr-only { "Actions" } } } }
                tbody {
                    @for pair in &pairs {
                        tr {
                            td { (summary(&pair.lead_a)) }
                            td { (summary(&pair.lead_b)) }
                            td.num { (format!("{:.0}", pair.probability * 100.0)) "%" }
                            td {
                                @if may_merge {
                                    a.button.secondary href={ "/leads/" (pair.lead_a.id) "/merge/" (pair.lead_b.id) "?pair=" (pair.id) } { "Compare and merge" }
                                    form.inline method="post" action={ "/duplicates/" (pair.id) "/dismiss" } {
                                        (csrf_field(who))
                                        button.secondary type="submit" { "Not the same person" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    page_response(
        StatusCode::OK,
        super::layout::signed_in("Possible duplicates", who, body),
    )
}

#[derive(Debug, serde::Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /duplicates/{id}/dismiss`: "not the same person".
pub async fn dismiss(
    State(state): State<AppState>,
    headers: HeaderMap,
    signed: Signed,
    Path(pair_id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Some(refused) = refuse_form(&state, &headers, &signed, &form.csrf) {
        return refused;
    }
    if !signed.principal.role.allows(Permission::MergeLeads) {
        return super::refused_page();
    }
    let actor = format!("user:{}", signed.principal.user.id);
    match state
        .app
        .dismiss_duplicate(&signed.principal.scope, &pair_id, &actor)
        .await
    {
        // Dismissing twice is dismissed: back to the queue either way.
        Ok(_) | Err(ServiceError::Conflict { .. }) => see_other("/duplicates"),
        Err(e) => error_response(e),
    }
}
