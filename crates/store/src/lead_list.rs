//! The lead list people search, filter, sort and page through (the web app's lists,
//! board and CSV export): one query joining a lead with its working state.

use crate::db::Params;
use crate::Result;
use leadline_domain::access::LeadScope;
use sqlx::AnyConnection;

/// How the list is ordered. Every order ends with the id, so pages never overlap.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LeadSort {
    /// Newest first (the default).
    #[default]
    Newest,
    Oldest,
    /// Highest score first; unscored leads last.
    Score,
    /// Longest without a touch first; never-touched leads first of all.
    LastTouch,
}

impl LeadSort {
    pub const ALL: [LeadSort; 4] = [
        LeadSort::Newest,
        LeadSort::Oldest,
        LeadSort::Score,
        LeadSort::LastTouch,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LeadSort::Newest => "newest",
            LeadSort::Oldest => "oldest",
            LeadSort::Score => "score",
            LeadSort::LastTouch => "last_touch",
        }
    }

    pub fn parse(s: &str) -> Option<LeadSort> {
        LeadSort::ALL.into_iter().find(|o| o.as_str() == s)
    }

    /// The sort key's SQL and whether it descends.
    fn key(self) -> (&'static str, bool) {
        match self {
            LeadSort::Newest => ("l.created_at", true),
            LeadSort::Oldest => ("l.created_at", false),
            LeadSort::Score => ("COALESCE(w.score, -1000000000.0)", true),
            LeadSort::LastTouch => ("COALESCE(w.last_touch_at, 0)", false),
        }
    }
}

/// Where the next page starts: the last row's sort key and id.
#[derive(Debug, Clone, PartialEq)]
pub struct ListCursor {
    pub key: f64,
    pub id: String,
}

/// Free-text search, already read by the caller: an e-mail finds its key, a phone its
/// E.164 form, anything else the start of a name, an e-mail or a company.
#[derive(Debug, Clone, PartialEq)]
pub enum TextSearch {
    EmailKey(String),
    Phone(String),
    /// A national number without its country: the digits a stored E.164 number ends
    /// with (the leading trunk zero dropped).
    PhoneEnding(String),
    /// Lower-cased words the name, e-mail or company starts with; `company_key` is the
    /// company form of the same text.
    Prefix {
        text: String,
        company_key: String,
    },
}

/// The owner filter.
#[derive(Debug, Clone, PartialEq)]
pub enum OwnerFilter {
    /// Leads nobody owns.
    Nobody,
    /// Leads one of these users owns (one rep, or a team's members).
    AnyOf(Vec<String>),
}

/// Every filter of the list; they combine with AND.
#[derive(Debug, Clone, Default)]
pub struct LeadQuery {
    pub text: Option<TextSearch>,
    pub stages: Vec<String>,
    pub owner: Option<OwnerFilter>,
    pub source_id: Option<String>,
    pub campaign_id: Option<String>,
    /// The channel of the lead's source.
    pub channel: Option<String>,
    pub score_min: Option<f64>,
    pub score_max: Option<f64>,
    /// `short_range` or `long_range`, the effective horizon (a manual one wins).
    pub horizon: Option<String>,
    pub created_from: Option<i64>,
    pub created_to: Option<i64>,
    /// Only what the caller may see.
    pub scope: Option<LeadScope>,
    pub sort: LeadSort,
}

/// One row of the list.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ListRow {
    pub id: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub title: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company: Option<String>,
    pub country: Option<String>,
    pub stage: String,
    pub source_id: Option<String>,
    pub campaign_id: Option<String>,
    pub created_at: i64,
    pub owner_id: Option<String>,
    pub score: Option<f64>,
    pub horizon: Option<String>,
    pub last_touch_at: Option<i64>,
    pub next_step_due_at: Option<i64>,
    /// The sort key of this row, for the cursor.
    pub sort_key: f64,
}

/// `%`, `_` and the escape itself taken literally in a LIKE pattern.
fn like_prefix(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 1);
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

fn clauses(q: &LeadQuery, params: &mut Params) -> Vec<String> {
    let mut clauses = vec!["l.merged_into IS NULL".to_string()];
    match &q.text {
        Some(TextSearch::EmailKey(key)) => {
            let (own, merged) = (params.text(key.as_str()), params.text(key.as_str()));
            clauses.push(format!(
                "(l.email_key = {own} OR l.id IN (SELECT merged_into FROM leads WHERE email_key = {merged} AND merged_into IS NOT NULL))"
            ));
        }
        Some(TextSearch::Phone(phone)) => {
            let (own, merged) = (params.text(phone.as_str()), params.text(phone.as_str()));
            clauses.push(format!(
                "(l.phone = {own} OR l.id IN (SELECT merged_into FROM leads WHERE phone = {merged} AND merged_into IS NOT NULL))"
            ));
        }
        Some(TextSearch::PhoneEnding(digits)) => {
            let digits: String = digits.chars().filter(char::is_ascii_digit).collect();
            clauses.push(format!(
                "l.phone LIKE {}",
                params.text(format!("%{digits}"))
            ));
        }
        Some(TextSearch::Prefix { text, company_key }) => {
            let pattern = like_prefix(text);
            let mut either: Vec<String> = [
                "LOWER(l.first_name)",
                "LOWER(l.last_name)",
                "LOWER(l.first_name || ' ' || l.last_name)",
                "LOWER(l.email)",
            ]
            .iter()
            .map(|column| {
                format!(
                    "{column} LIKE {} ESCAPE '\\'",
                    params.text(pattern.as_str())
                )
            })
            .collect();
            if !company_key.is_empty() {
                either.push(format!(
                    "l.company_key LIKE {} ESCAPE '\\'",
                    params.text(like_prefix(company_key))
                ));
            }
            clauses.push(format!("({})", either.join(" OR ")));
        }
        None => {}
    }
    if !q.stages.is_empty() {
        clauses.push(format!("l.stage IN ({})", params.text_list(&q.stages)));
    }
    match &q.owner {
        Some(OwnerFilter::Nobody) => clauses.push("w.owner_id IS NULL".into()),
        Some(OwnerFilter::AnyOf(ids)) => {
            clauses.push(format!("w.owner_id IN ({})", params.text_list(ids)))
        }
        None => {}
    }
    if let Some(v) = &q.source_id {
        clauses.push(format!("l.source_id = {}", params.text(v.as_str())));
    }
    if let Some(v) = &q.campaign_id {
        clauses.push(format!("l.campaign_id = {}", params.text(v.as_str())));
    }
    if let Some(v) = &q.channel {
        clauses.push(format!(
            "l.source_id IN (SELECT id FROM sources WHERE channel = {})",
            params.text(v.as_str())
        ));
    }
    if let Some(v) = q.score_min {
        clauses.push(format!("w.score >= {}", params.float(v)));
    }
    if let Some(v) = q.score_max {
        clauses.push(format!("w.score <= {}", params.float(v)));
    }
    if let Some(v) = &q.horizon {
        clauses.push(format!(
            "COALESCE(w.horizon_manual, w.horizon) = {}",
            params.text(v.as_str())
        ));
    }
    if let Some(v) = q.created_from {
        clauses.push(format!("l.created_at >= {}", params.int(v)));
    }
    if let Some(v) = q.created_to {
        clauses.push(format!("l.created_at < {}", params.int(v)));
    }
    if let Some(LeadScope::Owned { owners, unowned }) = &q.scope {
        let owners: Vec<String> = owners.iter().cloned().collect();
        let mut visible = vec![format!("w.owner_id IN ({})", params.text_list(&owners))];
        if *unowned {
            visible.push("w.owner_id IS NULL".into());
        }
        clauses.push(format!("({})", visible.join(" OR ")));
    }
    clauses
}

/// One page of the list: at most `limit` rows after `after`.
pub async fn page(
    conn: &mut AnyConnection,
    q: &LeadQuery,
    after: Option<&ListCursor>,
    limit: usize,
) -> Result<Vec<ListRow>> {
    let mut params = Params::default();
    let mut clauses = clauses(q, &mut params);
    let (key, descending) = q.sort.key();
    if let Some(c) = after {
        let (op, tie) = if descending { ("<", "<") } else { (">", ">") };
        let (k, k_again, id) = (
            params.float(c.key),
            params.float(c.key),
            params.text(c.id.as_str()),
        );
        clauses.push(format!(
            "({key} {op} {k} OR ({key} = {k_again} AND l.id {tie} {id}))"
        ));
    }
    let order = if descending { "DESC" } else { "ASC" };
    let sql = format!(
        "SELECT l.id, l.first_name, l.last_name, l.title, l.email, l.phone, l.company, l.country, \
         l.stage, l.source_id, l.campaign_id, l.created_at, w.owner_id, w.score, \
         COALESCE(w.horizon_manual, w.horizon) AS horizon, w.last_touch_at, w.next_step_due_at, \
         CAST({key} AS DOUBLE PRECISION) AS sort_key \
         FROM leads l LEFT JOIN lead_work w ON w.lead_id = l.id \
         WHERE {} ORDER BY {key} {order}, l.id {order} LIMIT {limit}",
        clauses.join(" AND ")
    );
    Ok(params
        .bind_as::<ListRow>(sqlx::query_as(&sql))
        .fetch_all(&mut *conn)
        .await?)
}

/// How many leads the filters find, up to `cap` (counting further is not worth the
/// time on a large table: the page says "more than").
pub async fn count(conn: &mut AnyConnection, q: &LeadQuery, cap: i64) -> Result<i64> {
    let mut params = Params::default();
    let clauses = clauses(q, &mut params);
    // The working state is joined only when a filter reads it.
    let join = if clauses.iter().any(|c| c.contains("w.")) {
        "LEFT JOIN lead_work w ON w.lead_id = l.id"
    } else {
        ""
    };
    let sql = format!(
        "SELECT COUNT(*) FROM (SELECT 1 FROM leads l {join} WHERE {} LIMIT {cap}) found",
        clauses.join(" AND ")
    );
    Ok(params
        .bind_scalar(sqlx::query_scalar::<_, i64>(&sql))
        .fetch_one(&mut *conn)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_take_wildcards_literally() {
        assert_eq!(like_prefix("ann"), "ann%");
        assert_eq!(like_prefix("50%_off\\"), "50\\%\\_off\\\\%");
    }

    #[test]
    fn sorts_round_trip() {
        for sort in LeadSort::ALL {
            assert_eq!(LeadSort::parse(sort.as_str()), Some(sort));
        }
        assert_eq!(LeadSort::parse("name"), None);
    }
}
