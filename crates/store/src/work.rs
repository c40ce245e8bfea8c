//! The working state of a lead (answers, horizon, disqualify reason).

use crate::db::{row_placeholders, rows_per_statement};
use crate::error::json_column;
use crate::Result;
use serde::{Deserialize, Serialize};
use sqlx::{AnyConnection, Row};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LeadWork {
    pub lead_id: String,
    /// Qualification answers as a JSON object (`{"need": "yes", "timeframe": "3_months"}`).
    pub answers: serde_json::Value,
    /// The lead's own words for answers read from free text (`{"timeframe": "next
    /// quarter"}`), a JSON object; `{}` (or null before the first save) when none.
    pub answer_texts: serde_json::Value,
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
    pub first_touch_at: Option<i64>,
    pub last_touch_at: Option<i64>,
    pub next_step: Option<String>,
    pub next_step_due_at: Option<i64>,
    /// The rep the lead was routed to.
    pub owner_id: Option<String>,
    pub routed_at: Option<i64>,
    pub sla_policy_id: Option<String>,
    /// The running speed-to-lead clock (due, escalate and re-route instants), as JSON.
    pub sla_clock: Option<serde_json::Value>,
    pub sla_escalated_at: Option<i64>,
    pub sla_rerouted_at: Option<i64>,
    pub updated_at: i64,
}

/// The lead's working state, or an empty one if nothing was recorded yet.
pub async fn get(conn: &mut AnyConnection, lead_id: &str) -> Result<LeadWork> {
    let row = sqlx::query(
        "SELECT lead_id, answers, answer_texts, horizon, horizon_manual, disqualify_reason, stage_changed_at, fit_score, \
         engagement_score, score, score_explanation, scored_at, first_touch_at, last_touch_at, next_step, \
         next_step_due_at, owner_id, routed_at, sla_policy_id, sla_clock, sla_escalated_at, sla_rerouted_at, \
         updated_at FROM lead_work WHERE lead_id = $1",
    )
    .bind(lead_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Ok(LeadWork {
            lead_id: lead_id.to_string(),
            answers: serde_json::json!({}),
            answer_texts: serde_json::json!({}),
            ..Default::default()
        });
    };
    let answers: String = row.try_get("answers")?;
    let answer_texts: String = row.try_get("answer_texts")?;
    let explanation: Option<String> = row.try_get("score_explanation")?;
    Ok(LeadWork {
        fit_score: row.try_get("fit_score")?,
        engagement_score: row.try_get("engagement_score")?,
        score: row.try_get("score")?,
        score_explanation: explanation
            .map(|e| json_column("lead_work.score_explanation", &e))
            .transpose()?,
        scored_at: row.try_get("scored_at")?,
        first_touch_at: row.try_get("first_touch_at")?,
        last_touch_at: row.try_get("last_touch_at")?,
        next_step: row.try_get("next_step")?,
        next_step_due_at: row.try_get("next_step_due_at")?,
        owner_id: row.try_get("owner_id")?,
        routed_at: row.try_get("routed_at")?,
        sla_policy_id: row.try_get("sla_policy_id")?,
        sla_clock: row
            .try_get::<Option<String>, _>("sla_clock")?
            .map(|c| json_column("lead_work.sla_clock", &c))
            .transpose()?,
        sla_escalated_at: row.try_get("sla_escalated_at")?,
        sla_rerouted_at: row.try_get("sla_rerouted_at")?,
        lead_id: row.try_get("lead_id")?,
        answers: json_column("lead_work.answers", &answers)?,
        answer_texts: json_column("lead_work.answer_texts", &answer_texts)?,
        horizon: row.try_get("horizon")?,
        horizon_manual: row.try_get("horizon_manual")?,
        disqualify_reason: row.try_get("disqualify_reason")?,
        stage_changed_at: row.try_get("stage_changed_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

pub async fn save(conn: &mut AnyConnection, w: &LeadWork) -> Result<()> {
    save_many(conn, &[w]).await
}

/// Inserts or replaces work rows, many per statement.
pub async fn save_many(conn: &mut AnyConnection, rows: &[&LeadWork]) -> Result<()> {
    const COLUMNS: usize = 23;
    // Not a cached prepared statement on PostgreSQL: sqlx 0.8's Any driver declares a
    // NULL f64 as float4 there, and a statement first prepared with a NULL score would
    // then refuse a real (float8) score with "incorrect binary data format". Prepared
    // per call, each execution declares the types it actually binds. (SQLite has no
    // such declarations, and keeps the cached statement.)
    let cache_statement = conn.backend_name() == "SQLite";
    for chunk in rows.chunks(rows_per_statement(COLUMNS)) {
        let sql = format!(
            "INSERT INTO lead_work (lead_id, answers, answer_texts, horizon, horizon_manual, disqualify_reason, stage_changed_at, \
             fit_score, engagement_score, score, score_explanation, scored_at, first_touch_at, last_touch_at, \
             next_step, next_step_due_at, owner_id, routed_at, sla_policy_id, sla_clock, sla_escalated_at, \
             sla_rerouted_at, updated_at) VALUES {} \
             ON CONFLICT (lead_id) DO UPDATE SET \
             answers = excluded.answers, answer_texts = excluded.answer_texts, horizon = excluded.horizon, horizon_manual = excluded.horizon_manual, \
             disqualify_reason = excluded.disqualify_reason, stage_changed_at = excluded.stage_changed_at, \
             fit_score = excluded.fit_score, engagement_score = excluded.engagement_score, score = excluded.score, \
             score_explanation = excluded.score_explanation, scored_at = excluded.scored_at, \
             first_touch_at = excluded.first_touch_at, last_touch_at = excluded.last_touch_at, \
             next_step = excluded.next_step, next_step_due_at = excluded.next_step_due_at, \
             owner_id = excluded.owner_id, routed_at = excluded.routed_at, sla_policy_id = excluded.sla_policy_id, \
             sla_clock = excluded.sla_clock, sla_escalated_at = excluded.sla_escalated_at, \
             sla_rerouted_at = excluded.sla_rerouted_at, updated_at = excluded.updated_at",
            row_placeholders(conn, chunk.len(), COLUMNS)
        );
        let mut q = sqlx::query(&sql);
        for w in chunk {
            q = q
                .bind(w.lead_id.as_str())
                .bind(w.answers.to_string())
                .bind(if w.answer_texts.is_object() {
                    w.answer_texts.to_string()
                } else {
                    "{}".to_string()
                })
                .bind(w.horizon.as_deref())
                .bind(w.horizon_manual.as_deref())
                .bind(w.disqualify_reason.as_deref())
                .bind(w.stage_changed_at)
                .bind(w.fit_score)
                .bind(w.engagement_score)
                .bind(w.score)
                .bind(w.score_explanation.as_ref().map(|e| e.to_string()))
                .bind(w.scored_at)
                .bind(w.first_touch_at)
                .bind(w.last_touch_at)
                .bind(w.next_step.as_deref())
                .bind(w.next_step_due_at)
                .bind(w.owner_id.as_deref())
                .bind(w.routed_at)
                .bind(w.sla_policy_id.as_deref())
                .bind(w.sla_clock.as_ref().map(|c| c.to_string()))
                .bind(w.sla_escalated_at)
                .bind(w.sla_rerouted_at)
                .bind(w.updated_at);
        }
        q.persistent(cache_statement).execute(&mut *conn).await?;
    }
    Ok(())
}

/// The owners of these leads; a lead nobody owns (or without a work row) is absent.
pub async fn owners(
    conn: &mut AnyConnection,
    lead_ids: &[String],
) -> Result<std::collections::HashMap<String, String>> {
    let mut out = std::collections::HashMap::new();
    for chunk in lead_ids.chunks(rows_per_statement(1)) {
        let sql = format!(
            "SELECT lead_id, owner_id FROM lead_work WHERE owner_id IS NOT NULL AND lead_id IN ({})",
            crate::db::placeholders(conn, 1, chunk.len())
        );
        let mut q = sqlx::query_as::<_, (String, String)>(&sql);
        for id in chunk {
            q = q.bind(id.as_str());
        }
        out.extend(q.fetch_all(&mut *conn).await?);
    }
    Ok(out)
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
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

/// One thing a rep did with a lead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow, schemars::JsonSchema)]
pub struct SalesTouch {
    pub id: String,
    pub lead_id: String,
    pub user_id: Option<String>,
    pub kind: String,
    pub outcome: Option<String>,
    pub notes: Option<String>,
    pub occurred_at: i64,
    pub created_at: i64,
}

pub async fn insert_sales_touch(conn: &mut AnyConnection, t: &SalesTouch) -> Result<()> {
    sqlx::query(
        "INSERT INTO sales_touches (id, lead_id, user_id, kind, outcome, notes, occurred_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(t.id.as_str())
    .bind(t.lead_id.as_str())
    .bind(t.user_id.as_deref())
    .bind(t.kind.as_str())
    .bind(t.outcome.as_deref())
    .bind(t.notes.as_deref())
    .bind(t.occurred_at)
    .bind(t.created_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn sales_touches(conn: &mut AnyConnection, lead_id: &str) -> Result<Vec<SalesTouch>> {
    Ok(sqlx::query_as(
        "SELECT id, lead_id, user_id, kind, outcome, notes, occurred_at, created_at FROM sales_touches \
         WHERE lead_id = $1 ORDER BY occurred_at, id",
    )
    .bind(lead_id)
    .fetch_all(&mut *conn)
    .await?)
}

/// What the losing-touch check needs about a lead being worked.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct WorkedLead {
    pub lead_id: String,
    pub stage: String,
    pub created_at: i64,
    pub last_touch_at: Option<i64>,
    pub next_step: Option<String>,
    pub next_step_due_at: Option<i64>,
    pub owner_id: Option<String>,
}

/// Live leads in `stages`, or touched at least once while in one of `open_stages`.
pub async fn worked_leads(
    conn: &mut AnyConnection,
    stages: &[String],
    open_stages: &[String],
) -> Result<Vec<WorkedLead>> {
    let mut params = crate::db::Params::default();
    let sales = params.text_list(stages);
    let open = params.text_list(open_stages);
    let sql = format!(
        "SELECT l.id AS lead_id, l.stage, l.created_at, w.last_touch_at, w.next_step, w.next_step_due_at, \
         w.owner_id FROM leads l LEFT JOIN lead_work w ON w.lead_id = l.id \
         WHERE l.merged_into IS NULL AND (l.stage IN ({sales}) \
            OR (w.last_touch_at IS NOT NULL AND l.stage IN ({open}))) \
         ORDER BY l.created_at, l.id"
    );
    Ok(params
        .bind_as::<WorkedLead>(sqlx::query_as(&sql))
        .fetch_all(&mut *conn)
        .await?)
}

/// Open leads owned by each user (for capacity checks).
pub async fn open_leads_by_owner(
    conn: &mut AnyConnection,
    open_stages: &[String],
) -> Result<std::collections::HashMap<String, i64>> {
    let mut params = crate::db::Params::default();
    let stages = params.text_list(open_stages);
    let sql = format!(
        "SELECT w.owner_id, COUNT(*) FROM lead_work w JOIN leads l ON l.id = w.lead_id \
         WHERE w.owner_id IS NOT NULL AND l.merged_into IS NULL AND l.stage IN ({stages}) GROUP BY w.owner_id"
    );
    Ok(params
        .bind_as::<(String, i64)>(sqlx::query_as(&sql))
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .collect())
}

/// Leads with a running SLA clock and no first touch yet.
pub async fn untouched_with_sla(conn: &mut AnyConnection) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT lead_id FROM lead_work WHERE sla_clock IS NOT NULL AND first_touch_at IS NULL ORDER BY lead_id",
    )
    .fetch_all(&mut *conn)
    .await?)
}

/// One open lead of a rep's inbox, with what the inbox shows and orders by.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct InboxRow {
    pub lead_id: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub company: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub stage: String,
    pub created_at: i64,
    pub score: Option<f64>,
    pub first_touch_at: Option<i64>,
    pub last_touch_at: Option<i64>,
    pub next_step: Option<String>,
    pub next_step_due_at: Option<i64>,
    /// The speed-to-lead clock as stored (JSON text).
    pub sla_clock: Option<String>,
}

/// The live leads `owner_id` owns in one of `open_stages`, by id (the inbox orders
/// them), at most `limit`.
pub async fn inbox_rows(
    conn: &mut AnyConnection,
    owner_id: &str,
    open_stages: &[String],
    limit: i64,
) -> Result<Vec<InboxRow>> {
    let mut params = crate::db::Params::default();
    let owner = params.text(owner_id);
    let stages = params.text_list(open_stages);
    let sql = format!(
        "SELECT l.id AS lead_id, l.first_name, l.last_name, l.company, l.email, l.phone, l.stage, \
         l.created_at, w.score, w.first_touch_at, w.last_touch_at, w.next_step, w.next_step_due_at, \
         w.sla_clock FROM lead_work w JOIN leads l ON l.id = w.lead_id \
         WHERE w.owner_id = {owner} AND l.merged_into IS NULL AND l.stage IN ({stages}) \
         ORDER BY l.id LIMIT {limit}"
    );
    Ok(params
        .bind_as::<InboxRow>(sqlx::query_as(&sql))
        .fetch_all(&mut *conn)
        .await?)
}

/// A lead whose speed-to-lead clock runs: routed, not yet touched.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ClockRow {
    pub lead_id: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub company: Option<String>,
    pub owner_id: Option<String>,
    pub routed_at: Option<i64>,
    /// The clock as stored (JSON text with `due_at`).
    pub sla_clock: Option<String>,
}

/// Live leads with a running clock, owned by one of `owners` (`None`: anyone's), at
/// most `limit`, the longest-routed first.
pub async fn running_clocks(
    conn: &mut AnyConnection,
    owners: Option<&[String]>,
    limit: i64,
) -> Result<Vec<ClockRow>> {
    let mut params = crate::db::Params::default();
    let owned = match owners {
        Some(ids) => format!("AND w.owner_id IN ({})", params.text_list(ids)),
        None => String::new(),
    };
    let sql = format!(
        "SELECT l.id AS lead_id, l.first_name, l.last_name, l.email, l.company, w.owner_id, w.routed_at, \
         w.sla_clock FROM lead_work w JOIN leads l ON l.id = w.lead_id \
         WHERE w.sla_clock IS NOT NULL AND w.first_touch_at IS NULL AND l.merged_into IS NULL {owned} \
         ORDER BY w.routed_at, l.id LIMIT {limit}"
    );
    Ok(params
        .bind_as::<ClockRow>(sqlx::query_as(&sql))
        .fetch_all(&mut *conn)
        .await?)
}
