//! Webhooks cannot be aimed at internal addresses (server-side request forgery): such
//! URLs are refused when saved, and a stored one is never connected to. Every request
//! these tests cause goes to loopback; refusals happen before any connection.

use crate::backend_tests;
use crate::harness::*;
use crate::notifications::{HookServer, Receiver};
use leadline_domain::notify;
use leadline_service::outbox::REFUSED_DESTINATION;
use leadline_store::outbox::{self, Webhook};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// URLs no webhook may have on a server without an allow list, with the field error
/// code each gets. `{port}` is a loopback port where something listens.
const REFUSED: &[(&str, &str)] = &[
    ("http://127.0.0.1:{port}/in", "forbidden_address"),
    ("http://127.9.9.9:{port}/in", "forbidden_address"),
    ("http://localhost:{port}/in", "forbidden_address"),
    ("http://[::1]:{port}/in", "forbidden_address"),
    ("http://0.0.0.0:{port}/in", "forbidden_address"),
    ("http://0/", "forbidden_address"),
    ("http://2130706433/", "forbidden_address"),
    ("http://2130706433:{port}/in", "forbidden_address"),
    ("http://0x7f.1/", "forbidden_address"),
    ("http://0177.0.0.1/", "forbidden_address"),
    ("http://127.1:{port}/", "forbidden_address"),
    (
        "http://169.254.169.254/latest/meta-data/",
        "forbidden_address",
    ),
    ("http://[fd00:ec2::254]/", "forbidden_address"),
    ("http://10.0.0.1/", "forbidden_address"),
    ("http://192.168.0.1:8080/", "forbidden_address"),
    ("http://172.16.5.4/", "forbidden_address"),
    ("http://100.100.100.200/", "forbidden_address"),
    ("http://[::ffff:127.0.0.1]:{port}/", "forbidden_address"),
    ("http://[::ffff:169.254.169.254]/", "forbidden_address"),
    ("http://[64:ff9b::a9fe:a9fe]/", "forbidden_address"),
    ("http://[fe80::1]/", "forbidden_address"),
    ("http://8.8.8.8:25/", "forbidden_port"),
    ("https://8.8.8.8:22/", "forbidden_port"),
    ("http://hooks.invalid/in", "unresolvable_host"),
    ("ftp://127.0.0.1/in", "invalid_url"),
    ("gopher://8.8.8.8:70/", "invalid_url"),
    ("file:///etc/passwd", "invalid_url"),
    ("http://user:secret@8.8.8.8/", "invalid_url"),
];

/// A loopback TCP listener that counts the connections it accepts.
struct Tripwire {
    port: u16,
    accepted: Arc<AtomicUsize>,
}

impl Tripwire {
    async fn start() -> Tripwire {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                drop(stream);
            }
        });
        Tripwire { port, accepted }
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

async fn create_hook(srv: &TestServer, url: &str) -> (StatusCode, Value) {
    srv.send(srv.post("/api/v1/webhooks").json(&json!({ "url": url })))
        .await
}

/// Stores a webhook as an older version (or a DNS change) could have left it,
/// bypassing the checks on save.
async fn store_hook(srv: &TestServer, url: &str) -> String {
    let hook = Webhook {
        id: leadline_store::new_id(),
        url: url.to_string(),
        secret: notify::generate_secret(&mut rand::thread_rng()),
        topics: vec![],
        description: String::new(),
        active: true,
        created_at: T0,
        updated_at: T0,
    };
    let mut conn = srv.app.db.acquire().await.unwrap();
    outbox::save_webhook(&mut conn, &hook, true).await.unwrap();
    hook.id
}

async fn deliveries_of(srv: &TestServer, hook_id: &str) -> Vec<Value> {
    let (status, body) = srv
        .send(srv.get(&format!("/api/v1/deliveries?webhook_id={hook_id}")))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["deliveries"].as_array().unwrap().clone()
}

/// Delivery errors shown to API callers say what failed, not where or why in detail.
fn assert_generic(error: &str, port: u16) {
    for leak in [
        port.to_string().as_str(),
        "127.0.0.1",
        "::1",
        "localhost",
        "os error",
        "refused",
        "Connection",
        "tcp",
        "dns",
    ] {
        assert!(!error.contains(leak), "{error:?} mentions {leak:?}");
    }
}

backend_tests! {
    async fn internal_webhook_urls_are_refused_on_create_and_update(srv: TestServer) {
        let wire = Tripwire::start().await;
        for (url, code) in REFUSED {
            let url = url.replace("{port}", &wire.port.to_string());
            let (status, err) = create_hook(&srv, &url).await;
            let error = assert_error(status, &err, 422, code);
            assert_eq!(error["field"], "url", "{url}: {err}");
        }
        let (status, err) = create_hook(&srv, "http://10.0.0.1/").await;
        assert!(assert_error(status, &err, 422, "forbidden_address")["message"].as_str().unwrap()
            .contains("--webhook-allow-network"), "the refusal says how to allow it: {err}");

        // An update may not move a webhook inward either; the stored URL stays.
        let id = store_hook(&srv, "http://8.8.8.8/in").await;
        for (url, code) in REFUSED {
            let url = url.replace("{port}", &wire.port.to_string());
            let (status, err) = srv.send(srv.patch(&format!("/api/v1/webhooks/{id}")).json(&json!({ "url": url }))).await;
            assert_error(status, &err, 422, code);
        }
        let (_, hook) = srv.send(srv.get(&format!("/api/v1/webhooks/{id}"))).await;
        assert_eq!(hook["url"], "http://8.8.8.8/in", "{hook}");
        assert_eq!(srv.app.webhooks().await.unwrap().len(), 1, "nothing refused was saved");
        assert_eq!(wire.accepted(), 0, "validation never connects");
    }

    async fn stored_internal_urls_are_never_connected_to(srv: TestServer) {
        let wire = Tripwire::start().await;
        let port = wire.port;
        let literal = store_hook(&srv, &format!("http://127.0.0.1:{port}/in")).await;
        let decimal = store_hook(&srv, &format!("http://2130706433:{port}/in")).await;
        let mapped = store_hook(&srv, &format!("http://[::ffff:127.0.0.1]:{port}/in")).await;
        // A name that resolves inward: DNS could point any name here after creation.
        let named = store_hook(&srv, &format!("http://localhost:{port}/in")).await;
        let smtp = store_hook(&srv, "http://127.0.0.1:25/").await;

        let (status, body) = srv.create_lead(json!({ "email": "ssrf@buyer.example.com" })).await;
        assert!(status.is_success(), "{body}");
        let run = srv.app.run_outbox().await.unwrap();
        assert_eq!(run.delivered, 0, "{run:?}");
        assert_eq!(run.dead + run.retried, 5, "{run:?}");

        for id in [&literal, &decimal, &mapped, &smtp] {
            let d = &deliveries_of(&srv, id).await[0];
            assert_eq!(d["status"], "dead", "an address that is refused stays refused: {d}");
            assert_eq!(d["last_error"], REFUSED_DESTINATION, "{d}");
            assert_generic(d["last_error"].as_str().unwrap(), port);
        }
        let d = &deliveries_of(&srv, &named).await[0];
        assert_eq!(d["status"], "pending", "a name is tried again (its DNS may change back): {d}");
        assert_eq!(d["last_error"], REFUSED_DESTINATION, "{d}");

        // The retry is refused as well.
        srv.clock.advance(3_600_000);
        let run = srv.app.run_outbox().await.unwrap();
        assert_eq!((run.delivered, run.retried), (0, 1), "{run:?}");
        assert_eq!(wire.accepted(), 0, "no delivery reached the listener");

        // The listener does count connections: one from the test itself shows up.
        let _probe = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while wire.accepted() == 0 {
            assert!(Instant::now() < deadline, "the tripwire counts connections");
            tokio::task::yield_now().await;
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(wire.accepted(), 1);
    }

    async fn allowed_networks_let_webhooks_reach_them(srv: HookServer) {
        // The server allows 127.0.0.0/8 (not ::1): loopback receivers get deliveries,
        // by address and by a name that resolves there.
        let receiver = Receiver::start().await;
        let port: u16 = receiver.base.rsplit(':').next().unwrap().parse().unwrap();
        for url in [format!("{}/by-address", receiver.base), format!("http://localhost:{port}/by-name")] {
            let (status, hook) = create_hook(&srv, &url).await;
            assert_eq!(status, StatusCode::CREATED, "{url}: {hook}");
        }
        // The allow list lifts the address rule for its network only, never the port rule.
        for (url, code) in [
            ("http://127.0.0.1:25/".to_string(), "forbidden_port"),
            (format!("http://[::1]:{port}/"), "forbidden_address"),
            ("http://10.0.0.1/".to_string(), "forbidden_address"),
            ("http://169.254.169.254/".to_string(), "forbidden_address"),
        ] {
            let (status, err) = create_hook(&srv, &url).await;
            assert_error(status, &err, 422, code);
        }

        srv.create_lead(json!({ "email": "allowed@buyer.example.com" })).await;
        let run = srv.app.run_outbox().await.unwrap();
        assert_eq!(run.delivered, 2, "{run:?}");
        assert_eq!(receiver.hits_at("/by-address").len(), 1);
        assert_eq!(receiver.hits_at("/by-name").len(), 1);
    }

    async fn delivery_errors_do_not_map_the_network(srv: HookServer) {
        // Nothing listens on this allowed port: the caller learns only that the
        // connection failed, not the port, the address or the operating system's error.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let (_, hook) = create_hook(&srv, &format!("http://127.0.0.1:{closed}/in")).await;
        let closed_id = hook["id"].as_str().unwrap().to_string();
        // A redirect is a failed attempt; it is not followed.
        let bouncer = Bouncer::start().await;
        let (_, hook) = create_hook(&srv, &format!("{}/bounce", bouncer.base)).await;
        let bounce_id = hook["id"].as_str().unwrap().to_string();

        srv.create_lead(json!({ "email": "probe@buyer.example.com" })).await;
        let run = srv.app.run_outbox().await.unwrap();
        assert_eq!((run.delivered, run.retried), (0, 2), "{run:?}");

        let d = &deliveries_of(&srv, &closed_id).await[0];
        assert_eq!(d["last_error"], "could not connect to the endpoint", "{d}");
        assert_generic(d["last_error"].as_str().unwrap(), closed);

        let d = &deliveries_of(&srv, &bounce_id).await[0];
        assert_eq!(d["last_status_code"], 307, "{d}");
        assert_eq!(d["last_error"], "the endpoint answered 307 Temporary Redirect; redirects are not followed", "{d}");
        assert_eq!(bouncer.hits(), vec!["/bounce".to_string()], "the redirect target was not requested");
    }
}

/// A loopback endpoint that redirects `/bounce` to its own `/landed`.
struct Bouncer {
    base: String,
    hits: Arc<std::sync::Mutex<Vec<String>>>,
}

impl Bouncer {
    async fn start() -> Bouncer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let hits: Arc<std::sync::Mutex<Vec<String>>> = Arc::default();
        let (h, landed) = (hits.clone(), format!("{base}/landed"));
        let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
            let (hits, landed) = (h.clone(), landed.clone());
            async move {
                hits.lock().unwrap().push(uri.path().to_string());
                (
                    axum::http::StatusCode::TEMPORARY_REDIRECT,
                    [(axum::http::header::LOCATION, landed)],
                )
            }
        });
        tokio::spawn(async move { axum::serve(listener, app).await });
        Bouncer { base, hits }
    }

    fn hits(&self) -> Vec<String> {
        self.hits.lock().unwrap().clone()
    }
}
