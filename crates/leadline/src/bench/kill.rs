//! The kill harness: does a "request a call" that the server acknowledged survive the
//! server being killed?
//!
//! It runs the real `leadline serve` as a child process, sets it up through the CLI and
//! the API (an admin token, reps working round the clock, a routing rule for sales-ready
//! leads, a call-request form), offers form submissions at a fixed rate, sends SIGKILL
//! or SIGTERM in the middle of the burst, restarts the server on the same database,
//! waits for follow-up work to settle and then reads every acknowledged submission back
//! through the API: one lead with its e-mail, its answers stored, an owner. It knows
//! nothing of how the server keeps its promises, only what it promised.
//!
//! Shared by `leadline bench kill` and the integration test `kill_harness`, which
//! includes this file (and `load.rs`) with `#[path]`; all traffic goes to 127.0.0.1.

use super::load::{form_token, open_loop_until, round_the_clock};
use anyhow::Context;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashSet, VecDeque};
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};

/// How the server is stopped mid-burst.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGKILL: the process dies at once, holding whatever it held.
    Kill,
    /// SIGTERM: an orderly shutdown, which must finish or hand back what it holds.
    Term,
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Signal::Kill => "SIGKILL",
            Signal::Term => "SIGTERM",
        })
    }
}

/// One run of the harness.
#[derive(Debug, Clone)]
pub struct KillPlan {
    /// The `leadline` binary to run as the server.
    pub exe: PathBuf,
    /// An empty database (`sqlite:FILE` or a Postgres URL) the run may fill.
    pub database_url: String,
    pub signal: Signal,
    /// Submissions offered per second.
    pub rate: u32,
    /// How long submissions are offered.
    pub burst: Duration,
    /// When the signal is due, counted from the start of the burst. It goes out with
    /// the first acknowledgement after that (or 2 s later if none comes), so that the
    /// server holds work it has just promised. A late signal stretches the burst: offers
    /// go on for `burst - kill_after` after it, so the signal always falls mid-burst.
    pub kill_after: Duration,
    /// Reps sharing the leads by weighted round robin.
    pub reps: usize,
    /// Submissions in flight at most.
    pub concurrency: usize,
    /// Follow-ups count as settled when nothing more completes for this long.
    pub settle_quiet: Duration,
    /// …or, at the latest, this long after the restart.
    pub settle_max: Duration,
    /// How long a server may take to exit after SIGTERM before it is killed (and the
    /// run fails).
    pub shutdown_grace: Duration,
}

/// What became of one acknowledged submission that is not as promised.
#[derive(Debug, Clone)]
pub struct Problem {
    pub email: String,
    /// When its 2xx came, in ms relative to the signal (negative: before it).
    pub acked_ms: i64,
    pub detail: String,
}

/// Everything a run saw. Only acknowledged submissions can be lost: a refused or broken
/// connection promised nothing.
#[derive(Debug, Clone)]
pub struct KillReport {
    pub signal: Signal,
    pub backend: &'static str,
    pub rate: u32,
    pub burst: Duration,
    /// When the signal was due and when it went out (with the next acknowledgement), in
    /// ms since the burst began.
    pub due_ms: u64,
    pub signal_ms: u64,
    pub offered: usize,
    pub offered_before_signal: usize,
    /// Answered 2xx.
    pub acknowledged: usize,
    pub acknowledged_after_signal: usize,
    /// Sent after the signal and not answered (the server was going or gone).
    pub refused: usize,
    /// Sent before the signal; the connection broke before an answer.
    pub failed: usize,
    /// Answered with another status: status → count.
    pub rejected: BTreeMap<u16, usize>,
    /// How the first server ended ("signal: 9 (SIGKILL)", "exit status: 0").
    pub exit: String,
    pub exit_after_ms: u64,
    /// Set when a SIGTERMed server did not exit within the grace period and was killed.
    pub hung_on_term: bool,
    /// Time from restart until the checks settled, and why they stopped.
    pub settle_ms: u64,
    pub settled_because: &'static str,
    pub lost: Vec<Problem>,
    pub duplicated: Vec<Problem>,
    pub unanswered: Vec<Problem>,
    pub unrouted: Vec<Problem>,
    /// WARN and ERROR lines both servers logged (the first few) and how many in all.
    pub server_log: Vec<String>,
    pub server_log_lines: usize,
}

impl KillReport {
    /// Every acknowledged submission captured once, answered and routed, and a
    /// SIGTERMed server stopped by itself.
    pub fn is_clean(&self) -> bool {
        self.lost.is_empty()
            && self.duplicated.is_empty()
            && self.unanswered.is_empty()
            && self.unrouted.is_empty()
            && !self.hung_on_term
    }
}

impl fmt::Display for KillReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "kill harness, {}: {} at {} ms (due at {} ms, sent with the next acknowledgement) of a {:.1} s burst at {}/s on {}",
            if self.is_clean() { "CLEAN" } else { "FAILED" },
            self.signal,
            self.signal_ms,
            self.due_ms,
            self.burst.as_secs_f64(),
            self.rate,
            self.backend
        )?;
        let rejected = if self.rejected.is_empty() {
            "none".to_string()
        } else {
            self.rejected
                .iter()
                .map(|(status, n)| format!("{n}× {status}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        writeln!(
            f,
            "  offered {} ({} before the signal); acknowledged {} ({} of them sent after the signal); \
             refused {} (sent after the signal); failed {} (in flight at the signal); other answers: {rejected}",
            self.offered,
            self.offered_before_signal,
            self.acknowledged,
            self.acknowledged_after_signal,
            self.refused,
            self.failed,
        )?;
        writeln!(
            f,
            "  first server: {} {} ms after the signal{}; restarted; checks settled after {} ms ({})",
            self.exit,
            self.exit_after_ms,
            if self.hung_on_term {
                " — it did not stop by itself and was killed"
            } else {
                ""
            },
            self.settle_ms,
            self.settled_because,
        )?;
        writeln!(
            f,
            "  of the acknowledged: lost {}, duplicated {}, unanswered {}, unrouted {}",
            self.lost.len(),
            self.duplicated.len(),
            self.unanswered.len(),
            self.unrouted.len()
        )?;
        // One line per submission, in the order they were acknowledged.
        let mut by_email: BTreeMap<&str, (i64, Vec<String>)> = BTreeMap::new();
        for (what, problems) in [
            ("lost", &self.lost),
            ("duplicated", &self.duplicated),
            ("unanswered", &self.unanswered),
            ("unrouted", &self.unrouted),
        ] {
            for p in problems {
                let entry = by_email.entry(&p.email).or_insert((p.acked_ms, Vec::new()));
                entry.1.push(format!("{what}: {}", p.detail));
            }
        }
        let mut lines: Vec<_> = by_email.into_iter().collect();
        lines.sort_by_key(|(email, (acked_ms, _))| (*acked_ms, *email));
        for (email, (acked_ms, problems)) in lines {
            writeln!(
                f,
                "    {email} (acknowledged {} ms {} the signal) — {}",
                acked_ms.abs(),
                if acked_ms < 0 { "before" } else { "after" },
                problems.join("; ")
            )?;
        }
        if self.server_log_lines > 0 {
            writeln!(
                f,
                "  the servers logged {} warnings/errors; the first:",
                self.server_log_lines
            )?;
            for line in &self.server_log {
                writeln!(f, "    {line}")?;
            }
        }
        Ok(())
    }
}

/// What the servers wrote to stderr that matters here.
#[derive(Debug, Default)]
struct ServerLog {
    /// The first WARN/ERROR lines, and how many there were.
    problems: Vec<String>,
    problem_count: usize,
    /// The last lines, whatever they were (to explain a failed start).
    tail: VecDeque<String>,
}

const LOGGED_PROBLEMS_KEPT: usize = 12;

/// A `leadline serve` child process on a loopback port it chose itself.
struct Server {
    child: tokio::process::Child,
    base: String,
}

/// How a server process ended.
struct Exit {
    status: String,
    after: Duration,
    forced: bool,
}

impl Server {
    /// Starts the server and waits for the line saying where it listens, then for a
    /// healthy `/healthz`.
    async fn start(
        exe: &PathBuf,
        database_url: &str,
        log: Arc<Mutex<ServerLog>>,
    ) -> anyhow::Result<Server> {
        let mut child = tokio::process::Command::new(exe)
            .args([
                "serve",
                "--bind",
                "127.0.0.1:0",
                "--database-url",
                database_url,
            ])
            .args(["--form-rate-limit", "1000000000"])
            .env("LEADLINE_LOG", "warn")
            .env("NO_COLOR", "1")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", exe.display()))?;
        let stderr = child.stderr.take().context("server stderr")?;
        let stderr_log = log.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let mut log = stderr_log.lock().unwrap_or_else(|p| p.into_inner());
                if line.contains("ERROR") || line.contains("WARN") {
                    log.problem_count += 1;
                    if log.problems.len() < LOGGED_PROBLEMS_KEPT {
                        log.problems.push(line.chars().take(400).collect());
                    }
                }
                if log.tail.len() == 20 {
                    log.tail.pop_front();
                }
                log.tail.push_back(line);
            }
        });
        let stdout = child.stdout.take().context("server stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let find_address = async {
            while let Some(line) = lines.next_line().await? {
                if let Some(base) = listening_address(&line) {
                    return Ok(Some(base));
                }
            }
            Ok::<_, std::io::Error>(None)
        };
        let base = match tokio::time::timeout(Duration::from_secs(60), find_address).await {
            Ok(Ok(Some(base))) => base,
            outcome => {
                let _ = child.start_kill();
                let status = child
                    .wait()
                    .await
                    .map(|s| s.to_string())
                    .unwrap_or_default();
                let tail: Vec<String> = log
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .tail
                    .iter()
                    .cloned()
                    .collect();
                let why = match outcome {
                    Err(_) => "printed no \"listening on http://…\" line within 60 s".to_string(),
                    Ok(Err(e)) => format!("stdout failed: {e}"),
                    Ok(Ok(None)) => format!("ended ({status}) before it listened"),
                    Ok(Ok(Some(_))) => unreachable!(),
                };
                anyhow::bail!("the server {why}; its last log lines:\n{}", tail.join("\n"));
            }
        };
        // Keep reading stdout so the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let health = reqwest::Client::new()
            .get(format!("{base}/healthz"))
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .context("GET /healthz")?;
        anyhow::ensure!(
            health.status().is_success(),
            "/healthz answered {}",
            health.status()
        );
        Ok(Server { child, base })
    }

    fn signal(&mut self, signal: Signal) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait()? {
            anyhow::bail!("the server had already exited ({status}) when the {signal} was due");
        }
        match signal {
            Signal::Kill => self.child.start_kill()?,
            Signal::Term => {
                let pid = self.child.id().context("server pid")?;
                let status = std::process::Command::new("kill")
                    .args(["-TERM", &pid.to_string()])
                    .status()
                    .context("running kill -TERM")?;
                anyhow::ensure!(status.success(), "kill -TERM {pid}: {status}");
            }
        }
        Ok(())
    }

    /// Waits for the process to end; after `grace` it is killed.
    async fn wait_exit(&mut self, since: Instant, grace: Duration) -> anyhow::Result<Exit> {
        let (status, forced) = match tokio::time::timeout(grace, self.child.wait()).await {
            Ok(status) => (status?, false),
            Err(_) => {
                self.child.start_kill()?;
                (self.child.wait().await?, true)
            }
        };
        Ok(Exit {
            status: status.to_string(),
            after: since.elapsed(),
            forced,
        })
    }
}

/// `http://127.0.0.1:PORT` from the server's "listening on http://…" line.
fn listening_address(line: &str) -> Option<String> {
    if !line.contains("listening") {
        return None;
    }
    let start = line.find("http://")?;
    let address: String = line[start..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != ')' && *c != ',')
        .collect();
    Some(address.trim_end_matches('/').to_string())
}

/// An admin token from `leadline token create` on the server's database.
async fn admin_token(exe: &PathBuf, database_url: &str) -> anyhow::Result<String> {
    let out = tokio::process::Command::new(exe)
        .args([
            "token",
            "create",
            "--name",
            "kill-harness",
            "--database-url",
            database_url,
        ])
        .env("LEADLINE_LOG", "warn")
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .context("running leadline token create")?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    anyhow::ensure!(
        out.status.success(),
        "leadline token create failed ({}): {}{}",
        out.status,
        stdout,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(|l| l.trim().to_string())
        .context("leadline token create printed no token")
}

/// The JSON API as the admin.
struct Api {
    client: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    fn new(base: &str, token: &str) -> anyhow::Result<Api> {
        Ok(Api {
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()?,
            base: base.to_string(),
            token: token.to_string(),
        })
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> anyhow::Result<(StatusCode, Value)> {
        let response = request.bearer_auth(&self.token).send().await?;
        let status = response.status();
        let text = response.text().await?;
        Ok((
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        ))
    }

    /// A request that must answer `want`; its JSON body.
    async fn expect(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Value,
        want: StatusCode,
    ) -> anyhow::Result<Value> {
        let request = self
            .client
            .request(method.clone(), format!("{}{path}", self.base));
        let (status, answer) = self.send(request.json(&body)).await?;
        anyhow::ensure!(
            status == want,
            "{method} {path} answered {status}: {answer}"
        );
        Ok(answer)
    }

    async fn get(&self, path: &str, query: &[(&str, &str)]) -> anyhow::Result<Value> {
        let request = self.client.get(format!("{}{path}", self.base)).query(query);
        let (status, answer) = self.send(request).await?;
        anyhow::ensure!(
            status.is_success(),
            "GET {path} answered {status}: {answer}"
        );
        Ok(answer)
    }
}

/// Reps, their team, the routing rule and the form; returns the rep ids and the form key.
async fn set_up(api: &Api, reps: usize) -> anyhow::Result<(HashSet<String>, String)> {
    let mut rep_ids = Vec::new();
    for n in 0..reps.max(1) {
        let rep = api
            .expect(
                reqwest::Method::POST,
                "/api/v1/users",
                json!({ "email": format!("rep{n}@kill-harness.example.com"), "name": format!("Rep {n}"),
                        "role": "rep", "capacity": 100_000, "working_hours": round_the_clock() }),
                StatusCode::CREATED,
            )
            .await?;
        rep_ids.push(rep["id"].as_str().context("user id")?.to_string());
    }
    let team = api
        .expect(
            reqwest::Method::POST,
            "/api/v1/teams",
            json!({ "name": "Call-back team", "member_ids": rep_ids }),
            StatusCode::CREATED,
        )
        .await?;
    let rules = json!({ "rules": [{
        "id": "call-requests", "name": "Sales-ready leads to the call-back team", "conditions": [],
        "target": { "type": "team", "team_id": team["id"], "strategy": "weighted_round_robin" } }] });
    api.expect(
        reqwest::Method::PUT,
        "/api/v1/routing",
        rules,
        StatusCode::OK,
    )
    .await?;
    let fields: Vec<Value> = [
        ("email", "E-mail"),
        ("first_name", "First name"),
        ("company", "Company"),
        ("answers.asked_to_be_contacted", "Shall we call you?"),
        ("answers.timeframe", "When are you buying?"),
    ]
    .iter()
    .map(|(name, label)| json!({ "name": name, "label": label, "required": *name == "email" }))
    .collect();
    let form = api
        .expect(
            reqwest::Method::POST,
            "/api/v1/forms",
            json!({ "name": "Request a call", "source": "Call requests", "fields": fields,
                    "default_region": "US", "min_fill_seconds": 0 }),
            StatusCode::CREATED,
        )
        .await?;
    let key = form["key"].as_str().context("form key")?.to_string();
    Ok((rep_ids.into_iter().collect(), key))
}

/// One offered submission and what came of it.
struct Offer {
    email: String,
    sent: Instant,
    answered: Instant,
    outcome: Result<StatusCode, String>,
}

fn email_of(n: u64) -> String {
    format!("caller{n}@buyer{}.kill-harness.example.com", n % 97)
}

/// The answers every submission carries, as the qualification shows them.
const ANSWERS: [(&str, &str); 2] = [("asked_to_be_contacted", "yes"), ("timeframe", "now")];

/// Where an acknowledged submission stands.
enum Standing {
    Complete,
    Lost,
    Duplicated(Vec<String>),
    Incomplete {
        unanswered: Option<String>,
        unrouted: Option<String>,
    },
}

async fn standing(api: &Api, email: &str, reps: &HashSet<String>) -> anyhow::Result<Standing> {
    let found = api
        .get("/api/v1/leads", &[("email", email), ("limit", "10")])
        .await?;
    let ids: Vec<String> = found["leads"]
        .as_array()
        .context("leads")?
        .iter()
        .filter_map(|l| l["id"].as_str().map(str::to_string))
        .collect();
    let id = match ids.as_slice() {
        [] => return Ok(Standing::Lost),
        [id] => id,
        _ => return Ok(Standing::Duplicated(ids)),
    };
    let q = api
        .get(&format!("/api/v1/leads/{id}/qualification"), &[])
        .await?;
    let missing: Vec<&str> = ANSWERS
        .iter()
        .filter(|(question, want)| {
            let given = &q["answers"][question];
            // Plain text today; an answer kept beside its free text may be an object.
            !(given.as_str() == Some(want)
                || (given.is_object() && given.to_string().contains(want)))
        })
        .map(|(question, _)| *question)
        .collect();
    let unanswered = (!missing.is_empty()).then(|| {
        format!(
            "{} not stored on lead {id} (its answers: {})",
            missing.join(" and "),
            q["answers"]
        )
    });
    let unrouted = match q["owner_id"].as_str() {
        Some(owner) if reps.contains(owner) => None,
        Some(owner) => Some(format!("lead {id} is owned by {owner}, none of the reps")),
        None => Some(format!(
            "lead {id} has no owner (stage {}, sales_ready {})",
            q["stage"], q["sales_ready"]
        )),
    };
    Ok(match (unanswered, unrouted) {
        (None, None) => Standing::Complete,
        (unanswered, unrouted) => Standing::Incomplete {
            unanswered,
            unrouted,
        },
    })
}

/// Runs the plan: set up, burst, signal, restart, settle, check.
pub async fn run(plan: &KillPlan) -> anyhow::Result<KillReport> {
    let log = Arc::new(Mutex::new(ServerLog::default()));
    let mut server = Server::start(&plan.exe, &plan.database_url, log.clone()).await?;
    let token = admin_token(&plan.exe, &plan.database_url).await?;
    let api = Api::new(&server.base, &token)?;
    let (reps, form_key) = set_up(&api, plan.reps).await?;

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(plan.concurrency)
        .timeout(Duration::from_secs(30))
        .build()?;
    let form_url = format!("{}/f/{form_key}", server.base);
    let ts = form_token(&client, &form_url).await?;

    // The signal goes out on its own task while the sender keeps offering.
    let burst_start = Instant::now();
    let (signal, grace) = (plan.signal, plan.shutdown_grace);
    let signal_due = burst_start + plan.kill_after;
    let (acks, mut acked_seen) = tokio::sync::watch::channel(0u64);
    let acks = Arc::new(acks);
    let (signal_sent, signal_seen) = tokio::sync::oneshot::channel::<Instant>();
    let stopper = tokio::spawn(async move {
        tokio::time::sleep_until(signal_due.into()).await;
        acked_seen.mark_unchanged();
        let _ = tokio::time::timeout(Duration::from_secs(2), acked_seen.changed()).await;
        let at = Instant::now();
        let _ = signal_sent.send(at);
        let exit = match server.signal(signal) {
            Ok(()) => server.wait_exit(at, grace).await,
            Err(e) => Err(e),
        };
        (at, exit)
    });
    // On a loaded machine the first acknowledgement after `kill_after` can come after
    // the planned burst is over; the rest of the burst then follows the signal.
    let burst_end = burst_start + plan.burst;
    let after_signal = plan.burst.saturating_sub(plan.kill_after);
    let stop = async move {
        let end = match signal_seen.await {
            Ok(at) => burst_end.max(at + after_signal),
            Err(_) => burst_end,
        };
        tokio::time::sleep_until(end.into()).await;
    };
    let offers = open_loop_until(plan.rate, stop, plan.concurrency, |n| {
        let (client, url, acks) = (client.clone(), form_url.clone(), acks.clone());
        let email = email_of(n);
        let body = json!({ "_ts": ts, "email": email, "first_name": format!("Caller {n}"),
                           "company": format!("Buyer {n} Ltd"),
                           "answers.asked_to_be_contacted": "yes", "answers.timeframe": "now" });
        async move {
            let sent = Instant::now();
            let outcome = match client.post(&url).json(&body).send().await {
                Ok(response) => Ok(response.status()),
                Err(e) => Err(e.to_string()),
            };
            if outcome.as_ref().is_ok_and(StatusCode::is_success) {
                acks.send_modify(|n| *n += 1);
            }
            Offer {
                email,
                sent,
                answered: Instant::now(),
                outcome,
            }
        }
    })
    .await?;
    let (signal_at, exit) = stopper.await?;
    let exit = exit?;

    let mut server = Server::start(&plan.exe, &plan.database_url, log.clone()).await?;
    let api = Api::new(&server.base, &token)?;

    let ms_from_signal = |t: Instant| -> i64 {
        if t >= signal_at {
            t.duration_since(signal_at).as_millis() as i64
        } else {
            -(signal_at.duration_since(t).as_millis() as i64)
        }
    };
    let mut acked: BTreeMap<String, i64> = BTreeMap::new();
    let (mut refused, mut failed, mut acknowledged_after_signal) = (0, 0, 0);
    let mut rejected = BTreeMap::new();
    for offer in &offers {
        match &offer.outcome {
            Ok(status) if status.is_success() => {
                acked.insert(offer.email.clone(), ms_from_signal(offer.answered));
                acknowledged_after_signal += usize::from(offer.sent >= signal_at);
            }
            Ok(status) => *rejected.entry(status.as_u16()).or_insert(0) += 1,
            Err(_) if offer.sent >= signal_at => refused += 1,
            Err(_) => failed += 1,
        }
    }

    // Settle: re-check what is not yet as promised until it all is, or until nothing
    // more comes right for `settle_quiet`.
    let restarted = Instant::now();
    let mut standings: BTreeMap<String, Standing> = BTreeMap::new();
    let mut pending: Vec<String> = acked.keys().cloned().collect();
    let mut last_progress = Instant::now();
    let settled_because = loop {
        let checked: Vec<(String, anyhow::Result<Standing>)> = {
            use futures::StreamExt;
            futures::stream::iter(pending.iter().cloned())
                .map(|email| {
                    let (api, reps) = (&api, &reps);
                    async move {
                        let s = standing(api, &email, reps).await;
                        (email, s)
                    }
                })
                .buffer_unordered(16)
                .collect()
                .await
        };
        let before = pending.len();
        pending.clear();
        for (email, s) in checked {
            let s = s.with_context(|| format!("checking {email}"))?;
            if !matches!(s, Standing::Complete) {
                pending.push(email.clone());
            }
            standings.insert(email, s);
        }
        if pending.is_empty() {
            break "everything acknowledged is complete";
        }
        if pending.len() < before {
            last_progress = Instant::now();
        }
        if last_progress.elapsed() >= plan.settle_quiet {
            break "nothing more completed for the quiet period";
        }
        if restarted.elapsed() >= plan.settle_max {
            break "gave up at the time limit";
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let settle_ms = restarted.elapsed().as_millis() as u64;

    let mut report = KillReport {
        signal: plan.signal,
        backend: if plan.database_url.starts_with("postgres") {
            "PostgreSQL"
        } else {
            "SQLite"
        },
        rate: plan.rate,
        // As offered: longer than planned when the signal came late.
        burst: offers
            .last()
            .map_or(plan.burst, |o| o.sent.duration_since(burst_start)),
        due_ms: plan.kill_after.as_millis() as u64,
        signal_ms: signal_at.duration_since(burst_start).as_millis() as u64,
        offered: offers.len(),
        offered_before_signal: offers.iter().filter(|o| o.sent < signal_at).count(),
        acknowledged: acked.len(),
        acknowledged_after_signal,
        refused,
        failed,
        rejected,
        exit: exit.status,
        exit_after_ms: exit.after.as_millis() as u64,
        hung_on_term: plan.signal == Signal::Term && exit.forced,
        settle_ms,
        settled_because,
        lost: Vec::new(),
        duplicated: Vec::new(),
        unanswered: Vec::new(),
        unrouted: Vec::new(),
        server_log: Vec::new(),
        server_log_lines: 0,
    };
    for (email, s) in standings {
        let problem = |detail: String| Problem {
            email: email.clone(),
            acked_ms: acked[&email],
            detail,
        };
        match s {
            Standing::Complete => {}
            Standing::Lost => report.lost.push(problem("no lead has this e-mail".into())),
            Standing::Duplicated(ids) => {
                report
                    .duplicated
                    .push(problem(format!("{} leads: {}", ids.len(), ids.join(", "))))
            }
            Standing::Incomplete {
                unanswered,
                unrouted,
            } => {
                if let Some(detail) = unanswered {
                    report.unanswered.push(problem(detail));
                }
                if let Some(detail) = unrouted {
                    report.unrouted.push(problem(detail));
                }
            }
        }
    }

    let stop_at = Instant::now();
    server.signal(Signal::Term)?;
    server.wait_exit(stop_at, plan.shutdown_grace).await?;
    let log = log.lock().unwrap_or_else(|p| p.into_inner());
    report.server_log = log.problems.clone();
    report.server_log_lines = log.problem_count;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::listening_address;

    #[test]
    fn the_address_comes_from_the_listening_line() {
        assert_eq!(
            listening_address("Leadline is listening on http://127.0.0.1:41234 (health: http://127.0.0.1:41234/healthz)"),
            Some("http://127.0.0.1:41234".into())
        );
        assert_eq!(
            listening_address("leadline listening on http://127.0.0.1:80/, demo at …"),
            Some("http://127.0.0.1:80".into())
        );
        assert_eq!(
            listening_address("demo loaded: http://127.0.0.1:80/f/x"),
            None
        );
        assert_eq!(listening_address("listening soon"), None);
    }
}
