//! Work done in groups under load: captures that arrive together share a transaction,
//! and queued form follow-ups share one too. Each item still gets its own outcome, and
//! one failing item never takes the others down.

use crate::backend_tests;
use crate::harness::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashSet};

backend_tests! {
    async fn captures_arriving_together_each_get_their_own_outcome(srv: TestServer) {
        // Thirty people, one of them five times over, and five rows no one could use,
        // all sent at once.
        let mut bodies = Vec::new();
        for n in 0..30 {
            bodies.push(json!({ "first_name": format!("Person {n}"), "email": format!("p{n}@group.example.com"), "source": "Burst" }));
        }
        for n in 0..5 {
            bodies.push(json!({ "first_name": "Repeat", "last_name": format!("Visit {n}"), "email": "repeat@group.example.com", "source": "Burst" }));
        }
        for n in 0..5 {
            bodies.push(json!({ "first_name": format!("=HYPERLINK(\"x\",{n})"), "email": "not an address", "source": "Burst" }));
        }
        let answers: Vec<(StatusCode, Value)> =
            futures::future::join_all(bodies.iter().map(|b| srv.create_lead(b.clone()))).await;

        let mut repeat_ids = HashSet::new();
        let mut created = 0;
        for (body, (status, answer)) in bodies.iter().zip(&answers) {
            match body["email"].as_str().unwrap() {
                "not an address" => {
                    assert_eq!(*status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
                    assert_eq!(answer["error"]["field"], "email", "{answer}");
                }
                "repeat@group.example.com" => {
                    assert!(status.is_success(), "{answer}");
                    repeat_ids.insert(answer["lead"]["id"].as_str().unwrap().to_string());
                    created += usize::from(*status == StatusCode::CREATED);
                }
                email => {
                    assert_eq!(*status, StatusCode::CREATED, "{answer}");
                    assert_eq!(answer["lead"]["email"], email);
                    created += 1;
                }
            }
        }
        // The repeats found one another: one lead, created once and merged into four times.
        assert_eq!(repeat_ids.len(), 1, "{repeat_ids:?}");
        assert_eq!(created, 31);
        let (_, list) = srv.send(srv.get("/api/v1/leads?limit=100")).await;
        assert_eq!(list["leads"].as_array().unwrap().len(), 31, "{list}");
    }

    async fn a_failing_follow_up_does_not_undo_the_others_in_its_batch(srv: TestServer) {
        let rep = srv.rep("rae@group.example.com", json!({ "working_hours": always() })).await;
        srv.set_routing(json!({ "rules": [
            { "id": "all", "name": "Everyone to Rae", "conditions": [], "target": { "type": "rep", "rep_id": rep } }
        ] })).await;
        let mut ids = Vec::new();
        for name in ["Ada", "Bea", "Cy", "Di"] {
            let (status, body) = srv.create_lead(json!({ "first_name": name, "email": format!("{name}@group.example.com"), "source": "Web" })).await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
            ids.push(body["lead"]["id"].as_str().unwrap().to_string());
        }
        let answers = BTreeMap::from([("asked_to_be_contacted".to_string(), Some("yes".to_string()))]);
        let mut followups = Vec::new();
        for lead_id in [&ids[2], &ids[3], &ids[0], "01JNOSUCHLEAD0000000000000", &ids[1]] {
            followups.push(srv.app.record_followup(lead_id, "form:test", &answers).await.unwrap());
        }
        // A batch that succeeds is written with one statement per table.
        srv.app.run_followups(&followups[..2]).await;
        // In this one the middle follow-up names a lead that does not exist, so the
        // batch's transaction fails; each is then done on its own.
        srv.app.run_followups(&followups[2..]).await;
        // Run again, nothing is done twice: the rows are gone.
        srv.app.run_followups(&followups).await;

        for id in &ids {
            let (_, q) = srv.send(srv.get(&format!("/api/v1/leads/{id}/qualification"))).await;
            assert_eq!(q["owner_id"], rep.as_str(), "{q}");
            let (_, timeline) = srv.send(srv.get(&format!("/api/v1/leads/{id}/timeline"))).await;
            let kinds: Vec<&str> = timeline["events"]
                .as_array()
                .unwrap_or_else(|| panic!("{timeline}"))
                .iter()
                .map(|e| e["kind"].as_str().unwrap())
                .collect();
            // Done exactly once: the failed batch left nothing behind.
            assert_eq!(kinds.iter().filter(|k| **k == "routed").count(), 1, "{kinds:?}");
            assert_eq!(kinds.iter().filter(|k| **k == "qualification_changed").count(), 1, "{kinds:?}");
        }
    }
}
