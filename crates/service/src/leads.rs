//! Reading and editing leads.

use crate::access::{authorize_lead_in, visible_leads};
use crate::error::{Result, ServiceError};
use crate::App;
use leadline_domain::access::LeadScope;
use leadline_domain::fields::{LeadField, LeadInput};
use leadline_domain::matching;
use leadline_domain::normalize::{normalize_lead, NormalizeOptions, NormalizedLead};
use leadline_store::leads::{self, LeadCursor, LeadFilter, LeadRecord};
use leadline_store::timeline::{self, MatchDecisionRow, TimelineEvent};
use leadline_store::touches::{self, Consent, Touch};
use leadline_store::StoreError;
use serde::Serialize;
use serde_json::json;
use std::collections::BTreeMap;

/// A lead with everything known about where it came from.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct LeadDetail {
    #[serde(flatten)]
    pub lead: LeadRecord,
    pub touches: Vec<Touch>,
    pub consents: Vec<Consent>,
    pub match_decisions: Vec<MatchDecisionRow>,
}

/// A change to some fields: `Some(value)` sets, `None` clears.
#[derive(Debug, Clone, Default)]
pub struct LeadPatch {
    pub fields: BTreeMap<LeadField, Option<String>>,
    pub custom: BTreeMap<String, Option<String>>,
}

/// Field-by-field differences, for `field_changed` timeline events.
fn changes(before: &NormalizedLead, after: &NormalizedLead) -> Vec<serde_json::Value> {
    let (b, a) = (before.to_input(), after.to_input());
    let mut out = Vec::new();
    for field in LeadField::ALL {
        if b.get(field) != a.get(field) {
            out.push(json!({ "field": field, "old": b.get(field), "new": a.get(field) }));
        }
    }
    let keys: std::collections::BTreeSet<&String> =
        b.custom.keys().chain(a.custom.keys()).collect();
    for key in keys {
        if b.custom.get(key) != a.custom.get(key) {
            out.push(json!({ "field": format!("custom.{key}"), "old": b.custom.get(key), "new": a.custom.get(key) }));
        }
    }
    out
}

impl App {
    /// The rep who owns the lead, if any.
    pub async fn lead_owner(&self, id: &str) -> Result<Option<String>> {
        let mut conn = self.db.acquire().await?;
        Ok(leadline_store::work::get(&mut conn, id).await?.owner_id)
    }

    /// A lead as the server itself sees it (jobs, the CLI, tests). Answers to a user go
    /// through [`App::lead_for`].
    pub async fn lead(&self, id: &str) -> Result<LeadRecord> {
        let mut conn = self.db.acquire().await?;
        leads::get(&mut conn, id)
            .await?
            .ok_or_else(|| ServiceError::not_found("lead", id))
    }

    /// A lead as a caller with `scope` may see it: "not found" outside the scope, and
    /// no mention of other leads the caller may not see.
    pub async fn lead_for(&self, scope: &LeadScope, id: &str) -> Result<LeadRecord> {
        let mut conn = self.db.acquire().await?;
        authorize_lead_in(&mut conn, scope, id).await?;
        let mut lead = leads::get(&mut conn, id)
            .await?
            .ok_or_else(|| ServiceError::not_found("lead", id))?;
        hide_other_leads(&mut conn, scope, std::slice::from_mut(&mut lead)).await?;
        Ok(lead)
    }

    pub async fn lead_detail(&self, scope: &LeadScope, id: &str) -> Result<LeadDetail> {
        let lead = self.lead_for(scope, id).await?;
        let mut conn = self.db.acquire().await?;
        let mut match_decisions = timeline::match_decisions_for(&mut conn, id).await?;
        // A decision names this lead and another: as the new lead (`lead_id`) or as the
        // candidate it was compared with. Only those naming a visible other are shown.
        let other = |d: &MatchDecisionRow| {
            if d.lead_id == id {
                d.candidate_id.clone()
            } else {
                d.lead_id.clone()
            }
        };
        let named: Vec<String> = match_decisions.iter().map(other).collect();
        let visible = visible_leads(&mut conn, scope, &named).await?;
        match_decisions.retain(|d| {
            let other = other(d);
            other == id || visible.contains(&other)
        });
        Ok(LeadDetail {
            touches: touches::for_lead(&mut conn, id).await?,
            consents: touches::consents_for(&mut conn, id).await?,
            match_decisions,
            lead,
        })
    }

    /// The lead's timeline, as a caller with `scope` may see it.
    pub async fn timeline(&self, scope: &LeadScope, id: &str) -> Result<Vec<TimelineEvent>> {
        let mut conn = self.db.acquire().await?;
        authorize_lead_in(&mut conn, scope, id).await?;
        if leads::get(&mut conn, id).await?.is_none() {
            return Err(ServiceError::not_found("lead", id));
        }
        let mut events = timeline::for_lead(&mut conn, id).await?;
        if !scope.is_all() {
            let named: Vec<String> = events
                .iter()
                .filter_map(|e| e.payload[NAMED_LEAD].as_str().map(str::to_string))
                .collect();
            let visible = visible_leads(&mut conn, scope, &named).await?;
            for e in &mut events {
                let hidden = e.payload[NAMED_LEAD]
                    .as_str()
                    .is_some_and(|other| !visible.contains(other));
                if let (true, Some(payload)) = (hidden, e.payload.as_object_mut()) {
                    payload.remove(NAMED_LEAD);
                    payload.remove("match_score");
                }
            }
        }
        Ok(events)
    }

    /// One page of the leads in `scope`, newest first, plus the cursor of the next page.
    pub async fn list_leads(
        &self,
        scope: &LeadScope,
        filter: &LeadFilter,
        after: Option<&LeadCursor>,
        limit: usize,
    ) -> Result<(Vec<LeadRecord>, Option<LeadCursor>)> {
        let mut conn = self.db.acquire().await?;
        let filter = LeadFilter {
            scope: (!scope.is_all()).then(|| scope.clone()),
            ..filter.clone()
        };
        let mut page = leads::list(&mut conn, &filter, after, limit + 1).await?;
        let next = if page.len() > limit {
            page.truncate(limit);
            page.last().map(|l| LeadCursor {
                created_at: l.created_at,
                id: l.id.clone(),
            })
        } else {
            None
        };
        hide_other_leads(&mut conn, scope, &mut page).await?;
        Ok((page, next))
    }

    /// Applies a patch through the same normalisation as a capture; every changed
    /// field becomes a `field_changed` event.
    /// The lead is rescored in the same transaction (fit rules read its fields), and
    /// routed if that makes it sales-ready.
    pub async fn patch_lead(
        &self,
        scope: &LeadScope,
        id: &str,
        patch: &LeadPatch,
        actor: &str,
    ) -> Result<LeadRecord> {
        let now = self.now();
        let config = self.scoring_config().await?;
        let lifecycle = self.lifecycle().await?;
        let _guard = self.capture_lock.lock().await;
        let mut tx = self.db.begin().await?;
        authorize_lead_in(&mut tx, scope, id).await?;
        let mut lead = live_lead(&mut tx, id).await?;
        let mut input = lead.fields.to_input();
        for (field, value) in &patch.fields {
            match value {
                Some(v) => input.set(*field, v.clone()),
                None => clear(&mut input, *field),
            }
        }
        for (key, value) in &patch.custom {
            match value {
                Some(v) => input.custom.insert(key.clone(), v.clone()),
                None => input.custom.remove(key),
            };
        }
        let opts = NormalizeOptions {
            default_region: None,
            today: Some(crate::clock::date_of(now)),
        };
        let normalized = normalize_lead(&input, &opts).map_err(ServiceError::Invalid)?;
        let changed = changes(&lead.fields, &normalized);
        if changed.is_empty() {
            return Ok(lead);
        }
        lead.fields = normalized;
        lead.updated_at = now;
        leads::update(&mut tx, &lead).await?;
        let keys: Vec<(String, String)> =
            matching::blocking_keys(&matching::MatchRecord::from_lead(&lead.fields))
                .into_iter()
                .map(|k| (k, lead.id.clone()))
                .collect();
        leads::delete_match_keys(&mut tx, &lead.id).await?;
        leads::insert_match_keys(&mut tx, &keys).await?;
        let events: Vec<TimelineEvent> = changed
            .into_iter()
            .map(|c| TimelineEvent::new(&lead.id, "field_changed", actor, now, c))
            .collect();
        timeline::append(&mut tx, &events).await?;
        let mut state = LeadState::load(&mut tx, id).await?;
        crate::scoring::rescore_in(&mut tx, &config, &lifecycle, &mut state, now, false).await?;
        state.flush(&mut tx).await?;
        tx.commit().await.map_err(StoreError::from)?;
        drop(_guard);
        self.outbox_written();
        self.route_if_sales_ready(id).await?;
        self.lead_for(scope, id).await
    }
}

/// The payload key of timeline events that names another lead (a possible duplicate).
const NAMED_LEAD: &str = "possible_duplicate_of";

/// Forgets the other leads these leads point at (a possible duplicate) where the
/// caller may not see them: even an id tells a rep that someone else has the person.
async fn hide_other_leads(
    conn: &mut leadline_store::AnyConnection,
    scope: &LeadScope,
    leads: &mut [LeadRecord],
) -> Result<()> {
    if scope.is_all() {
        return Ok(());
    }
    let named: Vec<String> = leads
        .iter()
        .filter_map(|l| l.possible_duplicate_of.clone())
        .collect();
    if named.is_empty() {
        return Ok(());
    }
    let visible = visible_leads(conn, scope, &named).await?;
    for lead in leads {
        if lead
            .possible_duplicate_of
            .as_ref()
            .is_some_and(|other| !visible.contains(other))
        {
            lead.possible_duplicate_of = None;
        }
    }
    Ok(())
}

/// The lead, unless it is unknown (404) or was merged into another (409): every use
/// case that works on a lead goes through this.
pub(crate) async fn live_lead(
    conn: &mut leadline_store::AnyConnection,
    lead_id: &str,
) -> Result<LeadRecord> {
    let lead = leads::get(conn, lead_id)
        .await?
        .ok_or_else(|| ServiceError::not_found("lead", lead_id))?;
    if let Some(into) = &lead.merged_into {
        return Err(ServiceError::conflict(
            "lead_merged",
            format!("lead {lead_id} was merged into {into}; work on that lead instead"),
        ));
    }
    Ok(lead)
}

/// The lead `lead_id` lives on as: itself, or the lead it was merged into (through
/// any later merges).
pub(crate) async fn surviving_lead_id(
    conn: &mut leadline_store::AnyConnection,
    lead_id: &str,
) -> Result<String> {
    let mut id = lead_id.to_string();
    // A merge chain is short; the bound only guards against a corrupt cycle.
    for _ in 0..32 {
        let lead = leads::get(conn, &id)
            .await?
            .ok_or_else(|| ServiceError::not_found("lead", &id))?;
        match lead.merged_into {
            Some(next) => id = next,
            None => return Ok(id),
        }
    }
    Err(ServiceError::conflict(
        "merge_cycle",
        format!("lead {lead_id} was merged in a cycle"),
    ))
}

/// A live lead and its work row, read once inside a transaction and carried through
/// the steps that change them (answers, scoring, routing), which record their events
/// here; `flush` then writes the work row and the events once, so a form's follow-up
/// does not read and write them again at every step.
pub(crate) struct LeadState {
    pub lead: LeadRecord,
    pub work: leadline_store::work::LeadWork,
    pub events: crate::outbox::LeadEvents,
    /// The first touch, read when rules first need the lead's channel and source.
    first_touch: Option<Option<Touch>>,
}

impl LeadState {
    pub(crate) async fn load(
        conn: &mut leadline_store::AnyConnection,
        lead_id: &str,
    ) -> Result<LeadState> {
        let lead = live_lead(conn, lead_id).await?;
        let work = leadline_store::work::get(conn, lead_id).await?;
        Ok(LeadState {
            lead,
            work,
            events: Default::default(),
            first_touch: None,
        })
    }

    /// Records events that happened to the lead as it stands now.
    pub(crate) fn record(&mut self, events: &[TimelineEvent]) {
        self.events.add(&self.lead, &self.work, events);
    }

    /// Writes the work row and the gathered events; returns how many notifications
    /// were written.
    pub(crate) async fn flush(
        &mut self,
        conn: &mut leadline_store::AnyConnection,
    ) -> Result<usize> {
        LeadState::flush_all(conn, std::slice::from_mut(self)).await
    }

    /// `flush` for several different leads, with one statement per table.
    pub(crate) async fn flush_all(
        conn: &mut leadline_store::AnyConnection,
        states: &mut [LeadState],
    ) -> Result<usize> {
        let works: Vec<&leadline_store::work::LeadWork> = states.iter().map(|s| &s.work).collect();
        leadline_store::work::save_many(conn, &works).await?;
        let mut events = crate::outbox::LeadEvents::default();
        for state in states.iter_mut() {
            events.append(&mut state.events);
        }
        events.write(conn).await
    }

    pub(crate) fn answers(&self) -> Result<leadline_domain::qualification::Answers> {
        serde_json::from_value(self.work.answers.clone())
            .map_err(|e| ServiceError::Internal(anyhow::anyhow!("stored answers: {e}")))
    }

    /// What scoring and routing rules see about the lead.
    pub(crate) async fn facts(
        &mut self,
        conn: &mut leadline_store::AnyConnection,
    ) -> Result<leadline_domain::conditions::Facts> {
        if self.first_touch.is_none() {
            let first = touches::for_lead(conn, &self.lead.id)
                .await?
                .into_iter()
                .next();
            self.first_touch = Some(first);
        }
        let first_touch = self.first_touch.as_ref().and_then(Option::as_ref);
        Ok(crate::scoring::lead_facts(
            &self.lead,
            &self.answers()?,
            first_touch,
        ))
    }
}

fn clear(input: &mut LeadInput, field: LeadField) {
    input.set(field, "");
}
