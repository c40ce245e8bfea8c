//! Sources, campaigns and accounts (companies matched by web domain).

use crate::{new_id, Result};
use serde::Serialize;
use sqlx::{AnyConnection, FromRow};

#[derive(Debug, Clone, PartialEq, Serialize, FromRow, schemars::JsonSchema)]
pub struct Source {
    pub id: String,
    pub name: String,
    pub channel: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, FromRow, schemars::JsonSchema)]
pub struct Campaign {
    pub id: String,
    pub name: String,
    pub source_id: String,
    pub channel: String,
    pub cost_cents: Option<i64>,
    pub currency: Option<String>,
    pub starts_on: Option<String>,
    pub ends_on: Option<String>,
    pub created_at: i64,
}

/// What a new campaign carries besides its name and source.
#[derive(Debug, Clone, Default)]
pub struct CampaignDetails {
    pub cost_cents: Option<i64>,
    pub currency: Option<String>,
    pub starts_on: Option<String>,
    pub ends_on: Option<String>,
}

pub async fn source_by_name(conn: &mut AnyConnection, name: &str) -> Result<Option<Source>> {
    Ok(
        sqlx::query_as("SELECT id, name, channel, created_at FROM sources WHERE name = $1")
            .bind(name)
            .fetch_optional(&mut *conn)
            .await?,
    )
}

pub async fn source_by_id(conn: &mut AnyConnection, id: &str) -> Result<Option<Source>> {
    Ok(
        sqlx::query_as("SELECT id, name, channel, created_at FROM sources WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?,
    )
}

pub async fn list_sources(conn: &mut AnyConnection) -> Result<Vec<Source>> {
    Ok(
        sqlx::query_as("SELECT id, name, channel, created_at FROM sources ORDER BY name")
            .fetch_all(&mut *conn)
            .await?,
    )
}

/// Returns the source called `name`, creating it with `channel` if it does not exist.
pub async fn ensure_source(
    conn: &mut AnyConnection,
    name: &str,
    channel: &str,
    now: i64,
) -> Result<Source> {
    sqlx::query(
        "INSERT INTO sources (id, name, channel, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(new_id())
    .bind(name)
    .bind(channel)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(source_by_name(conn, name)
        .await?
        .expect("source exists after insert-or-ignore"))
}

const CAMPAIGN_COLUMNS: &str =
    "id, name, source_id, channel, cost_cents, currency, starts_on, ends_on, created_at";

pub async fn campaign_by_name(conn: &mut AnyConnection, name: &str) -> Result<Option<Campaign>> {
    let sql = format!("SELECT {CAMPAIGN_COLUMNS} FROM campaigns WHERE name = $1");
    Ok(sqlx::query_as(&sql)
        .bind(name)
        .fetch_optional(&mut *conn)
        .await?)
}

pub async fn campaign_by_id(conn: &mut AnyConnection, id: &str) -> Result<Option<Campaign>> {
    let sql = format!("SELECT {CAMPAIGN_COLUMNS} FROM campaigns WHERE id = $1");
    Ok(sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?)
}

pub async fn list_campaigns(conn: &mut AnyConnection) -> Result<Vec<Campaign>> {
    let sql = format!("SELECT {CAMPAIGN_COLUMNS} FROM campaigns ORDER BY name");
    Ok(sqlx::query_as(&sql).fetch_all(&mut *conn).await?)
}

/// Inserts a campaign; a taken name is a `Conflict`.
pub async fn insert_campaign(conn: &mut AnyConnection, c: &Campaign) -> Result<()> {
    let done = sqlx::query(
        "INSERT INTO campaigns (id, name, source_id, channel, cost_cents, currency, starts_on, ends_on, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (name) DO NOTHING",
    )
    .bind(c.id.as_str())
    .bind(c.name.as_str())
    .bind(c.source_id.as_str())
    .bind(c.channel.as_str())
    .bind(c.cost_cents)
    .bind(c.currency.as_deref())
    .bind(c.starts_on.as_deref())
    .bind(c.ends_on.as_deref())
    .bind(c.created_at)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(crate::StoreError::Conflict(format!(
            "a campaign named {} exists",
            c.name
        )));
    }
    Ok(())
}

/// Saves every column of a campaign but its id and creation time; a taken name is a
/// `Conflict`.
pub async fn update_campaign(conn: &mut AnyConnection, c: &Campaign) -> Result<()> {
    let done = sqlx::query(
        "UPDATE campaigns SET name = $1, source_id = $2, channel = $3, cost_cents = $4, currency = $5, \
         starts_on = $6, ends_on = $7 WHERE id = $8",
    )
    .bind(c.name.as_str())
    .bind(c.source_id.as_str())
    .bind(c.channel.as_str())
    .bind(c.cost_cents)
    .bind(c.currency.as_deref())
    .bind(c.starts_on.as_deref())
    .bind(c.ends_on.as_deref())
    .bind(c.id.as_str())
    .execute(&mut *conn)
    .await
    .map_err(crate::error::unique_as_conflict(|| {
        format!("a campaign named {} exists", c.name)
    }))?;
    if done.rows_affected() == 0 {
        return Err(crate::StoreError::NotFound("campaign"));
    }
    Ok(())
}

/// Returns the campaign called `name`, creating it under `source` with `channel` (a
/// source such as "Events" can run trade-show and home-show campaigns) if it does not exist.
pub async fn ensure_campaign(
    conn: &mut AnyConnection,
    name: &str,
    source: &Source,
    channel: &str,
    details: &CampaignDetails,
    now: i64,
) -> Result<Campaign> {
    sqlx::query(
        "INSERT INTO campaigns (id, name, source_id, channel, cost_cents, currency, starts_on, ends_on, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (name) DO NOTHING",
    )
    .bind(new_id())
    .bind(name)
    .bind(source.id.as_str())
    .bind(channel)
    .bind(details.cost_cents)
    .bind(details.currency.as_deref())
    .bind(details.starts_on.as_deref())
    .bind(details.ends_on.as_deref())
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(campaign_by_name(conn, name)
        .await?
        .expect("campaign exists after insert-or-ignore"))
}

/// The campaign named `name` under `source` (trimmed; absent or blank means none),
/// created with `channel` on first use.
pub async fn ensure_named_campaign(
    conn: &mut AnyConnection,
    name: Option<&str>,
    source: &Source,
    channel: &str,
    now: i64,
) -> Result<Option<Campaign>> {
    match name.map(str::trim).filter(|n| !n.is_empty()) {
        Some(name) => Ok(Some(
            ensure_campaign(
                conn,
                name,
                source,
                channel,
                &CampaignDetails::default(),
                now,
            )
            .await?,
        )),
        None => Ok(None),
    }
}

/// Account ids for many domains at once (the import path), creating missing ones.
pub async fn ensure_accounts(
    conn: &mut AnyConnection,
    domains: &[(String, Option<String>)],
    now: i64,
) -> Result<std::collections::HashMap<String, String>> {
    use crate::db::{placeholders, row_placeholders, rows_per_statement};
    let mut out = std::collections::HashMap::new();
    for chunk in domains.chunks(rows_per_statement(4)) {
        let sql = format!(
            "INSERT INTO accounts (id, domain, name, created_at) VALUES {} ON CONFLICT (domain) DO NOTHING",
            row_placeholders(conn, chunk.len(), 4)
        );
        let mut q = sqlx::query(&sql);
        for (domain, name) in chunk {
            q = q
                .bind(new_id())
                .bind(domain.as_str())
                .bind(name.as_deref())
                .bind(now);
        }
        q.execute(&mut *conn).await?;
        let sql = format!(
            "SELECT domain, id FROM accounts WHERE domain IN ({})",
            placeholders(conn, 1, chunk.len())
        );
        let mut q = sqlx::query_as::<_, (String, String)>(&sql);
        for (domain, _) in chunk {
            q = q.bind(domain.as_str());
        }
        out.extend(q.fetch_all(&mut *conn).await?);
    }
    Ok(out)
}

/// A company account (leads are linked to it by web domain).
#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow, schemars::JsonSchema)]
pub struct Account {
    pub id: String,
    pub domain: String,
    pub name: Option<String>,
    pub owner_id: Option<String>,
    pub created_at: i64,
}

pub async fn account(conn: &mut AnyConnection, id: &str) -> Result<Option<Account>> {
    Ok(
        sqlx::query_as("SELECT id, domain, name, owner_id, created_at FROM accounts WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?,
    )
}

pub async fn set_account_owner(
    conn: &mut AnyConnection,
    id: &str,
    owner_id: Option<&str>,
) -> Result<bool> {
    let done = sqlx::query("UPDATE accounts SET owner_id = $1 WHERE id = $2")
        .bind(owner_id)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}
