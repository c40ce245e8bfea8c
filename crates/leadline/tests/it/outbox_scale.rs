//! Two `leadline serve` processes on one database share the outbox: every one of
//! 10,000 events reaches the webhook exactly once, and both servers do part of the work.

use crate::backend_tests;
use crate::harness::*;
use crate::notifications::{loopback_allowed, Receiver};
use leadline_service::outbox::{NotifyConfig, WebhookInput};
use leadline_store::outbox::{self, OutboxEvent};
use serde_json::json;
use std::collections::HashMap;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};

const EVENTS: usize = 10_000;

/// Starts `leadline serve` on a free port and returns once it listens.
async fn serve(db_url: &str) -> tokio::process::Child {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_leadline"))
        .args([
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--outbox-poll-ms",
            "50",
            "--webhook-allow-network",
            "127.0.0.0/8",
        ])
        .env("LEADLINE_DATABASE_URL", db_url)
        .env("LEADLINE_LOG", "warn")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start leadline serve");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let listening = tokio::time::timeout(Duration::from_secs(60), async {
        while let Ok(Some(line)) = lines.next_line().await {
            if line.contains("listening") {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(listening, Ok(true), "leadline serve started");
    child
}

backend_tests! {
    async fn two_servers_deliver_every_event_exactly_once(t: TestApp) {
        let receiver = Receiver::start().await;
        let app = t.app.clone().with_notify(NotifyConfig { allowed_networks: loopback_allowed(), ..Default::default() }).unwrap();
        app.create_webhook(WebhookInput { url: Some(format!("{}/in", receiver.base)), ..Default::default() })
            .await.unwrap();
        let _servers = [serve(&t.url).await, serve(&t.url).await];

        for batch in 0..EVENTS / 1000 {
            let events: Vec<OutboxEvent> = (0..1000)
                .map(|i| OutboxEvent::new("lead.created", None, vec![], json!({ "n": batch * 1000 + i }), T0))
                .collect();
            let mut tx = t.app.db.begin().await.unwrap();
            outbox::emit(&mut tx, &events).await.unwrap();
            tx.commit().await.unwrap();
        }

        let deadline = Instant::now() + Duration::from_secs(300);
        loop {
            let counts: HashMap<String, i64> = {
                let mut conn = t.app.db.acquire().await.unwrap();
                outbox::delivery_counts(&mut conn).await.unwrap().into_iter().collect()
            };
            if counts.get("delivered") == Some(&(EVENTS as i64)) {
                assert_eq!(counts.len(), 1, "nothing pending or dead: {counts:?}");
                break;
            }
            assert!(Instant::now() < deadline, "not all delivered in time: {counts:?}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        // Give a double delivery, if there were one, the time to arrive.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let hits = receiver.hits_at("/in");
        let mut per_event: HashMap<String, usize> = HashMap::new();
        for hit in &hits {
            *per_event.entry(hit.headers["webhook-id"].clone()).or_default() += 1;
        }
        assert_eq!(per_event.len(), EVENTS, "no loss");
        assert!(per_event.values().all(|n| *n == 1), "no double: {} requests", hits.len());

        let mut conn = t.app.db.acquire().await.unwrap();
        let workers: Vec<(Option<String>, i64)> = sqlx::query_as("SELECT locked_by, COUNT(*) FROM deliveries GROUP BY locked_by")
            .fetch_all(&mut *conn).await.unwrap();
        assert_eq!(workers.len(), 2, "both servers delivered a share: {workers:?}");
    }
}
