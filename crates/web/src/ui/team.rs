//! The manager's live team board: leads nobody owns, the running first-touch clocks
//! (breached ones first), each rep's load, capacity and whether they work now, and a
//! reassignment on every lead.

use super::inbox::time_zone;
use super::layout::csrf_field;
use super::lead::error_response;
use super::leads::row_name;
use super::{page_response, Signed};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use leadline_domain::access::Permission;
use leadline_domain::inbox::countdown;
use leadline_domain::schedule::local_time;
use leadline_service::sessions::SessionPrincipal;
use leadline_service::team::{RepLoad, TeamBoard};
use maud::{html, Markup};

fn reassign(
    who: &SessionPrincipal,
    lead_id: &str,
    reps: &[RepLoad],
    owner: Option<&str>,
) -> Markup {
    let others = reps.iter().filter(|r| Some(r.user.id.as_str()) != owner);
    if others.clone().next().is_none() {
        // Nobody else to give it to: no empty choice.
        return html! { span.hint { "no other rep" } };
    }
    html! {
        form.inline method="post" action={ "/leads/" (lead_id) "/owner" } {
            (csrf_field(who))
            (super::forms::nonce_field())
            input type="hidden" name="back" value="team";
            label.sr-only for={ "owner-" (lead_id) } { "Give to" }
            select id={ "owner-" (lead_id) } name="owner_id" {
                @for rep in others {
                    option value=(rep.user.id) {
                        (rep.user.name) " (" (rep.open_leads) "/" (rep.user.capacity) @if !rep.working_now { ", away" } ")"
                    }
                }
            }
            button.secondary type="submit" { "Give" }
        }
    }
}

fn board(who: &SessionPrincipal, b: &TeamBoard) -> Markup {
    let zone = time_zone(who);
    let now = b.now;
    let name_of = |id: Option<&str>| {
        id.and_then(|id| b.reps.iter().find(|r| r.user.id == id))
            .map(|r| r.user.name.clone())
            .unwrap_or_else(|| "someone outside your teams".into())
    };
    let breached = b.clocks.iter().filter(|c| c.breached(now)).count();
    html! {
        div id="team" data-now=(now) data-live-src="/team/board" {
            div.tiles {
                p.tile { strong { (b.unassigned.len()) } " without an owner" }
                p.tile { strong { (b.clocks.len()) } " waiting for a first touch" }
                p.tile.alarm[breached > 0] { strong { (breached) } " past their deadline" }
            }
            section.card aria-labelledby="reps-title" {
                h2 id="reps-title" { "Reps" }
                @if b.reps.is_empty() {
                    p.empty { "No reps in your teams yet." }
                } @else {
                    table {
                        thead { tr { th scope="col" { "Rep" } th scope="col" { "Open leads" } th scope="col" { "Capacity" } th scope="col" { "Now" } } }
                        tbody {
                            @for rep in &b.reps {
                                tr {
                                    td { (rep.user.name) }
                                    td.num { (rep.open_leads) }
                                    td.num.over[rep.user.capacity > 0 && rep.open_leads >= rep.user.capacity] {
                                        @if rep.user.capacity > 0 { (rep.user.capacity) } @else { "no limit" }
                                    }
                                    td {
                                        @if rep.working_now { span.ok { "working" } }
                                        @else if let Some(at) = rep.next_start { "away until " (local_time(at, zone)) }
                                        @else { "no working hours" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            section.card aria-labelledby="clocks-title" {
                h2 id="clocks-title" { "Waiting for a first touch" }
                @if b.clocks.is_empty() {
                    p.empty { "Every routed lead has been touched." }
                } @else {
                    table {
                        thead { tr { th scope="col" { "Time left" } th scope="col" { "Lead" } th scope="col" { "Owner" } th scope="col" { "Reassign" } } }
                        tbody {
                            @for c in &b.clocks {
                                @let name = [c.row.first_name.as_deref(), c.row.last_name.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(" ");
                                tr {
                                    td { span.countdown.breached[c.breached(now)] data-due=(c.due_at) role="timer" { (countdown(c.due_at, now).trim_start_matches('-')) } }
                                    td {
                                        a href={ "/leads/" (c.row.lead_id) } { @if name.is_empty() { (c.row.email.as_deref().unwrap_or("(no name)")) } @else { (name) } }
                                        @if let Some(company) = &c.row.company { br; span.hint { (company) } }
                                    }
                                    td { (name_of(c.row.owner_id.as_deref())) }
                                    td { (reassign(who, &c.row.lead_id, &b.reps, c.row.owner_id.as_deref())) }
                                }
                            }
                        }
                    }
                }
            }
            section.card aria-labelledby="unassigned-title" {
                h2 id="unassigned-title" { "Without an owner" }
                @if b.unassigned.is_empty() {
                    p.empty { "No open lead is waiting for an owner." }
                } @else {
                    table {
                        thead { tr { th scope="col" { "Lead" } th scope="col" { "Stage" } th scope="col" { "Came in" } th scope="col" { "Give to" } } }
                        tbody {
                            @for row in &b.unassigned {
                                tr {
                                    td { a href={ "/leads/" (row.id) } { (row_name(row)) } @if let Some(c) = &row.company { br; span.hint { (c) } } }
                                    td { (row.stage) }
                                    td { (local_time(row.created_at, zone)) }
                                    td { (reassign(who, &row.id, &b.reps, None)) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

async fn load(state: &AppState, signed: &Signed) -> Result<Markup, Response> {
    if !signed.principal.role.allows(Permission::ManageTeams) {
        return Err(super::refused_page());
    }
    let b = state
        .app
        .team_board(&signed.principal.scope)
        .await
        .map_err(error_response)?;
    Ok(board(&signed.principal, &b))
}

/// `GET /team`.
pub async fn show(State(state): State<AppState>, signed: Signed) -> Response {
    let markup = match load(&state, &signed).await {
        Ok(m) => m,
        Err(refused) => return refused,
    };
    let body = html! {
        h1 { "Team" }
        p.sr-only role="status" aria-live="polite" id="inbox-status" {}
        button.secondary id="sound-toggle" type="button" aria-pressed="false" hidden { "Sound off" }
        (markup)
    };
    let page = super::layout::signed_in_live("Team", &signed.principal, body, "/assets/inbox.js");
    let mut response = page_response(StatusCode::OK, page);
    super::allow_own_script(response.headers_mut());
    response
}

/// `GET /team/board`: the live part alone, for the page to swap in.
pub async fn fragment(State(state): State<AppState>, signed: Signed) -> Response {
    match load(&state, &signed).await {
        Ok(m) => page_response(StatusCode::OK, m),
        Err(refused) => refused,
    }
}
