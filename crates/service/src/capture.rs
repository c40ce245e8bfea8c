//! The capture pipeline every channel goes through: normalise, find the same person
//! among existing leads, then merge into them or create a new lead — and record the
//! touch, consents, match evidence and timeline in the same transaction.
//!
//! Captures are processed in batches (one for a form post, thousands for an import):
//! the candidates of the whole batch are loaded with one blocking-key query, matched in
//! memory (also against leads created earlier in the same batch), and written back with
//! multi-row statements.

use crate::candidate_cache::{CachedCandidate, CandidateCache};
use crate::clock::date_of;
use crate::error::{Result, ServiceError};
use crate::outbox::lead_summary;
use crate::App;
use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use leadline_domain::access::LeadScope;
use leadline_domain::matching::{self, Comparable, MatchDecision, MatchRecord};
use leadline_domain::merge::{plan_merge, FieldChange, FieldConflict};
use leadline_domain::normalize::{normalize_lead, FieldError, NormalizeOptions, NormalizedLead};
use leadline_domain::notify;
use leadline_domain::{Channel, LeadInput};
use leadline_store::leads::{self, LeadAlias, LeadRecord, ALIAS_PREFIX};
use leadline_store::outbox::{self, OutboxEvent};
use leadline_store::timeline::{self, MatchDecisionRow, TimelineEvent};
use leadline_store::touches::{self, Consent, Touch};
use leadline_store::work::LeadWork;
use leadline_store::{new_id, sources, AnyConnection, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// Where a capture came from beyond its source and campaign.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Attribution {
    pub utm_source: Option<String>,
    pub utm_medium: Option<String>,
    pub utm_campaign: Option<String>,
    pub utm_term: Option<String>,
    pub utm_content: Option<String>,
    pub referrer: Option<String>,
    pub landing_page: Option<String>,
}

/// Permission given (or refused) on one channel at capture time.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsentGrant {
    /// `email`, `phone` or `sms`.
    pub channel: String,
    pub granted: bool,
    pub wording: Option<String>,
    pub evidence: serde_json::Value,
}

/// The user a capture is made for. Forms, imports run by the server and demo data
/// capture for nobody in particular and see every lead.
#[derive(Debug, Clone)]
pub struct CaptureCaller {
    pub user_id: String,
    /// The leads the caller may see, and so merge into.
    pub scope: LeadScope,
}

/// One lead arriving through any channel.
#[derive(Debug, Clone)]
pub struct Capture {
    pub input: LeadInput,
    pub channel: Channel,
    pub source_id: String,
    pub campaign_id: Option<String>,
    pub attribution: Attribution,
    pub form_id: Option<String>,
    pub import_id: Option<String>,
    pub consents: Vec<ConsentGrant>,
    /// Recognises a capture seen before (an import row); seen again, it is `Unchanged`.
    pub fingerprint: Option<String>,
    pub default_region: Option<String>,
    pub actor: String,
    /// When it happened, if not now (demo data, back-dated imports).
    pub occurred_at: Option<i64>,
    /// Who captures it, when a user does (the API); `None` for the server's own.
    pub caller: Option<CaptureCaller>,
    /// Work to do once it is captured (a form's qualification answers, scoring,
    /// routing): written in the capture's transaction, done right after (see
    /// `followups`). `None` for captures that need none.
    pub followup: Option<BTreeMap<String, Option<String>>>,
}

impl Capture {
    pub fn new(input: LeadInput, channel: Channel, source_id: &str, actor: &str) -> Capture {
        Capture {
            input,
            channel,
            source_id: source_id.to_string(),
            campaign_id: None,
            attribution: Attribution::default(),
            form_id: None,
            import_id: None,
            consents: Vec::new(),
            fingerprint: None,
            default_region: None,
            actor: actor.to_string(),
            occurred_at: None,
            caller: None,
            followup: None,
        }
    }

    /// The leads this capture may merge into and show.
    fn scope(&self) -> &LeadScope {
        self.caller.as_ref().map_or(&LeadScope::All, |c| &c.scope)
    }

    /// The owner of a lead this capture creates: a caller who could not see it
    /// otherwise (a rep) owns what they enter.
    fn owner_of_created(&self) -> Option<String> {
        self.caller
            .as_ref()
            .filter(|c| c.scope.owns_what_it_creates())
            .map(|c| c.user_id.clone())
    }
}

/// What became of one capture.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum CaptureOutcome {
    Created {
        lead_id: String,
        possible_duplicate_of: Option<String>,
    },
    Merged {
        lead_id: String,
        filled: Vec<FieldChange>,
        conflicts: Vec<FieldConflict>,
    },
    /// The same capture was recorded before (same fingerprint).
    Unchanged {
        lead_id: String,
    },
    /// The person is already a lead the caller may not see (another rep's). The
    /// capture was added to that lead's history for its owner — the touch, consents,
    /// and the values it brought as proposals — without changing the lead, and the
    /// caller is shown nothing of it.
    RecordedForOwner {
        lead_id: String,
    },
    Rejected {
        errors: Vec<FieldError>,
    },
}

impl CaptureOutcome {
    pub fn lead_id(&self) -> Option<&str> {
        match self {
            CaptureOutcome::Created { lead_id, .. }
            | CaptureOutcome::Merged { lead_id, .. }
            | CaptureOutcome::Unchanged { lead_id }
            | CaptureOutcome::RecordedForOwner { lead_id } => Some(lead_id),
            CaptureOutcome::Rejected { .. } => None,
        }
    }
}

/// Weak blocking keys whose block was over its cap ([`matching::block_cap`]) when a batch
/// read it. Blocks only grow while leads come in, so such a block is not read again by
/// this process (it would be dropped anyway); one that shrank below the cap later (a
/// lead erased) stays skipped until a restart, which costs at most a candidate that
/// other keys usually still bring. Bounded: cleared when it grows past
/// [`OversizedKeys::LIMIT`] keys.
#[derive(Debug, Default)]
pub(crate) struct OversizedKeys(HashSet<String>);

impl OversizedKeys {
    const LIMIT: usize = 1_000_000;

    fn contains(&self, key: &str) -> bool {
        self.0.contains(key)
    }

    fn extend(&mut self, keys: impl IntoIterator<Item = String>) {
        if self.0.len() > Self::LIMIT {
            self.0.clear();
        }
        self.0.extend(keys);
    }
}

/// A lead this batch creates or changes, in full.
struct WorkingLead {
    record: LeadRecord,
    is_new: bool,
    dirty: bool,
    touches: i64,
    /// The blocking keys of its values as they stand, once computed (a new lead's, or
    /// after a merge filled fields): written with the lead.
    keys: Option<Vec<String>>,
}

/// Everything one batch reads and will write.
#[derive(Default)]
struct Batch {
    /// Comparable views of every candidate and of every lead created in this batch.
    /// Full rows are loaded only for the few that a capture merges into.
    candidates: HashMap<String, Arc<Comparable>>,
    leads: HashMap<String, WorkingLead>,
    new_order: Vec<String>,
    key_index: HashMap<String, Vec<String>>,
    /// Weak keys whose block in the database was already too large to use.
    oversized: HashSet<String>,
    fingerprints: HashMap<String, String>,
    touches: Vec<Touch>,
    consents: Vec<Consent>,
    events: Vec<TimelineEvent>,
    decisions: Vec<MatchDecisionRow>,
    /// New leads announced as `lead.created`, with where they came from.
    announced: Vec<(String, serde_json::Value)>,
    /// Owners of the candidates, for captures whose caller sees only some leads
    /// (loaded only then); leads created in this batch are added as they are made.
    owners: HashMap<String, Option<String>>,
    /// Follow-ups of this batch's captures, written with them.
    followups: Vec<leadline_store::followups::PendingFollowup>,
    /// Merged-away candidates → the live lead each now lives on in.
    survivors: HashMap<String, String>,
    /// Earlier values of leads this batch merged into (see `lead_aliases`), and
    /// their blocking keys as `(key, alias id)`.
    aliases: Vec<LeadAlias>,
    alias_keys: Vec<(String, String)>,
    /// Pairs for the duplicates review queue (see `duplicates::capture_pairs`).
    pairs: Vec<leadline_store::duplicates::DuplicatePair>,
    /// Candidate comparisons made (for the debug log).
    compared: usize,
}

/// How a batch's candidates were found (for the debug log).
#[derive(Default)]
struct LoadStats {
    /// Taken from the candidate cache, still at the revision read.
    cached: usize,
    /// Read from the database (not cached, or changed since).
    read: usize,
}

impl Batch {
    /// Loads the comparable view of every existing lead that shares a blocking key
    /// with the batch (from `cache` where it still holds), and the fingerprints already
    /// captured.
    async fn load(
        conn: &mut AnyConnection,
        keys: Vec<String>,
        fingerprints: Vec<String>,
        need_owners: bool,
        known_oversized: &std::sync::Mutex<OversizedKeys>,
        cache: &CandidateCache,
    ) -> Result<Batch> {
        let mut batch = Batch::default();
        if !fingerprints.is_empty() {
            batch.fingerprints = touches::known_fingerprints(conn, &fingerprints)
                .await?
                .into_iter()
                .collect();
        }
        let started = std::time::Instant::now();
        // Weak blocks known to be too large are not read again; every other block is
        // read whole, and those over the cap are dropped here and remembered.
        let (wanted, mut oversized): (Vec<String>, HashSet<String>) = {
            let known = known_oversized.lock().expect("oversized keys lock");
            let (skip, wanted): (Vec<String>, Vec<String>) = keys
                .into_iter()
                .partition(|k| !matching::is_strong_key(k) && known.contains(k));
            (wanted, skip.into_iter().collect())
        };
        let mut by_key = leads::match_key_blocks(conn, &wanted).await?;
        let mut found_oversized = Vec::new();
        by_key.retain(|key, ids| {
            let keep = matching::block_usable(key, ids.len());
            if !keep {
                found_oversized.push(key.clone());
            }
            keep
        });
        if !found_oversized.is_empty() {
            known_oversized
                .lock()
                .expect("oversized keys lock")
                .extend(found_oversized.iter().cloned());
        }
        oversized.extend(found_oversized);
        batch.oversized = oversized;
        let blocks_read = started.elapsed();
        let ids: Vec<String> = by_key
            .values()
            .flatten()
            .cloned()
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let (merged, stats) = batch.load_candidates(conn, ids, cache).await?;
        let records_read = started.elapsed();
        batch.survivors = survivors(conn, merged).await?;
        let (cache_entries, cache_bytes) = cache.usage();
        tracing::debug!(
            keys = wanted.len(),
            oversized = batch.oversized.len(),
            candidates = batch.candidates.len(),
            cached = stats.cached,
            read = stats.read,
            cache_entries,
            cache_mib = cache_bytes >> 20,
            blocks_ms = blocks_read.as_millis(),
            records_ms = (records_read - blocks_read).as_millis(),
            "capture batch: candidates loaded"
        );
        // Candidates sharing an e-mail or phone are the likely merges: fetch their full
        // rows now in one query instead of one at a time while matching.
        let likely: Vec<String> = by_key
            .iter()
            .filter(|(key, _)| matching::is_strong_key(key))
            .flat_map(|(_, ids)| ids.iter())
            .filter(|id| batch.candidates.contains_key(*id))
            .map(|id| batch.survivor(id).to_string())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        batch.load_full_many(conn, &likely).await?;
        if need_owners {
            let mut known: Vec<String> = batch.candidates.keys().cloned().collect();
            known.extend(batch.fingerprints.values().cloned());
            known.extend(batch.survivors.values().cloned());
            let owners = leadline_store::work::owners(conn, &known).await?;
            for id in known {
                let owner = owners.get(&id).cloned();
                batch.owners.insert(id, owner);
            }
        }
        for (key, ids) in by_key {
            let live: Vec<String> = ids
                .into_iter()
                .filter(|id| batch.candidates.contains_key(id))
                .collect();
            batch.key_index.insert(key, live);
        }
        Ok(batch)
    }

    /// Puts the comparable view of each of `ids` into `candidates`: from the cache
    /// where the lead's revision is still the cached one (an alias's always is), read
    /// and folded otherwise (and cached). Returns the merged-away candidates with the
    /// lead each was merged into.
    async fn load_candidates(
        &mut self,
        conn: &mut AnyConnection,
        ids: Vec<String>,
        cache: &CandidateCache,
    ) -> Result<(HashMap<String, String>, LoadStats)> {
        let mut merged = HashMap::new();
        let mut stats = LoadStats::default();
        let before = self.candidates.len();
        let mut to_read = Vec::new();
        let mut to_check = Vec::new();
        for id in ids {
            match cache.get(&id) {
                Some(cached) if id.starts_with(ALIAS_PREFIX) => {
                    self.use_cached(id, cached, &mut merged)
                }
                Some(cached) => to_check.push((id, cached)),
                None => to_read.push(id),
            }
        }
        let seen: Vec<(String, i64)> = to_check
            .iter()
            .map(|(id, cached)| (id.clone(), cached.revision))
            .collect();
        let changed = leads::changed_since(conn, &seen).await?;
        for (id, cached) in to_check {
            if changed.contains(&id) {
                // Read again below; a lead that is gone stays out of the cache.
                cache.remove(&id);
                to_read.push(id);
            } else {
                self.use_cached(id, cached, &mut merged);
            }
        }
        stats.cached = self.candidates.len() - before;
        for row in leads::match_records(conn, &to_read).await? {
            let comparable = Arc::new(Comparable::new(row.record));
            if let Some(into) = &row.merged_into {
                merged.insert(row.id.clone(), into.clone());
            }
            // Cached before this transaction commits: what was read is committed
            // state at that revision, whatever becomes of this batch.
            cache.insert(
                row.id.clone(),
                CachedCandidate {
                    revision: row.revision,
                    merged_into: row.merged_into.clone(),
                    comparable: comparable.clone(),
                },
            );
            self.candidates.insert(row.id, comparable);
            stats.read += 1;
        }
        Ok((merged, stats))
    }

    /// After the batch committed: its new leads and aliases go into the cache as
    /// written (revision 0), and the existing leads it changed leave it (their revision
    /// was bumped).
    fn update_cache(&self, cache: &CandidateCache) {
        for (id, lead) in &self.leads {
            if lead.is_new {
                if let Some(comparable) = self.candidates.get(id) {
                    let cached = CachedCandidate {
                        revision: 0,
                        merged_into: None,
                        comparable: comparable.clone(),
                    };
                    cache.insert(id.clone(), cached);
                }
            } else if lead.dirty {
                cache.remove(id);
            }
        }
        for alias in &self.aliases {
            if let Some(comparable) = self.candidates.get(&alias.id) {
                let cached = CachedCandidate {
                    revision: 0,
                    merged_into: Some(alias.lead_id.clone()),
                    comparable: comparable.clone(),
                };
                cache.insert(alias.id.clone(), cached);
            }
        }
    }

    /// Takes a cached view that still holds.
    fn use_cached(
        &mut self,
        id: String,
        cached: CachedCandidate,
        merged: &mut HashMap<String, String>,
    ) {
        if let Some(into) = cached.merged_into {
            merged.insert(id.clone(), into);
        }
        self.candidates.insert(id, cached.comparable);
    }

    /// Makes sure the full rows (and touch counts) of these candidates are at hand
    /// before merging into them.
    async fn load_full_many(&mut self, conn: &mut AnyConnection, ids: &[String]) -> Result<()> {
        let missing: Vec<String> = ids
            .iter()
            .filter(|id| !self.leads.contains_key(*id))
            .cloned()
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let counts = touches::counts(conn, &missing).await?;
        for record in leads::get_many(conn, &missing).await? {
            let touches = counts.get(&record.id).copied().unwrap_or(0);
            self.leads.insert(
                record.id.clone(),
                WorkingLead {
                    record,
                    is_new: false,
                    dirty: false,
                    touches,
                    keys: None,
                },
            );
        }
        Ok(())
    }

    /// The leads sharing a usable key with `keys`. A weak key is usable while its block,
    /// counting the leads this batch filed under it, is within its pass's cap
    /// ([`matching::block_cap`]) — as at load time, so a lead's candidates do
    /// not depend on whether its neighbours arrived in the same batch.
    fn candidates(&self, keys: &[String]) -> Vec<String> {
        let mut seen = HashSet::new();
        keys.iter()
            .filter_map(|k| {
                let ids = self.key_index.get(k)?;
                // `oversized` holds weak keys only (see `load`).
                let usable = matching::block_usable(k, ids.len()) && !self.oversized.contains(k);
                usable.then_some(ids)
            })
            .flatten()
            .filter(|id| seen.insert(id.as_str()))
            .cloned()
            .collect()
    }

    fn index(&mut self, lead_id: &str, keys: Vec<String>) {
        for key in keys {
            let ids = self.key_index.entry(key).or_default();
            if !ids.iter().any(|id| id == lead_id) {
                ids.push(lead_id.to_string());
            }
        }
    }

    fn add_touch(&mut self, capture: &Capture, lead_id: &str, now: i64) {
        let lead = self
            .leads
            .get_mut(lead_id)
            .expect("touch for a loaded lead");
        let a = &capture.attribution;
        self.touches.push(Touch {
            id: new_id(),
            lead_id: lead_id.to_string(),
            position: lead.touches,
            channel: capture.channel.as_str().to_string(),
            source_id: Some(capture.source_id.clone()),
            campaign_id: capture.campaign_id.clone(),
            utm_source: a.utm_source.clone(),
            utm_medium: a.utm_medium.clone(),
            utm_campaign: a.utm_campaign.clone(),
            utm_term: a.utm_term.clone(),
            utm_content: a.utm_content.clone(),
            referrer: a.referrer.clone(),
            landing_page: a.landing_page.clone(),
            form_id: capture.form_id.clone(),
            import_id: capture.import_id.clone(),
            fingerprint: capture.fingerprint.clone(),
            occurred_at: now,
        });
        lead.touches += 1;
        if let Some(fp) = &capture.fingerprint {
            self.fingerprints.insert(fp.clone(), lead_id.to_string());
        }
        for grant in &capture.consents {
            let status = if grant.granted {
                "granted"
            } else {
                "withdrawn"
            };
            self.consents.push(Consent {
                id: new_id(),
                lead_id: lead_id.to_string(),
                channel: grant.channel.clone(),
                status: status.to_string(),
                wording: grant.wording.clone(),
                evidence: grant.evidence.clone(),
                recorded_at: now,
            });
            self.events.push(TimelineEvent::new(
                lead_id,
                "consent_changed",
                &capture.actor,
                now,
                json!({ "channel": grant.channel, "status": status, "wording": grant.wording }),
            ));
        }
    }

    fn create(
        &mut self,
        capture: &Capture,
        fields: NormalizedLead,
        match_record: Comparable,
        keys: Vec<String>,
        possible_duplicate_of: Option<String>,
        now: i64,
    ) -> String {
        let id = new_id();
        self.owners.insert(id.clone(), capture.owner_of_created());
        self.index(&id, keys.clone());
        self.candidates.insert(id.clone(), Arc::new(match_record));
        self.leads.insert(
            id.clone(),
            WorkingLead {
                record: LeadRecord {
                    id: id.clone(),
                    fields,
                    stage: "new".into(),
                    account_id: None,
                    source_id: Some(capture.source_id.clone()),
                    campaign_id: capture.campaign_id.clone(),
                    possible_duplicate_of,
                    merged_into: None,
                    created_at: now,
                    updated_at: now,
                },
                is_new: true,
                dirty: false,
                touches: 0,
                keys: Some(keys),
            },
        );
        self.new_order.push(id.clone());
        id
    }

    /// The live lead a candidate stands for: itself, or the lead it was merged into.
    fn survivor<'a>(&'a self, candidate: &'a str) -> &'a str {
        self.survivors
            .get(candidate)
            .map_or(candidate, String::as_str)
    }

    /// Whether `capture`'s caller may see (and so change) this lead.
    fn visible(&self, capture: &Capture, lead_id: &str) -> bool {
        let scope = capture.scope();
        scope.is_all() || scope.includes(self.owners.get(lead_id).cloned().flatten().as_deref())
    }

    /// Adds the pairs this capture brings to the duplicates review queue.
    fn queue_pairs(
        &mut self,
        capture: &Capture,
        captured: crate::duplicates::Captured<'_>,
        matches: &[matching::MatchResult<String>],
        model: &matching::MatchModel,
        at: i64,
    ) {
        let live = |id: &str| self.survivor(id).to_string();
        let mut pairs =
            crate::duplicates::capture_pairs(captured, matches, &live, &self.candidates, model, at);
        for pair in &mut pairs {
            pair.source_id = Some(capture.source_id.clone());
            pair.import_id = capture.import_id.clone();
        }
        self.pairs.extend(pairs);
    }

    /// Keeps what a merged capture brought beyond the lead's own values (another
    /// e-mail, a new address) as an alias of the lead, so later records are compared
    /// with it too.
    fn add_alias(&mut self, lead_id: &str, record: Comparable, keys: Vec<String>, now: i64) {
        let id = format!("{ALIAS_PREFIX}{}", new_id());
        let alias_record = record.record().clone();
        self.candidates.insert(id.clone(), Arc::new(record));
        self.survivors.insert(id.clone(), lead_id.to_string());
        self.alias_keys
            .extend(keys.iter().map(|key| (key.clone(), id.clone())));
        self.index(&id, keys);
        self.aliases.push(LeadAlias {
            id,
            lead_id: lead_id.to_string(),
            record: alias_record,
            created_at: now,
        });
    }

    fn merge_into(
        &mut self,
        lead_id: &str,
        incoming: &NormalizedLead,
        now: i64,
    ) -> (Vec<FieldChange>, Vec<FieldConflict>) {
        let lead = self
            .leads
            .get_mut(lead_id)
            .expect("merge into a loaded lead");
        let plan = plan_merge(&lead.record.fields, incoming);
        if !plan.filled.is_empty() {
            lead.record.fields = plan.merged;
            lead.record.updated_at = now;
            lead.dirty = true;
            let record = MatchRecord::from_lead(&lead.record.fields);
            let keys = matching::blocking_keys(&record);
            lead.keys = Some(keys.clone());
            self.candidates
                .insert(lead_id.to_string(), Arc::new(Comparable::new(record)));
            self.index(lead_id, keys);
        }
        (plan.filled, plan.conflicts)
    }
}

fn source_payload(capture: &Capture) -> serde_json::Value {
    json!({
        "channel": capture.channel,
        "source_id": capture.source_id,
        "campaign_id": capture.campaign_id,
        "form_id": capture.form_id,
        "import_id": capture.import_id,
        "attribution": capture.attribution,
    })
}

/// Fields whose conflicting incoming value is kept as an alias of the lead: the ones
/// matching compares.
const ALIAS_FIELDS: &[&str] = &[
    "email",
    "phone",
    "first_name",
    "last_name",
    "company",
    "street",
    "postal_code",
    "city",
    "date_of_birth",
];

/// Most captures one group commit takes.
const MAX_GROUP: usize = 64;

type PendingCapture = (Capture, oneshot::Sender<Result<CaptureOutcome>>);

/// Single captures waiting for the group committer (see [`App::capture`]).
#[derive(Default)]
pub(crate) struct CaptureQueue {
    sender: std::sync::Mutex<Option<mpsc::UnboundedSender<PendingCapture>>>,
}

impl App {
    /// Captures one lead. Captures that arrive while another is being written wait
    /// and are then written together, as one batch in one transaction (a group
    /// commit): under load each costs a share of a transaction instead of a whole one,
    /// and one idle capture goes straight through. See [`App::capture_batch`].
    pub async fn capture(&self, capture: Capture) -> Result<CaptureOutcome> {
        let (reply, outcome) = oneshot::channel();
        self.capture_queue().send((capture, reply)).map_err(|_| {
            ServiceError::Internal(anyhow::anyhow!("the capture writer has stopped"))
        })?;
        outcome.await.map_err(|_| {
            ServiceError::Internal(anyhow::anyhow!("the capture writer dropped a capture"))
        })?
    }

    /// The group committer's queue, starting it on first use.
    fn capture_queue(&self) -> mpsc::UnboundedSender<PendingCapture> {
        let mut sender = self
            .capture_queue
            .sender
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(tx) = sender.as_ref().filter(|tx| !tx.is_closed()) {
            return tx.clone();
        }
        let (tx, mut rx) = mpsc::unbounded_channel::<PendingCapture>();
        let app = self.clone();
        tokio::spawn(async move {
            // Waits for one capture, then takes whatever else is already queued.
            let mut group = Vec::with_capacity(MAX_GROUP);
            while rx.recv_many(&mut group, MAX_GROUP).await > 0 {
                app.commit_group(std::mem::take(&mut group)).await;
            }
        });
        *sender = Some(tx.clone());
        tx
    }

    /// Writes a group of captures as one batch. If the batch fails as a whole (a
    /// database error, not a rejected capture), each is retried alone, so one bad
    /// capture cannot take its neighbours down with it.
    async fn commit_group(&self, group: Vec<PendingCapture>) {
        let (captures, replies): (Vec<Capture>, Vec<_>) = group.into_iter().unzip();
        let alone = captures.len() == 1;
        // A panic in the batch must not stop the committer: run it as its own task.
        let app = self.clone();
        let batch = captures.clone();
        let result = match tokio::spawn(async move { app.capture_batch(batch).await }).await {
            Ok(result) => result,
            Err(e) => Err(ServiceError::Internal(anyhow::anyhow!(
                "capture failed: {e}"
            ))),
        };
        match result {
            Ok(outcomes) => {
                for (reply, outcome) in replies.into_iter().zip(outcomes) {
                    let _ = reply.send(Ok(outcome));
                }
            }
            Err(e) if alone => {
                if let Some(reply) = replies.into_iter().next() {
                    let _ = reply.send(Err(e));
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, size = captures.len(), "group capture failed; capturing one by one");
                for (capture, reply) in captures.into_iter().zip(replies) {
                    let outcome = self
                        .capture_batch(vec![capture])
                        .await
                        .map(|mut o| o.pop().expect("one outcome per capture"));
                    let _ = reply.send(outcome);
                }
            }
        }
    }

    /// Captures many leads in one transaction; outcomes come back in input order.
    /// A rejected capture never affects the others.
    pub async fn capture_batch(&self, captures: Vec<Capture>) -> Result<Vec<CaptureOutcome>> {
        let prepared = PreparedBatch::new(captures, date_of(self.now()));
        self.capture_prepared(prepared).await
    }

    /// Captures a batch prepared beforehand (see [`PreparedBatch`]): an import prepares
    /// its next batch on another thread while this one is matched and written.
    pub(crate) async fn capture_prepared(
        &self,
        batch: PreparedBatch,
    ) -> Result<Vec<CaptureOutcome>> {
        let PreparedBatch {
            captures,
            prepared,
            all_keys,
            fingerprints,
            prepare_ms,
        } = batch;
        let now = self.now();
        let started = std::time::Instant::now();
        let model = self.match_model().await?;
        let _guard = self.capture_lock.lock().await;
        let mut tx = self.db.begin().await?;
        let need_owners = captures.iter().any(|c| !c.scope().is_all());
        // Waiting for the capture lock and a transaction.
        let prepared_in = started.elapsed();
        let mut batch = Batch::load(
            &mut tx,
            all_keys,
            fingerprints,
            need_owners,
            &self.oversized_keys,
            &self.candidate_cache,
        )
        .await?;
        let loaded_in = started.elapsed();
        let mut outcomes = Vec::with_capacity(captures.len());
        for (capture, prepared) in captures.iter().zip(prepared) {
            let (lead, record, keys) = match prepared {
                Ok(p) => p,
                Err(errors) => {
                    outcomes.push(CaptureOutcome::Rejected { errors });
                    continue;
                }
            };
            if let Some(lead_id) = capture
                .fingerprint
                .as_ref()
                .and_then(|fp| batch.fingerprints.get(fp))
                .cloned()
            {
                outcomes.push(if batch.visible(capture, &lead_id) {
                    CaptureOutcome::Unchanged { lead_id }
                } else {
                    CaptureOutcome::RecordedForOwner { lead_id }
                });
                continue;
            }
            let at = capture.occurred_at.unwrap_or(now);
            let candidates = batch.candidates(&keys);
            batch.compared += candidates.len();
            // The best candidate decides; every candidate that is not distinct goes to
            // the review queue. One comparison per candidate gives both.
            let matching::RankedMatches { best, all: matches } = matching::rank_matches(
                &record,
                candidates
                    .iter()
                    .filter_map(|id| batch.candidates.get(id).map(|r| (id.clone(), &**r))),
                &model,
            );
            let outcome = match best {
                Some(m) if m.decision == MatchDecision::Sure => {
                    let lead_id = batch.survivor(&m.candidate).to_string();
                    batch
                        .load_full_many(&mut tx, std::slice::from_ref(&lead_id))
                        .await?;
                    let mut payload = source_payload(capture);
                    payload["match_score"] = json!(m.evidence.score);
                    if m.candidate.starts_with(ALIAS_PREFIX) {
                        // Found by values the lead carried before (another e-mail).
                        payload["matched_earlier_values"] = json!(true);
                    } else if m.candidate != lead_id {
                        // Found by what the lead was before a merge (an old e-mail).
                        payload["matched_merged_lead"] = json!(m.candidate);
                    }
                    let (decision, outcome) = if batch.visible(capture, &lead_id) {
                        let (filled, conflicts) = batch.merge_into(&lead_id, &lead, at);
                        if conflicts
                            .iter()
                            .any(|c| ALIAS_FIELDS.contains(&c.field.as_str()))
                        {
                            batch.add_alias(&lead_id, record, keys, at);
                        }
                        payload["outcome"] = json!("merged");
                        payload["filled"] = json!(filled);
                        payload["alternates"] = json!(conflicts);
                        let outcome = CaptureOutcome::Merged {
                            lead_id: lead_id.clone(),
                            filled,
                            conflicts,
                        };
                        ("merged", outcome)
                    } else {
                        // Someone else's lead: the caller may not change it, so what
                        // the capture brought waits in the timeline for its owner.
                        let plan = plan_merge(&batch.leads[&lead_id].record.fields, &lead);
                        payload["outcome"] = json!("recorded_for_owner");
                        payload["proposed"] = json!(plan.filled);
                        payload["alternates"] = json!(plan.conflicts);
                        let outcome = CaptureOutcome::RecordedForOwner {
                            lead_id: lead_id.clone(),
                        };
                        ("recorded_for_owner", outcome)
                    };
                    batch.events.push(TimelineEvent::new(
                        &lead_id,
                        "captured",
                        &capture.actor,
                        at,
                        payload,
                    ));
                    batch.decisions.push(MatchDecisionRow {
                        id: new_id(),
                        lead_id: lead_id.clone(),
                        candidate_id: lead_id.clone(),
                        decision: decision.into(),
                        score: m.evidence.score,
                        evidence: json!(m.evidence),
                        created_at: at,
                    });
                    batch.add_touch(capture, &lead_id, at);
                    let merged = crate::duplicates::Captured::Merged(&lead_id);
                    batch.queue_pairs(capture, merged, &matches, &model, at);
                    outcome
                }
                best => {
                    let possible = best.filter(|m| m.decision == MatchDecision::Possible);
                    let duplicate_of = possible
                        .as_ref()
                        .map(|m| batch.survivor(&m.candidate).to_string());
                    let lead_id =
                        batch.create(capture, lead, record, keys, duplicate_of.clone(), at);
                    let created = crate::duplicates::Captured::Created(&lead_id);
                    batch.queue_pairs(capture, created, &matches, &model, at);
                    let mut payload = source_payload(capture);
                    payload["outcome"] = json!("created");
                    if let (Some(m), Some(other)) = (&possible, &duplicate_of) {
                        payload["possible_duplicate_of"] = json!(other);
                        payload["match_score"] = json!(m.evidence.score);
                        batch.decisions.push(MatchDecisionRow {
                            id: new_id(),
                            lead_id: lead_id.clone(),
                            candidate_id: other.clone(),
                            decision: "possible_duplicate".into(),
                            score: m.evidence.score,
                            evidence: json!(m.evidence),
                            created_at: at,
                        });
                    }
                    batch.events.push(TimelineEvent::new(
                        &lead_id,
                        "captured",
                        &capture.actor,
                        at,
                        payload,
                    ));
                    batch.add_touch(capture, &lead_id, at);
                    if let Some(owner) = capture.owner_of_created() {
                        batch.events.push(TimelineEvent::new(
                            &lead_id,
                            "owner_changed",
                            &capture.actor,
                            at,
                            json!({ "owner_id": owner, "previous_owner_id": null, "reason": "created_by_owner" }),
                        ));
                    }
                    // Live captures are announced one by one; an import announces
                    // itself once, and back-dated captures (demo data) are history.
                    if capture.import_id.is_none() && capture.occurred_at.is_none() {
                        batch
                            .announced
                            .push((lead_id.clone(), source_payload(capture)));
                    }
                    // The answer names the possible duplicate only to a caller who
                    // may see it; the flag itself stays for those who can.
                    let shown = duplicate_of.filter(|other| batch.visible(capture, other));
                    CaptureOutcome::Created {
                        lead_id,
                        possible_duplicate_of: shown,
                    }
                }
            };
            if let (
                Some(answers),
                CaptureOutcome::Created { lead_id, .. } | CaptureOutcome::Merged { lead_id, .. },
            ) = (&capture.followup, &outcome)
            {
                let row = self.new_followup_row(lead_id, &capture.actor, answers);
                batch.followups.push(row);
            }
            outcomes.push(outcome);
        }
        let matched_in = started.elapsed();
        write_batch(&mut tx, &mut batch, now).await?;
        let wrote_in = started.elapsed();
        tx.commit().await.map_err(StoreError::from)?;
        batch.update_cache(&self.candidate_cache);
        let written_in = started.elapsed();
        if !batch.announced.is_empty() {
            self.outbox_written();
        }
        for row in std::mem::take(&mut batch.followups) {
            self.enqueue_followup(crate::followups::Followup::from_row(row));
        }
        tracing::debug!(
            captures = captures.len(),
            compared = batch.compared,
            prepare_ms,
            lock_ms = prepared_in.as_millis(),
            load_ms = (loaded_in - prepared_in).as_millis(),
            match_ms = (matched_in - loaded_in).as_millis(),
            write_ms = (wrote_in - matched_in).as_millis(),
            commit_ms = (written_in - wrote_in).as_millis(),
            "capture batch written"
        );
        // Freeing a large batch's maps and strings takes a noticeable share of an
        // import; another thread does it while this one goes on.
        tokio::task::spawn_blocking(move || drop(batch));
        Ok(outcomes)
    }
}

/// One capture normalised, with its comparable view and blocking keys, or why it was
/// rejected.
type Prepared = std::result::Result<(NormalizedLead, Comparable, Vec<String>), Vec<FieldError>>;

/// A batch of captures normalised, with each one's comparable view and blocking keys:
/// pure work that needs no lock and no database, so it can be done ahead.
pub(crate) struct PreparedBatch {
    captures: Vec<Capture>,
    prepared: Vec<Prepared>,
    /// Every blocking key of the batch, once.
    all_keys: Vec<String>,
    fingerprints: Vec<String>,
    /// How long preparing took (for the debug log).
    prepare_ms: u128,
}

impl PreparedBatch {
    /// Prepares `captures`, checking dates of birth against `today`.
    pub(crate) fn new(captures: Vec<Capture>, today: time::Date) -> PreparedBatch {
        let started = std::time::Instant::now();
        let prepared: Vec<_> = captures
            .iter()
            .map(|c| {
                let opts = NormalizeOptions {
                    default_region: c.default_region.clone(),
                    today: Some(today),
                };
                normalize_lead(&c.input, &opts).map(|lead| {
                    let record = Comparable::new(MatchRecord::from_lead(&lead));
                    let keys = matching::blocking_keys(record.record());
                    (lead, record, keys)
                })
            })
            .collect();
        let all_keys: Vec<String> = prepared
            .iter()
            .filter_map(|p| p.as_ref().ok())
            .flat_map(|(_, _, keys)| keys.iter().cloned())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let fingerprints: Vec<String> = captures
            .iter()
            .filter_map(|c| c.fingerprint.clone())
            .collect();
        PreparedBatch {
            captures,
            prepared,
            all_keys,
            fingerprints,
            prepare_ms: started.elapsed().as_millis(),
        }
    }
}

/// Follows merged-away leads to the live lead each lives on in (through later merges).
async fn survivors(
    conn: &mut AnyConnection,
    mut merged: HashMap<String, String>,
) -> Result<HashMap<String, String>> {
    // Each round looks up the leads the chains point at; chains are a merge or two.
    for _ in 0..32 {
        let next: Vec<String> = merged
            .values()
            .cloned()
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let onward: HashMap<String, String> = leads::get_many(conn, &next)
            .await?
            .into_iter()
            .filter_map(|l| Some((l.id, l.merged_into?)))
            .collect();
        if onward.is_empty() {
            break;
        }
        for into in merged.values_mut() {
            if let Some(further) = onward.get(into) {
                *into = further.clone();
            }
        }
    }
    Ok(merged)
}

/// Links leads to accounts by web domain, then writes everything the batch produced.
async fn write_batch(conn: &mut AnyConnection, batch: &mut Batch, now: i64) -> Result<()> {
    let started = std::time::Instant::now();
    let mut lap = {
        let mut last = started;
        move || {
            let now = std::time::Instant::now();
            let ms = (now - last).as_millis();
            last = now;
            ms
        }
    };
    let mut domains: Vec<(String, Option<String>)> = Vec::new();
    let mut seen = HashSet::new();
    for lead in batch.leads.values() {
        if (lead.is_new || lead.dirty) && lead.record.account_id.is_none() {
            if let Some(domain) = &lead.record.fields.domain {
                if seen.insert(domain.clone()) {
                    domains.push((domain.clone(), lead.record.fields.company.clone()));
                }
            }
        }
    }
    if !domains.is_empty() {
        let accounts = sources::ensure_accounts(conn, &domains, now).await?;
        for lead in batch.leads.values_mut() {
            if (lead.is_new || lead.dirty) && lead.record.account_id.is_none() {
                if let Some(domain) = &lead.record.fields.domain {
                    lead.record.account_id = accounts.get(domain).cloned();
                    lead.dirty = true;
                }
            }
        }
    }

    let new_leads: Vec<LeadRecord> = batch
        .new_order
        .iter()
        .map(|id| batch.leads[id].record.clone())
        .collect();
    let accounts_ms = lap();
    leads::insert_many(conn, &new_leads).await?;
    let leads_ms = lap();
    let mut keys = Vec::new();
    let mut changed = Vec::new();
    for lead in batch.leads.values_mut() {
        if lead.is_new || lead.dirty {
            let lead_keys = match lead.keys.take() {
                Some(k) => k,
                None => matching::blocking_keys(&MatchRecord::from_lead(&lead.record.fields)),
            };
            keys.extend(
                lead_keys
                    .into_iter()
                    .map(|key| (key, lead.record.id.clone())),
            );
        }
        if lead.dirty && !lead.is_new {
            changed.push(lead.record.clone());
        }
    }
    leads::update_many(conn, &changed).await?;
    let updates_ms = lap();
    leads::insert_aliases(conn, &batch.aliases).await?;
    keys.extend(batch.alias_keys.iter().cloned());
    leads::insert_match_keys(conn, &keys).await?;
    let keys_ms = lap();
    touches::insert_many(conn, &batch.touches).await?;
    touches::insert_consents(conn, &batch.consents).await?;
    let touches_ms = lap();
    timeline::append(conn, &batch.events).await?;
    timeline::record_match_decisions(conn, &batch.decisions).await?;
    let timeline_ms = lap();
    leadline_store::duplicates::insert_many(conn, &batch.pairs).await?;
    // A lead its creator owns (a rep's own entry) starts with its work row.
    let owned: Vec<LeadWork> = batch
        .new_order
        .iter()
        .filter_map(|id| {
            let owner = batch.owners.get(id).cloned().flatten()?;
            Some(LeadWork {
                lead_id: id.clone(),
                answers: json!({}),
                owner_id: Some(owner),
                updated_at: now,
                ..Default::default()
            })
        })
        .collect();
    leadline_store::work::save_many(conn, &owned.iter().collect::<Vec<_>>()).await?;
    let created: Vec<OutboxEvent> = batch
        .announced
        .iter()
        .map(|(lead_id, source)| {
            let lead = &batch.leads[lead_id].record;
            let work = owned.iter().find(|w| &w.lead_id == lead_id);
            let payload = json!({ "lead": lead_summary(lead, work), "source": source });
            let audience = notify::audience(work.and_then(|w| w.owner_id.as_deref()), &payload);
            OutboxEvent::new(
                notify::LEAD_CREATED,
                Some(lead_id),
                audience,
                payload,
                lead.created_at,
            )
        })
        .collect();
    outbox::emit(conn, &created).await?;
    leadline_store::followups::insert_many(conn, &batch.followups).await?;
    tracing::debug!(
        accounts_ms,
        leads_ms,
        updates_ms,
        key_rows = keys.len(),
        keys_ms,
        touches_ms,
        timeline_ms,
        rest_ms = lap(),
        "capture batch: written"
    );
    Ok(())
}
