//! The accept loop: HTTP/1.1 connections served by hyper with the limits that keep
//! slow or idle clients from starving everyone else.
//!
//! - **Header read timeout.** A connection must deliver a complete request head within
//!   `header_read_timeout`, counted from when the server starts waiting for it: on a
//!   new connection and again after each response on a kept-alive one. So a client
//!   that sends half its headers, or nothing, or idles between requests, is closed.
//! - **Body read timeout.** A request body must keep arriving: `DeadlineBody` fails
//!   it when the client has fallen `body_read_timeout` behind a minimum rate of
//!   `MIN_BODY_RATE` bytes a second (an idle body fails after the timeout; a trickle
//!   fails soon after); the client gets a 408 in the JSON error shape and the
//!   connection is closed. Response bodies are not timed, so an event stream runs for
//!   as long as its client listens.
//! - **Connection limit.** At most `max_connections` connections are served at once.
//!   At the limit the loop stops accepting: new connections wait in the kernel's
//!   listen backlog (holding no descriptor of ours) until a slot frees, which the two
//!   timeouts guarantee for every client that is not actively using its connection.
//! - **Graceful shutdown.** When `shutdown` resolves the loop stops accepting, idle
//!   connections close, requests in flight may finish for up to `shutdown_grace`; what
//!   is still open then (event streams) is closed.
//!
//! HTTP/2 without TLS (prior knowledge) is not offered: browsers only speak HTTP/2
//! over TLS, which a reverse proxy in front of Leadline terminates, and hyper has no
//! header timeout for HTTP/2, so it would reopen the hole the timeouts close.

use crate::error::ApiError;
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use http_body::{Frame, SizeHint};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio::time::{Instant, Sleep};
use tower::ServiceExt;

/// The slowest a request body may arrive, in bytes a second, once its initial
/// allowance (`body_read_timeout`) is spent. Well below any real client's rate.
pub const MIN_BODY_RATE: u64 = 1024;

/// The limits of the accept loop.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub header_read_timeout: Duration,
    pub max_connections: usize,
    pub shutdown_grace: Duration,
}

/// Accepts and serves connections until `shutdown` resolves; see the module docs.
pub(crate) async fn run(
    listener: tokio::net::TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    // When the limit was last reported (at most once a minute).
    let mut warned_at: Option<Instant> = None;
    loop {
        while connections.try_join_next().is_some() {}
        let slot = match slots.clone().try_acquire_owned() {
            Ok(slot) => slot,
            Err(_) => {
                if warned_at.is_none_or(|at| at.elapsed() >= Duration::from_secs(60)) {
                    tracing::warn!(
                        max_connections = limits.max_connections,
                        "connection limit reached; new connections wait until one closes"
                    );
                    warned_at = Some(Instant::now());
                }
                tokio::select! {
                    slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
                    _ = &mut shutdown => break,
                }
            }
        };
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        connections.spawn(serve_connection(
            stream,
            remote,
            router.clone(),
            limits.header_read_timeout,
            stop_rx.clone(),
            slot,
        ));
    }
    drop(listener);
    tracing::debug!(
        open = connections.len(),
        "no longer accepting; draining connections"
    );
    stop_tx.send_replace(true);
    let drained = tokio::time::timeout(limits.shutdown_grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            open = connections.len(),
            grace_secs = limits.shutdown_grace.as_secs_f64(),
            "connections still open after the shutdown grace period; closing them"
        );
        connections.shutdown().await;
    }
    Ok(())
}

/// What to do when `accept` fails: go on at once after a client's own failure; after
/// anything else (out of file descriptors) wait a second rather than spin.
async fn accept_failed(e: io::Error) {
    if matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "accepting a connection failed; retrying in 1 s");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    remote: SocketAddr,
    router: Router,
    header_read_timeout: Duration,
    mut stop: watch::Receiver<bool>,
    _slot: OwnedSemaphorePermit,
) {
    // What `into_make_service_with_connect_info` did: handlers see the client address.
    let service = router.map_request(move |mut request: Request<hyper::body::Incoming>| {
        request.extensions_mut().insert(ConnectInfo(remote));
        request.map(Body::new)
    });
    let service = TowerToHyperService::new(service);
    let mut builder = Builder::new(TokioExecutor::new()).http1_only();
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout);
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    let mut connection = std::pin::pin!(connection);
    // Resolves once the server stops (the guard `wait_for` returns is dropped inside).
    let stopping = async move {
        let _ = stop.wait_for(|stop| *stop).await;
    };
    tokio::select! {
        result = connection.as_mut() => {
            if let Err(e) = result {
                tracing::debug!(%remote, error = %e, "connection ended with an error");
            }
        }
        () = stopping => {
            connection.as_mut().graceful_shutdown();
            if let Err(e) = connection.await {
                tracing::debug!(%remote, error = %e, "connection ended with an error during shutdown");
            }
        }
    }
}

/// Middleware: times the request body (see `DeadlineBody`) and answers 408 when it
/// stopped arriving, whatever the handler made of the failed read.
pub(crate) async fn limit_body_time(
    State(timeout): State<Duration>,
    request: Request,
    next: Next,
) -> Response {
    if request.body().size_hint().exact() == Some(0) {
        return next.run(request).await;
    }
    let expired = Arc::new(AtomicBool::new(false));
    let flag = expired.clone();
    let request = request.map(|body| Body::new(DeadlineBody::new(body, timeout, flag)));
    let response = next.run(request).await;
    if !expired.load(Ordering::Acquire) {
        return response;
    }
    let mut response = ApiError::new(
        StatusCode::REQUEST_TIMEOUT,
        "request_timeout",
        format!(
            "the request body stopped arriving (allowed: {} s, then at least {MIN_BODY_RATE} bytes a second)",
            timeout.as_secs_f64()
        ),
    )
    .into_response();
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// The deadline for the rest of a body after `bytes` more arrived at `now`: pushed
/// back by the time those bytes buy at `MIN_BODY_RATE`, but never more than `timeout`
/// ahead of now. A client sending at least that fast never runs out of time; an idle
/// one runs out within `timeout`; a slower one falls behind until it does.
pub fn extend_deadline(
    deadline: Instant,
    now: Instant,
    bytes: usize,
    timeout: Duration,
) -> Instant {
    let earned = Duration::from_secs_f64(bytes as f64 / MIN_BODY_RATE as f64);
    (deadline + earned).min(now + timeout)
}

/// The error a timed-out body read fails with.
#[derive(Debug, thiserror::Error)]
#[error("the request body stopped arriving")]
pub struct BodyTimedOut;

/// A request body that fails once the client falls behind (see `extend_deadline`).
/// The clock starts when the handler first waits for the body; data already
/// received is always handed out, so a slow handler cannot make a client late.
pub struct DeadlineBody {
    inner: Body,
    timeout: Duration,
    deadline: Option<Instant>,
    sleep: Option<Pin<Box<Sleep>>>,
    expired: Arc<AtomicBool>,
}

impl DeadlineBody {
    pub fn new(inner: Body, timeout: Duration, expired: Arc<AtomicBool>) -> DeadlineBody {
        DeadlineBody {
            inner,
            timeout,
            deadline: None,
            sleep: None,
            expired,
        }
    }
}

impl HttpBody for DeadlineBody {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let (Some(data), Some(deadline)) = (frame.data_ref(), this.deadline) {
                    this.deadline = Some(extend_deadline(
                        deadline,
                        Instant::now(),
                        data.len(),
                        this.timeout,
                    ));
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e.into()))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => {
                let deadline = *this
                    .deadline
                    .get_or_insert_with(|| Instant::now() + this.timeout);
                let sleep = this
                    .sleep
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
                if sleep.deadline() != deadline {
                    sleep.as_mut().reset(deadline);
                }
                if sleep.as_mut().poll(cx).is_ready() {
                    this.expired.store(true, Ordering::Release);
                    return Poll::Ready(Some(Err(Box::new(BodyTimedOut))));
                }
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The process's soft limit on open files, where the system tells (Linux).
pub fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    parse_open_files_limit(&limits)
}

fn parse_open_files_limit(limits: &str) -> Option<u64> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    let soft = line
        .trim_start_matches("Max open files")
        .split_whitespace()
        .next()?;
    match soft {
        "unlimited" => Some(u64::MAX),
        n => n.parse().ok(),
    }
}

/// Descriptors kept free for everything besides client connections: the database
/// pool, outgoing webhooks and mail, files being imported, the log.
pub const RESERVED_FILES: u64 = 256;
/// The connection limit when the open-files limit is generous.
pub const DEFAULT_MAX_CONNECTIONS: usize = 4096;

/// A connection limit that fits under an open-files limit: `DEFAULT_MAX_CONNECTIONS`,
/// or fewer so that `RESERVED_FILES` descriptors stay free (at least 32 connections).
pub fn max_connections_for(open_files: Option<u64>) -> usize {
    match open_files {
        None => DEFAULT_MAX_CONNECTIONS,
        Some(limit) => limit
            .saturating_sub(RESERVED_FILES)
            .clamp(32, DEFAULT_MAX_CONNECTIONS as u64) as usize,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_follow_the_minimum_rate() {
        let t0 = Instant::now();
        let timeout = Duration::from_secs(30);
        let start = t0 + timeout;
        // 1 KiB buys a second.
        assert_eq!(
            extend_deadline(start, t0, MIN_BODY_RATE as usize, timeout),
            t0 + timeout,
            "never more than the timeout ahead"
        );
        let later = t0 + Duration::from_secs(10);
        assert_eq!(
            extend_deadline(start, later, MIN_BODY_RATE as usize * 4, timeout),
            start + Duration::from_secs(4)
        );
        // Ten bytes after 10 idle seconds: the deadline barely moves.
        assert_eq!(
            extend_deadline(start, later, 10, timeout),
            start + Duration::from_secs_f64(10.0 / MIN_BODY_RATE as f64)
        );
        // Nothing received: the deadline stands.
        assert_eq!(extend_deadline(start, later, 0, timeout), start);
    }

    #[test]
    fn a_client_at_the_minimum_rate_keeps_its_slack_and_a_slower_one_loses_it() {
        let timeout = Duration::from_secs(30);
        let t0 = Instant::now();
        let run = |bytes_per_second: usize, seconds: u64| {
            let mut deadline = t0 + timeout;
            for s in 1..=seconds {
                deadline = extend_deadline(
                    deadline,
                    t0 + Duration::from_secs(s),
                    bytes_per_second,
                    timeout,
                );
            }
            deadline
        };
        let after = t0 + Duration::from_secs(600);
        assert!(run(MIN_BODY_RATE as usize, 600) >= after + timeout - Duration::from_millis(1));
        assert!(run(MIN_BODY_RATE as usize * 100, 600) == after + timeout);
        // 100 bytes a second loses about 0.9 s of slack a second: out of time in ~33 s.
        assert!(run(100, 40) < t0 + Duration::from_secs(40));
        assert!(run(100, 30) > t0 + Duration::from_secs(30));
    }

    #[test]
    fn open_files_limit_is_read_from_proc() {
        let limits = "Limit                     Soft Limit           Hard Limit           Units     \n\
                      Max cpu time              unlimited            unlimited            seconds   \n\
                      Max open files            1024                 524288               files     \n";
        assert_eq!(parse_open_files_limit(limits), Some(1024));
        let unlimited =
            "Max open files            unlimited            unlimited            files\n";
        assert_eq!(parse_open_files_limit(unlimited), Some(u64::MAX));
        assert_eq!(parse_open_files_limit("nothing here"), None);
    }

    #[test]
    fn connection_limits_fit_under_the_open_files_limit() {
        assert_eq!(max_connections_for(None), DEFAULT_MAX_CONNECTIONS);
        assert_eq!(max_connections_for(Some(1024)), 768);
        assert_eq!(
            max_connections_for(Some(1_048_576)),
            DEFAULT_MAX_CONNECTIONS
        );
        assert_eq!(max_connections_for(Some(u64::MAX)), DEFAULT_MAX_CONNECTIONS);
        assert_eq!(max_connections_for(Some(100)), 32);
    }
}
