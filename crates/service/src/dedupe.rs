//! `leadline dedupe`: finds duplicates among the leads already stored — after the
//! match rules changed, or after leads came in without matching — the way a capture
//! would have: candidates by blocking key, compared with the model in force.
//!
//! Every live lead is read once, in pages in id order, and compared with the live
//! leads sharing a blocking key with it (each pair once, from its lower id). Then,
//! strongest first: a pair at or above the threshold is merged through
//! [`App::merge_leads`]'s path, so each merge can be undone exactly; a pair below it
//! but at least possible goes to the review queue. A pair is not merged but queued
//! when the household guard holds it back or one of its leads was already merged in
//! this run (its values changed since they were compared). Pairs found not to be the
//! same person (dismissed) are never merged or queued again. Every pair the run
//! merges or queues is stored with the run's id.

use crate::duplicates::{new_pair, FoundBy, PairEvidence};
use crate::error::{Result, ServiceError};
use crate::merges::MergePair;
use crate::App;
use leadline_domain::access::LeadScope;
use leadline_domain::matching::{self, Comparable, MatchEvidence};
use leadline_store::duplicates::{self, DuplicatePair, DISMISSED, MERGED, OPEN};
use leadline_store::{leads, new_id, StoreError};
use serde::Serialize;
use std::collections::{HashMap, HashSet};

/// Leads read per page.
pub const PAGE: usize = 1_000;

/// How a run goes.
#[derive(Debug, Clone)]
pub struct DedupeOptions {
    /// Merge pairs at least this probable; default the model's `sure_probability`.
    /// At least the model's `possible_probability` (below it nothing is even queued).
    pub threshold: Option<f64>,
    /// Write nothing; report what would be done.
    pub dry_run: bool,
    /// Who the merges are recorded as.
    pub actor: String,
}

/// A merge the run made (or, dry, would make).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DedupeMerge {
    pub survivor_id: String,
    pub merged_id: String,
    pub probability: f64,
    pub score: f64,
    /// `None` in a dry run.
    pub merge_id: Option<String>,
}

/// A merge the run wanted to make but the database refused (a lead changed since it
/// was read); the pair is left alone.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DedupeFailure {
    pub lead_ids: [String; 2],
    pub reason: String,
}

/// What a run did.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DedupeReport {
    /// Stored on every pair the run merged or queued.
    pub run_id: String,
    pub dry_run: bool,
    pub threshold: f64,
    /// Pairs from this probability on are queued.
    pub possible_probability: f64,
    pub leads_scanned: u64,
    pub pairs_compared: u64,
    /// Pairs at least possible.
    pub pairs_found: u64,
    pub merged: Vec<DedupeMerge>,
    /// Pairs put in the review queue.
    pub queued: u64,
    /// Of `queued`: at or above the threshold, but held back by the household guard.
    pub held_back_guarded: u64,
    /// Of `queued`: at or above the threshold, but a lead of the pair was already
    /// merged in this run.
    pub held_back_merged_in_run: u64,
    /// Pairs left out because they were dismissed before ("not the same person").
    pub skipped_dismissed: u64,
    /// Pairs left out because they are in the review queue already.
    pub skipped_queued: u64,
    pub failed: Vec<DedupeFailure>,
}

/// A pair found by the scan.
struct Found {
    a: String,
    b: String,
    evidence: MatchEvidence,
}

impl App {
    /// Finds and merges or queues duplicates among the stored leads (see the module
    /// documentation).
    pub async fn dedupe(&self, options: &DedupeOptions) -> Result<DedupeReport> {
        let model = self.match_model().await?;
        let threshold = options.threshold.unwrap_or(model.sure_probability);
        if !threshold.is_finite() || threshold < model.possible_probability || threshold > 1.0 {
            return Err(ServiceError::invalid(
                "threshold",
                "out_of_range",
                format!(
                    "the threshold is a probability from {} (the model's possible_probability) to 1",
                    model.possible_probability
                ),
            ));
        }
        let mut report = DedupeReport {
            run_id: new_id(),
            dry_run: options.dry_run,
            threshold,
            possible_probability: model.possible_probability,
            leads_scanned: 0,
            pairs_compared: 0,
            pairs_found: 0,
            merged: Vec::new(),
            queued: 0,
            held_back_guarded: 0,
            held_back_merged_in_run: 0,
            skipped_dismissed: 0,
            skipped_queued: 0,
            failed: Vec::new(),
        };
        let mut found = self.scan(&model, &mut report).await?;
        report.pairs_found = found.len() as u64;
        // Strongest first; ties in a fixed order.
        found.sort_by(|x, y| {
            y.evidence
                .score
                .total_cmp(&x.evidence.score)
                .then_with(|| (&x.a, &x.b).cmp(&(&y.a, &y.b)))
        });
        let meta = self.lead_meta(&found).await?;

        // Leads merged in this run, and where the merged-away ones live on.
        let mut touched: HashSet<String> = HashSet::new();
        let mut moved: HashMap<String, String> = HashMap::new();
        let mut queue: Vec<DuplicatePair> = Vec::new();
        let mut queued_groups: HashSet<(String, String)> = HashSet::new();
        let now = self.now();
        for f in found {
            let live = |id: &String| moved.get(id).cloned().unwrap_or_else(|| id.clone());
            let (la, lb) = (live(&f.a), live(&f.b));
            if la == lb {
                continue;
            }
            let (dismissed, in_queue) = {
                let mut conn = self.db.acquire().await?;
                let stored = duplicates::find(&mut conn, &f.a, &f.b).await?;
                let dismissed = stored.is_some_and(|p| p.status == DISMISSED)
                    || !duplicates::in_group(&mut conn, &la, &lb, Some(DISMISSED))
                        .await?
                        .is_empty();
                let in_queue = duplicates::in_group(&mut conn, &la, &lb, Some(OPEN))
                    .await?
                    .iter()
                    .any(|p| p.live_a != p.live_b);
                (dismissed, in_queue)
            };
            if dismissed {
                report.skipped_dismissed += 1;
                continue;
            }
            let sure_enough = f.evidence.probability >= threshold;
            let in_run = touched.contains(&f.a) || touched.contains(&f.b);
            let evidence = PairEvidence {
                comparison: f.evidence.clone(),
                linked_by: None,
            };
            let mut pair = new_pair(
                &f.a,
                &f.b,
                &evidence,
                f.evidence.score,
                &model,
                FoundBy::Dedupe,
                now,
            );
            pair.dedupe_run_id = Some(report.run_id.clone());
            pair.source_id = newer_source(&meta, &f.a, &f.b);
            if sure_enough && !f.evidence.household_guard && !in_run {
                // A pair waiting in the queue is merged too, and marked merged.
                let (survivor, other) = older_first(&meta, &f.a, &f.b);
                match self.dedupe_merge(options, &pair, &survivor, &other).await {
                    Ok(merge_id) => {
                        touched.insert(survivor.clone());
                        touched.insert(other.clone());
                        moved.insert(other.clone(), survivor.clone());
                        report.merged.push(DedupeMerge {
                            survivor_id: survivor,
                            merged_id: other,
                            probability: f.evidence.probability,
                            score: f.evidence.score,
                            merge_id,
                        });
                    }
                    Err(e) => report.failed.push(DedupeFailure {
                        lead_ids: [survivor, other],
                        reason: e.to_string(),
                    }),
                }
                continue;
            }
            let (x, y) = duplicates::canonical(&la, &lb);
            let group = (x.to_string(), y.to_string());
            if in_queue || !queued_groups.insert(group.clone()) {
                report.skipped_queued += 1;
                continue;
            }
            if sure_enough {
                if f.evidence.household_guard {
                    report.held_back_guarded += 1;
                } else {
                    report.held_back_merged_in_run += 1;
                }
            }
            // Stands for the leads the pair's leads live on as after this run's merges.
            (pair.live_a, pair.live_b) = group;
            queue.push(pair);
        }
        report.queued = if options.dry_run {
            queue.len() as u64
        } else {
            let mut tx = self.db.begin().await?;
            let n = duplicates::insert_many(&mut tx, &queue).await?;
            tx.commit().await.map_err(StoreError::from)?;
            n
        };
        Ok(report)
    }

    /// Reads every live lead page by page and compares it with the live leads sharing
    /// a blocking key with it that sort after it.
    async fn scan(
        &self,
        model: &matching::MatchModel,
        report: &mut DedupeReport,
    ) -> Result<Vec<Found>> {
        let mut conn = self.db.acquire().await?;
        let mut found = Vec::new();
        let mut after = String::new();
        loop {
            let page = duplicates::live_leads_page(&mut conn, &after, PAGE).await?;
            let Some((last, _, _)) = page.last() else {
                break;
            };
            after = last.clone();
            report.leads_scanned += page.len() as u64;
            let ids: Vec<String> = page.iter().map(|(id, _, _)| id.clone()).collect();
            let mut records: HashMap<String, Comparable> = leads::match_records(&mut conn, &ids)
                .await?
                .into_iter()
                .filter(|row| row.merged_into.is_none())
                .map(|row| (row.id, Comparable::new(row.record)))
                .collect();
            let keys: HashMap<String, Vec<String>> = records
                .iter()
                .map(|(id, r)| (id.clone(), matching::blocking_keys(r.record())))
                .collect();
            let all_keys: Vec<String> = keys
                .values()
                .flatten()
                .cloned()
                .collect::<HashSet<_>>()
                .into_iter()
                .collect();
            let by_key =
                leads::find_by_match_keys(&mut conn, &all_keys, matching::block_usable).await?;
            let missing: Vec<String> = by_key
                .values()
                .flatten()
                .filter(|id| !id.starts_with(leads::ALIAS_PREFIX) && !records.contains_key(*id))
                .cloned()
                .collect::<HashSet<_>>()
                .into_iter()
                .collect();
            for row in leads::match_records(&mut conn, &missing).await? {
                if row.merged_into.is_none() {
                    records.insert(row.id, Comparable::new(row.record));
                }
            }
            for id in &ids {
                let (Some(record), Some(lead_keys)) = (records.get(id), keys.get(id)) else {
                    continue;
                };
                let mut seen = HashSet::new();
                let candidates: Vec<(String, &Comparable)> = lead_keys
                    .iter()
                    .filter_map(|k| by_key.get(k))
                    .flatten()
                    .filter(|c| c.as_str() > id.as_str() && seen.insert(c.as_str()))
                    .filter_map(|c| records.get(c).map(|r| (c.clone(), r)))
                    .collect();
                report.pairs_compared += candidates.len() as u64;
                for m in matching::all_matches(record, candidates, model) {
                    found.push(Found {
                        a: id.clone(),
                        b: m.candidate,
                        evidence: m.evidence,
                    });
                }
            }
        }
        Ok(found)
    }

    /// When each lead of the found pairs was created, and from which source.
    async fn lead_meta(&self, found: &[Found]) -> Result<HashMap<String, (i64, Option<String>)>> {
        let ids: Vec<String> = found
            .iter()
            .flat_map(|f| [f.a.clone(), f.b.clone()])
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let mut conn = self.db.acquire().await?;
        Ok(leads::get_many(&mut conn, &ids)
            .await?
            .into_iter()
            .map(|l| (l.id, (l.created_at, l.source_id)))
            .collect())
    }

    /// Merges one pair the way a merge from the queue does, recording the pair with
    /// the run: answers the merge id (`None` in a dry run).
    async fn dedupe_merge(
        &self,
        options: &DedupeOptions,
        pair: &DuplicatePair,
        survivor: &str,
        other: &str,
    ) -> Result<Option<String>> {
        if options.dry_run {
            return Ok(None);
        }
        let now = self.now();
        let _guard = self.capture_lock.lock().await;
        let mut tx = self.db.begin().await?;
        duplicates::insert_many(&mut tx, std::slice::from_ref(pair)).await?;
        let group: Vec<String> = duplicates::in_group(&mut tx, survivor, other, Some(OPEN))
            .await?
            .into_iter()
            .map(|p| p.id)
            .collect();
        let merge = self
            .merge_in(
                &mut tx,
                &LeadScope::All,
                MergePair::keeping(survivor, other),
                &options.actor,
                now,
            )
            .await?;
        duplicates::decide(
            &mut tx,
            &group,
            MERGED,
            Some(&merge.id),
            now,
            &options.actor,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(Some(merge.id))
    }
}

/// The older lead first (created first; the lower id on a tie): it survives.
fn older_first(
    meta: &HashMap<String, (i64, Option<String>)>,
    a: &str,
    b: &str,
) -> (String, String) {
    let at = |id: &str| meta.get(id).map_or(i64::MAX, |m| m.0);
    if (at(b), b) < (at(a), a) {
        (b.to_string(), a.to_string())
    } else {
        (a.to_string(), b.to_string())
    }
}

/// The source of the newer lead of a pair.
fn newer_source(meta: &HashMap<String, (i64, Option<String>)>, a: &str, b: &str) -> Option<String> {
    let (_, newer) = older_first(meta, a, b);
    meta.get(&newer).and_then(|m| m.1.clone())
}
