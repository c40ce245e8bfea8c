//! Routing in use: the ordered rules, the reps and teams they choose from (built from
//! users and teams), persisted round-robin state, and the owner each routed lead gets.

use crate::error::{Result, ServiceError};
use crate::leads::LeadState;
use crate::App;
use leadline_domain::lifecycle::StageKind;
use leadline_domain::normalize::FieldError;
use leadline_domain::routing::{
    self, Rep, RoundRobinState, RoutingContext, RoutingRule, Team, Territory,
};
use leadline_domain::schedule::WorkingHours;
use leadline_domain::sla;
use leadline_store::timeline::TimelineEvent;
use leadline_store::{settings, sources, users, work, AnyConnection, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;

const RULES_SETTING: &str = "routing_rules";
const STATE_SETTING: &str = "routing_state";
/// The advisory lock key that serialises routing decisions.
const ROUTING_LOCK: i64 = 0x4c4c_524f_5554; // "LLROUT"
/// How long counted open leads per rep are trusted.
const REP_LOAD_FRESHNESS: std::time::Duration = std::time::Duration::from_secs(1);
/// How long read users and teams are trusted (another instance's edits show after it).
const DIRECTORY_FRESHNESS: std::time::Duration = std::time::Duration::from_secs(1);
/// The actor of routing decisions.
pub const ROUTING_ACTOR: &str = "system:routing";

/// The ordered routing rules.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RoutingRules {
    pub rules: Vec<RoutingRule>,
}

/// The outcome of routing one lead.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Routed {
    pub lead_id: String,
    pub owner_id: Option<String>,
    pub rule_id: Option<String>,
    pub team_id: Option<String>,
    pub explanation: Vec<String>,
}

/// Reps (with their open-lead counts) and teams. `open` is `None` to count afresh.
pub(crate) async fn reps_and_teams(
    conn: &mut AnyConnection,
    open_stages: &[String],
) -> Result<(Vec<Rep>, Vec<Team>)> {
    let open = work::open_leads_by_owner(conn, open_stages).await?;
    reps_and_teams_with(conn, &open).await
}

async fn reps_and_teams_with(
    conn: &mut AnyConnection,
    open: &HashMap<String, i64>,
) -> Result<(Vec<Rep>, Vec<Team>)> {
    let directory = Directory {
        teams: users::list_teams(conn).await?,
        users: users::list_users(conn).await?,
    };
    Ok(directory.reps_and_teams(open))
}

/// Users and teams, as routing reads them.
pub(crate) struct Directory {
    users: Vec<users::UserRow>,
    teams: Vec<users::TeamRow>,
}

impl Directory {
    fn reps_and_teams(&self, open: &HashMap<String, i64>) -> (Vec<Rep>, Vec<Team>) {
        let teams_rows = &self.teams;
        let reps = self
            .users
            .iter()
            .filter(|u| u.role == "rep")
            .map(|u| Rep {
                working_hours: serde_json::from_value::<WorkingHours>(u.working_hours.clone())
                    .unwrap_or_default(),
                territories: serde_json::from_value::<Vec<Territory>>(u.territories.clone())
                    .unwrap_or_default(),
                open_leads: open
                    .get(&u.id)
                    .copied()
                    .unwrap_or(0)
                    .try_into()
                    .unwrap_or(u32::MAX),
                capacity: u.capacity.try_into().unwrap_or(0),
                weight: u.weight.try_into().unwrap_or(1),
                team_ids: teams_rows
                    .iter()
                    .filter(|t| t.member_ids.contains(&u.id))
                    .map(|t| t.id.clone())
                    .collect(),
                active: u.active,
                name: u.name.clone(),
                id: u.id.clone(),
            })
            .collect();
        let teams = teams_rows
            .iter()
            .map(|t| Team {
                id: t.id.clone(),
                name: t.name.clone(),
                manager_id: t.manager_id.clone(),
                member_ids: t.member_ids.clone(),
                fallback_team_id: None,
            })
            .collect();
        (reps, teams)
    }
}

/// Starts routing in a transaction: takes the routing lock (one transaction routes at
/// a time across servers, since round-robin turns and rep capacity are read, then
/// written) and reads the round-robin state, which `end_routing` saves.
pub(crate) async fn begin_routing(tx: &mut AnyConnection) -> Result<RoundRobinState> {
    leadline_store::db::lock_for_transaction(tx, ROUTING_LOCK).await?;
    Ok(match settings::get(tx, STATE_SETTING).await? {
        Some(text) => serde_json::from_str(&text).unwrap_or_default(),
        None => RoundRobinState::default(),
    })
}

pub(crate) async fn end_routing(
    tx: &mut AnyConnection,
    round_robin: &RoundRobinState,
    now: i64,
) -> Result<()> {
    let text = serde_json::to_string(round_robin).map_err(anyhow::Error::new)?;
    settings::set(tx, STATE_SETTING, &text, now).await?;
    Ok(())
}

impl App {
    pub async fn routing_rules(&self) -> Result<RoutingRules> {
        match self.setting(RULES_SETTING).await? {
            Some(text) => serde_json::from_str(&text)
                .map_err(|e| ServiceError::Internal(anyhow::anyhow!("stored routing rules: {e}"))),
            None => Ok(RoutingRules::default()),
        }
    }

    /// Replaces the rules after checking them against today's reps and teams.
    pub async fn set_routing_rules(&self, rules: &RoutingRules) -> Result<()> {
        use leadline_domain::limits::{check_conditions, check_count, MAX_ROUTING_RULES};
        check_count("rules", rules.rules.len(), MAX_ROUTING_RULES)
            .map_err(|e| ServiceError::Invalid(vec![e]))?;
        let too_many: Vec<FieldError> = rules
            .rules
            .iter()
            .enumerate()
            .flat_map(|(i, r)| check_conditions(&format!("rules[{i}].conditions"), &r.conditions))
            .collect();
        if !too_many.is_empty() {
            return Err(ServiceError::Invalid(too_many));
        }
        let open = self.open_stage_keys().await?;
        let mut conn = self.db.acquire().await?;
        let (reps, teams) = reps_and_teams(&mut conn, &open).await?;
        if let Err(problems) = routing::validate_rules(&rules.rules, &reps, &teams) {
            return Err(ServiceError::Invalid(
                problems
                    .iter()
                    .map(|p| FieldError {
                        field: "rules".into(),
                        code: "invalid_routing_rules".into(),
                        message: p.to_string(),
                    })
                    .collect(),
            ));
        }
        let text = serde_json::to_string(rules).map_err(anyhow::Error::new)?;
        self.put_setting(RULES_SETTING, &text).await?;
        Ok(())
    }

    /// Open leads per rep, for capacity checks. Counting scans every owned lead, so
    /// the counts are kept for a second and this process's own assignments are added
    /// as it makes them; another server's assignments show up within that second.
    async fn open_lead_counts(
        &self,
        conn: &mut AnyConnection,
        open_stages: &[String],
    ) -> Result<HashMap<String, i64>> {
        {
            let cache = self.rep_load.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((at, counts)) = cache.as_ref() {
                if at.elapsed() < REP_LOAD_FRESHNESS {
                    return Ok(counts.clone());
                }
            }
        }
        let counts = work::open_leads_by_owner(conn, open_stages).await?;
        *self.rep_load.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((std::time::Instant::now(), counts.clone()));
        Ok(counts)
    }

    /// Users and teams for routing. Every routing decision needs them and they seldom
    /// change, so they are read at most once a second; this instance's own changes to
    /// users and teams clear the copy at once (`forget_directory`).
    async fn directory(&self, conn: &mut AnyConnection) -> Result<Arc<Directory>> {
        {
            let cache = self.directory.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((at, directory)) = cache.as_ref() {
                if at.elapsed() < DIRECTORY_FRESHNESS {
                    return Ok(directory.clone());
                }
            }
        }
        let directory = Arc::new(Directory {
            teams: users::list_teams(conn).await?,
            users: users::list_users(conn).await?,
        });
        *self.directory.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((std::time::Instant::now(), directory.clone()));
        Ok(directory)
    }

    /// Drops the cached users and teams after a change to them.
    pub(crate) fn forget_directory(&self) {
        *self.directory.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// Moves one open lead from `previous` (if any) to `rep` in the cached counts.
    fn note_assignment(&self, rep: &str, previous: Option<&str>) {
        let mut cache = self.rep_load.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, counts)) = cache.as_mut() {
            *counts.entry(rep.to_string()).or_default() += 1;
            if let Some(count) = previous.and_then(|p| counts.get_mut(p)) {
                *count -= 1;
            }
        }
    }

    pub(crate) async fn open_stage_keys(&self) -> Result<Vec<String>> {
        let lifecycle = self.lifecycle().await?;
        Ok(lifecycle
            .stages
            .iter()
            .filter(|s| s.kind == StageKind::Open)
            .map(|s| s.key.clone())
            .collect())
    }

    /// Routes a lead by the rules: the first rule that matches and finds an eligible
    /// rep (working now, under capacity, not excluded) makes them the owner. Every
    /// decision, including "nobody", is a timeline event saying why.
    pub async fn route_lead(&self, lead_id: &str, exclude_rep_ids: &[String]) -> Result<Routed> {
        let mut tx = self.db.begin().await?;
        let mut state = LeadState::load(&mut tx, lead_id).await?;
        let mut round_robin = begin_routing(&mut tx).await?;
        let routed = self
            .route_in(&mut tx, &mut state, exclude_rep_ids, &mut round_robin)
            .await?;
        end_routing(&mut tx, &round_robin, self.now()).await?;
        state.flush(&mut tx).await?;
        tx.commit().await.map_err(StoreError::from)?;
        self.outbox_written();
        Ok(routed)
    }

    /// `route_lead` inside the caller's transaction, between `begin_routing` and
    /// `end_routing` (which hold and save the round-robin state).
    pub(crate) async fn route_in(
        &self,
        tx: &mut AnyConnection,
        state: &mut LeadState,
        exclude_rep_ids: &[String],
        round_robin: &mut RoundRobinState,
    ) -> Result<Routed> {
        let rules = self.routing_rules().await?;
        let open = self.open_stage_keys().await?;
        let now = self.now();
        let load = self.open_lead_counts(tx, &open).await?;
        let (reps, teams) = self.directory(tx).await?.reps_and_teams(&load);
        let facts = state.facts(tx).await?;
        let (lead, w) = (&state.lead, &mut state.work);
        let lead_id = lead.id.as_str();
        let account = match &lead.account_id {
            Some(id) => sources::account(tx, id).await?,
            None => None,
        };
        let ctx = RoutingContext {
            reps: &reps,
            teams: &teams,
            account_owner_id: account.as_ref().and_then(|a| a.owner_id.as_deref()),
            exclude_rep_ids,
            now,
        };
        let decision = routing::route(&rules.rules, &facts, &ctx, round_robin);
        let previous_owner_id = w.owner_id.clone();
        let mut sla_due_at = None;
        if let Some(rep_id) = &decision.rep_id {
            // The speed-to-lead clock starts at capture for a first routing, and
            // afresh for the next rep when a lead is re-routed.
            let policies = self.sla_policies().await?;
            let start = if w.routed_at.is_some() {
                now
            } else {
                lead.created_at
            };
            w.sla_policy_id = None;
            w.sla_clock = None;
            w.sla_escalated_at = None;
            w.sla_rerouted_at = None;
            if let (Some(policy), Some(rep)) = (
                sla::select_policy(&policies, &facts),
                reps.iter().find(|r| &r.id == rep_id),
            ) {
                let clock = sla::sla_clock(policy, start, &rep.working_hours);
                sla_due_at = Some(clock.due_at);
                w.sla_policy_id = Some(policy.id.clone());
                w.sla_clock = Some(serde_json::to_value(clock).map_err(anyhow::Error::new)?);
            }
            self.note_assignment(rep_id, previous_owner_id.as_deref());
            // An account nobody owns yet goes to the rep of its first routed lead, so
            // its later leads can follow them (the "account owner" target).
            if let Some(a) = account.as_ref().filter(|a| a.owner_id.is_none()) {
                sources::set_account_owner(tx, &a.id, Some(rep_id)).await?;
            }
            w.owner_id = decision.rep_id.clone();
            w.routed_at = Some(now);
            w.updated_at = now;
        }
        let owner_name = decision
            .rep_id
            .as_ref()
            .and_then(|id| reps.iter().find(|r| &r.id == id))
            .map(|r| r.name.clone());
        let payload = json!({ "owner_id": decision.rep_id, "owner_name": owner_name,
                              "previous_owner_id": previous_owner_id, "rule_id": decision.rule_id,
                              "team_id": decision.team_id, "explanation": decision.explanation,
                              "sla_due_at": sla_due_at });
        let kind = if decision.rep_id.is_some() {
            "routed"
        } else {
            "routing_failed"
        };
        let event = TimelineEvent::new(lead_id, kind, ROUTING_ACTOR, now, payload);
        let lead_id = lead_id.to_string();
        state.record(&[event]);
        Ok(Routed {
            lead_id,
            owner_id: decision.rep_id,
            rule_id: decision.rule_id,
            team_id: decision.team_id,
            explanation: decision.explanation,
        })
    }

    /// Gives a lead to `rep_id` by hand (a manager reassigning, or handing a lead to
    /// another team): the lead must be in the caller's `scope` and the rep an active
    /// rep. Giving a lead away never widens what the caller sees. A lead nobody has
    /// touched yet starts a fresh speed-to-lead clock for the new rep. Announced like
    /// a routing (`lead.assigned`), so the rep's inbox shows it.
    pub async fn assign_lead(
        &self,
        scope: &leadline_domain::access::LeadScope,
        lead_id: &str,
        rep_id: &str,
        actor: &str,
    ) -> Result<Routed> {
        let now = self.now();
        let mut tx = self.db.begin().await?;
        crate::access::authorize_lead_in(&mut tx, scope, lead_id).await?;
        let rep_row = users::user_by_id(&mut tx, rep_id).await?;
        let assignable = rep_row
            .as_ref()
            .is_some_and(|u| u.role == "rep" && u.active);
        if !assignable {
            return Err(ServiceError::invalid(
                "owner_id",
                "not_a_rep",
                "choose an active rep",
            ));
        }
        let mut state = LeadState::load(&mut tx, lead_id).await?;
        let previous_owner_id = state.work.owner_id.clone();
        if previous_owner_id.as_deref() == Some(rep_id) {
            return Err(ServiceError::invalid(
                "owner_id",
                "already_owner",
                "the lead is this rep's already",
            ));
        }
        let facts = state.facts(&mut tx).await?;
        let hours: WorkingHours = rep_row
            .as_ref()
            .and_then(|u| serde_json::from_value(u.working_hours.clone()).ok())
            .unwrap_or_default();
        let w = &mut state.work;
        let mut sla_due_at = None;
        w.sla_policy_id = None;
        w.sla_clock = None;
        w.sla_escalated_at = None;
        w.sla_rerouted_at = None;
        if w.first_touch_at.is_none() {
            let policies = self.sla_policies().await?;
            if let Some(policy) = sla::select_policy(&policies, &facts) {
                let clock = sla::sla_clock(policy, now, &hours);
                sla_due_at = Some(clock.due_at);
                w.sla_policy_id = Some(policy.id.clone());
                w.sla_clock = Some(serde_json::to_value(clock).map_err(anyhow::Error::new)?);
            }
        }
        w.owner_id = Some(rep_id.to_string());
        w.routed_at = Some(now);
        w.updated_at = now;
        self.note_assignment(rep_id, previous_owner_id.as_deref());
        let owner_name = rep_row.map(|u| u.name);
        let explanation = vec![format!("assigned by hand by {actor}")];
        let payload = json!({ "owner_id": rep_id, "owner_name": owner_name,
                              "previous_owner_id": previous_owner_id, "rule_id": null,
                              "team_id": null, "explanation": explanation,
                              "sla_due_at": sla_due_at, "by_hand": true });
        state.record(&[TimelineEvent::new(lead_id, "routed", actor, now, payload)]);
        state.flush(&mut tx).await?;
        tx.commit().await.map_err(StoreError::from)?;
        self.outbox_written();
        Ok(Routed {
            lead_id: lead_id.to_string(),
            owner_id: Some(rep_id.to_string()),
            rule_id: None,
            team_id: None,
            explanation,
        })
    }

    pub async fn account(&self, id: &str) -> Result<sources::Account> {
        let mut conn = self.db.acquire().await?;
        sources::account(&mut conn, id)
            .await?
            .ok_or_else(|| ServiceError::not_found("account", id))
    }

    /// Gives an account to a rep (or to nobody): its new leads follow the owner where a
    /// routing rule targets the account owner.
    pub async fn set_account_owner(
        &self,
        id: &str,
        owner_id: Option<&str>,
    ) -> Result<sources::Account> {
        let mut conn = self.db.acquire().await?;
        if let Some(owner) = owner_id {
            let user = users::user_by_id(&mut conn, owner).await?;
            if !user.is_some_and(|u| u.role == "rep" && u.active) {
                return Err(ServiceError::invalid(
                    "owner_id",
                    "not_a_rep",
                    format!("{owner:?} is not an active rep"),
                ));
            }
        }
        if !sources::set_account_owner(&mut conn, id, owner_id).await? {
            return Err(ServiceError::not_found("account", id));
        }
        drop(conn);
        self.account(id).await
    }

    /// Routes the lead if it is sales-ready (a sales stage, or it asked to be contacted)
    /// and has no owner yet. Returns the routing outcome when it ran.
    pub async fn route_if_sales_ready(&self, lead_id: &str) -> Result<Option<Routed>> {
        let q = self.qualification(lead_id).await?;
        if !q.sales_ready || q.owner_id.is_some() {
            return Ok(None);
        }
        self.route_lead(lead_id, &[]).await.map(Some)
    }
}
