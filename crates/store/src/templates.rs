//! E-mail templates.

use crate::Result;
use sqlx::AnyConnection;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, sqlx::FromRow)]
pub struct EmailTemplate {
    pub id: String,
    pub name: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str = "id, name, subject, body_text, body_html, created_at, updated_at";

/// Inserts or replaces a template by id. `false` when another template has the name.
pub async fn save(conn: &mut AnyConnection, t: &EmailTemplate) -> Result<bool> {
    let taken: Option<String> =
        sqlx::query_scalar("SELECT id FROM email_templates WHERE name = $1 AND id <> $2")
            .bind(t.name.as_str())
            .bind(t.id.as_str())
            .fetch_optional(&mut *conn)
            .await?;
    if taken.is_some() {
        return Ok(false);
    }
    sqlx::query(&format!(
        "INSERT INTO email_templates ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, subject = excluded.subject, \
         body_text = excluded.body_text, body_html = excluded.body_html, updated_at = excluded.updated_at"
    ))
    .bind(t.id.as_str())
    .bind(t.name.as_str())
    .bind(t.subject.as_str())
    .bind(t.body_text.as_str())
    .bind(t.body_html.as_str())
    .bind(t.created_at)
    .bind(t.updated_at)
    .execute(&mut *conn)
    .await?;
    Ok(true)
}

pub async fn get(conn: &mut AnyConnection, id: &str) -> Result<Option<EmailTemplate>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM email_templates WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?)
}

pub async fn list(conn: &mut AnyConnection) -> Result<Vec<EmailTemplate>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM email_templates ORDER BY name, id"
    ))
    .fetch_all(&mut *conn)
    .await?)
}
