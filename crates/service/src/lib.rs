//! Leadline application services: the use cases (capture, import, merge, forms, tokens)
//! composed from the pure domain core and the store. The HTTP and CLI edges call these
//! and nothing else, so both behave the same.

pub mod access;
mod candidate_cache;
pub mod capture;
pub mod catalog;
pub mod clock;
pub mod dedupe;
pub mod demo;
pub mod duplicates;
pub mod error;
pub mod followups;
pub mod forms;
pub mod imports;
pub mod inbox;
pub mod lead_list;
pub mod leads;
pub mod lifecycle;
pub mod matching;
pub mod merges;
pub mod outbox;
pub mod routing;
pub mod sales_touches;
pub mod scoring;
pub mod sessions;
pub mod sla;
pub mod stream;
pub mod team;
pub mod templates;
pub mod tokens;
pub mod users;

pub use clock::{Clock, SystemClock};
pub use error::ServiceError;

use leadline_store::Db;
use std::sync::Arc;

/// Shared handle to everything a request or job needs.
#[derive(Clone)]
pub struct App {
    pub db: Db,
    pub clock: Arc<dyn Clock>,
    /// Serialises match-then-write so two captures of one person arriving together
    /// cannot both create a lead (one process; see docs/decisions.md for scale-out).
    capture_lock: Arc<tokio::sync::Mutex<()>>,
    /// Single captures waiting to be written together (group commit).
    capture_queue: Arc<capture::CaptureQueue>,
    /// The match model in force, by version (see `matching`).
    model_cache: Arc<matching::ModelCache>,
    /// Weak blocking keys whose block was found over the size cap (see `capture`).
    oversized_keys: Arc<std::sync::Mutex<capture::OversizedKeys>>,
    /// Comparable views of leads capture has read (see `candidate_cache`).
    candidate_cache: Arc<candidate_cache::CandidateCache>,
    /// Learn the match model again after an import of at least this many created or
    /// merged rows (the server sets it; tools and tests leave it off).
    pub retrain_after_import_rows: Option<u64>,
    /// Lease and retention of idempotency keys.
    pub idempotency: tokens::IdempotencySettings,
    /// Bumped whenever an import job's state is saved, for long-polling clients.
    import_updates: Arc<tokio::sync::watch::Sender<u64>>,
    /// The form-token signing key, read once from the database.
    form_secret: Arc<tokio::sync::OnceCell<String>>,
    /// Configuration documents (lifecycle, scoring, routing, SLA) are read on every
    /// capture; they are cached briefly so other instances' changes still show.
    settings_cache: Arc<std::sync::Mutex<SettingsCache>>,
    /// Work that follows a form capture, done by one background worker.
    followups: Arc<followups::Followups>,
    /// Webhook and e-mail delivery, and the signal that events were written.
    outbox: Arc<outbox::Outbox>,
    /// Live events for SSE clients.
    hub: Arc<stream::Hub>,
    /// Open leads per rep, counted at most once a second (see `routing`).
    rep_load: Arc<std::sync::Mutex<Option<RepLoad>>>,
    /// Users and teams as routing reads them, kept for a second (see `routing`).
    directory: Arc<std::sync::Mutex<Option<CachedDirectory>>>,
    /// Recently used forms by key (see `form_by_key`).
    forms_cache: Arc<std::sync::Mutex<FormsCache>>,
    /// Set once at shutdown: background workers finish the run they are in and stop,
    /// so none of them uses the pool after it closes.
    stopping: Arc<tokio::sync::watch::Sender<bool>>,
    /// One first-run setup at a time (see `sessions`).
    setup_lock: Arc<tokio::sync::Mutex<()>>,
}

type FormsCache = std::collections::HashMap<String, (std::time::Instant, forms::Form)>;

type CachedDirectory = (std::time::Instant, Arc<routing::Directory>);

type RepLoad = (std::time::Instant, std::collections::HashMap<String, i64>);

type SettingsCache = std::collections::HashMap<&'static str, (std::time::Instant, Option<String>)>;

/// How long a cached setting is trusted before it is read again.
const SETTINGS_FRESHNESS: std::time::Duration = std::time::Duration::from_secs(5);

impl App {
    pub fn new(db: Db, clock: Arc<dyn Clock>) -> App {
        App {
            db,
            clock,
            capture_lock: Arc::new(tokio::sync::Mutex::new(())),
            capture_queue: Arc::default(),
            model_cache: Arc::default(),
            oversized_keys: Arc::default(),
            candidate_cache: Arc::default(),
            retrain_after_import_rows: None,
            idempotency: Default::default(),
            import_updates: Arc::new(tokio::sync::watch::Sender::new(0)),
            form_secret: Arc::new(tokio::sync::OnceCell::new()),
            settings_cache: Arc::default(),
            followups: followups::Followups::new(),
            outbox: Arc::new(
                outbox::Outbox::new(outbox::NotifyConfig::default())
                    .expect("the default notification settings are valid"),
            ),
            hub: Arc::new(stream::Hub::new()),
            rep_load: Arc::default(),
            directory: Arc::default(),
            forms_cache: Arc::default(),
            stopping: Arc::new(tokio::sync::watch::Sender::new(false)),
            setup_lock: Arc::default(),
        }
    }

    /// Sets the memory capture may keep candidates' comparable views in (see
    /// `candidate_cache`); what the cache held is dropped.
    pub fn set_candidate_cache_bytes(&mut self, bytes: u64) {
        self.candidate_cache = Arc::new(candidate_cache::CandidateCache::new(bytes));
    }

    /// Tells every background worker to stop after the run it is in.
    pub fn stop_background_work(&self) {
        self.stopping.send_replace(true);
    }

    /// Resolves once `stop_background_work` was called: for a worker's waits.
    pub async fn stopped(&self) {
        let mut stopping = self.stopping.subscribe();
        let _ = stopping.wait_for(|stop| *stop).await;
    }

    pub fn is_stopping(&self) -> bool {
        *self.stopping.borrow()
    }

    /// The same app with other notification settings (SMTP, webhook timeout, retries).
    pub fn with_notify(mut self, config: outbox::NotifyConfig) -> error::Result<App> {
        self.outbox = Arc::new(outbox::Outbox::new(config)?);
        Ok(self)
    }

    pub fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    /// A setting's stored text, from the cache when it is fresh.
    pub(crate) async fn setting(&self, name: &'static str) -> error::Result<Option<String>> {
        let cached = {
            let cache = self
                .settings_cache
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            cache
                .get(name)
                .filter(|(at, _)| at.elapsed() < SETTINGS_FRESHNESS)
                .map(|(_, value)| value.clone())
        };
        if let Some(value) = cached {
            return Ok(value);
        }
        let mut conn = self.db.acquire().await?;
        let value = leadline_store::settings::get(&mut conn, name).await?;
        self.settings_cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name, (std::time::Instant::now(), value.clone()));
        Ok(value)
    }

    /// Stores a setting and refreshes this instance's cache at once.
    pub(crate) async fn put_setting(&self, name: &'static str, value: &str) -> error::Result<()> {
        let mut conn = self.db.acquire().await?;
        leadline_store::settings::set(&mut conn, name, value, self.now()).await?;
        self.settings_cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name, (std::time::Instant::now(), Some(value.to_string())));
        Ok(())
    }
}
