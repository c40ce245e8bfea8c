//! Leadline's HTTP edge: the JSON API under `/api/v1`, hosted capture forms under
//! `/f/{key}`, health and the OpenAPI document. Handlers parse, call one service
//! method and shape the answer; the work happens in `leadline-service`.

pub mod error;
pub mod extract;
pub mod limits;
pub mod openapi;
pub mod routes;
pub mod server;
pub mod ui;

use axum::extract::DefaultBodyLimit;
use axum::Router;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use leadline_service::App;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;
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
    /// The longest a client may take to send a request's head (line and headers),
    /// and to start its next request on a kept-alive connection.
    pub header_read_timeout: Duration,
    /// How far a request body may fall behind before the request fails with 408: idle
    /// for this long, or slower than `server::MIN_BODY_RATE` once this allowance is
    /// spent.
    pub body_read_timeout: Duration,
    /// Connections served at once; more wait in the listen backlog.
    pub max_connections: usize,
    /// How long a shutdown waits for requests in flight before closing connections.
    pub shutdown_grace: Duration,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            public_url: "http://127.0.0.1:8080".into(),
            form_submissions_per_minute: 20,
            trust_forwarded_for: false,
            max_import_bytes: 200 * 1024 * 1024,
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(30),
            max_connections: server::DEFAULT_MAX_CONNECTIONS,
            shutdown_grace: Duration::from_secs(10),
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
    let body_timeout = state.config.body_read_timeout;
    Router::new()
        .merge(routes::health::router())
        .merge(ui::router().layer(DefaultBodyLimit::max(ui::FORM_BODY_LIMIT)))
        .merge(routes::public_forms::router().layer(DefaultBodyLimit::max(FORM_BODY_LIMIT)))
        .merge(routes::imports::router().layer(DefaultBodyLimit::max(imports_limit)))
        .merge(ui::upload_router().layer(DefaultBodyLimit::max(imports_limit)))
        .merge(
            Router::new()
                .merge(routes::leads::router())
                .merge(routes::duplicates::router())
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
        .layer(axum::middleware::from_fn_with_state(
            body_timeout,
            server::limit_body_time,
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Serves until `shutdown` resolves, with the header and body read timeouts and the
/// connection limit of `state.config` (see `server`). Client addresses reach handlers
/// (`ConnectInfo<SocketAddr>`) for rate limits.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Forget idle rate-limit buckets so the limiter's memory stays bounded.
    let limiter = state.form_limiter.clone();
    let cleaner = tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
        loop {
            tick.tick().await;
            limiter.retain_recent();
        }
    });
    let limits = server::Limits {
        header_read_timeout: state.config.header_read_timeout,
        max_connections: state.config.max_connections,
        shutdown_grace: state.config.shutdown_grace,
    };
    let served = server::run(listener, router(state), limits, shutdown).await;
    cleaner.abort();
    served
}
