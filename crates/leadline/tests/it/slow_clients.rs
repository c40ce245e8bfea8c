//! Slow or idle clients cannot starve the server: a connection that sends half its
//! headers (or nothing), a body shorter than its Content-Length, or idles after a
//! request is closed after the read timeouts, the connection limit holds excess
//! clients back instead of running out of file descriptors, and other clients (and a
//! long-lived event stream) are served meanwhile.

use crate::backend_tests;
use crate::event_stream::SseClient;
use crate::harness::*;
use leadline_web::WebConfig;
use reqwest::StatusCode;
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Header and body read timeouts of the servers under test.
const TIMEOUT: Duration = Duration::from_secs(2);
/// The most any wait in these tests may take; far above what the timeouts need.
const PATIENCE: Duration = Duration::from_secs(60);

/// A server with short read timeouts and room for `CONNECTIONS` connections.
pub struct SlowServer(TestServer);

impl std::ops::Deref for SlowServer {
    type Target = TestServer;
    fn deref(&self) -> &TestServer {
        &self.0
    }
}

const CONNECTIONS: usize = 48;

impl SlowServer {
    pub async fn start(backend: leadline_store::Backend) -> Option<SlowServer> {
        let mut srv = TestServer::start_with(backend, limits(CONNECTIONS)).await?;
        srv.client = polite_client();
        Some(SlowServer(srv))
    }
}

/// A client that lets go of an idle pooled connection well before the server's idle
/// timeout, as any client of a server with a keep-alive timeout should: otherwise a
/// request sent on a connection the server is closing at that moment fails.
fn polite_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_idle_timeout(TIMEOUT / 4)
        .build()
        .unwrap()
}

fn limits(max_connections: usize) -> WebConfig {
    WebConfig {
        form_submissions_per_minute: 1000,
        header_read_timeout: TIMEOUT,
        body_read_timeout: TIMEOUT,
        max_connections,
        ..Default::default()
    }
}

/// A server that serves at most 6 connections at once.
pub struct TinyServer(TestServer);

impl std::ops::Deref for TinyServer {
    type Target = TestServer;
    fn deref(&self) -> &TestServer {
        &self.0
    }
}

const TINY: usize = 6;

impl TinyServer {
    pub async fn start(backend: leadline_store::Backend) -> Option<TinyServer> {
        let mut srv = TestServer::start_with(backend, limits(TINY)).await?;
        srv.client = polite_client();
        Some(TinyServer(srv))
    }
}

/// A raw connection to the server that has sent `bytes`.
async fn open(srv: &TestServer, bytes: &[u8]) -> TcpStream {
    let addr = srv.base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    if !bytes.is_empty() {
        stream.write_all(bytes).await.expect("write");
    }
    stream
}

/// Whether the server has not closed the connection: nothing to read yet, no EOF.
fn still_open(stream: &TcpStream) -> bool {
    let mut buf = [0u8; 1];
    matches!(stream.try_read(&mut buf), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
}

/// Reads until the server closes the connection; returns what it sent.
async fn until_closed(mut stream: TcpStream) -> String {
    let mut received = Vec::new();
    let read = tokio::time::timeout(PATIENCE, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) => return,
                Ok(n) => received.extend_from_slice(&buf[..n]),
                // A reset also means the server let go.
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return,
                Err(e) => panic!("reading: {e}"),
            }
        }
    })
    .await;
    assert!(
        read.is_ok(),
        "the server closed the connection within {PATIENCE:?}"
    );
    String::from_utf8_lossy(&received).into_owned()
}

fn half_headers() -> Vec<u8> {
    b"GET /healthz HTTP/1.1\r\nHost: leadline\r\nUser-Agent: slow".to_vec()
}

fn short_body(token: &str) -> Vec<u8> {
    format!(
        "POST /api/v1/leads HTTP/1.1\r\nHost: leadline\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"email\": "
    )
    .into_bytes()
}

backend_tests! {
    async fn slow_clients_are_closed_and_do_not_starve_others(srv: SlowServer) {
        // A live event stream, opened first, must outlive every timeout below.
        let mut stream = SseClient::connect(&srv, &srv.token, None).await;

        let mut half = Vec::new();
        for _ in 0..12 {
            half.push(open(&srv, &half_headers()).await);
        }
        let mut silent = Vec::new();
        for _ in 0..6 {
            silent.push(open(&srv, b"").await);
        }
        let mut short = Vec::new();
        for _ in 0..12 {
            let body = short_body(&srv.token);
            assert_eq!(body.iter().rev().take_while(|b| **b != b'\n').count(), 10, "10 body bytes");
            short.push(open(&srv, &body).await);
        }
        // A client that made one request and then idles on its kept-alive connection.
        let mut idle = open(&srv, b"GET /healthz HTTP/1.1\r\nHost: leadline\r\n\r\n").await;
        let mut first = vec![0u8; 1024];
        let n = idle.read(&mut first).await.unwrap();
        assert!(String::from_utf8_lossy(&first[..n]).starts_with("HTTP/1.1 200"), "idle client's request answered");

        // While all of them hold their connections, others are served.
        let (status, health) = srv.send(srv.client.get(srv.url("/healthz"))).await;
        assert_eq!(status, StatusCode::OK, "{health}");
        let (status, lead) = srv.create_lead(json!({ "email": "prompt@buyer.example.com" })).await;
        assert!(status.is_success(), "{lead}");
        for (kind, streams) in [("half headers", &half), ("silent", &silent), ("short body", &short)] {
            assert!(streams.iter().all(still_open), "{kind} connections were still open while others were served");
        }
        assert!(still_open(&idle));

        // Then the server lets go of each: no answer to half a request, 408 to a body
        // that stopped arriving, and the idle connection closes.
        let closing: Vec<_> = half.into_iter().chain(silent).map(|s| tokio::spawn(until_closed(s))).collect();
        let answered: Vec<_> = short.into_iter().map(|s| tokio::spawn(until_closed(s))).collect();
        for c in closing {
            assert_eq!(c.await.unwrap(), "", "no response to an incomplete request head");
        }
        for a in answered {
            let response = a.await.unwrap();
            assert!(response.starts_with("HTTP/1.1 408"), "{response}");
            assert!(response.to_ascii_lowercase().contains("connection: close"), "{response}");
            assert!(response.contains(r#""code":"request_timeout""#), "our error shape: {response}");
        }
        assert_eq!(until_closed(idle).await, "", "an idle kept-alive connection is closed");
        let (_, leads) = srv.send(srv.get("/api/v1/leads")).await;
        assert_eq!(leads["leads"].as_array().unwrap().len(), 1, "no partial body became a lead: {leads}");

        // The event stream, open all along (longer than both timeouts), still delivers.
        let (_, lead) = srv.create_lead(json!({ "email": "later@buyer.example.com" })).await;
        let id = lead["lead"]["id"].as_str().unwrap();
        stream.expect("lead.created", Some(id), PATIENCE).await;
        let (status, _) = srv.send(srv.client.get(srv.url("/healthz"))).await;
        assert_eq!(status, StatusCode::OK);
    }

    async fn the_connection_limit_queues_excess_clients_without_starving_them(srv: TinyServer) {
        // Slow clients take every slot, more wait behind them, and a health check waits
        // behind those: each is served in turn as the timeouts free the slots.
        let order = Arc::new(AtomicUsize::new(0));
        let watch = |stream: TcpStream| {
            let order = order.clone();
            tokio::spawn(async move {
                let response = until_closed(stream).await;
                (order.fetch_add(1, Ordering::SeqCst), response)
            })
        };
        let mut first = Vec::new();
        for _ in 0..TINY {
            first.push(watch(open(&srv, &half_headers()).await));
        }
        let mut second = Vec::new();
        for _ in 0..TINY {
            second.push(watch(open(&srv, &half_headers()).await));
        }
        let health = watch(open(&srv, b"GET /healthz HTTP/1.1\r\nHost: leadline\r\nConnection: close\r\n\r\n").await);

        let mut first_closed = Vec::new();
        for c in first {
            let (at, response) = c.await.unwrap();
            assert_eq!(response, "");
            first_closed.push(at);
        }
        let mut second_closed = Vec::new();
        for c in second {
            let (at, response) = c.await.unwrap();
            assert_eq!(response, "");
            second_closed.push(at);
        }
        let (health_at, response) = health.await.unwrap();
        assert!(response.starts_with("HTTP/1.1 200"), "the waiting client is served: {response}");
        let last_first = *first_closed.iter().max().unwrap();
        assert!(second_closed.iter().all(|at| *at > last_first),
            "the second wave waited for slots: first {first_closed:?}, second {second_closed:?}");
        assert!(health_at > last_first, "the health check waited its turn: {health_at}, first {first_closed:?}");

        // Once the slow ones are gone the server answers at once again.
        let (status, _) = srv.send(srv.client.get(srv.url("/healthz"))).await;
        assert_eq!(status, StatusCode::OK);
    }
}

/// Reads from `stream` until `marker` has arrived; returns what was read.
async fn read_until(stream: &mut TcpStream, marker: &str) -> String {
    let mut received = Vec::new();
    let found = tokio::time::timeout(PATIENCE, async {
        let mut buf = [0u8; 4096];
        while !String::from_utf8_lossy(&received).contains(marker) {
            let n = stream.read(&mut buf).await.expect("read");
            assert!(
                n > 0,
                "closed before {marker:?}: {}",
                String::from_utf8_lossy(&received)
            );
            received.extend_from_slice(&buf[..n]);
        }
    })
    .await;
    assert!(found.is_ok(), "{marker:?} within {PATIENCE:?}");
    String::from_utf8_lossy(&received).into_owned()
}

backend_tests! {
    async fn shutdown_finishes_requests_in_flight_within_a_bound(t: TestApp) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let config = WebConfig {
            // Only the shutdown closes connections here.
            header_read_timeout: PATIENCE,
            body_read_timeout: PATIENCE,
            shutdown_grace: TIMEOUT,
            ..Default::default()
        };
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(leadline_web::serve(
            listener,
            leadline_web::AppState::new(t.app.clone(), config),
            async move { let _ = stopped.await; },
        ));
        let admin = t.app.default_admin().await.unwrap();
        let (_, token) = t.app.create_token("tests", &admin.id).await.unwrap();
        let connect = || async move { TcpStream::connect(addr).await };

        // An event stream (never ends by itself), an idle kept-alive connection, and
        // a request whose handler is reading its body (the server asked for it).
        let mut sse = connect().await.unwrap();
        sse.write_all(format!("GET /api/v1/stream HTTP/1.1\r\nHost: leadline\r\nAuthorization: Bearer {token}\r\n\r\n").as_bytes()).await.unwrap();
        assert!(read_until(&mut sse, "\r\n\r\n").await.starts_with("HTTP/1.1 200"));
        let mut idle = connect().await.unwrap();
        idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: leadline\r\n\r\n").await.unwrap();
        assert!(read_until(&mut idle, "\r\n\r\n").await.starts_with("HTTP/1.1 200"));
        let body = r#"{"email": "in-flight@buyer.example.com"}"#;
        let mut in_flight = connect().await.unwrap();
        in_flight.write_all(format!("POST /api/v1/leads HTTP/1.1\r\nHost: leadline\r\nAuthorization: Bearer {token}\r\n\
            Content-Type: application/json\r\nContent-Length: {}\r\nExpect: 100-continue\r\n\r\n", body.len()).as_bytes()).await.unwrap();
        assert!(read_until(&mut in_flight, "\r\n\r\n").await.starts_with("HTTP/1.1 100"));

        stop.send(()).unwrap();
        // The listener closes: new connections are refused.
        let deadline = std::time::Instant::now() + PATIENCE;
        while connect().await.is_ok() {
            assert!(std::time::Instant::now() < deadline, "the server stops accepting");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // The idle connection is closed; the request in flight still completes.
        assert_eq!(until_closed(idle).await, "");
        in_flight.write_all(body.as_bytes()).await.unwrap();
        let response = until_closed(in_flight).await;
        assert!(response.starts_with("HTTP/1.1 201") || response.starts_with("HTTP/1.1 200"), "{response}");
        // The stream (which may have carried the new lead) is cut after the grace
        // period, and serve returns.
        until_closed(sse).await;
        let served = tokio::time::timeout(PATIENCE, server).await.expect("serve returns after the grace period");
        served.unwrap().unwrap();
    }
}
