//! The web app for people: server-rendered pages (maud) behind a session cookie.
//!
//! Sign-in, first-run setup, sign-out and the account page live here; they call the
//! same service methods as the JSON API. Every page carries a strict
//! Content-Security-Policy (nothing but our own embedded stylesheet loads, no script
//! inline), and every state-changing request is checked twice against cross-site
//! forgery: its `Origin` (or `Sec-Fetch-Site`) must be this site, and a signed-in
//! request must carry its session's CSRF token.

mod account;
mod admin;
mod admin_catalog;
mod admin_forms;
mod admin_hooks;
mod admin_imports;
mod admin_people;
mod admin_rules;
mod admin_templates;
mod auth;
mod board;
mod forms;
mod inbox;
mod layout;
mod lead;
mod leads;
mod merge;
mod team;

use crate::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use leadline_service::sessions::{SessionPrincipal, SESSION_LIFETIME_MS};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "leadline_session";
/// Name of the CSRF token field in every signed-in form.
pub const CSRF_FIELD: &str = "csrf";
/// Largest body of a page's form (sign-in, settings): far above any real one.
pub const FORM_BODY_LIMIT: usize = 64 * 1024;

const STYLESHEET: &str = include_str!("../../assets/app.css");
const ICON: &str = include_str!("../../assets/icon.svg");
const INBOX_SCRIPT: &str = include_str!("../../assets/inbox.js");
const BUILDER_SCRIPT: &str = include_str!("../../assets/builder.js");
const PROGRESS_SCRIPT: &str = include_str!("../../assets/progress.js");

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(inbox::show))
        .route("/leads", get(leads::list))
        .route("/leads.csv", get(leads::export))
        .route("/leads/bulk", post(leads::bulk))
        .route("/views", post(leads::save_view))
        .route("/views/{id}/delete", post(leads::delete_view))
        .route("/account/vocabulary", post(leads::set_vocabulary))
        .route("/pipeline", get(board::pipeline))
        .route("/team", get(team::show))
        .route("/team/board", get(team::fragment))
        .route("/duplicates", get(board::duplicates))
        .route("/duplicates/{id}/dismiss", post(board::dismiss))
        .route("/leads/{id}", get(lead::show))
        .route("/leads/{id}/fields", post(lead::save_fields))
        .route("/leads/{id}/answers", post(lead::save_answers))
        .route("/leads/{id}/owner", post(lead::reassign))
        .route(
            "/leads/{id}/merge/{other}",
            get(merge::compare).post(merge::merge),
        )
        .route("/merges/{id}/undo", post(merge::undo))
        .route("/leads/{id}/touch", post(inbox::log_touch))
        .route("/leads/{id}/stage", post(inbox::move_stage))
        .route("/inbox/leads", get(inbox::sections))
        .route("/events", get(inbox::events))
        .route("/login", get(auth::show_login).post(auth::log_in))
        .route("/setup", get(auth::show_setup).post(auth::set_up))
        .route("/logout", post(auth::log_out))
        .route("/account", get(account::show))
        .route("/account/password", post(account::change_password))
        .route("/assets/app.css", get(stylesheet))
        .route("/assets/icon.svg", get(icon))
        .route("/assets/inbox.js", get(inbox_script))
        .route("/assets/builder.js", get(builder_script))
        .route("/assets/progress.js", get(progress_script))
        .route("/admin/imports", get(admin_imports::show))
        .route("/admin/imports/staged/{id}", get(admin_imports::staged))
        .route(
            "/admin/imports/staged/{id}/start",
            post(admin_imports::start),
        )
        .route("/admin/imports/{id}", get(admin_imports::job))
        .route(
            "/admin/imports/{id}/progress",
            get(admin_imports::progress_fragment),
        )
        .route("/admin/imports/{id}/report.csv", get(admin_imports::report))
        .route("/admin", get(admin::index))
        .route(
            "/admin/forms",
            get(admin_forms::show).post(admin_forms::create),
        )
        .route("/admin/forms/preview", post(admin_forms::preview_fragment))
        .route("/admin/forms/{id}", get(admin_forms::detail))
        .route(
            "/admin/users",
            get(admin_people::users).post(admin_people::add_user),
        )
        .route(
            "/admin/users/{id}",
            get(admin_people::edit_user).post(admin_people::save_user),
        )
        .route("/admin/teams", post(admin_people::add_team))
        .route("/admin/teams/{id}", post(admin_people::update_team))
        .route(
            "/admin/tokens",
            get(admin_people::tokens).post(admin_people::create_token),
        )
        .route(
            "/admin/tokens/{id}/revoke",
            post(admin_people::revoke_token),
        )
        .route("/admin/sources", get(admin_catalog::catalog))
        .route(
            "/admin/sources/campaigns",
            post(admin_catalog::add_campaign),
        )
        .route(
            "/admin/sources/campaigns/{id}",
            get(admin_catalog::edit_campaign).post(admin_catalog::save_campaign),
        )
        .route(
            "/admin/lifecycle",
            get(admin_catalog::lifecycle).post(admin_catalog::save_lifecycle),
        )
        .route(
            "/admin/scoring",
            get(admin_catalog::scoring).post(admin_catalog::save_scoring),
        )
        .route(
            "/admin/scoring/preview",
            post(admin_catalog::preview_scoring),
        )
        .route(
            "/admin/webhooks",
            get(admin_hooks::show).post(admin_hooks::create),
        )
        .route("/admin/webhooks/replay", post(admin_hooks::replay))
        .route("/admin/webhooks/{id}/toggle", post(admin_hooks::toggle))
        .route(
            "/admin/templates",
            get(admin_templates::show).post(admin_templates::create),
        )
        .route(
            "/admin/templates/{id}",
            get(admin_templates::edit).post(admin_templates::save),
        )
        .route(
            "/admin/templates/{id}/preview.html",
            get(admin_templates::preview_html),
        )
        .route("/admin/routing", get(admin_rules::show))
        .route("/admin/routing/rules", post(admin_rules::add_rule))
        .route(
            "/admin/routing/rules/change",
            post(admin_rules::change_rule),
        )
        .route("/admin/routing/rules/json", post(admin_rules::rules_json))
        .route("/admin/routing/sla", post(admin_rules::add_policy))
        .route(
            "/admin/routing/sla/change",
            post(admin_rules::change_policy),
        )
        .route("/admin/routing/sla/json", post(admin_rules::policies_json))
        .route("/favicon.ico", get(icon))
}

async fn stylesheet() -> Response {
    asset(STYLESHEET, "text/css; charset=utf-8")
}

async fn inbox_script() -> Response {
    asset(INBOX_SCRIPT, "text/javascript; charset=utf-8")
}

async fn builder_script() -> Response {
    asset(BUILDER_SCRIPT, "text/javascript; charset=utf-8")
}

async fn progress_script() -> Response {
    asset(PROGRESS_SCRIPT, "text/javascript; charset=utf-8")
}

/// The page that takes a list upload, under the imports' body limit instead of the
/// forms' (the caller layers it).
pub fn upload_router() -> Router<AppState> {
    Router::new().route("/admin/imports/upload", post(admin_imports::upload))
}

async fn icon() -> Response {
    asset(ICON, "image/svg+xml")
}

/// An embedded asset, cacheable for an hour.
fn asset(body: &'static str, content_type: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// A page answer with the app's security headers: only our own stylesheet may load,
/// no page may frame it, and nothing is cached (pages show personal data).
pub(crate) fn page_response(status: StatusCode, markup: maud::Markup) -> Response {
    let mut response = (status, markup).into_response();
    secure_headers(response.headers_mut());
    response
}

pub(crate) fn secure_headers(headers: &mut HeaderMap) {
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// Lets a page run our own embedded scripts (`/assets/…`), still nothing inline.
pub(crate) fn allow_own_script(headers: &mut HeaderMap) {
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; \
             img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
}

/// A CSV file to download, with the security headers.
pub(crate) fn csv_download(bytes: Vec<u8>, file_name: &'static str) -> Response {
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    secure_headers(headers);
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

/// A 303 to `to` with the security headers.
pub(crate) fn see_other(to: &str) -> Response {
    let mut response = Redirect::to(to).into_response();
    secure_headers(response.headers_mut());
    response
}

/// `next` if it is a path on this site (`/leads?x=1`), else `None`: a sign-in never
/// sends anyone to another site (`//evil.example`, `https://…`, `/\evil`).
pub(crate) fn local_path(next: Option<&str>) -> Option<&str> {
    let next = next?;
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && next.len() <= 2000
        && !next.chars().any(|c| c.is_control());
    ok.then_some(next)
}

/// Whether a state-changing request comes from this site: a browser names the page's
/// origin in `Origin` on every form POST, and `Sec-Fetch-Site` says whether it was
/// this site. A request with neither (a script, curl) cannot be a forged browser
/// request riding on a cookie.
pub(crate) fn same_site_request(headers: &HeaderMap, public_url: &str) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        if !matches!(site, "same-origin" | "none") {
            return false;
        }
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let origin_host = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"));
    let public = public_url.trim_end_matches('/');
    origin == public || (origin_host.is_some() && origin_host == host)
}

/// Compares two tokens in time independent of where they differ.
pub(crate) fn tokens_match(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The session cookie for `secret`: `HttpOnly`, `SameSite=Lax`, `Secure` when the
/// server's public URL is https.
pub(crate) fn session_cookie(secret: String, public_url: &str) -> Cookie<'static> {
    Cookie::build((SESSION_COOKIE, secret))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(public_url.starts_with("https://"))
        .path("/")
        .max_age(time::Duration::milliseconds(SESSION_LIFETIME_MS))
        .build()
}

pub(crate) fn removal_cookie() -> Cookie<'static> {
    Cookie::build((SESSION_COOKIE, "")).path("/").build()
}

/// A signed-in person, from the session cookie. Without a live session the request
/// is sent to the sign-in page, which brings the person back here afterwards.
pub struct Signed {
    pub principal: SessionPrincipal,
    pub secret: String,
}

impl FromRequestParts<AppState> for Signed {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let jar = CookieJar::from_headers(&parts.headers);
        let secret = jar.get(SESSION_COOKIE).map(|c| c.value().to_string());
        let found = match &secret {
            Some(secret) => state
                .app
                .authenticate_session(secret)
                .await
                .map_err(|e| crate::error::ApiError::from(e).into_response())?,
            None => None,
        };
        match (found, secret) {
            (Some(principal), Some(secret)) => Ok(Signed { principal, secret }),
            _ => {
                let here = parts
                    .uri
                    .path_and_query()
                    .map(|p| p.as_str())
                    .unwrap_or("/");
                // After a sign-in the person comes back here; a form's POST target
                // is no page to come back to.
                let next = if parts.method == axum::http::Method::GET {
                    here
                } else {
                    "/"
                };
                let query = serde_urlencoded::to_string([("next", next)]).unwrap_or_default();
                Err(see_other(&format!("/login?{query}")))
            }
        }
    }
}

impl Signed {
    /// Whether a submitted form carries this session's CSRF token.
    pub fn csrf_ok(&self, submitted: &str) -> bool {
        tokens_match(submitted, &self.principal.session.csrf_token)
    }
}

/// The answer to a page or action the person's role does not allow.
pub(crate) fn refused_page() -> Response {
    page_response(
        StatusCode::FORBIDDEN,
        layout::bare(
            "Not allowed",
            maud::html! {
                h1 { "Not allowed" }
                p { "Your role does not give access to this. Ask an admin if you need it." }
                p { a href="/" { "Back to Leadline" } }
            },
        ),
    )
}

/// The answer to a forged or stale form: refused, with a way back.
pub(crate) fn forbidden_form() -> Response {
    page_response(
        StatusCode::FORBIDDEN,
        layout::bare(
            "Request refused",
            maud::html! {
                h1 { "Request refused" }
                p { "This form was not sent from a page of this site, or the page was too old. Go back, reload the page and try again." }
                p { a href="/" { "Back to Leadline" } }
            },
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(local_path(Some("/account")), Some("/account"));
        assert_eq!(
            local_path(Some("/leads?stage=new")),
            Some("/leads?stage=new")
        );
        for bad in [
            "//evil.example",
            "https://evil.example",
            "/\\evil.example",
            "evil",
            "",
            "/a\nb",
        ] {
            assert_eq!(local_path(Some(bad)), None, "{bad:?}");
        }
        assert_eq!(local_path(None), None);
    }

    #[test]
    fn cross_site_requests_are_told_apart() {
        let with = |pairs: &[(&'static str, &'static str)]| {
            let mut h = HeaderMap::new();
            for (k, v) in pairs {
                h.insert(*k, HeaderValue::from_static(v));
            }
            same_site_request(&h, "http://127.0.0.1:8080")
        };
        assert!(with(&[]));
        assert!(with(&[("origin", "http://127.0.0.1:8080")]));
        assert!(with(&[
            ("origin", "http://leads.example"),
            ("host", "leads.example")
        ]));
        assert!(with(&[("sec-fetch-site", "same-origin")]));
        assert!(!with(&[
            ("origin", "https://evil.example"),
            ("host", "127.0.0.1:8080")
        ]));
        assert!(!with(&[("origin", "null"), ("host", "127.0.0.1:8080")]));
        assert!(!with(&[("sec-fetch-site", "cross-site")]));
        assert!(!with(&[
            ("sec-fetch-site", "same-site"),
            ("origin", "http://127.0.0.1:8080")
        ]));
    }

    #[test]
    fn tokens_match_only_when_equal() {
        assert!(tokens_match("abc", "abc"));
        assert!(!tokens_match("abc", "abd"));
        assert!(!tokens_match("abc", "ab"));
        assert!(!tokens_match("", "a"));
    }

    #[test]
    fn the_session_cookie_is_http_only_and_lax() {
        let c = session_cookie("s".into(), "http://127.0.0.1:8080").to_string();
        assert!(
            c.contains("HttpOnly") && c.contains("SameSite=Lax") && !c.contains("Secure"),
            "{c}"
        );
        let c = session_cookie("s".into(), "https://leads.example").to_string();
        assert!(c.contains("Secure"), "{c}");
    }
}
