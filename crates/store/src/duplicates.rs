//! The duplicates review queue: pairs of leads that may be one person (see migration
//! 0014). A pair keeps the two leads it was found between (`lead_a`, `lead_b`) and
//! the two it stands for now (`live_a`, `live_b`), which merges move; the queue is
//! read by the live leads.

use crate::db::{placeholders, row_placeholders, rows_per_statement, Params};
use crate::error::json_column;
use crate::Result;
use leadline_domain::access::LeadScope;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use std::collections::HashMap;

pub const OPEN: &str = "open";
pub const MERGED: &str = "merged";
pub const DISMISSED: &str = "dismissed";

/// One stored pair.
#[derive(Debug, Clone, PartialEq)]
pub struct DuplicatePair {
    pub id: String,
    /// The two leads as found, `lead_a < lead_b`.
    pub lead_a: String,
    pub lead_b: String,
    /// The leads they live on as now, `live_a <= live_b`.
    pub live_a: String,
    pub live_b: String,
    pub probability: f64,
    pub score: f64,
    pub evidence: serde_json::Value,
    pub status: String,
    pub found_by: String,
    pub import_id: Option<String>,
    pub source_id: Option<String>,
    pub dedupe_run_id: Option<String>,
    pub merge_id: Option<String>,
    pub created_at: i64,
    pub decided_at: Option<i64>,
    pub decided_by: Option<String>,
}

impl DuplicatePair {
    /// A new open pair between two live leads, in canonical order.
    pub fn open(
        x: &str,
        y: &str,
        probability: f64,
        score: f64,
        evidence: serde_json::Value,
        found_by: &str,
        created_at: i64,
    ) -> DuplicatePair {
        let (a, b) = canonical(x, y);
        DuplicatePair {
            id: crate::new_id(),
            lead_a: a.to_string(),
            lead_b: b.to_string(),
            live_a: a.to_string(),
            live_b: b.to_string(),
            probability,
            score,
            evidence,
            status: OPEN.to_string(),
            found_by: found_by.to_string(),
            import_id: None,
            source_id: None,
            dedupe_run_id: None,
            merge_id: None,
            created_at,
            decided_at: None,
            decided_by: None,
        }
    }
}

/// Two lead ids smaller first.
pub fn canonical<'a>(x: &'a str, y: &'a str) -> (&'a str, &'a str) {
    if x <= y {
        (x, y)
    } else {
        (y, x)
    }
}

const COLUMNS: &str = "id, lead_a, lead_b, live_a, live_b, probability, score, evidence, status, \
    found_by, import_id, source_id, dedupe_run_id, merge_id, created_at, decided_at, decided_by";
const COLUMN_COUNT: usize = 17;

fn pair_from_row(row: &AnyRow, prefix: &str) -> Result<DuplicatePair> {
    let col = |name: &str| format!("{prefix}{name}");
    let evidence: String = row.try_get(col("evidence").as_str())?;
    Ok(DuplicatePair {
        id: row.try_get(col("id").as_str())?,
        lead_a: row.try_get(col("lead_a").as_str())?,
        lead_b: row.try_get(col("lead_b").as_str())?,
        live_a: row.try_get(col("live_a").as_str())?,
        live_b: row.try_get(col("live_b").as_str())?,
        probability: row.try_get(col("probability").as_str())?,
        score: row.try_get(col("score").as_str())?,
        evidence: json_column("duplicate_pairs.evidence", &evidence)?,
        status: row.try_get(col("status").as_str())?,
        found_by: row.try_get(col("found_by").as_str())?,
        import_id: row.try_get(col("import_id").as_str())?,
        source_id: row.try_get(col("source_id").as_str())?,
        dedupe_run_id: row.try_get(col("dedupe_run_id").as_str())?,
        merge_id: row.try_get(col("merge_id").as_str())?,
        created_at: row.try_get(col("created_at").as_str())?,
        decided_at: row.try_get(col("decided_at").as_str())?,
        decided_by: row.try_get(col("decided_by").as_str())?,
    })
}

/// Stores pairs; a pair of the same two leads already stored (open, merged or
/// dismissed) is kept as it is. Answers how many were new.
pub async fn insert_many(conn: &mut AnyConnection, pairs: &[DuplicatePair]) -> Result<u64> {
    let mut inserted = 0;
    for chunk in pairs.chunks(rows_per_statement(COLUMN_COUNT)) {
        let sql = format!(
            "INSERT INTO duplicate_pairs ({COLUMNS}) VALUES {} ON CONFLICT (lead_a, lead_b) DO NOTHING",
            row_placeholders(conn, chunk.len(), COLUMN_COUNT)
        );
        let mut q = sqlx::query(&sql);
        for p in chunk {
            q = q
                .bind(p.id.as_str())
                .bind(p.lead_a.as_str())
                .bind(p.lead_b.as_str())
                .bind(p.live_a.as_str())
                .bind(p.live_b.as_str())
                .bind(p.probability)
                .bind(p.score)
                .bind(p.evidence.to_string())
                .bind(p.status.as_str())
                .bind(p.found_by.as_str())
                .bind(p.import_id.as_deref())
                .bind(p.source_id.as_deref())
                .bind(p.dedupe_run_id.as_deref())
                .bind(p.merge_id.as_deref())
                .bind(p.created_at)
                .bind(p.decided_at)
                .bind(p.decided_by.as_deref());
        }
        inserted += q.execute(&mut *conn).await?.rows_affected();
    }
    Ok(inserted)
}

pub async fn get(conn: &mut AnyConnection, id: &str) -> Result<Option<DuplicatePair>> {
    let sql = format!("SELECT {COLUMNS} FROM duplicate_pairs WHERE id = $1");
    let row = sqlx::query(&sql)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|r| pair_from_row(&r, "")).transpose()
}

/// The stored pair of these two leads as found, if any.
pub async fn find(conn: &mut AnyConnection, x: &str, y: &str) -> Result<Option<DuplicatePair>> {
    let (a, b) = canonical(x, y);
    let sql = format!("SELECT {COLUMNS} FROM duplicate_pairs WHERE lead_a = $1 AND lead_b = $2");
    let row = sqlx::query(&sql)
        .bind(a)
        .bind(b)
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|r| pair_from_row(&r, "")).transpose()
}

/// The pairs between two live leads (their group), with `status` if given.
pub async fn in_group(
    conn: &mut AnyConnection,
    x: &str,
    y: &str,
    status: Option<&str>,
) -> Result<Vec<DuplicatePair>> {
    let (a, b) = canonical(x, y);
    let sql = format!(
        "SELECT {COLUMNS} FROM duplicate_pairs WHERE live_a = $1 AND live_b = $2 \
         AND ($3 = '' OR status = $4) ORDER BY id"
    );
    let status = status.unwrap_or("");
    let rows = sqlx::query(&sql)
        .bind(a)
        .bind(b)
        .bind(status)
        .bind(status)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(|r| pair_from_row(r, "")).collect()
}

/// Records a decision on pairs: `merged` (with the merge) or `dismissed`.
pub async fn decide(
    conn: &mut AnyConnection,
    ids: &[String],
    status: &str,
    merge_id: Option<&str>,
    at: i64,
    by: &str,
) -> Result<()> {
    // Placeholders all of one kind: SQLite numbers `?` and `$n` differently.
    for chunk in ids.chunks(1000) {
        let mut params = Params::default();
        let sql = format!(
            "UPDATE duplicate_pairs SET status = {}, merge_id = {}, decided_at = {}, decided_by = {} \
             WHERE id IN ({})",
            params.text(status),
            match merge_id {
                Some(m) => params.text(m),
                None => "NULL".to_string(),
            },
            params.int(at),
            params.text(by),
            params.text_list(chunk),
        );
        params.bind(sqlx::query(&sql)).execute(&mut *conn).await?;
    }
    Ok(())
}

/// `merged_id` was merged into `survivor_id`: pairs on it now stand for the survivor.
pub async fn follow_merge(
    conn: &mut AnyConnection,
    merged_id: &str,
    survivor_id: &str,
) -> Result<()> {
    for column in ["live_a", "live_b"] {
        sqlx::query(&format!(
            "UPDATE duplicate_pairs SET {column} = $1 WHERE {column} = $2"
        ))
        .bind(survivor_id)
        .bind(merged_id)
        .execute(&mut *conn)
        .await?;
    }
    // Both sides are read before either is written, so this swaps them.
    sqlx::query(
        "UPDATE duplicate_pairs SET live_a = live_b, live_b = live_a \
         WHERE live_a > live_b AND (live_a = $1 OR live_b = $2)",
    )
    .bind(survivor_id)
    .bind(survivor_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Pairs standing for `lead_id` now: `(id, lead_a, lead_b, live_a, live_b)`.
pub async fn live_on(
    conn: &mut AnyConnection,
    lead_id: &str,
) -> Result<Vec<(String, String, String, String, String)>> {
    Ok(sqlx::query_as(
        "SELECT id, lead_a, lead_b, live_a, live_b FROM duplicate_pairs \
         WHERE live_a = $1 OR live_b = $2",
    )
    .bind(lead_id)
    .bind(lead_id)
    .fetch_all(&mut *conn)
    .await?)
}

pub async fn set_live(conn: &mut AnyConnection, id: &str, x: &str, y: &str) -> Result<()> {
    let (a, b) = canonical(x, y);
    sqlx::query("UPDATE duplicate_pairs SET live_a = $1, live_b = $2 WHERE id = $3")
        .bind(a)
        .bind(b)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// A merge was undone: the pairs it had decided are open again. Answers their ids.
pub async fn reopen_merged_by(conn: &mut AnyConnection, merge_id: &str) -> Result<Vec<String>> {
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM duplicate_pairs WHERE merge_id = $1 AND status = $2 ORDER BY id",
    )
    .bind(merge_id)
    .bind(MERGED)
    .fetch_all(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE duplicate_pairs SET status = $1, merge_id = NULL, decided_at = NULL, decided_by = NULL \
         WHERE merge_id = $2 AND status = $3",
    )
    .bind(OPEN)
    .bind(merge_id)
    .bind(MERGED)
    .execute(&mut *conn)
    .await?;
    Ok(ids)
}

/// The lead each of `ids` was merged into, for those merged (one step).
pub async fn merged_into(
    conn: &mut AnyConnection,
    ids: &[String],
) -> Result<HashMap<String, String>> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(rows_per_statement(1)) {
        let sql = format!(
            "SELECT id, merged_into FROM leads WHERE merged_into IS NOT NULL AND id IN ({})",
            placeholders(conn, 1, chunk.len())
        );
        let mut q = sqlx::query_as::<_, (String, String)>(&sql);
        for id in chunk {
            q = q.bind(id.as_str());
        }
        out.extend(q.fetch_all(&mut *conn).await?);
    }
    Ok(out)
}

/// The lead each of `ids` lives on as: itself, or where its merges lead.
pub async fn live_leads(
    conn: &mut AnyConnection,
    ids: &[String],
) -> Result<HashMap<String, String>> {
    let mut live: HashMap<String, String> = ids.iter().map(|i| (i.clone(), i.clone())).collect();
    // Merge chains are short; the bound only guards against a corrupt cycle.
    for _ in 0..32 {
        let mut heads: Vec<String> = live.values().cloned().collect();
        heads.sort();
        heads.dedup();
        let onward = merged_into(conn, &heads).await?;
        if onward.is_empty() {
            break;
        }
        for head in live.values_mut() {
            if let Some(next) = onward.get(head) {
                *head = next.clone();
            }
        }
    }
    Ok(live)
}

/// Clears `leads.possible_duplicate_of` of `lead_id` where it names `other_id` (the
/// two were found not to be one person). Not an edit of the lead's values, so it
/// leaves `updated_at` alone.
pub async fn clear_possible_duplicate_flag(
    conn: &mut AnyConnection,
    lead_id: &str,
    other_id: &str,
) -> Result<()> {
    sqlx::query(
        "UPDATE leads SET possible_duplicate_of = NULL WHERE id = $1 AND possible_duplicate_of = $2",
    )
    .bind(lead_id)
    .bind(other_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// What the queue shows of a lead.
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
pub struct LeadSummary {
    pub id: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company: Option<String>,
    /// The rep who owns the lead; null when nobody does.
    pub owner_id: Option<String>,
    pub source_id: Option<String>,
    /// Set on a merged pair's lead that was merged away.
    pub merged_into: Option<String>,
    /// Epoch milliseconds.
    pub created_at: i64,
}

fn summary_from_row(row: &AnyRow, prefix: &str) -> Result<LeadSummary> {
    let col = |name: &str| format!("{prefix}{name}");
    Ok(LeadSummary {
        id: row.try_get(col("id").as_str())?,
        first_name: row.try_get(col("first_name").as_str())?,
        last_name: row.try_get(col("last_name").as_str())?,
        email: row.try_get(col("email").as_str())?,
        phone: row.try_get(col("phone").as_str())?,
        company: row.try_get(col("company").as_str())?,
        owner_id: row.try_get(col("owner_id").as_str())?,
        source_id: row.try_get(col("source_id").as_str())?,
        merged_into: row.try_get(col("merged_into").as_str())?,
        created_at: row.try_get(col("created_at").as_str())?,
    })
}

/// Which pairs to list.
#[derive(Debug, Clone)]
pub struct PairFilter {
    /// `open` lists the queue: pairs by the leads they stand for now, one per two
    /// leads, none between two leads whose pair was dismissed (through merges since).
    /// `dismissed` lists dismissals by the leads they hold for now; `merged` lists
    /// merged pairs by the two leads they were found between (one now merged away).
    pub status: String,
    pub source_id: Option<String>,
    pub import_id: Option<String>,
    /// Pairs with a lead this user owns.
    pub owner_id: Option<String>,
    pub min_probability: Option<f64>,
    /// Only pairs whose two leads are both in this scope.
    pub scope: LeadScope,
    /// Only this pair (to show one pair as the list would).
    pub pair_id: Option<String>,
    /// Only pairs with this lead on either side (a lead's possible duplicates).
    pub lead_id: Option<String>,
}

/// Where the next page starts: pairs are listed most probable first, then by id.
#[derive(Debug, Clone, PartialEq)]
pub struct PairCursor {
    pub probability: f64,
    pub id: String,
}

/// A listed pair with the two leads it shows.
#[derive(Debug, Clone, PartialEq)]
pub struct ListedPair {
    pub pair: DuplicatePair,
    pub a: LeadSummary,
    pub b: LeadSummary,
}

const SUMMARY: [&str; 8] = [
    "id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "company",
    "source_id",
    "merged_into",
];

fn summary_columns(lead: &str, work: &str, prefix: &str) -> String {
    let mut cols: Vec<String> = SUMMARY
        .iter()
        .map(|c| format!("{lead}.{c} AS {prefix}{c}"))
        .collect();
    cols.push(format!("{lead}.created_at AS {prefix}created_at"));
    cols.push(format!("{work}.owner_id AS {prefix}owner_id"));
    cols.join(", ")
}

/// Filters on one pair alias (`p` or the group's `q`).
fn pair_clauses(alias: &str, filter: &PairFilter, params: &mut Params) -> Vec<String> {
    let mut clauses = Vec::new();
    if let Some(v) = &filter.source_id {
        clauses.push(format!("{alias}.source_id = {}", params.text(v.as_str())));
    }
    if let Some(v) = &filter.import_id {
        clauses.push(format!("{alias}.import_id = {}", params.text(v.as_str())));
    }
    if let Some(v) = filter.min_probability {
        clauses.push(format!("{alias}.probability >= {}", params.float(v)));
    }
    clauses
}

fn visible(work: &str, scope: &LeadScope, params: &mut Params) -> Option<String> {
    let LeadScope::Owned { owners, unowned } = scope else {
        return None;
    };
    let owners: Vec<String> = owners.iter().cloned().collect();
    let mut either = vec![format!(
        "{work}.owner_id IN ({})",
        params.text_list(&owners)
    )];
    if *unowned {
        either.push(format!("{work}.owner_id IS NULL"));
    }
    Some(format!("({})", either.join(" OR ")))
}

pub async fn list(
    conn: &mut AnyConnection,
    filter: &PairFilter,
    after: Option<&PairCursor>,
    limit: usize,
) -> Result<Vec<ListedPair>> {
    let mut params = Params::default();
    let open = filter.status == OPEN;
    let (a, b) = if filter.status == MERGED {
        ("lead_a", "lead_b")
    } else {
        ("live_a", "live_b")
    };
    let mut clauses = vec![format!(
        "p.status = {}",
        params.text(filter.status.as_str())
    )];
    clauses.extend(pair_clauses("p", filter, &mut params));
    if let Some(id) = &filter.pair_id {
        clauses.push(format!("p.id = {}", params.text(id.as_str())));
    }
    for work in ["wa", "wb"] {
        if let Some(clause) = visible(work, &filter.scope, &mut params) {
            clauses.push(clause);
        }
    }
    if let Some(lead) = &filter.lead_id {
        let (x, y) = (params.text(lead.as_str()), params.text(lead.as_str()));
        clauses.push(format!("(p.{a} = {x} OR p.{b} = {y})"));
    }
    if let Some(owner) = &filter.owner_id {
        let (x, y) = (params.text(owner.as_str()), params.text(owner.as_str()));
        clauses.push(format!("(wa.owner_id = {x} OR wb.owner_id = {y})"));
    }
    if open {
        clauses.push("p.live_a <> p.live_b".into());
        clauses.push("la.merged_into IS NULL AND lb.merged_into IS NULL".into());
        let dismissed = params.text(DISMISSED);
        clauses.push(format!(
            "NOT EXISTS (SELECT 1 FROM duplicate_pairs d WHERE d.live_a = p.live_a \
             AND d.live_b = p.live_b AND d.status = {dismissed})"
        ));
        // One pair per two leads: the most probable of those the filter lets through.
        let open_again = params.text(OPEN);
        let mut better = vec![
            "q.live_a = p.live_a".to_string(),
            "q.live_b = p.live_b".to_string(),
            format!("q.status = {open_again}"),
            "(q.probability > p.probability OR (q.probability = p.probability AND q.id < p.id))"
                .to_string(),
        ];
        better.extend(pair_clauses("q", filter, &mut params));
        clauses.push(format!(
            "NOT EXISTS (SELECT 1 FROM duplicate_pairs q WHERE {})",
            better.join(" AND ")
        ));
    }
    if let Some(c) = after {
        let (p1, p2, id) = (
            params.float(c.probability),
            params.float(c.probability),
            params.text(c.id.as_str()),
        );
        clauses.push(format!(
            "(p.probability < {p1} OR (p.probability = {p2} AND p.id > {id}))"
        ));
    }
    let pair_columns: Vec<String> = COLUMNS
        .split(", ")
        .map(|c| format!("p.{c} AS p_{c}"))
        .collect();
    let sql = format!(
        "SELECT {}, {}, {} FROM duplicate_pairs p \
         JOIN leads la ON la.id = p.{a} JOIN leads lb ON lb.id = p.{b} \
         LEFT JOIN lead_work wa ON wa.lead_id = la.id LEFT JOIN lead_work wb ON wb.lead_id = lb.id \
         WHERE {} ORDER BY p.probability DESC, p.id LIMIT {limit}",
        pair_columns.join(", "),
        summary_columns("la", "wa", "a_"),
        summary_columns("lb", "wb", "b_"),
        clauses.join(" AND "),
    );
    let rows = params.bind(sqlx::query(&sql)).fetch_all(&mut *conn).await?;
    rows.iter()
        .map(|row| {
            Ok(ListedPair {
                pair: pair_from_row(row, "p_")?,
                a: summary_from_row(row, "a_")?,
                b: summary_from_row(row, "b_")?,
            })
        })
        .collect()
}

/// Live leads in id order after `after`: `(id, source_id, created_at)`.
pub async fn live_leads_page(
    conn: &mut AnyConnection,
    after: &str,
    limit: usize,
) -> Result<Vec<(String, Option<String>, i64)>> {
    Ok(sqlx::query_as(
        "SELECT id, source_id, created_at FROM leads WHERE merged_into IS NULL AND id > $1 \
         ORDER BY id LIMIT $2",
    )
    .bind(after)
    .bind(limit as i64)
    .fetch_all(&mut *conn)
    .await?)
}
