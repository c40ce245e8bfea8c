//! What every form on a lead goes through: the cross-site and CSRF check with the
//! lead's scope, and the once-per-rendering claim that makes a double click harmless.

use super::{forbidden_form, page_response, same_site_request, see_other, Signed};
use crate::AppState;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use leadline_service::tokens::Idempotency;
use maud::html;

/// A hash of a form's values (stored with its claim, so text only).
pub fn fingerprint(parts: &[&str]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for part in parts {
        h.update(part.as_bytes());
        h.update([0]);
    }
    hex::encode(h.finalize())
}

/// A posted form's value for `key` ("" when absent), for forms read as pairs.
pub fn form_value<'f>(form: &'f [(String, String)], key: &str) -> &'f str {
    form.iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

/// The name a lead goes by on screen: first and last name, else the e-mail, else the
/// company.
pub fn person_name(
    first: Option<&str>,
    last: Option<&str>,
    email: Option<&str>,
    company: Option<&str>,
) -> String {
    let name = [first, last]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    if !name.is_empty() {
        name
    } else {
        email.or(company).unwrap_or("(no name)").to_string()
    }
}

/// The trimmed text, or `None` for a blank field.
pub fn non_empty(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

/// The answer refusing a form on a lead: sent from another site, without this
/// session's CSRF token, or about a lead the person may not work. `None` lets it on.
pub async fn refuse_lead_form(
    state: &AppState,
    headers: &HeaderMap,
    signed: &Signed,
    csrf: &str,
    lead_id: &str,
) -> Option<Response> {
    if let Some(refused) = refuse_form(state, headers, signed, csrf) {
        return Some(refused);
    }
    match state
        .app
        .authorize_lead(&signed.principal.scope, lead_id)
        .await
    {
        Ok(()) => None,
        Err(e) => Some(crate::error::ApiError::from(e).into_response()),
    }
}

/// The answer refusing a form sent from another site or without this session's CSRF
/// token; `None` lets it on.
pub fn refuse_form(
    state: &AppState,
    headers: &HeaderMap,
    signed: &Signed,
    csrf: &str,
) -> Option<Response> {
    (!same_site_request(headers, &state.config.public_url) || !signed.csrf_ok(csrf))
        .then(forbidden_form)
}

/// Runs `action` (a form's work, answering a redirect when done) once per rendering
/// of its form: the form's nonce is claimed through the idempotency keys under the
/// session. A double click, a resend after a dropped answer or a reload of the POST
/// finds the claim and goes `back`; a refused form gives the nonce back so that it
/// can be corrected and sent again.
pub async fn once(
    state: &AppState,
    signed: &Signed,
    nonce: &str,
    fingerprint: &str,
    back: &str,
    action: impl std::future::Future<Output = Response>,
) -> Response {
    let nonce = nonce.trim();
    if ulid::Ulid::from_string(nonce).is_err() {
        return forbidden_form();
    }
    let session = format!("session:{}", signed.principal.session.id);
    let claim = match state
        .app
        .begin_idempotent(&session, nonce, fingerprint)
        .await
    {
        Ok(Idempotency::Fresh(claim)) => claim,
        Ok(Idempotency::Replay { .. } | Idempotency::InProgress { .. }) => return see_other(back),
        Ok(Idempotency::Mismatch) => {
            return error_page(
                "Not done",
                "This form was sent already. Reload the page to do something else.",
                back,
            )
        }
        Err(e) => return crate::error::ApiError::from(e).into_response(),
    };
    let answer = action.await;
    let status = if answer.status() == StatusCode::SEE_OTHER {
        303
    } else {
        500
    };
    if let Err(e) = state.app.finish_idempotent(&claim, status, "").await {
        tracing::warn!(error = %e, "storing a form's claim");
    }
    answer
}

/// [`once`] for a form read as pairs: its `nonce` field, and a fingerprint of every
/// other value but the CSRF token.
pub async fn once_form(
    state: &AppState,
    signed: &Signed,
    form: &[(String, String)],
    back: &str,
    action: impl std::future::Future<Output = Response>,
) -> Response {
    let parts: Vec<&str> = form
        .iter()
        .filter(|(k, _)| k != "nonce" && k != "csrf")
        .flat_map(|(k, v)| [k.as_str(), v.as_str()])
        .collect();
    let fp = fingerprint(&parts);
    once(state, signed, form_value(form, "nonce"), &fp, back, action).await
}

/// A fresh nonce for one rendering of a form.
pub fn nonce_field() -> maud::Markup {
    html! { input type="hidden" name="nonce" value=(ulid::Ulid::new().to_string()); }
}

/// A refused action's page: what went wrong and the way back.
pub fn error_page(title: &str, message: &str, back: &str) -> Response {
    page_response(
        StatusCode::UNPROCESSABLE_ENTITY,
        super::layout::bare(
            title,
            html! {
                h1 { (title) }
                p.alert.error role="alert" { (message) }
                p { a href=(back) { "Go back" } }
            },
        ),
    )
}
