pub mod catalog;
pub mod duplicates;
pub mod forms;
pub mod health;
pub mod imports;
pub mod leads;
pub mod lifecycle;
pub mod notifications;
pub mod public_forms;
pub mod routing;
pub mod scoring;
pub mod tokens;
pub mod touches;
pub mod users;

use crate::error::ApiError;
use axum::http::StatusCode;

pub async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "route_not_found",
        "no such endpoint; see /api/v1/openapi.json",
    )
}
