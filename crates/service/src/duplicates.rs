//! The duplicates review queue: every pair of leads matching found possibly to be one
//! person, ranked by probability, for a person to merge or dismiss.
//!
//! Pairs come from captures (a new lead and every candidate it possibly matches; two
//! existing leads one record surely matched both) and from `leadline dedupe` (see
//! [`crate::dedupe`]). A pair stands for the leads it was found between, or the leads
//! those were merged into since: merges move it (see [`follow_merge`]), undoing them
//! moves it back, so the queue always shows live leads and a pair whose two leads were
//! merged leaves it.
//!
//! A dismissal ("not the same person") is remembered: the pair is never stored again
//! for the same two leads, and while any pair between two live leads is dismissed no
//! pair between them is listed — also after one of them is merged into a third lead,
//! because the dismissed pair then stands for that lead.

use crate::access::visible_leads;
use crate::error::{Result, ServiceError};
use crate::merges::MergePair;
use crate::App;
use leadline_domain::access::LeadScope;
use leadline_domain::matching::{
    self, Comparable, MatchEvidence, MatchModel, MatchResult, ReviewReason,
};
pub use leadline_store::duplicates::LeadSummary;
use leadline_store::duplicates::{
    self, DuplicatePair, ListedPair, PairCursor, PairFilter, DISMISSED, MERGED, OPEN,
};
use leadline_store::leads;
use leadline_store::merges::MergeRow;
use leadline_store::timeline::{self, TimelineEvent};
use leadline_store::{AnyConnection, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::borrow::Borrow;
use std::collections::{HashMap, HashSet};

/// Why two leads may be one person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PairEvidence {
    /// The two compared when the pair was found: field by field, with the score and
    /// probability. For a capture, the incoming record (now the new lead) and the
    /// values of the lead it matched (current or earlier ones).
    pub comparison: MatchEvidence,
    /// Set when one captured record surely matched both leads: how it compared with
    /// each. The pair's probability is then at least the weaker of the two.
    pub linked_by: Option<LinkEvidence>,
}

/// A record that surely matched both leads of a pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LinkEvidence {
    /// The record compared with `lead_a`.
    pub lead_a: MatchEvidence,
    /// The record compared with `lead_b`.
    pub lead_b: MatchEvidence,
}

/// How a pair was decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PairStatus {
    /// Waiting for a person.
    Open,
    /// The two leads were merged (`merge_id`); undoing the merge opens the pair again.
    Merged,
    /// Not the same person: never listed again, also after either lead is merged.
    Dismissed,
}

impl PairStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PairStatus::Open => OPEN,
            PairStatus::Merged => MERGED,
            PairStatus::Dismissed => DISMISSED,
        }
    }

    fn parse(s: &str) -> Option<PairStatus> {
        [PairStatus::Open, PairStatus::Merged, PairStatus::Dismissed]
            .into_iter()
            .find(|p| p.as_str() == s)
    }
}

/// Who found a pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FoundBy {
    /// Matching, when a lead was captured.
    Capture,
    /// A `leadline dedupe` run (`dedupe_run_id`).
    Dedupe,
}

/// One pair of the queue.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct DuplicateItem {
    pub id: String,
    /// Match probability, 0 to 1; the queue is ranked by it.
    pub probability: f64,
    /// The score behind it, in bits.
    pub score: f64,
    pub status: PairStatus,
    pub found_by: FoundBy,
    /// The import whose row brought the pair up.
    pub import_id: Option<String>,
    /// The source of the record that brought the pair up (for `dedupe`, the newer lead's).
    pub source_id: Option<String>,
    pub dedupe_run_id: Option<String>,
    /// The merge that decided it; undo with `POST /api/v1/merges/{merge_id}/undo`.
    pub merge_id: Option<String>,
    /// Epoch milliseconds.
    pub created_at: i64,
    pub decided_at: Option<i64>,
    pub decided_by: Option<String>,
    /// The two leads, older first: for an open or dismissed pair the live leads it
    /// stands for now (a lead merged away since is shown as the lead it lives on in);
    /// for a merged pair the two leads it was found between.
    pub lead_a: LeadSummary,
    pub lead_b: LeadSummary,
    pub evidence: PairEvidence,
}

fn item(listed: ListedPair) -> Result<DuplicateItem> {
    let ListedPair { pair, a, b } = listed;
    let evidence: PairEvidence = serde_json::from_value(pair.evidence).map_err(|e| {
        ServiceError::Internal(anyhow::anyhow!(
            "pair {} has unreadable evidence: {e}",
            pair.id
        ))
    })?;
    let status = PairStatus::parse(&pair.status).ok_or_else(|| {
        ServiceError::Internal(anyhow::anyhow!(
            "pair {} has status {:?}",
            pair.id,
            pair.status
        ))
    })?;
    let found_by = match pair.found_by.as_str() {
        "dedupe" => FoundBy::Dedupe,
        _ => FoundBy::Capture,
    };
    let (a, b) = if (b.created_at, &b.id) < (a.created_at, &a.id) {
        (b, a)
    } else {
        (a, b)
    };
    Ok(DuplicateItem {
        id: pair.id,
        probability: pair.probability,
        score: pair.score,
        status,
        found_by,
        import_id: pair.import_id,
        source_id: pair.source_id,
        dedupe_run_id: pair.dedupe_run_id,
        merge_id: pair.merge_id,
        created_at: pair.created_at,
        decided_at: pair.decided_at,
        decided_by: pair.decided_by,
        lead_a: a,
        lead_b: b,
        evidence,
    })
}

/// Which pairs to list; every filter is optional and they combine with AND.
#[derive(Debug, Clone, Default)]
pub struct DuplicateFilter {
    pub source_id: Option<String>,
    pub import_id: Option<String>,
    /// Pairs with a lead this user owns.
    pub owner_id: Option<String>,
    pub min_probability: Option<f64>,
    /// Default `Open`: the queue.
    pub status: Option<PairStatus>,
    /// Pairs with this lead on either side.
    pub lead_id: Option<String>,
}

/// The stored form of a pair between two live leads.
pub(crate) fn new_pair(
    x: &str,
    y: &str,
    evidence: &PairEvidence,
    score: f64,
    model: &MatchModel,
    found_by: FoundBy,
    at: i64,
) -> DuplicatePair {
    let found_by = match found_by {
        FoundBy::Capture => "capture",
        FoundBy::Dedupe => "dedupe",
    };
    // Evidence names the leads as lead_a and lead_b: swap it when the order changes.
    let mut evidence = evidence.clone();
    if x > y {
        if let Some(link) = &mut evidence.linked_by {
            std::mem::swap(&mut link.lead_a, &mut link.lead_b);
        }
    }
    DuplicatePair::open(
        x,
        y,
        model.probability(score),
        score,
        json!(evidence),
        found_by,
        at,
    )
}

/// What a capture became: the lead it created, or the one it merged into.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Captured<'a> {
    Created(&'a str),
    Merged(&'a str),
}

/// The pairs a capture queues, from every candidate the record matched (`matches`,
/// as [`matching::all_matches`] ranks them). `live` gives the lead a candidate lives
/// on as (candidates may be merged-away leads or earlier values of a lead), and
/// `records` every candidate's comparable values.
///
/// - A created lead: with every candidate.
/// - A lead the record merged into: with every candidate the record possibly
///   matched (the record is this lead's person, and perhaps that one's too).
/// - Whenever the record is sure for two or more live leads: those leads with each
///   other, since one record cannot be two people.
pub(crate) fn capture_pairs<C: Borrow<Comparable>, S: std::hash::BuildHasher>(
    captured: Captured<'_>,
    matches: &[MatchResult<String>],
    live: &dyn Fn(&str) -> String,
    records: &HashMap<String, C, S>,
    model: &MatchModel,
    at: i64,
) -> Vec<DuplicatePair> {
    let mut seen: HashSet<(String, String)> = HashSet::new();
    let mut out = Vec::new();
    let mut add = |x: &str, y: &str, evidence: PairEvidence, score: f64| {
        if x == y {
            return;
        }
        let (a, b) = duplicates::canonical(x, y);
        if seen.insert((a.to_string(), b.to_string())) {
            out.push(new_pair(
                x,
                y,
                &evidence,
                score,
                model,
                FoundBy::Capture,
                at,
            ));
        }
    };
    let (lead, created) = match captured {
        Captured::Created(lead) => (lead, true),
        Captured::Merged(lead) => (lead, false),
    };
    let record = |id: &String| records.get(id).map(|r| r.borrow().record());
    let apart = |x: &String, y: &String| match (record(x), record(y)) {
        (Some(rx), Some(ry)) => matching::shown_apart(rx, ry, model),
        // Without both candidates' values nothing links them.
        _ => true,
    };
    let pairs = matching::review_pairs(&lead.to_string(), created, matches, |id| live(id), apart);
    for (a, b, reason) in pairs {
        match reason {
            ReviewReason::Matched(i) => {
                let m = &matches[i];
                let evidence = PairEvidence {
                    comparison: m.evidence.clone(),
                    linked_by: None,
                };
                add(&a, &b, evidence, m.evidence.score);
            }
            ReviewReason::SureForBoth(i, j) => {
                let (x, y) = (&matches[i], &matches[j]);
                let (Some(rx), Some(ry)) = (record(&x.candidate), record(&y.candidate)) else {
                    continue;
                };
                let comparison = matching::compare(rx, ry, model);
                let linked = x.evidence.score.min(y.evidence.score);
                let score = comparison.score.max(linked);
                let evidence = PairEvidence {
                    comparison,
                    linked_by: Some(LinkEvidence {
                        lead_a: x.evidence.clone(),
                        lead_b: y.evidence.clone(),
                    }),
                };
                add(&a, &b, evidence, score);
            }
        }
    }
    out
}

/// Points the pairs of `merged_id` at the lead it was merged into (inside the merge's
/// transaction).
pub(crate) async fn follow_merge(
    conn: &mut AnyConnection,
    merged_id: &str,
    survivor_id: &str,
) -> Result<()> {
    duplicates::follow_merge(conn, merged_id, survivor_id).await?;
    Ok(())
}

/// A merge was undone (inside the undo's transaction): the pairs that stood for its
/// survivor stand for the leads they were found between again, wherever those live
/// now, and the pairs the merge had decided (merged from the queue or by `dedupe`)
/// are open again.
pub(crate) async fn follow_undo(conn: &mut AnyConnection, merge: &MergeRow) -> Result<()> {
    let pairs = duplicates::live_on(conn, &merge.survivor_id).await?;
    let ids: Vec<String> = pairs
        .iter()
        .flat_map(|(_, a, b, _, _)| [a.clone(), b.clone()])
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let live = duplicates::live_leads(conn, &ids).await?;
    for (id, a, b, live_a, live_b) in &pairs {
        let (x, y) = (&live[a], &live[b]);
        let (x, y) = duplicates::canonical(x, y);
        if (x, y) != (live_a.as_str(), live_b.as_str()) {
            duplicates::set_live(conn, id, x, y).await?;
        }
    }
    duplicates::reopen_merged_by(conn, &merge.id).await?;
    Ok(())
}

/// The answer of a merge from the queue.
#[derive(Debug, Clone)]
pub struct QueueMerge {
    pub pair_id: String,
    pub merge: MergeRow,
}

impl App {
    /// A page of pairs whose two leads the caller may both see, most probable first
    /// (then by id); with the cursor of the next page when there is one.
    pub async fn list_duplicates(
        &self,
        scope: &LeadScope,
        filter: &DuplicateFilter,
        after: Option<&PairCursor>,
        limit: usize,
    ) -> Result<(Vec<DuplicateItem>, Option<PairCursor>)> {
        let mut conn = self.db.acquire().await?;
        let store_filter = PairFilter {
            status: filter
                .status
                .unwrap_or(PairStatus::Open)
                .as_str()
                .to_string(),
            source_id: filter.source_id.clone(),
            import_id: filter.import_id.clone(),
            owner_id: filter.owner_id.clone(),
            min_probability: filter.min_probability,
            scope: scope.clone(),
            pair_id: None,
            lead_id: filter.lead_id.clone(),
        };
        let mut rows = duplicates::list(&mut conn, &store_filter, after, limit + 1).await?;
        let next = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(|r| PairCursor {
                probability: r.pair.probability,
                id: r.pair.id.clone(),
            })
        } else {
            None
        };
        let items = rows.into_iter().map(item).collect::<Result<Vec<_>>>()?;
        Ok((items, next))
    }

    /// One pair as the list shows it (with `status`), if the caller may see it.
    async fn duplicate_item(
        &self,
        conn: &mut AnyConnection,
        scope: &LeadScope,
        pair_id: &str,
        status: PairStatus,
    ) -> Result<DuplicateItem> {
        let filter = PairFilter {
            status: status.as_str().to_string(),
            source_id: None,
            import_id: None,
            owner_id: None,
            min_probability: None,
            scope: scope.clone(),
            pair_id: Some(pair_id.to_string()),
            lead_id: None,
        };
        let row = duplicates::list(conn, &filter, None, 1)
            .await?
            .pop()
            .ok_or_else(|| ServiceError::not_found("duplicate_pair", pair_id))?;
        item(row)
    }

    /// An open pair the caller may act on: both its live leads in `scope` (else "not
    /// found"), still two leads, and not between two leads found not to be one person.
    async fn open_pair(
        &self,
        conn: &mut AnyConnection,
        scope: &LeadScope,
        pair_id: &str,
    ) -> Result<DuplicatePair> {
        let pair = duplicates::get(conn, pair_id)
            .await?
            .ok_or_else(|| ServiceError::not_found("duplicate_pair", pair_id))?;
        let mut ids = vec![pair.live_a.clone(), pair.live_b.clone()];
        ids.dedup();
        if visible_leads(conn, scope, &ids).await?.len() < ids.len() {
            return Err(ServiceError::not_found("duplicate_pair", pair_id));
        }
        match pair.status.as_str() {
            MERGED => {
                return Err(ServiceError::conflict(
                    "pair_already_merged",
                    format!(
                        "pair {pair_id} was merged (merge {})",
                        pair.merge_id.as_deref().unwrap_or("?")
                    ),
                ))
            }
            DISMISSED => {
                return Err(ServiceError::conflict(
                    "pair_already_dismissed",
                    format!("pair {pair_id} was dismissed: its leads are not the same person"),
                ))
            }
            _ => {}
        }
        if pair.live_a == pair.live_b {
            return Err(ServiceError::conflict(
                "pair_already_merged",
                format!(
                    "the leads of pair {pair_id} were merged into one already ({})",
                    pair.live_a
                ),
            ));
        }
        if !duplicates::in_group(conn, &pair.live_a, &pair.live_b, Some(DISMISSED))
            .await?
            .is_empty()
        {
            return Err(ServiceError::conflict(
                "pair_already_dismissed",
                format!("the leads of pair {pair_id} were found not to be the same person"),
            ));
        }
        Ok(pair)
    }

    /// Merges the two leads of an open pair (through [`App::merge_leads`], so it can
    /// be undone): `survivor_id`, one of the pair's two leads, keeps living; by default
    /// the older lead does. Every open pair between the two is marked merged with the
    /// merge; undoing the merge (`POST /api/v1/merges/{id}/undo`) opens them again.
    pub async fn merge_duplicate(
        &self,
        scope: &LeadScope,
        pair_id: &str,
        survivor_id: Option<&str>,
        actor: &str,
    ) -> Result<QueueMerge> {
        self.merge_duplicate_picking(scope, pair_id, survivor_id, &[], actor)
            .await
    }

    /// [`App::merge_duplicate`] where a person picked, field by field, the other
    /// lead's value (`take_from_other`, as for [`App::merge_leads_picking`]).
    pub async fn merge_duplicate_picking(
        &self,
        scope: &LeadScope,
        pair_id: &str,
        survivor_id: Option<&str>,
        take_from_other: &[String],
        actor: &str,
    ) -> Result<QueueMerge> {
        crate::merges::check_picks(take_from_other)?;
        let now = self.now();
        let _guard = self.capture_lock.lock().await;
        let mut tx = self.db.begin().await?;
        let pair = self.open_pair(&mut tx, scope, pair_id).await?;
        let (survivor, other) = match survivor_id {
            Some(s) if s == pair.live_a => (pair.live_a.clone(), pair.live_b.clone()),
            Some(s) if s == pair.live_b => (pair.live_b.clone(), pair.live_a.clone()),
            Some(s) => {
                return Err(ServiceError::invalid(
                    "survivor_id",
                    "not_in_pair",
                    format!(
                        "{s:?} is not one of the pair's leads ({} and {})",
                        pair.live_a, pair.live_b
                    ),
                ))
            }
            None => {
                let both =
                    leads::get_many(&mut tx, &[pair.live_a.clone(), pair.live_b.clone()]).await?;
                let older = both
                    .iter()
                    .min_by(|x, y| (x.created_at, &x.id).cmp(&(y.created_at, &y.id)))
                    .map(|l| l.id.clone())
                    .ok_or_else(|| ServiceError::not_found("lead", &pair.live_a))?;
                let other = if older == pair.live_a {
                    &pair.live_b
                } else {
                    &pair.live_a
                };
                (older, other.clone())
            }
        };
        let group: Vec<String> = duplicates::in_group(&mut tx, &survivor, &other, Some(OPEN))
            .await?
            .into_iter()
            .map(|p| p.id)
            .collect();
        let merge = self
            .merge_in(
                &mut tx,
                scope,
                MergePair {
                    survivor_id: &survivor,
                    other_id: &other,
                    take_from_other,
                },
                actor,
                now,
            )
            .await?;
        duplicates::decide(&mut tx, &group, MERGED, Some(&merge.id), now, actor).await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(QueueMerge {
            pair_id: pair.id,
            merge,
        })
    }

    /// "Not the same person": the pair (and any other open pair between the same two
    /// leads) is dismissed for good, with a timeline event on both leads. It is never
    /// listed again, not when the same record is captured again and not after either
    /// lead is merged into another.
    pub async fn dismiss_duplicate(
        &self,
        scope: &LeadScope,
        pair_id: &str,
        actor: &str,
    ) -> Result<DuplicateItem> {
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let pair = self.open_pair(&mut tx, scope, pair_id).await?;
        let (a, b) = (pair.live_a.clone(), pair.live_b.clone());
        let group: Vec<String> = duplicates::in_group(&mut tx, &a, &b, Some(OPEN))
            .await?
            .into_iter()
            .map(|p| p.id)
            .collect();
        duplicates::decide(&mut tx, &group, DISMISSED, None, now, actor).await?;
        for (lead, other) in [(&a, &b), (&b, &a)] {
            duplicates::clear_possible_duplicate_flag(&mut tx, lead, other).await?;
        }
        let event = |lead: &str, other: &str| {
            TimelineEvent::new(
                lead,
                "duplicate_dismissed",
                actor,
                now,
                // Under the key timelines hide from callers who may not see the other.
                json!({ "pair_id": pair.id, "possible_duplicate_of": other,
                        "decision": "not_the_same_person" }),
            )
        };
        timeline::append(&mut tx, &[event(&a, &b), event(&b, &a)]).await?;
        let answer = self
            .duplicate_item(&mut tx, scope, &pair.id, PairStatus::Dismissed)
            .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(answer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use leadline_domain::matching::{MatchDecision, MatchRecord};

    fn person(first: Option<&str>, email: Option<&str>) -> MatchRecord {
        MatchRecord {
            first_name: first.map(Into::into),
            last_name: Some("Goldberg".into()),
            email_key: email.map(Into::into),
            street: Some("1422 Lakeview Road".into()),
            postal_code: Some("60613".into()),
            city: Some("Chicago".into()),
            ..Default::default()
        }
    }

    fn pairs_for(
        incoming: &MatchRecord,
        pool: &[(&str, MatchRecord)],
        captured: Captured<'_>,
    ) -> Vec<(String, String)> {
        let model = MatchModel::prior();
        let records: HashMap<String, Comparable> = pool
            .iter()
            .map(|(id, r)| (id.to_string(), Comparable::new(r.clone())))
            .collect();
        let matches = matching::all_matches(
            incoming,
            pool.iter().map(|(id, _)| (id.to_string(), &records[*id])),
            &model,
        );
        let live = |id: &str| id.to_string();
        let mut pairs: Vec<(String, String)> =
            capture_pairs(captured, &matches, &live, &records, &model, 0)
                .into_iter()
                .map(|p| (p.lead_a, p.lead_b))
                .collect();
        pairs.sort();
        pairs
    }

    #[test]
    fn a_record_sure_for_two_leads_links_them_unless_they_are_a_household() {
        // One person on file twice (two e-mails); the record carries both: the two
        // leads are one person.
        let twice = [
            ("a", person(Some("Emily"), Some("emily@example.org"))),
            (
                "b",
                person(Some("Emily"), Some("emily.goldberg@example.net")),
            ),
        ];
        let both = person(Some("Emily"), None);
        assert_eq!(
            pairs_for(&both, &twice, Captured::Merged("a")),
            [("a".into(), "b".into())]
        );

        // Two members of a household and a letter naming neither: no pair between
        // them, only each with the new lead.
        let household = [
            ("a", person(Some("Emily"), None)),
            ("b", person(Some("David"), None)),
        ];
        let letter = person(None, None);
        assert_eq!(
            pairs_for(&letter, &household, Captured::Created("n")),
            [("a".into(), "n".into()), ("b".into(), "n".into())]
        );
    }

    #[test]
    fn a_merged_record_links_its_lead_with_the_leads_it_possibly_matched() {
        // The record merges into Emily's lead (same e-mail) and could also be the
        // lead without a first name at the address: that pair goes to review.
        let pool = [
            ("a", person(Some("Emily"), Some("emily@example.org"))),
            ("b", person(None, None)),
        ];
        let incoming = person(Some("Emily"), Some("emily@example.org"));
        let model = MatchModel::prior();
        let decisions: Vec<MatchDecision> = pool
            .iter()
            .map(|(_, r)| matching::decide(&matching::compare(&incoming, r, &model), &model))
            .collect();
        assert_eq!(decisions, [MatchDecision::Sure, MatchDecision::Possible]);
        assert_eq!(
            pairs_for(&incoming, &pool, Captured::Merged("a")),
            [("a".into(), "b".into())]
        );
        // Merged into a lead it matches alone, nothing is queued.
        assert!(pairs_for(&incoming, &pool[..1], Captured::Merged("a")).is_empty());
    }
}
