//! Users, roles and teams: every route checks the role of the token's user.

use crate::backend_tests;
use crate::harness::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// Creates a user through the API and a token acting as them.
async fn user_with_token(srv: &TestServer, email: &str, role: &str) -> (Value, String) {
    let (status, user) = srv
        .send(
            srv.post("/api/v1/users")
                .json(&json!({ "email": email, "name": email, "role": role })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    let (_, token) = srv
        .app
        .create_token("t", user["id"].as_str().unwrap())
        .await
        .unwrap();
    (user, token)
}

backend_tests! {
    async fn roles_gate_every_route(srv: TestServer) {
        let (_, rep) = user_with_token(&srv, "rep@example.com", "rep").await;
        let (_, marketer) = user_with_token(&srv, "marketer@example.com", "marketer").await;
        let (_, manager) = user_with_token(&srv, "manager@example.com", "manager").await;
        let as_ = |token: &str, method: reqwest::Method, path: &str| srv.client.request(method, srv.url(path)).bearer_auth(token);
        let form = json!({ "name": "F", "source": "S", "fields": [{ "name": "email", "label": "E-mail" }] });
        let csv = || reqwest::multipart::Form::new()
            .part("file", reqwest::multipart::Part::bytes(b"Email\nx@example.com\n".to_vec()).file_name("a.csv"))
            .text("source", "List");

        // (who, request, expected status)
        let cases: Vec<(&str, reqwest::RequestBuilder, u16)> = vec![
            ("rep", as_(&rep, reqwest::Method::GET, "/api/v1/leads"), 200),
            ("rep", as_(&rep, reqwest::Method::POST, "/api/v1/leads").json(&json!({ "email": "a@b.example.com" })), 201),
            ("rep", as_(&rep, reqwest::Method::POST, "/api/v1/forms").json(&form), 403),
            ("rep", as_(&rep, reqwest::Method::POST, "/api/v1/imports").multipart(csv()), 403),
            ("rep", as_(&rep, reqwest::Method::GET, "/api/v1/users"), 403),
            ("rep", as_(&rep, reqwest::Method::POST, "/api/v1/merges/x/undo"), 403),
            ("rep", as_(&rep, reqwest::Method::GET, "/api/v1/sources"), 200),
            ("marketer", as_(&marketer, reqwest::Method::POST, "/api/v1/forms").json(&form), 201),
            ("marketer", as_(&marketer, reqwest::Method::POST, "/api/v1/imports").multipart(csv()), 202),
            ("marketer", as_(&marketer, reqwest::Method::GET, "/api/v1/users"), 403),
            ("marketer", as_(&marketer, reqwest::Method::POST, "/api/v1/teams").json(&json!({ "name": "T" })), 403),
            ("manager", as_(&manager, reqwest::Method::GET, "/api/v1/users"), 200),
            ("manager", as_(&manager, reqwest::Method::POST, "/api/v1/users").json(&json!({ "email": "x@example.com", "name": "X", "role": "admin" })), 403),
            ("manager", as_(&manager, reqwest::Method::POST, "/api/v1/forms").json(&form), 201),
            ("manager", as_(&manager, reqwest::Method::POST, "/api/v1/teams").json(&json!({ "name": "Closers" })), 201),
        ];
        for (who, request, expected) in cases {
            let (status, body) = srv.send(request).await;
            assert_eq!(status.as_u16(), expected, "{who}: {body}");
            if expected == 403 {
                assert_error(status, &body, 403, "forbidden");
            }
        }
        let (status, me) = srv.send(as_(&rep, reqwest::Method::GET, "/api/v1/users/me")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(me["role"], "rep");
        assert_eq!(me["user"]["email"], "rep@example.com");
        assert!(me["user"].get("password_hash").is_none());
    }

    async fn users_are_validated_and_deactivation_revokes_tokens(srv: TestServer) {
        let (status, body) = srv.send(srv.post("/api/v1/users").json(&json!({
            "email": "not-an-email", "name": "", "role": "owner", "password": "short", "capacity": -1, "weight": 0,
            "territories": [{ "country": "Atlantis" }],
            "working_hours": { "time_zone": "Mars/Olympus", "week": [{ "day": "mon", "start": "17:00", "end": "09:00" }] }
        }))).await;
        let error = assert_error(status, &body, 422, "invalid_fields");
        let mut fields: Vec<&str> = error["details"].as_array().unwrap().iter().map(|d| d["field"].as_str().unwrap()).collect();
        fields.sort();
        assert_eq!(fields, vec!["capacity", "email", "name", "password", "role", "territories[0]", "weight", "working_hours"]);

        let (status, rep) = srv.send(srv.post("/api/v1/users").json(&json!({
            "email": "Ana.Rep@Example.com", "name": "Ana Rep", "role": "rep", "password": "correct horse battery staple",
            "capacity": 12, "weight": 2, "territories": [{ "country": "United Kingdom" }, { "country": "US", "region": "CA" }],
            "working_hours": { "time_zone": "Europe/London", "week": [{ "day": "mon", "start": "09:00", "end": "17:30" }] }
        }))).await;
        assert_eq!(status, StatusCode::CREATED, "{rep}");
        assert_eq!(rep["email"], "ana.rep@example.com");
        assert_eq!(rep["territories"], json!([{ "country": "GB", "region": null }, { "country": "US", "region": "CA" }]));
        assert_eq!(rep["working_hours"]["time_zone"], "Europe/London");
        assert!(rep.get("password_hash").is_none());
        let stored = srv.app.user(rep["id"].as_str().unwrap()).await.unwrap();
        assert!(stored.password_hash.unwrap().starts_with("$argon2"));

        let (status, body) = srv.send(srv.post("/api/v1/users").json(&json!({ "email": "ana.rep@example.com", "name": "Again", "role": "rep" }))).await;
        assert_error(status, &body, 409, "user_exists");

        let id = rep["id"].as_str().unwrap();
        let (_, token) = srv.app.create_token("ana", id).await.unwrap();
        let (status, _) = srv.send(srv.client.get(srv.url("/api/v1/leads")).bearer_auth(&token)).await;
        assert_eq!(status, StatusCode::OK);
        let (status, updated) = srv.send(srv.patch(&format!("/api/v1/users/{id}")).json(&json!({ "active": false }))).await;
        assert_eq!(status, StatusCode::OK, "{updated}");
        let (status, body) = srv.send(srv.client.get(srv.url("/api/v1/leads")).bearer_auth(&token)).await;
        assert_error(status, &body, 401, "unauthorized");
    }

    async fn teams_have_a_manager_and_members(srv: TestServer) {
        let (manager, _) = user_with_token(&srv, "boss@example.com", "manager").await;
        let (a, _) = user_with_token(&srv, "a@example.com", "rep").await;
        let (b, _) = user_with_token(&srv, "b@example.com", "rep").await;
        let (status, team) = srv.send(srv.post("/api/v1/teams").json(&json!({
            "name": "Inside sales", "manager_id": manager["id"], "member_ids": [b["id"], a["id"], a["id"]]
        }))).await;
        assert_eq!(status, StatusCode::CREATED, "{team}");
        assert_eq!(team["member_ids"].as_array().unwrap().len(), 2);
        let (status, body) = srv.send(srv.post("/api/v1/teams").json(&json!({ "name": "Inside sales" }))).await;
        assert_error(status, &body, 409, "team_exists");
        let (status, body) = srv.send(srv.post("/api/v1/teams").json(&json!({ "name": "Ghosts", "member_ids": ["nobody"] }))).await;
        assert_eq!(assert_error(status, &body, 422, "unknown_user")["field"], "member_ids[0]");
        let id = team["id"].as_str().unwrap();
        let (status, replaced) = srv.send(srv.client.put(srv.url(&format!("/api/v1/teams/{id}"))).bearer_auth(&srv.token)
            .json(&json!({ "name": "Inside sales EMEA", "manager_id": manager["id"], "member_ids": [a["id"]] }))).await;
        assert_eq!(status, StatusCode::OK, "{replaced}");
        let (_, teams) = srv.send(srv.get("/api/v1/teams")).await;
        assert_eq!(teams["teams"][0]["name"], "Inside sales EMEA");
        assert_eq!(teams["teams"][0]["member_ids"], json!([a["id"]]));
    }
}
