//! SIGKILL and, separately, SIGTERM in the middle of a burst of "request a call" form
//! submissions: after a restart, every submission the server acknowledged is one lead,
//! with its answers stored and an owner (issue 9, defect 2). It is `leadline bench kill`
//! made small — the same code, included here — and runs the built binary as the server.

#[path = "../../src/bench/kill.rs"]
mod kill;
#[path = "../../src/bench/load.rs"]
#[allow(dead_code)] // the fixed-length `open_loop` serves the benchmarks, not the harness
mod load;

use crate::backend_tests;
use crate::harness::TestDatabase;
use kill::{KillPlan, Signal};
use leadline_store::Backend;
use std::time::Duration;

/// An empty database for the server process, dropped after the test.
struct FreshDatabase {
    url: String,
    _guard: TestDatabase,
}

impl FreshDatabase {
    async fn start(backend: Backend) -> Option<FreshDatabase> {
        let (guard, url) = TestDatabase::create(backend).await?;
        Some(FreshDatabase { url, _guard: guard })
    }
}

/// 300 submissions at 1,000/s, the signal after 40% of them.
async fn burst_then(signal: Signal, db: FreshDatabase) {
    let plan = KillPlan {
        exe: env!("CARGO_BIN_EXE_leadline").into(),
        database_url: db.url.clone(),
        signal,
        rate: 1000,
        burst: Duration::from_millis(300),
        kill_after: Duration::from_millis(120),
        reps: 2,
        concurrency: 256,
        // Long enough for work a killed server held under a lease to be taken up again.
        settle_quiet: Duration::from_secs(10),
        settle_max: Duration::from_secs(60),
        shutdown_grace: Duration::from_secs(20),
    };
    let report = kill::run(&plan).await.expect("the kill harness runs");
    assert!(
        report.acknowledged > 0 && report.offered_before_signal < report.offered,
        "the signal must come mid-burst, after some submissions were acknowledged:\n{report}"
    );
    assert!(report.is_clean(), "{report}");
    println!("{report}");
}

backend_tests! {
    async fn sigkill_mid_burst_keeps_every_acknowledged_call_request(db: FreshDatabase) {
        burst_then(Signal::Kill, db).await;
    }

    async fn sigterm_mid_burst_keeps_every_acknowledged_call_request(db: FreshDatabase) {
        burst_then(Signal::Term, db).await;
    }
}
