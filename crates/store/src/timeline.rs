//! The append-only timeline of events per lead, and stored match decisions.

use crate::db::{row_placeholders, rows_per_statement};
use crate::error::json_column;
use crate::{new_id, Result};
use serde::Serialize;
use sqlx::{AnyConnection, Row};

/// Who did something: `system`, `token:<id>`, `import:<id>`, `form:<key>`, `cli`.
pub type Actor = String;

#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct TimelineEvent {
    pub id: String,
    pub lead_id: String,
    pub kind: String,
    pub actor: Actor,
    pub occurred_at: i64,
    pub payload: serde_json::Value,
}

impl TimelineEvent {
    pub fn new(
        lead_id: &str,
        kind: &str,
        actor: &str,
        occurred_at: i64,
        payload: serde_json::Value,
    ) -> Self {
        TimelineEvent {
            id: new_id(),
            lead_id: lead_id.to_string(),
            kind: kind.to_string(),
            actor: actor.to_string(),
            occurred_at,
            payload,
        }
    }
}

pub async fn append(conn: &mut AnyConnection, events: &[TimelineEvent]) -> Result<()> {
    for chunk in events.chunks(rows_per_statement(6)) {
        let sql = format!(
            "INSERT INTO timeline_events (id, lead_id, kind, actor, occurred_at, payload) VALUES {}",
            row_placeholders(conn, chunk.len(), 6)
        );
        let mut q = sqlx::query(&sql);
        for e in chunk {
            q = q
                .bind(e.id.as_str())
                .bind(e.lead_id.as_str())
                .bind(e.kind.as_str())
                .bind(e.actor.as_str())
                .bind(e.occurred_at)
                .bind(e.payload.to_string());
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// A lead's events, oldest first (ULIDs break ties within one millisecond).
pub async fn for_lead(conn: &mut AnyConnection, lead_id: &str) -> Result<Vec<TimelineEvent>> {
    let rows = sqlx::query(
        "SELECT id, lead_id, kind, actor, occurred_at, payload FROM timeline_events \
         WHERE lead_id = $1 ORDER BY occurred_at, id",
    )
    .bind(lead_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            let payload: String = row.try_get("payload")?;
            Ok(TimelineEvent {
                id: row.try_get("id")?,
                lead_id: row.try_get("lead_id")?,
                kind: row.try_get("kind")?,
                actor: row.try_get("actor")?,
                occurred_at: row.try_get("occurred_at")?,
                payload: json_column("timeline_events.payload", &payload)?,
            })
        })
        .collect()
}

/// The evidence behind one match decision (which comparisons agreed, with what weight).
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct MatchDecisionRow {
    pub id: String,
    pub lead_id: String,
    pub candidate_id: String,
    pub decision: String,
    pub score: f64,
    pub evidence: serde_json::Value,
    pub created_at: i64,
}

pub async fn record_match_decisions(
    conn: &mut AnyConnection,
    decisions: &[MatchDecisionRow],
) -> Result<()> {
    for chunk in decisions.chunks(rows_per_statement(7)) {
        let sql = format!(
            "INSERT INTO match_decisions (id, lead_id, candidate_id, decision, score, evidence, created_at) VALUES {}",
            row_placeholders(conn, chunk.len(), 7)
        );
        let mut q = sqlx::query(&sql);
        for d in chunk {
            q = q
                .bind(d.id.as_str())
                .bind(d.lead_id.as_str())
                .bind(d.candidate_id.as_str())
                .bind(d.decision.as_str())
                .bind(d.score)
                .bind(d.evidence.to_string())
                .bind(d.created_at);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

pub async fn match_decisions_for(
    conn: &mut AnyConnection,
    lead_id: &str,
) -> Result<Vec<MatchDecisionRow>> {
    let rows = sqlx::query(
        "SELECT id, lead_id, candidate_id, decision, score, evidence, created_at FROM match_decisions \
         WHERE lead_id = $1 OR candidate_id = $1 ORDER BY created_at, id",
    )
    .bind(lead_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            let evidence: String = row.try_get("evidence")?;
            Ok(MatchDecisionRow {
                id: row.try_get("id")?,
                lead_id: row.try_get("lead_id")?,
                candidate_id: row.try_get("candidate_id")?,
                decision: row.try_get("decision")?,
                score: row.try_get("score")?,
                evidence: json_column("match_decisions.evidence", &evidence)?,
                created_at: row.try_get("created_at")?,
            })
        })
        .collect()
}
