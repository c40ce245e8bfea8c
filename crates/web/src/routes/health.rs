//! `GET /healthz`: for load balancers and supervisors.

use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use schemars::JsonSchema;
use serde::Serialize;

pub fn router() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz))
}

/// Whether the server and its database answer.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Health {
    /// `ok` (200) or `unavailable` (503).
    #[schemars(extend("enum" = ["ok", "unavailable"]))]
    pub status: &'static str,
    /// `ok` or `unreachable`.
    #[schemars(extend("enum" = ["ok", "unreachable"]))]
    pub database: &'static str,
}

/// Healthy when the database answers.
async fn healthz(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    match state.app.db.ping().await {
        Ok(()) => (
            StatusCode::OK,
            Json(Health {
                status: "ok",
                database: "ok",
            }),
        ),
        Err(e) => {
            tracing::error!(error = %e, "health check: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(Health {
                    status: "unavailable",
                    database: "unreachable",
                }),
            )
        }
    }
}
