//! `leadline bench`: the measurements behind BENCHMARKS.md.
//!
//! Each run uses its own fresh database (a temporary SQLite file unless `--db` names
//! an empty one) and talks to a real server over loopback, so the figures include
//! HTTP, JSON, normalisation, matching and the database commit.

use anyhow::Context;
use clap::{Args, Subcommand};
use leadline_domain::demo::synthetic_import_csv;
use leadline_service::forms::{FormField, NewForm};
use leadline_service::imports::{ImportRequest, NoProgress};
use leadline_service::users::TeamEditor;
use leadline_service::{App, SystemClock};
use leadline_store::Db;
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

mod kill;
mod load;
mod matching;
mod pages;

use load::{form_token, open_loop, round_the_clock};

#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub kind: BenchKind,
    /// Database to benchmark on (must be empty); default a new temporary SQLite file.
    #[arg(long, global = true)]
    pub db: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum BenchKind {
    /// Form submissions over loopback at a fixed arrival rate (open loop).
    Capture {
        /// Requests per second to offer; 0 = as fast as `--concurrency` allows.
        #[arg(long, default_value_t = 500)]
        rate: u32,
        #[arg(long, default_value_t = 20)]
        seconds: u64,
        /// In-flight requests at most (and the closed-loop width when --rate 0).
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
    },
    /// Capture-to-screen latency: "request a call" form submissions at a fixed rate,
    /// each routed to one of the reps, timed until the `lead.assigned` event reaches
    /// that rep's Server-Sent Event stream.
    Stream {
        #[arg(long, default_value_t = 100)]
        rate: u32,
        #[arg(long, default_value_t = 20)]
        seconds: u64,
        /// Reps sharing the leads by weighted round robin, one stream each.
        #[arg(long, default_value_t = 5)]
        reps: usize,
    },
    /// Kill the server mid-burst: "request a call" submissions at a fixed rate to a real
    /// `leadline serve` child process, which gets SIGKILL and/or SIGTERM during the
    /// burst and is restarted on the same database; then every acknowledged submission
    /// must be one lead with its answers and an owner. Exits non-zero if one is not.
    /// SQLite runs use temporary files; with `--db postgres://…` each run gets a fresh
    /// database on that server.
    Kill {
        #[arg(long, default_value_t = 1000)]
        rate: u32,
        /// Length of the burst.
        #[arg(long, default_value_t = 3)]
        seconds: u64,
        /// When the signal is due, from the start of the burst (default: half of it); it
        /// goes out with the first acknowledgement after that.
        #[arg(long)]
        kill_after_ms: Option<u64>,
        /// `both` is one run with SIGKILL and one with SIGTERM, each on its own database.
        #[arg(long, value_enum, default_value_t = KillSignals::Both)]
        signal: KillSignals,
        #[arg(long, default_value_t = 3)]
        reps: usize,
        /// Submissions in flight at most.
        #[arg(long, default_value_t = 1024)]
        concurrency: usize,
        /// Follow-ups count as settled once nothing more completes for this long.
        #[arg(long, default_value_t = 15)]
        settle_quiet_secs: u64,
        /// Longest wait for follow-ups after the restart.
        #[arg(long, default_value_t = 180)]
        settle_max_secs: u64,
        /// Seconds a server may take to stop after SIGTERM (longer fails the run).
        #[arg(long, default_value_t = 30)]
        shutdown_grace_secs: u64,
    },
    /// Matching quality on generated lists with known truth (a B2B trade-show list, a
    /// consumer list, and the consumer list with names and address only): a Markdown
    /// table of precision, recall and F1 of sure merges, recall with possible
    /// duplicates, household merges, then false merges and misses by cause. Needs no
    /// database (`--db` is ignored).
    Matching {
        /// Records per list.
        #[arg(long, default_value_t = 20_000)]
        records: usize,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// What a new record is compared with.
        #[arg(long, value_enum, default_value_t = matching::Candidates::EveryRecord)]
        candidates: matching::Candidates,
        /// Examples shown per kind of false merge and per cause of misses.
        #[arg(long, default_value_t = 3)]
        examples: usize,
        /// The match model: trained on each list (as `leadline matching train` does on a
        /// database), or the hand-set prior.
        #[arg(long, value_enum, default_value_t = matching::ModelChoice::Trained)]
        model: matching::ModelChoice,
    },
    /// Server time of the web app's inbox, lead workspace and filtered lists on a
    /// database of `--leads` leads, one request at a time with a signed-in session.
    Pages {
        #[arg(long, default_value_t = 100_000)]
        leads: usize,
        /// Timed requests per page.
        #[arg(long, default_value_t = 200)]
        requests: usize,
        /// Open leads in the rep's inbox.
        #[arg(long, default_value_t = 60)]
        inbox_leads: usize,
    },
    /// Import a generated CSV (10% duplicates, 1% broken rows).
    Import {
        #[arg(long, default_value_t = 100_000)]
        rows: usize,
        /// Leads to load before the measured import.
        #[arg(long, default_value_t = 0)]
        preload: usize,
    },
}

async fn fresh_app(db: &Option<String>) -> anyhow::Result<(App, Option<tempfile_path::TempPath>)> {
    let (url, temp) = match db {
        Some(url) => (url.clone(), None),
        None => {
            let path = tempfile_path::TempPath::new("leadline-bench");
            (format!("sqlite:{}", path.0.display()), Some(path))
        }
    };
    let db = Db::connect(&url)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    db.migrate().await?;
    Ok((App::new(db, Arc::new(SystemClock)), temp))
}

/// A temporary database file removed (with its WAL files) when dropped.
mod tempfile_path {
    use std::path::PathBuf;
    pub struct TempPath(pub PathBuf);
    impl TempPath {
        pub fn new(prefix: &str) -> TempPath {
            TempPath(std::env::temp_dir().join(format!("{prefix}-{}.sqlite", ulid::Ulid::new())))
        }
    }
    impl Drop for TempPath {
        fn drop(&mut self) {
            for suffix in ["", "-wal", "-shm"] {
                let mut p = self.0.clone().into_os_string();
                p.push(suffix);
                let _ = std::fs::remove_file(p);
            }
        }
    }
}

/// The signals `bench kill` sends, one run each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum KillSignals {
    Kill,
    Term,
    Both,
}

/// The database of one kill run: a temporary SQLite file, or a database of its own on
/// the PostgreSQL server that `--db` names, dropped afterwards.
enum RunDatabase {
    /// Removed when dropped.
    Sqlite {
        _file: tempfile_path::TempPath,
    },
    Postgres {
        admin_url: String,
        name: String,
    },
}

impl RunDatabase {
    async fn create(db: &Option<String>) -> anyhow::Result<(RunDatabase, String)> {
        let Some(admin_url) = db else {
            let path = tempfile_path::TempPath::new("leadline-kill");
            let url = format!("sqlite:{}", path.0.display());
            return Ok((RunDatabase::Sqlite { _file: path }, url));
        };
        anyhow::ensure!(
            admin_url.starts_with("postgres://") || admin_url.starts_with("postgresql://"),
            "bench kill makes a temporary SQLite file per run by itself; --db takes a PostgreSQL URL, \
             on whose server each run gets a database of its own"
        );
        let (main, query) = match admin_url.split_once('?') {
            Some((main, query)) => (main, format!("?{query}")),
            None => (admin_url.as_str(), String::new()),
        };
        let (server, _) = main
            .rsplit_once('/')
            .filter(|(server, _)| server.len() > "postgres://".len())
            .context("--db: expected postgres://USER@HOST[:PORT]/DATABASE")?;
        let name = format!(
            "leadline_kill_{}",
            ulid::Ulid::new().to_string().to_lowercase()
        );
        let mut admin = admin_connection(admin_url)
            .await
            .with_context(|| format!("connecting to {}", crate::redact(admin_url)))?;
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .context("creating the run's database")?;
        let _ = sqlx::Connection::close(admin).await;
        let url = format!("{server}/{name}{query}");
        Ok((
            RunDatabase::Postgres {
                admin_url: admin_url.clone(),
                name,
            },
            url,
        ))
    }

    async fn remove(self) {
        if let RunDatabase::Postgres { admin_url, name } = self {
            if let Ok(mut admin) = admin_connection(&admin_url).await {
                let drop = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                if let Err(e) = sqlx::query(&drop).execute(&mut admin).await {
                    eprintln!("could not drop the run's database {name}: {e}");
                }
            }
        }
    }
}

/// A connection for creating and dropping databases; dropping one a server was using
/// takes a while, which is no news worth a log line.
async fn admin_connection(url: &str) -> Result<sqlx::PgConnection, sqlx::Error> {
    use sqlx::ConnectOptions;
    let options: sqlx::postgres::PgConnectOptions = url.parse()?;
    options.disable_statement_logging().connect().await
}

/// One kill run per signal, each on a fresh database; fails if any run found an
/// acknowledged submission not as promised.
async fn kill_runs(
    db: &Option<String>,
    plan: kill::KillPlan,
    signals: &[kill::Signal],
) -> anyhow::Result<()> {
    let mut failed = Vec::new();
    for &signal in signals {
        let (database, url) = RunDatabase::create(db).await?;
        let run = kill::KillPlan {
            signal,
            database_url: url,
            ..plan.clone()
        };
        let report = kill::run(&run).await;
        database.remove().await;
        let report = report?;
        println!("{report}");
        if !report.is_clean() {
            failed.push(format!(
                "{signal}: {} lost, {} duplicated, {} unanswered, {} unrouted of {} acknowledged{}",
                report.lost.len(),
                report.duplicated.len(),
                report.unanswered.len(),
                report.unrouted.len(),
                report.acknowledged,
                if report.hung_on_term {
                    "; the server did not stop on SIGTERM"
                } else {
                    ""
                }
            ));
        }
    }
    anyhow::ensure!(
        failed.is_empty(),
        "acknowledged call requests were not kept: {}",
        failed.join("; ")
    );
    Ok(())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

/// Peak resident memory of this process (Linux `VmHWM`), in MiB.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Resets the peak-RSS counter so a phase can be measured on its own (Linux only).
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    match args.kind {
        BenchKind::Capture {
            rate,
            seconds,
            concurrency,
        } => capture(&args.db, rate, seconds, concurrency).await,
        BenchKind::Stream {
            rate,
            seconds,
            reps,
        } => stream(&args.db, rate, seconds, reps).await,
        BenchKind::Kill {
            rate,
            seconds,
            kill_after_ms,
            signal,
            reps,
            concurrency,
            settle_quiet_secs,
            settle_max_secs,
            shutdown_grace_secs,
        } => {
            let burst = Duration::from_secs(seconds);
            let plan = kill::KillPlan {
                exe: std::env::current_exe().context("locating the leadline binary")?,
                database_url: String::new(),
                signal: kill::Signal::Kill,
                rate,
                burst,
                kill_after: kill_after_ms.map_or(burst / 2, Duration::from_millis),
                reps,
                concurrency,
                settle_quiet: Duration::from_secs(settle_quiet_secs),
                settle_max: Duration::from_secs(settle_max_secs),
                shutdown_grace: Duration::from_secs(shutdown_grace_secs),
            };
            let signals = match signal {
                KillSignals::Kill => vec![kill::Signal::Kill],
                KillSignals::Term => vec![kill::Signal::Term],
                KillSignals::Both => vec![kill::Signal::Kill, kill::Signal::Term],
            };
            kill_runs(&args.db, plan, &signals).await
        }
        BenchKind::Import { rows, preload } => import(&args.db, rows, preload).await,
        BenchKind::Pages {
            leads,
            requests,
            inbox_leads,
        } => pages::run(&args.db, leads, requests, inbox_leads).await,
        BenchKind::Matching {
            records,
            seed,
            candidates,
            examples,
            model,
        } => matching::run_matching(&matching::MatchingPlan {
            records,
            seed,
            candidates,
            examples,
            model,
        }),
    }
}

/// Serves `app` on a free loopback port without a form rate limit.
async fn start_server(
    app: &App,
) -> anyhow::Result<(
    std::net::SocketAddr,
    tokio::task::JoinHandle<std::io::Result<()>>,
)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let config = leadline_web::WebConfig {
        public_url: format!("http://{addr}"),
        form_submissions_per_minute: u32::MAX,
        ..Default::default()
    };
    let state = leadline_web::AppState::new(app.clone(), config);
    let server = tokio::spawn(leadline_web::serve(listener, state, std::future::pending()));
    Ok((addr, server))
}

fn form(name: &str, fields: &[&str]) -> NewForm {
    NewForm {
        name: name.into(),
        source: format!("{name} form"),
        channel: None,
        campaign: None,
        fields: fields
            .iter()
            .map(|f| FormField {
                name: (*f).into(),
                label: (*f).into(),
                required: false,
            })
            .collect(),
        consent: None,
        redirect_url: None,
        default_region: Some("US".into()),
        min_fill_seconds: Some(0),
        submit_label: None,
        success_message: None,
    }
}

fn print_latencies(what: &str, latencies: &mut [Duration]) {
    latencies.sort();
    println!(
        "{what} p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        percentile(latencies, 0.50).as_secs_f64() * 1e3,
        percentile(latencies, 0.90).as_secs_f64() * 1e3,
        percentile(latencies, 0.99).as_secs_f64() * 1e3,
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
    );
}

async fn stream(db: &Option<String>, rate: u32, seconds: u64, reps: usize) -> anyhow::Result<()> {
    use leadline_service::users::UserInput;
    let (app, _temp) = fresh_app(db).await?;
    // The delivery worker shares the database with captures, as under `serve`.
    let worker = app.spawn_outbox_worker(Duration::from_secs(1));
    let mut rep_ids = Vec::new();
    for n in 0..reps.max(1) {
        let input: UserInput = serde_json::from_value(json!({
            "email": format!("rep{n}@bench.example.com"), "name": format!("Rep {n}"), "role": "rep",
            "capacity": 100_000, "working_hours": round_the_clock()
        }))?;
        rep_ids.push(app.create_user(input).await.map_err(crate::describe)?.id);
    }
    let team = app
        .save_team(TeamEditor::Admin, None, "Bench team", None, &rep_ids)
        .await
        .map_err(crate::describe)?;
    let rules: leadline_service::routing::RoutingRules = serde_json::from_value(
        json!({ "rules": [{
        "id": "all", "name": "Everyone", "conditions": [],
        "target": { "type": "team", "team_id": team.id, "strategy": "weighted_round_robin" } }] }),
    )?;
    app.set_routing_rules(&rules)
        .await
        .map_err(crate::describe)?;
    let form = app
        .create_form(&form(
            "Request a call",
            &["first_name", "email", "answers.asked_to_be_contacted"],
        ))
        .await
        .map_err(crate::describe)?;
    let (addr, server) = start_server(&app).await?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()?;

    // One stream per rep; each reports (e-mail, arrival) for its lead.assigned events.
    let (arrived_tx, mut arrived) = tokio::sync::mpsc::unbounded_channel::<(String, Instant)>();
    for rep_id in &rep_ids {
        let (_, token) = app.create_token("bench", rep_id).await?;
        let mut response = client
            .get(format!("http://{addr}/api/v1/stream?topics=lead.assigned"))
            .bearer_auth(token)
            .send()
            .await?;
        anyhow::ensure!(
            response.status().is_success(),
            "stream refused: {}",
            response.status()
        );
        let tx = arrived_tx.clone();
        tokio::spawn(async move {
            let mut buffer = String::new();
            while let Ok(Some(chunk)) = response.chunk().await {
                let now = Instant::now();
                buffer.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = buffer.find("\n\n") {
                    let frame: String = buffer.drain(..end + 2).collect();
                    let data = frame
                        .lines()
                        .find_map(|l| l.strip_prefix("data:"))
                        .map(str::trim);
                    if let Some(event) =
                        data.and_then(|d| serde_json::from_str::<serde_json::Value>(d).ok())
                    {
                        if let Some(email) = event["data"]["lead"]["email"].as_str() {
                            let _ = tx.send((email.to_string(), now));
                        }
                    }
                }
            }
        });
    }
    drop(arrived_tx);

    let url = format!("http://{addr}/f/{}", form.key);
    let token = form_token(&client, &url).await?;
    let started = Instant::now();
    let mut sent: std::collections::HashMap<String, Instant> = Default::default();
    // No window: every submission goes out on time, however slow the answers.
    let answers = open_loop(rate.max(1), Duration::from_secs(seconds), usize::MAX, |n| {
        let email = format!("caller{n}@buyer{}.example.com", n % 997);
        sent.insert(email.clone(), Instant::now());
        let body = json!({ "_ts": token, "first_name": format!("Caller {n}"), "email": email,
                               "answers.asked_to_be_contacted": "yes" });
        let (client, url) = (client.clone(), url.clone());
        async move {
            client
                .post(&url)
                .json(&body)
                .send()
                .await
                .map(|r| r.status().is_success())
                .unwrap_or(false)
        }
    })
    .await?;
    let failures = answers.iter().filter(|ok| !**ok).count();
    let mut latencies = Vec::with_capacity(sent.len());
    let mut last_arrival = started;
    let wait_until = Instant::now() + Duration::from_secs(60);
    while latencies.len() < sent.len() - failures {
        match tokio::time::timeout_at(wait_until.into(), arrived.recv()).await {
            Ok(Some((email, at))) => {
                if let Some(t0) = sent.get(&email) {
                    latencies.push(at.duration_since(*t0));
                    last_arrival = last_arrival.max(at);
                }
            }
            _ => break,
        }
    }
    println!(
        "stream bench: {} submissions at {rate}/s over {seconds}s to {} reps; {} failed, {} never reached a stream; backend {:?}",
        sent.len(),
        rep_ids.len(),
        failures,
        sent.len() - failures - latencies.len(),
        app.db.backend(),
    );
    // Below saturation this is the offered rate; above it, what the server keeps up with.
    println!(
        "completed {:.0} submissions/s end to end",
        latencies.len() as f64 / last_arrival.duration_since(started).as_secs_f64().max(1e-3)
    );
    print_latencies("capture-to-SSE latency", &mut latencies);
    server.abort();
    worker.abort();
    Ok(())
}

async fn capture(
    db: &Option<String>,
    rate: u32,
    seconds: u64,
    concurrency: usize,
) -> anyhow::Result<()> {
    let (app, _temp) = fresh_app(db).await?;
    let form = app
        .create_form(&form(
            "Bench",
            &["first_name", "last_name", "email", "phone", "company"],
        ))
        .await
        .map_err(crate::describe)?;
    let (addr, server) = start_server(&app).await?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()?;
    let url = format!("http://{addr}/f/{}", form.key);
    let token = form_token(&client, &url).await?;

    let started = Instant::now();
    let answers = open_loop(rate, Duration::from_secs(seconds), concurrency, |n| {
        let body = json!({
            "_ts": token,
            "first_name": "Bench",
            "last_name": format!("Person{n}"),
            "email": format!("bench.person{n}@example{}.com", n % 1000),
            "phone": format!("+1 202 555 {:04}", n % 10_000),
            "company": format!("Company {}", n % 5000),
        });
        let (client, url) = (client.clone(), url.clone());
        async move {
            let t0 = Instant::now();
            let ok = client
                .post(&url)
                .json(&body)
                .send()
                .await
                .map(|r| r.status().is_success())
                .unwrap_or(false);
            (t0.elapsed(), ok)
        }
    })
    .await?;
    let offered = answers.len();
    let failures = answers.iter().filter(|(_, ok)| !ok).count();
    let mut latencies: Vec<Duration> = answers.into_iter().map(|(d, _)| d).collect();
    let elapsed = started.elapsed();
    println!(
        "capture bench: {} requests in {:.1}s ({} offered req/s) -> {:.0} req/s achieved, {} failed; backend {:?}",
        offered,
        elapsed.as_secs_f64(),
        if rate == 0 { "max".to_string() } else { rate.to_string() },
        offered as f64 / elapsed.as_secs_f64(),
        failures,
        app.db.backend(),
    );
    print_latencies("latency", &mut latencies);
    server.abort();
    Ok(())
}

async fn import_csv(
    app: &App,
    text: String,
    source: &str,
) -> anyhow::Result<leadline_store::imports::ImportJob> {
    let request = ImportRequest {
        file_name: format!("{source}.csv"),
        bytes: text.into_bytes(),
        source: source.into(),
        channel: leadline_domain::Channel::Import,
        campaign: None,
        overrides: Vec::new(),
        default_region: Some("US".into()),
        actor: "bench".into(),
        caller: None,
    };
    let job = app.create_import(&request).await?;
    Ok(app.run_import(job, &request, &NoProgress).await?.job)
}

async fn import(db: &Option<String>, rows: usize, preload: usize) -> anyhow::Result<()> {
    let (app, _temp) = fresh_app(db).await?;
    if preload > 0 {
        let t0 = Instant::now();
        let csv = synthetic_import_csv(7_000_001, preload);
        let job = import_csv(&app, csv.text, "Preload").await?;
        println!(
            "preloaded {} leads in {:.1}s ({:.0} rows/s)",
            job.created_count,
            t0.elapsed().as_secs_f64(),
            preload as f64 / t0.elapsed().as_secs_f64()
        );
    }
    let existing = {
        let mut conn = app.db.acquire().await?;
        leadline_store::leads::count(&mut conn).await?
    };
    let csv = synthetic_import_csv(42, rows);
    let expected = (
        csv.unique_people,
        csv.duplicate_rows,
        csv.broken_lines.len(),
    );
    reset_peak_rss();
    let t0 = Instant::now();
    let job = import_csv(&app, csv.text, "Bench list").await?;
    let elapsed = t0.elapsed().as_secs_f64();
    println!(
        "import bench: {rows} rows into a database holding {existing} leads in {elapsed:.2}s -> {:.0} rows/s; \
         {} created, {} merged, {} unchanged, {} rejected (expected {} / {} / 0 / {}); peak RSS {:.0} MiB; backend {:?}",
        rows as f64 / elapsed,
        job.created_count,
        job.merged_count,
        job.unchanged_count,
        job.rejected_count,
        expected.0,
        expected.1,
        expected.2,
        peak_rss_mib().unwrap_or(f64::NAN),
        app.db.backend(),
    );
    Ok(())
}
