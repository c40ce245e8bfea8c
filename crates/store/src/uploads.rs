//! Uploads waiting for their import to be started (the web app's import wizard).

use crate::Result;
use sqlx::AnyConnection;

/// A staged upload; `content` is the file as base64.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StagedUpload {
    pub id: String,
    pub user_id: String,
    pub file_name: String,
    pub content: String,
    pub source: String,
    pub campaign: Option<String>,
    pub channel: String,
    pub default_region: Option<String>,
    pub created_at: i64,
}

pub async fn insert(conn: &mut AnyConnection, u: &StagedUpload) -> Result<()> {
    sqlx::query(
        "INSERT INTO import_uploads (id, user_id, file_name, content, source, campaign, channel, \
         default_region, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(u.id.as_str())
    .bind(u.user_id.as_str())
    .bind(u.file_name.as_str())
    .bind(u.content.as_str())
    .bind(u.source.as_str())
    .bind(u.campaign.as_deref())
    .bind(u.channel.as_str())
    .bind(u.default_region.as_deref())
    .bind(u.created_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The person's own staged upload.
pub async fn get(
    conn: &mut AnyConnection,
    user_id: &str,
    id: &str,
) -> Result<Option<StagedUpload>> {
    Ok(sqlx::query_as(
        "SELECT id, user_id, file_name, content, source, campaign, channel, default_region, created_at \
         FROM import_uploads WHERE id = $1 AND user_id = $2",
    )
    .bind(id)
    .bind(user_id)
    .fetch_optional(&mut *conn)
    .await?)
}

pub async fn delete(conn: &mut AnyConnection, id: &str) -> Result<()> {
    sqlx::query("DELETE FROM import_uploads WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Removes uploads staged before `before`; how many.
pub async fn delete_older(conn: &mut AnyConnection, before: i64) -> Result<u64> {
    let done = sqlx::query("DELETE FROM import_uploads WHERE created_at < $1")
        .bind(before)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}
