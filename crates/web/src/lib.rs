//! Leadline's HTTP edge: the JSON API under `/api/v1`, hosted capture forms under
//! `/f/{key}`, health and the OpenAPI document. Handlers parse, call one service
//! method and shape the answer; the work happens in `leadline-service`.

pub mod error;
pub mod extract;
pub mod limits;
pub mod openapi;
pub mod routes;

use axum::extract::DefaultBodyLimit;
use axum::Router;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use leadline_service::App;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use tower_http::trace::TraceLayer;

/// Settings of the HTTP edge.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Base URL people and other sites reach this server at (for embed snippets).
    pub public_url: String,
    /// Form submissions allowed per client IP per minute.
    pub form_submissions_per_minute: u32,
    /// Take the client IP from `X-Forwarded-For` (only behind a trusted proxy).
    pub trust_forwarded_for: bool,
    /// Largest CSV accepted by `POST /api/v1/imports`.
    pub max_import_bytes: usize,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            public_url: "http://127.0.0.1:8080".into(),
            form_submissions_per_minute: 20,
            trust_forwarded_for: false,
            max_import_bytes: 200 * 1024 * 1024,
        }
    }
}

/// Largest body of a public form submission.
pub const FORM_BODY_LIMIT: usize = 64 * 1024;
/// Largest JSON body of an API call (a lead with generous custom attributes).
pub const API_BODY_LIMIT: usize = 4 * 1024 * 1024;

#[derive(Clone)]
pub struct AppState {
    pub app: App,
    pub config: Arc<WebConfig>,
    pub form_limiter: Arc<DefaultKeyedRateLimiter<IpAddr>>,
}

impl AppState {
    pub fn new(app: App, config: WebConfig) -> AppState {
        let per_minute =
            NonZeroU32::new(config.form_submissions_per_minute.max(1)).expect("non-zero");
        let limiter = RateLimiter::keyed(Quota::per_minute(per_minute));
        AppState {
            app,
            config: Arc::new(config),
            form_limiter: Arc::new(limiter),
        }
    }
}

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    let imports_limit = state.config.max_import_bytes;
    Router::new()
        .merge(routes::health::router())
        .merge(routes::public_forms::router().layer(DefaultBodyLimit::max(FORM_BODY_LIMIT)))
        .merge(routes::imports::router().layer(DefaultBodyLimit::max(imports_limit)))
        .merge(
            Router::new()
                .merge(routes::leads::router())
                .merge(routes::forms::router())
                .merge(routes::catalog::router())
                .merge(routes::users::router())
                .merge(routes::lifecycle::router())
                .merge(routes::scoring::router())
                .merge(routes::touches::router())
                .merge(routes::routing::router())
                .merge(routes::notifications::router())
                .merge(routes::tokens::router())
                .merge(openapi::router())
                .layer(DefaultBodyLimit::max(API_BODY_LIMIT)),
        )
        .fallback(routes::not_found)
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Serves until `shutdown` resolves. Client addresses reach handlers for rate limits.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Forget idle rate-limit buckets so the limiter's memory stays bounded.
    let limiter = state.form_limiter.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
        loop {
            tick.tick().await;
            limiter.retain_recent();
        }
    });
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
