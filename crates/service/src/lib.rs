//! Leadline application services: the use cases (capture, import, merge, forms, tokens)
//! composed from the pure domain core and the store. The HTTP and CLI edges call these
//! and nothing else, so both behave the same.

pub mod capture;
pub mod catalog;
pub mod clock;
pub mod demo;
pub mod error;
pub mod forms;
pub mod imports;
pub mod leads;
pub mod lifecycle;
pub mod merges;
pub mod routing;
pub mod sales_touches;
pub mod scoring;
pub mod sla;
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
    pub matching: leadline_domain::matching::MatchThresholds,
    /// Bumped whenever an import job's state is saved, for long-polling clients.
    import_updates: Arc<tokio::sync::watch::Sender<u64>>,
    /// The form-token signing key, read once from the database.
    form_secret: Arc<tokio::sync::OnceCell<String>>,
}

impl App {
    pub fn new(db: Db, clock: Arc<dyn Clock>) -> App {
        App {
            db,
            clock,
            capture_lock: Arc::new(tokio::sync::Mutex::new(())),
            matching: Default::default(),
            import_updates: Arc::new(tokio::sync::watch::Sender::new(0)),
            form_secret: Arc::new(tokio::sync::OnceCell::new()),
        }
    }

    pub fn now(&self) -> i64 {
        self.clock.now_ms()
    }
}
