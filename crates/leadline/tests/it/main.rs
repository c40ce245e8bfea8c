//! Integration tests: every capture path driven over HTTP (or the CLI binary) against
//! the real server, each test once on SQLite and once on PostgreSQL.

mod harness;

mod api_leads;
mod cli;
mod event_stream;
mod followups;
mod forms;
mod group_commit;
mod hostile_input;
mod imports;
mod kill_harness;
mod lead_scope;
mod lifecycle;
mod matching;
mod notifications;
mod outbox_scale;
mod routing;
mod scoring;
mod slow_clients;
mod ssrf;
mod store_contract;
mod touches;
mod users;

pub use harness::*;
