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

    async fn an_upload_that_is_not_multipart_answers_in_the_error_shape(srv: TestServer) {
        for (content_type, status, code) in [
            (Some("multipart/form-data"), 400, "malformed_multipart"),
            (Some("multipart/form-data; boundary="), 400, "malformed_multipart"),
            (Some("text/csv"), 415, "unsupported_media_type"),
            (Some("application/json"), 415, "unsupported_media_type"),
            (None, 415, "unsupported_media_type"),
        ] {
            let mut request = srv.post("/api/v1/imports").body("Email\nx@example.com\n");
            if let Some(ct) = content_type {
                request = request.header("Content-Type", ct);
            }
            let response = request.send().await.unwrap();
            assert_eq!(response.headers()["content-type"], "application/json", "{content_type:?}");
            let got = response.status();
            let body: serde_json::Value = response.json().await.unwrap();
            assert_error(got, &body, status, code);
        }
        // A real multipart upload still works.
        let form = reqwest::multipart::Form::new()
            .part("file", reqwest::multipart::Part::bytes(b"Email\nx@example.com\n".to_vec()).file_name("a.csv"))
            .text("source", "List");
        let (status, body) = srv.send(srv.post("/api/v1/imports").multipart(form)).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    }
}
