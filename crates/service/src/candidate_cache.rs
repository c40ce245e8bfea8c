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

/// Bounded by entries; the least useful are dropped first (S3-FIFO, see quick_cache).
pub(crate) struct CandidateCache(quick_cache::sync::Cache<String, CachedCandidate>);

impl CandidateCache {
    /// Peak memory of the 100,000-row import bench rose by about 165 MiB with the cache
    /// holding every lead (~1.7 KiB each), so 250,000 entries is about 400 MiB.
    pub const DEFAULT_ENTRIES: usize = 250_000;

    pub fn new(entries: usize) -> CandidateCache {
        CandidateCache(quick_cache::sync::Cache::new(entries.max(1)))
    }

    pub fn get(&self, id: &str) -> Option<CachedCandidate> {
        self.0.get(id)
    }

    pub fn insert(&self, id: String, candidate: CachedCandidate) {
        self.0.insert(id, candidate);
    }

    pub fn remove(&self, id: &str) {
        self.0.remove(id);
    }
}

impl Default for CandidateCache {
    fn default() -> CandidateCache {
        CandidateCache::new(CandidateCache::DEFAULT_ENTRIES)
    }
}
