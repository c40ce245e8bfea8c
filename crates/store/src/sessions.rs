//! Web app sessions (stored by the SHA-256 of their cookie secret) and failed sign-in
//! attempts.

use crate::Result;
use sqlx::{AnyConnection, FromRow};

#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct SessionRow {
    pub id: String,
    pub token_hash: String,
    pub user_id: String,
    pub csrf_token: String,
    pub user_agent: Option<String>,
    pub created_at: i64,
    pub last_seen_at: i64,
    /// Idle expiry: moved forward as the session is used.
    pub expires_at: i64,
    /// Absolute end, however busy the session.
    pub ends_at: i64,
}

const SESSION_COLUMNS: &str = "id, token_hash, user_id, csrf_token, user_agent, created_at, \
    last_seen_at, expires_at, ends_at";

pub async fn insert(conn: &mut AnyConnection, s: &SessionRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO sessions (id, token_hash, user_id, csrf_token, user_agent, created_at, \
         last_seen_at, expires_at, ends_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(s.id.as_str())
    .bind(s.token_hash.as_str())
    .bind(s.user_id.as_str())
    .bind(s.csrf_token.as_str())
    .bind(s.user_agent.as_deref())
    .bind(s.created_at)
    .bind(s.last_seen_at)
    .bind(s.expires_at)
    .bind(s.ends_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The session with this hash that has not expired by `now`.
pub async fn live_by_hash(
    conn: &mut AnyConnection,
    hash: &str,
    now: i64,
) -> Result<Option<SessionRow>> {
    let sql = format!(
        "SELECT {SESSION_COLUMNS} FROM sessions \
         WHERE token_hash = $1 AND expires_at > $2 AND ends_at > $2"
    );
    Ok(sqlx::query_as(&sql)
        .bind(hash)
        .bind(now)
        .fetch_optional(&mut *conn)
        .await?)
}

/// Records use of a session and moves its idle expiry.
pub async fn touch(conn: &mut AnyConnection, id: &str, now: i64, expires_at: i64) -> Result<()> {
    sqlx::query("UPDATE sessions SET last_seen_at = $2, expires_at = $3 WHERE id = $1")
        .bind(id)
        .bind(now)
        .bind(expires_at)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn delete_by_hash(conn: &mut AnyConnection, hash: &str) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(hash)
        .execute(&mut *conn)
        .await?
        .rows_affected())
}

/// Ends every session of a user except `keep` (the one changing its password).
pub async fn delete_for_user(
    conn: &mut AnyConnection,
    user_id: &str,
    keep: Option<&str>,
) -> Result<u64> {
    Ok(
        sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id <> $2")
            .bind(user_id)
            .bind(keep.unwrap_or(""))
            .execute(&mut *conn)
            .await?
            .rows_affected(),
    )
}

/// Sessions of a user, newest first.
pub async fn for_user(conn: &mut AnyConnection, user_id: &str) -> Result<Vec<SessionRow>> {
    let sql = format!(
        "SELECT {SESSION_COLUMNS} FROM sessions WHERE user_id = $1 \
         ORDER BY created_at DESC, id DESC"
    );
    Ok(sqlx::query_as(&sql)
        .bind(user_id)
        .fetch_all(&mut *conn)
        .await?)
}

/// Removes sessions past their idle or absolute end.
pub async fn delete_expired(conn: &mut AnyConnection, now: i64) -> Result<u64> {
    Ok(
        sqlx::query("DELETE FROM sessions WHERE expires_at <= $1 OR ends_at <= $1")
            .bind(now)
            .execute(&mut *conn)
            .await?
            .rows_affected(),
    )
}

pub async fn record_failure(
    conn: &mut AnyConnection,
    id: &str,
    subject: &str,
    at: i64,
) -> Result<()> {
    sqlx::query("INSERT INTO sign_in_failures (id, subject, failed_at) VALUES ($1, $2, $3)")
        .bind(id)
        .bind(subject)
        .bind(at)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Failed sign-ins of `subject` since `since`, and the earliest of them.
pub async fn failures_since(
    conn: &mut AnyConnection,
    subject: &str,
    since: i64,
) -> Result<(i64, Option<i64>)> {
    Ok(sqlx::query_as(
        "SELECT COUNT(*), MIN(failed_at) FROM sign_in_failures WHERE subject = $1 AND failed_at > $2",
    )
    .bind(subject)
    .bind(since)
    .fetch_one(&mut *conn)
    .await?)
}

pub async fn clear_failures(conn: &mut AnyConnection, subject: &str) -> Result<()> {
    sqlx::query("DELETE FROM sign_in_failures WHERE subject = $1")
        .bind(subject)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Forgets failures older than `before`.
pub async fn prune_failures(conn: &mut AnyConnection, before: i64) -> Result<u64> {
    Ok(
        sqlx::query("DELETE FROM sign_in_failures WHERE failed_at <= $1")
            .bind(before)
            .execute(&mut *conn)
            .await?
            .rows_affected(),
    )
}
