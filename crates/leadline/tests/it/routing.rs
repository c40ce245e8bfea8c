//! Routing in use: a sales-ready lead gets an owner by rule; everyone else does not.

use crate::backend_tests;
use crate::harness::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn rep(srv: &TestServer, email: &str, body: Value) -> String {
    srv.user(email, "rep", body).await
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
        srv.set_routing(rules).await;

        // A UK "call me" lead: sales-ready, so it is routed at once, by the UK rule.
        let (_, lead) = srv.create_lead(json!({ "email": "buyer@shop.example.com", "country": "United Kingdom" })).await;
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
        let (_, lead) = srv.create_lead(json!({ "email": "us.buyer@corp.example.com", "country": "US" })).await;
        let us_lead = lead["lead"]["id"].as_str().unwrap();
        let (status, routed) = srv.send(srv.post(&format!("/api/v1/leads/{us_lead}/route"))).await;
        assert_eq!(status, StatusCode::OK, "{routed}");
        assert_eq!(routed["rule_id"], "rest");
        assert!(routed["owner_id"] == uk.as_str() || routed["owner_id"] == us.as_str(), "{routed}");
    }
}

const MINUTE: i64 = 60_000;
backend_tests! {
    async fn sla_escalation(srv: TestServer) {
        let (_, manager) = srv
            .send(
                srv.post("/api/v1/users").json(
                    &json!({ "email": "boss@example.com", "name": "Boss", "role": "manager" }),
                ),
            )
            .await;
        let a = rep(&srv, "a@example.com", json!({ "working_hours": always() })).await;
        let b = rep(&srv, "b@example.com", json!({ "working_hours": always() })).await;
        let (_, team) = srv
            .send(srv.post("/api/v1/teams").json(
                &json!({ "name": "Closers", "manager_id": manager["id"], "member_ids": [a, b] }),
            ))
            .await;
        let rules = json!({ "rules": [{ "id": "all", "name": "Everyone", "conditions": [],
            "target": { "type": "team", "team_id": team["id"], "strategy": "weighted_round_robin" } }] });
        srv.set_routing(rules).await;

        let (_, lead) = srv
            .create_lead(
                json!({ "email": "now@buyer.example.com", "channel": "web_form", "source": "Website" }),
            )
            .await;
        let id = lead["lead"]["id"].as_str().unwrap().to_string();
        let (_, q) = srv
            .send(
                srv.client
                    .put(srv.url(&format!("/api/v1/leads/{id}/answers")))
                    .bearer_auth(&srv.token)
                    .json(&json!({ "answers": { "asked_to_be_contacted": "yes" } })),
            )
            .await;
        let first_owner = q["owner_id"].as_str().unwrap().to_string();

        srv.clock.advance(4 * MINUTE);
        let run = srv.app.run_sla().await.unwrap();
        assert!(
            run.escalated.is_empty() && run.rerouted.is_empty(),
            "{run:?}"
        );

        srv.clock.advance(MINUTE + 1);
        let run = srv.app.run_sla().await.unwrap();
        assert_eq!(
            run.escalated,
            vec![id.clone()],
            "breached at 5 minutes: the manager hears"
        );
        assert!(run.rerouted.is_empty());
        assert!(
            srv.app.run_sla().await.unwrap().escalated.is_empty(),
            "escalated once"
        );
        let (_, timeline) = srv
            .send(srv.get(&format!("/api/v1/leads/{id}/timeline")))
            .await;
        let breach = timeline["events"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["kind"] == "sla_breached")
            .unwrap()
            .clone();
        assert_eq!(breach["payload"]["manager_id"], manager["id"]);
        assert_eq!(breach["payload"]["owner_id"], first_owner.as_str());

        srv.clock.advance(10 * MINUTE);
        let run = srv.app.run_sla().await.unwrap();
        assert_eq!(run.rerouted, vec![id.clone()], "re-routed at 15 minutes");
        let (_, q) = srv
            .send(srv.get(&format!("/api/v1/leads/{id}/qualification")))
            .await;
        let second_owner = q["owner_id"].as_str().unwrap().to_string();
        assert_ne!(
            second_owner, first_owner,
            "the next eligible rep, not the one who missed it"
        );

        // The new rep calls within their own five minutes: the clock stops.
        srv.clock.advance(2 * MINUTE);
        srv.send(
            srv.post(&format!("/api/v1/leads/{id}/touches"))
                .json(&json!({ "kind": "connected_call" })),
        )
        .await;
        srv.clock.advance(60 * MINUTE);
        let run = srv.app.run_sla().await.unwrap();
        assert!(
            run.escalated.is_empty() && run.rerouted.is_empty(),
            "{run:?}"
        );
        let (_, timeline) = srv
            .send(srv.get(&format!("/api/v1/leads/{id}/timeline")))
            .await;
        assert_eq!(
            timeline["events"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| e["kind"] == "routed")
                .count(),
            2
        );
    }
}

backend_tests! {
    async fn request_a_call(srv: TestServer) {
        let uk = rep(
            &srv,
            "uk.rep@example.com",
            json!({ "territories": [{ "country": "GB" }], "working_hours": always() }),
        )
        .await;
        let other = rep(
            &srv,
            "de.rep@example.com",
            json!({ "territories": [{ "country": "DE" }], "working_hours": always() }),
        )
        .await;
        let (_, team) = srv
            .send(
                srv.post("/api/v1/teams")
                    .json(&json!({ "name": "Field", "member_ids": [uk, other] })),
            )
            .await;
        let rules = json!({ "rules": [{ "id": "territory", "name": "By territory", "conditions": [],
            "target": { "type": "team", "team_id": team["id"], "strategy": "territory" } }] });
        srv.set_routing(rules).await;

        let call = srv
            .create_form(
                json!({ "name": "Request a call", "source": "Website", "fields": [
            { "name": "first_name", "label": "Name", "required": true },
            { "name": "email", "label": "E-mail", "required": true },
            { "name": "country", "label": "Country" },
            { "name": "answers.asked_to_be_contacted", "label": "Please call me" }
        ] }),
            )
            .await;
        let key = call["key"].as_str().unwrap();
        let token = srv.form_token(key).await;
        let response = srv
            .client
            .post(srv.url(&format!("/f/{key}")))
            .form(&[
                ("_ts", token.as_str()),
                ("first_name", "Harriet"),
                ("email", "harriet@buyer.co.uk"),
                ("country", "UK"),
                ("answers.asked_to_be_contacted", "on"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        srv.app.settle().await;
        let (_, list) = srv
            .send(srv.get("/api/v1/leads?email=harriet%40buyer.co.uk"))
            .await;
        let id = list["leads"][0]["id"].as_str().unwrap();
        let (_, q) = srv
            .send(srv.get(&format!("/api/v1/leads/{id}/qualification")))
            .await;
        assert_eq!(
            q["owner_id"],
            uk.as_str(),
            "routed by territory to the UK rep: {q}"
        );
        assert_ne!(
            q["stage"], "nurture",
            "a contact request is routed, not nurtured: {q}"
        );
        assert_eq!(q["answers"]["asked_to_be_contacted"], "yes");

        let (status, body) = srv
            .send(
                srv.post("/api/v1/forms")
                    .json(&json!({ "name": "Bad", "source": "S",
            "fields": [{ "name": "answers.favourite_colour", "label": "x" }] })),
            )
            .await;
        assert_eq!(
            assert_error(status, &body, 422, "unknown_field")["field"],
            "fields[0].name"
        );
    }
}

backend_tests! {
    async fn leads_follow_their_account_owner(srv: TestServer) {
        let first = srv.rep("first@example.com", json!({})).await;
        let second = srv.rep("second@example.com", json!({})).await;
        let (_, team) = srv.send(srv.post("/api/v1/teams").json(&json!({ "name": "AEs", "member_ids": [first, second] }))).await;
        srv.set_routing(json!({ "rules": [{ "id": "abm", "name": "Account owner first", "conditions": [],
            "target": { "type": "account_owner", "fallback_team_id": team["id"] } }] })).await;

        let route = |email: &'static str| {
            let srv = &srv;
            async move {
                let (_, lead) = srv.create_lead(json!({ "email": email, "company": "Globex" })).await;
                let id = lead["lead"]["id"].as_str().unwrap().to_string();
                let (status, routed) = srv.send(srv.post(&format!("/api/v1/leads/{id}/route"))).await;
                assert_eq!(status, StatusCode::OK, "{routed}");
                (lead["lead"]["account_id"].as_str().unwrap().to_string(), routed)
            }
        };
        // Nobody owns Globex yet: the fallback team decides, and that rep now owns it.
        let (account, routed) = route("ceo@globex.example.com").await;
        let owner = routed["owner_id"].as_str().unwrap().to_string();
        let (_, acct) = srv.send(srv.get(&format!("/api/v1/accounts/{account}"))).await;
        assert_eq!(acct["owner_id"], owner.as_str(), "{acct}");
        // Round robin alone would alternate; the account keeps its leads together.
        for email in ["cfo@globex.example.com", "cto@globex.example.com"] {
            let (same, routed) = route(email).await;
            assert_eq!(same, account);
            assert_eq!(routed["owner_id"], owner.as_str(), "{routed}");
            assert!(routed["explanation"].to_string().contains("account"), "{routed}");
        }
        // A manager hands the account over.
        let other = if owner == first { &second } else { &first };
        let (status, acct) = srv.send(srv.client.put(srv.url(&format!("/api/v1/accounts/{account}/owner")))
            .bearer_auth(&srv.token).json(&json!({ "owner_id": other }))).await;
        assert_eq!((status, &acct["owner_id"]), (StatusCode::OK, &json!(other)), "{acct}");
        let (_, routed) = route("coo@globex.example.com").await;
        assert_eq!(routed["owner_id"], other.as_str());

        let admin = srv.app.default_admin().await.unwrap().id;
        for (owner, code, status) in [(json!(admin), "not_a_rep", 422), (json!("nobody"), "not_a_rep", 422)] {
            let (s, body) = srv.send(srv.client.put(srv.url(&format!("/api/v1/accounts/{account}/owner")))
                .bearer_auth(&srv.token).json(&json!({ "owner_id": owner }))).await;
            assert_error(s, &body, status, code);
        }
        let (s, body) = srv.send(srv.client.put(srv.url("/api/v1/accounts/nope/owner"))
            .bearer_auth(&srv.token).json(&json!({ "owner_id": null }))).await;
        assert_error(s, &body, 404, "account_not_found");
    }
}
