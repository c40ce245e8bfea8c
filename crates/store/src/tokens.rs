//! API tokens (stored as SHA-256 hashes only) and idempotency records.

use crate::Result;
use serde::Serialize;
use sqlx::{AnyConnection, FromRow};

#[derive(Debug, Clone, PartialEq, Serialize, FromRow, schemars::JsonSchema)]
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

const TOKEN_COLUMNS: &str = "id, name, user_id, token_hash, created_at, last_used_at, revoked_at";

pub async fn by_id(conn: &mut AnyConnection, id: &str) -> Result<Option<ApiToken>> {
    let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE id = $1");
    Ok(sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?)
}

/// Tokens, newest first: every user's, or only `user_id`'s.
pub async fn list(conn: &mut AnyConnection, user_id: Option<&str>) -> Result<Vec<ApiToken>> {
    let rows = match user_id {
        Some(user) => {
            let sql = format!(
                "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE user_id = $1 ORDER BY created_at DESC, id DESC"
            );
            sqlx::query_as(&sql)
                .bind(user)
                .fetch_all(&mut *conn)
                .await?
        }
        None => {
            let sql =
                format!("SELECT {TOKEN_COLUMNS} FROM api_tokens ORDER BY created_at DESC, id DESC");
            sqlx::query_as(&sql).fetch_all(&mut *conn).await?
        }
    };
    Ok(rows)
}

/// Revokes a live token; false when it was revoked already (or does not exist).
pub async fn revoke(conn: &mut AnyConnection, id: &str, now: i64) -> Result<bool> {
    let done =
        sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(id)
            .execute(&mut *conn)
            .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn touch(conn: &mut AnyConnection, id: &str, now: i64) -> Result<()> {
    sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The stored answer to an earlier request with the same idempotency key, or the claim
/// of one still running (`status_code` 0).
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct IdempotentResponse {
    pub request_hash: String,
    pub status_code: i64,
    pub response_body: String,
    /// Until when the claim of a running request holds (epoch ms).
    pub locked_until: i64,
}

pub async fn idempotent_response(
    conn: &mut AnyConnection,
    token_id: &str,
    key: &str,
) -> Result<Option<IdempotentResponse>> {
    Ok(sqlx::query_as(
        "SELECT request_hash, status_code, response_body, locked_until FROM idempotency_keys \
         WHERE token_id = $1 AND idem_key = $2",
    )
    .bind(token_id)
    .bind(key)
    .fetch_optional(&mut *conn)
    .await?)
}

/// Claims a key before the request runs (status 0 = in progress) with a lease until
/// `locked_until`. Returns false when the key was claimed before, so a concurrent retry
/// cannot run the request twice.
pub async fn claim_idempotency_key(
    conn: &mut AnyConnection,
    token_id: &str,
    key: &str,
    request_hash: &str,
    claim_id: &str,
    now: i64,
    locked_until: i64,
) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO idempotency_keys (token_id, idem_key, request_hash, status_code, response_body, created_at, locked_until, claim_id) \
         VALUES ($1, $2, $3, 0, '', $4, $5, $6) ON CONFLICT (token_id, idem_key) DO NOTHING",
    )
    .bind(token_id)
    .bind(key)
    .bind(request_hash)
    .bind(now)
    .bind(locked_until)
    .bind(claim_id)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Takes over a claim whose lease ran out before its request was answered (the server
/// running it died). One statement decides, so of several retries arriving together
/// exactly one wins; the others see a live lease again.
pub async fn take_over_idempotency_key(
    conn: &mut AnyConnection,
    token_id: &str,
    key: &str,
    request_hash: &str,
    claim_id: &str,
    now: i64,
    locked_until: i64,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE idempotency_keys SET claim_id = $1, locked_until = $2, created_at = $3 \
         WHERE token_id = $4 AND idem_key = $5 AND request_hash = $6 \
         AND status_code = 0 AND locked_until < $3",
    )
    .bind(claim_id)
    .bind(locked_until)
    .bind(now)
    .bind(token_id)
    .bind(key)
    .bind(request_hash)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Stores the answer for a claimed key. Returns false when the claim was lost (its
/// lease ran out and a retry took the key over): the retry's answer stands.
pub async fn complete_idempotency_key(
    conn: &mut AnyConnection,
    token_id: &str,
    key: &str,
    claim_id: &str,
    status_code: i64,
    response_body: &str,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE idempotency_keys SET status_code = $1, response_body = $2 \
         WHERE token_id = $3 AND idem_key = $4 AND claim_id = $5 AND status_code = 0",
    )
    .bind(status_code)
    .bind(response_body)
    .bind(token_id)
    .bind(key)
    .bind(claim_id)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Gives a key back after a failure the client may retry (a 5xx).
pub async fn release_idempotency_key(
    conn: &mut AnyConnection,
    token_id: &str,
    key: &str,
    claim_id: &str,
) -> Result<()> {
    sqlx::query(
        "DELETE FROM idempotency_keys WHERE token_id = $1 AND idem_key = $2 AND claim_id = $3 \
         AND status_code = 0",
    )
    .bind(token_id)
    .bind(key)
    .bind(claim_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Deletes keys claimed before `cutoff` — answers and expired claims alike; a claim
/// whose lease still runs is kept. Returns how many went.
pub async fn prune_idempotency_keys(
    conn: &mut AnyConnection,
    cutoff: i64,
    now: i64,
) -> Result<u64> {
    let done = sqlx::query(
        "DELETE FROM idempotency_keys WHERE created_at < $1 AND (status_code <> 0 OR locked_until < $2)",
    )
    .bind(cutoff)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
}
