//! The comparable views of leads that capture has read, kept between batches.
//!
//! An import batch compares its rows with tens of thousands of existing leads; reading
//! each one's values and folding them (case, accents, phonetic codes) again for every
//! batch was the larger part of loading them. The cache keeps each view with the lead's
//! `match_revision` and `merged_into`, and a batch asks the database only which of its
//! cached leads are now at another revision (`leads::changed_since`): every write of a
//! lead's values, `merged_into` among them, bumps its revision (`leads::update`,
//! `leads::update_many`), on whichever instance it happens, so a stale view is never
//! used. Aliases (`lead_aliases`) never change and are kept as they are.
//!
//! Views are kept packed (postcard) in one buffer each, about 375 bytes with the id
//! instead of the ~1.7 KiB of two dozen separate strings, and the cache is bounded by
//! bytes: the same memory holds four times as many, and a batch that finds a
//! view here saves reading a row from disk, which costs far more than unpacking it.

use leadline_domain::matching::Comparable;
use std::sync::Arc;

/// A lead's (or alias's) comparable values at one revision.
#[derive(Clone)]
pub(crate) struct CachedCandidate {
    pub revision: i64,
    /// For an alias, its lead (which never changes); for a lead, the lead it was merged
    /// into at this revision (a merge is a write, so it bumps the revision).
    pub merged_into: Option<String>,
    pub comparable: Arc<Comparable>,
}

/// What the cache holds for one id: `CachedCandidate` packed.
#[derive(Clone)]
struct Packed {
    revision: i64,
    /// postcard of `(merged_into, comparable)`; shared, as the cache hands out clones.
    bytes: Arc<[u8]>,
}

/// Bytes an entry costs beyond its id and packed view: the entry's own fields and the
/// cache's bookkeeping, rounded up.
const ENTRY_OVERHEAD: u64 = 96;

#[derive(Clone)]
struct PackedWeight;

impl quick_cache::Weighter<Box<str>, Packed> for PackedWeight {
    fn weight(&self, id: &Box<str>, packed: &Packed) -> u64 {
        ENTRY_OVERHEAD + id.len() as u64 + packed.bytes.len() as u64
    }
}

/// Bounded by bytes; the least useful are dropped first (S3-FIFO, see quick_cache).
pub(crate) struct CandidateCache(quick_cache::sync::Cache<Box<str>, Packed, PackedWeight>);

impl CandidateCache {
    /// 400 MiB, what 250,000 unpacked views took before they were packed: about
    /// 1,100,000 packed ones (869,000 took 310 MiB, `BENCHMARKS.md`).
    pub const DEFAULT_BYTES: u64 = 400 << 20;

    /// An entry's weight on generated lead lists, rounded up: only sizes the cache's
    /// table, the budget is `bytes`.
    const TYPICAL_ENTRY: u64 = 420;

    pub fn new(bytes: u64) -> CandidateCache {
        let bytes = bytes.max(1);
        let items = (bytes / Self::TYPICAL_ENTRY).max(1) as usize;
        CandidateCache(quick_cache::sync::Cache::with_weighter(
            items,
            bytes,
            PackedWeight,
        ))
    }

    pub fn get(&self, id: &str) -> Option<CachedCandidate> {
        let packed = self.0.get(id)?;
        match postcard::from_bytes::<(Option<String>, Comparable)>(&packed.bytes) {
            Ok((merged_into, comparable)) => Some(CachedCandidate {
                revision: packed.revision,
                merged_into,
                comparable: Arc::new(comparable),
            }),
            // Only this module writes entries, so this is a bug; reading the lead
            // again is always correct.
            Err(error) => {
                tracing::warn!(%error, id, "unreadable candidate cache entry dropped");
                self.0.remove(id);
                None
            }
        }
    }

    pub fn insert(&self, id: String, candidate: CachedCandidate) {
        let view = (&candidate.merged_into, &*candidate.comparable);
        match postcard::to_allocvec(&view) {
            Ok(bytes) => self.0.insert(
                id.into_boxed_str(),
                Packed {
                    revision: candidate.revision,
                    bytes: bytes.into(),
                },
            ),
            Err(error) => tracing::warn!(%error, id, "candidate view not cached"),
        }
    }

    pub fn remove(&self, id: &str) {
        self.0.remove(id);
    }

    /// Entries and their weight in bytes (for the debug log and the bench).
    pub fn usage(&self) -> (usize, u64) {
        (self.0.len(), self.0.weight())
    }
}

impl Default for CandidateCache {
    fn default() -> CandidateCache {
        CandidateCache::new(CandidateCache::DEFAULT_BYTES)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use leadline_domain::matching::{self, MatchRecord};

    fn record(first: &str, last: &str, street: &str) -> MatchRecord {
        MatchRecord {
            email_key: Some(format!("{first}.{last}@example.org").to_lowercase()),
            phone: Some("+14155550123".into()),
            first_name: Some(first.into()),
            last_name: Some(last.into()),
            company_key: Some("Acme".into()),
            street: Some(street.into()),
            postal_code: Some("94110".into()),
            city: Some("San Francisco".into()),
            country: Some("US".into()),
            date_of_birth: Some("1980-02-29".into()),
            ..MatchRecord::default()
        }
    }

    #[test]
    fn a_packed_view_compares_as_the_view_it_was_made_from() {
        let cache = CandidateCache::new(1 << 20);
        let stored = Comparable::new(record("Zoë", "Müller-Lüdenscheidt", "12a Haupt Str"));
        cache.insert(
            "lead-1".into(),
            CachedCandidate {
                revision: 7,
                merged_into: Some("lead-0".into()),
                comparable: Arc::new(stored.clone()),
            },
        );
        let back = cache.get("lead-1").expect("cached");
        assert_eq!(back.revision, 7);
        assert_eq!(back.merged_into.as_deref(), Some("lead-0"));
        // Every folded form comes back too, not only the record.
        assert_eq!(format!("{:?}", back.comparable), format!("{stored:?}"));
        let model = matching::MatchModel::prior();
        for other in [
            record("Zoe", "Muller-Ludenscheidt", "12 Hauptstrasse"),
            record("Lüdenscheidt", "Zoë", "12a Haupt Str"),
            record("Zoë", "Müller-Lüdenscheidt", "12a Haupt Str"),
        ] {
            let other = Comparable::new(other);
            let want = matching::all_matches(&other, [("lead-1", &stored)], &model);
            let got = matching::all_matches(&other, [("lead-1", &*back.comparable)], &model);
            assert!(!want.is_empty());
            assert_eq!(got, want);
        }
    }

    #[test]
    fn the_cache_keeps_to_its_byte_budget_and_an_entry_is_a_few_hundred_bytes() {
        let cache = CandidateCache::new(64 << 10);
        for i in 0..2_000 {
            let view = Comparable::new(record("Anna", &format!("Name{i}"), "3 Elm St"));
            cache.insert(
                format!("01KBZ{i:021}"),
                CachedCandidate {
                    revision: 0,
                    merged_into: None,
                    comparable: Arc::new(view),
                },
            );
        }
        let (entries, bytes) = cache.usage();
        assert!(bytes <= 64 << 10, "{bytes} bytes");
        let per_entry = bytes / entries as u64;
        assert!(
            (150..600).contains(&per_entry),
            "{per_entry} bytes per entry"
        );
    }
}
