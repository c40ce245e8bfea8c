//! Scoring in use: the rules, engagement events, each lead's stored score with its
//! explanation, and the stage moves thresholds cause (through the lifecycle's rules).

use crate::error::{Result, ServiceError};
use crate::leads::{live_lead, LeadState};
use crate::App;
use leadline_domain::conditions::Facts;
use leadline_domain::lifecycle::{StageKind, TransitionContext};
use leadline_domain::normalize::FieldError;
use leadline_domain::qualification::{answers_to_facts, Answers};
use leadline_domain::scoring::{self, Activity, ActivityError, Score, ScoringConfig};
use leadline_store::leads::LeadRecord;
use leadline_store::timeline::TimelineEvent;
use leadline_store::work::{self, ActivityRow, LeadWork};
use leadline_store::{new_id, touches, AnyConnection, StoreError};
use serde_json::{json, Value};

const SCORING_SETTING: &str = "scoring";
/// The actor of automatic changes made by scoring.
pub const SCORING_ACTOR: &str = "system:scoring";
/// The actor that sends leads that are not sales-ready to nurture.
pub const TRIAGE_ACTOR: &str = "system:triage";

/// Stages scoring may lift a lead out of, lowest first; it never moves a lead down,
/// nor out of a stage a person chose (meeting, converted, disqualified).
const LIFTABLE: [&str; 5] = ["new", "target", "engaged", "nurture", "mql"];
/// Where each threshold sits on that ladder.
fn rank(stage: &str) -> Option<usize> {
    match stage {
        "new" => Some(0),
        "target" => Some(1),
        "engaged" | "nurture" => Some(2),
        "mql" => Some(3),
        "sql" => Some(4),
        _ => None,
    }
}

/// What rules see about a lead.
pub fn lead_facts(
    lead: &LeadRecord,
    answers: &Answers,
    first_touch: Option<&touches::Touch>,
) -> Facts {
    let f = &lead.fields;
    let mut facts = Facts::new();
    let mut put = |name: &str, value: Option<&String>| {
        if let Some(v) = value {
            facts.insert(name.to_string(), Value::String(v.clone()));
        }
    };
    put("first_name", f.first_name.as_ref());
    put("last_name", f.last_name.as_ref());
    put("title", f.title.as_ref());
    put("email", f.email.as_ref());
    put("phone", f.phone.as_ref());
    put("company", f.company.as_ref());
    put("domain", f.domain.as_ref());
    put("street", f.street.as_ref());
    put("postal_code", f.postal_code.as_ref());
    put("city", f.city.as_ref());
    put("region", f.region.as_ref());
    put("country", f.country.as_ref());
    put("date_of_birth", f.date_of_birth.as_ref());
    let email_domain = f
        .email
        .as_ref()
        .and_then(|e| e.rsplit_once('@'))
        .map(|(_, d)| d.to_string());
    put("email_domain", email_domain.as_ref());
    put("stage", Some(&lead.stage));
    if let Some(t) = first_touch {
        put("channel", Some(&t.channel));
        put("source", t.source_id.as_ref());
        put("campaign", t.campaign_id.as_ref());
    }
    for (k, v) in &f.custom {
        facts.insert(format!("custom.{k}"), Value::String(v.clone()));
    }
    facts.extend(answers_to_facts(answers));
    facts
}

impl App {
    pub async fn scoring_config(&self) -> Result<ScoringConfig> {
        match self.setting(SCORING_SETTING).await? {
            Some(text) => serde_json::from_str(&text)
                .map_err(|e| ServiceError::Internal(anyhow::anyhow!("stored scoring rules: {e}"))),
            None => Ok(ScoringConfig::default()),
        }
    }

    /// Replaces the scoring rules after validating them; every problem is reported.
    pub async fn set_scoring_config(&self, config: &ScoringConfig) -> Result<()> {
        use leadline_domain::limits::{check_conditions, check_count, MAX_SCORING_RULES};
        let mut too_many: Vec<FieldError> = [
            check_count("fit", config.fit.len(), MAX_SCORING_RULES),
            check_count("engagement", config.engagement.len(), MAX_SCORING_RULES),
        ]
        .into_iter()
        .filter_map(|r| r.err())
        .collect();
        if too_many.is_empty() {
            too_many = config
                .fit
                .iter()
                .enumerate()
                .flat_map(|(i, r)| check_conditions(&format!("fit[{i}].conditions"), &r.conditions))
                .collect();
        }
        if !too_many.is_empty() {
            return Err(ServiceError::Invalid(too_many));
        }
        if let Err(problems) = config.validate() {
            return Err(ServiceError::Invalid(
                problems
                    .iter()
                    .map(|p| FieldError {
                        field: "scoring".into(),
                        code: "invalid_scoring_rules".into(),
                        message: p.to_string(),
                    })
                    .collect(),
            ));
        }
        let text = serde_json::to_string(config).map_err(anyhow::Error::new)?;
        self.put_setting(SCORING_SETTING, &text).await?;
        Ok(())
    }

    /// Records an engagement event and rescores the lead.
    pub async fn record_activity(
        &self,
        lead_id: &str,
        event_type: &str,
        occurred_at: Option<i64>,
        actor: &str,
    ) -> Result<LeadWork> {
        let event_type = event_type.trim().to_ascii_lowercase();
        let valid = !event_type.is_empty()
            && event_type.len() <= 64
            && event_type
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-.:".contains(c));
        if !valid {
            return Err(ServiceError::invalid(
                "type",
                "invalid_event_type",
                "an event type is 1-64 characters of a-z, 0-9, '_', '-', '.' or ':' (e.g. email_opened)",
            ));
        }
        // An event no rule scores would count for nothing, and one dated ahead would
        // count at full points until its time came: both are refused, not stored.
        let config = self.scoring_config().await?;
        if let Err(problems) = config.check_activity(&event_type, occurred_at, self.now()) {
            return Err(ServiceError::Invalid(
                problems
                    .iter()
                    .map(|p| {
                        let (field, code) = match p {
                            ActivityError::UnknownEventType { .. } => {
                                ("type", "unknown_event_type")
                            }
                            ActivityError::InFuture { .. } => ("occurred_at", "occurred_in_future"),
                            ActivityError::BeforeEpoch => ("occurred_at", "invalid_time"),
                        };
                        FieldError {
                            field: field.into(),
                            code: code.into(),
                            message: p.to_string(),
                        }
                    })
                    .collect(),
            ));
        }
        let mut tx = self.db.begin().await?;
        let mut state = LeadState::load(&mut tx, lead_id).await?;
        self.record_activity_in(&mut tx, &mut state, event_type, occurred_at, actor, false)
            .await?;
        state.flush(&mut tx).await?;
        tx.commit().await.map_err(StoreError::from)?;
        self.outbox_written();
        self.route_if_sales_ready(lead_id).await?;
        self.lead_score(lead_id).await
    }

    /// Records an event and rescores inside the caller's transaction; with `triage`, a
    /// fresh lead that is not sales-ready afterwards goes to nurture.
    pub(crate) async fn record_activity_in(
        &self,
        tx: &mut AnyConnection,
        state: &mut LeadState,
        event_type: String,
        occurred_at: Option<i64>,
        actor: &str,
        triage: bool,
    ) -> Result<()> {
        let now = self.now();
        let config = self.scoring_config().await?;
        let lifecycle = self.lifecycle().await?;
        let activity = ActivityRow {
            id: new_id(),
            lead_id: state.lead.id.clone(),
            event_type,
            occurred_at: occurred_at.unwrap_or(now),
            actor: actor.to_string(),
            created_at: now,
        };
        work::insert_activity(tx, &activity).await?;
        rescore_in(tx, &config, &lifecycle, state, now, triage).await?;
        Ok(())
    }

    /// Recomputes one lead's score now (after a capture or edit).
    pub async fn rescore(&self, lead_id: &str) -> Result<LeadWork> {
        let config = self.scoring_config().await?;
        let lifecycle = self.lifecycle().await?;
        let mut tx = self.db.begin().await?;
        let mut state = LeadState::load(&mut tx, lead_id).await?;
        rescore_in(&mut tx, &config, &lifecycle, &mut state, self.now(), false).await?;
        state.flush(&mut tx).await?;
        tx.commit().await.map_err(StoreError::from)?;
        self.outbox_written();
        self.route_if_sales_ready(lead_id).await?;
        self.lead_score(lead_id).await
    }

    /// The periodic decay job: rescores every lead with a score or engagement so old
    /// activity fades and thresholds are re-checked. Returns how many were rescored.
    pub async fn rescore_all(&self) -> Result<usize> {
        let ids = {
            let mut conn = self.db.acquire().await?;
            work::scored_lead_ids(&mut conn).await?
        };
        let mut n = 0;
        for id in ids {
            match self.rescore(&id).await {
                Ok(_) => n += 1,
                // A lead merged away since it was scored has nothing left to score.
                Err(ServiceError::Conflict { .. }) | Err(ServiceError::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(n)
    }

    /// What `config` would give a lead the caller may see, without saving anything:
    /// the lead's current total and the score under `config` (a rules editor's preview).
    pub async fn preview_score(
        &self,
        scope: &leadline_domain::access::LeadScope,
        lead_id: &str,
        config: &ScoringConfig,
    ) -> Result<(Option<f64>, Score)> {
        let mut conn = self.db.acquire().await?;
        crate::access::authorize_lead_in(&mut conn, scope, lead_id).await?;
        let mut state = LeadState::load(&mut conn, lead_id).await?;
        let facts = state.facts(&mut conn).await?;
        let activities: Vec<Activity> = work::activities(&mut conn, lead_id)
            .await?
            .into_iter()
            .map(|a| Activity {
                event_type: a.event_type,
                occurred_at: a.occurred_at,
            })
            .collect();
        let score = scoring::score(config, &facts, &activities, self.now());
        Ok((state.work.score, score))
    }

    pub async fn lead_score(&self, lead_id: &str) -> Result<LeadWork> {
        let mut conn = self.db.acquire().await?;
        live_lead(&mut conn, lead_id).await?;
        Ok(work::get(&mut conn, lead_id).await?)
    }
}

/// Scores a lead, stores score and explanation, and lifts its stage when a threshold
/// is reached and the lifecycle allows it (a playbook may stop it at a lower stage).
pub(crate) async fn rescore_in(
    conn: &mut AnyConnection,
    config: &ScoringConfig,
    lifecycle: &leadline_domain::lifecycle::Lifecycle,
    state: &mut LeadState,
    now: i64,
    triage: bool,
) -> Result<()> {
    let answers = state.answers()?;
    let facts = state.facts(conn).await?;
    let (lead, w) = (&state.lead, &mut state.work);
    let activities: Vec<Activity> = work::activities(conn, &lead.id)
        .await?
        .into_iter()
        .map(|a| Activity {
            event_type: a.event_type,
            occurred_at: a.occurred_at,
        })
        .collect();
    let score: Score = scoring::score(config, &facts, &activities, now);
    let before = w.score;
    w.fit_score = Some(score.fit);
    w.engagement_score = Some(score.engagement);
    w.score = Some(score.total);
    w.score_explanation =
        Some(json!({ "parts": score.parts, "faded": score.faded, "capped": score.capped }));
    w.scored_at = Some(now);
    w.updated_at = now;

    let mut events = Vec::new();
    if before != Some(score.total) {
        events.push(TimelineEvent::new(
            &lead.id,
            "scored",
            SCORING_ACTOR,
            now,
            json!({ "from": before, "to": score.total, "fit": score.fit, "engagement": score.engagement }),
        ));
    }
    // Lift to the highest reached stage the lifecycle allows from here.
    let reached = scoring::stage_for_total(score.total, &config.thresholds);
    if let (Some(reached), true) = (reached, LIFTABLE.contains(&lead.stage.as_str())) {
        let ctx = TransitionContext {
            answers: &answers,
            reason: None,
        };
        let candidates = ["sql", "mql", "target"]
            .into_iter()
            .filter(|s| rank(s) <= rank(reached) && rank(s) > rank(&lead.stage));
        let mut blocked = Vec::new();
        for stage in candidates {
            match lifecycle.check_transition(&lead.stage, stage, &ctx) {
                Ok(()) => {
                    work::set_stage(conn, &lead.id, stage, now).await?;
                    w.stage_changed_at = Some(now);
                    events.push(TimelineEvent::new(
                        &lead.id,
                        "stage_changed",
                        SCORING_ACTOR,
                        now,
                        json!({ "from": lead.stage, "to": stage, "reason": format!("score {} reached the {reached} threshold", score.total), "blocked": blocked }),
                    ));
                    break;
                }
                Err(e) => blocked.push(json!({ "stage": stage, "why": e.to_string() })),
            }
        }
    }
    let lifted = events.iter().any(|e| e.kind == "stage_changed");
    let fresh = matches!(lead.stage.as_str(), "new" | "target" | "engaged");
    if triage && !lifted && fresh && !lifecycle.is_sales_ready(&lead.stage, &answers) {
        if let Some(nurture) = lifecycle.first_of_kind(StageKind::Nurture) {
            let ctx = TransitionContext {
                answers: &answers,
                reason: None,
            };
            if lifecycle
                .check_transition(&lead.stage, &nurture.key, &ctx)
                .is_ok()
            {
                work::set_stage(conn, &lead.id, &nurture.key, now).await?;
                w.stage_changed_at = Some(now);
                let reason = format!(
                    "not sales-ready: score {} is below the sql threshold and no contact was requested",
                    score.total
                );
                events.push(TimelineEvent::new(
                    &lead.id,
                    "stage_changed",
                    TRIAGE_ACTOR,
                    now,
                    json!({ "from": lead.stage, "to": nurture.key, "reason": reason }),
                ));
            }
        }
    }
    state.record(&events);
    // The stage the last stage change moved the lead to is its stage now.
    if let Some(to) = events
        .iter()
        .rev()
        .find(|e| e.kind == "stage_changed")
        .and_then(|e| e.payload["to"].as_str())
    {
        state.lead.stage = to.to_string();
    }
    Ok(())
}
