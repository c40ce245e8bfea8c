//! Scoring in use: rules through the API, events, explanations, threshold moves through
//! the lifecycle, and decay applied by the rescoring job on a moved clock.

use crate::backend_tests;
use crate::harness::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

const DAY: i64 = 86_400_000;

fn parts_sum(score: &Value) -> f64 {
    score["explanation"]["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["points"].as_f64().unwrap())
        .sum()
}

backend_tests! {
    async fn events_lift_a_lead_through_the_lifecycle_and_decay_fades_them(srv: TestServer) {
        let (status, body) = srv.create_lead(json!({
            "first_name": "Vera", "last_name": "Price", "title": "VP Operations", "email": "vera@northwind.example.com",
            "country": "GB", "custom": { "employees": 500 }
        })).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let id = body["lead"]["id"].as_str().unwrap().to_string();

        let (status, score) = srv.send(srv.post(&format!("/api/v1/leads/{id}/events")).json(&json!({ "type": "demo_requested" }))).await;
        assert_eq!(status, StatusCode::CREATED, "{score}");
        assert_eq!(score["fit"], 40.0);
        assert_eq!(score["engagement"], 60.0);
        assert_eq!(score["total"], 100.0);
        assert!((parts_sum(&score) - 100.0).abs() < 1e-9, "the explanation sums to the score");

        // The score reached sql, but sql's playbook needs answers: scoring stops at mql.
        let (_, q) = srv.send(srv.get(&format!("/api/v1/leads/{id}/qualification"))).await;
        assert_eq!(q["stage"], "mql");
        let (_, timeline) = srv.send(srv.get(&format!("/api/v1/leads/{id}/timeline"))).await;
        let change = timeline["events"].as_array().unwrap().iter().find(|e| e["kind"] == "stage_changed").unwrap().clone();
        assert_eq!(change["actor"], "system:scoring");
        assert_eq!(change["payload"]["to"], "mql");
        assert!(change["payload"]["blocked"][0]["why"].as_str().unwrap().contains("need"), "{change}");

        // With the answers given, the next rescore lifts it to sql.
        srv.send(srv.client.put(srv.url(&format!("/api/v1/leads/{id}/answers"))).bearer_auth(&srv.token)
            .json(&json!({ "answers": { "need": "yes", "asked_to_be_contacted": "yes" } }))).await;
        srv.app.rescore(&id).await.unwrap();
        let (_, q) = srv.send(srv.get(&format!("/api/v1/leads/{id}/qualification"))).await;
        assert_eq!(q["stage"], "sql");

        // 120 days later the demo request (half-life 60 days) is worth a quarter.
        srv.clock.advance(120 * DAY);
        assert!(srv.app.rescore_all().await.unwrap() >= 1);
        let (_, score) = srv.send(srv.get(&format!("/api/v1/leads/{id}/score"))).await;
        assert_eq!(score["engagement"], 15.0);
        assert_eq!(score["total"], 55.0);
        assert_eq!(score["scored_at"], T0 + 120 * DAY);
        let demo = score["explanation"]["parts"].as_array().unwrap().iter().find(|p| p["rule_id"] == "demo-requested").cloned()
            .unwrap_or_else(|| panic!("{score}"));
        assert_eq!(demo["base_points"], 60.0);
        assert_eq!(demo["points"], 15.0);
        assert!((parts_sum(&score) - 55.0).abs() < 1e-9);
        let (_, q) = srv.send(srv.get(&format!("/api/v1/leads/{id}/qualification"))).await;
        assert_eq!(q["stage"], "sql", "scoring never moves a lead down");

        let (status, body) = srv.send(srv.post(&format!("/api/v1/leads/{id}/events")).json(&json!({ "type": "Bad Type!" }))).await;
        assert_error(status, &body, 422, "invalid_event_type");
        let (status, body) = srv.send(srv.post("/api/v1/leads/01NOPE/events").json(&json!({ "type": "email_opened" }))).await;
        assert_error(status, &body, 404, "lead_not_found");
    }

    async fn scoring_rules_are_validated_and_guarded(srv: TestServer) {
        let (status, mut config) = srv.send(srv.get("/api/v1/scoring")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(config["fit"].as_array().unwrap().len() >= 5);
        let put = |token: &str, body: &Value| srv.client.put(srv.url("/api/v1/scoring")).bearer_auth(token).json(body);

        let mut broken = config.clone();
        broken["fit"][0]["conditions"] = json!([{ "field": "salary", "op": "gt", "value": 5 }]);
        broken["thresholds"] = json!({ "target": 50, "mql": 40, "sql": 90 });
        let (status, body) = srv.send(put(&srv.token, &broken)).await;
        let error = assert_error(status, &body, 422, "invalid_fields");
        let text = error.to_string();
        assert!(text.contains("salary") && text.contains("increasing"), "{text}");

        let (_, rep) = srv.send(srv.post("/api/v1/users").json(&json!({ "email": "r@example.com", "name": "R", "role": "rep" }))).await;
        let (_, rep_token) = srv.app.create_token("r", rep["id"].as_str().unwrap()).await.unwrap();
        let (status, body) = srv.send(put(&rep_token, &config)).await;
        assert_error(status, &body, 403, "forbidden");

        // Marketing doubles the worth of webinars.
        let rules = config["engagement"].as_array_mut().unwrap();
        let webinar = rules.iter_mut().find(|r| r["event_type"] == "webinar_attended").unwrap();
        webinar["points"] = json!(30);
        let (status, body) = srv.send(put(&srv.token, &config)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (_, lead) = srv.create_lead(json!({ "email": "w@gmail.com" })).await;
        let id = lead["lead"]["id"].as_str().unwrap();
        let (_, score) = srv.send(srv.post(&format!("/api/v1/leads/{id}/events")).json(&json!({ "type": "webinar_attended" }))).await;
        assert_eq!(score["engagement"], 30.0, "{score}");
    }

    async fn a_form_submission_is_scored_and_triaged(srv: TestServer) {
        let form = srv.create_form(json!({ "name": "Newsletter", "source": "Blog", "fields": [{ "name": "email", "label": "E-mail" }] })).await;
        let key = form["key"].as_str().unwrap();
        let token = srv.form_token(key).await;
        let (status, _) = srv.send(srv.client.post(srv.url(&format!("/f/{key}"))).json(&json!({ "_ts": token, "email": "reader@gmail.com" }))).await;
        assert_eq!(status, StatusCode::OK);
        srv.app.settle().await;
        let (_, list) = srv.send(srv.get("/api/v1/leads")).await;
        let id = list["leads"][0]["id"].as_str().unwrap();
        let (_, score) = srv.send(srv.get(&format!("/api/v1/leads/{id}/score"))).await;
        assert_eq!(score["engagement"], 10.0, "form_submitted: {score}");
        let (_, q) = srv.send(srv.get(&format!("/api/v1/leads/{id}/qualification"))).await;
        assert_eq!(q["stage"], "nurture", "a low-fit newsletter signup goes to nurture");
        assert!(q["owner_id"].is_null(), "and reaches no rep");
        let (_, timeline) = srv.send(srv.get(&format!("/api/v1/leads/{id}/timeline"))).await;
        let change = timeline["events"].as_array().unwrap().iter().find(|e| e["kind"] == "stage_changed").unwrap().clone();
        assert_eq!(change["actor"], "system:triage");
        assert!(change["payload"]["reason"].as_str().unwrap().contains("not sales-ready"), "{change}");
    }
}

backend_tests! {
    async fn editing_a_lead_rescores_it_at_once(srv: TestServer) {
        let (status, body) = srv.create_lead(json!({ "first_name": "Omar", "email": "omar@northwind.example.com" })).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let id = body["lead"]["id"].as_str().unwrap().to_string();
        srv.clock.advance(60_000);
        let (status, patched) = srv.send(srv.patch(&format!("/api/v1/leads/{id}")).json(&json!({ "title": "VP Sales" }))).await;
        assert_eq!(status, StatusCode::OK, "{patched}");
        // No waiting for the 15-minute job: the new title's points are there now.
        let (_, score) = srv.send(srv.get(&format!("/api/v1/leads/{id}/score"))).await;
        assert_eq!(score["scored_at"], T0 + 60_000, "{score}");
        let parts = score["explanation"]["parts"].to_string();
        assert!(parts.contains("senior-title"), "{score}");
        let before = score["fit"].as_f64().unwrap();
        srv.send(srv.patch(&format!("/api/v1/leads/{id}")).json(&json!({ "title": null }))).await;
        let (_, score) = srv.send(srv.get(&format!("/api/v1/leads/{id}/score"))).await;
        assert!(score["fit"].as_f64().unwrap() < before, "clearing the title takes its points away: {score}");
    }
}
