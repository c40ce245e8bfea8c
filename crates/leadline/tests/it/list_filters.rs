//! List filters take a date as well as an RFC 3339 time or epoch milliseconds.

use crate::backend_tests;
use crate::harness::*;
use reqwest::StatusCode;
use serde_json::json;

/// 2026-11-01T00:00:00Z.
const NOV_1: i64 = 1_793_491_200_000;
const DAY: i64 = 86_400_000;

/// Ids of the leads a list query finds, oldest first.
async fn found(srv: &TestServer, q: String) -> Vec<String> {
    let (status, page) = srv.send(srv.get(&format!("/api/v1/leads?{q}"))).await;
    assert_eq!(status, StatusCode::OK, "{q}: {page}");
    let mut got: Vec<String> = page["leads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap().to_string())
        .collect();
    got.reverse();
    got
}

backend_tests! {
    async fn created_bounds_take_whole_days(srv: TestServer) {
        // Just before, at the start of, inside, at the very end of, and just after November.
        let instants = [NOV_1 - 1, NOV_1, NOV_1 + 14 * DAY, NOV_1 + 30 * DAY - 1, NOV_1 + 30 * DAY];
        let mut ids = Vec::new();
        for (i, at) in instants.iter().enumerate() {
            srv.clock.set(*at);
            let (status, body) = srv.create_lead(json!({ "email": format!("p{i}@days.example.com") })).await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
            ids.push(body["lead"]["id"].as_str().unwrap().to_string());
        }
        let found = |q: &str| found(&srv, q.to_string());
        assert_eq!(found("created_from=2026-11-01&created_to=2026-11-30").await, ids[1..4].to_vec(), "all of November");
        assert_eq!(found("created_from=2026-11-15").await, ids[2..].to_vec());
        assert_eq!(found("created_to=2026-10-31").await, ids[..1].to_vec(), "through the end of 31 October");
        assert_eq!(found("created_from=2026-11-01&created_to=2026-11-01").await, ids[1..2].to_vec(), "one day");
        // Times and milliseconds keep their exact meaning.
        assert_eq!(found("created_from=2026-11-01T00:00:00Z&created_to=2026-12-01T00:00:00Z").await, ids[1..4].to_vec());
        assert_eq!(found("created_from=2026-11-01T01:00:00%2B01:00").await, ids[1..].to_vec(), "offsets count");
        assert_eq!(found(&format!("created_to={}", NOV_1)).await, ids[..1].to_vec());
        for bad in ["2026-11-31", "2026-13-01", "01.11.2026", "November"] {
            let (status, body) = srv.send(srv.get(&format!("/api/v1/leads?created_from={bad}"))).await;
            let error = assert_error(status, &body, 422, "invalid_time");
            assert_eq!(error["field"], "created_from");
            assert!(error["message"].as_str().unwrap().contains("date"), "{body}");
        }
    }
}
