//! Acknowledged means durable: a "request a call" submission that got its "thank you"
//! is answered, scored and routed exactly once — also when the server that took it
//! stopped right after, when two servers sweep at once, when the visitor wrote the
//! answers in their own words, and when a follow-up keeps failing (retried, then shown
//! on the lead's timeline).

use crate::backend_tests;
use crate::harness::*;
use leadline_service::followups::{LEASE_MS, RETRY};
use leadline_service::App;
use leadline_store::Db;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// A rep who takes every lead, and a "request a call" form; returns the rep and the key.
async fn call_form(srv: &TestServer) -> (String, String) {
    let rep = srv.rep("rae@seller.example.com", json!({})).await;
    srv.set_routing(
        json!({ "rules": [{ "id": "all", "name": "All to Rae", "conditions": [],
        "target": { "type": "rep", "rep_id": rep } }] }),
    )
    .await;
    let form = srv
        .create_form(
            json!({ "name": "Request a call", "source": "Website", "fields": [
            { "name": "email", "label": "E-mail", "required": true },
            { "name": "answers.asked_to_be_contacted", "label": "Shall we call you?" },
            { "name": "answers.timeframe", "label": "When do you plan to buy?" }
        ] }),
        )
        .await;
    (rep, form["key"].as_str().unwrap().to_string())
}

async fn submit(srv: &TestServer, key: &str, fields: &[(&str, &str)]) {
    let token = srv.form_token(key).await;
    let mut form = vec![("_ts", token.as_str())];
    form.extend_from_slice(fields);
    let response = srv
        .client
        .post(srv.url(&format!("/f/{key}")))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "the visitor is thanked");
}

async fn lead_id(srv: &TestServer, email: &str) -> String {
    let (_, list) = srv
        .send(srv.get(&format!("/api/v1/leads?email={email}")))
        .await;
    let leads = list["leads"].as_array().unwrap();
    assert_eq!(leads.len(), 1, "{email} captured once: {list}");
    leads[0]["id"].as_str().unwrap().to_string()
}

async fn qualification(srv: &TestServer, id: &str) -> Value {
    srv.send(srv.get(&format!("/api/v1/leads/{id}/qualification")))
        .await
        .1
}

async fn kinds(srv: &TestServer, id: &str) -> Vec<String> {
    let (_, timeline) = srv
        .send(srv.get(&format!("/api/v1/leads/{id}/timeline")))
        .await;
    timeline["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect()
}

fn count(kinds: &[String], kind: &str) -> usize {
    kinds.iter().filter(|k| *k == kind).count()
}

/// Another server on the same database and clock.
async fn second_server(srv: &TestServer) -> App {
    App::new(Db::connect(&srv.db_url).await.unwrap(), srv.clock.clone())
}

backend_tests! {
    async fn a_stopped_servers_followups_are_done_once_by_the_next(srv: TestServer) {
        let (rep, key) = call_form(&srv).await;
        // The server acknowledges, then does nothing more: as if killed right after.
        srv.app.set_in_memory_followups(false);
        let next = second_server(&srv).await;
        let emails: Vec<String> = (0..5).map(|i| format!("caller{i}@buyer.example.com")).collect();
        for (i, email) in emails.iter().enumerate() {
            submit(&srv, &key, &[("email", email), ("answers.asked_to_be_contacted", "yes"), ("answers.timeframe", "now")]).await;
            if i == 0 {
                assert_eq!(next.run_due_followups().await.unwrap(), 0, "held by the first server for its lease");
            }
        }
        for email in &emails {
            let id = lead_id(&srv, email).await;
            assert!(qualification(&srv, &id).await["owner_id"].is_null(), "not routed yet");
        }
        srv.clock.advance(LEASE_MS + 1);
        assert_eq!(next.run_due_followups().await.unwrap(), emails.len());
        assert_eq!(next.run_due_followups().await.unwrap(), 0, "nothing left");
        for email in &emails {
            let id = lead_id(&srv, email).await;
            let q = qualification(&srv, &id).await;
            assert_eq!(q["owner_id"], rep.as_str(), "{q}");
            assert_eq!(q["answers"]["asked_to_be_contacted"], "yes", "{q}");
            assert_eq!(q["answers"]["timeframe"], "now", "{q}");
            let kinds = kinds(&srv, &id).await;
            assert_eq!(count(&kinds, "routed"), 1, "{kinds:?}");
            assert_eq!(count(&kinds, "qualification_changed"), 1, "{kinds:?}");
        }
    }

    async fn followups_raced_by_two_servers_are_done_once(srv: TestServer) {
        let (_, key) = call_form(&srv).await;
        srv.app.set_in_memory_followups(false);
        let emails: Vec<String> = (0..30).map(|i| format!("race{i}@buyer.example.com")).collect();
        for email in &emails {
            submit(&srv, &key, &[("email", email), ("answers.asked_to_be_contacted", "yes")]).await;
        }
        srv.clock.advance(LEASE_MS + 1);
        // Two sweepers, and the first server's own worker catching up, all at once.
        let (a, b) = (second_server(&srv).await, second_server(&srv).await);
        let staged = {
            let mut staged = Vec::new();
            for email in &emails[..10] {
                let id = lead_id(&srv, email).await;
                let answers = BTreeMap::from([("need".to_string(), Some("yes".to_string()))]);
                staged.push(srv.app.record_followup(&id, "form:late", &answers).await.unwrap());
            }
            staged
        };
        srv.clock.advance(LEASE_MS + 1);
        let (ra, rb, _) = tokio::join!(a.run_due_followups(), b.run_due_followups(), srv.app.run_followups(&staged));
        let claimed = ra.unwrap() + rb.unwrap();
        assert!(claimed <= emails.len() + staged.len(), "{claimed}");
        while a.run_due_followups().await.unwrap() > 0 {}
        for (i, email) in emails.iter().enumerate() {
            let id = lead_id(&srv, email).await;
            let kinds = kinds(&srv, &id).await;
            assert_eq!(count(&kinds, "routed"), 1, "{email}: {kinds:?}");
            let expected = if i < 10 { 2 } else { 1 };
            assert_eq!(count(&kinds, "qualification_changed"), expected, "{email}: {kinds:?}");
        }
    }

    async fn answers_in_the_visitors_own_words_route_the_call_request(srv: TestServer) {
        let (rep, key) = call_form(&srv).await;
        submit(&srv, &key, &[("email", "words@buyer.example.com"),
            ("answers.asked_to_be_contacted", "sure, call me"), ("answers.timeframe", "next quarter")]).await;
        submit(&srv, &key, &[("email", "vague@buyer.example.com"),
            ("answers.asked_to_be_contacted", "not sure yet"), ("answers.timeframe", "when the budget is approved")]).await;
        srv.app.settle().await;

        let id = lead_id(&srv, "words@buyer.example.com").await;
        let q = qualification(&srv, &id).await;
        assert_eq!(q["owner_id"], rep.as_str(), "routed: {q}");
        assert_eq!(q["answers"]["asked_to_be_contacted"], "yes", "{q}");
        assert_eq!(q["answers"]["timeframe"], "6_months", "{q}");
        assert_eq!(q["answer_texts"]["asked_to_be_contacted"], "sure, call me", "{q}");
        assert_eq!(q["answer_texts"]["timeframe"], "next quarter", "{q}");

        // What cannot be read is "unknown", with the words kept; the lead is not
        // routed (it did not ask) but nurtured, and nothing failed.
        let id = lead_id(&srv, "vague@buyer.example.com").await;
        let q = qualification(&srv, &id).await;
        assert!(q["owner_id"].is_null(), "{q}");
        assert_eq!(q["answers"]["timeframe"], "unknown", "{q}");
        assert_eq!(q["answer_texts"]["timeframe"], "when the budget is approved", "{q}");
        assert_eq!(q["stage"], "nurture", "{q}");
        let kinds = kinds(&srv, &id).await;
        assert_eq!(count(&kinds, "followup_failed"), 0, "{kinds:?}");
        assert_eq!(srv.app.run_due_followups().await.unwrap(), 0, "no follow-up left behind");

        // The API stays exact: free text there is refused with the field named.
        let (status, body) = srv.send(srv.client.put(srv.url(&format!("/api/v1/leads/{id}/answers")))
            .bearer_auth(&srv.token).json(&json!({ "answers": { "timeframe": "next quarter" } }))).await;
        let error = assert_error(status, &body, 422, "invalid_answer");
        assert_eq!(error["field"], "answers.timeframe");
    }

    async fn a_failing_followup_is_retried_then_shown_on_the_timeline(srv: TestServer) {
        let (_, lead) = srv.create_lead(json!({ "email": "doomed@buyer.example.com" })).await;
        let id = lead["lead"]["id"].as_str().unwrap().to_string();
        // A question no lead can answer makes every attempt fail.
        let answers = BTreeMap::from([("budget".to_string(), Some("yes".to_string()))]);
        let followup = srv.app.record_followup(&id, "form:test", &answers).await.unwrap();
        srv.app.run_followups(std::slice::from_ref(&followup)).await;
        assert_eq!(count(&kinds(&srv, &id).await, "followup_failed"), 0, "one failure is retried, not final");
        assert_eq!(srv.app.run_due_followups().await.unwrap(), 0, "it waits out its backoff");

        let mut attempts = 1;
        while attempts < RETRY.max_attempts {
            srv.clock.advance(RETRY.max_delay_ms * 2);
            assert_eq!(srv.app.run_due_followups().await.unwrap(), 1, "attempt {}", attempts + 1);
            attempts += 1;
        }
        srv.clock.advance(RETRY.max_delay_ms * 2);
        assert_eq!(srv.app.run_due_followups().await.unwrap(), 0, "given up after the last attempt");

        let (_, timeline) = srv.send(srv.get(&format!("/api/v1/leads/{id}/timeline"))).await;
        let failed: Vec<&Value> = timeline["events"].as_array().unwrap().iter().filter(|e| e["kind"] == "followup_failed").collect();
        assert_eq!(failed.len(), 1, "{timeline}");
        assert_eq!(failed[0]["payload"]["attempts"], RETRY.max_attempts);
        let error = failed[0]["payload"]["error"].as_str().unwrap();
        assert!(error.contains("budget"), "the reason names the problem: {error}");
    }
}
