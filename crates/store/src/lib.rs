//! Leadline storage: one set of migrations and queries for SQLite and PostgreSQL.
//!
//! Everything goes through sqlx's `Any` driver with portable SQL (`$n` placeholders,
//! TEXT ids, BIGINT millisecond times, TEXT JSON). The few real dialect differences —
//! connection setup — live in `db.rs` only. Every query function takes a
//! `&mut AnyConnection`, so callers decide the transaction boundaries.

pub mod db;
pub mod error;
pub mod forms;
pub mod imports;
pub mod leads;
pub mod merges;
pub mod settings;
pub mod sources;
pub mod timeline;
pub mod tokens;
pub mod touches;
pub mod users;
pub mod work;

pub use db::{Backend, Db};
pub use error::StoreError;
pub use sqlx::AnyConnection;

/// Result type of every store function.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A new sortable unique id (ULID text).
pub fn new_id() -> String {
    ulid::Ulid::new().to_string()
}
