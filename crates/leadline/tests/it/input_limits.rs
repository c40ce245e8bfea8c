//! Every repeated or map field of an API body has a ceiling: past it, a 422 names the
//! field and nothing is stored.

use crate::backend_tests;
use crate::harness::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// Asserts a 422 whose error (or one of whose details) names `field` with `code`.
fn assert_refused(status: StatusCode, body: &Value, field: &str, code: &str) {
    let text = body.to_string();
    let short = &text[..text.len().min(400)];
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {short}");
    let error = &body["error"];
    let named = (error["field"] == field && error["code"] == code)
        || error["details"]
            .as_array()
            .is_some_and(|d| d.iter().any(|e| e["field"] == field && e["code"] == code));
    assert!(named, "expected {field} {code}: {short}");
    assert!(
        body.to_string().len() < 20_000,
        "one error for the list, not one per item: {} bytes",
        body.to_string().len()
    );
}

fn put(srv: &TestServer, path: &str) -> reqwest::RequestBuilder {
    srv.client.put(srv.url(path)).bearer_auth(&srv.token)
}

backend_tests! {
    async fn captures_cap_consent_and_attribution(srv: TestServer) {
        let consent: Vec<Value> = (0..100_000).map(|_| json!({ "channel": "email", "granted": true })).collect();
        let (status, body) = srv.create_lead(json!({ "email": "many@consent.example.com", "consent": consent })).await;
        assert_refused(status, &body, "consent", "too_many");
        let (status, body) = srv.create_lead(json!({ "email": "many@consent.example.com",
            "consent": [{ "channel": "email", "granted": true, "wording": "x".repeat(10_001) }] })).await;
        assert_refused(status, &body, "consent[0].wording", "too_long");
        let (status, body) = srv.create_lead(json!({ "email": "many@consent.example.com",
            "consent": [{ "channel": "email", "granted": true, "evidence": { "blob": "x".repeat(20_000) } }] })).await;
        assert_refused(status, &body, "consent[0].evidence", "too_long");
        let (status, body) = srv.create_lead(json!({ "email": "long@utm.example.com", "attribution": { "utm_source": "u".repeat(2049) } })).await;
        assert_refused(status, &body, "attribution.utm_source", "too_long");
        let custom: serde_json::Map<String, Value> = (0..101).map(|i| (format!("k{i}"), json!("v"))).collect();
        let (status, body) = srv.create_lead(json!({ "email": "custom@many.example.com", "custom": custom })).await;
        assert_refused(status, &body, "custom", "too_many_attributes");
        let (_, list) = srv.send(srv.get("/api/v1/leads")).await;
        assert_eq!(list["leads"].as_array().unwrap().len(), 0, "nothing stored");

        // At the ceiling, everything goes through.
        let consent: Vec<Value> = (0..10).map(|i| { let channel = ["email", "phone", "sms"][i % 3]; json!({ "channel": channel, "granted": i % 2 == 0 }) }).collect();
        let (status, body) = srv.create_lead(json!({ "email": "ten@consent.example.com", "consent": consent,
            "attribution": { "landing_page": format!("https://example.com/{}", "p".repeat(2000)) } })).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let id = body["lead"]["id"].as_str().unwrap();
        let custom: serde_json::Map<String, Value> = (0..101).map(|i| (format!("k{i}"), json!("v"))).collect();
        let (status, body) = srv.send(srv.patch(&format!("/api/v1/leads/{id}")).json(&json!({ "custom": custom }))).await;
        assert_refused(status, &body, "custom", "too_many");
        let answers: serde_json::Map<String, Value> = (0..51).map(|i| (format!("q{i}"), json!("yes"))).collect();
        let (status, body) = srv.send(put(&srv, &format!("/api/v1/leads/{id}/answers")).json(&json!({ "answers": answers }))).await;
        assert_refused(status, &body, "answers", "too_many");
    }

    async fn configuration_documents_cap_their_lists(srv: TestServer) {
        let rep = srv.rep("rep@example.com", json!({})).await;
        let (_, team) = srv.send(srv.post("/api/v1/teams").json(&json!({ "name": "T", "member_ids": [rep] }))).await;
        let team_id = team["id"].as_str().unwrap();
        let rule = |i: usize, conditions: Value| json!({ "id": format!("r{i}"), "name": "R", "conditions": conditions,
            "target": { "type": "team", "team_id": team_id } });
        let country = json!({ "field": "country", "op": "eq", "value": "GB" });

        let rules: Vec<Value> = (0..201).map(|i| rule(i, json!([country]))).collect();
        let (status, body) = srv.send(put(&srv, "/api/v1/routing").json(&json!({ "rules": rules }))).await;
        assert_refused(status, &body, "rules", "too_many");
        let (status, body) = srv.send(put(&srv, "/api/v1/routing").json(&json!({ "rules": [rule(0, Value::Array(vec![country.clone(); 51]))] }))).await;
        assert_refused(status, &body, "rules[0].conditions", "too_many");
        let countries = Value::Array(vec![json!("GB"); 1001]);
        let (status, body) = srv.send(put(&srv, "/api/v1/routing").json(&json!({ "rules": [rule(0, json!([{ "field": "country", "op": "in", "value": countries }]))] }))).await;
        assert_refused(status, &body, "rules[0].conditions[0].value", "too_many");

        let policy = |i: usize| json!({ "id": format!("p{i}"), "name": "P", "first_touch_within_minutes": 5 });
        let policies: Vec<Value> = (0..101).map(policy).collect();
        let (status, body) = srv.send(put(&srv, "/api/v1/sla-policies").json(&json!({ "policies": policies }))).await;
        assert_refused(status, &body, "policies", "too_many");

        let (_, mut scoring) = srv.send(srv.get("/api/v1/scoring")).await;
        scoring["fit"] = Value::Array((0..501).map(|i| json!({ "id": format!("f{i}"), "points": 1, "conditions": [country] })).collect());
        let (status, body) = srv.send(put(&srv, "/api/v1/scoring").json(&scoring)).await;
        assert_refused(status, &body, "fit", "too_many");

        let (_, mut lifecycle) = srv.send(srv.get("/api/v1/lifecycle")).await;
        let reason = lifecycle["disqualify_reasons"][0].clone();
        lifecycle["disqualify_reasons"] = Value::Array((0..101).map(|i| { let mut r = reason.clone(); r["key"] = json!(format!("r{i}")); r }).collect());
        let (status, body) = srv.send(put(&srv, "/api/v1/lifecycle").json(&lifecycle)).await;
        assert_refused(status, &body, "disqualify_reasons", "too_many");

        let form_fields: Vec<Value> = (0..51).map(|i| json!({ "name": format!("custom.f{i}"), "label": "F" })).collect();
        let (status, body) = srv.send(srv.post("/api/v1/forms").json(&json!({ "name": "F", "source": "S", "fields": form_fields }))).await;
        assert_refused(status, &body, "fields", "too_many");
        let (status, body) = srv.send(srv.post("/api/v1/forms").json(&json!({ "name": "F", "source": "S", "fields": [{ "name": "email", "label": "E" }],
            "consent": { "channels": vec!["email"; 4], "wording": "Yes" } }))).await;
        assert_refused(status, &body, "consent.channels", "too_many");

        let topics = vec!["lead.created"; 51];
        let (status, body) = srv.send(srv.post("/api/v1/webhooks").json(&json!({ "url": "https://hooks.example.com/x", "topics": topics }))).await;
        assert_refused(status, &body, "topics", "too_many");
        let (status, body) = srv.send(srv.post("/api/v1/deliveries/replay").json(&json!({ "ids": vec!["x"; 1001] }))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["error"]["field"], "ids");

        let members = vec![rep.as_str(); 1001];
        let (status, body) = srv.send(srv.post("/api/v1/teams").json(&json!({ "name": "Big", "member_ids": members }))).await;
        assert_refused(status, &body, "member_ids", "too_many");
        let territories = vec![json!({ "country": "GB" }); 501];
        let (status, body) = srv.send(srv.patch(&format!("/api/v1/users/{rep}")).json(&json!({ "territories": territories }))).await;
        assert_refused(status, &body, "territories", "too_many");
        let week: Vec<Value> = (0..101).map(|i| json!({ "day": "mon", "start": format!("{:02}:00", i % 24), "end": "24:00" })).collect();
        let (status, body) = srv.send(srv.patch(&format!("/api/v1/users/{rep}")).json(&json!({ "working_hours": { "time_zone": "UTC", "week": week } }))).await;
        assert_refused(status, &body, "working_hours.week", "too_many");
        let holidays: Vec<String> = (0..1001).map(|i| format!("{}-01-01", 2000 + i % 500)).collect();
        let (status, body) = srv.send(srv.patch(&format!("/api/v1/users/{rep}")).json(&json!({ "working_hours": { "time_zone": "UTC", "week": [], "holidays": holidays } }))).await;
        assert_refused(status, &body, "working_hours.holidays", "too_many");
    }
}
