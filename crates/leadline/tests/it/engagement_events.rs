//! `POST /api/v1/leads/{id}/events` takes only events a rule scores, dated no later
//! than now plus a little clock skew.

use crate::backend_tests;
use crate::harness::*;
use reqwest::StatusCode;
use serde_json::json;

const MINUTE: i64 = 60_000;

backend_tests! {
    async fn unknown_and_future_events_are_refused(srv: TestServer) {
        let (_, lead) = srv.create_lead(json!({ "email": "events@corp.example.com" })).await;
        let id = lead["lead"]["id"].as_str().unwrap();
        let event = |body: serde_json::Value| srv.send(srv.post(&format!("/api/v1/leads/{id}/events")).json(&body));

        let (status, body) = event(json!({ "type": "fax_received" })).await;
        let error = assert_error(status, &body, 422, "unknown_event_type");
        assert_eq!(error["field"], "type");
        let message = error["message"].as_str().unwrap();
        assert!(message.contains("email_opened") && message.contains("demo_requested"), "lists the known types: {message}");

        let (status, body) = event(json!({ "type": "demo_requested", "occurred_at": T0 + 24 * 60 * MINUTE })).await;
        let error = assert_error(status, &body, 422, "occurred_in_future");
        assert_eq!(error["field"], "occurred_at");
        let (status, body) = event(json!({ "type": "demo_requested", "occurred_at": -5 })).await;
        assert_error(status, &body, 422, "invalid_time");
        let (status, body) = event(json!({ "type": "nope", "occurred_at": T0 + 60 * MINUTE })).await;
        assert_eq!(assert_error(status, &body, 422, "invalid_fields")["details"].as_array().unwrap().len(), 2);
        // Nothing was stored by the refused events.
        let (_, score) = srv.send(srv.get(&format!("/api/v1/leads/{id}/score"))).await;
        assert!(score["engagement"].is_null(), "never scored: {score}");

        // A known type now, or a little ahead of our clock, counts.
        let (status, score) = event(json!({ "type": "email_opened", "occurred_at": T0 + 4 * MINUTE })).await;
        assert_eq!(status, StatusCode::CREATED, "{score}");
        let (status, score) = event(json!({ "type": "Email_Opened " })).await;
        assert_eq!(status, StatusCode::CREATED, "{score}");
        assert_eq!(score["engagement"], 2.0, "{score}");

        // A type that a new rule scores is accepted once the rule exists.
        let (_, mut config) = srv.send(srv.get("/api/v1/scoring")).await;
        config["engagement"].as_array_mut().unwrap().push(json!({ "id": "fax", "name": "Fax", "event_type": "fax_received", "points": 1 }));
        let (status, body) = srv.send(srv.client.put(srv.url("/api/v1/scoring")).bearer_auth(&srv.token).json(&config)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, _) = event(json!({ "type": "fax_received" })).await;
        assert_eq!(status, StatusCode::CREATED);
    }
}
