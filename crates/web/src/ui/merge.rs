//! Two leads side by side: the person picks, field by field, which value the merged
//! lead keeps; the merge can be undone from the survivor's timeline.

use super::forms::{error_page, fingerprint, once, refuse_form, refuse_lead_form};
use super::layout::{csrf_field, joined_messages};
use super::lead::{error_response, lead_name};
use super::{page_response, see_other, Signed};
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use leadline_domain::access::Permission;
use leadline_domain::merge::field_value;
use leadline_service::ServiceError;
use leadline_store::leads::LeadRecord;
use maud::html;
use std::collections::BTreeSet;

/// The fields compared, in the workspace's order, then the custom attributes of both.
fn compared_fields(a: &LeadRecord, b: &LeadRecord) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = [
        ("first_name", "First name"),
        ("last_name", "Last name"),
        ("title", "Title"),
        ("email", "E-mail"),
        ("phone", "Phone"),
        ("company", "Company"),
        ("website", "Website"),
        ("street", "Street"),
        ("postal_code", "Postal code"),
        ("city", "City"),
        ("region", "Region"),
        ("country", "Country"),
        ("date_of_birth", "Date of birth"),
    ]
    .into_iter()
    .map(|(f, l)| (f.to_string(), l.to_string()))
    .collect();
    let custom: BTreeSet<&String> = a
        .fields
        .custom
        .keys()
        .chain(b.fields.custom.keys())
        .collect();
    out.extend(
        custom
            .into_iter()
            .map(|k| (format!("custom.{k}"), k.clone())),
    );
    out
}

/// `?pair=` when the compare page was opened from the duplicates queue.
#[derive(Debug, Default, serde::Deserialize)]
pub struct FromQueue {
    pair: Option<String>,
}

fn is_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

fn refused_unless_merger(signed: &Signed) -> Option<Response> {
    (!signed.principal.role.allows(Permission::MergeLeads)).then(super::refused_page)
}

/// `GET /leads/{id}/merge/{other}`: `id` survives; each differing field offers both
/// values, the survivor's chosen unless it has none.
pub async fn compare(
    State(state): State<AppState>,
    signed: Signed,
    Path((id, other_id)): Path<(String, String)>,
    Query(from): Query<FromQueue>,
) -> Response {
    if let Some(refused) = refused_unless_merger(&signed) {
        return refused;
    }
    let scope = &signed.principal.scope;
    let (keep, other) = match (
        state.app.lead_for(scope, &id).await,
        state.app.lead_for(scope, &other_id).await,
    ) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return error_response(e),
    };
    let who = &signed.principal;
    let (keep_name, other_name) = (lead_name(&keep), lead_name(&other));
    let rows: Vec<(String, String, Option<&str>, Option<&str>)> = compared_fields(&keep, &other)
        .into_iter()
        .map(|(field, label)| {
            let a = field_value(&keep.fields, &field);
            let b = field_value(&other.fields, &field);
            (field, label, a, b)
        })
        .filter(|(_, _, a, b)| a.is_some() || b.is_some())
        .collect();
    let body = html! {
        h1 { "Merge two leads" }
        p {
            "The lead kept is " a href={ "/leads/" (keep.id) } { (keep_name) }
            "; " a href={ "/leads/" (other.id) } { (other_name) } " is folded into it, with its touches, consents and history. "
            a href={ "/leads/" (other.id) "/merge/" (keep.id) (from.pair.as_deref().filter(|p| is_id(p)).map(|p| format!("?pair={p}")).unwrap_or_default()) } { "Keep the other lead instead" }
        }
        form method="post" action={ "/leads/" (keep.id) "/merge/" (other.id) } {
            (csrf_field(who))
            (super::forms::nonce_field())
            @if let Some(pair) = from.pair.as_deref().filter(|p| is_id(p)) {
                input type="hidden" name="pair_id" value=(pair);
            }
            table.compare {
                caption { "Pick the value to keep where they differ; a value not kept stays in the history." }
                thead { tr { th scope="col" { "Field" } th scope="col" { "Kept lead" } th scope="col" { "Other lead" } } }
                tbody {
                    @for (field, label, a, b) in &rows {
                        @let radio = format!("pick-{}", fingerprint(&[field]).get(..12).unwrap_or_default());
                        tr {
                            th scope="row" { (label) }
                            @if a == b {
                                td colspan="2" { (a.unwrap_or("")) }
                            } @else {
                                td {
                                    @if let Some(a) = a {
                                        input type="radio" id={ (radio) "-keep" } name={ "pick." (field) } value="keep" checked;
                                        label for={ (radio) "-keep" } { (a) }
                                    } @else { span.hint { "(empty)" } }
                                }
                                td {
                                    @if let Some(b) = b {
                                        input type="radio" id={ (radio) "-take" } name={ "pick." (field) } value="take" checked[a.is_none()];
                                        label for={ (radio) "-take" } { (b) }
                                    } @else { span.hint { "(empty)" } }
                                }
                            }
                        }
                    }
                }
            }
            button type="submit" { "Merge" }
            " "
            a href={ "/leads/" (keep.id) } { "Cancel" }
        }
    };
    page_response(
        StatusCode::OK,
        super::layout::signed_in("Merge two leads", who, body),
    )
}

/// `POST /leads/{id}/merge/{other}`.
pub async fn merge(
    State(state): State<AppState>,
    headers: HeaderMap,
    signed: Signed,
    Path((id, other_id)): Path<(String, String)>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let get = |k: &str| super::forms::form_value(&form, k);
    if let Some(refused) = refuse_lead_form(&state, &headers, &signed, get("csrf"), &id).await {
        return refused;
    }
    if let Some(refused) = refused_unless_merger(&signed) {
        return refused;
    }
    let take: Vec<String> = form
        .iter()
        .filter(|(_, v)| v == "take")
        .filter_map(|(k, _)| k.strip_prefix("pick.").map(str::to_string))
        .collect();
    let back = format!("/leads/{id}");
    let mut parts: Vec<&str> = vec![&id, &other_id];
    parts.extend(take.iter().map(String::as_str));
    let fp = fingerprint(&parts);
    let actor = format!("user:{}", signed.principal.user.id);
    let pair_id = get("pair_id").to_string();
    let action = async {
        let scope = &signed.principal.scope;
        // From the duplicates queue, the pair is decided too.
        let merged = if is_id(&pair_id) {
            state
                .app
                .merge_duplicate_picking(scope, &pair_id, Some(&id), &take, &actor)
                .await
                .map(|_| ())
        } else {
            state
                .app
                .merge_leads_picking(scope, &id, &other_id, &take, &actor)
                .await
                .map(|_| ())
        };
        match merged {
            Ok(()) => see_other(&back),
            Err(ServiceError::Invalid(errors)) => {
                error_page("Not merged", &joined_messages(&errors), &back)
            }
            Err(ServiceError::Conflict { message, .. }) => {
                error_page("Not merged", &message, &back)
            }
            Err(e) => error_response(e),
        }
    };
    once(&state, &signed, get("nonce"), &fp, &back, action).await
}

/// `POST /merges/{id}/undo`: both leads back as they were before the merge.
pub async fn undo(
    State(state): State<AppState>,
    headers: HeaderMap,
    signed: Signed,
    Path(merge_id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let get = |k: &str| super::forms::form_value(&form, k);
    if let Some(refused) = refuse_form(&state, &headers, &signed, get("csrf")) {
        return refused;
    }
    if let Some(refused) = refused_unless_merger(&signed) {
        return refused;
    }
    let lead_id = get("lead_id");
    // The page to go back to: the lead the undo was asked from (an id, nothing else).
    let back = if is_id(lead_id) {
        format!("/leads/{lead_id}")
    } else {
        "/".to_string()
    };
    let fp = fingerprint(&[&merge_id]);
    let actor = format!("user:{}", signed.principal.user.id);
    let action = async {
        match state
            .app
            .undo_merge(&signed.principal.scope, &merge_id, &actor)
            .await
        {
            Ok(_) => see_other(&back),
            Err(ServiceError::Conflict { message, .. }) => {
                error_page("Not undone", &message, &back)
            }
            Err(e) => error_response(e),
        }
    };
    once(&state, &signed, get("nonce"), &fp, &back, action).await
}
