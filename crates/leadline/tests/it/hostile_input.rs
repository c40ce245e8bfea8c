//! Malformed, oversized, hostile and odd input: a clear 4xx naming the problem, and
//! nothing good lost or corrupted.

use crate::backend_tests;
use crate::harness::*;
use reqwest::StatusCode;
use serde_json::json;

backend_tests! {
    async fn hostile_api_input_gets_specific_errors_and_loses_nothing(srv: TestServer) {
        let (status, good) = srv.create_lead(json!({ "email": "keep.me@example.com", "first_name": "Keep" })).await;
        assert_eq!(status, StatusCode::CREATED);
        let good_id = good["lead"]["id"].as_str().unwrap().to_string();

        // Malformed JSON, wrong type, unknown field, wrong content type.
        let (status, body) = srv.send(srv.post("/api/v1/leads").header("content-type", "application/json").body("{\"email\": \"a@b.co\"")).await;
        assert_error(status, &body, 400, "malformed_json");
        let (status, body) = srv.create_lead(json!({ "email": 42 })).await;
        assert_eq!(assert_error(status, &body, 422, "invalid_body")["field"], "email");
        let (status, body) = srv.create_lead(json!({ "emial": "typo@example.com" })).await;
        assert_eq!(assert_error(status, &body, 422, "invalid_body")["field"], "emial");
        let (status, body) = srv.send(srv.post("/api/v1/leads").header("content-type", "text/plain").body("email=a@b.co")).await;
        assert_error(status, &body, 415, "unsupported_media_type");

        // Broken UTF-8 in the body.
        let mut bytes = br#"{"email": "x@example.com", "first_name": "Bad"#.to_vec();
        bytes.extend_from_slice(&[0xff, 0xfe]);
        bytes.extend_from_slice(br#""}"#);
        let (status, body) = srv.send(srv.post("/api/v1/leads").header("content-type", "application/json").body(bytes)).await;
        assert_error(status, &body, 400, "malformed_json");

        // NUL bytes, a 1 MB field, and nothing that identifies a person.
        let (status, body) = srv.create_lead(json!({ "email": "nul@example.com", "first_name": "Nu\u{0}ll" })).await;
        assert_eq!(assert_error(status, &body, 422, "control_character")["field"], "first_name");
        let (status, body) = srv.create_lead(json!({ "email": "big@example.com", "company": "x".repeat(1_000_000) })).await;
        assert_eq!(assert_error(status, &body, 422, "too_long")["field"], "company");
        let (status, body) = srv.create_lead(json!({ "title": "CEO" })).await;
        assert_error(status, &body, 422, "missing_identity");
        let (status, body) = srv.create_lead(json!({ "email": "two@@example.com", "title": "x".repeat(201), "date_of_birth": "1980-02-30" })).await;
        let error = assert_error(status, &body, 422, "invalid_fields");
        let fields: Vec<&str> = error["details"].as_array().unwrap().iter().map(|d| d["field"].as_str().unwrap()).collect();
        assert_eq!(fields, ["title", "email"], "a date of birth that is no date is flagged, not refused");

        // An oversized body is refused before parsing. The server may answer 413 and close
        // while the client is still uploading, so a refused upload is as good as the 413.
        let huge = json!({ "email": "huge@example.com", "custom": { "blob": "y".repeat(5 * 1024 * 1024) } });
        match srv.post("/api/v1/leads").json(&huge).send().await {
            Ok(response) => {
                assert_eq!(response.headers()["connection"], "close", "the unread body ends the connection");
                let status = response.status();
                let body: serde_json::Value = response.json().await.unwrap_or_default();
                assert_error(status, &body, 413, "body_too_large");
            }
            Err(e) => assert!(e.is_request() || e.is_body(), "the upload was cut off, not something else: {e}"),
        }
        let (_, found) = srv.send(srv.get("/api/v1/leads?email=huge%40example.com")).await;
        assert_eq!(found["leads"].as_array().unwrap().len(), 0, "nothing of the oversized request was stored");

        // Script tags and SQL are data: stored verbatim, returned JSON-escaped, harmless.
        let xss = "<script>alert('x')</script>";
        let sql = "Robert'); DROP TABLE leads;--";
        let (status, body) = srv.create_lead(json!({ "email": "bobby@tables.example.com", "first_name": sql, "company": xss,
            "custom": { "note": "=HYPERLINK(\"http://evil.example\",\"click\")" } })).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["lead"]["company"], xss);
        assert_eq!(body["lead"]["first_name"], sql);
        let (_, list) = srv.send(srv.get("/api/v1/leads?company=%3Cscript%3Ealert('x')%3C%2Fscript%3E")).await;
        assert_eq!(list["leads"].as_array().unwrap().len(), 1);
        let (_, list) = srv.send(srv.get("/api/v1/leads?source=x'%20OR%201%3D1--")).await;
        assert_eq!(list["leads"].as_array().unwrap().len(), 0, "SQL in a filter is just a value");

        // Unicode survives: emoji, CJK, RTL, combining marks (NFD in, NFC out).
        let (status, body) = srv.create_lead(json!({ "email": "unicode@example.com", "first_name": "Zoe\u{301}",
            "last_name": "李", "company": "שלום 🚀 GmbH" })).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["lead"]["first_name"], "Zoé");
        assert_eq!(body["lead"]["company"], "שלום 🚀 GmbH");

        // Bad path ids and merges.
        let (status, body) = srv.send(srv.post(&format!("/api/v1/leads/{good_id}/merge")).json(&json!({ "other_lead_id": good_id }))).await;
        assert_error(status, &body, 422, "same_lead");
        let (status, body) = srv.send(srv.post("/api/v1/merges/nope/undo")).await;
        assert_error(status, &body, 404, "merge_not_found");

        // The good lead is exactly as it was.
        let (_, detail) = srv.send(srv.get(&format!("/api/v1/leads/{good_id}"))).await;
        assert_eq!(detail["email"], "keep.me@example.com");
        assert_eq!(detail["touches"].as_array().unwrap().len(), 1);
        let (_, health) = srv.send(srv.client.get(srv.url("/healthz"))).await;
        assert_eq!(health["status"], "ok");
    }
}
