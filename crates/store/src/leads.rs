//! Leads and their blocking keys.

use crate::db::{comma_joined, placeholders, row_placeholders, rows_per_statement, Params};
use crate::error::json_column;
use crate::{Result, StoreError};
use leadline_domain::access::LeadScope;
use leadline_domain::matching::MatchRecord;
use leadline_domain::normalize::NormalizedLead;
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use std::collections::{HashMap, HashSet};

/// A stored lead: its normalised fields plus lifecycle and provenance columns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LeadRecord {
    pub id: String,
    #[serde(flatten)]
    pub fields: NormalizedLead,
    pub stage: String,
    pub account_id: Option<String>,
    pub source_id: Option<String>,
    pub campaign_id: Option<String>,
    pub possible_duplicate_of: Option<String>,
    pub merged_into: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: [&str; 28] = [
    "id",
    "first_name",
    "last_name",
    "title",
    "email",
    "email_key",
    "phone",
    "phone_valid",
    "company",
    "company_key",
    "website",
    "domain",
    "street",
    "postal_code",
    "city",
    "region",
    "country",
    "date_of_birth",
    "custom",
    "flags",
    "stage",
    "account_id",
    "source_id",
    "campaign_id",
    "possible_duplicate_of",
    "merged_into",
    "created_at",
    "updated_at",
];

fn select_list() -> String {
    COLUMNS.join(", ")
}

type Query<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

fn bind_lead<'q>(q: Query<'q>, lead: &'q LeadRecord) -> Query<'q> {
    let f = &lead.fields;
    q.bind(lead.id.as_str())
        .bind(f.first_name.as_deref())
        .bind(f.last_name.as_deref())
        .bind(f.title.as_deref())
        .bind(f.email.as_deref())
        .bind(f.email_key.as_deref())
        .bind(f.phone.as_deref())
        .bind(i64::from(f.phone_valid))
        .bind(f.company.as_deref())
        .bind(f.company_key.as_deref())
        .bind(f.website.as_deref())
        .bind(f.domain.as_deref())
        .bind(f.street.as_deref())
        .bind(f.postal_code.as_deref())
        .bind(f.city.as_deref())
        .bind(f.region.as_deref())
        .bind(f.country.as_deref())
        .bind(f.date_of_birth.as_deref())
        .bind(serde_json::to_string(&f.custom).unwrap_or_else(|_| "{}".into()))
        .bind(serde_json::to_string(&f.flags).unwrap_or_else(|_| "[]".into()))
        .bind(lead.stage.as_str())
        .bind(lead.account_id.as_deref())
        .bind(lead.source_id.as_deref())
        .bind(lead.campaign_id.as_deref())
        .bind(lead.possible_duplicate_of.as_deref())
        .bind(lead.merged_into.as_deref())
        .bind(lead.created_at)
        .bind(lead.updated_at)
}

fn from_row(row: &AnyRow) -> Result<LeadRecord> {
    let custom: String = row.try_get("custom")?;
    let flags: String = row.try_get("flags")?;
    Ok(LeadRecord {
        id: row.try_get("id")?,
        fields: NormalizedLead {
            first_name: row.try_get("first_name")?,
            last_name: row.try_get("last_name")?,
            title: row.try_get("title")?,
            email: row.try_get("email")?,
            email_key: row.try_get("email_key")?,
            phone: row.try_get("phone")?,
            phone_valid: row.try_get::<i64, _>("phone_valid")? != 0,
            company: row.try_get("company")?,
            company_key: row.try_get("company_key")?,
            website: row.try_get("website")?,
            domain: row.try_get("domain")?,
            street: row.try_get("street")?,
            postal_code: row.try_get("postal_code")?,
            city: row.try_get("city")?,
            region: row.try_get("region")?,
            country: row.try_get("country")?,
            date_of_birth: row.try_get("date_of_birth")?,
            custom: json_column("leads.custom", &custom)?,
            flags: json_column("leads.flags", &flags)?,
        },
        stage: row.try_get("stage")?,
        account_id: row.try_get("account_id")?,
        source_id: row.try_get("source_id")?,
        campaign_id: row.try_get("campaign_id")?,
        possible_duplicate_of: row.try_get("possible_duplicate_of")?,
        merged_into: row.try_get("merged_into")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// Inserts many leads with multi-row statements (the import hot path).
pub async fn insert_many(conn: &mut AnyConnection, leads: &[LeadRecord]) -> Result<()> {
    let cols = COLUMNS.len();
    for chunk in leads.chunks(rows_per_statement(cols)) {
        let sql = format!(
            "INSERT INTO leads ({}) VALUES {}",
            select_list(),
            row_placeholders(conn, chunk.len(), cols)
        );
        let mut q = sqlx::query(&sql);
        for lead in chunk {
            q = bind_lead(q, lead);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Rewrites every column of an existing lead (merges, patches, undo).
pub async fn update(conn: &mut AnyConnection, lead: &LeadRecord) -> Result<()> {
    let assignments: Vec<String> = COLUMNS[1..]
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{c} = ${}", i + 2))
        .collect();
    // Every write bumps the revision, so cached comparable views notice it.
    let sql = format!(
        "UPDATE leads SET {}, match_revision = match_revision + 1 WHERE id = $1",
        assignments.join(", ")
    );
    let done = bind_lead(sqlx::query(&sql), lead)
        .execute(&mut *conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound("lead"));
    }
    Ok(())
}

/// Rewrites many existing leads in multi-row statements (the import merge path):
/// `INSERT … ON CONFLICT (id) DO UPDATE`, which both backends support.
pub async fn update_many(conn: &mut AnyConnection, leads: &[LeadRecord]) -> Result<()> {
    let cols = COLUMNS.len();
    let assignments: Vec<String> = COLUMNS[1..]
        .iter()
        .map(|c| format!("{c} = excluded.{c}"))
        .collect();
    for chunk in leads.chunks(rows_per_statement(cols)) {
        let sql = format!(
            "INSERT INTO leads ({}) VALUES {} ON CONFLICT (id) DO UPDATE SET {}, \
             match_revision = leads.match_revision + 1",
            select_list(),
            row_placeholders(conn, chunk.len(), cols),
            assignments.join(", ")
        );
        let mut q = sqlx::query(&sql);
        for lead in chunk {
            q = bind_lead(q, lead);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

pub async fn get(conn: &mut AnyConnection, id: &str) -> Result<Option<LeadRecord>> {
    let sql = format!("SELECT {} FROM leads WHERE id = $1", select_list());
    let row = sqlx::query(&sql)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Loads leads by id (missing ids are simply absent from the result).
pub async fn get_many(conn: &mut AnyConnection, ids: &[String]) -> Result<Vec<LeadRecord>> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(rows_per_statement(1)) {
        let sql = format!(
            "SELECT {} FROM leads WHERE id IN ({})",
            select_list(),
            placeholders(conn, 1, chunk.len())
        );
        let mut q = sqlx::query(&sql);
        for id in chunk {
            q = q.bind(id.as_str());
        }
        for row in q.fetch_all(&mut *conn).await? {
            out.push(from_row(&row)?);
        }
    }
    Ok(out)
}

/// Filters for listing leads. Every filter is optional and they combine with AND.
#[derive(Debug, Clone, Default)]
pub struct LeadFilter {
    /// Matched on the folded e-mail key, so case and Gmail dots do not matter.
    pub email_key: Option<String>,
    pub phone: Option<String>,
    pub company_key: Option<String>,
    pub source_id: Option<String>,
    pub stage: Option<String>,
    pub created_from: Option<i64>,
    pub created_to: Option<i64>,
    pub include_merged: bool,
    /// Only the leads of this scope (what the caller may see); `None` lists every lead.
    pub scope: Option<LeadScope>,
}

/// Position after which the next page starts: leads are listed newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeadCursor {
    pub created_at: i64,
    pub id: String,
}

pub async fn list(
    conn: &mut AnyConnection,
    filter: &LeadFilter,
    after: Option<&LeadCursor>,
    limit: usize,
) -> Result<Vec<LeadRecord>> {
    let mut params = Params::default();
    let mut clauses: Vec<String> = Vec::new();
    // A lead is found by its e-mail and phone, and by those of leads merged into it
    // (one merge deep, which is what a list filter needs).
    for (column, value) in [("email_key", &filter.email_key), ("phone", &filter.phone)] {
        if let Some(v) = value {
            let (own, merged) = (params.text(v.as_str()), params.text(v.as_str()));
            clauses.push(format!(
                "({column} = {own} OR id IN (SELECT merged_into FROM leads WHERE {column} = {merged} \
                 AND merged_into IS NOT NULL))"
            ));
        }
    }
    let text_filters = [
        ("company_key", &filter.company_key),
        ("source_id", &filter.source_id),
        ("stage", &filter.stage),
    ];
    for (column, value) in text_filters {
        if let Some(v) = value {
            clauses.push(format!("{column} = {}", params.text(v.as_str())));
        }
    }
    if let Some(v) = filter.created_from {
        clauses.push(format!("created_at >= {}", params.int(v)));
    }
    if let Some(v) = filter.created_to {
        clauses.push(format!("created_at < {}", params.int(v)));
    }
    if !filter.include_merged {
        clauses.push("merged_into IS NULL".into());
    }
    if let Some(LeadScope::Owned { owners, unowned }) = &filter.scope {
        let owners: Vec<String> = owners.iter().map(|o| params.text(o.as_str())).collect();
        let mut visible = vec![format!(
            "id IN (SELECT lead_id FROM lead_work WHERE owner_id IN ({}))",
            owners.join(", ")
        )];
        if *unowned {
            visible.push(
                "id NOT IN (SELECT lead_id FROM lead_work WHERE owner_id IS NOT NULL)".into(),
            );
        }
        clauses.push(format!("({})", visible.join(" OR ")));
    }
    if let Some(c) = after {
        let (ts, ts_again, id) = (
            params.int(c.created_at),
            params.int(c.created_at),
            params.text(c.id.as_str()),
        );
        clauses.push(format!(
            "(created_at < {ts} OR (created_at = {ts_again} AND id < {id}))"
        ));
    }
    let where_sql = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    let sql = format!(
        "SELECT {} FROM leads {where_sql} ORDER BY created_at DESC, id DESC LIMIT {limit}",
        select_list()
    );
    params
        .bind(sqlx::query(&sql))
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(from_row)
        .collect()
}

pub async fn count(conn: &mut AnyConnection) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM leads WHERE merged_into IS NULL")
            .fetch_one(&mut *conn)
            .await?,
    )
}

/// The stored form of a blocking key: a 64-bit SipHash-1-3 of its text with fixed
/// keys. Key rows are about a third of an import's writes and the key index the one
/// every batch reads and grows at random places; eight bytes instead of the text (18 on
/// average, e-mail keys twice that) make it about 15% smaller and its lookups faster.
/// SipHash is a specified function, so the stored values never change with a crate
/// upgrade. Two keys with one hash (at ten million distinct keys, about one chance in
/// 370,000 that any pair does) only put a few more candidates in a block, each compared
/// and judged on its values.
pub fn match_key_hash(key: &str) -> i64 {
    use std::hash::Hasher;
    let mut h =
        siphasher::sip::SipHasher13::new_with_keys(0x6c65_6164_6c69_6e65, 0x6d61_7463_686b_6579);
    h.write(key.as_bytes());
    h.finish() as i64
}

/// Stores blocking keys of leads and aliases: `(key, lead or alias id)` pairs, skipping
/// rows already there.
pub async fn insert_match_keys(conn: &mut AnyConnection, keys: &[(String, String)]) -> Result<()> {
    // In key order the rows land next to each other in the key index's B-tree.
    let mut rows: Vec<(i64, &str)> = keys
        .iter()
        .map(|(key, id)| (match_key_hash(key), id.as_str()))
        .collect();
    rows.sort_unstable();
    for chunk in rows.chunks(rows_per_statement(2)) {
        let sql = format!(
            "INSERT INTO match_keys (match_key, record_id) VALUES {} ON CONFLICT DO NOTHING",
            row_placeholders(conn, chunk.len(), 2)
        );
        let mut q = sqlx::query(&sql);
        for (key, id) in chunk {
            q = q.bind(*key).bind(*id);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

pub async fn delete_match_keys(conn: &mut AnyConnection, lead_id: &str) -> Result<()> {
    sqlx::query("DELETE FROM match_keys WHERE record_id = $1")
        .bind(lead_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Lead and alias ids sharing any of `keys`, grouped by key. Keys for which `keep_block(key,
/// size)` is false are left out: their size is counted inside the database first, so
/// an oversized weak block never has its rows transferred.
pub async fn find_by_match_keys(
    conn: &mut AnyConnection,
    keys: &[String],
    mut keep_block: impl FnMut(&str, usize) -> bool,
) -> Result<HashMap<String, Vec<String>>> {
    let kept: Vec<String> = per_match_key::<i64>(conn, keys, "COUNT(*)")
        .await?
        .into_iter()
        .filter(|(key, size)| keep_block(key, usize::try_from(*size).unwrap_or(usize::MAX)))
        .map(|(key, _)| key.clone())
        .collect();
    match_key_blocks(conn, &kept).await
}

/// Every lead and alias filed under each of `keys` (keys with none are left out): the
/// blocks whole, for a caller that drops those it finds too large itself.
pub async fn match_key_blocks(
    conn: &mut AnyConnection,
    keys: &[String],
) -> Result<HashMap<String, Vec<String>>> {
    // Ids, leads' and aliases' alike, contain no commas.
    let ids_joined = comma_joined(conn, "record_id");
    let blocks = per_match_key::<String>(conn, keys, &ids_joined).await?;
    Ok(blocks
        .into_iter()
        .map(|(key, ids)| {
            let mut ids: Vec<String> = ids.split(',').map(str::to_string).collect();
            // In a fixed order (leads by id, then aliases, as "alias-" sorts after
            // every lead id), whatever order the database joined them in.
            ids.sort_unstable();
            (key.clone(), ids)
        })
        .collect())
}

/// `aggregate` (an SQL aggregate over a key's `match_keys` rows) for each of `keys`
/// that has rows, with the key text it was asked for: the store's one reader of keys by
/// their stored form ([`match_key_hash`]).
async fn per_match_key<'k, T>(
    conn: &mut AnyConnection,
    keys: &'k [String],
    aggregate: &str,
) -> Result<Vec<(&'k String, T)>>
where
    T: Send + Unpin,
    for<'r> (i64, T): sqlx::FromRow<'r, AnyRow>,
{
    let mut out = Vec::new();
    for chunk in keys.chunks(rows_per_statement(1)) {
        // One placeholder per distinct hash: a key given twice is asked for once.
        let key_of: HashMap<i64, &String> = chunk.iter().map(|k| (match_key_hash(k), k)).collect();
        let sql = format!(
            "SELECT match_key, {aggregate} FROM match_keys WHERE match_key IN ({}) \
             GROUP BY match_key",
            placeholders(conn, 1, key_of.len())
        );
        let mut q = sqlx::query_as::<_, (i64, T)>(&sql);
        for hash in key_of.keys() {
            q = q.bind(*hash);
        }
        for (hash, value) in q.fetch_all(&mut *conn).await? {
            if let Some(key) = key_of.get(&hash) {
                out.push((*key, value));
            }
        }
    }
    Ok(out)
}

/// One lead's (or alias's) comparable values as [`match_records`] reads them.
#[derive(Debug, Clone, PartialEq)]
pub struct MatchRow {
    pub id: String,
    pub record: MatchRecord,
    /// The lead it was merged into; for an alias, its lead.
    pub merged_into: Option<String>,
    /// The lead's `match_revision` (0 for an alias, which never changes).
    pub revision: i64,
}

/// The comparable view of leads, with the lead each was merged into (if any): just the
/// columns matching reads, so loading thousands of candidates per import batch stays
/// cheap. A merged-away lead still stands for what its person was (an old e-mail), so
/// a new capture matching it can be sent to the lead it lives on in.
pub async fn match_records(conn: &mut AnyConnection, ids: &[String]) -> Result<Vec<MatchRow>> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(rows_per_statement(1)) {
        let sql = format!(
            "SELECT {MATCH_COLUMNS}, match_revision FROM leads WHERE id IN ({})",
            placeholders(conn, 1, chunk.len())
        );
        let mut q = sqlx::query(&sql);
        for id in chunk {
            q = q.bind(id.as_str());
        }
        for row in q.fetch_all(&mut *conn).await? {
            out.push(MatchRow {
                id: row.try_get("id")?,
                record: match_record_of(&row)?,
                merged_into: row.try_get("merged_into")?,
                revision: row.try_get("match_revision")?,
            });
        }
    }
    // Alias ids come back like merged-away leads, pointing at their lead.
    let aliases: Vec<&String> = ids
        .iter()
        .filter(|id| id.starts_with(ALIAS_PREFIX))
        .collect();
    for chunk in aliases.chunks(rows_per_statement(1)) {
        let sql = format!(
            "SELECT id, lead_id, email_key, phone, CAST(1 AS BIGINT) AS phone_valid, first_name, last_name, \
             company_key, domain, street, postal_code, city, country, date_of_birth \
             FROM lead_aliases WHERE id IN ({})",
            placeholders(conn, 1, chunk.len())
        );
        let mut q = sqlx::query(&sql);
        for id in chunk {
            q = q.bind(id.as_str());
        }
        for row in q.fetch_all(&mut *conn).await? {
            out.push(MatchRow {
                id: row.try_get("id")?,
                record: match_record_of(&row)?,
                merged_into: Some(row.try_get("lead_id")?),
                revision: 0,
            });
        }
    }
    Ok(out)
}

/// Of these `(lead id, match_revision)` pairs, the ids whose lead is now at another
/// revision or gone: what a cached comparable view is checked against. Only those rows
/// come back, so checking tens of thousands of unchanged views transfers almost nothing.
/// Aliases are not looked up (they never change).
pub async fn changed_since(
    conn: &mut AnyConnection,
    seen: &[(String, i64)],
) -> Result<HashSet<String>> {
    // SQLite walks the VALUES in the order given: in id order its lookups follow the
    // index's pages instead of jumping around it, about 3x faster at a million leads.
    let mut seen: Vec<&(String, i64)> = seen.iter().collect();
    seen.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let mut out = HashSet::new();
    for chunk in seen.chunks(rows_per_statement(2)) {
        let sql = format!(
            "WITH seen (id, revision) AS (VALUES {}) \
             SELECT seen.id FROM seen LEFT JOIN leads ON leads.id = seen.id \
             WHERE leads.id IS NULL OR leads.match_revision <> seen.revision",
            row_placeholders(conn, chunk.len(), 2)
        );
        let mut q = sqlx::query_scalar::<_, String>(&sql);
        for (id, revision) in chunk {
            q = q.bind(id.as_str()).bind(*revision);
        }
        out.extend(q.fetch_all(&mut *conn).await?);
    }
    Ok(out)
}

/// Ids of [`LeadAlias`]es start with this, so they never collide with lead ids.
pub const ALIAS_PREFIX: &str = "alias-";

/// Values a lead carried besides its current ones (see the `lead_aliases` table).
#[derive(Debug, Clone, PartialEq)]
pub struct LeadAlias {
    /// [`ALIAS_PREFIX`] followed by a new id.
    pub id: String,
    pub lead_id: String,
    /// Only valid (E.164) phones are kept, so `phone` is always comparable.
    pub record: MatchRecord,
    pub created_at: i64,
}

pub async fn insert_aliases(conn: &mut AnyConnection, aliases: &[LeadAlias]) -> Result<()> {
    const COLS: usize = 14;
    for chunk in aliases.chunks(rows_per_statement(COLS)) {
        let sql = format!(
            "INSERT INTO lead_aliases (id, lead_id, email_key, phone, first_name, last_name, \
             company_key, domain, street, postal_code, city, country, date_of_birth, created_at) \
             VALUES {}",
            row_placeholders(conn, chunk.len(), COLS)
        );
        let mut q = sqlx::query(&sql);
        for a in chunk {
            let r = &a.record;
            q = q
                .bind(a.id.as_str())
                .bind(a.lead_id.as_str())
                .bind(r.email_key.as_deref())
                .bind(r.phone.as_deref())
                .bind(r.first_name.as_deref())
                .bind(r.last_name.as_deref())
                .bind(r.company_key.as_deref())
                .bind(r.domain.as_deref())
                .bind(r.street.as_deref())
                .bind(r.postal_code.as_deref())
                .bind(r.city.as_deref())
                .bind(r.country.as_deref())
                .bind(r.date_of_birth.as_deref())
                .bind(a.created_at);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// The aliases of one lead, oldest first.
pub async fn aliases_of(conn: &mut AnyConnection, lead_id: &str) -> Result<Vec<LeadAlias>> {
    let rows = sqlx::query(
        "SELECT id, lead_id, email_key, phone, CAST(1 AS BIGINT) AS phone_valid, first_name, last_name, \
         company_key, domain, street, postal_code, city, country, date_of_birth, created_at \
         FROM lead_aliases WHERE lead_id = $1 ORDER BY created_at, id",
    )
    .bind(lead_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(LeadAlias {
                id: row.try_get("id")?,
                lead_id: row.try_get("lead_id")?,
                record: match_record_of(row)?,
                created_at: row.try_get("created_at")?,
            })
        })
        .collect()
}

/// The columns of a lead that matching compares.
const MATCH_COLUMNS: &str =
    "id, email_key, phone, phone_valid, first_name, last_name, company_key, \
    domain, street, postal_code, city, country, date_of_birth, merged_into";

fn match_record_of(row: &sqlx::any::AnyRow) -> Result<MatchRecord> {
    let phone_valid: i64 = row.try_get("phone_valid")?;
    let phone: Option<String> = row.try_get("phone")?;
    Ok(MatchRecord {
        email_key: row.try_get("email_key")?,
        phone: phone.filter(|_| phone_valid != 0),
        first_name: row.try_get("first_name")?,
        last_name: row.try_get("last_name")?,
        company_key: row.try_get("company_key")?,
        domain: row.try_get("domain")?,
        street: row.try_get("street")?,
        postal_code: row.try_get("postal_code")?,
        city: row.try_get("city")?,
        country: row.try_get("country")?,
        date_of_birth: row.try_get("date_of_birth")?,
    })
}

/// Every lead's comparable values (merged-away leads included), in id order after
/// `after`, at most `limit`: for training the match model page by page.
pub async fn match_records_page(
    conn: &mut AnyConnection,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<(String, MatchRecord)>> {
    let sql = format!("SELECT {MATCH_COLUMNS} FROM leads WHERE id > $1 ORDER BY id LIMIT $2");
    let rows = sqlx::query(&sql)
        .bind(after.unwrap_or(""))
        .bind(limit as i64)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|row| Ok((row.try_get("id")?, match_record_of(row)?)))
        .collect()
}

/// All leads, merged-away ones included.
pub async fn count_all(conn: &mut AnyConnection) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM leads")
        .fetch_one(&mut *conn)
        .await?)
}

/// Ids of every lead, merged-away ones included, and of every alias, in id order after
/// `after` (leads' ids sort before "alias-…"): the pages a rebuild of blocking keys
/// walks.
pub async fn keyed_ids_page(
    conn: &mut AnyConnection,
    after: &str,
    limit: usize,
) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM (SELECT id FROM leads UNION ALL SELECT id FROM lead_aliases) k \
         WHERE id > $1 ORDER BY id LIMIT $2",
    )
    .bind(after)
    .bind(limit as i64)
    .fetch_all(&mut *conn)
    .await?)
}

/// Removes the blocking keys of these leads and aliases.
pub async fn delete_keys_of(conn: &mut AnyConnection, ids: &[String]) -> Result<()> {
    for chunk in ids.chunks(rows_per_statement(1)) {
        let sql = format!(
            "DELETE FROM match_keys WHERE record_id IN ({})",
            placeholders(conn, 1, chunk.len())
        );
        let mut q = sqlx::query(&sql);
        for id in chunk {
            q = q.bind(id.as_str());
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}
