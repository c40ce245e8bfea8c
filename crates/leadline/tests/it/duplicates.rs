//! The duplicates review queue (issue 10): every possible duplicate is queued and
//! listed by probability, merged or dismissed from there; dismissals are remembered
//! through re-captures and merges; `leadline dedupe` finds duplicates among stored
//! leads, and every merge it makes can be undone.

use crate::backend_tests;
use crate::harness::*;
use leadline_domain::access::LeadScope;
use leadline_domain::matching::{blocking_keys, MatchRecord};
use leadline_domain::normalize::{normalize_lead, NormalizeOptions};
use leadline_domain::LeadInput;
use leadline_service::dedupe::DedupeOptions;
use leadline_store::leads::{self, LeadRecord};
use reqwest::multipart::{Form, Part};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// The open queue as the admin sees it.
async fn queue(srv: &TestServer, query: &str) -> Vec<Value> {
    let (status, body) = srv
        .send(srv.get(&format!("/api/v1/duplicates?limit=500{query}")))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["pairs"].as_array().unwrap().clone()
}

fn leads_of(pair: &Value) -> BTreeSet<String> {
    ["lead_a", "lead_b"]
        .iter()
        .map(|k| pair[k]["id"].as_str().unwrap().to_string())
        .collect()
}

fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

async fn create(srv: &TestServer, body: Value) -> String {
    let (status, answer) = srv.create_lead(body).await;
    assert!(status.is_success(), "{answer}");
    answer["lead"]["id"].as_str().unwrap().to_string()
}

async fn created(srv: &TestServer, body: Value) -> Value {
    let (status, answer) = srv.create_lead(body).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    answer
}

/// Robert Chen of Northwind: the three records are possibly, not surely, one person.
fn chen(extra: Value) -> Value {
    let mut person =
        json!({ "first_name": "Robert", "last_name": "Chen", "company": "Northwind Traders Inc" });
    person
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    person
}

async fn import_csv(srv: &TestServer, csv: &str, source: &str) -> Value {
    let form = Form::new()
        .part(
            "file",
            Part::bytes(csv.as_bytes().to_vec()).file_name("list.csv"),
        )
        .text("source", source.to_string());
    let (status, job) = srv.send(srv.post("/api/v1/imports").multipart(form)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let (_, done) = srv
        .send(srv.get(&format!(
            "/api/v1/imports/{}?wait=60",
            job["id"].as_str().unwrap()
        )))
        .await;
    assert_eq!(done["status"], "completed", "{done}");
    done
}

/// Leads as an import without matching would leave them: stored with their blocking
/// keys, compared with nothing.
async fn store_unmatched(app: &leadline_service::App, people: &[Value], at: i64) -> Vec<String> {
    let mut conn = app.db.begin().await.unwrap();
    let mut ids = Vec::new();
    for (i, person) in people.iter().enumerate() {
        let input: LeadInput = serde_json::from_value(person.clone()).unwrap();
        let fields = normalize_lead(&input, &NormalizeOptions::default()).unwrap();
        let keys = blocking_keys(&MatchRecord::from_lead(&fields));
        let lead = LeadRecord {
            id: leadline_store::new_id(),
            fields,
            stage: "new".into(),
            account_id: None,
            source_id: None,
            campaign_id: None,
            possible_duplicate_of: None,
            merged_into: None,
            created_at: at + i as i64,
            updated_at: at + i as i64,
        };
        leads::insert_many(&mut conn, std::slice::from_ref(&lead))
            .await
            .unwrap();
        let keys: Vec<(String, String)> = keys.into_iter().map(|k| (k, lead.id.clone())).collect();
        leads::insert_match_keys(&mut conn, &keys).await.unwrap();
        ids.push(lead.id);
    }
    conn.commit().await.unwrap();
    ids
}

backend_tests! {
    async fn every_possible_candidate_is_queued_and_ranked(srv: TestServer) {
        let srv = &srv;
        let a = create(srv, chen(json!({ "email": "rchen@northwind.example.com", "title": "CFO" }))).await;
        srv.clock.advance(1000);
        let b = created(srv, chen(json!({ "phone": "+1 650 253 0000" }))).await;
        let b_id = b["lead"]["id"].as_str().unwrap().to_string();
        assert_eq!(b["possible_duplicate_of"], a.as_str(), "{b}");
        srv.clock.advance(1000);
        // A third record possibly the same as both: the queue holds both pairs, where
        // the lead's one flag can name only one of them.
        let c = created(srv, chen(json!({ "country": "US", "city": "Seattle" }))).await;
        let c_id = c["lead"]["id"].as_str().unwrap().to_string();
        let flagged = c["possible_duplicate_of"].as_str().unwrap();
        assert!(flagged == a || flagged == b_id, "{c}");

        let pairs = queue(srv, "").await;
        let found: Vec<BTreeSet<String>> = pairs.iter().map(leads_of).collect();
        for want in [set(&[&a, &b_id]), set(&[&a, &c_id]), set(&[&b_id, &c_id])] {
            assert!(found.contains(&want), "{want:?} is queued: {pairs:?}");
        }
        assert_eq!(pairs.len(), 3, "{pairs:?}");
        let probabilities: Vec<f64> = pairs.iter().map(|p| p["probability"].as_f64().unwrap()).collect();
        assert!(probabilities.windows(2).all(|w| w[0] >= w[1]), "ranked: {probabilities:?}");
        for p in &pairs {
            assert_eq!(p["status"], "open");
            assert_eq!(p["found_by"], "capture");
            let prob = p["probability"].as_f64().unwrap();
            assert!(prob > 0.0 && prob < 1.0, "{p}");
            // The evidence explains the score, field by field.
            let comparisons = p["evidence"]["comparison"]["comparisons"].as_array().unwrap();
            let sum: f64 = comparisons.iter().map(|c| c["weight"].as_f64().unwrap()).sum();
            assert!((sum - p["evidence"]["comparison"]["score"].as_f64().unwrap()).abs() < 1e-6, "{p}");
            assert!(comparisons.iter().any(|c| c["field"] == "last_name" && c["outcome"] == "agree"), "{p}");
            assert!(p["lead_a"]["created_at"].as_i64() <= p["lead_b"]["created_at"].as_i64(), "older first: {p}");
            assert_eq!(p["lead_a"]["last_name"], "Chen");
        }
        // The a–b pair shows both leads' contact details.
        let ab = pairs.iter().find(|p| leads_of(p) == set(&[&a, &b_id])).unwrap();
        assert_eq!(ab["lead_a"]["email"], "rchen@northwind.example.com");
        assert_eq!(ab["lead_b"]["phone"], "+16502530000");

        // Paging walks the same ranking.
        let (_, first) = srv.send(srv.get("/api/v1/duplicates?limit=2")).await;
        assert_eq!(first["pairs"].as_array().unwrap().len(), 2);
        let cursor = first["next_cursor"].as_str().unwrap();
        let (_, rest) = srv.send(srv.get(&format!("/api/v1/duplicates?limit=2&cursor={cursor}"))).await;
        assert!(rest["next_cursor"].is_null(), "{rest}");
        let mut paged: Vec<Value> = first["pairs"].as_array().unwrap().clone();
        paged.extend(rest["pairs"].as_array().unwrap().iter().cloned());
        let ids = |v: &[Value]| v.iter().map(|p| p["id"].clone()).collect::<Vec<_>>();
        assert_eq!(ids(&paged), ids(&pairs));
        // A floor on the probability.
        let top = probabilities[0];
        let strong = queue(srv, &format!("&min_probability={top}")).await;
        assert!(!strong.is_empty() && strong.iter().all(|p| p["probability"].as_f64().unwrap() >= top));
    }

    async fn a_record_surely_matching_two_leads_queues_them_as_a_pair(srv: TestServer) {
        let srv = &srv;
        // Two leads sharing no value: nothing relates them until one record is surely both.
        // The one without a first name carries a date of birth: a surname and a phone
        // alone could be anyone in the household (only possible), the date makes it sure.
        let by_mail = created(srv, json!({ "first_name": "Ines", "email": "ines.moreau@acme.example.com" })).await;
        srv.clock.advance(1000);
        let by_phone = created(srv, json!({ "last_name": "Moreau", "phone": "+33 1 42 68 53 00",
            "date_of_birth": "1984-06-11" })).await;
        let (m, p) = (by_mail["lead"]["id"].as_str().unwrap(), by_phone["lead"]["id"].as_str().unwrap());
        assert!(by_phone["possible_duplicate_of"].is_null(), "{by_phone}");
        assert!(queue(srv, "").await.is_empty());
        srv.clock.advance(1000);
        let record = json!({ "first_name": "Ines", "last_name": "Moreau", "email": "ines.moreau@acme.example.com",
            "phone": "+33 1 42 68 53 00", "date_of_birth": "1984-06-11", "source": "Trade show" });
        let (status, merged) = srv.create_lead(record.clone()).await;
        assert_eq!(status, StatusCode::OK, "{merged}");
        assert_eq!(merged["outcome"], "merged");
        let pairs = queue(srv, "").await;
        assert_eq!(pairs.len(), 1, "{pairs:?}");
        let pair = &pairs[0];
        assert_eq!(leads_of(pair), set(&[m, p]), "{pair}");
        let link = &pair["evidence"]["linked_by"];
        assert!(link.is_object(), "{pair}");
        assert!(link["lead_a"]["probability"].as_f64().unwrap() >= 0.99, "{pair}");
        assert!(link["lead_b"]["probability"].as_f64().unwrap() >= 0.99, "{pair}");
        assert!(pair["probability"].as_f64().unwrap() >= 0.99, "linked surely: {pair}");
        let (_, sources) = srv.send(srv.get("/api/v1/sources")).await;
        let show = sources.as_array().unwrap().iter().find(|s| s["name"] == "Trade show").unwrap();
        assert_eq!(pair["source_id"], show["id"]);

        // "Not the same person" is remembered: the same record again brings nothing back.
        let id = pair["id"].as_str().unwrap();
        let (status, dismissed) = srv.send(srv.post(&format!("/api/v1/duplicates/{id}/dismiss"))).await;
        assert_eq!(status, StatusCode::OK, "{dismissed}");
        assert_eq!(dismissed["status"], "dismissed");
        assert!(dismissed["decided_by"].as_str().unwrap().starts_with("user:"), "{dismissed}");
        srv.clock.advance(1000);
        let (status, again) = srv.create_lead(record).await;
        assert_eq!(status, StatusCode::OK, "{again}");
        assert!(queue(srv, "").await.is_empty(), "the dismissal holds");
        let gone = queue(srv, "&status=dismissed").await;
        assert_eq!(gone.len(), 1);
        assert_eq!(gone[0]["id"], id);
        for lead in [m, p] {
            let (_, timeline) = srv.send(srv.get(&format!("/api/v1/leads/{lead}/timeline"))).await;
            let event = timeline["events"].as_array().unwrap().iter()
                .find(|e| e["kind"] == "duplicate_dismissed")
                .unwrap_or_else(|| panic!("{timeline}"));
            assert_eq!(event["payload"]["pair_id"], id);
        }
        let (status, body) = srv.send(srv.post(&format!("/api/v1/duplicates/{id}/dismiss"))).await;
        assert_error(status, &body, 409, "pair_already_dismissed");
    }

    async fn a_merge_from_the_queue_is_undone_and_the_pair_reopens(srv: TestServer) {
        let srv = &srv;
        let a = create(srv, chen(json!({ "email": "rchen@northwind.example.com" }))).await;
        srv.clock.advance(1000);
        let b = create(srv, chen(json!({ "phone": "+1 650 253 0000", "title": "CFO" }))).await;
        let pairs = queue(srv, "").await;
        assert_eq!(pairs.len(), 1, "{pairs:?}");
        let id = pairs[0]["id"].as_str().unwrap().to_string();
        srv.clock.advance(1000);
        let (status, merged) = srv.send(srv.post(&format!("/api/v1/duplicates/{id}/merge"))).await;
        assert_eq!(status, StatusCode::OK, "{merged}");
        assert_eq!(merged["pair_id"], id.as_str());
        assert_eq!(merged["survivor_id"], a.as_str(), "the older lead survives");
        assert_eq!(merged["merged_id"], b.as_str());
        assert_eq!(merged["lead"]["phone"], "+16502530000", "blanks filled: {merged}");
        assert!(queue(srv, "").await.is_empty());
        let done = queue(srv, "&status=merged").await;
        assert_eq!(done.len(), 1);
        assert_eq!(done[0]["merge_id"], merged["merge_id"]);
        assert_eq!(done[0]["lead_b"]["merged_into"], a.as_str(), "{done:?}");
        let (status, body) = srv.send(srv.post(&format!("/api/v1/duplicates/{id}/merge"))).await;
        assert_error(status, &body, 409, "pair_already_merged");
        let (status, body) = srv.send(srv.post(&format!("/api/v1/duplicates/{id}/dismiss"))).await;
        assert_error(status, &body, 409, "pair_already_merged");

        srv.clock.advance(1000);
        let merge_id = merged["merge_id"].as_str().unwrap();
        let (status, undone) = srv.send(srv.post(&format!("/api/v1/merges/{merge_id}/undo"))).await;
        assert_eq!(status, StatusCode::OK, "{undone}");
        let open = queue(srv, "").await;
        assert_eq!(open.len(), 1, "the pair is open again: {open:?}");
        assert_eq!(open[0]["id"], id.as_str());
        assert!(open[0]["merge_id"].is_null());
        assert_eq!(leads_of(&open[0]), set(&[&a, &b]));

        // The other way round this time: the survivor named.
        srv.clock.advance(1000);
        let (status, merged) = srv.send(srv.post(&format!("/api/v1/duplicates/{id}/merge"))
            .json(&json!({ "survivor_id": b }))).await;
        assert_eq!(status, StatusCode::OK, "{merged}");
        assert_eq!(merged["survivor_id"], b.as_str());
        let (_, gone) = srv.send(srv.get(&format!("/api/v1/leads/{a}"))).await;
        assert_eq!(gone["merged_into"], b.as_str());
    }

    async fn a_dismissal_holds_after_a_lead_is_merged_into_a_third(srv: TestServer) {
        let srv = &srv;
        let a = create(srv, chen(json!({ "email": "rchen@northwind.example.com" }))).await;
        srv.clock.advance(1000);
        let b = create(srv, chen(json!({ "phone": "+1 650 253 0000" }))).await;
        let ab = queue(srv, "").await;
        let ab_id = ab[0]["id"].as_str().unwrap().to_string();
        let (status, _) = srv.send(srv.post(&format!("/api/v1/duplicates/{ab_id}/dismiss"))).await;
        assert_eq!(status, StatusCode::OK);
        let (_, b_lead) = srv.send(srv.get(&format!("/api/v1/leads/{b}"))).await;
        assert!(b_lead["possible_duplicate_of"].is_null(), "the flag goes with the dismissal: {b_lead}");
        srv.clock.advance(1000);
        // A third Robert Chen: possibly either of them.
        let x = create(srv, chen(json!({ "country": "US", "title": "Finance director" }))).await;
        let open: Vec<BTreeSet<String>> = queue(srv, "").await.iter().map(leads_of).collect();
        assert_eq!(open.len(), 2, "{open:?}");
        assert!(open.contains(&set(&[&a, &x])) && open.contains(&set(&[&b, &x])), "{open:?}");
        // b turns out to be x: merged. a was not b, so a is not x either.
        srv.clock.advance(1000);
        let (status, merged) = srv.send(srv.post(&format!("/api/v1/leads/{x}/merge")).json(&json!({ "other_lead_id": b }))).await;
        assert_eq!(status, StatusCode::OK, "{merged}");
        assert!(queue(srv, "").await.is_empty(), "neither the collapsed pair nor a–x comes back");
        let dismissed = queue(srv, "&status=dismissed").await;
        assert_eq!(dismissed.len(), 1);
        assert_eq!(leads_of(&dismissed[0]), set(&[&a, &x]), "the dismissal now holds for x");
        // Nor does a dedupe run merge or queue them.
        let report = srv.app.dedupe(&DedupeOptions { threshold: None, dry_run: false, actor: "test".into() }).await.unwrap();
        assert!(report.merged.is_empty(), "{report:?}");
        assert!(queue(srv, "").await.is_empty(), "{report:?}");
        // Undoing the merge splits b from x again: a–b stays dismissed, b–x is open.
        srv.clock.advance(1000);
        let merge_id = merged["merge_id"].as_str().unwrap();
        let (status, undone) = srv.send(srv.post(&format!("/api/v1/merges/{merge_id}/undo"))).await;
        assert_eq!(status, StatusCode::OK, "{undone}");
        let open: Vec<BTreeSet<String>> = queue(srv, "").await.iter().map(leads_of).collect();
        assert!(open.contains(&set(&[&b, &x])), "{open:?}");
        assert!(!open.contains(&set(&[&a, &b])), "{open:?}");
    }

    async fn reps_and_managers_see_and_decide_only_pairs_of_their_leads(srv: TestServer) {
        let srv = &srv;
        let rep_a = srv.rep("a@seller.example.com", json!({})).await;
        let rep_b = srv.rep("b@seller.example.com", json!({})).await;
        let m1 = srv.user("m1@seller.example.com", "manager", json!({})).await;
        let m2 = srv.user("m2@seller.example.com", "manager", json!({})).await;
        for (name, manager, rep) in [("North", &m1, &rep_a), ("South", &m2, &rep_b)] {
            let (status, body) = srv.send(srv.post("/api/v1/teams")
                .json(&json!({ "name": name, "manager_id": manager, "member_ids": [rep] }))).await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
        }
        let (ta, tb, tm1, tm2) = (srv.token_for(&rep_a).await, srv.token_for(&rep_b).await,
            srv.token_for(&m1).await, srv.token_for(&m2).await);
        let as_user = |token: &str, method: reqwest::Method, path: &str| {
            srv.client.request(method, srv.url(path)).bearer_auth(token.to_string())
        };
        let make = |token: String, body: Value| {
            let request = as_user(&token, reqwest::Method::POST, "/api/v1/leads").json(&body);
            async move {
                let (status, answer) = srv.send(request).await;
                assert_eq!(status, StatusCode::CREATED, "{answer}");
                answer["lead"]["id"].as_str().unwrap().to_string()
            }
        };
        // Rep A's two Chens, and rep B's, each possibly A's too.
        let a1 = make(ta.clone(), chen(json!({ "email": "rchen@northwind.example.com" }))).await;
        srv.clock.advance(1000);
        let a2 = make(ta.clone(), chen(json!({ "phone": "+1 650 253 0000" }))).await;
        srv.clock.advance(1000);
        let b1 = make(tb.clone(), chen(json!({ "country": "US" }))).await;
        assert_eq!(queue(srv, "").await.len(), 3, "the admin sees every pair");
        let listed = |token: String| {
            let request = as_user(&token, reqwest::Method::GET, "/api/v1/duplicates");
            async move {
                let (status, body) = srv.send(request).await;
                assert_eq!(status, StatusCode::OK, "{body}");
                body["pairs"].as_array().unwrap().iter().map(leads_of).collect::<Vec<_>>()
            }
        };
        assert_eq!(listed(ta.clone()).await, vec![set(&[&a1, &a2])], "rep A: only their own pair");
        assert!(listed(tb.clone()).await.is_empty(), "rep B owns one lead of each pair");
        assert_eq!(listed(tm1.clone()).await, vec![set(&[&a1, &a2])]);
        assert!(listed(tm2.clone()).await.is_empty());
        let (_, text) = srv.send(as_user(&tb, reqwest::Method::GET, "/api/v1/duplicates")).await;
        assert!(!text.to_string().contains(&a1), "nothing of A's leads reaches B");

        let pairs = queue(srv, "").await;
        let cross = pairs.iter().find(|p| leads_of(p) == set(&[&a1, &b1])).unwrap()["id"].as_str().unwrap().to_string();
        let own = pairs.iter().find(|p| leads_of(p) == set(&[&a1, &a2])).unwrap()["id"].as_str().unwrap().to_string();
        // Reps do not merge (their role), managers only where they see both leads.
        for action in ["merge", "dismiss"] {
            let path = format!("/api/v1/duplicates/{own}/{action}");
            let (status, body) = srv.send(as_user(&ta, reqwest::Method::POST, &path)).await;
            assert_error(status, &body, 403, "forbidden");
            for token in [&tm1, &tm2] {
                let path = format!("/api/v1/duplicates/{cross}/{action}");
                let (status, body) = srv.send(as_user(token, reqwest::Method::POST, &path)).await;
                assert_error(status, &body, 404, "duplicate_pair_not_found");
                assert!(!body.to_string().contains(&b1) && !body.to_string().contains(&a1), "{body}");
            }
            let path = format!("/api/v1/duplicates/{own}/{action}");
            let (status, body) = srv.send(as_user(&tm2, reqwest::Method::POST, &path)).await;
            assert_error(status, &body, 404, "duplicate_pair_not_found");
        }
        let (status, body) = srv.send(as_user(&tm1, reqwest::Method::POST, &format!("/api/v1/duplicates/{own}/dismiss"))).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        // The owner filter: pairs with a lead of this rep.
        let of_b: Vec<BTreeSet<String>> = queue(srv, &format!("&owner_id={rep_b}")).await.iter().map(leads_of).collect();
        assert_eq!(of_b.len(), 2, "{of_b:?}");
        assert!(of_b.iter().all(|p| p.contains(&b1)), "{of_b:?}");
    }

    async fn the_queue_filters_by_source_and_import(srv: TestServer) {
        let srv = &srv;
        let a = create(srv, chen(json!({ "email": "rchen@northwind.example.com", "source": "Webinar" }))).await;
        srv.clock.advance(1000);
        let b = create(srv, chen(json!({ "phone": "+1 650 253 0000", "source": "Trade show" }))).await;
        srv.clock.advance(1000);
        let done = import_csv(srv, "First Name,Last Name,Company,City\nRobert,Chen,Northwind Traders Inc,Seattle\n", "Postcard list").await;
        assert_eq!(done["created_count"], 1, "{done}");
        let import_id = done["id"].as_str().unwrap();
        let (_, sources) = srv.send(srv.get("/api/v1/sources")).await;
        let source = |name: &str| sources.as_array().unwrap().iter().find(|s| s["name"] == name).unwrap()["id"].as_str().unwrap().to_string();
        let all = queue(srv, "").await;
        assert_eq!(all.len(), 3, "{all:?}");
        let show = queue(srv, &format!("&source_id={}", source("Trade show"))).await;
        assert_eq!(show.iter().map(leads_of).collect::<Vec<_>>(), vec![set(&[&a, &b])]);
        let imported = queue(srv, &format!("&import_id={import_id}")).await;
        assert_eq!(imported.len(), 2, "{imported:?}");
        for p in &imported {
            assert_eq!(p["import_id"], import_id);
            assert_eq!(p["source_id"], source("Postcard list").as_str());
            assert!(!leads_of(p).is_subset(&set(&[&a, &b])), "{p}");
        }
        assert!(queue(srv, &format!("&source_id={}", source("Webinar"))).await.is_empty());
        assert!(queue(srv, "&import_id=01NOSUCHIMPORT").await.is_empty());
    }

    async fn hostile_queue_requests_get_clear_answers(srv: TestServer) {
        let srv = &srv;
        create(srv, chen(json!({ "email": "rchen@northwind.example.com" }))).await;
        create(srv, chen(json!({ "phone": "+1 650 253 0000" }))).await;
        let id = queue(srv, "").await[0]["id"].as_str().unwrap().to_string();
        for (query, status, code) in [
            ("cursor=nonsense", 422, "invalid_cursor"),
            ("cursor=3ff0000000000000.'%3B%20DROP%20TABLE%20leads", 422, "invalid_cursor"),
            ("limit=0", 422, "out_of_range"),
            ("limit=501", 422, "out_of_range"),
            ("limit=-1", 400, "invalid_query"),
            ("min_probability=1.5", 422, "out_of_range"),
            ("min_probability=-0.1", 422, "out_of_range"),
            ("min_probability=NaN", 422, "out_of_range"),
            ("min_probability=likely", 400, "invalid_query"),
            ("status=maybe", 422, "unknown_status"),
            ("source_id=%27%20OR%201%3D1", 422, "invalid_id"),
            ("colour=red", 400, "invalid_query"),
        ] {
            let (got, body) = srv.send(srv.get(&format!("/api/v1/duplicates?{query}"))).await;
            assert_error(got, &body, status, code);
        }
        for action in ["merge", "dismiss"] {
            let (status, body) = srv.send(srv.post(&format!("/api/v1/duplicates/01NOSUCHPAIR/{action}"))).await;
            assert_error(status, &body, 404, "duplicate_pair_not_found");
        }
        let merge = format!("/api/v1/duplicates/{id}/merge");
        let (status, body) = srv.send(srv.post(&merge).json(&json!({ "survivor_id": "01SOMEONEELSE" }))).await;
        assert_error(status, &body, 422, "not_in_pair");
        let (status, body) = srv.send(srv.post(&merge).json(&json!({ "survivor": "x" }))).await;
        assert_error(status, &body, 422, "invalid_body");
        let (status, body) = srv.send(srv.post(&merge).json(&json!({ "survivor_id": 5 }))).await;
        assert_error(status, &body, 422, "invalid_body");
        let (status, body) = srv.send(srv.post(&merge).header("content-type", "application/json").body("{nope")).await;
        assert_error(status, &body, 400, "malformed_json");
        let (status, body) = srv.send(srv.post(&merge).header("content-type", "text/plain").body("survivor")).await;
        assert_error(status, &body, 415, "unsupported_media_type");
        assert_eq!(queue(srv, "").await.len(), 1, "nothing was decided");
    }

    async fn dedupe_finds_duplicates_among_leads_stored_without_matching(srv: TestServer) {
        let srv = &srv;
        let people = [
            json!({ "first_name": "Jane", "last_name": "Doe", "email": "jane.doe@acme.example.com", "company": "Acme" }),
            json!({ "first_name": "Jane", "last_name": "Doe", "email": "Jane.Doe@acme.example.com", "phone": "+44 20 7946 0958" }),
            json!({ "first_name": "Robert", "last_name": "Chen", "company": "Northwind Traders Inc", "email": "rchen@northwind.example.com" }),
            json!({ "first_name": "Robert", "last_name": "Chen", "company": "Northwind Traders Inc", "phone": "+1 650 253 0000" }),
            json!({ "first_name": "Priya", "last_name": "Patel", "email": "priya@mill.example.com" }),
        ];
        let ids = store_unmatched(&srv.app, &people, T0).await;
        let (jane, jane2, chen1, chen2) = (&ids[0], &ids[1], &ids[2], &ids[3]);
        assert!(queue(srv, "").await.is_empty());

        let options = |dry_run| DedupeOptions { threshold: None, dry_run, actor: "cli:dedupe".into() };
        let dry = srv.app.dedupe(&options(true)).await.unwrap();
        assert!(dry.dry_run);
        assert_eq!(dry.leads_scanned, 5, "{dry:?}");
        assert!(dry.pairs_compared >= 2, "{dry:?}");
        assert_eq!(dry.merged.len(), 1, "{dry:?}");
        assert_eq!((&dry.merged[0].survivor_id, &dry.merged[0].merged_id), (jane, jane2), "the older survives: {dry:?}");
        assert!(dry.merged[0].merge_id.is_none());
        assert_eq!(dry.queued, 1, "{dry:?}");
        // The dry run wrote nothing.
        assert!(queue(srv, "").await.is_empty());
        assert!(srv.app.lead(jane2).await.unwrap().merged_into.is_none());
        let (_, list) = srv.send(srv.get("/api/v1/leads")).await;
        assert_eq!(list["leads"].as_array().unwrap().len(), 5);

        srv.clock.advance(1000);
        let run = srv.app.dedupe(&options(false)).await.unwrap();
        assert_eq!(run.leads_scanned, 5);
        assert_eq!(run.merged.len(), 1, "{run:?}");
        let merge_id = run.merged[0].merge_id.clone().expect("a real merge");
        assert_eq!(srv.app.lead(jane2).await.unwrap().merged_into.as_deref(), Some(jane.as_str()));
        assert_eq!(srv.app.lead(jane).await.unwrap().fields.phone.as_deref(), Some("+442079460958"));
        assert_eq!(run.queued, 1);
        let pairs = queue(srv, "").await;
        assert_eq!(pairs.len(), 1, "{pairs:?}");
        assert_eq!(leads_of(&pairs[0]), set(&[chen1, chen2]));
        assert_eq!(pairs[0]["found_by"], "dedupe");
        assert_eq!(pairs[0]["dedupe_run_id"], run.run_id.as_str());
        let merged = queue(srv, "&status=merged").await;
        assert_eq!(merged.len(), 1, "the run's merge is recorded as a pair: {merged:?}");
        assert_eq!(merged[0]["merge_id"], merge_id.as_str());
        assert_eq!(merged[0]["dedupe_run_id"], run.run_id.as_str());

        // A second run finds nothing new.
        let again = srv.app.dedupe(&options(false)).await.unwrap();
        assert!(again.merged.is_empty(), "{again:?}");
        assert_eq!(again.queued, 0, "{again:?}");
        assert_eq!(again.skipped_queued, 1, "{again:?}");

        // Every merge it makes can be undone, and undone it is a pair to review.
        srv.clock.advance(1000);
        srv.app.undo_merge(&LeadScope::All, &merge_id, "test").await.unwrap();
        assert!(srv.app.lead(jane2).await.unwrap().merged_into.is_none());
        assert!(srv.app.lead(jane).await.unwrap().fields.phone.is_none(), "restored exactly");
        let open: Vec<BTreeSet<String>> = queue(srv, "").await.iter().map(leads_of).collect();
        assert!(open.contains(&set(&[jane, jane2])), "{open:?}");

        // A threshold outside [possible, 1] is refused.
        for bad in [1.5, -1.0, 0.0, f64::NAN] {
            let e = srv.app.dedupe(&DedupeOptions { threshold: Some(bad), ..options(true) }).await.unwrap_err();
            assert!(e.to_string().contains("threshold"), "{e}");
        }
    }
}

/// The `leadline dedupe` command: its report, the dry run, and undoing its merges.
async fn dedupe_command(backend: leadline_store::Backend) {
    let Some(t) = TestApp::start(backend).await else {
        return;
    };
    let people = [
        json!({ "first_name": "Jane", "last_name": "Doe", "email": "jane.doe@acme.example.com" }),
        json!({ "first_name": "Jane", "last_name": "Doe", "email": "jane.doe@acme.example.com", "title": "CTO" }),
    ];
    let ids = store_unmatched(&t.app, &people, T0).await;
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_leadline"))
            .args(args)
            .env("LEADLINE_DATABASE_URL", &t.url)
            .env("LEADLINE_LOG", "warn")
            .output()
            .expect("run leadline");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        text
    };
    let dry = run(&["dedupe", "--dry-run"]);
    assert!(dry.contains("dry run, nothing changed"), "{dry}");
    assert!(
        dry.contains("leads scanned:  2") && dry.contains("would merge: 1"),
        "{dry}"
    );
    assert!(
        dry.contains(&format!("{} into {}", ids[1], ids[0])),
        "{dry}"
    );
    assert!(t.app.lead(&ids[1]).await.unwrap().merged_into.is_none());

    let wet = run(&["dedupe"]);
    assert!(wet.contains("merged: 1"), "{wet}");
    let undo = wet
        .lines()
        .find_map(|l| l.strip_prefix("undo every merge of this run with: "))
        .unwrap_or_else(|| panic!("an undo hint: {wet}"));
    assert_eq!(
        t.app.lead(&ids[1]).await.unwrap().merged_into.as_deref(),
        Some(ids[0].as_str())
    );
    let args: Vec<&str> = undo.split_whitespace().skip(1).collect();
    assert_eq!(args[0], "undo-merge", "{undo}");
    let out = run(&args);
    assert!(out.contains("undid merge"), "{out}");
    assert!(t.app.lead(&ids[1]).await.unwrap().merged_into.is_none());

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_leadline"))
        .args(["dedupe", "--threshold", "2"])
        .env("LEADLINE_DATABASE_URL", &t.url)
        .env("LEADLINE_LOG", "warn")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("threshold"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dedupe_command_sqlite() {
    dedupe_command(leadline_store::Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dedupe_command_postgres() {
    dedupe_command(leadline_store::Backend::Postgres).await;
}
