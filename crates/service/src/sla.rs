//! The speed-to-lead SLA job: an untouched routed lead is escalated to its rep's
//! manager at breach and re-routed to the next eligible rep after the policy's time.

use crate::error::{Result, ServiceError};
use crate::leads::live_lead;
use crate::outbox::record_lead_events;
use crate::routing::reps_and_teams;
use crate::App;
use leadline_domain::normalize::FieldError;
use leadline_domain::routing;
use leadline_domain::sla::{self, SlaAction, SlaClock, SlaPolicy};
use leadline_store::timeline::TimelineEvent;
use leadline_store::{work, StoreError};
use serde::Serialize;
use serde_json::json;

const POLICIES_SETTING: &str = "sla_policies";
/// The actor of SLA actions.
pub const SLA_ACTOR: &str = "system:sla";

/// What one run of the job did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct SlaRun {
    pub escalated: Vec<String>,
    pub rerouted: Vec<String>,
}

impl App {
    /// The SLA policies (the speed-to-lead default until replaced).
    pub async fn sla_policies(&self) -> Result<Vec<SlaPolicy>> {
        match self.setting(POLICIES_SETTING).await? {
            Some(text) => serde_json::from_str(&text)
                .map_err(|e| ServiceError::Internal(anyhow::anyhow!("stored SLA policies: {e}"))),
            None => Ok(vec![SlaPolicy::default()]),
        }
    }

    pub async fn set_sla_policies(&self, policies: &[SlaPolicy]) -> Result<()> {
        use leadline_domain::limits::{check_conditions, check_count, MAX_SLA_POLICIES};
        check_count("policies", policies.len(), MAX_SLA_POLICIES)
            .map_err(|e| ServiceError::Invalid(vec![e]))?;
        let too_many: Vec<FieldError> = policies
            .iter()
            .enumerate()
            .flat_map(|(i, p)| {
                check_conditions(&format!("policies[{i}].applies_to"), &p.applies_to)
            })
            .collect();
        if !too_many.is_empty() {
            return Err(ServiceError::Invalid(too_many));
        }
        let mut errors = Vec::new();
        for (i, p) in policies.iter().enumerate() {
            if let Err(problems) = p.validate() {
                errors.extend(problems.iter().map(|e| FieldError {
                    field: format!("policies[{i}]"),
                    code: "invalid_sla_policy".into(),
                    message: e.to_string(),
                }));
            }
        }
        if !errors.is_empty() {
            return Err(ServiceError::Invalid(errors));
        }
        let text = serde_json::to_string(policies).map_err(anyhow::Error::new)?;
        self.put_setting(POLICIES_SETTING, &text).await?;
        Ok(())
    }

    /// Checks every untouched routed lead against its clock and does what is due.
    pub async fn run_sla(&self) -> Result<SlaRun> {
        let now = self.now();
        let ids = {
            let mut conn = self.db.acquire().await?;
            work::untouched_with_sla(&mut conn).await?
        };
        let mut run = SlaRun::default();
        for lead_id in ids {
            let mut tx = self.db.begin().await?;
            let mut w = work::get(&mut tx, &lead_id).await?;
            let Some(clock) = w
                .sla_clock
                .clone()
                .and_then(|c| serde_json::from_value::<SlaClock>(c).ok())
            else {
                continue;
            };
            let actions = sla::due_actions(
                &clock,
                w.first_touch_at,
                w.sla_escalated_at.is_some(),
                w.sla_rerouted_at.is_some(),
                now,
            );
            if actions.is_empty() {
                continue;
            }
            let owner = w.owner_id.clone().unwrap_or_default();
            let mut reroute = false;
            let mut notified = false;
            for action in actions {
                match action {
                    SlaAction::Escalate => {
                        let open = self.open_stage_keys().await?;
                        let (reps, teams) = reps_and_teams(&mut tx, &open).await?;
                        let manager =
                            routing::manager_of(&owner, None, &teams, &reps).map(str::to_string);
                        w.sla_escalated_at = Some(now);
                        let owner_name =
                            reps.iter().find(|r| r.id == owner).map(|r| r.name.clone());
                        let payload = json!({ "owner_id": owner, "owner_name": owner_name, "manager_id": manager,
                                              "due_at": clock.due_at, "overdue_ms": now - clock.due_at,
                                              "policy_id": w.sla_policy_id });
                        let lead = live_lead(&mut tx, &lead_id).await?;
                        let event =
                            TimelineEvent::new(&lead_id, "sla_breached", SLA_ACTOR, now, payload);
                        record_lead_events(&mut tx, &lead, &w, &[event]).await?;
                        notified = true;
                        run.escalated.push(lead_id.clone());
                    }
                    SlaAction::Reroute => {
                        w.sla_rerouted_at = Some(now);
                        reroute = true;
                    }
                }
            }
            w.updated_at = now;
            work::save(&mut tx, &w).await?;
            tx.commit().await.map_err(StoreError::from)?;
            if notified {
                self.outbox_written();
            }
            if reroute {
                let routed = self
                    .route_lead(&lead_id, std::slice::from_ref(&owner))
                    .await?;
                if routed.owner_id.is_some() {
                    run.rerouted.push(lead_id.clone());
                }
            }
        }
        Ok(run)
    }
}
