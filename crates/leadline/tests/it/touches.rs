//! Touches, next steps, time to first touch, and the losing-touch list (clock-driven).

use crate::backend_tests;
use crate::harness::*;
use leadline_service::Clock;
use reqwest::StatusCode;
use serde_json::{json, Value};

const HOUR: i64 = 3_600_000;

async fn sql_lead(srv: &TestServer, email: &str) -> String {
    let (_, body) = srv
        .create_lead(json!({ "email": email, "first_name": "Hot" }))
        .await;
    let id = body["lead"]["id"].as_str().unwrap().to_string();
    srv.send(
        srv.client
            .put(srv.url(&format!("/api/v1/leads/{id}/answers")))
            .bearer_auth(&srv.token)
            .json(&json!({ "answers": { "need": "yes", "asked_to_be_contacted": "yes" } })),
    )
    .await;
    let (status, q) = srv
        .send(
            srv.post(&format!("/api/v1/leads/{id}/stage"))
                .json(&json!({ "stage": "sql" })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{q}");
    id
}

async fn losing(srv: &TestServer, hours: i64) -> Vec<Value> {
    let (status, body) = srv
        .send(srv.get(&format!("/api/v1/losing-touch?max_idle_hours={hours}")))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["leads"].as_array().unwrap().clone()
}

backend_tests! {
    async fn touches_set_first_touch_and_next_steps_and_nobody_is_forgotten(srv: TestServer) {
        let id = sql_lead(&srv, "hot@example.com").await;
        let cold = srv.create_lead(json!({ "email": "cold@example.com" })).await.1["lead"]["id"].as_str().unwrap().to_string();

        srv.clock.advance(2 * HOUR);
        let list = losing(&srv, 1).await;
        assert_eq!(list.len(), 1, "only the sales-ready lead is listed, not every new name: {list:?}");
        assert_eq!(list[0]["lead_id"], id.as_str());
        assert_eq!(list[0]["reason"]["reason"], "no_touch_for");
        assert_eq!(list[0]["reason"]["idle_ms"], 2 * HOUR);

        let due = srv.clock.now_ms() + 24 * HOUR;
        let (status, touch) = srv.send(srv.post(&format!("/api/v1/leads/{id}/touches")).json(&json!({
            "kind": "connected_call", "outcome": "interested", "notes": "Wants pricing for 40 seats",
            "next_step": "Send proposal", "next_step_due_at": due
        }))).await;
        assert_eq!(status, StatusCode::CREATED, "{touch}");
        assert_eq!(touch["time_to_first_touch_ms"], 2 * HOUR);
        assert_eq!(touch["next_step"], "Send proposal");
        assert!(touch["touch"]["user_id"].is_string());
        assert!(losing(&srv, 1).await.is_empty(), "touched, next step not yet due");

        srv.clock.advance(30 * HOUR);
        let list = losing(&srv, 72).await;
        assert_eq!(list.len(), 1);
        assert_eq!(list[0]["reason"]["reason"], "next_step_overdue");
        assert_eq!(list[0]["reason"]["overdue_ms"], 6 * HOUR);
        assert_eq!(list[0]["next_step"], "Send proposal");

        // A note without a next step keeps the agreed step; a later step replaces it.
        srv.send(srv.post(&format!("/api/v1/leads/{id}/touches")).json(&json!({ "kind": "note", "notes": "Proposal drafted" }))).await;
        let (_, touch) = srv.send(srv.post(&format!("/api/v1/leads/{id}/touches")).json(&json!({
            "kind": "email", "next_step": "Follow-up call", "next_step_due_at": srv.clock.now_ms() + 48 * HOUR
        }))).await;
        assert_eq!(touch["next_step"], "Follow-up call");
        assert_eq!(touch["time_to_first_touch_ms"], 2 * HOUR, "the first touch stays the first");
        assert!(losing(&srv, 72).await.is_empty());

        // Working a lead in any open stage puts it on the watch list too.
        srv.send(srv.post(&format!("/api/v1/leads/{cold}/touches")).json(&json!({ "kind": "call_attempt" }))).await;
        let list = losing(&srv, 72).await;
        assert_eq!(list.len(), 1);
        assert_eq!(list[0]["lead_id"], cold.as_str());
        assert_eq!(list[0]["reason"]["reason"], "no_next_step");

        let (_, touches) = srv.send(srv.get(&format!("/api/v1/leads/{id}/touches"))).await;
        let kinds: Vec<&str> = touches["touches"].as_array().unwrap().iter().map(|t| t["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, vec!["connected_call", "note", "email"]);
        let (_, timeline) = srv.send(srv.get(&format!("/api/v1/leads/{id}/timeline"))).await;
        assert_eq!(timeline["events"].as_array().unwrap().iter().filter(|e| e["kind"] == "touched").count(), 3);
    }

    async fn bad_touches_are_refused(srv: TestServer) {
        let id = sql_lead(&srv, "x@example.com").await;
        let post = |body: Value| srv.send(srv.post(&format!("/api/v1/leads/{id}/touches")).json(&body));
        let (status, body) = post(json!({ "kind": "fax" })).await;
        assert_error(status, &body, 422, "unknown_kind");
        let (status, body) = post(json!({ "kind": "note", "next_step_due_at": 5 })).await;
        assert_eq!(assert_error(status, &body, 422, "required")["field"], "next_step");
        let (status, body) = post(json!({ "kind": "note", "occurred_at": T0 + 365 * 24 * HOUR })).await;
        assert_error(status, &body, 422, "invalid_time");
        let (status, body) = post(json!({ "kind": "note", "notes": "x".repeat(20_000) })).await;
        assert_error(status, &body, 422, "too_long");
        let (status, body) = post(json!({ "kind": "note", "mood": "happy" })).await;
        assert_eq!(assert_error(status, &body, 422, "invalid_body")["field"], "mood");
        let (status, body) = srv.send(srv.post("/api/v1/leads/01NOPE/touches").json(&json!({ "kind": "note" }))).await;
        assert_error(status, &body, 404, "lead_not_found");
        let other = srv.create_lead(json!({ "email": "y@example.com" })).await.1["lead"]["id"].as_str().unwrap().to_string();
        srv.send(srv.post(&format!("/api/v1/leads/{id}/merge")).json(&json!({ "other_lead_id": other }))).await;
        let (status, body) = srv.send(srv.post(&format!("/api/v1/leads/{other}/touches")).json(&json!({ "kind": "note" }))).await;
        assert_error(status, &body, 409, "lead_merged");
        let (status, body) = srv.send(srv.get("/api/v1/losing-touch?max_idle_hours=0")).await;
        assert_error(status, &body, 422, "out_of_range");
        let (_, touches) = srv.send(srv.get(&format!("/api/v1/leads/{id}/touches"))).await;
        assert_eq!(touches["touches"].as_array().unwrap().len(), 0, "nothing bad was stored");
    }
}
