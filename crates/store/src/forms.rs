//! Capture form definitions.

use crate::error::json_column;
use crate::Result;
use serde::Serialize;
use sqlx::{AnyConnection, Row};

/// A stored form. `definition` is the service's form definition as JSON, so the form
/// language can grow without a migration per option.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct FormRow {
    pub id: String,
    pub form_key: String,
    pub name: String,
    pub definition: serde_json::Value,
    pub source_id: String,
    pub campaign_id: Option<String>,
    pub created_at: i64,
}

pub async fn insert(conn: &mut AnyConnection, form: &FormRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO forms (id, form_key, name, definition, source_id, campaign_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(form.id.as_str())
    .bind(form.form_key.as_str())
    .bind(form.name.as_str())
    .bind(form.definition.to_string())
    .bind(form.source_id.as_str())
    .bind(form.campaign_id.as_deref())
    .bind(form.created_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

fn from_row(row: &sqlx::any::AnyRow) -> Result<FormRow> {
    let definition: String = row.try_get("definition")?;
    Ok(FormRow {
        id: row.try_get("id")?,
        form_key: row.try_get("form_key")?,
        name: row.try_get("name")?,
        definition: json_column("forms.definition", &definition)?,
        source_id: row.try_get("source_id")?,
        campaign_id: row.try_get("campaign_id")?,
        created_at: row.try_get("created_at")?,
    })
}

const COLUMNS: &str = "id, form_key, name, definition, source_id, campaign_id, created_at";

pub async fn by_key(conn: &mut AnyConnection, key: &str) -> Result<Option<FormRow>> {
    let sql = format!("SELECT {COLUMNS} FROM forms WHERE form_key = $1");
    let row = sqlx::query(&sql)
        .bind(key)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn by_id(conn: &mut AnyConnection, id: &str) -> Result<Option<FormRow>> {
    let sql = format!("SELECT {COLUMNS} FROM forms WHERE id = $1");
    let row = sqlx::query(&sql)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn list(conn: &mut AnyConnection) -> Result<Vec<FormRow>> {
    let sql = format!("SELECT {COLUMNS} FROM forms ORDER BY created_at, id");
    let rows = sqlx::query(&sql).fetch_all(&mut *conn).await?;
    rows.iter().map(from_row).collect()
}
