//! Pending follow-ups of acknowledged captures. A row is written in the capture's
//! transaction and deleted in the transaction that does the follow-up, so the work is
//! done exactly once: whoever deletes the row does it, and a second taker finds
//! nothing to delete. A row left behind (a crash, a shutdown) is claimed again once
//! its lease runs out.

use crate::db::{row_placeholders, rows_per_statement, skip_locked, Params};
use crate::error::json_column;
use crate::Result;
use serde::Serialize;
use sqlx::{AnyConnection, Row};

/// A follow-up waiting to be done.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct PendingFollowup {
    pub id: String,
    pub lead_id: String,
    pub actor: String,
    /// Question → answer text, as the form carried them.
    pub answers: serde_json::Value,
    pub attempts: i64,
    pub available_at: i64,
    pub last_error: Option<String>,
    pub failed_at: Option<i64>,
    pub created_at: i64,
}

const COLUMNS: &str =
    "id, lead_id, actor, answers, attempts, available_at, last_error, failed_at, created_at";

fn from_row(row: &sqlx::any::AnyRow) -> Result<PendingFollowup> {
    let answers: String = row.try_get("answers")?;
    Ok(PendingFollowup {
        id: row.try_get("id")?,
        lead_id: row.try_get("lead_id")?,
        actor: row.try_get("actor")?,
        answers: json_column("pending_followups.answers", &answers)?,
        attempts: row.try_get("attempts")?,
        available_at: row.try_get("available_at")?,
        last_error: row.try_get("last_error")?,
        failed_at: row.try_get("failed_at")?,
        created_at: row.try_get("created_at")?,
    })
}

pub async fn insert_many(conn: &mut AnyConnection, rows: &[PendingFollowup]) -> Result<()> {
    const N: usize = 9;
    for chunk in rows.chunks(rows_per_statement(N)) {
        let sql = format!(
            "INSERT INTO pending_followups ({COLUMNS}) VALUES {}",
            row_placeholders(conn, chunk.len(), N)
        );
        let mut q = sqlx::query(&sql);
        for f in chunk {
            q = q
                .bind(f.id.as_str())
                .bind(f.lead_id.as_str())
                .bind(f.actor.as_str())
                .bind(f.answers.to_string())
                .bind(f.attempts)
                .bind(f.available_at)
                .bind(f.last_error.as_deref())
                .bind(f.failed_at)
                .bind(f.created_at);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Takes these follow-ups for the caller's transaction by deleting them; returns the
/// ids it took. An id missing from the answer was done already (by another worker or
/// server) and must not be done again. Until the transaction ends, the rows are the
/// caller's: a concurrent taker waits, then finds them gone.
pub async fn take(conn: &mut AnyConnection, ids: &[String]) -> Result<Vec<String>> {
    let mut taken = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(rows_per_statement(1)) {
        let mut p = Params::default();
        let list = p.text_list(chunk);
        let sql = format!(
            "DELETE FROM pending_followups WHERE id IN ({list}) AND failed_at IS NULL RETURNING id"
        );
        let rows: Vec<(String,)> = p
            .bind_as(sqlx::query_as(&sql))
            .fetch_all(&mut *conn)
            .await?;
        taken.extend(rows.into_iter().map(|(id,)| id));
    }
    Ok(taken)
}

/// Leases up to `limit` follow-ups that are due (their holder's lease ran out, or
/// their backoff passed) until `lease_until`, oldest first. Call inside a write
/// transaction and commit before doing them.
pub async fn claim_due(
    conn: &mut AnyConnection,
    now: i64,
    lease_until: i64,
    limit: i64,
) -> Result<Vec<PendingFollowup>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM pending_followups WHERE failed_at IS NULL AND available_at <= $1 \
         ORDER BY available_at, id LIMIT $2{}",
        skip_locked(conn)
    );
    let rows = sqlx::query(&sql)
        .bind(now)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
    let claimed: Vec<PendingFollowup> = rows.iter().map(from_row).collect::<Result<_>>()?;
    if !claimed.is_empty() {
        let ids: Vec<String> = claimed.iter().map(|f| f.id.clone()).collect();
        set_available_at(conn, &ids, lease_until).await?;
    }
    Ok(claimed)
}

/// Makes these follow-ups available to any server from `at` (a lease, or handing
/// back at shutdown what this server will not do).
pub async fn set_available_at(conn: &mut AnyConnection, ids: &[String], at: i64) -> Result<()> {
    for chunk in ids.chunks(rows_per_statement(1)) {
        let mut p = Params::default();
        let at = p.int(at);
        let list = p.text_list(chunk);
        let sql = format!(
            "UPDATE pending_followups SET available_at = {at} WHERE id IN ({list}) AND failed_at IS NULL"
        );
        p.bind(sqlx::query(&sql)).execute(&mut *conn).await?;
    }
    Ok(())
}

/// Records a failed attempt: retried from `retry_at`, or given up (`None`).
pub async fn record_failure(
    conn: &mut AnyConnection,
    id: &str,
    attempts: i64,
    retry_at: Option<i64>,
    error: &str,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE pending_followups SET attempts = $1, available_at = $2, last_error = $3, failed_at = $4 \
         WHERE id = $5",
    )
    .bind(attempts)
    .bind(retry_at.unwrap_or(now))
    .bind(error)
    .bind(retry_at.is_none().then_some(now))
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn get(conn: &mut AnyConnection, id: &str) -> Result<Option<PendingFollowup>> {
    let sql = format!("SELECT {COLUMNS} FROM pending_followups WHERE id = $1");
    sqlx::query(&sql)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

/// Follow-ups still to do (not given up).
pub async fn count_pending(conn: &mut AnyConnection) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM pending_followups WHERE failed_at IS NULL")
            .fetch_one(&mut *conn)
            .await?,
    )
}
