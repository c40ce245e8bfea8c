//! Idempotency keys are leases: a claim left by a crashed request expires, the retry
//! runs the request again without creating a second lead, and old answers are pruned.

use crate::backend_tests;
use crate::harness::*;
use leadline_service::tokens::Idempotency;
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const SECOND: i64 = 1000;
const HOUR: i64 = 3600 * SECOND;

/// The hash the API keeps of a `POST /api/v1/leads` body.
fn request_hash(body: &Value) -> String {
    let parsed: leadline_web::routes::leads::CreateLead =
        serde_json::from_value(body.clone()).unwrap();
    hex::encode(Sha256::digest(serde_json::to_vec(&parsed).unwrap()))
}

async fn token_id(srv: &TestServer) -> String {
    srv.app
        .authenticate_token(&srv.token)
        .await
        .unwrap()
        .unwrap()
        .token
        .id
}

async fn post(
    srv: &TestServer,
    key: &str,
    body: &Value,
) -> (StatusCode, Option<String>, Option<String>, Value) {
    let response = srv
        .post("/api/v1/leads")
        .header("Idempotency-Key", key)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    };
    let (retry_after, replayed) = (header("retry-after"), header("idempotent-replayed"));
    let body = response.json().await.unwrap_or(Value::Null);
    (status, retry_after, replayed, body)
}

async fn count(srv: &TestServer, sql: &str) -> i64 {
    let mut conn = srv.app.db.acquire().await.unwrap();
    sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(&mut *conn)
        .await
        .unwrap()
}

backend_tests! {
    async fn a_claim_left_by_a_crash_expires_and_the_retry_creates_the_lead(srv: TestServer) {
        let body = json!({ "email": "crash@example.org", "first_name": "Crash" });
        let token = token_id(&srv).await;
        // A request claimed the key, then its server died before capturing anything.
        let claim = srv.app.begin_idempotent(&token, "crm-1", &request_hash(&body)).await.unwrap();
        assert!(matches!(claim, Idempotency::Fresh(_)), "{claim:?}");
        drop(claim);

        let (status, retry_after, _, answer) = post(&srv, "crm-1", &body).await;
        assert_error(status, &answer, 409, "idempotency_key_in_progress");
        let secs: i64 = retry_after.expect("a Retry-After header").parse().unwrap();
        assert!((60..=61).contains(&secs), "{secs}");
        srv.clock.advance(30 * SECOND);
        let (status, retry_after, _, answer) = post(&srv, "crm-1", &body).await;
        assert_error(status, &answer, 409, "idempotency_key_in_progress");
        let secs: i64 = retry_after.unwrap().parse().unwrap();
        assert!((30..=31).contains(&secs), "the wait shrinks with the lease: {secs}");

        // Once the lease has run out the retry takes the key over and runs the request.
        srv.clock.advance(31 * SECOND);
        let (status, _, replayed, created) = post(&srv, "crm-1", &body).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        assert_eq!(created["outcome"], "created");
        assert_eq!(replayed, None);
        let (status, _, replayed, again) = post(&srv, "crm-1", &body).await;
        assert_eq!((status, replayed.as_deref()), (StatusCode::CREATED, Some("true")));
        assert_eq!(again, created);
        let (_, list) = srv.send(srv.get("/api/v1/leads")).await;
        assert_eq!(list["leads"].as_array().unwrap().len(), 1);
    }

    async fn a_rerun_after_a_crash_finds_the_capture_that_committed(srv: TestServer) {
        let body = json!({ "email": "twice@example.org", "first_name": "Twice", "company": "Twice Ltd" });
        let (status, _, _, created) = post(&srv, "crm-2", &body).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let lead_id = created["lead"]["id"].as_str().unwrap().to_string();
        // The capture committed, then the server died before storing the answer.
        {
            let mut conn = srv.app.db.acquire().await.unwrap();
            sqlx::query("UPDATE idempotency_keys SET status_code = 0, response_body = '', locked_until = $1")
                .bind(srv.app.now() + 60 * SECOND)
                .execute(&mut *conn).await.unwrap();
        }
        let (status, _, _, answer) = post(&srv, "crm-2", &body).await;
        assert_error(status, &answer, 409, "idempotency_key_in_progress");
        srv.clock.advance(61 * SECOND);
        let (status, _, replayed, rerun) = post(&srv, "crm-2", &body).await;
        assert_eq!(status, StatusCode::OK, "{rerun}");
        assert_eq!(replayed, None, "the request ran again");
        assert_eq!(rerun["outcome"], "unchanged", "{rerun}");
        assert_eq!(rerun["lead"]["id"], lead_id.as_str());
        let (_, list) = srv.send(srv.get("/api/v1/leads")).await;
        assert_eq!(list["leads"].as_array().unwrap().len(), 1, "no second lead");
        let (_, detail) = srv.send(srv.get(&format!("/api/v1/leads/{lead_id}"))).await;
        assert_eq!(detail["touches"].as_array().unwrap().len(), 1, "no second touch");
        // From now on the re-run's answer is what the key replays.
        let (status, _, replayed, replay) = post(&srv, "crm-2", &body).await;
        assert_eq!((status, replayed.as_deref()), (StatusCode::OK, Some("true")));
        assert_eq!(replay, rerun);
    }

    async fn of_retries_racing_for_an_expired_claim_one_wins(srv: TestServer) {
        let body = json!({ "email": "race@example.org" });
        let (token, hash) = (token_id(&srv).await, request_hash(&body));
        let first = srv.app.begin_idempotent(&token, "race", &hash).await.unwrap();
        assert!(matches!(first, Idempotency::Fresh(_)));
        srv.clock.advance(61 * SECOND);
        let attempts = futures::future::join_all((0..6).map(|_| srv.app.begin_idempotent(&token, "race", &hash))).await;
        let fresh: Vec<_> = attempts.iter().filter(|a| matches!(a, Ok(Idempotency::Fresh(_)))).collect();
        assert_eq!(fresh.len(), 1, "{attempts:?}");
        assert!(attempts.iter().all(|a| matches!(a, Ok(Idempotency::Fresh(_) | Idempotency::InProgress { .. }))), "{attempts:?}");
        // The first runner, back from the dead, cannot overwrite the winner's answer.
        let Idempotency::Fresh(old) = first else { unreachable!() };
        srv.app.finish_idempotent(&old, 201, "{\"stale\":true}").await.unwrap();
        let Ok(Idempotency::Fresh(winner)) = &attempts.into_iter().find(|a| matches!(a, Ok(Idempotency::Fresh(_)))).unwrap() else { unreachable!() };
        srv.app.finish_idempotent(winner, 201, "{\"fresh\":true}").await.unwrap();
        match srv.app.begin_idempotent(&token, "race", &hash).await.unwrap() {
            Idempotency::Replay { status, body } => assert_eq!((status, body.as_str()), (201, "{\"fresh\":true}")),
            other => panic!("{other:?}"),
        }
    }

    async fn stored_answers_are_pruned_after_the_retention_period(srv: TestServer) {
        let body = json!({ "email": "kept@example.org" });
        let (status, _, _, created) = post(&srv, "crm-3", &body).await;
        assert_eq!(status, StatusCode::CREATED);
        srv.clock.advance(23 * HOUR);
        assert_eq!(srv.app.prune_idempotency_keys(srv.app.now()).await.unwrap(), 0);
        let (_, _, replayed, _) = post(&srv, "crm-3", &body).await;
        assert_eq!(replayed.as_deref(), Some("true"), "kept for a day");
        // A claim made now, still running, is never pruned under its runner.
        let other = json!({ "email": "running@example.org" });
        let token = token_id(&srv).await;
        let running = srv.app.begin_idempotent(&token, "crm-4", &request_hash(&other)).await.unwrap();
        assert!(matches!(running, Idempotency::Fresh(_)));

        srv.clock.advance(2 * HOUR);
        assert_eq!(srv.app.prune_idempotency_keys(srv.app.now()).await.unwrap(), 1);
        assert_eq!(count(&srv, "SELECT COUNT(*) FROM idempotency_keys").await, 1);
        // Pruned, the key runs again, and the capture's fingerprint still prevents a twin.
        let (status, _, replayed, rerun) = post(&srv, "crm-3", &body).await;
        assert_eq!((status, replayed), (StatusCode::OK, None), "{rerun}");
        assert_eq!(rerun["outcome"], "unchanged");
        assert_eq!(rerun["lead"]["id"], created["lead"]["id"]);

        // A claim whose runner died is pruned too once it is older than the period.
        srv.clock.advance(25 * HOUR);
        assert_eq!(srv.app.prune_idempotency_keys(srv.app.now()).await.unwrap(), 2);
        assert_eq!(count(&srv, "SELECT COUNT(*) FROM idempotency_keys").await, 0);
    }
}
