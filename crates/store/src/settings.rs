//! Server-wide settings shared by every instance on one database.

use crate::Result;
use sqlx::AnyConnection;

pub async fn get(conn: &mut AnyConnection, name: &str) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT value FROM settings WHERE name = $1")
            .bind(name)
            .fetch_optional(&mut *conn)
            .await?,
    )
}

/// Stores `value` unless the setting exists; returns the value that is in force, so
/// instances starting together agree on one.
pub async fn get_or_init(
    conn: &mut AnyConnection,
    name: &str,
    value: &str,
    now: i64,
) -> Result<String> {
    sqlx::query(
        "INSERT INTO settings (name, value, updated_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .bind(value)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(get(conn, name).await?.unwrap_or_else(|| value.to_string()))
}

/// Stores or replaces a setting.
pub async fn set(conn: &mut AnyConnection, name: &str, value: &str, now: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO settings (name, value, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
    )
    .bind(name)
    .bind(value)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
