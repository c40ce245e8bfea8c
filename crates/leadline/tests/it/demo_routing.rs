//! The demo has a sales team whose hours cover the clock: whenever a newcomer tries it,
//! a sales-ready lead is routed to a rep.

use crate::backend_tests;
use crate::harness::*;
use leadline_service::demo::DemoSummary;
use reqwest::StatusCode;
use serde_json::json;
use std::collections::{BTreeSet, HashMap};

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;

backend_tests! {
    async fn a_demo_call_request_is_routed_at_any_hour(srv: TestServer) {
        let summary = srv.app.load_demo(42, 150).await.unwrap();
        let DemoSummary::Loaded { users, teams, call_form_key, .. } = summary else { panic!("{summary}") };
        assert_eq!((users, teams), (11, 5));
        let (_, routing) = srv.send(srv.get("/api/v1/routing")).await;
        assert_eq!(routing["rules"].as_array().unwrap().len(), 5, "{routing}");
        let (_, list) = srv.send(srv.get("/api/v1/users")).await;
        let names: HashMap<String, String> = list["users"].as_array().unwrap().iter()
            .map(|u| (u["id"].as_str().unwrap().to_string(), u["email"].as_str().unwrap().to_string())).collect();

        // The visitor's way in: the demo's "Request a call" form, on a Sunday morning (T0).
        let token = srv.form_token(&call_form_key).await;
        let response = srv.client.post(srv.url(&format!("/f/{call_form_key}"))).form(&[
            ("_ts", token.as_str()), ("full_name", "Rosa Diaz"), ("email", "rosa@buyer.example.com"),
            ("phone", "+44 20 7946 0123"), ("country", "United Kingdom"), ("answers.asked_to_be_contacted", "yes"),
        ]).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        srv.app.settle().await;
        let (_, found) = srv.send(srv.get("/api/v1/leads?email=rosa%40buyer.example.com")).await;
        let id = found["leads"][0]["id"].as_str().unwrap();
        let (_, q) = srv.send(srv.get(&format!("/api/v1/leads/{id}/qualification"))).await;
        let owner = q["owner_id"].as_str().unwrap_or_else(|| panic!("routed: {q}"));
        assert!(names[owner].starts_with("sam.okafor") || names[owner].starts_with("ines.duarte"), "Sunday: the weekend team, {}", names[owner]);

        // Through a whole week, at odd times, from everywhere: always someone.
        let mut owners = BTreeSet::new();
        let countries = ["GB", "DE", "US", "JP", "ZA", ""];
        for step in 0..52 {
            let at = T0 + step * (3 * HOUR + 17 * MINUTE);
            srv.clock.set(at);
            let country = countries[step as usize % countries.len()];
            let mut lead = json!({ "email": format!("buyer{step}@company{step}.example.com"), "first_name": "Buyer" });
            if !country.is_empty() {
                lead["country"] = json!(country);
            }
            let (status, created) = srv.create_lead(lead).await;
            assert_eq!(status, StatusCode::CREATED, "{created}");
            let id = created["lead"]["id"].as_str().unwrap();
            let (status, q) = srv.send(srv.client.put(srv.url(&format!("/api/v1/leads/{id}/answers"))).bearer_auth(&srv.token)
                .json(&json!({ "answers": { "asked_to_be_contacted": "yes" } }))).await;
            assert_eq!(status, StatusCode::OK, "{q}");
            let owner = q["owner_id"].as_str().unwrap_or_else(|| panic!("a lead from {country:?} at T0 + {} min was not routed: {q}", (at - T0) / MINUTE));
            owners.insert(names[owner].split('@').next().unwrap().to_string());
        }
        // Every shift took its turn: London, New York, Singapore and the weekend team.
        for team in [["oliver.grant", "lena.fischer"], ["jordan.ellis", "sofia.ramirez"], ["arjun.mehta", "hana.sato"], ["sam.okafor", "ines.duarte"]] {
            assert!(team.iter().any(|rep| owners.contains(*rep)), "{team:?} got none: {owners:?}");
        }

        // Loading again into the now populated database changes nothing.
        assert!(matches!(srv.app.load_demo(42, 150).await.unwrap(), DemoSummary::Skipped { .. }));
    }
}
