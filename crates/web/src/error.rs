//! The one error shape every endpoint answers with:
//! `{"error":{"code":"lead_not_found","message":"…","field":null,"details":[…]}}`.
//! User-facing messages are separate from log detail; 5xx causes are logged with their
//! chain and never shown.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use leadline_domain::normalize::FieldError;
use leadline_service::ServiceError;
use schemars::JsonSchema;
use serde::Serialize;

/// Every error answer: `{"error": {...}}`.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(rename = "Error")]
pub struct ErrorBody<'a> {
    pub error: ErrorDetail<'a>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ErrorDetail<'a> {
    /// Stable, machine-readable: `unauthorized`, `forbidden`, `lead_not_found`,
    /// `invalid_fields`, `idempotency_key_in_progress`, `forbidden_address`,
    /// `request_timeout`, `body_too_large`, `rate_limited` …
    pub code: &'a str,
    /// For people; may change between versions.
    pub message: &'a str,
    /// The request field (or header) at fault, when there is one.
    pub field: Option<&'a str>,
    /// One entry per invalid field.
    pub details: &'a [FieldError],
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    pub field: Option<String>,
    pub details: Vec<FieldError>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code: code.to_string(),
            message: message.into(),
            field: None,
            details: Vec::new(),
        }
    }

    pub fn field(mut self, field: &str) -> Self {
        self.field = Some(field.to_string());
        self
    }

    pub fn unauthorized() -> Self {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send a valid API token as 'Authorization: Bearer <token>'",
        )
    }

    pub fn invalid(errors: Vec<FieldError>) -> Self {
        let (message, field) = match errors.as_slice() {
            [one] => (one.message.clone(), Some(one.field.clone())),
            _ => (
                format!("{} fields are invalid; see details", errors.len()),
                None,
            ),
        };
        let code = match errors.as_slice() {
            [one] => one.code.clone(),
            _ => "invalid_fields".to_string(),
        };
        ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code,
            message,
            field,
            details: errors,
        }
    }

    pub fn internal(e: &(dyn std::error::Error + 'static)) -> Self {
        // The chain goes to the log only; the client learns nothing about internals.
        let mut chain = e.to_string();
        let mut source = e.source();
        while let Some(s) = source {
            chain.push_str(": ");
            chain.push_str(&s.to_string());
            source = s.source();
        }
        tracing::error!(error = %chain, "request failed");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "something went wrong on our side; the error was logged",
        )
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Invalid(errors) => ApiError::invalid(errors),
            ServiceError::NotFound { what, id } => ApiError::new(
                StatusCode::NOT_FOUND,
                &format!("{what}_not_found"),
                format!("no {what} with id {id:?}"),
            ),
            ServiceError::Conflict { code, message } => {
                ApiError::new(StatusCode::CONFLICT, code, message)
            }
            ServiceError::Forbidden(message) => {
                ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
            }
            ServiceError::Internal(e) => ApiError::internal(e.as_ref()),
        }
    }
}

impl ApiError {
    pub fn body(&self) -> serde_json::Value {
        serde_json::to_value(ErrorBody {
            error: ErrorDetail {
                code: &self.code,
                message: &self.message,
                field: self.field.as_deref(),
                details: &self.details,
            },
        })
        .unwrap_or_default()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body())).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if self.status == StatusCode::PAYLOAD_TOO_LARGE {
            // The body was not read to its end, so this connection cannot carry another
            // request; say so, or a client's pool may reuse it and fail.
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
