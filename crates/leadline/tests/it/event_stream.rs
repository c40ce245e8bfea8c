//! The live event stream end to end: a "request a call" form submission is scored,
//! routed by rule and on its rep's screen within a second; other reps never see it; a
//! newsletter signup goes to nurture and reaches no rep.

use crate::backend_tests;
use crate::harness::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// One Server-Sent Event.
#[derive(Debug, Clone)]
pub struct SseEvent {
    pub id: String,
    pub event: String,
    pub data: Value,
}

/// A client of `GET /api/v1/stream`, reading frames as they arrive.
pub struct SseClient {
    events: mpsc::UnboundedReceiver<SseEvent>,
    _reader: tokio::task::JoinHandle<()>,
}

impl SseClient {
    /// Connects and returns once the server has answered (and so has subscribed).
    pub async fn connect(srv: &TestServer, token: &str, last_event_id: Option<&str>) -> SseClient {
        let mut request = srv.client.get(srv.url("/api/v1/stream")).bearer_auth(token);
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        let mut response = request.send().await.expect("stream connects");
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        let (tx, events) = mpsc::unbounded_channel();
        let reader = tokio::spawn(async move {
            let mut buffer = String::new();
            while let Ok(Some(chunk)) = response.chunk().await {
                buffer.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = buffer.find("\n\n") {
                    let frame: String = buffer.drain(..end + 2).collect();
                    let (mut id, mut event, mut data) =
                        (String::new(), String::new(), String::new());
                    for line in frame.lines() {
                        if let Some(v) = line.strip_prefix("id:") {
                            id = v.trim().to_string();
                        } else if let Some(v) = line.strip_prefix("event:") {
                            event = v.trim().to_string();
                        } else if let Some(v) = line.strip_prefix("data:") {
                            data.push_str(v.trim_start());
                        }
                    }
                    if !data.is_empty() {
                        let data = serde_json::from_str(&data).expect("event data is JSON");
                        if tx.send(SseEvent { id, event, data }).is_err() {
                            return;
                        }
                    }
                }
            }
        });
        SseClient {
            events,
            _reader: reader,
        }
    }

    /// The next event, if one comes within `wait`.
    pub async fn next(&mut self, wait: Duration) -> Option<SseEvent> {
        tokio::time::timeout(wait, self.events.recv())
            .await
            .ok()
            .flatten()
    }

    /// Skips events until one of `topic` about `lead_id` arrives within `wait`.
    pub async fn expect(&mut self, topic: &str, lead_id: Option<&str>, wait: Duration) -> SseEvent {
        let deadline = Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next(left).await {
                Some(e)
                    if e.event == topic
                        && (lead_id.is_none() || e.data["lead_id"] == lead_id.unwrap()) =>
                {
                    return e
                }
                Some(_) => continue,
                None => panic!("no {topic} event for {lead_id:?} within {wait:?}"),
            }
        }
    }

    /// Everything that arrives within `wait`.
    pub async fn drain(&mut self, wait: Duration) -> Vec<SseEvent> {
        let mut all = Vec::new();
        while let Some(e) = self.next(wait).await {
            all.push(e);
        }
        all
    }
}

async fn submit(srv: &TestServer, key: &str, fields: &[(&str, &str)]) {
    let token = srv.form_token(key).await;
    let mut form = vec![("_ts", token.as_str())];
    form.extend_from_slice(fields);
    let response = srv
        .client
        .post(srv.url(&format!("/f/{key}")))
        .header("accept", "application/json")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

async fn lead_id_by_email(srv: &TestServer, email: &str) -> String {
    let (_, list) = srv
        .send(srv.get(&format!(
            "/api/v1/leads?email={}",
            email.replace('@', "%40")
        )))
        .await;
    list["leads"][0]["id"]
        .as_str()
        .expect("the lead exists")
        .to_string()
}

const SECOND: Duration = Duration::from_secs(1);

backend_tests! {
    async fn sales_ready_leads_reach_their_rep_live(srv: TestServer) {
        let uk = srv.rep("uk.rep@example.com", json!({})).await;
        let de = srv.rep("de.rep@example.com", json!({})).await;
        srv.set_routing(json!({ "rules": [
            { "id": "uk", "name": "UK to Una", "conditions": [{ "field": "country", "op": "eq", "value": "GB" }],
              "target": { "type": "rep", "rep_id": uk } },
            { "id": "de", "name": "Germany to Dieter", "conditions": [{ "field": "country", "op": "eq", "value": "DE" }],
              "target": { "type": "rep", "rep_id": de } }
        ] })).await;
        let call = srv.create_form(json!({ "name": "Request a call", "source": "Website", "fields": [
            { "name": "first_name", "label": "Name", "required": true },
            { "name": "email", "label": "E-mail", "required": true },
            { "name": "country", "label": "Country" },
            { "name": "answers.asked_to_be_contacted", "label": "Please call me" }
        ] })).await;
        let newsletter = srv.create_form(json!({ "name": "Newsletter", "source": "Blog", "fields": [
            { "name": "email", "label": "E-mail", "required": true }
        ] })).await;
        let (call_key, newsletter_key) = (call["key"].as_str().unwrap(), newsletter["key"].as_str().unwrap());

        let uk_token = srv.token_for(&uk).await;
        let de_token = srv.token_for(&de).await;
        let mut una = SseClient::connect(&srv, &uk_token, None).await;
        let mut dieter = SseClient::connect(&srv, &de_token, None).await;
        let mut admin = SseClient::connect(&srv, &srv.token, None).await;

        // A UK call request: on Una's screen within a second of the submission.
        let sent = Instant::now();
        submit(&srv, call_key, &[("first_name", "Harriet"), ("email", "harriet@buyer.co.uk"),
            ("country", "UK"), ("answers.asked_to_be_contacted", "on")]).await;
        let assigned = una.expect("lead.assigned", None, SECOND).await;
        let latency = sent.elapsed();
        assert!(latency < SECOND, "{latency:?}");
        let harriet = lead_id_by_email(&srv, "harriet@buyer.co.uk").await;
        assert_eq!(assigned.data["lead_id"], harriet.as_str());
        let data = &assigned.data["data"];
        assert_eq!(data["owner_id"], uk.as_str());
        assert_eq!(data["rule_id"], "uk", "routed by the UK rule: {data}");
        assert_eq!(data["lead"]["first_name"], "Harriet");
        assert_eq!(data["lead"]["email"], "harriet@buyer.co.uk");
        assert!(data["sla_due_at"].is_i64(), "the rep sees when the first touch is due: {data}");
        let created = admin.expect("lead.created", Some(&harriet), SECOND).await;
        admin.expect("lead.assigned", Some(&harriet), SECOND).await;
        srv.app.settle().await;
        let (_, score) = srv.send(srv.get(&format!("/api/v1/leads/{harriet}/score"))).await;
        assert!(score["total"].is_number(), "the submission was scored: {score}");

        // A German request goes to Dieter: the first thing his stream shows, so it never
        // carried Harriet's.
        submit(&srv, call_key, &[("first_name", "Dora"), ("email", "dora@kaeufer.de"),
            ("country", "Germany"), ("answers.asked_to_be_contacted", "on")]).await;
        let dora = dieter.expect("lead.assigned", None, SECOND).await;
        let dora_id = lead_id_by_email(&srv, "dora@kaeufer.de").await;
        assert_eq!(dora.data["lead_id"], dora_id.as_str());
        srv.app.settle().await;
        for e in dieter.drain(Duration::from_millis(300)).await {
            assert_eq!(e.data["lead_id"], dora_id.as_str(), "Dieter sees only his own leads: {e:?}");
        }

        // A newsletter signup is nurtured and reaches no rep.
        submit(&srv, newsletter_key, &[("email", "reader@gmail.com")]).await;
        srv.app.settle().await;
        let reader = lead_id_by_email(&srv, "reader@gmail.com").await;
        let nurtured = admin.expect("lead.stage_changed", Some(&reader), SECOND).await;
        assert_eq!(nurtured.data["data"]["to"], "nurture");
        assert!(nurtured.data["data"]["reason"].as_str().unwrap().contains("not sales-ready"));
        let (_, q) = srv.send(srv.get(&format!("/api/v1/leads/{reader}/qualification"))).await;
        assert!(q["owner_id"].is_null(), "{q}");
        for e in una.drain(Duration::from_millis(300)).await {
            assert_eq!(e.data["lead_id"], harriet.as_str(), "Una sees only her own leads: {e:?}");
        }
        assert!(dieter.drain(Duration::from_millis(100)).await.is_empty());

        // Reconnecting with Last-Event-ID replays what was missed, filtered the same way.
        let mut again = SseClient::connect(&srv, &uk_token, Some(&created.id)).await;
        let replayed = again.expect("lead.assigned", Some(&harriet), SECOND).await;
        assert_eq!(replayed.id, assigned.id);
        for e in again.drain(Duration::from_millis(200)).await {
            assert_eq!(e.data["lead_id"], harriet.as_str(), "{e:?}");
        }
    }
}

backend_tests! {
    async fn reps_reach_only_their_own_leads(srv: TestServer) {
        let ann = srv.rep("ann@example.com", json!({})).await;
        let bob = srv.rep("bob@example.com", json!({})).await;
        srv.set_routing(json!({ "rules": [
            { "id": "gb", "name": "GB to Ann", "conditions": [{ "field": "country", "op": "eq", "value": "GB" }],
              "target": { "type": "rep", "rep_id": ann } },
            { "id": "rest", "name": "Rest to Bob", "conditions": [], "target": { "type": "rep", "rep_id": bob } }
        ] })).await;
        let mut ids = Vec::new();
        for (email, country) in [("a@buyer.example.com", "GB"), ("b@buyer.example.com", "FR")] {
            let (_, lead) = srv.create_lead(json!({ "email": email, "country": country })).await;
            let id = lead["lead"]["id"].as_str().unwrap().to_string();
            srv.send(srv.post(&format!("/api/v1/leads/{id}/route"))).await;
            ids.push(id);
        }
        let (ann_lead, bob_lead) = (&ids[0], &ids[1]);
        let ann_token = srv.token_for(&ann).await;
        let as_ann = |r: reqwest::RequestBuilder| r.bearer_auth(&ann_token);

        let (_, list) = srv.send(as_ann(srv.client.get(srv.url("/api/v1/leads")))).await;
        let listed: Vec<&str> = list["leads"].as_array().unwrap().iter().map(|l| l["id"].as_str().unwrap()).collect();
        assert_eq!(listed, [ann_lead.as_str()], "{list}");
        let (_, all) = srv.send(srv.get("/api/v1/leads")).await;
        assert_eq!(all["leads"].as_array().unwrap().len(), 2, "the admin sees every lead");

        for path in ["", "/timeline", "/qualification", "/score", "/touches"] {
            let (status, _) = srv.send(as_ann(srv.client.get(srv.url(&format!("/api/v1/leads/{ann_lead}{path}"))))).await;
            assert_eq!(status, StatusCode::OK, "own lead{path}");
            let (status, body) = srv.send(as_ann(srv.client.get(srv.url(&format!("/api/v1/leads/{bob_lead}{path}"))))).await;
            assert_error(status, &body, 404, "lead_not_found");
        }
        let (status, body) = srv.send(as_ann(srv.client.post(srv.url(&format!("/api/v1/leads/{bob_lead}/touches"))))
            .json(&json!({ "kind": "note", "notes": "sneaky" }))).await;
        assert_error(status, &body, 404, "lead_not_found");
        let (status, body) = srv.send(as_ann(srv.client.patch(srv.url(&format!("/api/v1/leads/{bob_lead}"))))
            .json(&json!({ "company": "Hijack" }))).await;
        assert_error(status, &body, 404, "lead_not_found");
        let (status, body) = srv.send(as_ann(srv.client.post(srv.url(&format!("/api/v1/leads/{ann_lead}/touches"))))
            .json(&json!({ "kind": "call_attempt", "outcome": "no answer", "next_step": "call again", "next_step_due_at": T0 + 1 }))).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        srv.clock.advance(3_600_000);
        let (_, losing) = srv.send(as_ann(srv.client.get(srv.url("/api/v1/losing-touch")))).await;
        for l in losing["leads"].as_array().unwrap() {
            assert_eq!(l["owner_id"], ann.as_str(), "{losing}");
        }
        assert!(!losing["leads"].as_array().unwrap().is_empty(), "her overdue lead is listed: {losing}");
    }
}
