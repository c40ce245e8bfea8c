//! Leadline storage: one set of migrations and queries for SQLite and PostgreSQL.
//!
//! Everything goes through sqlx's `Any` driver with portable SQL (`$n` placeholders,
//! TEXT ids, BIGINT millisecond times, TEXT JSON). The few real dialect differences —
//! connection setup — live in `db.rs` only. Every query function takes a
//! `&mut AnyConnection`, so callers decide the transaction boundaries.

pub mod db;
pub mod duplicates;
pub mod error;
pub mod followups;
pub mod forms;
pub mod imports;
pub mod lead_list;
pub mod leads;
pub mod merges;
pub mod outbox;
pub mod sessions;
pub mod settings;
pub mod sources;
pub mod templates;
pub mod timeline;
pub mod tokens;
pub mod touches;
pub mod uploads;
pub mod users;
pub mod views;
pub mod work;

pub use db::Tx;
pub use db::{Backend, Db, MissingDatabase};
pub use error::StoreError;
pub use sqlx::AnyConnection;

/// Result type of every store function.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A new sortable unique id (ULID text). Ids made by one process increase strictly,
/// even within one millisecond, so "ordered by time, then id" is the order things
/// happened in (timeline events, touches).
pub fn new_id() -> String {
    static GENERATOR: std::sync::Mutex<ulid::Generator> =
        std::sync::Mutex::new(ulid::Generator::new());
    let mut generator = GENERATOR
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    // The monotonic generator only fails when 2^80 ids were made in one millisecond.
    generator
        .generate()
        .unwrap_or_else(|_| ulid::Ulid::new())
        .to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_increase_strictly_within_a_millisecond() {
        let ids: Vec<String> = (0..10_000).map(|_| super::new_id()).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
    }
}
