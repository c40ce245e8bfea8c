//! Public capture forms: `GET /f/{key}` renders the hosted page, `POST /f/{key}` takes
//! URL-encoded or JSON submissions from any site (CORS), behind a per-IP rate limit and
//! a 64 KiB body cap; spam checks live in the service.

use crate::error::{ApiError, ApiResult};
use crate::extract::{body_error, ApiPath};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Json, Router};
use leadline_domain::normalize::FieldError;
use leadline_service::forms::{
    Form, Submission, SubmitResult, CONSENT_FIELD, HONEYPOT_FIELD, TOKEN_FIELD,
};
use leadline_service::ServiceError;
use maud::{html, Markup, PreEscaped, DOCTYPE};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use tower_http::cors::{Any, CorsLayer};

pub fn router() -> Router<AppState> {
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::CONTENT_TYPE, header::ACCEPT]);
    Router::new()
        .route("/f/{key}", get(show_form).post(submit))
        .route("/f/{key}/token", get(token))
        .layer(cors)
}

/// Most fields a submission may carry; more is not a person filling in a form.
const MAX_SUBMITTED_FIELDS: usize = 200;

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:34rem;margin:2rem auto;padding:0 1rem;color:#1f2933}\
label{display:block;margin:.9rem 0 .3rem;font-weight:600}input,textarea{width:100%;padding:.55rem;border:1px solid #9aa5b1;border-radius:4px;font:inherit;box-sizing:border-box}\
.consent{display:flex;gap:.5rem;align-items:flex-start;font-weight:400}.consent input{width:auto;margin-top:.25rem}\
button{margin-top:1.2rem;padding:.65rem 1.4rem;border:0;border-radius:4px;background:#0b69a3;color:#fff;font:inherit;cursor:pointer}\
.error{color:#b42318;font-size:.9rem;margin:.25rem 0 0}.errors{border:1px solid #b42318;padding:.5rem 1rem;border-radius:4px}\
.hp{position:absolute;left:-10000px;width:1px;height:1px;overflow:hidden}";

fn input_type(name: &str) -> &'static str {
    match name {
        "email" => "email",
        "phone" => "tel",
        "website" => "url",
        "date_of_birth" => "date",
        _ => "text",
    }
}

fn autocomplete(name: &str) -> &'static str {
    match name {
        "first_name" => "given-name",
        "last_name" => "family-name",
        "full_name" => "name",
        "email" => "email",
        "phone" => "tel",
        "company" => "organization",
        "title" => "organization-title",
        "street" => "street-address",
        "postal_code" => "postal-code",
        "city" => "address-level2",
        "region" => "address-level1",
        "country" => "country-name",
        "date_of_birth" => "bday",
        _ => "on",
    }
}

fn page(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                style { (PreEscaped(STYLE)) }
            }
            body { (body) }
        }
    }
}

/// The form page; values and errors are shown again after a failed submission.
fn render_form(
    form: &Form,
    token: &str,
    values: &BTreeMap<String, String>,
    errors: &[FieldError],
) -> Markup {
    let error_for = |name: &str| {
        errors
            .iter()
            .find(|e| e.field == name)
            .map(|e| e.message.clone())
    };
    page(
        &form.name,
        html! {
            h1 { (form.name) }
            @if !errors.is_empty() {
                div.errors role="alert" {
                    p { "Please check the form:" }
                    ul { @for e in errors { li { (e.message) } } }
                }
            }
            form method="post" action={ "/f/" (form.key) } novalidate {
                input type="hidden" name=(TOKEN_FIELD) value=(token);
                @for (k, v) in values {
                    @if k.starts_with("utm_") || k == "page_url" || k == "referrer" {
                        input type="hidden" name=(k) value=(v);
                    }
                }
                @for f in &form.definition.fields {
                    label for=(f.name) { (f.label) @if f.required { " *" } }
                    input id=(f.name) name=(f.name) type=(input_type(&f.name)) autocomplete=(autocomplete(&f.name))
                        value=[values.get(&f.name)] required[f.required] maxlength="500";
                    @if let Some(msg) = error_for(&f.name) { p.error { (msg) } }
                }
                div.hp aria-hidden="true" {
                    label for=(HONEYPOT_FIELD) { "Leave this field empty" }
                    input id=(HONEYPOT_FIELD) name=(HONEYPOT_FIELD) type="text" tabindex="-1" autocomplete="off";
                }
                @if let Some(consent) = &form.definition.consent {
                    label.consent {
                        input type="checkbox" name=(CONSENT_FIELD) value="yes" required[consent.required]
                            checked[values.get(CONSENT_FIELD).is_some()];
                        span { (consent.wording) }
                    }
                    @if let Some(msg) = error_for(CONSENT_FIELD) { p.error { (msg) } }
                }
                button type="submit" { (form.definition.submit_label) }
            }
        },
    )
}

fn html_response(status: StatusCode, markup: Markup) -> Response {
    let mut response = (status, markup).into_response();
    // The page may be framed by the sites that embed it; nothing else is loaded.
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors *",
        ),
    );
    response
}

async fn show_form(
    State(state): State<AppState>,
    ApiPath(key): ApiPath<String>,
    axum::extract::Query(query): axum::extract::Query<BTreeMap<String, String>>,
) -> ApiResult<Response> {
    let form = state.app.form_by_key(&key).await?;
    let token = state.app.form_token(&form.key).await?;
    // Carry UTM parameters from the page URL into the submission.
    let carried: BTreeMap<String, String> = query
        .into_iter()
        .filter(|(k, _)| k.starts_with("utm_") || k == "page_url" || k == "referrer")
        .take(20)
        .collect();
    Ok(html_response(
        StatusCode::OK,
        render_form(&form, &token, &carried, &[]),
    ))
}

/// For sites posting JSON themselves: fetch a token when the form is shown.
async fn token(
    State(state): State<AppState>,
    ApiPath(key): ApiPath<String>,
) -> ApiResult<Response> {
    let form = state.app.form_by_key(&key).await?;
    let token = state.app.form_token(&form.key).await?;
    Ok(Json(FormToken {
        token,
        field: TOKEN_FIELD,
        min_fill_seconds: form.definition.min_fill_seconds,
    })
    .into_response())
}

/// A form submission, URL-encoded (the hosted page) or JSON (a site posting itself):
/// the form's fields by name, `_ts` (the form token), `consent`, `utm_*`, `page_url`.
/// `fax` is a honeypot a person leaves empty.
pub struct FormSubmission;

impl JsonSchema for FormSubmission {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "FormSubmission".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "object",
            "description": "The form's fields by name, plus _ts (the form token), consent, utm_*, page_url; fax is a honeypot",
            "properties": { "_ts": { "type": "string" } },
            "additionalProperties": { "type": ["string", "number", "boolean", "null"] },
            "example": { "_ts": "<token>", "email": "jane@example.com", "consent": "yes" }
        })
    }
}

/// `GET /f/{key}/token`: what a site posting JSON itself sends with the submission.
#[derive(Debug, Serialize, JsonSchema)]
pub struct FormToken {
    /// Signed; send it back in the field named by `field`.
    pub token: String,
    pub field: &'static str,
    /// A submission sooner than this after the token was issued is treated as a bot.
    pub min_fill_seconds: u32,
}

/// The JSON answer of an accepted submission.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SubmitAnswer {
    /// Always `ok`.
    #[schemars(extend("enum" = ["ok"]))]
    pub status: &'static str,
    /// The form's success message, to show the visitor.
    pub message: String,
}

pub(crate) fn client_ip(state: &AppState, headers: &HeaderMap, peer: SocketAddr) -> IpAddr {
    if state.config.trust_forwarded_for {
        let forwarded = headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .and_then(|ip| ip.trim().parse().ok());
        if let Some(ip) = forwarded {
            return ip;
        }
    }
    peer.ip()
}

enum Format {
    Json,
    Html,
}

/// Reads the body as JSON (an object of scalars) or URL-encoded pairs.
fn parse_values(headers: &HeaderMap, body: &[u8]) -> ApiResult<(Format, BTreeMap<String, String>)> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mut values = BTreeMap::new();
    let format;
    if content_type.starts_with("application/json") {
        format = Format::Json;
        let parsed: Value = serde_json::from_slice(body).map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                format!("the body is not valid JSON: {e}"),
            )
        })?;
        let Value::Object(map) = parsed else {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                "the body must be a JSON object",
            ));
        };
        for (k, v) in map {
            let text = match v {
                Value::String(s) => s,
                Value::Bool(b) => b.to_string(),
                Value::Number(n) => n.to_string(),
                Value::Null => continue,
                _ => {
                    return Err(ApiError::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "invalid_type",
                        format!("{k} must be a string"),
                    )
                    .field(&k))
                }
            };
            values.insert(k, text);
        }
    } else if content_type.starts_with("application/x-www-form-urlencoded")
        || content_type.is_empty()
    {
        format = Format::Html;
        let text = std::str::from_utf8(body).map_err(|_| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_utf8",
                "the form body is not valid UTF-8",
            )
        })?;
        for (k, v) in form_urlencoded_pairs(text)? {
            values.insert(k, v);
        }
    } else {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send application/x-www-form-urlencoded or application/json",
        ));
    }
    if values.len() > MAX_SUBMITTED_FIELDS {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "too_many_fields",
            "the submission has too many fields",
        ));
    }
    Ok((format, values))
}

fn form_urlencoded_pairs(text: &str) -> ApiResult<Vec<(String, String)>> {
    let decoded: Result<Vec<(String, String)>, ()> = text
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            Ok((percent_decode(k)?, percent_decode(v)?))
        })
        .collect();
    decoded.map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_form",
            "the form body is not valid URL encoding of UTF-8",
        )
    })
}

/// `application/x-www-form-urlencoded` decoding: '+' is a space, %XX a byte; the
/// bytes must be UTF-8.
fn percent_decode(s: &str) -> Result<String, ()> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3).ok_or(())?;
                let hex = std::str::from_utf8(hex).map_err(|_| ())?;
                out.push(u8::from_str_radix(hex, 16).map_err(|_| ())?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| ())
}

async fn submit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ApiPath(key): ApiPath<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    let ip = client_ip(&state, &headers, peer);
    if state.form_limiter.check_key(&ip).is_err() {
        let mut response = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many submissions from this address; try again in a minute",
        )
        .into_response();
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
        return Ok(response);
    }
    let body = body.map_err(|r| body_error(&r.body_text(), r.status()))?;
    let form = state.app.form_by_key(&key).await?;
    let wants_json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/json"));
    let (format, values) = parse_values(&headers, &body)?;
    let json_answer = wants_json || matches!(format, Format::Json);
    let submission = Submission {
        values: values.clone(),
        ip: Some(ip.to_string()),
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(500).collect()),
        referrer: headers
            .get(header::REFERER)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(2000).collect()),
    };
    match state.app.submit_form(&form, &submission).await {
        Ok(SubmitResult::Captured(_)) | Ok(SubmitResult::Discarded) => {
            if json_answer {
                Ok(Json(SubmitAnswer {
                    status: "ok",
                    message: form.definition.success_message.clone(),
                })
                .into_response())
            } else if let Some(url) = &form.definition.redirect_url {
                Ok(Redirect::to(url).into_response())
            } else {
                let markup = page(
                    &form.name,
                    html! { h1 { (form.name) } p role="status" { (form.definition.success_message) } },
                );
                Ok(html_response(StatusCode::OK, markup))
            }
        }
        Err(ServiceError::Invalid(errors)) if !json_answer => {
            let token = state.app.form_token(&form.key).await?;
            Ok(html_response(
                StatusCode::UNPROCESSABLE_ENTITY,
                render_form(&form, &token, &values, &errors),
            ))
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_decoding_handles_plus_percent_and_rejects_broken_input() {
        assert_eq!(
            percent_decode("J%C3%BCrgen+M%C3%BCller").unwrap(),
            "Jürgen Müller"
        );
        assert_eq!(percent_decode("a%2Bb%3D%3D").unwrap(), "a+b==");
        for bad in ["%", "%4", "%zz", "%ff%fe"] {
            assert!(percent_decode(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn pairs_without_values_are_empty_strings() {
        let pairs = form_urlencoded_pairs("a=1&b&&c=").unwrap();
        assert_eq!(
            pairs,
            vec![
                ("a".into(), "1".into()),
                ("b".into(), "".into()),
                ("c".into(), "".into())
            ]
        );
    }
}
