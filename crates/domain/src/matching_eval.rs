//! Measuring matching on lists whose truth is known (issue 10's "Done means").
//!
//! A [`LabelledList`] carries, for every record, the person it really is and the
//! household it belongs to. [`evaluate`] replays the list through matching the way the
//! capture pipeline (`service::capture`) does — records arrive one by one, each is
//! blocked against the keys of what came before, the best candidate decides, a sure
//! match merges into that lead with [`plan_merge`] and a possible one flags the new lead
//! — and then counts, over pairs of records, what was merged right and wrong.
//!
//! The model is a parameter ([`LinkageModel`]): today the hand-set
//! [`MatchModel`] (the prior, or one trained on the list); the caller
//! decides in one place which model a list is measured with.
//!
//! # Definitions
//!
//! * **True pair**: two records of the same person (unordered). Rejected records
//!   (see [`prepare`]) take no part.
//! * **Blocking recall**: share of true pairs whose two records share at least one
//!   *usable* blocking key. As in `Batch::load`, strong keys (e-mail, phone) are always
//!   usable and a weak key only while its block is no larger than its pass's cap
//!   ([`LinkageModel::block_usable`], [`matching::block_cap`]); here a block's size is
//!   the number of distinct true persons filed under the key over the whole list (the
//!   leads it would hold after a perfect de-duplication) — a static measure, independent of
//!   the order and of the decisions.
//! * **Sure precision / recall / F1**: over pairs of records in one lead at the end.
//!   Precision = pairs in one lead that are one person ÷ pairs in one lead; recall =
//!   the same ÷ true pairs. A pair counts as merged also when the two records met
//!   only through a third (transitively), as in the server.
//! * **Sure + possible recall**: a true pair counts as found if its records are in one
//!   lead, or the lead of one was flagged as a possible duplicate of the lead of the
//!   other (a reviewer opening that flag would merge them). A lead carries at most one
//!   flag, pointing at an earlier lead; a pair whose leads are linked only through a
//!   third lead is not found.
//! * **Household merges**: pairs of records in one lead that are two people of one
//!   household (B2B lists use the household id for namesakes at one company). Pairs
//!   of two people whose clean values are identical on the list's fields (a Jr and
//!   Sr once the date of birth is removed) are counted apart as *indistinguishable*.

use crate::fields::LeadInput;
use crate::matching::{self, MatchDecision, MatchEvidence, MatchModel, MatchRecord, MatchResult};
use crate::merge::plan_merge;
use crate::normalize::{normalize_lead, NormalizeOptions, NormalizedLead};
use crate::LeadField;
use std::collections::{BTreeMap, HashMap, HashSet};

/// One record of a test list, with its truth.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelledRecord {
    /// Raw values as the list gives them.
    pub input: LeadInput,
    /// The person it really is (dense ids, index into [`LabelledList::persons`]).
    pub person: u32,
    /// The household (or, in a B2B list, the group of namesakes at one company) the
    /// person belongs to; a person alone has a household of their own.
    pub household: u32,
    /// What was done to this record compared with the person's clean values, as
    /// `kind:field` (`typo:last_name`, `missing:postal_code`); empty for a clean copy.
    pub tags: Vec<String>,
}

/// A test list: records in arrival order and the clean values of every person.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelledList {
    pub name: String,
    pub records: Vec<LabelledRecord>,
    /// Clean values per person id, with every field the person has.
    pub persons: Vec<LeadInput>,
}

impl LabelledList {
    /// The same list with some fields removed from every record and person (and the
    /// tags of corruptions of those fields dropped): "names and address only".
    pub fn without_fields(&self, name: &str, fields: &[LeadField]) -> LabelledList {
        let strip = |input: &LeadInput| {
            let mut out = input.clone();
            for &f in fields {
                clear_field(&mut out, f);
            }
            out
        };
        let suffixes: Vec<String> = fields.iter().map(|f| format!(":{}", f.as_str())).collect();
        LabelledList {
            name: name.to_string(),
            records: self
                .records
                .iter()
                .map(|r| LabelledRecord {
                    input: strip(&r.input),
                    person: r.person,
                    household: r.household,
                    tags: r
                        .tags
                        .iter()
                        .filter(|t| !suffixes.iter().any(|s| t.ends_with(s.as_str())))
                        .cloned()
                        .collect(),
                })
                .collect(),
            persons: self.persons.iter().map(strip).collect(),
        }
    }
}

fn clear_field(input: &mut LeadInput, field: LeadField) {
    let slot = match field {
        LeadField::FirstName => &mut input.first_name,
        LeadField::LastName => &mut input.last_name,
        LeadField::FullName => &mut input.full_name,
        LeadField::Title => &mut input.title,
        LeadField::Email => &mut input.email,
        LeadField::Phone => &mut input.phone,
        LeadField::Company => &mut input.company,
        LeadField::Website => &mut input.website,
        LeadField::Street => &mut input.street,
        LeadField::PostalCode => &mut input.postal_code,
        LeadField::City => &mut input.city,
        LeadField::Region => &mut input.region,
        LeadField::Country => &mut input.country,
        LeadField::DateOfBirth => &mut input.date_of_birth,
    };
    *slot = None;
}

/// What [`evaluate`] asks of a matching model. The defaults are today's blocking;
/// a model with blocking passes of its own overrides them.
pub trait LinkageModel {
    fn blocking_keys(&self, r: &MatchRecord) -> Vec<String> {
        matching::blocking_keys(r)
    }
    /// Whether a block of `size` leads under `key` is used (see [`matching::block_cap`]).
    fn block_usable(&self, key: &str, size: usize) -> bool {
        matching::block_usable(key, size)
    }
    /// The candidate the incoming record matches best, as the capture pipeline asks.
    fn best_match<'a, K: Clone>(
        &self,
        incoming: &MatchRecord,
        candidates: impl IntoIterator<Item = (K, &'a MatchRecord)>,
    ) -> Option<MatchResult<K>>;
    /// The best candidate as [`LinkageModel::best_match`] decides it, and every
    /// candidate that is not distinct, best first: what capture puts in the duplicates
    /// review queue. A model without a ranking gives only its best.
    fn ranked_matches<'a, K: Clone>(
        &self,
        incoming: &MatchRecord,
        candidates: impl IntoIterator<Item = (K, &'a MatchRecord)>,
    ) -> (Option<MatchResult<K>>, Vec<MatchResult<K>>) {
        let best = self.best_match(incoming, candidates);
        let all = best.iter().cloned().collect();
        (best, all)
    }
    /// The evidence for one pair (for the diagnosis of misses and false merges).
    fn compare(&self, a: &MatchRecord, b: &MatchRecord) -> MatchEvidence;
    fn decide(&self, evidence: &MatchEvidence) -> MatchDecision;
    /// Whether the household guard shows the two to be two people
    /// ([`matching::shown_apart`]): two leads one record is sure for are then not
    /// linked as each other's duplicates.
    fn shown_apart(&self, _a: &MatchRecord, _b: &MatchRecord) -> bool {
        true
    }
}

/// The production model: levels, learned or prior weights, thresholds.
impl LinkageModel for MatchModel {
    fn best_match<'a, K: Clone>(
        &self,
        incoming: &MatchRecord,
        candidates: impl IntoIterator<Item = (K, &'a MatchRecord)>,
    ) -> Option<MatchResult<K>> {
        matching::best_match(incoming, candidates, self)
    }

    fn ranked_matches<'a, K: Clone>(
        &self,
        incoming: &MatchRecord,
        candidates: impl IntoIterator<Item = (K, &'a MatchRecord)>,
    ) -> (Option<MatchResult<K>>, Vec<MatchResult<K>>) {
        let ranked = matching::rank_matches(incoming, candidates, self);
        (ranked.best, ranked.all)
    }

    fn compare(&self, a: &MatchRecord, b: &MatchRecord) -> MatchEvidence {
        matching::compare(a, b, self)
    }

    fn decide(&self, evidence: &MatchEvidence) -> MatchDecision {
        matching::decide(evidence, self)
    }

    fn shown_apart(&self, a: &MatchRecord, b: &MatchRecord) -> bool {
        matching::shown_apart(a, b, self)
    }
}

/// A list normalised as the capture pipeline would.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// `None` for a record normalisation rejected.
    pub leads: Vec<Option<NormalizedLead>>,
    /// Comparable view of every record (empty for rejected ones).
    pub records: Vec<MatchRecord>,
    pub person: Vec<u32>,
    pub household: Vec<u32>,
    pub tags: Vec<Vec<String>>,
    /// Clean values of every person, normalised (for telling indistinguishable
    /// household members apart).
    pub persons: Vec<Option<NormalizedLead>>,
    /// Records normalisation rejected even after dropping the fields it refused.
    pub rejected: usize,
    /// Field values dropped because normalisation refused them (a record whose date
    /// of birth does not parse keeps its other values, as issue 10 asks of the server).
    pub dropped_fields: usize,
}

impl Prepared {
    /// The comparable views of the records that were not rejected (what a trained
    /// model would be estimated on).
    pub fn match_records(&self) -> Vec<&MatchRecord> {
        self.leads
            .iter()
            .zip(&self.records)
            .filter(|(l, _)| l.is_some())
            .map(|(_, r)| r)
            .collect()
    }
}

fn normalise(input: &LeadInput, dropped: &mut usize) -> Option<NormalizedLead> {
    let opts = NormalizeOptions::default();
    match normalize_lead(input, &opts) {
        Ok(lead) => Some(lead),
        Err(errors) => {
            let mut retry = input.clone();
            for e in &errors {
                if let Some(f) = LeadField::ALL.iter().find(|f| f.as_str() == e.field) {
                    clear_field(&mut retry, *f);
                    *dropped += 1;
                }
            }
            normalize_lead(&retry, &opts).ok()
        }
    }
}

/// Normalises every record (and every person's clean values).
pub fn prepare(list: &LabelledList) -> Prepared {
    let mut dropped = 0;
    let leads: Vec<Option<NormalizedLead>> = list
        .records
        .iter()
        .map(|r| normalise(&r.input, &mut dropped))
        .collect();
    let mut ignored = 0;
    let persons = list
        .persons
        .iter()
        .map(|p| normalise(p, &mut ignored))
        .collect();
    Prepared {
        records: leads
            .iter()
            .map(|l| l.as_ref().map(MatchRecord::from_lead).unwrap_or_default())
            .collect(),
        rejected: leads.iter().filter(|l| l.is_none()).count(),
        leads,
        person: list.records.iter().map(|r| r.person).collect(),
        household: list.records.iter().map(|r| r.household).collect(),
        tags: list.records.iter().map(|r| r.tags.clone()).collect(),
        persons,
        dropped_fields: dropped,
    }
}

/// Which earlier values a new record is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CandidatePolicy {
    /// Each lead's current values only (after merges filled its blanks): the capture
    /// pipeline as it is today.
    LeadValues,
    /// Each lead's current values and every record merged into it, each leading to
    /// the lead (issue 10: "everything a lead has been").
    EveryRecord,
}

#[derive(Debug, Clone, Copy)]
pub struct EvalOptions {
    pub candidates: CandidatePolicy,
    /// Examples kept per kind of false merge and per cause of misses.
    pub examples: usize,
}

impl Default for EvalOptions {
    fn default() -> Self {
        EvalOptions {
            candidates: CandidatePolicy::EveryRecord,
            examples: 3,
        }
    }
}

/// A sure merge of a record into a lead holding (at least) another person.
#[derive(Debug, Clone)]
pub struct FalseMerge {
    /// `household member`, `household member, indistinguishable` (identical clean
    /// values) or `another person`, and whether it went through a record or a lead's
    /// merged values: the key of [`EvalReport::false_merge_count`].
    pub kind: String,
    /// The incoming record (index into the list).
    pub record: usize,
    /// The record the chosen candidate came from (for a lead's merged values: the
    /// lead's first record).
    pub matched: usize,
    /// Whether the matched candidate was a lead's merged values rather than a record.
    pub matched_lead_values: bool,
    /// The two are people of one household.
    pub household: bool,
    pub evidence: MatchEvidence,
    pub incoming_values: MatchRecord,
    pub candidate_values: MatchRecord,
}

/// A true pair left in two leads, with why (see [`miss_cause`]).
#[derive(Debug, Clone)]
pub struct Miss {
    pub first: usize,
    pub second: usize,
    pub evidence: MatchEvidence,
}

/// Per corruption kind: the true pairs one of whose records carries it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TagStats {
    pub pairs: u64,
    pub blocked: u64,
    pub merged: u64,
    pub found: u64,
}

/// Everything measured on one list.
#[derive(Debug, Clone, Default)]
pub struct EvalReport {
    pub records: usize,
    pub rejected: usize,
    pub dropped_fields: usize,
    /// Leads at the end.
    pub leads: usize,
    pub persons: usize,
    pub true_pairs: u64,
    pub blocked_pairs: u64,
    /// Pairs of records in one lead.
    pub merged_pairs: u64,
    /// Of those, pairs of one person.
    pub correct_pairs: u64,
    /// True pairs merged, or whose two leads are a pair in the review queue.
    pub found_pairs: u64,
    pub household_merges: u64,
    /// Household merges of two people with identical clean values on this list.
    pub indistinguishable_household_merges: u64,
    /// Pairs of leads the replay put in the duplicates review queue.
    pub possible_flags: usize,
    /// Of those, pairs of leads that share a person.
    pub true_possible_flags: usize,
    /// Candidates scored in all (the cost of matching).
    pub comparisons: u64,
    /// Weak keys skipped for their block size, over all lookups.
    pub skipped_weak_keys: u64,
    pub false_merge_count: BTreeMap<String, usize>,
    /// False merges by kind (`household member`, …) and the corruption kinds of the
    /// two records (`household member: initial+missing`; `clean` for none).
    pub false_merge_causes: BTreeMap<String, usize>,
    pub false_merges: Vec<FalseMerge>,
    /// Missed true pairs by cause.
    pub miss_count: BTreeMap<String, u64>,
    pub misses: BTreeMap<String, Vec<Miss>>,
    /// By corruption kind (the part of a tag before `:`; `clean` for two clean copies).
    pub by_tag: BTreeMap<String, TagStats>,
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        1.0
    } else {
        a as f64 / b as f64
    }
}

impl EvalReport {
    pub fn blocking_recall(&self) -> f64 {
        ratio(self.blocked_pairs, self.true_pairs)
    }
    pub fn precision(&self) -> f64 {
        ratio(self.correct_pairs, self.merged_pairs)
    }
    pub fn recall(&self) -> f64 {
        ratio(self.correct_pairs, self.true_pairs)
    }
    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }
    pub fn possible_recall(&self) -> f64 {
        ratio(self.found_pairs, self.true_pairs)
    }
}

/// Where a candidate's values came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    Record(usize),
    /// A lead's merged values (its first record's index).
    Lead(usize),
}

struct Candidate {
    record: MatchRecord,
    lead: usize,
    origin: Origin,
}

#[derive(Default)]
struct Block {
    entries: Vec<usize>,
    /// Distinct leads in the block: its size for the weak-key cap.
    leads: Vec<usize>,
}

struct Lead {
    values: NormalizedLead,
    /// The candidate holding the lead's merged values, once it has one of its own.
    view: Option<usize>,
    members: Vec<usize>,
}

struct Replay<'a, M> {
    model: &'a M,
    policy: CandidatePolicy,
    candidates: Vec<Candidate>,
    index: HashMap<String, Block>,
    leads: Vec<Lead>,
    lead_of: Vec<Option<usize>>,
    comparisons: u64,
    skipped: u64,
    false_merges: Vec<FalseMerge>,
    /// Pairs of leads in the duplicates review queue, `(lower, higher)`.
    links: HashSet<(usize, usize)>,
}

impl<M: LinkageModel> Replay<'_, M> {
    /// Queues what capture queues for review ([`matching::review_pairs`]): `lead`, the
    /// record's own (created or merged into), with the leads it matched, and the leads
    /// it is sure for with each other.
    fn queue_pairs(&mut self, lead: usize, created: bool, matches: &[MatchResult<usize>]) {
        let candidates = &self.candidates;
        let pairs = matching::review_pairs(
            &lead,
            created,
            matches,
            |&c| candidates[c].lead,
            |&x, &y| {
                self.model
                    .shown_apart(&candidates[x].record, &candidates[y].record)
            },
        );
        for (a, b, _) in pairs {
            self.links.insert((a.min(b), a.max(b)));
        }
    }

    fn file(&mut self, candidate: usize) {
        let lead = self.candidates[candidate].lead;
        for key in self.model.blocking_keys(&self.candidates[candidate].record) {
            let block = self.index.entry(key).or_default();
            if !block.entries.contains(&candidate) {
                block.entries.push(candidate);
            }
            if !block.leads.contains(&lead) {
                block.leads.push(lead);
            }
        }
    }

    fn add_candidate(&mut self, record: MatchRecord, lead: usize, origin: Origin) -> usize {
        self.candidates.push(Candidate {
            record,
            lead,
            origin,
        });
        let id = self.candidates.len() - 1;
        self.file(id);
        id
    }

    fn lookup(&mut self, record: &MatchRecord) -> Vec<usize> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for key in self.model.blocking_keys(record) {
            let Some(block) = self.index.get(&key) else {
                continue;
            };
            if !self.model.block_usable(&key, block.leads.len()) {
                self.skipped += 1;
                continue;
            }
            for &c in &block.entries {
                if seen.insert(c) {
                    out.push(c);
                }
            }
        }
        out
    }

    /// Makes a lead of record `i` and returns its index.
    fn new_lead(&mut self, i: usize, lead: &NormalizedLead, record: &MatchRecord) -> usize {
        let id = self.leads.len();
        self.leads.push(Lead {
            values: lead.clone(),
            view: None,
            members: vec![i],
        });
        self.lead_of[i] = Some(id);
        let c = self.add_candidate(record.clone(), id, Origin::Record(i));
        if self.policy == CandidatePolicy::LeadValues {
            // The lead's own values are its only candidate, updated in place.
            self.leads[id].view = Some(c);
        }
        id
    }

    fn merge(&mut self, i: usize, lead: &NormalizedLead, record: &MatchRecord, into: usize) {
        self.leads[into].members.push(i);
        self.lead_of[i] = Some(into);
        let plan = plan_merge(&self.leads[into].values, lead);
        if !plan.filled.is_empty() {
            self.leads[into].values = plan.merged;
            let view = MatchRecord::from_lead(&self.leads[into].values);
            match self.leads[into].view {
                Some(c) => {
                    // Keys only grow (blanks are filled, nothing replaced), and the
                    // server never deletes a lead's old keys either.
                    self.candidates[c].record = view;
                    self.file(c);
                }
                None => {
                    let first = self.leads[into].members[0];
                    let c = self.add_candidate(view, into, Origin::Lead(first));
                    self.leads[into].view = Some(c);
                }
            }
        }
        if self.policy == CandidatePolicy::EveryRecord {
            self.add_candidate(record.clone(), into, Origin::Record(i));
        }
    }
}

/// Replays the list through matching and measures the outcome (see the module docs).
pub fn evaluate<M: LinkageModel>(p: &Prepared, model: &M, opts: &EvalOptions) -> EvalReport {
    let n = p.records.len();
    let mut replay = Replay {
        model,
        policy: opts.candidates,
        candidates: Vec::with_capacity(n * 2),
        index: HashMap::with_capacity(n * 6),
        leads: Vec::with_capacity(n),
        lead_of: vec![None; n],
        comparisons: 0,
        skipped: 0,
        false_merges: Vec::new(),
        links: HashSet::new(),
    };
    for i in 0..n {
        let Some(lead) = &p.leads[i] else {
            continue;
        };
        let record = &p.records[i];
        let found = replay.lookup(record);
        replay.comparisons += found.len() as u64;
        let (best, all) = model.ranked_matches(
            record,
            found.iter().map(|&c| (c, &replay.candidates[c].record)),
        );
        match best {
            Some(m) if m.decision == MatchDecision::Sure => {
                let cand = &replay.candidates[m.candidate];
                let (matched, lead_values) = match cand.origin {
                    Origin::Record(j) => (j, false),
                    Origin::Lead(j) => (j, true),
                };
                let into = cand.lead;
                // For a lead's values the lead's first record stands for its person.
                let other = if lead_values {
                    p.person[replay.leads[into].members[0]]
                } else {
                    p.person[matched]
                };
                if other != p.person[i] {
                    replay.false_merges.push(FalseMerge {
                        kind: String::new(),
                        record: i,
                        matched,
                        matched_lead_values: lead_values,
                        household: p.household[i] == p.household[matched],
                        evidence: m.evidence.clone(),
                        incoming_values: record.clone(),
                        candidate_values: cand.record.clone(),
                    });
                }
                replay.merge(i, lead, record, into);
                replay.queue_pairs(into, false, &all);
            }
            Some(_) => {
                let created = replay.new_lead(i, lead, record);
                replay.queue_pairs(created, true, &all);
            }
            None => {
                replay.new_lead(i, lead, record);
            }
        }
    }
    measure(p, model, opts, replay)
}

/// Indices of the records of each person, in list order.
fn by_person(p: &Prepared) -> BTreeMap<u32, Vec<usize>> {
    let mut out: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    for i in 0..p.records.len() {
        if p.leads[i].is_some() {
            out.entry(p.person[i]).or_default().push(i);
        }
    }
    out
}

/// Usable keys per record, with the block sizes the static blocking recall uses.
fn usable_keys<M: LinkageModel>(p: &Prepared, model: &M) -> Vec<Vec<String>> {
    let keys: Vec<Vec<String>> = p
        .records
        .iter()
        .zip(&p.leads)
        .map(|(r, l)| {
            if l.is_some() {
                model.blocking_keys(r)
            } else {
                Vec::new()
            }
        })
        .collect();
    let mut persons: HashMap<&str, HashSet<u32>> = HashMap::new();
    for (i, ks) in keys.iter().enumerate() {
        for k in ks {
            persons.entry(k.as_str()).or_default().insert(p.person[i]);
        }
    }
    keys.iter()
        .map(|ks| {
            ks.iter()
                .filter(|k| model.block_usable(k, persons.get(k.as_str()).map_or(0, HashSet::len)))
                .cloned()
                .collect()
        })
        .collect()
}

fn tag_kinds(tags: &[String]) -> impl Iterator<Item = &str> {
    tags.iter().map(|t| t.split(':').next().unwrap_or(t))
}

/// Why a true pair was missed, from what the model says of the pair on its own:
/// `not blocked` (no usable shared key), `sure` (the pair alone would merge; the
/// later record went to another lead), `possible` or `distinct`, each with the
/// fields that disagree (`possible: first_name`) — or, when nothing disagrees,
/// `too little agrees`.
pub fn miss_cause(blocked: bool, decision: MatchDecision, evidence: &MatchEvidence) -> String {
    if !blocked {
        return "not blocked".to_string();
    }
    let verdict = match decision {
        MatchDecision::Sure => return "sure as a pair, merged elsewhere".to_string(),
        MatchDecision::Possible => "possible",
        MatchDecision::Distinct => "distinct",
    };
    let disagree = disagreeing_fields(evidence);
    if disagree.is_empty() {
        format!("{verdict}: too little agrees")
    } else {
        format!("{verdict}: {} disagree", disagree.join("+"))
    }
}

/// The fields of the evidence that clearly disagree (the one place this module reads
/// the evidence's structure, apart from printing it).
pub fn disagreeing_fields(e: &MatchEvidence) -> Vec<&str> {
    e.comparisons
        .iter()
        .filter(|c| c.outcome == matching::ComparisonOutcome::Disagree)
        .map(|c| c.field.as_str())
        .collect()
}

/// "email agree +20.7, first_name disagree -3.6 = 17.1".
pub fn evidence_line(e: &MatchEvidence) -> String {
    let parts: Vec<String> = e
        .comparisons
        .iter()
        .map(|c| {
            let outcome = match c.outcome {
                matching::ComparisonOutcome::Agree => "agree",
                matching::ComparisonOutcome::Partial => "partial",
                matching::ComparisonOutcome::Disagree => "disagree",
            };
            format!("{} {outcome} {:+.1}", c.field, c.weight)
        })
        .collect();
    format!("{} = {:.1}", parts.join(", "), e.score)
}

/// The values of a record on one line, for examples.
pub fn record_line(r: &MatchRecord) -> String {
    let name = [r.first_name.as_deref(), r.last_name.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let address = [
        r.street.as_deref(),
        r.postal_code.as_deref(),
        r.city.as_deref(),
        r.country.as_deref(),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(", ");
    let parts = [
        Some(name.as_str()).filter(|s| !s.is_empty()),
        r.email_key.as_deref(),
        r.phone.as_deref(),
        r.company_key.as_deref(),
        Some(address.as_str()).filter(|s| !s.is_empty()),
        r.date_of_birth.as_deref(),
    ];
    parts.into_iter().flatten().collect::<Vec<_>>().join(" | ")
}

/// Whether two people have the same clean values on this list's fields.
fn identical(p: &Prepared, a: usize, b: usize) -> bool {
    p.persons.get(a).is_some_and(Option::is_some) && p.persons.get(a) == p.persons.get(b)
}

fn measure<M: LinkageModel>(
    p: &Prepared,
    model: &M,
    opts: &EvalOptions,
    replay: Replay<'_, M>,
) -> EvalReport {
    let mut report = EvalReport {
        records: p.records.len(),
        rejected: p.rejected,
        dropped_fields: p.dropped_fields,
        leads: replay.leads.len(),
        comparisons: replay.comparisons,
        skipped_weak_keys: replay.skipped,
        ..EvalReport::default()
    };
    let lead_of = &replay.lead_of;
    // Found for review: the two leads are a pair in the review queue.
    let linked = |a: usize, b: usize| replay.links.contains(&(a.min(b), a.max(b)));

    // Merged pairs, household merges.
    for lead in &replay.leads {
        for (x, &i) in lead.members.iter().enumerate() {
            for &j in &lead.members[x + 1..] {
                report.merged_pairs += 1;
                if p.person[i] == p.person[j] {
                    report.correct_pairs += 1;
                } else if p.household[i] == p.household[j] {
                    report.household_merges += 1;
                    if identical(p, p.person[i] as usize, p.person[j] as usize) {
                        report.indistinguishable_household_merges += 1;
                    }
                }
            }
        }
    }
    // The review queue.
    for &(a, b) in &replay.links {
        report.possible_flags += 1;
        let here: HashSet<u32> = replay.leads[a]
            .members
            .iter()
            .map(|&i| p.person[i])
            .collect();
        if replay.leads[b]
            .members
            .iter()
            .any(|&j| here.contains(&p.person[j]))
        {
            report.true_possible_flags += 1;
        }
    }
    // False merges by kind, a few examples each.
    let mut kept: BTreeMap<String, usize> = BTreeMap::new();
    for mut fm in replay.false_merges {
        let (a, b) = (p.person[fm.record] as usize, p.person[fm.matched] as usize);
        let kind = match (fm.household, identical(p, a, b)) {
            (true, true) => "household member, indistinguishable",
            (true, false) => "household member",
            (false, _) => "another person",
        };
        let via = if fm.matched_lead_values {
            "via a lead's merged values"
        } else {
            "via a record"
        };
        let mut kinds: Vec<&str> = tag_kinds(&p.tags[fm.record])
            .chain(tag_kinds(&p.tags[fm.matched]))
            .collect();
        kinds.sort_unstable();
        kinds.dedup();
        let tags = if kinds.is_empty() {
            "clean".to_string()
        } else {
            kinds.join("+")
        };
        *report
            .false_merge_causes
            .entry(format!("{kind}: {tags}"))
            .or_default() += 1;
        let key = format!("{kind} ({via})");
        *report.false_merge_count.entry(key.clone()).or_default() += 1;
        let k = kept.entry(key.clone()).or_default();
        if *k < opts.examples {
            *k += 1;
            fm.kind = key;
            report.false_merges.push(fm);
        }
    }

    report.false_merges.sort_by(|x, y| x.kind.cmp(&y.kind));

    // True pairs: blocking, found, misses, corruption kinds.
    let usable = usable_keys(p, model);
    let people = by_person(p);
    report.persons = people.len();
    for records in people.values() {
        for (x, &i) in records.iter().enumerate() {
            for &j in &records[x + 1..] {
                report.true_pairs += 1;
                let blocked = usable[i].iter().any(|k| usable[j].contains(k));
                let (li, lj) = (
                    lead_of[i].unwrap_or(usize::MAX),
                    lead_of[j].unwrap_or(usize::MAX),
                );
                let merged = li == lj;
                let found = merged || linked(li, lj);
                report.blocked_pairs += u64::from(blocked);
                report.found_pairs += u64::from(found);
                let mut kinds: Vec<&str> =
                    tag_kinds(&p.tags[i]).chain(tag_kinds(&p.tags[j])).collect();
                kinds.sort_unstable();
                kinds.dedup();
                if kinds.is_empty() {
                    kinds.push("clean");
                }
                for kind in kinds {
                    let s = report.by_tag.entry(kind.to_string()).or_default();
                    s.pairs += 1;
                    s.blocked += u64::from(blocked);
                    s.merged += u64::from(merged);
                    s.found += u64::from(found);
                }
                if merged {
                    continue;
                }
                let evidence = model.compare(&p.records[i], &p.records[j]);
                let decision = model.decide(&evidence);
                let mut cause = miss_cause(blocked, decision, &evidence);
                if decision == MatchDecision::Possible && blocked {
                    cause.push_str(if found {
                        " (flagged)"
                    } else {
                        " (not flagged)"
                    });
                }
                *report.miss_count.entry(cause.clone()).or_default() += 1;
                let examples = report.misses.entry(cause).or_default();
                if examples.len() < opts.examples {
                    examples.push(Miss {
                        first: i,
                        second: j,
                        evidence,
                    });
                }
            }
        }
    }
    report
}

/// What one blocking pass contributes on a list, counted over the whole list at once
/// (every pair of records sharing one of the pass's keys, blocks over the weak-block cap
/// left out): the cost of a pass against the true pairs only it finds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassYield {
    /// The key prefix (`matching::PASSES`).
    pub pass: &'static str,
    pub description: &'static str,
    /// Record pairs sharing a key of this pass.
    pub pairs: u64,
    /// Of them, pairs of one person.
    pub true_pairs: u64,
    /// Pairs no other pass brings together.
    pub only_here: u64,
    /// True pairs no other pass finds: what the list would lose without this pass.
    pub true_only_here: u64,
}

/// [`PassYield`] of every pass, in [`matching::PASSES`] order. `records[i]` belongs to
/// `person[i]`; a record with no values (rejected) takes part in no pair.
pub fn pass_yield(records: &[MatchRecord], person: &[u32]) -> Vec<PassYield> {
    let mut blocks: HashMap<String, Vec<u32>> = HashMap::new();
    for (i, r) in records.iter().enumerate() {
        if *r == MatchRecord::default() {
            continue;
        }
        for key in matching::blocking_keys(r) {
            blocks.entry(key).or_default().push(i as u32);
        }
    }
    // The passes (by index in PASSES) that bring each pair together.
    let mut pair_passes: HashMap<(u32, u32), u16> = HashMap::new();
    for (key, ids) in &blocks {
        if !matching::block_usable(key, ids.len()) {
            continue;
        }
        let prefix = key.split(':').next().unwrap_or_default();
        let Some(pass) = matching::PASSES.iter().position(|(p, _)| *p == prefix) else {
            continue;
        };
        for (n, &a) in ids.iter().enumerate() {
            for &b in &ids[n + 1..] {
                *pair_passes.entry((a.min(b), a.max(b))).or_default() |= 1 << pass;
            }
        }
    }
    let mut out: Vec<PassYield> = matching::PASSES
        .iter()
        .map(|&(pass, description)| PassYield {
            pass,
            description,
            pairs: 0,
            true_pairs: 0,
            only_here: 0,
            true_only_here: 0,
        })
        .collect();
    for (&(a, b), &passes) in &pair_passes {
        let same = person[a as usize] == person[b as usize];
        let alone = passes.count_ones() == 1;
        for (i, y) in out.iter_mut().enumerate() {
            if passes & (1 << i) != 0 {
                y.pairs += 1;
                y.true_pairs += u64::from(same);
                y.only_here += u64::from(alone);
                y.true_only_here += u64::from(alone && same);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pass_yield_counts_what_each_pass_alone_finds() {
        let rec = |email: &str, first: &str, last: &str, postal: &str| MatchRecord {
            email_key: Some(email.into()),
            first_name: Some(first.into()),
            last_name: Some(last.into()),
            postal_code: Some(postal.into()),
            ..Default::default()
        };
        let records = [
            rec("lee@example.org", "Ann", "Lee", "SW1A 1AA"),
            // The same e-mail (too short a local part for its own key), another name
            // and postcode: only the e-mail pass.
            rec("lee@example.org", "Anne", "Leigh", "EC1A 1BB"),
            // Another person with Ann's name elsewhere: only the name pass.
            rec("a.lee@example.net", "Ann", "Lee", "M1 1AE"),
            MatchRecord::default(),
        ];
        let person = [1, 1, 2, 1];
        let by_pass: HashMap<&str, PassYield> = pass_yield(&records, &person)
            .into_iter()
            .map(|y| (y.pass, y))
            .collect();
        assert_eq!(by_pass.len(), matching::PASSES.len());
        let e = &by_pass["e"];
        assert_eq!(
            (e.pairs, e.true_pairs, e.only_here, e.true_only_here),
            (1, 1, 1, 1)
        );
        let f = &by_pass["f"];
        assert_eq!(
            (f.pairs, f.true_pairs, f.only_here, f.true_only_here),
            (1, 0, 1, 0)
        );
        for y in by_pass.values() {
            assert!(
                y.true_only_here <= y.true_pairs && y.true_pairs <= y.pairs,
                "{y:?}"
            );
            assert!(
                y.true_only_here <= y.only_here && y.only_here <= y.pairs,
                "{y:?}"
            );
        }
    }

    /// A model whose decisions are obvious by hand: the same e-mail key is sure; the
    /// same first and last name is sure; the same last name alone is possible.
    /// Blocks by e-mail (strong) and by last name (weak, capped at `cap`).
    struct Rules {
        cap: usize,
    }

    fn verdict(a: &MatchRecord, b: &MatchRecord) -> (MatchDecision, f64) {
        let same = |x: &Option<String>, y: &Option<String>| x.is_some() && x == y;
        if same(&a.email_key, &b.email_key)
            || (same(&a.first_name, &b.first_name) && same(&a.last_name, &b.last_name))
        {
            (MatchDecision::Sure, 2.0)
        } else if same(&a.last_name, &b.last_name) {
            (MatchDecision::Possible, 1.0)
        } else {
            (MatchDecision::Distinct, 0.0)
        }
    }

    impl LinkageModel for Rules {
        fn blocking_keys(&self, r: &MatchRecord) -> Vec<String> {
            let mut keys = Vec::new();
            if let Some(e) = &r.email_key {
                keys.push(format!("e:{e}"));
            }
            if let Some(l) = &r.last_name {
                keys.push(format!("l:{l}"));
            }
            keys
        }
        fn block_usable(&self, key: &str, size: usize) -> bool {
            matching::is_strong_key(key) || size <= self.cap
        }
        fn best_match<'a, K: Clone>(
            &self,
            incoming: &MatchRecord,
            candidates: impl IntoIterator<Item = (K, &'a MatchRecord)>,
        ) -> Option<MatchResult<K>> {
            let mut best: Option<(K, &MatchRecord, MatchDecision, f64)> = None;
            for (k, r) in candidates {
                let (d, s) = verdict(incoming, r);
                if d != MatchDecision::Distinct && best.as_ref().is_none_or(|b| s > b.3) {
                    best = Some((k, r, d, s));
                }
            }
            best.map(|(candidate, r, decision, _)| MatchResult {
                candidate,
                evidence: self.compare(incoming, r),
                decision,
            })
        }
        fn compare(&self, a: &MatchRecord, b: &MatchRecord) -> MatchEvidence {
            let score = verdict(a, b).1;
            MatchEvidence {
                score,
                probability: score / 2.0,
                household_guard: false,
                comparisons: Vec::new(),
            }
        }
        fn decide(&self, e: &MatchEvidence) -> MatchDecision {
            match e.score {
                s if s >= 2.0 => MatchDecision::Sure,
                s if s >= 1.0 => MatchDecision::Possible,
                _ => MatchDecision::Distinct,
            }
        }
    }

    fn rec(person: u32, household: u32, first: &str, last: &str, email: &str) -> LabelledRecord {
        let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
        LabelledRecord {
            input: LeadInput {
                first_name: opt(first),
                last_name: opt(last),
                email: opt(email),
                ..LeadInput::default()
            },
            person,
            household,
            tags: Vec::new(),
        }
    }

    fn list(records: Vec<LabelledRecord>) -> LabelledList {
        let persons = (0..=records.iter().map(|r| r.person).max().unwrap_or(0))
            .map(|p| {
                records
                    .iter()
                    .find(|r| r.person == p)
                    .map(|r| r.input.clone())
                    .unwrap_or_default()
            })
            .collect();
        LabelledList {
            name: "test".into(),
            records,
            persons,
        }
    }

    fn run(l: &LabelledList, model: &impl LinkageModel, policy: CandidatePolicy) -> EvalReport {
        let opts = EvalOptions {
            candidates: policy,
            examples: 10,
        };
        evaluate(&prepare(l), model, &opts)
    }

    #[test]
    fn eval_counts_pairs_precision_recall_and_household_merges() {
        // Person 0 (household 0): a1, a2 share an e-mail; a3 has another e-mail and
        // another first name on file, same surname -> possible. Person 1 is a
        // spouse in household 0 who uses the shared e-mail -> wrongly merged.
        // Person 2: two records with one e-mail. Person 3: alone.
        let l = list(vec![
            rec(0, 0, "Ann", "Lee", "home@x.org"),
            rec(0, 0, "Ann", "Lee", "HOME@x.org"),
            rec(1, 0, "Bo", "Lee", "home@x.org"),
            rec(0, 0, "A.", "Lee", "ann@work.org"),
            rec(2, 2, "Cy", "Ng", "cy@x.org"),
            rec(2, 2, "Cyrus", "Ngo", "cy@x.org"),
            rec(3, 3, "Di", "Fox", "di@x.org"),
        ]);
        let r = run(&l, &Rules { cap: 64 }, CandidatePolicy::EveryRecord);
        assert_eq!(r.records, 7);
        assert_eq!(r.persons, 4);
        // Person 0: 3 pairs; person 2: 1 pair.
        assert_eq!(r.true_pairs, 4);
        // Leads: {a1, a2, spouse}, {a3} flagged possible of it, {c1, c2}, {d}.
        assert_eq!(r.leads, 4);
        assert_eq!(r.merged_pairs, 3 + 1);
        assert_eq!(r.correct_pairs, 1 + 1);
        assert_eq!(r.household_merges, 2);
        assert_eq!(r.indistinguishable_household_merges, 0);
        assert!((r.precision() - 0.5).abs() < 1e-12);
        assert!((r.recall() - 0.5).abs() < 1e-12);
        assert!((r.f1() - 0.5).abs() < 1e-12);
        // a3 is flagged against the lead of a1 and a2: both its pairs are found.
        assert_eq!(r.found_pairs, 4);
        assert_eq!(r.possible_recall(), 1.0);
        assert_eq!((r.possible_flags, r.true_possible_flags), (1, 1));
        assert_eq!(r.blocking_recall(), 1.0);
        assert_eq!(r.false_merge_count.values().sum::<usize>(), 1);
        assert_eq!(
            r.false_merge_causes.iter().collect::<Vec<_>>(),
            [(&"household member: clean".to_string(), &1)]
        );
        assert!(r.false_merges[0].household);
        assert_eq!(r.false_merges[0].record, 2);
        assert_eq!(
            r.miss_count.keys().collect::<Vec<_>>(),
            ["possible: too little agrees (flagged)"]
        );
        assert_eq!(r.miss_count.values().sum::<u64>(), 2);
    }

    #[test]
    fn eval_perfect_and_empty_lists() {
        let l = list(vec![
            rec(0, 0, "Ann", "Lee", "a@x.org"),
            rec(0, 0, "Ann", "Lee", "a@x.org"),
            rec(1, 1, "Bo", "Ng", "b@x.org"),
        ]);
        let r = run(&l, &Rules { cap: 64 }, CandidatePolicy::EveryRecord);
        assert_eq!((r.true_pairs, r.merged_pairs, r.correct_pairs), (1, 1, 1));
        assert_eq!((r.precision(), r.recall(), r.f1()), (1.0, 1.0, 1.0));
        assert!(r.miss_count.is_empty() && r.false_merges.is_empty());
        assert_eq!(r.by_tag["clean"].merged, 1);

        let r = run(
            &list(Vec::new()),
            &Rules { cap: 64 },
            CandidatePolicy::EveryRecord,
        );
        assert_eq!((r.true_pairs, r.merged_pairs), (0, 0));
        // Nothing to find and nothing merged: vacuously perfect, never NaN.
        assert_eq!(
            (r.precision(), r.recall(), r.possible_recall()),
            (1.0, 1.0, 1.0)
        );
    }

    #[test]
    fn eval_transitive_merges_count_as_pairs() {
        // b matches a by e-mail, c matches b by name: all three in one lead although
        // a and c share nothing.
        let l = list(vec![
            rec(0, 0, "Ann", "Lee", "a@x.org"),
            rec(0, 0, "Anne", "Leigh", "a@x.org"),
            rec(0, 0, "Anne", "Leigh", "other@x.org"),
        ]);
        let r = run(&l, &Rules { cap: 64 }, CandidatePolicy::EveryRecord);
        assert_eq!((r.true_pairs, r.correct_pairs), (3, 3));
        // a and c share no key, so blocking recall is 2 of 3 although all merged.
        assert_eq!(r.blocked_pairs, 2);
    }

    #[test]
    fn eval_weak_blocks_over_the_cap_are_not_used() {
        // Four people named Lee (a weak block of four persons), cap 3: the two
        // records of person 0 share only that key, so they are never compared.
        let mut records = vec![
            rec(0, 0, "Ann", "Lee", "a1@x.org"),
            rec(1, 1, "Bo", "Lee", "b@x.org"),
            rec(2, 2, "Cy", "Lee", "c@x.org"),
            rec(3, 3, "Di", "Lee", "d@x.org"),
        ];
        records.push(rec(0, 0, "Ann", "Lee", "a2@x.org"));
        let l = list(records);
        let capped = run(&l, &Rules { cap: 3 }, CandidatePolicy::EveryRecord);
        assert_eq!(capped.true_pairs, 1);
        assert_eq!(capped.blocked_pairs, 0);
        assert_eq!(capped.correct_pairs, 0);
        assert_eq!(capped.skipped_weak_keys, 1);
        assert_eq!(capped.miss_count["not blocked"], 1);
        let open = run(&l, &Rules { cap: 4 }, CandidatePolicy::EveryRecord);
        assert_eq!((open.blocked_pairs, open.correct_pairs), (1, 1));
    }

    #[test]
    fn eval_every_record_finds_a_merged_away_email() {
        // a2 merges into a1 by name; the lead keeps a1's e-mail and a2's e-mail lives
        // on only in a2's record. a3 brings a2's e-mail under another spelling of the
        // name: found only when merged records stay candidates.
        let l = list(vec![
            rec(0, 0, "Ann", "Lee", "first@x.org"),
            rec(0, 0, "Ann", "Lee", "second@x.org"),
            rec(0, 0, "Annie", "Leigh", "second@x.org"),
        ]);
        let every = run(&l, &Rules { cap: 64 }, CandidatePolicy::EveryRecord);
        assert_eq!(every.correct_pairs, 3);
        let today = run(&l, &Rules { cap: 64 }, CandidatePolicy::LeadValues);
        assert_eq!(today.correct_pairs, 1);
        assert_eq!(today.leads, 2);
    }

    #[test]
    fn eval_lead_values_fill_blanks_and_find_by_them() {
        // a1 has no e-mail; a2 (same name) merges and fills it; a3 carries only that
        // e-mail and a different name: found through the lead's merged values.
        let mut first = rec(0, 0, "Ann", "Lee", "");
        first.input.company = Some("Acme".into());
        let l = list(vec![
            first,
            rec(0, 0, "Ann", "Lee", "ann@x.org"),
            rec(0, 0, "A", "L", "ann@x.org"),
        ]);
        for policy in [CandidatePolicy::LeadValues, CandidatePolicy::EveryRecord] {
            let r = run(&l, &Rules { cap: 64 }, policy);
            assert_eq!(r.correct_pairs, 3, "{policy:?}");
        }
    }

    #[test]
    fn eval_indistinguishable_household_members_are_counted_apart() {
        // Father and son, same name, same e-mail on file (the family address): their
        // clean values are identical, so no matcher can tell them apart.
        let l = list(vec![
            rec(0, 0, "Joe", "Lee", "lee@x.org"),
            rec(1, 0, "Joe", "Lee", "lee@x.org"),
        ]);
        let r = run(&l, &Rules { cap: 64 }, CandidatePolicy::EveryRecord);
        assert_eq!(r.household_merges, 1);
        assert_eq!(r.indistinguishable_household_merges, 1);
        assert_eq!(
            r.false_merge_count.keys().collect::<Vec<_>>(),
            ["household member, indistinguishable (via a record)"]
        );
        assert_eq!(
            r.false_merges[0].kind,
            r.false_merge_count.keys().next().unwrap().as_str()
        );
        assert_eq!(r.precision(), 0.0);
    }

    #[test]
    fn eval_rejected_records_take_no_part() {
        let mut bad_dob = rec(0, 0, "Ann", "Lee", "a@x.org");
        bad_dob.input.date_of_birth = Some("1980-43-02".into());
        let no_identity = rec(1, 1, "Bo", "", "");
        let l = list(vec![
            rec(0, 0, "Ann", "Lee", "a@x.org"),
            bad_dob,
            no_identity,
        ]);
        let p = prepare(&l);
        assert_eq!(p.rejected, 1);
        // An impossible date of birth is flagged by normalisation, not refused, so
        // nothing is dropped.
        assert_eq!(p.dropped_fields, 0);
        assert_eq!(p.match_records().len(), 2);
        let r = evaluate(&p, &Rules { cap: 64 }, &EvalOptions::default());
        assert_eq!((r.true_pairs, r.correct_pairs, r.persons), (1, 1, 1));
    }

    #[test]
    fn eval_without_fields_strips_values_and_their_tags() {
        let mut r = rec(0, 0, "Ann", "Lee", "a@x.org");
        r.input.date_of_birth = Some("1980-04-12".into());
        r.tags = vec!["dob_swap:date_of_birth".into(), "typo:last_name".into()];
        let l = list(vec![r]);
        let stripped = l.without_fields("no dob", &[LeadField::DateOfBirth]);
        assert_eq!(stripped.name, "no dob");
        assert_eq!(stripped.records[0].input.date_of_birth, None);
        assert_eq!(stripped.records[0].tags, ["typo:last_name"]);
        assert_eq!(stripped.persons[0].date_of_birth, None);
        assert_eq!(stripped.records[0].input.email.as_deref(), Some("a@x.org"));
    }

    #[test]
    fn eval_with_todays_model_keeps_spouses_apart_and_merges_repeats() {
        let person = |first: &str, person: u32, email: Option<&str>| LabelledRecord {
            input: LeadInput {
                first_name: Some(first.into()),
                last_name: Some("Whitfield".into()),
                street: Some("12 High Street".into()),
                postal_code: Some("SW1A 1AA".into()),
                city: Some("London".into()),
                country: Some("GB".into()),
                email: email.map(String::from),
                ..LeadInput::default()
            },
            person,
            household: 0,
            tags: Vec::new(),
        };
        let l = list(vec![
            person("Margaret", 0, None),
            person("Robert", 1, None),
            person("Margaret", 0, Some("mw@example.org")),
            person("Robert", 1, None),
        ]);
        let t = MatchModel::prior();
        let r = run(&l, &t, CandidatePolicy::EveryRecord);
        assert_eq!(r.true_pairs, 2);
        assert_eq!(r.correct_pairs, 2);
        assert_eq!(r.household_merges, 0);
        assert_eq!(r.precision(), 1.0);
    }

    #[test]
    fn eval_miss_causes_name_the_disagreeing_fields() {
        let e = matching::compare(
            &MatchRecord {
                first_name: Some("Ann".into()),
                last_name: Some("Lee".into()),
                ..MatchRecord::default()
            },
            &MatchRecord {
                first_name: Some("Zoe".into()),
                last_name: Some("Lee".into()),
                ..MatchRecord::default()
            },
            &MatchModel::prior(),
        );
        assert_eq!(
            miss_cause(true, MatchDecision::Distinct, &e),
            "distinct: first_name disagree"
        );
        assert_eq!(
            miss_cause(false, MatchDecision::Distinct, &e),
            "not blocked"
        );
        assert_eq!(
            miss_cause(true, MatchDecision::Sure, &e),
            "sure as a pair, merged elsewhere"
        );
        let line = evidence_line(&e);
        assert!(
            line.starts_with("first_name disagree -4.6, last_name agree +7.5"),
            "{line}"
        );
    }

    /// The bench's quality table on the three generated lists, without building the
    /// server: `LINKAGE_RECORDS` (default 20000), `LINKAGE_SEED` (42), `LINKAGE_MODEL`
    /// (`trained` or `prior`), `LINKAGE_DETAILS=1` for false merges and misses by cause.
    /// `cargo test --release -p leadline-domain --lib quality_table -- --ignored --nocapture`
    #[test]
    #[ignore = "measurement, not a check: run by hand"]
    fn quality_table() {
        use crate::demo::{consumer_list, trade_show_list, ConsumerConfig, TradeShowConfig};
        use crate::matching::{train, TrainingOptions};
        let env = |k: &str, d: u64| {
            std::env::var(k)
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(d)
        };
        let records = env("LINKAGE_RECORDS", 20_000) as usize;
        let seed = env("LINKAGE_SEED", 42);
        let prior_only = std::env::var("LINKAGE_MODEL").is_ok_and(|m| m == "prior");
        let details = std::env::var("LINKAGE_DETAILS").is_ok_and(|d| d == "1");
        let consumer = consumer_list(&ConsumerConfig::new(records, seed));
        let names_only = consumer.without_fields(
            "consumer, names and address only",
            &[LeadField::DateOfBirth, LeadField::Phone],
        );
        let lists = [
            trade_show_list(&TradeShowConfig::new(records, seed)),
            consumer,
            names_only,
        ];
        println!(
            "records {records}, seed {seed}, model {}",
            if prior_only { "prior" } else { "trained" }
        );
        println!("| list | blocking recall | sure precision | sure recall | sure F1 | sure+possible recall | household merges | review pairs (one person) | comparisons | training s | seconds |");
        println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        let mut notes = String::new();
        for list in &lists {
            let started = std::time::Instant::now();
            let prepared = prepare(list);
            let prior = MatchModel::prior();
            let training = std::time::Instant::now();
            let model = if prior_only {
                prior
            } else {
                train(&prepared.records, &prior, &TrainingOptions::default(), 0).unwrap_or(prior)
            };
            let training = training.elapsed().as_secs_f64();
            let opts = EvalOptions {
                examples: if details {
                    env("LINKAGE_EXAMPLES", 2) as usize
                } else {
                    0
                },
                ..EvalOptions::default()
            };
            let r = evaluate(&prepared, &model, &opts);
            let household = r.household_merges - r.indistinguishable_household_merges;
            println!(
                "| {} | {:.4} | {:.4} | {:.4} | {:.4} | {:.4} | {household} (+{} identical) | {} ({}) | {} | {training:.1} | {:.1} |",
                list.name,
                r.blocking_recall(),
                r.precision(),
                r.recall(),
                r.f1(),
                r.possible_recall(),
                r.indistinguishable_household_merges,
                r.possible_flags,
                r.true_possible_flags,
                r.comparisons,
                started.elapsed().as_secs_f64()
            );
            if details {
                use std::fmt::Write as _;
                let _ = writeln!(
                    notes,
                    "\n## {} (prior log2 odds {:+.2})",
                    list.name, model.prior_log2_odds
                );
                for f in &model.fields {
                    let w: Vec<String> = f
                        .levels
                        .iter()
                        .map(|l| format!("{} {:+.1}", l.level.name(), l.weight()))
                        .collect();
                    let _ = writeln!(notes, "  {:?}: {}", f.field, w.join(", "));
                }
                let mut causes: Vec<_> = r.false_merge_causes.iter().collect();
                causes.sort_by(|a, b| b.1.cmp(a.1));
                for (cause, n) in causes.iter().take(60) {
                    let _ = writeln!(notes, "false merge {cause}: {n}");
                }
                for fm in &r.false_merges {
                    let _ = writeln!(
                        notes,
                        "  FM {:?}/{:?}\n    {}\n    {}\n    {}",
                        list.records[fm.record].tags,
                        list.records[fm.matched].tags,
                        record_line(&fm.incoming_values),
                        record_line(&fm.candidate_values),
                        evidence_line(&fm.evidence)
                    );
                }
                for (kind, t) in &r.by_tag {
                    let _ = writeln!(
                        notes,
                        "tag {kind}: pairs {} blocked {} merged {} found {}",
                        t.pairs, t.blocked, t.merged, t.found
                    );
                }
                let mut misses: Vec<_> = r.miss_count.iter().collect();
                misses.sort_by(|a, b| b.1.cmp(a.1));
                for (cause, n) in misses.iter().take(15) {
                    let _ = writeln!(notes, "miss {cause}: {n}");
                    for m in r.misses.get(*cause).into_iter().flatten() {
                        let _ = writeln!(
                            notes,
                            "    {}\n    {}\n    {}",
                            record_line(&prepared.records[m.first]),
                            record_line(&prepared.records[m.second]),
                            evidence_line(&m.evidence)
                        );
                    }
                }
            }
        }
        print!("{notes}");
    }
}
