//! Command-line interface.

use clap::{Args, Parser, Subcommand};
use leadline_domain::Channel;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "leadline",
    version,
    about = "Self-hosted lead generation and lead management server"
)]
pub struct Cli {
    /// Database: `sqlite:FILE` (the default; `serve`, `migrate` and `demo` create a
    /// missing file, other commands refuse it) or `postgres://USER@HOST/DB`.
    #[arg(
        long,
        global = true,
        env = "LEADLINE_DATABASE_URL",
        default_value = "sqlite:leadline.sqlite"
    )]
    pub database_url: String,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (API, hosted forms) after applying migrations.
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate,
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage scoring rules.
    #[command(subcommand)]
    Scoring(ScoringCommand),
    /// Rescore every scored lead now (what the server's decay job does periodically).
    Rescore,
    /// Learn or show the duplicate-matching model of this database.
    #[command(subcommand)]
    Matching(MatchingCommand),
    /// Find duplicates among the stored leads (after the match rules changed, or
    /// after leads came in without matching): merge the sure ones, each undoably,
    /// and queue the possible ones for review (GET /api/v1/duplicates).
    Dedupe(DedupeArgs),
    /// Undo merges exactly, by merge id (as `dedupe` prints them); newest first.
    UndoMerge {
        #[arg(required = true)]
        merge_ids: Vec<String>,
    },
    /// Import a CSV list of leads.
    Import(ImportArgs),
    /// Load the generated demo data set into an empty database.
    Demo {
        #[arg(long, default_value_t = 3000)]
        leads: usize,
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// Measure capture and import performance, and matching quality (see BENCHMARKS.md).
    Bench(crate::bench::BenchArgs),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "LEADLINE_BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,
    /// Load the demo data set first (only into an empty database).
    #[arg(long)]
    pub demo: bool,
    #[arg(long, default_value_t = 3000, hide = true)]
    pub demo_leads: usize,
    #[arg(long, default_value_t = 42, hide = true)]
    pub demo_seed: u64,
    /// Public base URL (for form links and embed snippets); default http://BIND.
    #[arg(long, env = "LEADLINE_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Form submissions allowed per client IP per minute.
    #[arg(long, env = "LEADLINE_FORM_RATE_LIMIT", default_value_t = 20)]
    pub form_rate_limit: u32,
    /// Read the client IP from X-Forwarded-For (only behind a trusted reverse proxy).
    #[arg(long, env = "LEADLINE_TRUST_FORWARDED_FOR")]
    pub trust_forwarded_for: bool,
    /// Minutes between runs of the job that rescores leads so old activity fades.
    #[arg(long, default_value_t = 15)]
    pub rescore_every_minutes: u64,
    /// Largest CSV upload accepted by the API, in MiB.
    #[arg(long, default_value_t = 200)]
    pub max_import_mb: usize,
    /// SMTP server for e-mail alerts: smtp://host:port (plain, local relay),
    /// smtp://user:pass@host:587?tls=required (STARTTLS) or smtps://host:465.
    /// Without it no e-mail is sent.
    #[arg(long, env = "LEADLINE_SMTP_URL")]
    pub smtp_url: Option<String>,
    /// Sender of e-mail alerts.
    #[arg(
        long,
        env = "LEADLINE_MAIL_FROM",
        default_value = "Leadline <leadline@localhost>"
    )]
    pub mail_from: String,
    /// Seconds a webhook endpoint has to answer before the attempt counts as failed.
    #[arg(long, env = "LEADLINE_WEBHOOK_TIMEOUT", default_value_t = 10)]
    pub webhook_timeout_secs: u64,
    /// Let webhooks reach an internal network (CIDR such as 10.0.0.0/8, or one
    /// address); repeatable, or comma-separated in the environment variable. Without
    /// it webhooks reach public addresses only (no loopback, private, link-local or
    /// metadata addresses).
    #[arg(
        long = "webhook-allow-network",
        value_name = "CIDR",
        env = "LEADLINE_WEBHOOK_ALLOW_NETWORKS",
        value_delimiter = ','
    )]
    pub webhook_allow_networks: Vec<String>,
    /// Seconds a client has to send a request's headers, and to start its next request
    /// on a kept-alive connection, before the connection is closed.
    #[arg(long, env = "LEADLINE_HEADER_TIMEOUT", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pub header_timeout_secs: u64,
    /// Seconds a request body may stall (or, after that, arrive slower than 1 KiB/s)
    /// before the request fails with 408.
    #[arg(long, env = "LEADLINE_BODY_TIMEOUT", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    pub body_timeout_secs: u64,
    /// Connections served at once; more wait until one closes. Default 4096, or fewer
    /// to leave 256 file descriptors free under the open-files limit.
    #[arg(long, env = "LEADLINE_MAX_CONNECTIONS", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_connections: Option<u64>,
    /// Hours an answer to a request with an Idempotency-Key is kept for replay.
    #[arg(long, default_value_t = 24)]
    pub idempotency_retention_hours: u64,
    /// After an import that created or merged at least this many leads, learn the
    /// match model again in the background. 0 (the default) never does: on the B2B
    /// benchmark list the trained model is less precise than the prior (BENCHMARKS.md),
    /// so training stays a deliberate `leadline matching train` for now.
    #[arg(long, default_value_t = 0)]
    pub retrain_after_import_rows: u64,
    /// Memory for the comparable views of leads that capture keeps between batches, in
    /// MiB (about 375 bytes a lead): with room for every lead, an import into a large
    /// database reads far fewer rows from disk.
    #[arg(long, env = "LEADLINE_MATCH_CACHE_MIB", default_value_t = 400, value_parser = clap::value_parser!(u64).range(1..))]
    pub match_cache_mib: u64,
    /// Milliseconds between checks for deliveries falling due (retries); new events
    /// are picked up at once.
    #[arg(long, default_value_t = 1000, hide = true)]
    pub outbox_poll_ms: u64,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token; the token is printed once, as the last line.
    Create {
        #[arg(long)]
        name: String,
        /// E-mail of the user the token acts as (default: the first admin, created if
        /// the database has no users yet).
        #[arg(long)]
        user: Option<String>,
    },
    /// List tokens (never their secrets): id, name, user, created, last used, state.
    List {
        /// Only the tokens of the user with this e-mail.
        #[arg(long)]
        user: Option<String>,
    },
    /// Revoke a token by id (see `token list`); it is refused from the next request on.
    Revoke { id: String },
}

#[derive(Debug, Subcommand)]
pub enum ScoringCommand {
    /// Replace the scoring rules with those in a TOML file (validated first).
    Load { file: PathBuf },
    /// Print the rules in force as JSON.
    Show,
}

#[derive(Debug, Subcommand)]
pub enum MatchingCommand {
    /// Learn the match weights from this database's own leads (u from random pairs, m
    /// by EM per blocking pass, the population prior) and put them in force for every
    /// instance.
    Train {
        /// Most candidate pairs to learn from.
        #[arg(long, default_value_t = 2_000_000)]
        max_pairs: usize,
    },
    /// Rebuild every lead's and alias's blocking keys in the form this build makes
    /// (the server does it at start when the stored form is older).
    Reindex,
    /// Print the model in force: where it came from, the prior odds, the thresholds
    /// and every comparison level's m, u and weight.
    Show {
        /// The whole model as JSON (term-frequency tables included).
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user.
    Add {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// admin, manager, marketer or rep.
        #[arg(long)]
        role: String,
        /// Read a password (for the web app) from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        /// When a rep works: `mon-fri 09:00-17:00`, several groups with `;`
        /// (`mon-fri 09:00-12:00,13:00-17:00; sat 10:00-14:00`), `none`, or the JSON of
        /// the API ({"time_zone": …, "week": [{"day", "start", "end"}], "holidays": […]}).
        /// Default mon-fri 09:00-17:00.
        #[arg(long)]
        working_hours: Option<String>,
        /// IANA time zone of the working hours, e.g. Europe/London (default UTC).
        #[arg(long)]
        time_zone: Option<String>,
        /// A territory the rep covers: a country (`GB`, `Germany`) or country and region
        /// (`US-CA`). Repeat for several.
        #[arg(long)]
        territory: Vec<String>,
        /// Open leads the rep may hold at most (default 50).
        #[arg(long)]
        capacity: Option<i64>,
        /// The rep's share of team round robin, 1 to 1000 (default 1).
        #[arg(long)]
        weight: Option<i64>,
    },
    /// List users.
    List,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The CSV file (UTF-8, UTF-8 with BOM or Windows-1252; delimiter detected).
    pub file: PathBuf,
    /// Source of the list, e.g. "SaaStr 2026 badge scans"; created on first use.
    #[arg(long)]
    pub source: String,
    #[arg(long)]
    pub campaign: Option<String>,
    /// Channel of the source when it is created.
    #[arg(long, default_value = "import")]
    pub channel: Channel,
    /// Map a column to a field: `--map "Mobil=phone"`, `--map "Notes=custom.notes"`, `--map "X=ignore"`.
    #[arg(long)]
    pub map: Vec<String>,
    /// Region for phone numbers written without a country code (e.g. GB, "Germany").
    #[arg(long)]
    pub default_region: Option<String>,
    /// Write the per-row report (line, outcome, lead_id, reason) to this CSV file.
    #[arg(long)]
    pub report: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DedupeArgs {
    /// Merge pairs at least this probable (0 to 1); default the model's
    /// sure_probability (`leadline matching show`). Pairs below it that are at least
    /// possible are queued for review.
    #[arg(long)]
    pub threshold: Option<f64>,
    /// Change nothing; report what would be merged and queued.
    #[arg(long)]
    pub dry_run: bool,
}
