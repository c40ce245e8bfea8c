//! Merge records, kept with a full snapshot so a merge can be undone exactly.

use crate::error::json_column;
use crate::Result;
use serde::Serialize;
use sqlx::{AnyConnection, Row};

#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct MergeRow {
    pub id: String,
    pub survivor_id: String,
    pub merged_id: String,
    /// Both leads as they were, plus the rows that moved (see the service's `MergeSnapshot`).
    pub snapshot: serde_json::Value,
    pub actor: String,
    pub created_at: i64,
    pub undone_at: Option<i64>,
}

pub async fn insert(conn: &mut AnyConnection, m: &MergeRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO merges (id, survivor_id, merged_id, snapshot, actor, created_at, undone_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(m.id.as_str())
    .bind(m.survivor_id.as_str())
    .bind(m.merged_id.as_str())
    .bind(m.snapshot.to_string())
    .bind(m.actor.as_str())
    .bind(m.created_at)
    .bind(m.undone_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn get(conn: &mut AnyConnection, id: &str) -> Result<Option<MergeRow>> {
    let row = sqlx::query(
        "SELECT id, survivor_id, merged_id, snapshot, actor, created_at, undone_at FROM merges WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|row| {
        let snapshot: String = row.try_get("snapshot")?;
        Ok(MergeRow {
            id: row.try_get("id")?,
            survivor_id: row.try_get("survivor_id")?,
            merged_id: row.try_get("merged_id")?,
            snapshot: json_column("merges.snapshot", &snapshot)?,
            actor: row.try_get("actor")?,
            created_at: row.try_get("created_at")?,
            undone_at: row.try_get("undone_at")?,
        })
    })
    .transpose()
}

/// Later merges touching either lead: an undo must go newest first.
pub async fn later_active_merges(conn: &mut AnyConnection, merge: &MergeRow) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM merges WHERE undone_at IS NULL AND id > $1 \
         AND (survivor_id IN ($2, $3) OR merged_id IN ($2, $3))",
    )
    .bind(merge.id.as_str())
    .bind(merge.survivor_id.as_str())
    .bind(merge.merged_id.as_str())
    .fetch_one(&mut *conn)
    .await?)
}

pub async fn mark_undone(conn: &mut AnyConnection, id: &str, now: i64) -> Result<bool> {
    let done = sqlx::query("UPDATE merges SET undone_at = $1 WHERE id = $2 AND undone_at IS NULL")
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}
