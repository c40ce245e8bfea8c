//! Import jobs: their progress counters and per-row reports.

use crate::Result;
use serde::Serialize;
use sqlx::{AnyConnection, FromRow};

#[derive(Debug, Clone, PartialEq, Serialize, FromRow, schemars::JsonSchema)]
pub struct ImportJob {
    pub id: String,
    pub file_name: String,
    pub file_sha256: String,
    pub source_id: String,
    pub campaign_id: Option<String>,
    /// `queued`, `running`, `completed` or `failed`.
    pub status: String,
    pub encoding: Option<String>,
    pub delimiter: Option<String>,
    /// Every line of the file but the header: the sum of the five counts below.
    pub total_rows: i64,
    pub processed_rows: i64,
    pub created_count: i64,
    pub merged_count: i64,
    pub unchanged_count: i64,
    pub rejected_count: i64,
    /// Blank lines (empty, whitespace or only delimiters), reported as `skipped`.
    pub skipped_count: i64,
    pub error: Option<String>,
    pub created_at: i64,
    pub finished_at: Option<i64>,
}

const COLUMNS: &str = "id, file_name, file_sha256, source_id, campaign_id, status, encoding, delimiter, \
    total_rows, processed_rows, created_count, merged_count, unchanged_count, rejected_count, skipped_count, \
    error, created_at, finished_at";

pub async fn insert(conn: &mut AnyConnection, job: &ImportJob) -> Result<()> {
    sqlx::query(
        "INSERT INTO imports (id, file_name, file_sha256, source_id, campaign_id, status, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(job.id.as_str())
    .bind(job.file_name.as_str())
    .bind(job.file_sha256.as_str())
    .bind(job.source_id.as_str())
    .bind(job.campaign_id.as_deref())
    .bind(job.status.as_str())
    .bind(job.created_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn get(conn: &mut AnyConnection, id: &str) -> Result<Option<ImportJob>> {
    let sql = format!("SELECT {COLUMNS} FROM imports WHERE id = $1");
    Ok(sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?)
}

/// Saves status, detected format and counters (called after every batch).
pub async fn save_progress(conn: &mut AnyConnection, job: &ImportJob) -> Result<()> {
    sqlx::query(
        "UPDATE imports SET status = $1, encoding = $2, delimiter = $3, total_rows = $4, \
         processed_rows = $5, created_count = $6, merged_count = $7, unchanged_count = $8, \
         rejected_count = $9, skipped_count = $10, error = $11, finished_at = $12 WHERE id = $13",
    )
    .bind(job.status.as_str())
    .bind(job.encoding.as_deref())
    .bind(job.delimiter.as_deref())
    .bind(job.total_rows)
    .bind(job.processed_rows)
    .bind(job.created_count)
    .bind(job.merged_count)
    .bind(job.unchanged_count)
    .bind(job.rejected_count)
    .bind(job.skipped_count)
    .bind(job.error.as_deref())
    .bind(job.finished_at)
    .bind(job.id.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn save_report(conn: &mut AnyConnection, id: &str, report_csv: &str) -> Result<()> {
    sqlx::query("UPDATE imports SET report = $1 WHERE id = $2")
        .bind(report_csv)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn report(conn: &mut AnyConnection, id: &str) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar::<_, Option<String>>("SELECT report FROM imports WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?
            .flatten(),
    )
}
