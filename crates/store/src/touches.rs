//! Attribution touches (every capture of a lead) and consent records.

use crate::db::{placeholders, row_placeholders, rows_per_statement};
use crate::error::json_column;
use crate::Result;
use serde::{Deserialize, Serialize};
use sqlx::{AnyConnection, FromRow, Row};
use std::collections::HashMap;

/// One capture of a lead: where it came from and how. Position 0 is the first touch.
#[derive(
    Debug, Clone, Default, PartialEq, Serialize, Deserialize, FromRow, schemars::JsonSchema,
)]
pub struct Touch {
    pub id: String,
    pub lead_id: String,
    pub position: i64,
    pub channel: String,
    pub source_id: Option<String>,
    pub campaign_id: Option<String>,
    pub utm_source: Option<String>,
    pub utm_medium: Option<String>,
    pub utm_campaign: Option<String>,
    pub utm_term: Option<String>,
    pub utm_content: Option<String>,
    pub referrer: Option<String>,
    pub landing_page: Option<String>,
    pub form_id: Option<String>,
    pub import_id: Option<String>,
    /// Identifies a capture seen before (an import row, an idempotent request).
    #[serde(skip)]
    pub fingerprint: Option<String>,
    pub occurred_at: i64,
}

const TOUCH_COLUMNS: &str = "id, lead_id, position, channel, source_id, campaign_id, utm_source, \
    utm_medium, utm_campaign, utm_term, utm_content, referrer, landing_page, form_id, import_id, \
    fingerprint, occurred_at";
const TOUCH_COLUMN_COUNT: usize = 17;

pub async fn insert_many(conn: &mut AnyConnection, touches: &[Touch]) -> Result<()> {
    for chunk in touches.chunks(rows_per_statement(TOUCH_COLUMN_COUNT)) {
        let sql = format!(
            "INSERT INTO touches ({TOUCH_COLUMNS}) VALUES {}",
            row_placeholders(conn, chunk.len(), TOUCH_COLUMN_COUNT)
        );
        let mut q = sqlx::query(&sql);
        for t in chunk {
            q = q
                .bind(t.id.as_str())
                .bind(t.lead_id.as_str())
                .bind(t.position)
                .bind(t.channel.as_str())
                .bind(t.source_id.as_deref())
                .bind(t.campaign_id.as_deref())
                .bind(t.utm_source.as_deref())
                .bind(t.utm_medium.as_deref())
                .bind(t.utm_campaign.as_deref())
                .bind(t.utm_term.as_deref())
                .bind(t.utm_content.as_deref())
                .bind(t.referrer.as_deref())
                .bind(t.landing_page.as_deref())
                .bind(t.form_id.as_deref())
                .bind(t.import_id.as_deref())
                .bind(t.fingerprint.as_deref())
                .bind(t.occurred_at);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

pub async fn for_lead(conn: &mut AnyConnection, lead_id: &str) -> Result<Vec<Touch>> {
    let sql = format!(
        "SELECT {TOUCH_COLUMNS} FROM touches WHERE lead_id = $1 ORDER BY position, occurred_at, id"
    );
    Ok(sqlx::query_as(&sql)
        .bind(lead_id)
        .fetch_all(&mut *conn)
        .await?)
}

/// Number of touches per lead, for numbering the next touch of each.
pub async fn counts(conn: &mut AnyConnection, lead_ids: &[String]) -> Result<HashMap<String, i64>> {
    let mut out = HashMap::new();
    for chunk in lead_ids.chunks(rows_per_statement(1)) {
        let sql = format!(
            "SELECT lead_id, COUNT(*) FROM touches WHERE lead_id IN ({}) GROUP BY lead_id",
            placeholders(conn, 1, chunk.len())
        );
        let mut q = sqlx::query_as::<_, (String, i64)>(&sql);
        for id in chunk {
            q = q.bind(id.as_str());
        }
        out.extend(q.fetch_all(&mut *conn).await?);
    }
    Ok(out)
}

/// Which of these fingerprints were captured before, and into which lead.
pub async fn known_fingerprints(
    conn: &mut AnyConnection,
    fingerprints: &[String],
) -> Result<HashMap<String, String>> {
    let mut out = HashMap::new();
    for chunk in fingerprints.chunks(rows_per_statement(1)) {
        let sql = format!(
            "SELECT fingerprint, lead_id FROM touches WHERE fingerprint IN ({})",
            placeholders(conn, 1, chunk.len())
        );
        let mut q = sqlx::query_as::<_, (String, String)>(&sql);
        for f in chunk {
            q = q.bind(f.as_str());
        }
        out.extend(q.fetch_all(&mut *conn).await?);
    }
    Ok(out)
}

/// Moves touches from one lead to another (merge), returning the moved ids.
pub async fn reassign(conn: &mut AnyConnection, from: &str, to: &str) -> Result<Vec<String>> {
    let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM touches WHERE lead_id = $1")
        .bind(from)
        .fetch_all(&mut *conn)
        .await?;
    let next: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM touches WHERE lead_id = $1")
        .bind(to)
        .fetch_one(&mut *conn)
        .await?;
    sqlx::query("UPDATE touches SET lead_id = $1, position = position + $2 WHERE lead_id = $3")
        .bind(to)
        .bind(next)
        .bind(from)
        .execute(&mut *conn)
        .await?;
    Ok(ids)
}

/// Restores touches to a lead and position (merge undo).
pub async fn restore(conn: &mut AnyConnection, touches: &[Touch]) -> Result<()> {
    for t in touches {
        sqlx::query("UPDATE touches SET lead_id = $1, position = $2 WHERE id = $3")
            .bind(t.lead_id.as_str())
            .bind(t.position)
            .bind(t.id.as_str())
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// One grant or withdrawal of permission to contact a lead on one channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Consent {
    pub id: String,
    pub lead_id: String,
    /// `email`, `phone` or `sms`.
    pub channel: String,
    /// `granted` or `withdrawn`.
    pub status: String,
    /// The wording the person was shown.
    pub wording: Option<String>,
    /// Proof: form id, IP, user agent, import file …
    pub evidence: serde_json::Value,
    pub recorded_at: i64,
}

pub async fn insert_consents(conn: &mut AnyConnection, consents: &[Consent]) -> Result<()> {
    for chunk in consents.chunks(rows_per_statement(7)) {
        let sql = format!(
            "INSERT INTO consents (id, lead_id, channel, status, wording, evidence, recorded_at) VALUES {}",
            row_placeholders(conn, chunk.len(), 7)
        );
        let mut q = sqlx::query(&sql);
        for c in chunk {
            q = q
                .bind(c.id.as_str())
                .bind(c.lead_id.as_str())
                .bind(c.channel.as_str())
                .bind(c.status.as_str())
                .bind(c.wording.as_deref())
                .bind(c.evidence.to_string())
                .bind(c.recorded_at);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

pub async fn consents_for(conn: &mut AnyConnection, lead_id: &str) -> Result<Vec<Consent>> {
    let rows = sqlx::query(
        "SELECT id, lead_id, channel, status, wording, evidence, recorded_at FROM consents \
         WHERE lead_id = $1 ORDER BY recorded_at, id",
    )
    .bind(lead_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            let evidence: String = row.try_get("evidence")?;
            Ok(Consent {
                id: row.try_get("id")?,
                lead_id: row.try_get("lead_id")?,
                channel: row.try_get("channel")?,
                status: row.try_get("status")?,
                wording: row.try_get("wording")?,
                evidence: json_column("consents.evidence", &evidence)?,
                recorded_at: row.try_get("recorded_at")?,
            })
        })
        .collect()
}

/// Moves consent records from one lead to another (merge), returning the moved ids.
pub async fn reassign_consents(
    conn: &mut AnyConnection,
    from: &str,
    to: &str,
) -> Result<Vec<String>> {
    let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM consents WHERE lead_id = $1")
        .bind(from)
        .fetch_all(&mut *conn)
        .await?;
    sqlx::query("UPDATE consents SET lead_id = $1 WHERE lead_id = $2")
        .bind(to)
        .bind(from)
        .execute(&mut *conn)
        .await?;
    Ok(ids)
}

pub async fn move_consents(conn: &mut AnyConnection, ids: &[String], to: &str) -> Result<()> {
    for id in ids {
        sqlx::query("UPDATE consents SET lead_id = $1 WHERE id = $2")
            .bind(to)
            .bind(id.as_str())
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}
