//! Sign-in, first-run setup and sign-out pages.

use super::layout::{bare, field};
use super::{
    forbidden_form, local_path, page_response, removal_cookie, same_site_request, see_other,
    session_cookie, Signed,
};
use crate::routes::public_forms::client_ip;
use crate::AppState;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use axum_extra::extract::cookie::CookieJar;
use leadline_service::sessions::{SignIn, SignInOutcome};
use leadline_service::ServiceError;
use maud::html;
use serde::Deserialize;
use std::net::SocketAddr;

#[derive(Debug, Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

fn login_page(
    status: StatusCode,
    email: &str,
    next: Option<&str>,
    error: Option<&str>,
) -> Response {
    page_response(
        status,
        bare(
            "Sign in",
            html! {
                h1 { "Sign in" }
                div.card {
                    form method="post" action="/login" {
                        @if let Some(next) = local_path(next) {
                            input type="hidden" name="next" value=(next);
                        }
                        (field("email", "E-mail", "email", Some(email), "username", None))
                        (field("password", "Password", "password", None, "current-password", error))
                        button type="submit" { "Sign in" }
                    }
                }
            },
        ),
    )
}

pub async fn show_login(
    State(state): State<AppState>,
    jar: CookieJar,
    Query(q): Query<NextQuery>,
) -> Result<Response, Response> {
    if state.app.setup_needed().await.map_err(internal)? {
        return Ok(see_other("/setup"));
    }
    if let Some(cookie) = jar.get(super::SESSION_COOKIE) {
        if state
            .app
            .authenticate_session(cookie.value())
            .await
            .map_err(internal)?
            .is_some()
        {
            return Ok(see_other(local_path(q.next.as_deref()).unwrap_or("/")));
        }
    }
    Ok(login_page(StatusCode::OK, "", q.next.as_deref(), None))
}

fn user_agent(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn internal(e: ServiceError) -> Response {
    crate::error::ApiError::from(e).into_response()
}

pub async fn log_in(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    jar: CookieJar,
    Form(form): Form<LoginForm>,
) -> Result<Response, Response> {
    if !same_site_request(&headers, &state.config.public_url) {
        return Ok(forbidden_form());
    }
    let email: String = form.email.chars().take(320).collect();
    let outcome = state
        .app
        .sign_in(SignIn {
            email: email.clone(),
            password: form.password.chars().take(1024).collect(),
            client: Some(client_ip(&state, &headers, peer).to_string()),
            user_agent: user_agent(&headers),
        })
        .await
        .map_err(internal)?;
    let next = form.next.as_deref();
    Ok(match outcome {
        SignInOutcome::SignedIn(new) => {
            let cookie = session_cookie(new.secret, &state.config.public_url);
            let to = local_path(next).unwrap_or("/");
            (jar.add(cookie), see_other(to)).into_response()
        }
        SignInOutcome::Refused => login_page(
            StatusCode::UNAUTHORIZED,
            &email,
            next,
            Some("That e-mail and password do not match an account that can sign in."),
        ),
        SignInOutcome::Throttled { retry_after_ms } => {
            let minutes = (retry_after_ms + 59_999) / 60_000;
            let mut response = login_page(
                StatusCode::TOO_MANY_REQUESTS,
                &email,
                next,
                Some(&format!(
                    "Too many failed sign-ins. Try again in {minutes} minute{}.",
                    if minutes == 1 { "" } else { "s" }
                )),
            );
            if let Ok(v) = HeaderValue::from_str(&(retry_after_ms / 1000).max(1).to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
            response
        }
    })
}

#[derive(Debug, Deserialize)]
pub struct SetupForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

fn setup_page(
    status: StatusCode,
    form: Option<&SetupForm>,
    errors: &[(String, String)],
) -> Response {
    let error = |f: &str| super::layout::error_for(errors, f);
    page_response(
        status,
        bare(
            "Set up Leadline",
            html! {
                h1 { "Set up Leadline" }
                p { "Create the first administrator. They can then add the rest of the team." }
                div.card {
                    form method="post" action="/setup" {
                        (field("name", "Your name", "text", form.map(|f| f.name.as_str()), "name", error("name")))
                        (field("email", "E-mail", "email", form.map(|f| f.email.as_str()), "username", error("email")))
                        (field("password", "Password", "password", None, "new-password", error("password")))
                        p.hint { "At least 12 characters." }
                        (field("confirm", "Password again", "password", None, "new-password", error("confirm")))
                        button type="submit" { "Create administrator" }
                    }
                }
            },
        ),
    )
}

pub async fn show_setup(State(state): State<AppState>) -> Result<Response, Response> {
    if !state.app.setup_needed().await.map_err(internal)? {
        return Ok(see_other("/login"));
    }
    Ok(setup_page(StatusCode::OK, None, &[]))
}

pub async fn set_up(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    jar: CookieJar,
    Form(form): Form<SetupForm>,
) -> Result<Response, Response> {
    if !same_site_request(&headers, &state.config.public_url) {
        return Ok(forbidden_form());
    }
    if form.password != form.confirm {
        let errors = [(
            "confirm".to_string(),
            "The two passwords differ.".to_string(),
        )];
        return Ok(setup_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(&form),
            &errors,
        ));
    }
    match state
        .app
        .set_up_first_admin(&form.email, &form.name, &form.password)
        .await
    {
        Ok(admin) => {
            let outcome = state
                .app
                .sign_in(SignIn {
                    email: admin.email,
                    password: form.password,
                    client: Some(client_ip(&state, &headers, peer).to_string()),
                    user_agent: user_agent(&headers),
                })
                .await
                .map_err(internal)?;
            Ok(match outcome {
                SignInOutcome::SignedIn(new) => {
                    let cookie = session_cookie(new.secret, &state.config.public_url);
                    (jar.add(cookie), see_other("/")).into_response()
                }
                _ => see_other("/login"),
            })
        }
        Err(ServiceError::Invalid(errors)) => {
            let errors = super::layout::field_errors(errors);
            Ok(setup_page(
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(&form),
                &errors,
            ))
        }
        Err(ServiceError::Conflict { .. }) => Ok(see_other("/login")),
        Err(e) => Err(internal(e)),
    }
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    /// [`super::CSRF_FIELD`].
    #[serde(default)]
    csrf: String,
}

pub async fn log_out(
    State(state): State<AppState>,
    headers: HeaderMap,
    jar: CookieJar,
    signed: Signed,
    Form(form): Form<CsrfForm>,
) -> Result<Response, Response> {
    if !same_site_request(&headers, &state.config.public_url) || !signed.csrf_ok(&form.csrf) {
        return Ok(forbidden_form());
    }
    state.app.sign_out(&signed.secret).await.map_err(internal)?;
    Ok((jar.remove(removal_cookie()), see_other("/login")).into_response())
}
