//! Taken names answer 409 on every write path, and malformed requests of every kind
//! answer in the one JSON error shape.

use crate::backend_tests;
use crate::harness::*;
use reqwest::StatusCode;
use serde_json::json;

backend_tests! {
    async fn renaming_a_team_or_user_to_a_taken_name_is_a_conflict(srv: TestServer) {
        let (_, first) = srv.send(srv.post("/api/v1/teams").json(&json!({ "name": "Closers" }))).await;
        let (status, second) = srv.send(srv.post("/api/v1/teams").json(&json!({ "name": "Openers" }))).await;
        assert_eq!(status, StatusCode::CREATED, "{second}");
        let id = second["id"].as_str().unwrap();
        let (status, body) = srv.send(srv.client.put(srv.url(&format!("/api/v1/teams/{id}"))).bearer_auth(&srv.token)
            .json(&json!({ "name": "Closers" }))).await;
        let error = assert_error(status, &body, 409, "team_exists");
        assert!(error["message"].as_str().unwrap().contains("Closers"), "{body}");
        // Nothing changed, and the team can still be renamed to a free name.
        let (_, teams) = srv.send(srv.get("/api/v1/teams")).await;
        let names: Vec<&str> = teams["teams"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
        assert_eq!(names, vec!["Closers", "Openers"]);
        let (status, _) = srv.send(srv.client.put(srv.url(&format!("/api/v1/teams/{id}"))).bearer_auth(&srv.token)
            .json(&json!({ "name": "Openers EMEA" }))).await;
        assert_eq!(status, StatusCode::OK);
        assert!(first["id"].is_string());

        let a = srv.user("a@example.com", "rep", json!({})).await;
        srv.user("b@example.com", "rep", json!({})).await;
        let (status, body) = srv.send(srv.patch(&format!("/api/v1/users/{a}")).json(&json!({ "email": "B@example.com" }))).await;
        assert_error(status, &body, 409, "user_exists");
    }
}
