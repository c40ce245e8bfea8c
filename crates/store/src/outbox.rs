//! The outbox: events written in the transaction of the change that caused them, the
//! webhook subscriptions, and the deliveries a worker claims, attempts and settles.

use crate::db::{row_placeholders, rows_per_statement, skip_locked, Params};
use crate::error::json_column;
use crate::{new_id, Result};
use serde::Serialize;
use sqlx::{AnyConnection, FromRow, Row};

#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct OutboxEvent {
    pub id: String,
    pub topic: String,
    pub lead_id: Option<String>,
    /// Users who see it besides the roles that see every lead.
    pub audience: Vec<String>,
    pub payload: serde_json::Value,
    pub occurred_at: i64,
}

impl OutboxEvent {
    pub fn new(
        topic: &str,
        lead_id: Option<&str>,
        audience: Vec<String>,
        payload: serde_json::Value,
        occurred_at: i64,
    ) -> OutboxEvent {
        OutboxEvent {
            id: new_id(),
            topic: topic.to_string(),
            lead_id: lead_id.map(str::to_string),
            audience,
            payload,
            occurred_at,
        }
    }
}

const EVENT_COLUMNS: &str = "id, topic, lead_id, audience, payload, occurred_at";

fn event_from_row(row: &sqlx::any::AnyRow) -> Result<OutboxEvent> {
    Ok(OutboxEvent {
        id: row.try_get("id")?,
        topic: row.try_get("topic")?,
        lead_id: row.try_get("lead_id")?,
        audience: json_column("audience", &row.try_get::<String, _>("audience")?)?,
        payload: json_column("payload", &row.try_get::<String, _>("payload")?)?,
        occurred_at: row.try_get("occurred_at")?,
    })
}

/// Writes events; call it inside the transaction of the change they announce.
pub async fn emit(conn: &mut AnyConnection, events: &[OutboxEvent]) -> Result<()> {
    for chunk in events.chunks(rows_per_statement(6)) {
        let sql = format!(
            "INSERT INTO outbox_events ({EVENT_COLUMNS}) VALUES {}",
            row_placeholders(conn, chunk.len(), 6)
        );
        let mut q = sqlx::query(&sql);
        for e in chunk {
            q = q
                .bind(e.id.as_str())
                .bind(e.topic.as_str())
                .bind(e.lead_id.as_deref())
                .bind(serde_json::to_string(&e.audience).unwrap_or_else(|_| "[]".into()))
                .bind(e.payload.to_string())
                .bind(e.occurred_at);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Events with an id above `after_id`, oldest first (SSE tails and replays).
pub async fn events_after(
    conn: &mut AnyConnection,
    after_id: &str,
    limit: i64,
) -> Result<Vec<OutboxEvent>> {
    let rows = sqlx::query(&format!(
        "SELECT {EVENT_COLUMNS} FROM outbox_events WHERE id > $1 ORDER BY id LIMIT $2"
    ))
    .bind(after_id)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(event_from_row).collect()
}

/// Ids in `(after_id, up_to_id]`: a cheap re-check for events that committed late.
pub async fn event_ids_between(
    conn: &mut AnyConnection,
    after_id: &str,
    up_to_id: &str,
) -> Result<Vec<String>> {
    Ok(
        sqlx::query_scalar("SELECT id FROM outbox_events WHERE id > $1 AND id <= $2 ORDER BY id")
            .bind(after_id)
            .bind(up_to_id)
            .fetch_all(&mut *conn)
            .await?,
    )
}

pub async fn events_by_ids(conn: &mut AnyConnection, ids: &[String]) -> Result<Vec<OutboxEvent>> {
    let mut p = Params::default();
    let list = p.text_list(ids);
    let sql = format!("SELECT {EVENT_COLUMNS} FROM outbox_events WHERE id IN ({list}) ORDER BY id");
    let rows = p.bind(sqlx::query(&sql)).fetch_all(&mut *conn).await?;
    rows.iter().map(event_from_row).collect()
}

/// Locks up to `limit` events not yet fanned out, oldest first. Call inside a write
/// transaction and mark them dispatched before committing.
pub async fn claim_undispatched(conn: &mut AnyConnection, limit: i64) -> Result<Vec<OutboxEvent>> {
    let sql = format!(
        "SELECT {EVENT_COLUMNS} FROM outbox_events WHERE dispatched_at IS NULL ORDER BY id LIMIT $1{}",
        skip_locked(conn)
    );
    let rows = sqlx::query(&sql).bind(limit).fetch_all(&mut *conn).await?;
    rows.iter().map(event_from_row).collect()
}

pub async fn mark_dispatched(conn: &mut AnyConnection, ids: &[String], now: i64) -> Result<()> {
    for chunk in ids.chunks(1000) {
        let mut p = Params::default();
        let at = p.int(now);
        let list = p.text_list(chunk);
        let sql = format!("UPDATE outbox_events SET dispatched_at = {at} WHERE id IN ({list})");
        p.bind(sqlx::query(&sql)).execute(&mut *conn).await?;
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Webhook {
    pub id: String,
    pub url: String,
    #[serde(skip)]
    pub secret: String,
    pub topics: Vec<String>,
    pub description: String,
    pub active: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

fn webhook_from_row(row: &sqlx::any::AnyRow) -> Result<Webhook> {
    Ok(Webhook {
        id: row.try_get("id")?,
        url: row.try_get("url")?,
        secret: row.try_get("secret")?,
        topics: json_column("topics", &row.try_get::<String, _>("topics")?)?,
        description: row.try_get("description")?,
        active: row.try_get::<i64, _>("active")? != 0,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

const WEBHOOK_COLUMNS: &str =
    "id, url, secret, topics, description, active, created_at, updated_at";

/// Inserts or replaces a webhook.
pub async fn save_webhook(conn: &mut AnyConnection, w: &Webhook, is_new: bool) -> Result<()> {
    let topics = serde_json::to_string(&w.topics).unwrap_or_else(|_| "[]".into());
    let sql = if is_new {
        format!("INSERT INTO webhooks ({WEBHOOK_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
    } else {
        "UPDATE webhooks SET url = $2, secret = $3, topics = $4, description = $5, active = $6, \
         created_at = $7, updated_at = $8 WHERE id = $1"
            .to_string()
    };
    sqlx::query(&sql)
        .bind(w.id.as_str())
        .bind(w.url.as_str())
        .bind(w.secret.as_str())
        .bind(topics)
        .bind(w.description.as_str())
        .bind(i64::from(w.active))
        .bind(w.created_at)
        .bind(w.updated_at)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn webhook(conn: &mut AnyConnection, id: &str) -> Result<Option<Webhook>> {
    let row = sqlx::query(&format!(
        "SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(webhook_from_row).transpose()
}

pub async fn webhooks(conn: &mut AnyConnection) -> Result<Vec<Webhook>> {
    let rows = sqlx::query(&format!(
        "SELECT {WEBHOOK_COLUMNS} FROM webhooks ORDER BY id"
    ))
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(webhook_from_row).collect()
}

pub async fn delete_webhook(conn: &mut AnyConnection, id: &str) -> Result<bool> {
    let done = sqlx::query("DELETE FROM webhooks WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

pub const PENDING: &str = "pending";
pub const DELIVERED: &str = "delivered";
pub const DEAD: &str = "dead";

#[derive(Debug, Clone, PartialEq, Serialize, FromRow, schemars::JsonSchema)]
pub struct Delivery {
    pub id: String,
    pub event_id: String,
    /// `webhook` or `email`.
    pub channel: String,
    /// The webhook id or the recipient's user id.
    pub target: String,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    /// The server that holds the lease, or made the last attempt.
    pub locked_by: Option<String>,
    #[serde(skip)]
    pub locked_until: Option<i64>,
    pub last_error: Option<String>,
    pub last_status_code: Option<i64>,
    pub delivered_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Delivery {
    pub fn new(event_id: &str, channel: &str, target: &str, now: i64) -> Delivery {
        Delivery {
            id: new_id(),
            event_id: event_id.to_string(),
            channel: channel.to_string(),
            target: target.to_string(),
            status: PENDING.to_string(),
            attempts: 0,
            next_attempt_at: now,
            locked_by: None,
            locked_until: None,
            last_error: None,
            last_status_code: None,
            delivered_at: None,
            created_at: now,
            updated_at: now,
        }
    }
}

const DELIVERY_COLUMNS: &str =
    "id, event_id, channel, target, status, attempts, next_attempt_at, locked_by, \
     locked_until, last_error, last_status_code, delivered_at, created_at, updated_at";

/// Inserts new deliveries; one that exists already (same event, channel and target)
/// is left alone, so fanning an event out twice cannot send it twice.
pub async fn insert_deliveries(conn: &mut AnyConnection, deliveries: &[Delivery]) -> Result<()> {
    for chunk in deliveries.chunks(rows_per_statement(8)) {
        let sql = format!(
            "INSERT INTO deliveries (id, event_id, channel, target, status, next_attempt_at, created_at, updated_at) \
             VALUES {} ON CONFLICT (event_id, channel, target) DO NOTHING",
            row_placeholders(conn, chunk.len(), 8)
        );
        let mut q = sqlx::query(&sql);
        for d in chunk {
            q = q
                .bind(d.id.as_str())
                .bind(d.event_id.as_str())
                .bind(d.channel.as_str())
                .bind(d.target.as_str())
                .bind(d.status.as_str())
                .bind(d.next_attempt_at)
                .bind(d.created_at)
                .bind(d.updated_at);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Leases up to `limit` due deliveries to `worker` until `lease_until`. A lease that
/// ran out (its worker died mid-attempt) makes the delivery due again. Call inside a
/// write transaction and commit before attempting them.
pub async fn claim_due(
    conn: &mut AnyConnection,
    worker: &str,
    now: i64,
    lease_until: i64,
    limit: i64,
) -> Result<Vec<(Delivery, OutboxEvent)>> {
    let sql = format!(
        "SELECT id FROM deliveries WHERE status = 'pending' AND next_attempt_at <= $1 \
         AND (locked_until IS NULL OR locked_until <= $1) ORDER BY next_attempt_at, id LIMIT $2{}",
        skip_locked(conn)
    );
    let ids: Vec<String> = sqlx::query_scalar(&sql)
        .bind(now)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut p = Params::default();
    let by = p.text(worker);
    let until = p.int(lease_until);
    let list = p.text_list(&ids);
    let sql = format!(
        "UPDATE deliveries SET locked_by = {by}, locked_until = {until} WHERE id IN ({list})"
    );
    p.bind(sqlx::query(&sql)).execute(&mut *conn).await?;

    let mut p = Params::default();
    let list = p.text_list(&ids);
    let sql = format!(
        "SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE id IN ({list}) ORDER BY next_attempt_at, id"
    );
    let deliveries: Vec<Delivery> = p
        .bind_as(sqlx::query_as(&sql))
        .fetch_all(&mut *conn)
        .await?;
    let event_ids: Vec<String> = deliveries.iter().map(|d| d.event_id.clone()).collect();
    let events: std::collections::HashMap<String, OutboxEvent> = events_by_ids(conn, &event_ids)
        .await?
        .into_iter()
        .map(|e| (e.id.clone(), e))
        .collect();
    Ok(deliveries
        .into_iter()
        .filter_map(|d| events.get(&d.event_id).cloned().map(|e| (d, e)))
        .collect())
}

/// The result of one attempt, saved only if `worker` still holds the lease. The
/// lease ends; `locked_by` stays as a record of which server made the last attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptRecord {
    pub status: &'static str,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
    pub last_status_code: Option<i64>,
    pub delivered_at: Option<i64>,
}

pub async fn record_attempt(
    conn: &mut AnyConnection,
    id: &str,
    worker: &str,
    a: &AttemptRecord,
    now: i64,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE deliveries SET status = $1, attempts = $2, next_attempt_at = $3, last_error = $4, \
         last_status_code = $5, delivered_at = $6, updated_at = $7, locked_until = NULL \
         WHERE id = $8 AND locked_by = $9",
    )
    .bind(a.status)
    .bind(a.attempts)
    .bind(a.next_attempt_at)
    .bind(a.last_error.as_deref())
    .bind(a.last_status_code)
    .bind(a.delivered_at)
    .bind(now)
    .bind(id)
    .bind(worker)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Which deliveries to list or replay.
#[derive(Debug, Clone, Default)]
pub struct DeliveryFilter {
    pub status: Option<String>,
    pub channel: Option<String>,
    pub target: Option<String>,
    pub event_id: Option<String>,
    pub ids: Option<Vec<String>>,
}

impl DeliveryFilter {
    fn where_clause(&self, p: &mut Params) -> String {
        let mut parts = vec!["1 = 1".to_string()];
        if let Some(s) = &self.status {
            parts.push(format!("status = {}", p.text(s.as_str())));
        }
        if let Some(c) = &self.channel {
            parts.push(format!("channel = {}", p.text(c.as_str())));
        }
        if let Some(t) = &self.target {
            parts.push(format!("target = {}", p.text(t.as_str())));
        }
        if let Some(e) = &self.event_id {
            parts.push(format!("event_id = {}", p.text(e.as_str())));
        }
        if let Some(ids) = &self.ids {
            parts.push(format!("id IN ({})", p.text_list(ids)));
        }
        parts.join(" AND ")
    }
}

/// Deliveries matching `filter`, newest first, below the `before` id when given.
pub async fn list_deliveries(
    conn: &mut AnyConnection,
    filter: &DeliveryFilter,
    before: Option<&str>,
    limit: i64,
) -> Result<Vec<Delivery>> {
    let mut p = Params::default();
    let mut clause = filter.where_clause(&mut p);
    if let Some(before) = before {
        clause.push_str(&format!(" AND id < {}", p.text(before)));
    }
    let lim = p.int(limit);
    let sql = format!(
        "SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE {clause} ORDER BY id DESC LIMIT {lim}"
    );
    Ok(p.bind_as(sqlx::query_as(&sql))
        .fetch_all(&mut *conn)
        .await?)
}

pub async fn delivery(conn: &mut AnyConnection, id: &str) -> Result<Option<Delivery>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?)
}

/// Puts dead letters matching `filter` back in the queue, due now and with a fresh
/// attempt count. Returns how many.
pub async fn replay_dead(
    conn: &mut AnyConnection,
    filter: &DeliveryFilter,
    now: i64,
) -> Result<u64> {
    let mut p = Params::default();
    let at = p.int(now);
    let clause = filter.where_clause(&mut p);
    let sql = format!(
        "UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = {at}, updated_at = {at}, \
         locked_by = NULL, locked_until = NULL WHERE status = 'dead' AND {clause}"
    );
    Ok(p.bind(sqlx::query(&sql))
        .execute(&mut *conn)
        .await?
        .rows_affected())
}

/// Counts of deliveries per status (for health and tests).
pub async fn delivery_counts(conn: &mut AnyConnection) -> Result<Vec<(String, i64)>> {
    Ok(
        sqlx::query_as("SELECT status, COUNT(*) FROM deliveries GROUP BY status ORDER BY status")
            .fetch_all(&mut *conn)
            .await?,
    )
}
