//! One lifecycle for everyone: transitions, playbooks, disqualify reasons, answers,
//! horizon and the three vocabularies.

use crate::backend_tests;
use crate::harness::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn new_lead(srv: &TestServer, email: &str) -> String {
    let (status, body) = srv
        .create_lead(json!({ "email": email, "first_name": "Q" }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["lead"]["id"].as_str().unwrap().to_string()
}

async fn stage(srv: &TestServer, id: &str, body: Value) -> (StatusCode, Value) {
    srv.send(srv.post(&format!("/api/v1/leads/{id}/stage")).json(&body))
        .await
}

async fn answers(srv: &TestServer, id: &str, body: Value) -> (StatusCode, Value) {
    srv.send(
        srv.client
            .put(srv.url(&format!("/api/v1/leads/{id}/answers")))
            .bearer_auth(&srv.token)
            .json(&body),
    )
    .await
}

backend_tests! {
    async fn playbooks_gate_stages_and_answers_set_the_horizon(srv: TestServer) {
        let (status, lifecycle) = srv.send(srv.get("/api/v1/lifecycle")).await;
        assert_eq!(status, StatusCode::OK);
        let keys: Vec<&str> = lifecycle["stages"].as_array().unwrap().iter().map(|s| s["key"].as_str().unwrap()).collect();
        assert_eq!(keys, vec!["new", "target", "engaged", "mql", "sql", "meeting", "converted", "nurture", "disqualified"]);

        let id = new_lead(&srv, "q1@example.com").await;
        let (status, body) = stage(&srv, &id, json!({ "stage": "sql" })).await;
        let error = assert_error(status, &body, 422, "missing_answers");
        assert!(error["message"].as_str().unwrap().contains("need"), "{body}");
        assert!(error["message"].as_str().unwrap().contains("asked_to_be_contacted"), "{body}");

        let (status, body) = answers(&srv, &id, json!({ "answers": { "need": "now", "budget": "yes" } })).await;
        let error = assert_error(status, &body, 422, "invalid_fields");
        let fields: Vec<&str> = error["details"].as_array().unwrap().iter().map(|d| d["field"].as_str().unwrap()).collect();
        assert_eq!(fields, vec!["answers.budget", "answers.need"]);

        let (status, q) = answers(&srv, &id, json!({ "answers": { "need": "yes", "asked_to_be_contacted": "yes", "timeframe": "2_months" } })).await;
        assert_eq!(status, StatusCode::OK, "{q}");
        assert_eq!(q["horizon"], "short_range");
        assert_eq!(q["sales_ready"], true, "asked to be contacted is a sales-ready signal");
        let (_, q) = answers(&srv, &id, json!({ "answers": { "timeframe": "no_plans" } })).await;
        assert_eq!(q["horizon"], "long_range");
        let (_, q) = answers(&srv, &id, json!({ "horizon": "short_range" })).await;
        assert_eq!(q["horizon"], "short_range");
        assert_eq!(q["horizon_overridden"], true);
        let (_, q) = answers(&srv, &id, json!({ "horizon": null })).await;
        assert_eq!(q["horizon"], "long_range");

        srv.clock.advance(1000);
        let (status, q) = stage(&srv, &id, json!({ "stage": "sql" })).await;
        assert_eq!(status, StatusCode::OK, "{q}");
        assert_eq!(q["stage"], "sql");
        assert_eq!(q["vocabularies"]["funnel"], "BOFU");
        assert_eq!(q["vocabularies"]["ladder"], "prospect");
        assert_eq!(q["vocabularies"]["qualification_level"], "3–6");
        assert_eq!(q["stage_changed_at"], T0 + 1000);

        let (status, body) = stage(&srv, &id, json!({ "stage": "sql" })).await;
        assert_error(status, &body, 422, "already_in_stage");
        let (status, body) = stage(&srv, &id, json!({ "stage": "converted" })).await;
        assert_error(status, &body, 422, "transition_not_allowed");
        let (status, body) = stage(&srv, &id, json!({ "stage": "won" })).await;
        assert_error(status, &body, 422, "unknown_stage");

        let (_, timeline) = srv.send(srv.get(&format!("/api/v1/leads/{id}/timeline"))).await;
        let changes: Vec<&Value> = timeline["events"].as_array().unwrap().iter().filter(|e| e["kind"] == "stage_changed").collect();
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0]["payload"], json!({ "from": "new", "to": "sql", "reason": null }));
        assert!(changes[0]["actor"].as_str().unwrap().starts_with("user:"));
        let (_, list) = srv.send(srv.get("/api/v1/leads?stage=sql")).await;
        assert_eq!(list["leads"].as_array().unwrap().len(), 1);
    }

    async fn disqualifying_needs_a_listed_reason(srv: TestServer) {
        let id = new_lead(&srv, "dq@example.com").await;
        let (status, body) = stage(&srv, &id, json!({ "stage": "disqualified" })).await;
        assert_error(status, &body, 422, "reason_required");
        let (status, body) = stage(&srv, &id, json!({ "stage": "disqualified", "reason": "too ugly" })).await;
        let error = assert_error(status, &body, 422, "unknown_reason");
        assert!(error["message"].as_str().unwrap().contains("no_budget"), "lists the valid reasons: {body}");
        let (status, q) = stage(&srv, &id, json!({ "stage": "disqualified", "reason": "not_a_lead" })).await;
        assert_eq!(status, StatusCode::OK, "{q}");
        assert_eq!(q["disqualify_reason"], "not_a_lead");
        let (status, q) = stage(&srv, &id, json!({ "stage": "new" })).await;
        assert_eq!(status, StatusCode::OK, "a disqualified lead can be reopened: {q}");
        assert!(q["disqualify_reason"].is_null());

        let (status, body) = stage(&srv, "01NOSUCHLEAD", json!({ "stage": "mql" })).await;
        assert_error(status, &body, 404, "lead_not_found");
        let other = new_lead(&srv, "other@example.com").await;
        srv.send(srv.post(&format!("/api/v1/leads/{id}/merge")).json(&json!({ "other_lead_id": other }))).await;
        let (status, body) = stage(&srv, &other, json!({ "stage": "mql" })).await;
        assert_error(status, &body, 409, "lead_merged");
    }

    async fn only_admins_change_the_lifecycle_and_only_valid_ones(srv: TestServer) {
        let (_, mut lifecycle) = srv.send(srv.get("/api/v1/lifecycle")).await;
        let put = |token: &str, body: &Value| srv.client.put(srv.url("/api/v1/lifecycle")).bearer_auth(token).json(body);

        let (_, marketer) = srv.send(srv.post("/api/v1/users").json(&json!({ "email": "m@example.com", "name": "M", "role": "marketer" }))).await;
        let (_, token) = srv.app.create_token("m", marketer["id"].as_str().unwrap()).await.unwrap();
        let (status, body) = srv.send(put(&token, &lifecycle)).await;
        assert_error(status, &body, 403, "forbidden");

        let mut broken = lifecycle.clone();
        broken["transitions"]["new"] = json!(["nowhere"]);
        broken["disqualify_reasons"] = json!([]);
        let (status, body) = srv.send(put(&srv.token, &broken)).await;
        let error = assert_error(status, &body, 422, "invalid_fields");
        assert!(error["details"].as_array().unwrap().len() >= 2, "{body}");

        // A team that wants `budget`-less SQLs: drop the playbook for sql.
        let stages = lifecycle["stages"].as_array_mut().unwrap();
        let sql = stages.iter_mut().find(|s| s["key"] == "sql").unwrap();
        sql["required_answers"] = json!([]);
        let (status, body) = srv.send(put(&srv.token, &lifecycle)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let id = new_lead(&srv, "fast@example.com").await;
        let (status, q) = stage(&srv, &id, json!({ "stage": "sql" })).await;
        assert_eq!(status, StatusCode::OK, "{q}");
    }
}
