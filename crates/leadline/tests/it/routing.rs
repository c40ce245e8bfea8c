//! Routing in use: a sales-ready lead gets an owner by rule; everyone else does not.

use crate::backend_tests;
use crate::harness::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

fn always() -> Value {
    let week: Vec<Value> = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .iter()
        .map(|d| json!({ "day": d, "start": "00:00", "end": "24:00" }))
        .collect();
    json!({ "time_zone": "UTC", "week": week })
}

async fn rep(srv: &TestServer, email: &str, body: Value) -> String {
    let mut user = json!({ "email": email, "name": email, "role": "rep" });
    user.as_object_mut()
        .unwrap()
        .extend(body.as_object().unwrap().clone());
    let (status, created) = srv.send(srv.post("/api/v1/users").json(&user)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created["id"].as_str().unwrap().to_string()
}

backend_tests! {
    async fn sales_ready_leads_get_an_owner_by_rule(srv: TestServer) {
        let uk = rep(&srv, "uk@example.com", json!({ "territories": [{ "country": "GB" }], "working_hours": always() })).await;
        let full = rep(&srv, "full@example.com", json!({ "territories": [{ "country": "GB" }], "working_hours": always(), "capacity": 0 })).await;
        let asleep = rep(&srv, "london9to5@example.com", json!({ "territories": [{ "country": "GB" }] ,
            "working_hours": { "time_zone": "Europe/London", "week": [{ "day": "mon", "start": "09:00", "end": "17:00" }] } })).await;
        let us = rep(&srv, "us@example.com", json!({ "territories": [{ "country": "US" }], "working_hours": always() })).await;
        let (_, team) = srv.send(srv.post("/api/v1/teams").json(&json!({ "name": "Inside sales", "member_ids": [uk, full, asleep, us] }))).await;
        let team_id = team["id"].as_str().unwrap();

        let (status, body) = srv.send(srv.client.put(srv.url("/api/v1/routing")).bearer_auth(&srv.token).json(&json!({ "rules": [
            { "id": "uk", "name": "UK by territory", "conditions": [{ "field": "country", "op": "eq", "value": "GB" }],
              "target": { "type": "team", "team_id": "no-such-team", "strategy": "territory" } }
        ] }))).await;
        assert_error(status, &body, 422, "invalid_routing_rules");
        let rules = json!({ "rules": [
            { "id": "uk", "name": "UK by territory", "conditions": [{ "field": "country", "op": "eq", "value": "GB" }],
              "target": { "type": "team", "team_id": team_id, "strategy": "territory" } },
            { "id": "rest", "name": "Everyone else", "conditions": [],
              "target": { "type": "team", "team_id": team_id, "strategy": "weighted_round_robin" } }
        ] });
        let (status, body) = srv.send(srv.client.put(srv.url("/api/v1/routing")).bearer_auth(&srv.token).json(&rules)).await;
        assert_eq!(status, StatusCode::OK, "{body}");

        // A UK "call me" lead: sales-ready, so it is routed at once, by the UK rule.
        let (_, lead) = srv.create_lead(json!({ "email": "buyer@shop.example", "country": "United Kingdom" })).await;
        let id = lead["lead"]["id"].as_str().unwrap();
        let (status, q) = srv.send(srv.client.put(srv.url(&format!("/api/v1/leads/{id}/answers"))).bearer_auth(&srv.token)
            .json(&json!({ "answers": { "asked_to_be_contacted": "yes" } }))).await;
        assert_eq!(status, StatusCode::OK, "{q}");
        assert_eq!(q["owner_id"], uk.as_str(), "{q}");
        let (_, timeline) = srv.send(srv.get(&format!("/api/v1/leads/{id}/timeline"))).await;
        let routed = timeline["events"].as_array().unwrap().iter().find(|e| e["kind"] == "routed").unwrap().clone();
        assert_eq!(routed["payload"]["rule_id"], "uk");
        let why = routed["payload"]["explanation"].to_string();
        assert!(why.contains("at capacity"), "the full rep was skipped and said so: {why}");
        assert!(why.contains("outside working hours"), "the sleeping rep was skipped and said so: {why}");

        // A newsletter signup is not sales-ready and reaches no rep.
        let (_, lead) = srv.create_lead(json!({ "email": "reader@gmail.com", "country": "GB" })).await;
        let reader = lead["lead"]["id"].as_str().unwrap();
        srv.send(srv.post(&format!("/api/v1/leads/{reader}/events")).json(&json!({ "type": "email_opened" }))).await;
        let (_, q) = srv.send(srv.get(&format!("/api/v1/leads/{reader}/qualification"))).await;
        assert!(q["owner_id"].is_null(), "{q}");

        // A US lead falls through to the catch-all and lands on an eligible rep.
        let (_, lead) = srv.create_lead(json!({ "email": "us.buyer@corp.example", "country": "US" })).await;
        let us_lead = lead["lead"]["id"].as_str().unwrap();
        let (status, routed) = srv.send(srv.post(&format!("/api/v1/leads/{us_lead}/route"))).await;
        assert_eq!(status, StatusCode::OK, "{routed}");
        assert_eq!(routed["rule_id"], "rest");
        assert!(routed["owner_id"] == uk.as_str() || routed["owner_id"] == us.as_str(), "{routed}");
    }
}
