//! Merging two leads by hand, and undoing it exactly.
//!
//! A merge stores a snapshot of both leads and of every row it moves, so undo can put
//! back both leads column for column. Timelines are append-only: the merge and its undo
//! both stay in history.

use crate::access::{authorize_lead_in, visible_leads};
use crate::error::{Result, ServiceError};
use crate::leads::live_lead;
use crate::App;
use leadline_domain::access::LeadScope;
use leadline_domain::matching::{blocking_keys, MatchRecord};
use leadline_domain::merge::plan_merge_picking;
use leadline_store::leads::{self, LeadRecord};
use leadline_store::merges::{self, MergeRow};
use leadline_store::timeline::{self, TimelineEvent};
use leadline_store::touches::{self, Touch};
use leadline_store::{new_id, AnyConnection, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// Everything needed to restore both leads.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
struct MergeSnapshot {
    survivor: LeadRecord,
    merged: LeadRecord,
    /// The merged lead's touches as they were (lead and position).
    merged_touches: Vec<Touch>,
    merged_consent_ids: Vec<String>,
}

async fn reindex(conn: &mut AnyConnection, lead: &LeadRecord) -> Result<()> {
    leads::delete_match_keys(conn, &lead.id).await?;
    // A merged-away lead keeps its keys: a capture with its old e-mail or phone finds
    // it, and goes to the lead it was merged into (see `capture`).
    let keys: Vec<(String, String)> = blocking_keys(&MatchRecord::from_lead(&lead.fields))
        .into_iter()
        .map(|k| (k, lead.id.clone()))
        .collect();
    leads::insert_match_keys(conn, &keys).await?;
    Ok(())
}

/// The two leads of a merge: `other_id` folds into `survivor_id`, which takes the
/// other's value for the fields in `take_from_other`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MergePair<'a> {
    pub survivor_id: &'a str,
    pub other_id: &'a str,
    pub take_from_other: &'a [String],
}

impl<'a> MergePair<'a> {
    /// A merge keeping every value the survivor has.
    pub fn keeping(survivor_id: &'a str, other_id: &'a str) -> Self {
        MergePair {
            survivor_id,
            other_id,
            take_from_other: &[],
        }
    }
}

/// The fields a merge may take from the other lead: a lead field (not `full_name`,
/// which is never stored) or a custom attribute, at most one entry per field.
pub(crate) fn check_picks(picks: &[String]) -> Result<()> {
    use leadline_domain::fields::LeadField;
    let mut errors = Vec::new();
    for (i, pick) in picks.iter().enumerate() {
        let known = match pick.strip_prefix("custom.") {
            Some(key) => !key.is_empty() && key.len() <= 200,
            None => pick
                .parse::<LeadField>()
                .is_ok_and(|f| f != LeadField::FullName),
        };
        if !known {
            errors.push(leadline_domain::normalize::FieldError {
                field: format!("take_from_other[{i}]"),
                code: "unknown_field".into(),
                message: format!("{pick:?} is not a lead field or custom.<name>"),
            });
        }
    }
    if picks.len() > 200 {
        errors.push(leadline_domain::normalize::FieldError {
            field: "take_from_other".into(),
            code: "too_many".into(),
            message: "at most 200 fields may be picked".into(),
        });
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ServiceError::Invalid(errors))
    }
}

impl App {
    /// Merges `other_id` into `survivor_id`: blanks are filled, conflicting values kept
    /// as alternates in the timeline, touches and consents move to the survivor.
    /// Both leads must be in the caller's `scope`.
    pub async fn merge_leads(
        &self,
        scope: &LeadScope,
        survivor_id: &str,
        other_id: &str,
        actor: &str,
    ) -> Result<MergeRow> {
        self.merge_leads_picking(scope, survivor_id, other_id, &[], actor)
            .await
    }

    /// [`App::merge_leads`] where a person chose, field by field, to keep the other
    /// lead's value (`take_from_other`: lead field names or `custom.<key>`). Undo
    /// restores both leads as they were, whatever was picked.
    pub async fn merge_leads_picking(
        &self,
        scope: &LeadScope,
        survivor_id: &str,
        other_id: &str,
        take_from_other: &[String],
        actor: &str,
    ) -> Result<MergeRow> {
        check_picks(take_from_other)?;
        let now = self.now();
        let _guard = self.capture_lock.lock().await;
        let mut tx = self.db.begin().await?;
        let pair = MergePair {
            survivor_id,
            other_id,
            take_from_other,
        };
        let merge = self.merge_in(&mut tx, scope, pair, actor, now).await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(merge)
    }

    /// [`App::merge_leads`] inside the caller's transaction; the caller holds the
    /// capture lock. Pairs of the duplicates queue follow the merged lead to the
    /// survivor.
    pub(crate) async fn merge_in(
        &self,
        tx: &mut AnyConnection,
        scope: &LeadScope,
        pair: MergePair<'_>,
        actor: &str,
        now: i64,
    ) -> Result<MergeRow> {
        let MergePair {
            survivor_id,
            other_id,
            take_from_other,
        } = pair;
        if survivor_id == other_id {
            return Err(ServiceError::invalid(
                "other_lead_id",
                "same_lead",
                "a lead cannot be merged into itself",
            ));
        }
        authorize_lead_in(tx, scope, survivor_id).await?;
        authorize_lead_in(tx, scope, other_id).await?;
        let survivor = live_lead(tx, survivor_id).await?;
        let other = live_lead(tx, other_id).await?;
        let snapshot = MergeSnapshot {
            merged_touches: touches::for_lead(tx, other_id).await?,
            merged_consent_ids: Vec::new(),
            survivor: survivor.clone(),
            merged: other.clone(),
        };

        let plan = plan_merge_picking(&survivor.fields, &other.fields, take_from_other);
        let mut survivor = survivor;
        survivor.fields = plan.merged;
        survivor.updated_at = now;
        if survivor.account_id.is_none() {
            survivor.account_id = other.account_id.clone();
        }
        if survivor.possible_duplicate_of.as_deref() == Some(other_id) {
            survivor.possible_duplicate_of = None;
        }
        let mut other = other;
        other.merged_into = Some(survivor_id.to_string());
        other.updated_at = now;

        touches::reassign(tx, other_id, survivor_id).await?;
        let consent_ids = touches::reassign_consents(tx, other_id, survivor_id).await?;
        let snapshot = MergeSnapshot {
            merged_consent_ids: consent_ids,
            ..snapshot
        };
        leads::update(tx, &survivor).await?;
        leads::update(tx, &other).await?;
        reindex(tx, &survivor).await?;
        reindex(tx, &other).await?;
        crate::duplicates::follow_merge(tx, other_id, survivor_id).await?;

        let merge = MergeRow {
            id: new_id(),
            survivor_id: survivor_id.to_string(),
            merged_id: other_id.to_string(),
            snapshot: serde_json::to_value(&snapshot).map_err(anyhow::Error::new)?,
            actor: actor.to_string(),
            created_at: now,
            undone_at: None,
        };
        merges::insert(tx, &merge).await?;
        timeline::append(
            tx,
            &[
                TimelineEvent::new(
                    survivor_id,
                    "merged",
                    actor,
                    now,
                    json!({ "merge_id": merge.id, "merged_lead_id": other_id,
                            "filled": plan.filled, "alternates": plan.conflicts,
                            "picked": take_from_other }),
                ),
                TimelineEvent::new(
                    other_id,
                    "merged_into",
                    actor,
                    now,
                    json!({ "merge_id": merge.id, "survivor_id": survivor_id }),
                ),
            ],
        )
        .await?;
        Ok(merge)
    }

    /// Restores both leads of a merge exactly as they were before it.
    /// Both leads must be in the caller's `scope`; otherwise the merge is not found.
    /// Pairs of the duplicates queue the merge decided (a merge from the queue or by
    /// `leadline dedupe`) are open again, and pairs that followed the merged lead to
    /// the survivor stand for it again.
    pub async fn undo_merge(
        &self,
        scope: &LeadScope,
        merge_id: &str,
        actor: &str,
    ) -> Result<MergeRow> {
        let now = self.now();
        let _guard = self.capture_lock.lock().await;
        let mut tx = self.db.begin().await?;
        let mut merge = merges::get(&mut tx, merge_id)
            .await?
            .ok_or_else(|| ServiceError::not_found("merge", merge_id))?;
        let ids = [merge.survivor_id.clone(), merge.merged_id.clone()];
        if visible_leads(&mut tx, scope, &ids).await?.len() < ids.len() {
            return Err(ServiceError::not_found("merge", merge_id));
        }
        if merge.undone_at.is_some() {
            return Err(ServiceError::conflict(
                "merge_already_undone",
                format!("merge {merge_id} was already undone"),
            ));
        }
        if merges::later_active_merges(&mut tx, &merge).await? > 0 {
            return Err(ServiceError::conflict(
                "later_merge_exists",
                "a later merge involves one of these leads; undo that one first",
            ));
        }
        let snapshot: MergeSnapshot =
            serde_json::from_value(merge.snapshot.clone()).map_err(anyhow::Error::new)?;
        // Restoring the pre-merge columns would silently drop edits made since; refuse.
        for id in [&merge.survivor_id, &merge.merged_id] {
            let current = leads::get(&mut tx, id)
                .await?
                .ok_or_else(|| ServiceError::not_found("lead", id))?;
            if current.updated_at != merge.created_at {
                return Err(ServiceError::conflict(
                    "lead_changed_since_merge",
                    format!(
                        "lead {id} changed after the merge; undoing it would lose those changes"
                    ),
                ));
            }
        }
        leads::update(&mut tx, &snapshot.survivor).await?;
        leads::update(&mut tx, &snapshot.merged).await?;
        touches::restore(&mut tx, &snapshot.merged_touches).await?;
        touches::move_consents(&mut tx, &snapshot.merged_consent_ids, &merge.merged_id).await?;
        reindex(&mut tx, &snapshot.survivor).await?;
        reindex(&mut tx, &snapshot.merged).await?;
        merges::mark_undone(&mut tx, merge_id, now).await?;
        crate::duplicates::follow_undo(&mut tx, &merge).await?;
        let payload = json!({ "merge_id": merge_id });
        timeline::append(
            &mut tx,
            &[
                TimelineEvent::new(
                    &merge.survivor_id,
                    "merge_undone",
                    actor,
                    now,
                    payload.clone(),
                ),
                TimelineEvent::new(&merge.merged_id, "merge_undone", actor, now, payload),
            ],
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        merge.undone_at = Some(now);
        Ok(merge)
    }
}
