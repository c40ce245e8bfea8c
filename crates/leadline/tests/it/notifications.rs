//! Notifications through the outbox: signed webhooks with retries and dead letters,
//! e-mail alerts through a real SMTP server, and the per-user event stream.

use crate::backend_tests;
use crate::harness::*;
use leadline_domain::netguard::AllowedNetworks;
use leadline_domain::notify::{self, RetryPolicy};
use leadline_service::outbox::{NotifyConfig, SmtpConfig};
use leadline_store::Backend;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What an endpoint received.
#[derive(Debug, Clone)]
pub struct Hit {
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: String,
}

/// How an endpoint answers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Answer {
    Ok,
    Fail,
    Hang,
}

/// A real HTTP server that records every request and answers per path as told.
#[derive(Clone)]
pub struct Receiver {
    pub base: String,
    pub hits: Arc<Mutex<Vec<Hit>>>,
    answers: Arc<Mutex<HashMap<String, Answer>>>,
}

impl Receiver {
    pub async fn start() -> Receiver {
        let hits: Arc<Mutex<Vec<Hit>>> = Arc::default();
        let answers: Arc<Mutex<HashMap<String, Answer>>> = Arc::default();
        let (h, a) = (hits.clone(), answers.clone());
        let app = axum::Router::new().fallback(
            move |uri: axum::http::Uri, headers: axum::http::HeaderMap, body: String| {
                let (hits, answers) = (h.clone(), a.clone());
                async move {
                    let path = uri.path().to_string();
                    let answer = answers
                        .lock()
                        .unwrap()
                        .get(&path)
                        .copied()
                        .unwrap_or(Answer::Ok);
                    hits.lock().unwrap().push(Hit {
                        path,
                        headers: headers
                            .iter()
                            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
                            .collect(),
                        body,
                    });
                    match answer {
                        Answer::Ok => StatusCode::NO_CONTENT,
                        Answer::Fail => StatusCode::INTERNAL_SERVER_ERROR,
                        Answer::Hang => {
                            tokio::time::sleep(Duration::from_secs(3600)).await;
                            StatusCode::OK
                        }
                    }
                }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver {
            base,
            hits,
            answers,
        }
    }

    pub fn answer(&self, path: &str, answer: Answer) {
        self.answers
            .lock()
            .unwrap()
            .insert(path.to_string(), answer);
    }

    pub fn hits_at(&self, path: &str) -> Vec<Hit> {
        self.hits
            .lock()
            .unwrap()
            .iter()
            .filter(|h| h.path == path)
            .cloned()
            .collect()
    }
}

/// Lets webhooks reach receivers on this host (tests send traffic to loopback only).
pub fn loopback_allowed() -> AllowedNetworks {
    AllowedNetworks::parse(&["127.0.0.0/8"]).unwrap()
}

/// A server with a short webhook timeout and a quick retry schedule, whose webhooks
/// may reach loopback receivers.
pub struct HookServer(TestServer);

impl std::ops::Deref for HookServer {
    type Target = TestServer;
    fn deref(&self) -> &TestServer {
        &self.0
    }
}

impl HookServer {
    pub async fn start(backend: Backend) -> Option<HookServer> {
        let notify = NotifyConfig {
            webhook_timeout: Duration::from_millis(300),
            retry: RetryPolicy {
                first_delay_ms: 1_000,
                max_delay_ms: 4_000,
                max_attempts: 3,
            },
            allowed_networks: loopback_allowed(),
            ..Default::default()
        };
        TestServer::start_notifying(backend, notify)
            .await
            .map(HookServer)
    }
}

async fn create_hook(srv: &TestServer, url: &str, topics: Value) -> (String, Vec<u8>) {
    let (status, hook) = srv
        .send(
            srv.post("/api/v1/webhooks")
                .json(&json!({ "url": url, "topics": topics })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{hook}");
    let secret = hook["secret"].as_str().unwrap();
    (
        hook["id"].as_str().unwrap().to_string(),
        notify::secret_key(secret).unwrap(),
    )
}

/// Checks a delivery's Standard Webhooks signature with the subscription's key.
fn assert_signed(hit: &Hit, key: &[u8]) -> Value {
    let id = &hit.headers["webhook-id"];
    let timestamp: i64 = hit.headers["webhook-timestamp"].parse().unwrap();
    assert!(
        notify::verify(
            key,
            id,
            timestamp,
            hit.body.as_bytes(),
            &hit.headers["webhook-signature"]
        ),
        "signature verifies: {hit:?}"
    );
    let body: Value = serde_json::from_str(&hit.body).unwrap();
    assert_eq!(&body["id"], id, "webhook-id is the event id");
    body
}

backend_tests! {
    async fn webhooks_are_signed_retried_and_dead_lettered(srv: HookServer) {
        let receiver = Receiver::start().await;
        receiver.answer("/broken", Answer::Fail);
        receiver.answer("/slow", Answer::Hang);
        let (ok_id, ok_key) = create_hook(&srv, &format!("{}/ok", receiver.base), json!(["lead.*"])).await;
        let (broken_id, _) = create_hook(&srv, &format!("{}/broken", receiver.base), json!(["lead.stage_changed"])).await;
        let (slow_id, _) = create_hook(&srv, &format!("{}/slow", receiver.base), json!(["lead.created"])).await;

        let (_, lead) = srv.create_lead(json!({ "email": "hooked@buyer.example.com", "first_name": "Hooked" })).await;
        let lead_id = lead["lead"]["id"].as_str().unwrap().to_string();
        let (status, body) = srv.send(srv.post(&format!("/api/v1/leads/{lead_id}/stage")).json(&json!({ "stage": "target" }))).await;
        assert_eq!(status, StatusCode::OK, "{body}");

        // One pass: the healthy endpoint gets both events although the others fail or hang.
        let started = Instant::now();
        let run = srv.app.run_outbox().await.unwrap();
        assert!(started.elapsed() < Duration::from_secs(5), "a hanging endpoint times out");
        assert_eq!((run.dispatched_events, run.delivered, run.retried, run.dead), (2, 2, 2, 0), "{run:?}");
        let ok_hits = receiver.hits_at("/ok");
        // Deliveries run concurrently, so they may arrive in any order.
        let mut events: Vec<Value> = ok_hits.iter().map(|h| assert_signed(h, &ok_key)).collect();
        events.sort_by_key(|e| e["type"].as_str().unwrap().to_string());
        let types: Vec<&Value> = events.iter().map(|e| &e["type"]).collect();
        assert_eq!(types, [&json!("lead.created"), &json!("lead.stage_changed")]);
        let stage_event = &events[1];
        assert_eq!(stage_event["data"]["to"], "target");
        assert_eq!(stage_event["data"]["lead"]["email"], "hooked@buyer.example.com");

        // Not due yet: nothing is tried again before the backoff.
        assert_eq!(srv.app.run_outbox().await.unwrap().retried, 0);
        srv.clock.advance(1_200);
        let run = srv.app.run_outbox().await.unwrap();
        assert_eq!((run.retried, run.dead), (2, 0), "second attempts: {run:?}");
        srv.clock.advance(2_500);
        let run = srv.app.run_outbox().await.unwrap();
        assert_eq!((run.retried, run.dead), (0, 2), "third attempts park them: {run:?}");
        assert_eq!(receiver.hits_at("/broken").len(), 3);
        assert_eq!(receiver.hits_at("/ok").len(), 2, "delivered once, never again");

        let (status, dead) = srv.send(srv.get("/api/v1/deliveries?status=dead")).await;
        assert_eq!(status, StatusCode::OK, "{dead}");
        let dead = dead["deliveries"].as_array().unwrap().clone();
        assert_eq!(dead.len(), 2);
        let broken = dead.iter().find(|d| d["target"] == broken_id.as_str()).unwrap();
        assert_eq!(broken["attempts"], 3);
        assert_eq!(broken["last_status_code"], 500);
        assert!(broken["last_error"].as_str().unwrap().contains("500"), "{broken}");
        let slow = dead.iter().find(|d| d["target"] == slow_id.as_str()).unwrap();
        assert!(slow["last_error"].as_str().unwrap().contains("no answer within 300 ms"), "{slow}");

        // The endpoint is fixed; its dead letter is replayed and delivered, same id.
        receiver.answer("/broken", Answer::Ok);
        let (status, body) = srv.send(srv.post("/api/v1/deliveries/replay").json(&json!({ "webhook_id": broken_id }))).await;
        assert_eq!((status, &body["replayed"]), (StatusCode::OK, &json!(1)), "{body}");
        let run = srv.app.run_outbox().await.unwrap();
        assert_eq!(run.delivered, 1, "{run:?}");
        let hits = receiver.hits_at("/broken");
        assert_eq!(hits.len(), 4);
        assert_eq!(hits[3].headers["webhook-id"], hits[0].headers["webhook-id"], "receivers can de-duplicate");
        let (_, delivered) = srv.send(srv.get(&format!("/api/v1/deliveries?webhook_id={ok_id}&status=delivered"))).await;
        assert_eq!(delivered["deliveries"].as_array().unwrap().len(), 2);

        // Rotation: the old key stops verifying, the new one signs.
        let (status, rotated) = srv.send(srv.post(&format!("/api/v1/webhooks/{ok_id}/rotate-secret"))).await;
        assert_eq!(status, StatusCode::OK, "{rotated}");
        let new_key = notify::secret_key(rotated["secret"].as_str().unwrap()).unwrap();
        srv.send(srv.post(&format!("/api/v1/leads/{lead_id}/stage")).json(&json!({ "stage": "engaged" }))).await;
        srv.app.run_outbox().await.unwrap();
        let last = receiver.hits_at("/ok").pop().unwrap();
        assert_signed(&last, &new_key);
        assert!(!notify::verify(&ok_key, &last.headers["webhook-id"], last.headers["webhook-timestamp"].parse().unwrap(),
            last.body.as_bytes(), &last.headers["webhook-signature"]));

        // Listing never shows a secret; deleting parks what is still pending.
        let (_, list) = srv.send(srv.get("/api/v1/webhooks")).await;
        assert_eq!(list["webhooks"].as_array().unwrap().len(), 3);
        assert!(!list.to_string().contains("whsec_"), "{list}");
        let (status, _) = srv.send(srv.client.delete(srv.url(&format!("/api/v1/webhooks/{slow_id}"))).bearer_auth(&srv.token)).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        srv.send(srv.post("/api/v1/deliveries/replay").json(&json!({ "webhook_id": slow_id }))).await;
        let run = srv.app.run_outbox().await.unwrap();
        assert_eq!(run.dead, 1, "{run:?}");
        let (_, dead) = srv.send(srv.get(&format!("/api/v1/deliveries?status=dead&webhook_id={slow_id}"))).await;
        assert_eq!(dead["deliveries"][0]["last_error"], "the webhook was deleted");
    }

    async fn webhook_input_is_checked(srv: TestServer) {
        for (body, code) in [
            (json!({ "url": "ftp://example.com/in" }), "invalid_url"),
            (json!({ "url": "javascript:alert(1)" }), "invalid_url"),
            (json!({ "url": "https://user:pw@example.com/" }), "invalid_url"),
            (json!({ "url": format!("https://example.com/{}", "a".repeat(3000)) }), "invalid_url"),
            (json!({ "url": "https://example.com/", "topics": ["lead.assignd"] }), "unknown_topic"),
            (json!({ "topics": ["*"] }), "required"),
            (json!({ "url": "https://example.com/", "description": "x".repeat(600) }), "too_long"),
        ] {
            let (status, err) = srv.send(srv.post("/api/v1/webhooks").json(&body)).await;
            assert_error(status, &err, 422, code);
        }
        let (status, err) = srv.send(srv.post("/api/v1/webhooks").json(&json!({ "url": "https://e.example/", "secret": "mine" }))).await;
        assert_eq!(status.as_u16(), 422, "unknown fields are refused: {err}");
        let (status, err) = srv.send(srv.post("/api/v1/deliveries/replay").json(&json!({}))).await;
        assert_error(status, &err, 422, "replay_needs_a_filter");
        let (status, err) = srv.send(srv.get("/api/v1/deliveries?status=lost")).await;
        assert_error(status, &err, 422, "unknown_status");
        let (status, err) = srv.send(srv.get("/api/v1/webhooks/nope")).await;
        assert_error(status, &err, 404, "webhook_not_found");
        let (status, err) = srv.send(srv.get("/api/v1/stream?topics=lead.nope")).await;
        assert_error(status, &err, 422, "unknown_topic");
        let (status, err) = srv.send(srv.get("/api/v1/stream").header("last-event-id", "'; DROP TABLE leads; --")).await;
        assert_error(status, &err, 422, "invalid_last_event_id");

        // Integrations are for admins and marketers, not reps or managers.
        let rep = srv.rep("r@example.com", json!({})).await;
        let rep_token = srv.token_for(&rep).await;
        let (status, err) = srv.send(srv.client.get(srv.url("/api/v1/webhooks")).bearer_auth(&rep_token)).await;
        assert_error(status, &err, 403, "forbidden");
        let manager = srv.user("m@example.com", "manager", json!({})).await;
        let manager_token = srv.token_for(&manager).await;
        let (status, err) = srv.send(srv.client.post(srv.url("/api/v1/deliveries/replay")).bearer_auth(&manager_token)
            .json(&json!({ "ids": ["x"] }))).await;
        assert_error(status, &err, 403, "forbidden");
        let (status, _) = srv.send(srv.client.get(srv.url("/api/v1/stream"))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
}

/// One message as the SMTP server received it.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: Vec<String>,
    pub data: String,
}

/// A real SMTP server (mailin-embedded) on a free port, keeping what it receives.
#[derive(Clone)]
struct MailSink {
    inbox: Arc<Mutex<Vec<Mail>>>,
    to: Vec<String>,
    data: Vec<u8>,
}

impl mailin_embedded::Handler for MailSink {
    fn data_start(
        &mut self,
        _domain: &str,
        _from: &str,
        _is8bit: bool,
        to: &[String],
    ) -> mailin_embedded::Response {
        self.to = to.to_vec();
        self.data.clear();
        mailin_embedded::response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> mailin_embedded::Response {
        self.inbox.lock().unwrap().push(Mail {
            to: std::mem::take(&mut self.to),
            data: String::from_utf8_lossy(&self.data).into_owned(),
        });
        mailin_embedded::response::OK
    }
}

/// Starts the SMTP server; returns its inbox and port.
fn start_smtp() -> (Arc<Mutex<Vec<Mail>>>, u16) {
    let inbox: Arc<Mutex<Vec<Mail>>> = Arc::default();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut server = mailin_embedded::Server::new(MailSink {
        inbox: inbox.clone(),
        to: Vec::new(),
        data: Vec::new(),
    });
    server
        .with_name("mail.test")
        .with_ssl(mailin_embedded::SslConfig::None)
        .unwrap()
        .with_tcp_listener(listener);
    std::thread::spawn(move || {
        let _ = server.serve();
    });
    (inbox, port)
}

/// A server that sends e-mail alerts through a real SMTP server.
pub struct MailServer {
    srv: TestServer,
    inbox: Arc<Mutex<Vec<Mail>>>,
}

impl std::ops::Deref for MailServer {
    type Target = TestServer;
    fn deref(&self) -> &TestServer {
        &self.srv
    }
}

impl MailServer {
    pub async fn start(backend: Backend) -> Option<MailServer> {
        let (inbox, port) = start_smtp();
        let notify = NotifyConfig {
            public_url: "https://leads.example.com".into(),
            smtp: Some(SmtpConfig {
                url: format!("smtp://127.0.0.1:{port}"),
                from: "Leadline <alerts@leads.example.com>".into(),
            }),
            ..Default::default()
        };
        let srv = TestServer::start_notifying(backend, notify).await?;
        Some(MailServer { srv, inbox })
    }

    fn mails(&self) -> Vec<Mail> {
        self.inbox.lock().unwrap().clone()
    }
}

/// The headers of a received message, unfolded.
fn header<'a>(mail: &'a Mail, name: &str) -> Option<&'a str> {
    let prefix = format!("{name}: ");
    mail.data
        .split("\r\n\r\n")
        .next()?
        .split("\r\n")
        .find_map(|line| line.strip_prefix(prefix.as_str()))
}

const MINUTE: i64 = 60_000;

backend_tests! {
    async fn alerts_go_out_by_email(srv: MailServer) {
        let manager = srv.user("boss@example.com", "manager", json!({ "name": "Bea Boss" })).await;
        let rep = srv.rep("rita@example.com", json!({ "name": "Rita Rep" })).await;
        let (_, team) = srv.send(srv.post("/api/v1/teams").json(&json!({ "name": "Closers", "manager_id": manager, "member_ids": [rep] }))).await;
        srv.set_routing(json!({ "rules": [{ "id": "all", "name": "Everyone", "conditions": [],
            "target": { "type": "team", "team_id": team["id"], "strategy": "weighted_round_robin" } }] })).await;

        // A hostile name cannot add headers or recipients to the alert.
        let (_, lead) = srv.create_lead(json!({ "first_name": "Eve\r\nBcc: all@evil.example.com", "last_name": "Smith",
            "email": "eve@buyer.example.com", "phone": "+44 20 7946 0958", "channel": "web_form", "source": "Website" })).await;
        let id = lead["lead"]["id"].as_str().unwrap().to_string();
        let (status, q) = srv.send(srv.client.put(srv.url(&format!("/api/v1/leads/{id}/answers"))).bearer_auth(&srv.token)
            .json(&json!({ "answers": { "asked_to_be_contacted": "yes" } }))).await;
        assert_eq!((status, &q["owner_id"]), (StatusCode::OK, &json!(rep)), "{q}");
        let run = srv.app.run_outbox().await.unwrap();
        assert_eq!(run.delivered, 1, "the rep is told: {run:?}");
        let mails = srv.mails();
        assert_eq!(mails.len(), 1);
        assert_eq!(mails[0].to, ["rita@example.com"], "nobody else: {:?}", mails[0]);
        let subject = header(&mails[0], "Subject").unwrap();
        assert!(subject.starts_with("New lead for you: Eve"), "{subject}");
        assert!(header(&mails[0], "Bcc").is_none(), "{}", mails[0].data);
        assert!(mails[0].data.contains("https://leads.example.com/api/v1/leads/"), "{}", mails[0].data);
        assert!(mails[0].data.contains("+442079460958"), "{}", mails[0].data);

        // Untouched past the 5-minute SLA: the manager is told.
        srv.clock.advance(6 * MINUTE);
        let sla = srv.app.run_sla().await.unwrap();
        assert_eq!(sla.escalated, vec![id.clone()]);
        let run = srv.app.run_outbox().await.unwrap();
        assert_eq!(run.delivered, 1, "{run:?}");
        let mails = srv.mails();
        assert_eq!(mails[1].to, ["boss@example.com"]);
        assert!(header(&mails[1], "Subject").unwrap().starts_with("Speed-to-lead missed"), "{}", mails[1].data);
        assert!(mails[1].data.contains("owned by Rita Rep"), "{}", mails[1].data);
        let (_, sent) = srv.send(srv.get("/api/v1/deliveries?channel=email&status=delivered")).await;
        assert_eq!(sent["deliveries"].as_array().unwrap().len(), 2, "{sent}");
    }
}

backend_tests! {
    async fn an_unreachable_mail_server_is_retried(srv: HookServer) {
        // Nothing listens on this port: every attempt fails, and is kept for later.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let app = srv.app.clone().with_notify(NotifyConfig {
            smtp: Some(SmtpConfig { url: format!("smtp://127.0.0.1:{closed}"), from: "a@b.example.com".into() }),
            webhook_timeout: Duration::from_secs(2),
            ..Default::default()
        }).unwrap();
        let rep = srv.rep("r@example.com", json!({})).await;
        srv.set_routing(json!({ "rules": [{ "id": "r", "name": "R", "conditions": [], "target": { "type": "rep", "rep_id": rep } }] })).await;
        let (_, lead) = srv.create_lead(json!({ "email": "x@buyer.example.com" })).await;
        let id = lead["lead"]["id"].as_str().unwrap();
        app.set_answers(id, &[("asked_to_be_contacted".to_string(), Some("yes".to_string()))].into_iter().collect(), None, "test").await.unwrap();
        let run = app.run_outbox().await.unwrap();
        assert_eq!((run.delivered, run.retried, run.dead), (0, 1, 0), "{run:?}");
        let (_, pending) = srv.send(srv.get("/api/v1/deliveries?channel=email&status=pending")).await;
        let d = &pending["deliveries"][0];
        assert_eq!(d["attempts"], 1);
        assert_eq!(d["last_error"], "SMTP: could not reach the mail server", "{d}");
        assert!(!d["last_error"].as_str().unwrap().contains(&closed.to_string()), "no port in the error: {d}");

        // Bad SMTP settings are refused up front.
        let bad = srv.app.clone().with_notify(NotifyConfig {
            smtp: Some(SmtpConfig { url: "smtp://127.0.0.1:25".into(), from: "not an address".into() }),
            ..Default::default()
        });
        assert!(bad.is_err());
    }
}
