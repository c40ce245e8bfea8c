//! Reps' touches (calls, voicemails, e-mails, meetings, notes), next steps, time to
//! first touch, and the list of leads losing touch, so no prospect is forgotten.

use crate::error::{Result, ServiceError};
use crate::leads::live_lead;
use crate::App;
use leadline_domain::lifecycle::StageKind;
use leadline_domain::normalize::FieldError;
use leadline_domain::sla::{losing_touch, LosingTouchReason};
use leadline_store::timeline::{self, TimelineEvent};
use leadline_store::work::{self, LeadWork, SalesTouch};
use leadline_store::{new_id, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// The kinds of touch a rep logs.
pub const TOUCH_KINDS: [&str; 6] = [
    "call_attempt",
    "connected_call",
    "voicemail",
    "email",
    "meeting",
    "note",
];

/// A touch as the API receives it.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(example = serde_json::json!({ "kind": "connected_call", "outcome": "interested",
    "notes": "Wants a demo for 12 seats", "next_step": "Demo", "next_step_due_at": 1_796_000_000_000_i64 }))]
pub struct TouchInput {
    #[schemars(extend("enum" = TOUCH_KINDS))]
    pub kind: String,
    /// What came of it, in the rep's words (e.g. `no_answer`, `interested`).
    pub outcome: Option<String>,
    pub notes: Option<String>,
    /// Epoch milliseconds; default now. A touch cannot be in the future.
    pub occurred_at: Option<i64>,
    /// The agreed next step and when it is due.
    pub next_step: Option<String>,
    pub next_step_due_at: Option<i64>,
}

/// The answer to a logged touch.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct TouchResult {
    pub touch: SalesTouch,
    pub first_touch_at: Option<i64>,
    /// Capture to first touch: the speed-to-lead figure.
    pub time_to_first_touch_ms: Option<i64>,
    pub next_step: Option<String>,
    pub next_step_due_at: Option<i64>,
}

/// A lead that is slipping, and why.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct LosingTouch {
    pub lead_id: String,
    pub stage: String,
    pub reason: LosingTouchReason,
    pub last_touch_at: Option<i64>,
    pub next_step: Option<String>,
    pub next_step_due_at: Option<i64>,
    pub owner_id: Option<String>,
}

fn err(field: &str, code: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.to_string(),
        code: code.to_string(),
        message: message.into(),
    }
}

fn text(
    field: &str,
    value: Option<&String>,
    max: usize,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    let v = value.map(|v| v.trim()).filter(|v| !v.is_empty())?;
    if v.chars().count() > max {
        errors.push(err(field, "too_long", format!("at most {max} characters")));
    }
    if v.chars().any(|c| c == '\0') {
        errors.push(err(field, "control_character", "contains a NUL character"));
    }
    Some(v.to_string())
}

impl App {
    /// Logs a touch by `user_id`; updates first/last touch and the next step.
    pub async fn record_touch(
        &self,
        lead_id: &str,
        input: &TouchInput,
        user_id: &str,
        actor: &str,
    ) -> Result<TouchResult> {
        let now = self.now();
        let mut errors = Vec::new();
        if !TOUCH_KINDS.contains(&input.kind.as_str()) {
            errors.push(err(
                "kind",
                "unknown_kind",
                format!("{:?} is not one of {}", input.kind, TOUCH_KINDS.join(", ")),
            ));
        }
        let outcome = text("outcome", input.outcome.as_ref(), 200, &mut errors);
        let notes = text("notes", input.notes.as_ref(), 10_000, &mut errors);
        let next_step = text("next_step", input.next_step.as_ref(), 500, &mut errors);
        let occurred_at = input.occurred_at.unwrap_or(now);
        if occurred_at > now + 60_000 || occurred_at < 0 {
            errors.push(err(
                "occurred_at",
                "invalid_time",
                "a touch happened in the past (epoch milliseconds)",
            ));
        }
        if input.next_step_due_at.is_some() && next_step.is_none() {
            errors.push(err(
                "next_step",
                "required",
                "say what the next step is when giving its due date",
            ));
        }
        if !errors.is_empty() {
            return Err(ServiceError::Invalid(errors));
        }
        let mut tx = self.db.begin().await?;
        let lead = live_lead(&mut tx, lead_id).await?;
        let touch = SalesTouch {
            id: new_id(),
            lead_id: lead_id.to_string(),
            user_id: Some(user_id.to_string()),
            kind: input.kind.clone(),
            outcome,
            notes,
            occurred_at,
            created_at: now,
        };
        work::insert_sales_touch(&mut tx, &touch).await?;
        let mut w: LeadWork = work::get(&mut tx, lead_id).await?;
        w.first_touch_at = Some(w.first_touch_at.map_or(occurred_at, |t| t.min(occurred_at)));
        w.last_touch_at = Some(w.last_touch_at.map_or(occurred_at, |t| t.max(occurred_at)));
        if next_step.is_some() {
            w.next_step = next_step;
            w.next_step_due_at = input.next_step_due_at;
        }
        w.updated_at = now;
        work::save(&mut tx, &w).await?;
        let payload = json!({ "touch_id": touch.id, "kind": touch.kind, "outcome": touch.outcome,
                              "next_step": w.next_step, "next_step_due_at": w.next_step_due_at });
        timeline::append(
            &mut tx,
            &[TimelineEvent::new(lead_id, "touched", actor, now, payload)],
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(TouchResult {
            time_to_first_touch_ms: w.first_touch_at.map(|t| t - lead.created_at),
            first_touch_at: w.first_touch_at,
            next_step: w.next_step,
            next_step_due_at: w.next_step_due_at,
            touch,
        })
    }

    pub async fn sales_touches(&self, lead_id: &str) -> Result<Vec<SalesTouch>> {
        let mut conn = self.db.acquire().await?;
        live_lead(&mut conn, lead_id).await?;
        Ok(work::sales_touches(&mut conn, lead_id).await?)
    }

    /// Leads in sales-ready stages, or worked while open, whose next step is overdue,
    /// that nobody touched for `max_idle_ms`, or that were worked without a next step.
    /// The leads in `scope` losing touch.
    pub async fn losing_touch(
        &self,
        scope: &leadline_domain::access::LeadScope,
        max_idle_ms: i64,
    ) -> Result<Vec<LosingTouch>> {
        let lifecycle = self.lifecycle().await?;
        let sales: Vec<String> = lifecycle
            .stages
            .iter()
            .filter(|s| s.sales_ready)
            .map(|s| s.key.clone())
            .collect();
        let open: Vec<String> = lifecycle
            .stages
            .iter()
            .filter(|s| s.kind == StageKind::Open)
            .map(|s| s.key.clone())
            .collect();
        let now = self.now();
        let mut conn = self.db.acquire().await?;
        Ok(work::worked_leads(&mut conn, &sales, &open)
            .await?
            .into_iter()
            .filter(|l| scope.includes(l.owner_id.as_deref()))
            .filter_map(|l| {
                losing_touch(
                    l.last_touch_at,
                    l.created_at,
                    l.next_step_due_at,
                    max_idle_ms,
                    now,
                )
                .map(|reason| LosingTouch {
                    lead_id: l.lead_id,
                    stage: l.stage,
                    reason,
                    last_touch_at: l.last_touch_at,
                    next_step: l.next_step,
                    next_step_due_at: l.next_step_due_at,
                    owner_id: l.owner_id,
                })
            })
            .collect())
    }
}
