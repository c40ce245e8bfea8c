//! The working state of a lead (answers, horizon, disqualify reason).

use crate::error::json_column;
use crate::Result;
use serde::{Deserialize, Serialize};
use sqlx::{AnyConnection, Row};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LeadWork {
    pub lead_id: String,
    /// Qualification answers as a JSON object (`{"need": "yes", "timeframe": "3_months"}`).
    pub answers: serde_json::Value,
    pub horizon: Option<String>,
    pub horizon_manual: Option<String>,
    pub disqualify_reason: Option<String>,
    pub stage_changed_at: Option<i64>,
    pub fit_score: Option<f64>,
    pub engagement_score: Option<f64>,
    pub score: Option<f64>,
    /// The scoring explanation: every rule and event that gave points.
    pub score_explanation: Option<serde_json::Value>,
    pub scored_at: Option<i64>,
    pub updated_at: i64,
}

/// The lead's working state, or an empty one if nothing was recorded yet.
pub async fn get(conn: &mut AnyConnection, lead_id: &str) -> Result<LeadWork> {
    let row = sqlx::query(
        "SELECT lead_id, answers, horizon, horizon_manual, disqualify_reason, stage_changed_at, fit_score, \
         engagement_score, score, score_explanation, scored_at, updated_at FROM lead_work WHERE lead_id = $1",
    )
    .bind(lead_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Ok(LeadWork {
            lead_id: lead_id.to_string(),
            answers: serde_json::json!({}),
            ..Default::default()
        });
    };
    let answers: String = row.try_get("answers")?;
    let explanation: Option<String> = row.try_get("score_explanation")?;
    Ok(LeadWork {
        fit_score: row.try_get("fit_score")?,
        engagement_score: row.try_get("engagement_score")?,
        score: row.try_get("score")?,
        score_explanation: explanation
            .map(|e| json_column("lead_work.score_explanation", &e))
            .transpose()?,
        scored_at: row.try_get("scored_at")?,
        lead_id: row.try_get("lead_id")?,
        answers: json_column("lead_work.answers", &answers)?,
        horizon: row.try_get("horizon")?,
        horizon_manual: row.try_get("horizon_manual")?,
        disqualify_reason: row.try_get("disqualify_reason")?,
        stage_changed_at: row.try_get("stage_changed_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

pub async fn save(conn: &mut AnyConnection, w: &LeadWork) -> Result<()> {
    sqlx::query(
        "INSERT INTO lead_work (lead_id, answers, horizon, horizon_manual, disqualify_reason, stage_changed_at, \
         fit_score, engagement_score, score, score_explanation, scored_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (lead_id) DO UPDATE SET \
         answers = excluded.answers, horizon = excluded.horizon, horizon_manual = excluded.horizon_manual, \
         disqualify_reason = excluded.disqualify_reason, stage_changed_at = excluded.stage_changed_at, \
         fit_score = excluded.fit_score, engagement_score = excluded.engagement_score, score = excluded.score, \
         score_explanation = excluded.score_explanation, scored_at = excluded.scored_at, \
         updated_at = excluded.updated_at",
    )
    .bind(w.lead_id.as_str())
    .bind(w.answers.to_string())
    .bind(w.horizon.as_deref())
    .bind(w.horizon_manual.as_deref())
    .bind(w.disqualify_reason.as_deref())
    .bind(w.stage_changed_at)
    .bind(w.fit_score)
    .bind(w.engagement_score)
    .bind(w.score)
    .bind(w.score_explanation.as_ref().map(|e| e.to_string()))
    .bind(w.scored_at)
    .bind(w.updated_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Sets a lead's stage (the lifecycle rules are checked by the caller).
pub async fn set_stage(
    conn: &mut AnyConnection,
    lead_id: &str,
    stage: &str,
    now: i64,
) -> Result<()> {
    sqlx::query("UPDATE leads SET stage = $1, updated_at = $2 WHERE id = $3")
        .bind(stage)
        .bind(now)
        .bind(lead_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// One engagement event of a lead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActivityRow {
    pub id: String,
    pub lead_id: String,
    pub event_type: String,
    pub occurred_at: i64,
    pub actor: String,
    pub created_at: i64,
}

pub async fn insert_activity(conn: &mut AnyConnection, a: &ActivityRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO lead_activities (id, lead_id, event_type, occurred_at, actor, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(a.id.as_str())
    .bind(a.lead_id.as_str())
    .bind(a.event_type.as_str())
    .bind(a.occurred_at)
    .bind(a.actor.as_str())
    .bind(a.created_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn activities(conn: &mut AnyConnection, lead_id: &str) -> Result<Vec<ActivityRow>> {
    Ok(
        sqlx::query_as::<_, (String, String, String, i64, String, i64)>(
            "SELECT id, lead_id, event_type, occurred_at, actor, created_at FROM lead_activities \
         WHERE lead_id = $1 ORDER BY occurred_at, id",
        )
        .bind(lead_id)
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(
            |(id, lead_id, event_type, occurred_at, actor, created_at)| ActivityRow {
                id,
                lead_id,
                event_type,
                occurred_at,
                actor,
                created_at,
            },
        )
        .collect(),
    )
}

/// Leads that have a stored score or engagement: the ones decay can move.
pub async fn scored_lead_ids(conn: &mut AnyConnection) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT lead_id FROM lead_work WHERE score IS NOT NULL \
         UNION SELECT DISTINCT lead_id FROM lead_activities",
    )
    .fetch_all(&mut *conn)
    .await?)
}
