//! The service error: user-caused problems carry a stable code and, where it applies,
//! the field; anything else is `Internal` and becomes a logged 500 at the edge.

use leadline_domain::normalize::FieldError;
use leadline_store::StoreError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ServiceError {
    /// One or more input fields are wrong.
    #[error("invalid input: {}", fields(.0))]
    Invalid(Vec<FieldError>),
    #[error("{what} {id:?} not found")]
    NotFound { what: &'static str, id: String },
    /// The request is well-formed but conflicts with the current state.
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// The caller's role allows this kind of change, but not this one.
    #[error("{0}")]
    Forbidden(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// `field: message; …`, for logs and terminals.
fn fields(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect::<Vec<_>>()
        .join("; ")
}

impl ServiceError {
    pub fn invalid(field: &str, code: &str, message: impl Into<String>) -> Self {
        ServiceError::Invalid(vec![FieldError {
            field: field.to_string(),
            code: code.to_string(),
            message: message.into(),
        }])
    }

    pub fn not_found(what: &'static str, id: &str) -> Self {
        ServiceError::NotFound {
            what,
            id: id.to_string(),
        }
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        ServiceError::Conflict {
            code,
            message: message.into(),
        }
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        ServiceError::Internal(anyhow::Error::new(e))
    }
}

pub type Result<T, E = ServiceError> = std::result::Result<T, E>;
