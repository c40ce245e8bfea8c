//! API tokens (stored as SHA-256 hashes only) and idempotency records.

use crate::Result;
use serde::Serialize;
use sqlx::{AnyConnection, FromRow};

#[derive(Debug, Clone, PartialEq, Serialize, FromRow)]
pub struct ApiToken {
    pub id: String,
    pub name: String,
    /// The user whose role the token acts with.
    pub user_id: Option<String>,
    #[serde(skip)]
    pub token_hash: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

pub async fn insert(conn: &mut AnyConnection, token: &ApiToken) -> Result<()> {
    sqlx::query(
        "INSERT INTO api_tokens (id, name, user_id, token_hash, created_at, last_used_at, revoked_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(token.id.as_str())
    .bind(token.name.as_str())
    .bind(token.user_id.as_deref())
    .bind(token.token_hash.as_str())
    .bind(token.created_at)
    .bind(token.last_used_at)
    .bind(token.revoked_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The live (not revoked) token with this hash.
pub async fn active_by_hash(conn: &mut AnyConnection, hash: &str) -> Result<Option<ApiToken>> {
    Ok(sqlx::query_as(
        "SELECT id, name, user_id, token_hash, created_at, last_used_at, revoked_at FROM api_tokens \
         WHERE token_hash = $1 AND revoked_at IS NULL",
    )
    .bind(hash)
    .fetch_optional(&mut *conn)
    .await?)
}

pub async fn touch(conn: &mut AnyConnection, id: &str, now: i64) -> Result<()> {
    sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The stored answer to an earlier request with the same idempotency key.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct IdempotentResponse {
    pub request_hash: String,
    pub status_code: i64,
    pub response_body: String,
}

pub async fn idempotent_response(
    conn: &mut AnyConnection,
    token_id: &str,
    key: &str,
) -> Result<Option<IdempotentResponse>> {
    Ok(sqlx::query_as(
        "SELECT request_hash, status_code, response_body FROM idempotency_keys \
         WHERE token_id = $1 AND idem_key = $2",
    )
    .bind(token_id)
    .bind(key)
    .fetch_optional(&mut *conn)
    .await?)
}

/// Claims a key before the request runs (status 0 = in progress). Returns false when
/// the key was claimed before, so a concurrent retry cannot run the request twice.
pub async fn claim_idempotency_key(
    conn: &mut AnyConnection,
    token_id: &str,
    key: &str,
    request_hash: &str,
    now: i64,
) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO idempotency_keys (token_id, idem_key, request_hash, status_code, response_body, created_at) \
         VALUES ($1, $2, $3, 0, '', $4) ON CONFLICT (token_id, idem_key) DO NOTHING",
    )
    .bind(token_id)
    .bind(key)
    .bind(request_hash)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Stores the answer for a claimed key.
pub async fn complete_idempotency_key(
    conn: &mut AnyConnection,
    token_id: &str,
    key: &str,
    status_code: i64,
    response_body: &str,
) -> Result<()> {
    sqlx::query(
        "UPDATE idempotency_keys SET status_code = $1, response_body = $2 WHERE token_id = $3 AND idem_key = $4",
    )
    .bind(status_code)
    .bind(response_body)
    .bind(token_id)
    .bind(key)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Gives a key back after a failure the client may retry (a 5xx).
pub async fn release_idempotency_key(
    conn: &mut AnyConnection,
    token_id: &str,
    key: &str,
) -> Result<()> {
    sqlx::query(
        "DELETE FROM idempotency_keys WHERE token_id = $1 AND idem_key = $2 AND status_code = 0",
    )
    .bind(token_id)
    .bind(key)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
