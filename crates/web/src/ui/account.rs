//! The account page: who you are, where you are signed in, and your password.

use super::layout::{csrf_field, field, signed_in};
use super::{forbidden_form, page_response, same_site_request, Signed};
use crate::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use leadline_service::ServiceError;
use maud::html;
use serde::Deserialize;

fn when(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ms / 1000)
        .ok()
        .and_then(|t| {
            t.format(time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute] UTC"
            ))
            .ok()
        })
        .unwrap_or_default()
}

/// What the password form says after a submission.
enum Notice<'a> {
    None,
    Changed,
    Errors(&'a [(String, String)]),
}

async fn render(
    state: &AppState,
    signed: &Signed,
    status: StatusCode,
    notice: Notice<'_>,
) -> Response {
    let who = &signed.principal;
    let sessions = match state.app.sessions_of(&who.user.id).await {
        Ok(s) => s,
        Err(e) => return crate::error::ApiError::from(e).into_response(),
    };
    let errors: &[(String, String)] = match notice {
        Notice::Errors(e) => e,
        _ => &[],
    };
    let error = |f: &str| super::layout::error_for(errors, f);
    page_response(
        status,
        signed_in(
            "Your account",
            who,
            html! {
                h1 { "Your account" }
                div.card {
                    dl.facts {
                        dt { "Name" } dd { (who.user.name) }
                        dt { "E-mail" } dd { (who.user.email) }
                        dt { "Role" } dd { (who.role) }
                    }
                }
                h2 { "Where you are signed in" }
                table {
                    thead { tr { th { "Signed in" } th { "Last used" } th { "Browser" } th { "Note" } } }
                    tbody {
                        @for s in &sessions {
                            tr {
                                td { (when(s.created_at)) }
                                td { (when(s.last_seen_at)) }
                                td { (s.user_agent.as_deref().unwrap_or("unknown")) }
                                td { @if s.id == who.session.id { "this browser" } }
                            }
                        }
                    }
                }
                h2 id="password" { "Change your password" }
                div.card {
                    @if matches!(notice, Notice::Changed) {
                        p.alert.ok role="status" { "Password changed. You were signed out everywhere else." }
                    }
                    form method="post" action="/account/password" {
                        (csrf_field(who))
                        (field("current_password", "Current password", "password", None, "current-password", error("current_password")))
                        (field("password", "New password", "password", None, "new-password", error("password")))
                        p.hint { "At least 12 characters. Changing it signs you out everywhere else." }
                        (field("confirm", "New password again", "password", None, "new-password", error("confirm")))
                        button type="submit" { "Change password" }
                    }
                }
            },
        ),
    )
}

pub async fn show(State(state): State<AppState>, signed: Signed) -> Response {
    render(&state, &signed, StatusCode::OK, Notice::None).await
}

#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

pub async fn change_password(
    State(state): State<AppState>,
    headers: HeaderMap,
    signed: Signed,
    Form(form): Form<PasswordForm>,
) -> Response {
    if !same_site_request(&headers, &state.config.public_url) || !signed.csrf_ok(&form.csrf) {
        return forbidden_form();
    }
    if form.password != form.confirm {
        let errors = [(
            "confirm".to_string(),
            "The two new passwords differ.".to_string(),
        )];
        return render(
            &state,
            &signed,
            StatusCode::UNPROCESSABLE_ENTITY,
            Notice::Errors(&errors),
        )
        .await;
    }
    match state
        .app
        .change_password(&signed.principal, &form.current_password, &form.password)
        .await
    {
        Ok(()) => {
            // The user row changed; read it again for the page.
            match state.app.authenticate_session(&signed.secret).await {
                Ok(Some(principal)) => {
                    let fresh = Signed {
                        principal,
                        secret: signed.secret,
                    };
                    render(&state, &fresh, StatusCode::OK, Notice::Changed).await
                }
                Ok(None) => super::see_other("/login"),
                Err(e) => crate::error::ApiError::from(e).into_response(),
            }
        }
        Err(ServiceError::Invalid(errors)) => {
            let errors = super::layout::field_errors(errors);
            render(
                &state,
                &signed,
                StatusCode::UNPROCESSABLE_ENTITY,
                Notice::Errors(&errors),
            )
            .await
        }
        Err(e) => crate::error::ApiError::from(e).into_response(),
    }
}
