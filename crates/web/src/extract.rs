//! Extractors that answer bad requests in our error shape instead of axum's plain text.

use crate::error::ApiError;
use crate::AppState;
use axum::extract::rejection::{BytesRejection, JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts};
use axum::http::request::Parts;
use axum::http::StatusCode;
use leadline_domain::access::{LeadScope, Permission};
use leadline_service::tokens::Principal;

/// JSON body; malformed JSON, wrong types and unknown fields come back as 4xx with
/// the offending field named where serde tells us.
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        match r {
            JsonRejection::MissingJsonContentType(_) => ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as JSON with 'Content-Type: application/json'",
            ),
            JsonRejection::BytesRejection(b) => body_error(&b.body_text(), b.status()),
            JsonRejection::JsonSyntaxError(e) => ApiError::new(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                format!("the body is not valid JSON: {}", e.body_text()),
            ),
            JsonRejection::JsonDataError(e) => {
                let text = e.body_text();
                let mut err = ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_body",
                    text.clone(),
                );
                if let Some(field) = field_from_serde_message(&text) {
                    err = err.field(&field);
                }
                err
            }
            other => ApiError::new(StatusCode::BAD_REQUEST, "bad_request", other.body_text()),
        }
    }
}

/// serde names the culprit as "unknown field `emial`" or "at line 1 column 9: `x`";
/// pull the name out so clients can point at it.
fn field_from_serde_message(text: &str) -> Option<String> {
    if let Some(rest) = text.split("unknown field `").nth(1) {
        return rest.split('`').next().map(str::to_string);
    }
    if let Some(rest) = text.split("missing field `").nth(1) {
        return rest.split('`').next().map(str::to_string);
    }
    // "Failed to deserialize the JSON body into the target type: email: invalid type …"
    let tail = text.rsplit("target type: ").next()?;
    let path = tail.split(": ").next()?;
    (!path.contains(' ') && !path.is_empty()).then(|| path.to_string())
}

pub fn body_error(text: &str, status: StatusCode) -> ApiError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            status,
            "body_too_large",
            "the request body is larger than this endpoint accepts",
        )
    } else {
        ApiError::new(status, "unreadable_body", text.to_string())
    }
}

impl From<BytesRejection> for ApiError {
    fn from(r: BytesRejection) -> Self {
        body_error(&r.body_text(), r.status())
    }
}

#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_path", r.body_text())
    }
}

#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", r.body_text())
    }
}

/// Who a request acts as (`Authorization: Bearer …`): the token and its user's role.
#[derive(Debug, Clone)]
pub struct Authenticated(pub Principal);

impl Authenticated {
    /// Timeline actor: the user, and the token they acted through.
    pub fn actor(&self) -> String {
        format!("user:{} token:{}", self.0.user.id, self.0.token.id)
    }

    /// The leads this user may see (see `LeadScope`).
    pub fn scope(&self) -> &LeadScope {
        &self.0.scope
    }

    /// `require(permission)` for one lead, which must be in the user's scope; a lead
    /// outside it answers 404, as if it did not exist.
    pub async fn require_lead(
        &self,
        permission: Permission,
        app: &leadline_service::App,
        lead_id: &str,
    ) -> Result<&Self, ApiError> {
        self.require(permission)?;
        app.authorize_lead(self.scope(), lead_id).await?;
        Ok(self)
    }

    /// Refuses with 403 unless the user's role holds `permission`.
    pub fn require(&self, permission: Permission) -> Result<&Self, ApiError> {
        if self.0.role.allows(permission) {
            Ok(self)
        } else {
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!(
                    "the {} role may not {}",
                    self.0.role,
                    permission.as_str().replace('_', " ")
                ),
            ))
        }
    }
}

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(ApiError::unauthorized)?;
        let secret = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .ok_or_else(ApiError::unauthorized)?;
        match state.app.authenticate_token(secret.trim()).await? {
            Some(principal) => Ok(Authenticated(principal)),
            None => Err(ApiError::unauthorized()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_messages_name_their_field() {
        assert_eq!(
            field_from_serde_message("Failed to deserialize the JSON body into the target type: unknown field `emial`, expected one of `email`").as_deref(),
            Some("emial")
        );
        assert_eq!(
            field_from_serde_message("Failed to deserialize the JSON body into the target type: email: invalid type: integer `5`, expected a string at line 1 column 11").as_deref(),
            Some("email")
        );
        assert_eq!(field_from_serde_message("something else entirely"), None);
    }
}
