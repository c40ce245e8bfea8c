//! `/api/v1/forms`: define capture forms and get their embed snippets.

use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath, Authenticated};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use leadline_domain::access::Permission;
use leadline_service::forms::{Form, NewForm};
use schemars::JsonSchema;
use serde::Serialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/forms", post(create_form).get(list_forms))
        .route("/api/v1/forms/{id}", get(get_form))
        .route("/api/v1/forms/{id}/embed", get(embed))
}

/// A form with the public address of its hosted page.
#[derive(Debug, Serialize, JsonSchema)]
pub struct FormAnswer {
    #[serde(flatten)]
    pub form: Form,
    /// The hosted page; also where submissions are posted.
    pub url: String,
}

/// `GET /api/v1/forms`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct FormList {
    pub forms: Vec<FormAnswer>,
}

/// `GET /api/v1/forms/{id}/embed`: ways to put the form on another site.
#[derive(Debug, Serialize, JsonSchema)]
pub struct EmbedAnswer {
    pub form_id: String,
    pub url: String,
    /// An iframe of the hosted page: needs nothing else.
    pub iframe: String,
    /// Where a site posting JSON itself fetches a form token first.
    pub token_url: String,
    pub submit_url: String,
    /// An example JSON submission: method, url, headers, body.
    pub json_example: serde_json::Value,
}

fn with_urls(state: &AppState, form: &Form) -> FormAnswer {
    FormAnswer {
        form: form.clone(),
        url: form_url(state, &form.key),
    }
}

fn form_url(state: &AppState, key: &str) -> String {
    format!("{}/f/{key}", state.config.public_url.trim_end_matches('/'))
}

async fn create_form(
    auth: Authenticated,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<NewForm>,
) -> ApiResult<Response> {
    auth.require(Permission::ManageForms)?;
    let form = state.app.create_form(&body).await?;
    Ok((StatusCode::CREATED, Json(with_urls(&state, &form))).into_response())
}

async fn list_forms(auth: Authenticated, State(state): State<AppState>) -> ApiResult<Response> {
    auth.require(Permission::ManageForms)?;
    let forms: Vec<_> = state
        .app
        .list_forms()
        .await?
        .iter()
        .map(|f| with_urls(&state, f))
        .collect();
    Ok(Json(FormList { forms }).into_response())
}

async fn get_form(
    auth: Authenticated,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Response> {
    auth.require(Permission::ManageForms)?;
    let form = state.app.form_by_id(&id).await?;
    Ok(Json(with_urls(&state, &form)).into_response())
}

/// Snippets for putting the form on another site. The iframe needs nothing else; the
/// script variant is for sites that post JSON themselves and must fetch a form token.
async fn embed(
    auth: Authenticated,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Response> {
    auth.require(Permission::ManageForms)?;
    let form = state.app.form_by_id(&id).await?;
    let url = form_url(&state, &form.key);
    let iframe = format!(
        "<iframe src=\"{url}?embed=1\" title=\"{}\" style=\"width:100%;min-height:520px;border:0\" loading=\"lazy\"></iframe>",
        maud::html! { (form.name) }.into_string()
    );
    Ok(Json(EmbedAnswer {
        form_id: form.id.clone(),
        token_url: format!("{url}/token"),
        submit_url: url.clone(),
        json_example: serde_json::json!({
            "method": "POST",
            "url": url,
            "headers": { "Content-Type": "application/json" },
            "body": { "_ts": "<token from GET token_url>", "email": "jane@example.com", "consent": "yes" }
        }),
        iframe,
        url,
    })
    .into_response())
}
