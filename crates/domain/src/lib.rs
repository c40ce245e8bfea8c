//! Leadline's pure domain core.
//!
//! Everything in this crate is plain functions over plain types: no database, no HTTP,
//! no clock reads (callers pass the time in). That keeps normalising, matching and merge
//! decisions exhaustively unit-testable and lets the store and web crates stay thin.

pub mod access;
pub mod campaign;
pub mod channel;
pub mod conditions;
pub mod consent;
pub mod demo;
pub mod fields;
pub mod import;
pub mod inbox;
pub mod lifecycle;
pub mod limits;
pub mod matching;
pub mod matching_eval;
pub mod merge;
pub mod netguard;
pub mod normalize;
pub mod notify;
pub mod qualification;
pub mod routing;
pub mod schedule;
pub mod scoring;
pub mod sla;
pub mod template;

pub use channel::Channel;
pub use fields::{LeadField, LeadInput};
