//! Integration tests: every capture path driven over HTTP (or the CLI binary) against
//! the real server, each test once on SQLite and once on PostgreSQL.

mod harness;

mod access_matrix;
mod api_leads;
mod campaigns;
mod cli;
mod cli_newcomer;
mod conflicts_and_errors;
mod demo_routing;
mod duplicates;
mod engagement_events;
mod event_stream;
mod followups;
mod forms;
mod group_commit;
mod hostile_input;
mod idempotency;
mod imports;
mod input_limits;
mod kill_harness;
mod lead_scope;
mod lifecycle;
mod list_filters;
mod matching;
mod notifications;
mod outbox_scale;
mod routing;
mod scoring;
mod sessions;
mod slow_clients;
mod ssrf;
mod store_contract;
mod tokens_api;
mod touches;
mod users;
mod web_inbox;
mod web_lists;
mod web_settings;
mod web_sign_in;
mod web_workspace;

pub use harness::*;
