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
use serde_json::json;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/forms", post(create_form).get(list_forms))
        .route("/api/v1/forms/{id}", get(get_form))
        .route("/api/v1/forms/{id}/embed", get(embed))
}

fn with_urls(state: &AppState, form: &Form) -> serde_json::Value {
    let mut value = serde_json::to_value(form).unwrap_or_default();
    value["url"] = json!(form_url(state, &form.key));
    value
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
    Ok(Json(json!({ "forms": forms })).into_response())
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
    Ok(Json(json!({
        "form_id": form.id,
        "url": url,
        "iframe": iframe,
        "token_url": format!("{url}/token"),
        "submit_url": url,
        "json_example": {
            "method": "POST",
            "url": url,
            "headers": { "Content-Type": "application/json" },
            "body": { "_ts": "<token from GET token_url>", "email": "jane@example.com", "consent": "yes" }
        }
    }))
    .into_response())
}
