//! The lifecycle in use: stage changes that follow the configured transitions and
//! playbooks, qualification answers, and the horizon derived from them.

use crate::clock::date_of;
use crate::error::{Result, ServiceError};
use crate::leads::{live_lead, LeadState};
use crate::outbox::record_lead_events;
use crate::App;
use leadline_domain::lifecycle::{Lifecycle, TransitionContext, TransitionError, Vocabulary};
use leadline_domain::normalize::FieldError;
use leadline_domain::qualification::{Answer, Answers, Horizon, HorizonSetting, QuestionKey};
use leadline_store::leads::LeadRecord;
use leadline_store::timeline::TimelineEvent;
use leadline_store::work::{self, LeadWork};
use leadline_store::StoreError;
use serde::Serialize;
use serde_json::json;
use std::collections::BTreeMap;

const LIFECYCLE_SETTING: &str = "lifecycle";

/// A lead's qualification state as the API shows it.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Qualification {
    pub stage: String,
    /// The stage in each vocabulary: stage label, funnel, ladder, qualification level.
    pub vocabularies: BTreeMap<&'static str, Option<String>>,
    pub answers: Answers,
    /// The lead's own words where an answer was read from free text
    /// (`{"timeframe": "next quarter"}`).
    pub answer_texts: BTreeMap<String, String>,
    pub horizon: Option<Horizon>,
    pub horizon_overridden: bool,
    pub disqualify_reason: Option<String>,
    pub stage_changed_at: Option<i64>,
    pub sales_ready: bool,
    /// The rep the lead was routed to.
    pub owner_id: Option<String>,
}

fn field_error(field: &str, code: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.to_string(),
        code: code.to_string(),
        message: message.into(),
    }
}

/// Reads a stored or submitted horizon key (`short_range`, `long_range`).
fn horizon_parse(text: &str) -> Option<Horizon> {
    serde_json::from_value(serde_json::Value::String(text.to_string())).ok()
}

fn answers_of(w: &LeadWork) -> Result<Answers> {
    serde_json::from_value(w.answers.clone())
        .map_err(|e| ServiceError::Internal(anyhow::anyhow!("stored answers: {e}")))
}

fn horizon_setting(w: &LeadWork) -> HorizonSetting {
    HorizonSetting {
        derived: w.horizon.as_deref().and_then(horizon_parse),
        manual: w.horizon_manual.as_deref().and_then(horizon_parse),
    }
}

/// How answer texts are read: exactly (the API: `yes`, `3_months` …, anything else
/// is refused with a field error), or as people write them (a public form, which has
/// already thanked the visitor: never refused, see `Answer::read_for`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    Strict,
    Lenient,
}

impl App {
    /// The configured lifecycle (the default until an admin replaces it).
    pub async fn lifecycle(&self) -> Result<Lifecycle> {
        match self.setting(LIFECYCLE_SETTING).await? {
            Some(text) => serde_json::from_str(&text)
                .map_err(|e| ServiceError::Internal(anyhow::anyhow!("stored lifecycle: {e}"))),
            None => Ok(Lifecycle::default()),
        }
    }

    /// Replaces the lifecycle after validating it; every problem is reported at once.
    pub async fn set_lifecycle(&self, lifecycle: &Lifecycle) -> Result<()> {
        use leadline_domain::limits::{check_count, MAX_LIFECYCLE_ENTRIES};
        let max_moves = MAX_LIFECYCLE_ENTRIES * MAX_LIFECYCLE_ENTRIES;
        let moves: usize = lifecycle.transitions.values().map(Vec::len).sum();
        let too_many: Vec<FieldError> = [
            check_count("stages", lifecycle.stages.len(), MAX_LIFECYCLE_ENTRIES),
            check_count(
                "disqualify_reasons",
                lifecycle.disqualify_reasons.len(),
                MAX_LIFECYCLE_ENTRIES,
            ),
            check_count("transitions", moves, max_moves),
        ]
        .into_iter()
        .filter_map(|r| r.err())
        .collect();
        if !too_many.is_empty() {
            return Err(ServiceError::Invalid(too_many));
        }
        if let Err(problems) = lifecycle.validate() {
            return Err(ServiceError::Invalid(
                problems
                    .iter()
                    .map(|p| field_error("lifecycle", "invalid_lifecycle", p.to_string()))
                    .collect(),
            ));
        }
        let text = serde_json::to_string(lifecycle).map_err(anyhow::Error::new)?;
        self.put_setting(LIFECYCLE_SETTING, &text).await?;
        Ok(())
    }

    pub async fn qualification(&self, lead_id: &str) -> Result<Qualification> {
        let lifecycle = self.lifecycle().await?;
        let mut conn = self.db.acquire().await?;
        let stage = live_lead(&mut conn, lead_id).await?.stage;
        let w = work::get(&mut conn, lead_id).await?;
        let answers = answers_of(&w)?;
        let setting = horizon_setting(&w);
        let vocabularies = [
            ("stage", Vocabulary::Stage),
            ("funnel", Vocabulary::Funnel),
            ("ladder", Vocabulary::Ladder),
            ("qualification_level", Vocabulary::QualificationLevel),
        ]
        .into_iter()
        .map(|(name, v)| (name, lifecycle.describe(&stage, v)))
        .collect();
        let answer_texts = w
            .answer_texts
            .as_object()
            .map(|texts| {
                texts
                    .iter()
                    .filter_map(|(q, t)| Some((q.clone(), t.as_str()?.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        Ok(Qualification {
            answer_texts,
            sales_ready: lifecycle.is_sales_ready(&stage, &answers),
            vocabularies,
            horizon: setting.effective(),
            horizon_overridden: setting.is_overridden(),
            disqualify_reason: w.disqualify_reason.clone(),
            stage_changed_at: w.stage_changed_at,
            owner_id: w.owner_id.clone(),
            answers,
            stage,
        })
    }

    /// Records answers (`None` clears one) and an optional manual horizon; the derived
    /// horizon follows the timeframe answer.
    pub async fn set_answers(
        &self,
        lead_id: &str,
        changes: &BTreeMap<String, Option<String>>,
        horizon_manual: Option<Option<String>>,
        actor: &str,
    ) -> Result<Qualification> {
        use leadline_domain::limits::{check_count, MAX_ANSWERS};
        check_count("answers", changes.len(), MAX_ANSWERS)
            .map_err(|e| ServiceError::Invalid(vec![e]))?;
        let mut tx = self.db.begin().await?;
        let mut state = LeadState::load(&mut tx, lead_id).await?;
        self.apply_answers(&mut state, changes, horizon_manual, Reading::Strict, actor)?;
        state.flush(&mut tx).await?;
        tx.commit().await.map_err(StoreError::from)?;
        self.outbox_written();
        self.route_if_sales_ready(lead_id).await?;
        self.qualification(lead_id).await
    }

    /// `set_answers` on a lead read in the caller's transaction, which then routes it if
    /// needed and flushes `state`.
    pub(crate) fn apply_answers(
        &self,
        state: &mut LeadState,
        changes: &BTreeMap<String, Option<String>>,
        horizon_manual: Option<Option<String>>,
        reading: Reading,
        actor: &str,
    ) -> Result<()> {
        let now = self.now();
        let mut answers = state.answers()?;
        let mut texts = match &state.work.answer_texts {
            serde_json::Value::Object(map) => map.clone(),
            _ => serde_json::Map::new(),
        };
        let mut errors = Vec::new();
        let mut changed = Vec::new();
        for (name, value) in changes {
            let field = format!("answers.{name}");
            let Ok(question) = name.parse::<QuestionKey>() else {
                errors.push(field_error(
                    &field,
                    "unknown_question",
                    format!("{name:?} is not a qualification question"),
                ));
                continue;
            };
            match value {
                None => {
                    texts.remove(question.as_str());
                    if answers.remove(question).is_some() {
                        changed.push(json!({ "question": question, "answer": null }));
                    }
                }
                Some(text) => {
                    let read = match reading {
                        Reading::Strict => Answer::parse_for(question, text).map(|answer| {
                            leadline_domain::qualification::ReadAnswer { answer, text: None }
                        }),
                        Reading::Lenient => Ok(Answer::read_for(question, text)),
                    };
                    match read.and_then(|r| answers.set(question, r.answer).map(|_| r)) {
                        Ok(r) => {
                            let mut change = json!({ "question": question, "answer": r.answer });
                            match &r.text {
                                Some(words) => {
                                    change["text"] = json!(words);
                                    texts.insert(question.as_str().into(), json!(words));
                                }
                                None => {
                                    texts.remove(question.as_str());
                                }
                            }
                            changed.push(change);
                        }
                        Err(e) => errors.push(field_error(&field, "invalid_answer", e.to_string())),
                    }
                }
            }
        }
        let mut setting = horizon_setting(&state.work);
        if let Some(manual) = horizon_manual {
            match manual.as_deref().map(|m| horizon_parse(m).ok_or(m)) {
                None => setting.manual = None,
                Some(Ok(h)) => setting.manual = Some(h),
                Some(Err(m)) => errors.push(field_error(
                    "horizon",
                    "invalid_horizon",
                    format!("{m:?} is not short_range or long_range"),
                )),
            }
        }
        if !errors.is_empty() {
            return Err(ServiceError::Invalid(errors));
        }
        setting.update_derived(&answers, date_of(now));
        let w = &mut state.work;
        w.answers = serde_json::to_value(&answers).map_err(anyhow::Error::new)?;
        w.answer_texts = serde_json::Value::Object(texts);
        w.horizon = setting.derived.map(|h| h.as_str().to_string());
        w.horizon_manual = setting.manual.map(|h| h.as_str().to_string());
        w.updated_at = now;
        let payload = json!({ "changes": changed, "horizon": setting.effective() });
        let event =
            TimelineEvent::new(&state.lead.id, "qualification_changed", actor, now, payload);
        state.record(&[event]);
        Ok(())
    }

    /// Whether the lead, as it stands in `state`, is sales-ready and has no owner yet.
    pub(crate) async fn needs_routing(&self, state: &LeadState) -> Result<bool> {
        let lifecycle = self.lifecycle().await?;
        Ok(state.work.owner_id.is_none()
            && lifecycle.is_sales_ready(&state.lead.stage, &state.answers()?))
    }

    /// Moves a lead to `to` if the lifecycle allows it from its current stage, its
    /// playbook's answers are given, and (for disqualification) a listed reason is named.
    pub async fn change_stage(
        &self,
        lead_id: &str,
        to: &str,
        reason: Option<&str>,
        actor: &str,
    ) -> Result<Qualification> {
        let lifecycle = self.lifecycle().await?;
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let lead = live_lead(&mut tx, lead_id).await?;
        let from = lead.stage.clone();
        let mut w = work::get(&mut tx, lead_id).await?;
        let answers = answers_of(&w)?;
        let reason = reason.map(str::trim).filter(|r| !r.is_empty());
        if let Err(e) = lifecycle.check_transition(
            &from,
            to,
            &TransitionContext {
                answers: &answers,
                reason,
            },
        ) {
            let (field, code) = match &e {
                TransitionError::UnknownStage { .. } => ("stage", "unknown_stage"),
                TransitionError::AlreadyInStage { .. } => ("stage", "already_in_stage"),
                TransitionError::NotAllowed { .. } => ("stage", "transition_not_allowed"),
                TransitionError::ReasonRequired { .. } => ("reason", "reason_required"),
                TransitionError::UnknownReason { .. } => ("reason", "unknown_reason"),
                TransitionError::MissingAnswers { .. } => ("answers", "missing_answers"),
            };
            return Err(ServiceError::Invalid(vec![field_error(
                field,
                code,
                e.to_string(),
            )]));
        }
        let is_disqualify = lifecycle
            .stage(to)
            .is_some_and(|s| s.kind == leadline_domain::lifecycle::StageKind::Disqualified);
        w.disqualify_reason = if is_disqualify {
            reason.map(str::to_string)
        } else {
            None
        };
        w.stage_changed_at = Some(now);
        w.updated_at = now;
        work::save(&mut tx, &w).await?;
        work::set_stage(&mut tx, lead_id, to, now).await?;
        let payload = json!({ "from": from, "to": to, "reason": reason });
        let event = TimelineEvent::new(lead_id, "stage_changed", actor, now, payload);
        self.finish_change(tx, &lead, &w, event).await
    }

    /// Records the change's event, commits, routes the lead if it has just become
    /// sales-ready, and answers with its qualification.
    async fn finish_change(
        &self,
        mut tx: leadline_store::Tx,
        lead: &LeadRecord,
        w: &LeadWork,
        event: TimelineEvent,
    ) -> Result<Qualification> {
        if record_lead_events(&mut tx, lead, w, std::slice::from_ref(&event)).await? > 0 {
            tx.commit().await.map_err(StoreError::from)?;
            self.outbox_written();
        } else {
            tx.commit().await.map_err(StoreError::from)?;
        }
        self.route_if_sales_ready(&event.lead_id).await?;
        self.qualification(&event.lead_id).await
    }
}
