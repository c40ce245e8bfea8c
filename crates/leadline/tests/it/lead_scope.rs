//! Every answer shows a caller only the leads they may see, and a caller changes only
//! those: a rep their own, a manager their teams' and the unassigned ones, admins and
//! marketers every lead. Write endpoints included — capture above all.

use crate::backend_tests;
use crate::harness::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// Two teams: North (manager M1, rep A) and South (manager M2, rep B), each user with
/// a token, and one lead routed to B.
struct World {
    rep_a: String,
    rep_b: String,
    token_a: String,
    token_b: String,
    token_m1: String,
    token_m2: String,
    /// Pat Lee of Buyer Ltd, owned by rep B.
    b_lead: String,
}

async fn world(srv: &TestServer) -> World {
    let rep_a = srv.rep("a@seller.example.com", json!({})).await;
    let rep_b = srv.rep("b@seller.example.com", json!({})).await;
    let m1 = srv
        .user("m1@seller.example.com", "manager", json!({}))
        .await;
    let m2 = srv
        .user("m2@seller.example.com", "manager", json!({}))
        .await;
    for (name, manager, rep) in [("North", &m1, &rep_a), ("South", &m2, &rep_b)] {
        let (status, body) = srv
            .send(
                srv.post("/api/v1/teams")
                    .json(&json!({ "name": name, "manager_id": manager, "member_ids": [rep] })),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    srv.set_routing(
        json!({ "rules": [{ "id": "b", "name": "All to B", "conditions": [],
        "target": { "type": "rep", "rep_id": rep_b } }] }),
    )
    .await;
    let (status, created) = srv
        .create_lead(
            json!({ "first_name": "Pat", "last_name": "Lee", "email": "pat@buyer.example.com",
                              "company": "Buyer Ltd", "country": "GB" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let b_lead = created["lead"]["id"].as_str().unwrap().to_string();
    let (status, routed) = srv
        .send(srv.post(&format!("/api/v1/leads/{b_lead}/route")))
        .await;
    assert_eq!(status, StatusCode::OK, "{routed}");
    assert_eq!(routed["owner_id"], rep_b.as_str());
    World {
        token_a: srv.token_for(&rep_a).await,
        token_b: srv.token_for(&rep_b).await,
        token_m1: srv.token_for(&m1).await,
        token_m2: srv.token_for(&m2).await,
        rep_a,
        rep_b,
        b_lead,
    }
}

async fn call(
    srv: &TestServer,
    token: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = srv.client.request(method, srv.url(path)).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    srv.send(request).await
}

async fn listed_ids(srv: &TestServer, token: &str, query: &str) -> Vec<String> {
    let (status, body) = call(
        srv,
        token,
        "GET",
        &format!("/api/v1/leads?limit=500{query}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["leads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap().to_string())
        .collect()
}

backend_tests! {
    async fn a_reps_capture_neither_reveals_nor_changes_another_reps_lead(srv: TestServer) {
        let w = world(&srv).await;
        // Rep A enters the same person with a title and phone B's lead lacks.
        let (status, body) = call(&srv, &w.token_a, "POST", "/api/v1/leads", Some(json!({
            "first_name": "Pat", "email": "PAT@buyer.example.com", "title": "CTO", "phone": "+44 20 7946 0958"
        }))).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        assert_eq!(body["outcome"], "recorded_for_owner", "{body}");
        assert!(body["lead"].is_null(), "{body}");
        let text = body.to_string();
        for secret in [w.b_lead.as_str(), "Buyer", "Lee", w.rep_b.as_str()] {
            assert!(!text.contains(secret), "the answer shows {secret:?}: {text}");
        }

        // B's lead is as it was; what A brought waits in its history for B.
        let (_, lead) = srv.send(srv.get(&format!("/api/v1/leads/{}", w.b_lead))).await;
        assert!(lead["title"].is_null() && lead["phone"].is_null(), "{lead}");
        assert_eq!(lead["touches"].as_array().unwrap().len(), 2, "the capture is a touch: {lead}");
        let (_, timeline) = call(&srv, &w.token_b, "GET", &format!("/api/v1/leads/{}/timeline", w.b_lead), None).await;
        let recorded = timeline["events"].as_array().unwrap().iter()
            .find(|e| e["kind"] == "captured" && e["payload"]["outcome"] == "recorded_for_owner")
            .unwrap_or_else(|| panic!("no recorded capture in {timeline}"));
        assert!(recorded["payload"]["proposed"].to_string().contains("CTO"), "{recorded}");

        // Still nothing for A to read or change, and nothing listed.
        for (method, path, body) in [
            ("GET", format!("/api/v1/leads/{}", w.b_lead), None),
            ("GET", format!("/api/v1/leads/{}/timeline", w.b_lead), None),
            ("GET", format!("/api/v1/leads/{}/qualification", w.b_lead), None),
            ("GET", format!("/api/v1/leads/{}/score", w.b_lead), None),
            ("GET", format!("/api/v1/leads/{}/touches", w.b_lead), None),
            ("PATCH", format!("/api/v1/leads/{}", w.b_lead), Some(json!({ "title": "CEO" }))),
            ("PUT", format!("/api/v1/leads/{}/answers", w.b_lead), Some(json!({ "answers": { "need": "yes" } }))),
            ("POST", format!("/api/v1/leads/{}/touches", w.b_lead), Some(json!({ "kind": "note" }))),
        ] {
            let (status, body) = call(&srv, &w.token_a, method, &path, body).await;
            assert_error(status, &body, 404, "lead_not_found");
        }
        assert!(listed_ids(&srv, &w.token_a, "&email=pat@buyer.example.com").await.is_empty());
        let (_, lead) = srv.send(srv.get(&format!("/api/v1/leads/{}", w.b_lead))).await;
        assert!(lead["title"].is_null(), "{lead}");
    }

    async fn a_rep_owns_the_lead_it_enters_and_never_learns_of_others(srv: TestServer) {
        let w = world(&srv).await;
        // Only a name and company: a possible duplicate of B's lead, which A may not know.
        let (status, body) = call(&srv, &w.token_a, "POST", "/api/v1/leads", Some(json!({
            "first_name": "Pat", "last_name": "Lee", "company": "Buyer Ltd"
        }))).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert!(body["possible_duplicate_of"].is_null(), "{body}");
        assert!(!body.to_string().contains(&w.b_lead), "{body}");
        let mine = body["lead"]["id"].as_str().unwrap().to_string();

        // A reaches it at once, and owns it; B's id shows nowhere in it.
        for path in [format!("/api/v1/leads/{mine}"), format!("/api/v1/leads/{mine}/timeline")] {
            let (status, body) = call(&srv, &w.token_a, "GET", &path, None).await;
            assert_eq!(status, StatusCode::OK, "{path}: {body}");
            assert!(!body.to_string().contains(&w.b_lead), "{path} shows B's lead: {body}");
        }
        let (_, q) = call(&srv, &w.token_a, "GET", &format!("/api/v1/leads/{mine}/qualification"), None).await;
        assert_eq!(q["owner_id"], w.rep_a.as_str(), "{q}");
        assert_eq!(listed_ids(&srv, &w.token_a, "").await, vec![mine.clone()]);
        let (status, patched) = call(&srv, &w.token_a, "PATCH", &format!("/api/v1/leads/{mine}"), Some(json!({ "title": "CFO" }))).await;
        assert_eq!(status, StatusCode::OK, "{patched}");
        assert!(!patched.to_string().contains(&w.b_lead), "{patched}");

        // Those who see both leads still see the flag, for review.
        let (_, admin_view) = srv.send(srv.get(&format!("/api/v1/leads/{mine}"))).await;
        assert_eq!(admin_view["possible_duplicate_of"], w.b_lead.as_str(), "{admin_view}");
        let (_, b_view) = call(&srv, &w.token_b, "GET", &format!("/api/v1/leads/{mine}"), None).await;
        assert_eq!(b_view["error"]["code"], "lead_not_found", "B does not see A's lead either");
    }

    async fn managers_see_their_teams_and_the_unassigned_leads_only(srv: TestServer) {
        let w = world(&srv).await;
        let (_, unowned) = srv.create_lead(json!({ "email": "new@prospect.example.com" })).await;
        let unowned = unowned["lead"]["id"].as_str().unwrap().to_string();
        let (_, a_lead) = call(&srv, &w.token_a, "POST", "/api/v1/leads", Some(json!({ "email": "a.contact@firm.example.com" }))).await;
        let a_lead = a_lead["lead"]["id"].as_str().unwrap().to_string();

        let mut m1 = listed_ids(&srv, &w.token_m1, "").await;
        m1.sort();
        let mut expected = vec![unowned.clone(), a_lead.clone()];
        expected.sort();
        assert_eq!(m1, expected, "North sees its rep's lead and the unassigned one");
        let mut m2 = listed_ids(&srv, &w.token_m2, "").await;
        m2.sort();
        let mut expected = vec![unowned.clone(), w.b_lead.clone()];
        expected.sort();
        assert_eq!(m2, expected, "South sees its rep's lead and the unassigned one");
        assert_eq!(listed_ids(&srv, &w.token_b, "").await, vec![w.b_lead.clone()]);
        assert_eq!(listed_ids(&srv, &srv.token, "").await.len(), 3, "the admin sees all");

        let (status, body) = call(&srv, &w.token_m1, "GET", &format!("/api/v1/leads/{}", w.b_lead), None).await;
        assert_error(status, &body, 404, "lead_not_found");
        let (status, body) = call(&srv, &w.token_m1, "PATCH", &format!("/api/v1/leads/{}", w.b_lead), Some(json!({ "title": "X" }))).await;
        assert_error(status, &body, 404, "lead_not_found");
        let (status, body) = call(&srv, &w.token_m2, "GET", &format!("/api/v1/leads/{}", w.b_lead), None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        // Merging needs both leads in sight.
        let (status, body) = call(&srv, &w.token_m1, "POST", &format!("/api/v1/leads/{a_lead}/merge"),
            Some(json!({ "other_lead_id": w.b_lead }))).await;
        assert_error(status, &body, 404, "lead_not_found");
        // A manager routes an unassigned lead, not another team's.
        let (status, body) = call(&srv, &w.token_m1, "POST", &format!("/api/v1/leads/{}/route", w.b_lead), None).await;
        assert_error(status, &body, 404, "lead_not_found");
        let (status, body) = call(&srv, &w.token_m1, "POST", &format!("/api/v1/leads/{unowned}/route"), None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
}
