//! The `leadline` binary: the server and its companion commands.

mod bench;
mod cli;
mod model_report;

use anyhow::Context;
use clap::Parser;
use cli::{Cli, Command, MatchingCommand, ScoringCommand, TokenCommand, UserCommand};
use leadline_service::imports::{ImportProgress, ImportRequest};
use leadline_service::matching::TrainingOutcome;
use leadline_service::{App, SystemClock};
use leadline_store::Db;
use std::sync::Arc;

// An import allocates and frees millions of small strings (field values, blocking keys,
// database rows); glibc's allocator spent about a quarter of an import's CPU time on
// them (BENCHMARKS.md, docs/decisions.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc marks its arenas for transparent huge pages; with capture's churn of small
/// allocations the kernel then zeroes fresh 2 MiB pages over and over: `clear_page_erms`
/// was 14% of an import's CPU samples, 3% with this (BENCHMARKS.md). The flag covers
/// the mappings made before it, too.
#[cfg(target_os = "linux")]
fn disable_transparent_huge_pages() {
    // SAFETY: PR_SET_THP_DISABLE takes plain integers and touches no memory of ours.
    // It fails only on kernels without the option (before 3.15): nothing to turn off.
    let _ = unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
}

#[cfg(not(target_os = "linux"))]
fn disable_transparent_huge_pages() {}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    disable_transparent_huge_pages();
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("LEADLINE_LOG")
                .unwrap_or_else(|_| "info,sqlx=warn,tower_http=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match cli.command {
        Command::Serve(args) => serve(&cli.database_url, args).await,
        Command::Migrate => {
            open(&cli.database_url).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Token(TokenCommand::Create { name, user }) => {
            let app = open_existing(&cli.database_url).await?;
            let user = match user {
                Some(email) => app.user_by_email(&email).await?.ok_or_else(|| {
                    anyhow::anyhow!(
                        "no user with e-mail {email:?}; add one with `leadline user add`"
                    )
                })?,
                None => app.default_admin().await?,
            };
            let (token, secret) = app.create_token(&name, &user.id).await.map_err(describe)?;
            println!(
                "Created API token {:?} (id {}) acting as {} <{}>, role {}. It is shown only once:",
                token.name, token.id, user.name, user.email, user.role
            );
            println!("{secret}");
            Ok(())
        }
        Command::Token(TokenCommand::List { user }) => {
            let app = open_existing(&cli.database_url).await?;
            let users = app.list_users().await?;
            let only = match user {
                Some(email) => Some(
                    app.user_by_email(&email)
                        .await?
                        .ok_or_else(|| anyhow::anyhow!("no user with e-mail {email:?}"))?
                        .id,
                ),
                None => None,
            };
            let tokens = app.list_tokens(only.as_deref()).await?;
            if tokens.is_empty() {
                println!("no tokens; create one with `leadline token create --name NAME`");
            }
            for t in tokens {
                let owner = t
                    .user_id
                    .as_deref()
                    .and_then(|id| users.iter().find(|u| u.id == id))
                    .map(|u| u.email.as_str())
                    .unwrap_or("-");
                let state = match t.revoked_at {
                    Some(at) => format!("revoked {}", rfc3339(at)),
                    None => "active".to_string(),
                };
                println!(
                    "{}\t{}\t{owner}\tcreated {}\tlast used {}\t{state}",
                    t.id,
                    t.name,
                    rfc3339(t.created_at),
                    t.last_used_at
                        .map(rfc3339)
                        .unwrap_or_else(|| "never".into()),
                );
            }
            Ok(())
        }
        Command::Token(TokenCommand::Revoke { id }) => {
            let app = open_existing(&cli.database_url).await?;
            let token = app.revoke_token(id.trim()).await.map_err(describe)?;
            println!(
                "Revoked API token {:?} (id {}); it is refused from now on",
                token.name, token.id
            );
            Ok(())
        }
        Command::User(UserCommand::Add {
            email,
            name,
            role,
            password_stdin,
            working_hours,
            time_zone,
            territory,
            capacity,
            weight,
        }) => {
            let working_hours =
                working_hours_input(working_hours.as_deref(), time_zone.as_deref())?;
            let territories = (!territory.is_empty()).then(|| {
                serde_json::to_value(
                    territory
                        .iter()
                        .map(|t| leadline_domain::routing::Territory::from_code(t))
                        .collect::<Vec<_>>(),
                )
                .unwrap_or_default()
            });
            let app = open_existing(&cli.database_url).await?;
            let password = if password_stdin {
                let mut line = String::new();
                std::io::stdin()
                    .read_line(&mut line)
                    .context("reading the password from stdin")?;
                Some(line.trim_end_matches(['\r', '\n']).to_string())
            } else {
                None
            };
            let input = leadline_service::users::UserInput {
                email: Some(email),
                name: Some(name),
                role: Some(role),
                password,
                working_hours,
                territories,
                capacity,
                weight,
                ..Default::default()
            };
            let user = app.create_user(input).await.map_err(describe)?;
            println!(
                "Added {} <{}> as {} (id {})",
                user.name, user.email, user.role, user.id
            );
            println!("  {}", rep_settings(&user));
            Ok(())
        }
        Command::User(UserCommand::List) => {
            let app = open_existing(&cli.database_url).await?;
            for u in app.list_users().await? {
                let state = if u.active { "active" } else { "inactive" };
                println!(
                    "{}\t{}\t{}\t{}\t{state}\t{}",
                    u.id,
                    u.email,
                    u.name,
                    u.role,
                    rep_settings(&u)
                );
            }
            Ok(())
        }
        Command::Dedupe(args) => dedupe(&cli.database_url, args).await,
        Command::UndoMerge { merge_ids } => {
            let app = open_existing(&cli.database_url).await?;
            let mut ids = merge_ids;
            // Merge ids grow with time: the newest first, as undo requires.
            ids.sort_by(|a, b| b.cmp(a));
            ids.dedup();
            for id in ids {
                let merge = app
                    .undo_merge(&leadline_domain::access::LeadScope::All, id.trim(), "cli")
                    .await
                    .map_err(|e| anyhow::anyhow!("merge {id}: {}", describe(e)))?;
                println!(
                    "undid merge {}: lead {} is separate from {} again",
                    merge.id, merge.merged_id, merge.survivor_id
                );
            }
            Ok(())
        }
        Command::Import(args) => import(&cli.database_url, args).await,
        Command::Demo { leads, seed } => {
            let app = open(&cli.database_url).await?;
            let summary = app.load_demo(seed, leads).await?;
            println!("{summary}");
            Ok(())
        }
        Command::Bench(args) => bench::run(args).await,
        Command::Scoring(ScoringCommand::Load { file }) => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let config = leadline_domain::scoring::ScoringConfig::from_toml(&text)
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            let app = open_existing(&cli.database_url).await?;
            app.set_scoring_config(&config).await.map_err(describe)?;
            println!(
                "loaded {} fit and {} engagement rules (thresholds: target {}, mql {}, sql {})",
                config.fit.len(),
                config.engagement.len(),
                config.thresholds.target,
                config.thresholds.mql,
                config.thresholds.sql
            );
            Ok(())
        }
        Command::Scoring(ScoringCommand::Show) => {
            let app = open_existing(&cli.database_url).await?;
            println!(
                "{}",
                serde_json::to_string_pretty(&app.scoring_config().await?)?
            );
            Ok(())
        }
        Command::Rescore => {
            let app = open_existing(&cli.database_url).await?;
            println!("rescored {} leads", app.rescore_all().await?);
            Ok(())
        }
        Command::Matching(MatchingCommand::Train { max_pairs }) => {
            let app = open_existing(&cli.database_url).await?;
            let options = leadline_domain::matching::TrainingOptions {
                max_pairs,
                ..Default::default()
            };
            match app.train_matching(options).await.map_err(describe)? {
                TrainingOutcome::Trained { model, leads_read } => {
                    println!("trained on {leads_read} leads");
                    print!("{}", model_report::render(&model));
                }
                TrainingOutcome::Kept { version, reason } => {
                    println!("kept model version {version}: {reason}");
                }
            }
            Ok(())
        }
        Command::Matching(MatchingCommand::Reindex) => {
            let app = open_existing(&cli.database_url).await?;
            let r = app.reindex_match_keys().await.map_err(describe)?;
            println!(
                "rebuilt the blocking keys of {} leads and aliases (key form {})",
                r.rebuilt, r.version
            );
            Ok(())
        }
        Command::Matching(MatchingCommand::Show { json }) => {
            let app = open_existing(&cli.database_url).await?;
            let model = app.match_model().await.map_err(describe)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&*model)?);
            } else {
                print!("{}", model_report::render(&model));
            }
            Ok(())
        }
    }
}

async fn dedupe(database_url: &str, args: cli::DedupeArgs) -> anyhow::Result<()> {
    let app = open_existing(database_url).await?;
    let options = leadline_service::dedupe::DedupeOptions {
        threshold: args.threshold,
        dry_run: args.dry_run,
        actor: "cli:dedupe".into(),
    };
    let r = app.dedupe(&options).await.map_err(describe)?;
    let (would, merged, queued) = if r.dry_run {
        ("dry run, nothing changed: ", "would merge", "would queue")
    } else {
        ("", "merged", "queued")
    };
    println!(
        "{would}dedupe run {} (merge from probability {}, queue from {})",
        r.run_id, r.threshold, r.possible_probability
    );
    println!("  leads scanned:  {}", r.leads_scanned);
    println!("  pairs compared: {}", r.pairs_compared);
    println!("  pairs found:    {}", r.pairs_found);
    println!("  {merged}: {}", r.merged.len());
    for m in &r.merged {
        println!(
            "    {} into {} (probability {:.6}, score {:.1}){}",
            m.merged_id,
            m.survivor_id,
            m.probability,
            m.score,
            m.merge_id
                .as_deref()
                .map(|id| format!(" merge {id}"))
                .unwrap_or_default()
        );
    }
    println!(
        "  {queued} for review: {} (held back from merging: {} by the household guard, {} because a lead was already merged in this run)",
        r.queued, r.held_back_guarded, r.held_back_merged_in_run
    );
    println!(
        "  skipped: {} dismissed before, {} already in the queue",
        r.skipped_dismissed, r.skipped_queued
    );
    for f in &r.failed {
        println!(
            "  not merged: {} and {}: {}",
            f.lead_ids[0], f.lead_ids[1], f.reason
        );
    }
    let ids: Vec<&str> = r
        .merged
        .iter()
        .filter_map(|m| m.merge_id.as_deref())
        .collect();
    if !ids.is_empty() {
        println!(
            "undo every merge of this run with: leadline undo-merge {}",
            ids.join(" ")
        );
    }
    if r.queued > 0 && !r.dry_run {
        println!("review the queued pairs at GET /api/v1/duplicates");
    }
    Ok(())
}

/// `--working-hours` (shorthand or JSON) and `--time-zone` as the API's
/// `working_hours` value; `None` when neither is given.
fn working_hours_input(
    hours: Option<&str>,
    time_zone: Option<&str>,
) -> anyhow::Result<Option<serde_json::Value>> {
    use leadline_domain::schedule::WorkingHours;
    let value = match (hours.map(str::trim), time_zone) {
        (None, None) => return Ok(None),
        (Some(json), tz) if json.starts_with('{') => {
            let mut value: serde_json::Value = serde_json::from_str(json)
                .map_err(|e| anyhow::anyhow!("--working-hours is not valid JSON: {e}"))?;
            if let (Some(tz), Some(obj)) = (tz, value.as_object_mut()) {
                obj.insert("time_zone".into(), tz.into());
            }
            value
        }
        (Some(text), tz) => {
            let hours = WorkingHours::from_shorthand(text, tz.unwrap_or("UTC"))
                .map_err(|e| anyhow::anyhow!("--working-hours: {e}"))?;
            serde_json::to_value(hours)?
        }
        (None, Some(tz)) => serde_json::to_value(WorkingHours {
            time_zone: tz.to_string(),
            ..WorkingHours::default()
        })?,
    };
    Ok(Some(value))
}

/// A user's rep settings on one line: hours and zone, territories, capacity, weight.
fn rep_settings(u: &leadline_store::users::UserRow) -> String {
    let hours =
        serde_json::from_value::<leadline_domain::schedule::WorkingHours>(u.working_hours.clone())
            .map(|h| format!("{} ({})", h.to_shorthand(), h.time_zone))
            .unwrap_or_else(|_| "?".into());
    let territories =
        serde_json::from_value::<Vec<leadline_domain::routing::Territory>>(u.territories.clone())
            .unwrap_or_default()
            .iter()
            .map(|t| t.code())
            .collect::<Vec<_>>();
    let territories = if territories.is_empty() {
        "none".to_string()
    } else {
        territories.join(",")
    };
    format!(
        "hours {hours}\tterritories {territories}\tcapacity {}\tweight {}",
        u.capacity, u.weight
    )
}

/// Turns field errors into one readable message for the terminal.
pub(crate) fn describe(e: leadline_service::ServiceError) -> anyhow::Error {
    match e {
        leadline_service::ServiceError::Invalid(errors) => anyhow::anyhow!(
            "{}",
            errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect::<Vec<_>>()
                .join("\n")
        ),
        other => other.into(),
    }
}

/// Connects and migrates, creating a SQLite file on first use: for `serve`, `migrate`
/// and `demo`, which start databases.
async fn open(url: &str) -> anyhow::Result<App> {
    connect(url, true).await
}

/// Connects to a database that must exist (every other command): pointed at a missing
/// SQLite file, it says so instead of creating an empty one.
async fn open_existing(url: &str) -> anyhow::Result<App> {
    connect(url, false).await
}

/// Connects and migrates: every command works on an up-to-date schema.
async fn connect(url: &str, create: bool) -> anyhow::Result<App> {
    let db = if create {
        Db::connect(url).await
    } else {
        Db::connect_existing(url).await
    }
    .map_err(|e| anyhow::anyhow!("cannot open database {}: {e}", redact(url)))?;
    db.migrate().await.context("applying migrations")?;
    Ok(App::new(db, Arc::new(SystemClock)))
}

/// Epoch milliseconds as an RFC 3339 UTC time, to the second.
fn rfc3339(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| ms.to_string())
}

/// Database URLs may carry a password; logs and errors show it masked.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

async fn serve(database_url: &str, args: cli::ServeArgs) -> anyhow::Result<()> {
    let allowed_networks =
        leadline_domain::netguard::AllowedNetworks::parse(&args.webhook_allow_networks)
            .map_err(|e| anyhow::anyhow!("--webhook-allow-network: {e}"))?;
    let mut app = open(database_url).await?;
    app.idempotency.retention_ms = i64::try_from(args.idempotency_retention_hours.max(1))
        .unwrap_or(i64::MAX / 3_600_000)
        .saturating_mul(3_600_000);
    app.retrain_after_import_rows =
        (args.retrain_after_import_rows > 0).then_some(args.retrain_after_import_rows);
    app.set_candidate_cache_bytes(args.match_cache_mib.saturating_mul(1 << 20));
    tracing::info!(database = %redact(database_url), "database ready");
    // Keys of an older form would hide old leads from the passes added since.
    if let Some(r) = app.ensure_match_keys_current().await.map_err(describe)? {
        tracing::info!(
            rebuilt = r.rebuilt,
            version = r.version,
            "blocking keys rebuilt in the current form"
        );
    }
    let demo_forms = if args.demo {
        let summary = app.load_demo(args.demo_seed, args.demo_leads).await?;
        println!("{summary}");
        demo_form_links(&app, &summary).await?
    } else {
        Vec::new()
    };
    let sign_ins = if args.demo {
        app.demo_sign_ins().await.map_err(describe)?
    } else {
        None
    };
    let setup_needed = app.setup_needed().await.map_err(describe)?;
    let listener = tokio::net::TcpListener::bind(&args.bind)
        .await
        .with_context(|| format!("binding {}", args.bind))?;
    let addr = listener.local_addr()?;
    let public_url = args
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"));
    if allowed_networks.is_empty() {
        tracing::info!("webhooks may reach public addresses only");
    } else {
        tracing::warn!(networks = %allowed_networks, "webhooks may also reach these internal networks");
    }
    let notify = leadline_service::outbox::NotifyConfig {
        public_url: public_url.clone(),
        smtp: args
            .smtp_url
            .clone()
            .map(|url| leadline_service::outbox::SmtpConfig {
                url,
                from: args.mail_from.clone(),
            }),
        webhook_timeout: std::time::Duration::from_secs(args.webhook_timeout_secs.max(1)),
        allowed_networks,
        ..Default::default()
    };
    if let Some(url) = &args.smtp_url {
        tracing::info!(smtp = %redact(url), "e-mail alerts on");
    }
    let app = app.with_notify(notify).map_err(describe)?;
    let config = leadline_web::WebConfig {
        public_url,
        form_submissions_per_minute: args.form_rate_limit,
        trust_forwarded_for: args.trust_forwarded_for,
        max_import_bytes: args.max_import_mb * 1024 * 1024,
        header_read_timeout: std::time::Duration::from_secs(args.header_timeout_secs),
        body_read_timeout: std::time::Duration::from_secs(args.body_timeout_secs),
        max_connections: connection_limit(args.max_connections),
        ..Default::default()
    };
    tracing::info!(
        header_timeout_secs = args.header_timeout_secs,
        body_timeout_secs = args.body_timeout_secs,
        max_connections = config.max_connections,
        "client limits"
    );
    tracing::info!(%addr, "leadline listening");
    // One write, and a closed stdout (a supervisor that stopped reading once it saw
    // "listening") must not stop the server.
    let welcome = welcome(
        &config.public_url,
        &addr.to_string(),
        &demo_forms,
        &web_app_lines(&config.public_url, setup_needed, sign_ins.as_ref()),
        database_url,
    );
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(format!("{welcome}\n").as_bytes());
        let _ = out.flush();
    }
    let mut workers = Vec::new();
    let rescorer = app.clone();
    workers.extend(spawn_every(
        &app,
        "rescore",
        std::time::Duration::from_secs(args.rescore_every_minutes * 60),
        move || {
            let app = rescorer.clone();
            async move { Ok(format!("{} leads rescored", app.rescore_all().await?)) }
        },
    ));
    let sla = app.clone();
    workers.extend(spawn_every(
        &app,
        "sla",
        std::time::Duration::from_secs(30),
        move || {
            let app = sla.clone();
            async move {
                let run = app.run_sla().await?;
                Ok(format!(
                    "{} escalated, {} re-routed",
                    run.escalated.len(),
                    run.rerouted.len()
                ))
            }
        },
    ));
    let pruner = app.clone();
    workers.extend(spawn_every(
        &app,
        "idempotency-prune",
        std::time::Duration::from_secs(600),
        move || {
            let app = pruner.clone();
            async move {
                let pruned = app.prune_idempotency_keys(app.now()).await?;
                Ok(format!("{pruned} idempotency keys pruned"))
            }
        },
    ));
    let session_pruner = app.clone();
    workers.extend(spawn_every(
        &app,
        "session-prune",
        std::time::Duration::from_secs(600),
        move || {
            let app = session_pruner.clone();
            async move {
                let pruned = app.prune_sessions().await?;
                Ok(format!("{pruned} ended web sessions removed"))
            }
        },
    ));
    workers.push(app.spawn_outbox_worker(std::time::Duration::from_millis(
        args.outbox_poll_ms.max(10),
    )));
    // Follow-ups a stopped server left behind are picked up at once, then every second.
    workers.push(app.spawn_followup_sweeper(std::time::Duration::from_secs(1)));
    let state = leadline_web::AppState::new(app.clone(), config);
    leadline_web::serve(listener, state, shutdown_signal()).await?;
    // No request is in flight any more. The background workers finish the run they are
    // in and stop (what they have not reached stays in the database for the next
    // start); then the follow-ups this server holds are finished or handed back, and
    // only then does the pool close.
    app.stop_background_work();
    let stopped = futures::future::join_all(workers);
    if tokio::time::timeout(std::time::Duration::from_secs(10), stopped)
        .await
        .is_err()
    {
        tracing::warn!("background work still running at shutdown; its leases expire");
    }
    let handed_back = app
        .finish_followups(std::time::Duration::from_secs(10))
        .await;
    if handed_back > 0 {
        tracing::warn!(handed_back, "follow-ups handed back for the next start");
    }
    app.db.close().await;
    Ok(())
}

/// The connection limit: as asked, or the default that fits the open-files limit.
fn connection_limit(asked: Option<u64>) -> usize {
    use leadline_web::server;
    let open_files = server::open_files_limit();
    match asked {
        None => server::max_connections_for(open_files),
        Some(n) => {
            let n = usize::try_from(n).unwrap_or(usize::MAX);
            if let Some(limit) =
                open_files.filter(|l| (n as u64).saturating_add(server::RESERVED_FILES) > *l)
            {
                tracing::warn!(max_connections = n, open_files_limit = limit, "--max-connections leaves too few file descriptors; raise the limit (ulimit -n) or lower it");
            }
            n
        }
    }
}

/// The demo forms to show (name, key): the ones just loaded, or, when the database
/// already held data, the demo's forms found by name.
async fn demo_form_links(
    app: &App,
    summary: &leadline_service::demo::DemoSummary,
) -> anyhow::Result<Vec<(String, String)>> {
    use leadline_service::demo::DemoSummary;
    Ok(match summary {
        DemoSummary::Loaded {
            form_key,
            call_form_key,
            ..
        } => vec![
            ("contact us".to_string(), form_key.clone()),
            (
                "request a call: routed to a rep at once".to_string(),
                call_form_key.clone(),
            ),
        ],
        DemoSummary::Skipped { .. } => app
            .list_forms()
            .await
            .map_err(describe)?
            .into_iter()
            .filter(|f| matches!(f.name.as_str(), "Contact us" | "Request a call"))
            .map(|f| (f.name.to_lowercase(), f.key))
            .collect(),
    })
}

/// What `serve` prints once it listens: where everything is, as full URLs (the web
/// app, with the demo's sign-ins, first), and how to get a token for the API.
fn welcome(
    public_url: &str,
    addr: &str,
    demo_forms: &[(String, String)],
    web_app: &str,
    database_url: &str,
) -> String {
    let base = public_url.trim_end_matches('/');
    let mut lines = vec![format!("Leadline is listening on http://{addr}")];
    lines.push(web_app.to_string());
    for (i, (label, key)) in demo_forms.iter().enumerate() {
        let head = if i == 0 {
            "  Demo form:  "
        } else {
            "              "
        };
        lines.push(format!("{head}{base}/f/{key}  ({label})"));
    }
    // The binary as it was called (./target/release/leadline), so the line can be pasted.
    let me = std::env::args()
        .next()
        .filter(|a| a.contains('/'))
        .unwrap_or_else(|| "leadline".into());
    lines.extend([
        format!("  API:        {base}/api/v1  (e.g. GET {base}/api/v1/leads?limit=5 with 'Authorization: Bearer TOKEN')"),
        format!("  OpenAPI:    {base}/api/v1/openapi.json"),
        format!("  Health:     {base}/healthz"),
        format!(
            "  API token:  {me} --database-url {} token create --name me   (in another terminal; the token is the last line)",
            redact(database_url)
        ),
    ]);
    lines.join("\n")
}

/// The web app's lines of the welcome: where to sign in, or to create the first admin,
/// and with `serve --demo` every demo person's e-mail and the password they share.
fn web_app_lines(
    public_url: &str,
    setup_needed: bool,
    demo: Option<&leadline_service::demo::DemoSignIns>,
) -> String {
    let base = public_url.trim_end_matches('/');
    let mut lines = Vec::new();
    if setup_needed {
        lines.push(format!(
            "  Web app:    {base}/setup  (create the first administrator)"
        ));
    } else {
        lines.push(format!("  Web app:    {base}/login"));
    }
    if let Some(demo) = demo {
        lines.push(format!(
            "  Demo sign-ins (password for all: {}, unless changed):",
            demo.password
        ));
        for (email, name, role) in &demo.people {
            lines.push(format!("              {role:<8} {email}  ({name})"));
        }
    }
    lines.join("\n")
}

/// Runs `job` every `period` (the first run after one period), logging failures: the
/// background work of `serve` (score decay, the speed-to-lead SLA).
/// Runs `job` every `period` until the app stops its background work.
fn spawn_every<F, Fut>(
    app: &leadline_service::App,
    name: &'static str,
    period: std::time::Duration,
    job: F,
) -> Option<tokio::task::JoinHandle<()>>
where
    F: Fn() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = anyhow::Result<String>> + Send,
{
    if period.is_zero() {
        return None;
    }
    let app = app.clone();
    Some(tokio::spawn(async move {
        let mut tick = tokio::time::interval(period);
        tick.tick().await;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = app.stopped() => return,
            }
            match job().await {
                Ok(summary) => tracing::debug!(job = name, %summary, "job ran"),
                Err(e) => tracing::error!(job = name, error = %e, "job failed"),
            }
        }
    }))
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}

/// A progress bar on a terminal; silent otherwise (indicatif hides itself off-TTY).
struct BarProgress(indicatif::ProgressBar);

impl ImportProgress for BarProgress {
    fn start(&self, estimated_rows: u64) {
        self.0.set_length(estimated_rows);
    }
    fn advance(&self, rows: u64) {
        self.0.inc(rows);
    }
}

async fn import(database_url: &str, args: cli::ImportArgs) -> anyhow::Result<()> {
    let bytes =
        std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let overrides = args
        .map
        .iter()
        .map(|m| {
            m.split_once('=')
                .map(|(c, f)| (c.trim().to_string(), f.trim().to_string()))
                .ok_or_else(|| anyhow::anyhow!("--map {m:?}: expected column=field"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let default_region = match &args.default_region {
        Some(r) => Some(
            leadline_domain::normalize::normalize_country(r)
                .ok_or_else(|| anyhow::anyhow!("--default-region {r:?} is not a country"))?,
        ),
        None => None,
    };
    // File-level problems (empty, binary, an unclosed quote, a bad mapping) are told
    // now, in the domain's own words, before the database is touched.
    let parsed = leadline_domain::import::parse_csv(&bytes, &overrides)
        .map_err(|e| anyhow::anyhow!("{}: {e}", args.file.display()))?;
    let header_only = parsed.rows().next().is_none();
    drop(parsed);
    let app = open_existing(database_url).await?;
    let request = ImportRequest {
        file_name: args
            .file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "import.csv".into()),
        bytes,
        source: args.source,
        channel: args.channel,
        campaign: args.campaign,
        overrides,
        default_region,
        actor: "cli".into(),
        caller: None,
    };
    let job = app.create_import(&request).await.map_err(describe)?;
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} rows  {per_sec}  eta {eta}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let progress = BarProgress(bar);
    let result = app.run_import(job, &request, &progress).await;
    progress.0.finish_and_clear();
    let result = result.map_err(describe)?;
    let job = &result.job;
    if let Some(path) = &args.report {
        std::fs::write(path, leadline_service::imports::report_csv(&result.rows))
            .with_context(|| format!("writing report {}", path.display()))?;
    }
    println!(
        "import {}: {} rows — {} created, {} merged, {} unchanged, {} rejected, {} skipped ({} encoding, '{}' delimited)",
        job.id,
        job.total_rows,
        job.created_count,
        job.merged_count,
        job.unchanged_count,
        job.rejected_count,
        job.skipped_count,
        job.encoding.as_deref().unwrap_or("?"),
        job.delimiter.as_deref().unwrap_or("?"),
    );
    if header_only {
        println!("  the file has a header row but no rows of data");
    }
    for row in result
        .rows
        .iter()
        .filter(|r| r.outcome == "rejected")
        .take(20)
    {
        println!(
            "  line {}: {}",
            row.line,
            row.reason.as_deref().unwrap_or("")
        );
    }
    if job.rejected_count > 20 {
        println!(
            "  … {} more rejected rows in the report",
            job.rejected_count - 20
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_in_database_urls_are_masked() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact("sqlite:leadline.sqlite"), "sqlite:leadline.sqlite");
    }
}
