//! The lead list as people use it: search and filters read from what they typed,
//! sorting and cursor paging, saved views, bulk changes and the CSV export.

use crate::error::{Result, ServiceError};
use crate::App;
use leadline_domain::access::LeadScope;
use leadline_domain::import::neutralize_formula;
use leadline_domain::lifecycle::{StageKind, Vocabulary};
use leadline_domain::normalize::{
    company_match_key, normalize_phone, EmailAddress, FieldError, PhoneValue,
};
use leadline_domain::schedule::{local_day_bounds, utc_rfc3339};
use leadline_store::lead_list::{
    self, LeadQuery, LeadSort, ListCursor, ListRow, OwnerFilter, TextSearch,
};
use leadline_store::views::{self, SavedView};
use leadline_store::{new_id, users};
use serde::{Deserialize, Serialize};

/// Most rows one page shows.
pub const MAX_PAGE: usize = 200;
/// Most rows one CSV export holds.
pub const MAX_EXPORT: usize = 100_000;
/// Counting stops here; the page says "more than" (counting a large table further
/// costs more than the page itself).
pub const COUNT_CAP: i64 = 1_000;
/// Most leads one bulk change touches.
pub const MAX_BULK: usize = 500;
const MAX_VIEWS: usize = 50;
const VOCABULARY_PREFERENCE: &str = "stage_vocabulary";

/// The list's filters as typed into the page (its query string); every one optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ListRequest {
    /// A name, e-mail, phone or company.
    pub q: String,
    /// One stage key, or empty for all.
    pub stage: String,
    /// `me`, `nobody` or a user id.
    pub owner: String,
    pub team: String,
    pub source: String,
    pub campaign: String,
    pub channel: String,
    pub score_min: String,
    pub score_max: String,
    pub horizon: String,
    /// Dates (`2026-12-01`), in the person's time zone, both days included.
    pub created_from: String,
    pub created_to: String,
    /// `newest` (default), `oldest`, `score` or `last_touch`.
    pub sort: String,
    /// The `next` cursor of the page before.
    pub cursor: String,
}

impl ListRequest {
    /// The request as a query string, without the cursor (for links and saved views).
    pub fn to_query(&self) -> String {
        let pairs: Vec<(&str, &str)> = [
            ("q", &self.q),
            ("stage", &self.stage),
            ("owner", &self.owner),
            ("team", &self.team),
            ("source", &self.source),
            ("campaign", &self.campaign),
            ("channel", &self.channel),
            ("score_min", &self.score_min),
            ("score_max", &self.score_max),
            ("horizon", &self.horizon),
            ("created_from", &self.created_from),
            ("created_to", &self.created_to),
            ("sort", &self.sort),
        ]
        .into_iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| (k, v.as_str()))
        .collect();
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    }
}

/// One page of the list.
#[derive(Debug, Clone)]
pub struct LeadPage {
    pub rows: Vec<ListRow>,
    /// The cursor of the next page, if there is one.
    pub next: Option<String>,
    /// How many leads the filters find, at most [`COUNT_CAP`].
    pub found: i64,
}

/// What a bulk change may do.
#[derive(Debug, Clone, PartialEq)]
pub enum BulkAction {
    Assign { rep_id: String },
    Stage { to: String, reason: Option<String> },
}

/// What a bulk change did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BulkOutcome {
    pub done: usize,
    /// Leads it did not change, with why.
    pub refused: Vec<(String, String)>,
}

fn invalid(field: &str, code: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.into(),
        code: code.into(),
        message: message.into(),
    }
}

fn blank(s: &str) -> Option<&str> {
    let s = s.trim();
    (!s.is_empty()).then_some(s)
}

/// An id given as a filter: what ids look like (so junk gets a message, not "none").
fn id_like(s: &str) -> bool {
    s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

fn encode_cursor(row: &ListRow) -> String {
    format!("{}~{}", row.sort_key, row.id)
}

fn decode_cursor(s: &str) -> Option<ListCursor> {
    let (key, id) = s.split_once('~')?;
    let key: f64 = key.parse().ok()?;
    (key.is_finite() && !id.is_empty() && id_like(id)).then(|| ListCursor {
        key,
        id: id.to_string(),
    })
}

/// What the search box's text means: an e-mail, a phone number, or the start of a
/// name, e-mail or company.
pub fn read_search(text: &str) -> Option<TextSearch> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if text.contains('@') {
        if let Ok(email) = EmailAddress::parse(text) {
            return Some(TextSearch::EmailKey(email.match_key()));
        }
    }
    let digits = text.chars().filter(char::is_ascii_digit).count();
    let phone_like = text
        .chars()
        .all(|c| c.is_ascii_digit() || " +-().".contains(c));
    if phone_like && digits >= 6 {
        if let PhoneValue::E164(p) = normalize_phone(text, None) {
            return Some(TextSearch::Phone(p));
        }
        // "020 7946 0958": no country to read it in, so the stored number's ending.
        let national: String = text.chars().filter(char::is_ascii_digit).collect();
        return Some(TextSearch::PhoneEnding(
            national.trim_start_matches('0').to_string(),
        ));
    }
    Some(TextSearch::Prefix {
        text: text.to_lowercase(),
        company_key: company_match_key(text).unwrap_or_default(),
    })
}

impl App {
    /// Reads a [`ListRequest`] into the store's query, every problem named by field.
    async fn lead_query(
        &self,
        scope: &LeadScope,
        user_id: &str,
        time_zone: &str,
        r: &ListRequest,
    ) -> Result<(LeadQuery, Option<ListCursor>)> {
        let mut errors = Vec::new();
        let lifecycle = self.lifecycle().await?;
        let mut q = LeadQuery {
            text: read_search(&r.q),
            scope: (!scope.is_all()).then(|| scope.clone()),
            ..Default::default()
        };
        if r.q.chars().count() > 200 {
            errors.push(invalid("q", "too_long", "search at most 200 characters"));
        }
        if let Some(stage) = blank(&r.stage) {
            if lifecycle.stage(stage).is_none() {
                errors.push(invalid(
                    "stage",
                    "unknown_stage",
                    "not a stage of the lifecycle",
                ));
            }
            q.stages = vec![stage.to_string()];
        }
        q.owner = match blank(&r.owner) {
            None => None,
            Some("me") => Some(OwnerFilter::AnyOf(vec![user_id.to_string()])),
            Some("nobody") => Some(OwnerFilter::Nobody),
            Some(id) if id_like(id) => Some(OwnerFilter::AnyOf(vec![id.to_string()])),
            Some(_) => {
                errors.push(invalid("owner", "invalid_id", "not a user"));
                None
            }
        };
        if let Some(team) = blank(&r.team) {
            let teams = self.list_teams().await?;
            match teams.into_iter().find(|t| t.id == team) {
                Some(t) => {
                    // With an owner too, both must hold: the owner, if in the team.
                    let members = t.member_ids;
                    q.owner = Some(OwnerFilter::AnyOf(match q.owner.take() {
                        Some(OwnerFilter::AnyOf(ids)) => {
                            ids.into_iter().filter(|i| members.contains(i)).collect()
                        }
                        Some(OwnerFilter::Nobody) => Vec::new(),
                        None => members,
                    }));
                }
                None => errors.push(invalid("team", "unknown_team", "not a team")),
            }
        }
        for (field, value, slot) in [
            ("source", &r.source, &mut q.source_id),
            ("campaign", &r.campaign, &mut q.campaign_id),
        ] {
            if let Some(v) = blank(value) {
                if id_like(v) {
                    *slot = Some(v.to_string());
                } else {
                    errors.push(invalid(field, "invalid_id", "not an id of this list"));
                }
            }
        }
        if let Some(channel) = blank(&r.channel) {
            match channel.parse::<leadline_domain::Channel>() {
                Ok(c) => q.channel = Some(c.as_str().to_string()),
                Err(_) => errors.push(invalid("channel", "unknown_channel", "not a channel")),
            }
        }
        for (field, value, slot) in [
            ("score_min", &r.score_min, &mut q.score_min),
            ("score_max", &r.score_max, &mut q.score_max),
        ] {
            if let Some(v) = blank(value) {
                match v.parse::<f64>() {
                    Ok(n) if n.is_finite() => *slot = Some(n),
                    _ => errors.push(invalid(field, "not_a_number", "a score is a number")),
                }
            }
        }
        if let (Some(min), Some(max)) = (q.score_min, q.score_max) {
            if min > max {
                errors.push(invalid(
                    "score_max",
                    "empty_range",
                    "the highest score is below the lowest",
                ));
            }
        }
        if let Some(h) = blank(&r.horizon) {
            if matches!(h, "short_range" | "long_range") {
                q.horizon = Some(h.to_string());
            } else {
                errors.push(invalid(
                    "horizon",
                    "unknown_horizon",
                    "short_range or long_range",
                ));
            }
        }
        for (field, value, end) in [
            ("created_from", &r.created_from, false),
            ("created_to", &r.created_to, true),
        ] {
            if let Some(v) = blank(value) {
                match local_day_bounds(v, time_zone) {
                    Some((_, next)) if end => q.created_to = Some(next),
                    Some((start, _)) => q.created_from = Some(start),
                    None => errors.push(invalid(field, "invalid_date", "a date: 2026-12-31")),
                }
            }
        }
        if let (Some(from), Some(to)) = (q.created_from, q.created_to) {
            if from >= to {
                errors.push(invalid(
                    "created_to",
                    "empty_range",
                    "the last day is before the first",
                ));
            }
        }
        q.sort = match blank(&r.sort) {
            None => LeadSort::Newest,
            Some(s) => LeadSort::parse(s).unwrap_or_else(|| {
                errors.push(invalid(
                    "sort",
                    "unknown_sort",
                    "newest, oldest, score or last_touch",
                ));
                LeadSort::Newest
            }),
        };
        let cursor = match blank(&r.cursor) {
            None => None,
            Some(c) => {
                let decoded = decode_cursor(c);
                if decoded.is_none() {
                    errors.push(invalid(
                        "cursor",
                        "invalid_cursor",
                        "not a cursor this list gave",
                    ));
                }
                decoded
            }
        };
        if errors.is_empty() {
            Ok((q, cursor))
        } else {
            Err(ServiceError::Invalid(errors))
        }
    }

    /// One page of the leads `scope` may see that the request's filters find.
    pub async fn lead_list(
        &self,
        scope: &LeadScope,
        user_id: &str,
        time_zone: &str,
        request: &ListRequest,
        limit: usize,
    ) -> Result<LeadPage> {
        let limit = limit.clamp(1, MAX_PAGE);
        let (query, cursor) = self.lead_query(scope, user_id, time_zone, request).await?;
        let mut conn = self.db.acquire().await?;
        let mut rows = lead_list::page(&mut conn, &query, cursor.as_ref(), limit + 1).await?;
        let next = (rows.len() > limit).then(|| {
            rows.truncate(limit);
            rows.last().map(encode_cursor).unwrap_or_default()
        });
        let found = lead_list::count(&mut conn, &query, COUNT_CAP).await?;
        Ok(LeadPage { rows, next, found })
    }

    /// The list as CSV (at most [`MAX_EXPORT`] rows), every cell that a spreadsheet
    /// would run as a formula neutralised.
    pub async fn export_leads_csv(
        &self,
        scope: &LeadScope,
        user_id: &str,
        time_zone: &str,
        request: &ListRequest,
    ) -> Result<Vec<u8>> {
        let (query, _) = self.lead_query(scope, user_id, time_zone, request).await?;
        let users = self.list_users().await?;
        let sources = self.list_sources().await?;
        let campaigns = self.list_campaigns().await?;
        let name_of = |id: &Option<String>, names: &dyn Fn(&str) -> Option<String>| {
            id.as_deref().and_then(names).unwrap_or_default()
        };
        let mut out = csv::Writer::from_writer(Vec::new());
        let header = [
            "id",
            "first_name",
            "last_name",
            "title",
            "email",
            "phone",
            "company",
            "country",
            "stage",
            "owner",
            "score",
            "horizon",
            "source",
            "campaign",
            "created_at",
            "last_touch_at",
        ];
        out.write_record(header).map_err(anyhow::Error::new)?;
        let mut conn = self.db.acquire().await?;
        let mut cursor: Option<ListCursor> = None;
        let mut written = 0;
        while written < MAX_EXPORT {
            let rows = lead_list::page(&mut conn, &query, cursor.as_ref(), 1000).await?;
            let Some(last) = rows.last() else { break };
            cursor = Some(ListCursor {
                key: last.sort_key,
                id: last.id.clone(),
            });
            for row in rows.iter().take(MAX_EXPORT - written) {
                let owner = name_of(&row.owner_id, &|id| {
                    users.iter().find(|u| u.id == id).map(|u| u.name.clone())
                });
                let source = name_of(&row.source_id, &|id| {
                    sources.iter().find(|s| s.id == id).map(|s| s.name.clone())
                });
                let campaign = name_of(&row.campaign_id, &|id| {
                    campaigns
                        .iter()
                        .find(|c| c.id == id)
                        .map(|c| c.name.clone())
                });
                let time = |ms: Option<i64>| ms.map(utc_rfc3339).unwrap_or_default();
                let cells = [
                    row.id.clone(),
                    row.first_name.clone().unwrap_or_default(),
                    row.last_name.clone().unwrap_or_default(),
                    row.title.clone().unwrap_or_default(),
                    row.email.clone().unwrap_or_default(),
                    row.phone.clone().unwrap_or_default(),
                    row.company.clone().unwrap_or_default(),
                    row.country.clone().unwrap_or_default(),
                    row.stage.clone(),
                    owner,
                    row.score.map(|s| format!("{s:.1}")).unwrap_or_default(),
                    row.horizon.clone().unwrap_or_default(),
                    source,
                    campaign,
                    time(Some(row.created_at)),
                    time(row.last_touch_at),
                ];
                out.write_record(cells.iter().map(|c| neutralize_formula(c).into_owned()))
                    .map_err(anyhow::Error::new)?;
                written += 1;
            }
            if rows.len() < 1000 {
                break;
            }
        }
        out.into_inner().map_err(|e| anyhow::anyhow!("{e}").into())
    }

    /// Applies one change to many leads, each as if done alone (the same checks),
    /// and says which it could not change and why.
    pub async fn bulk_change(
        &self,
        scope: &LeadScope,
        lead_ids: &[String],
        action: &BulkAction,
        actor: &str,
    ) -> Result<BulkOutcome> {
        if lead_ids.is_empty() || lead_ids.len() > MAX_BULK {
            return Err(ServiceError::invalid(
                "lead_ids",
                "bad_count",
                format!("choose 1 to {MAX_BULK} leads"),
            ));
        }
        let mut outcome = BulkOutcome::default();
        for id in lead_ids {
            let result = match action {
                BulkAction::Assign { rep_id } => {
                    self.assign_lead(scope, id, rep_id, actor).await.map(|_| ())
                }
                BulkAction::Stage { to, reason } => match self.authorize_lead(scope, id).await {
                    Ok(()) => self
                        .change_stage(id, to, reason.as_deref(), actor)
                        .await
                        .map(|_| ()),
                    Err(e) => Err(e),
                },
            };
            match result {
                Ok(()) => outcome.done += 1,
                Err(ServiceError::Invalid(errors)) => outcome.refused.push((
                    id.clone(),
                    errors
                        .iter()
                        .map(|e| e.message.as_str())
                        .collect::<Vec<_>>()
                        .join("; "),
                )),
                Err(ServiceError::NotFound { .. }) => outcome
                    .refused
                    .push((id.clone(), "not a lead you may change".into())),
                Err(ServiceError::Conflict { message, .. }) => {
                    outcome.refused.push((id.clone(), message))
                }
                Err(e) => return Err(e),
            }
        }
        Ok(outcome)
    }

    /// The first nurture stage of the lifecycle (where "send to nurture" goes).
    pub async fn nurture_stage(&self) -> Result<String> {
        self.lifecycle()
            .await?
            .first_of_kind(StageKind::Nurture)
            .map(|s| s.key.clone())
            .ok_or_else(|| {
                ServiceError::invalid(
                    "stage",
                    "no_nurture_stage",
                    "the lifecycle has no nurture stage",
                )
            })
    }

    /// Saves the list's current filters under a name for this person.
    pub async fn save_view(
        &self,
        user_id: &str,
        name: &str,
        request: &ListRequest,
    ) -> Result<SavedView> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(ServiceError::invalid(
                "name",
                "invalid_length",
                "a view's name has 1 to 100 characters",
            ));
        }
        let mut conn = self.db.acquire().await?;
        if views::of_user(&mut conn, user_id).await?.len() >= MAX_VIEWS {
            return Err(ServiceError::invalid(
                "name",
                "too_many",
                format!("at most {MAX_VIEWS} saved views; delete one first"),
            ));
        }
        let view = SavedView {
            id: new_id(),
            user_id: user_id.to_string(),
            name: name.to_string(),
            query: request.to_query(),
            created_at: self.now(),
        };
        views::insert(&mut conn, &view).await?;
        Ok(view)
    }

    pub async fn saved_views(&self, user_id: &str) -> Result<Vec<SavedView>> {
        let mut conn = self.db.acquire().await?;
        Ok(views::of_user(&mut conn, user_id).await?)
    }

    pub async fn delete_view(&self, user_id: &str, id: &str) -> Result<()> {
        let mut conn = self.db.acquire().await?;
        if views::delete(&mut conn, user_id, id).await? {
            Ok(())
        } else {
            Err(ServiceError::not_found("saved_view", id))
        }
    }

    /// The vocabulary this person reads stages in (the lifecycle's own labels unless
    /// they chose another).
    pub async fn stage_vocabulary(&self, user_id: &str) -> Result<Vocabulary> {
        let mut conn = self.db.acquire().await?;
        let stored = views::preference(&mut conn, user_id, VOCABULARY_PREFERENCE).await?;
        Ok(stored
            .and_then(|v| serde_json::from_value(serde_json::Value::String(v)).ok())
            .unwrap_or(Vocabulary::Stage))
    }

    pub async fn set_stage_vocabulary(&self, user_id: &str, vocabulary: Vocabulary) -> Result<()> {
        let value = serde_json::to_value(vocabulary).map_err(anyhow::Error::new)?;
        let mut conn = self.db.acquire().await?;
        if users::user_by_id(&mut conn, user_id).await?.is_none() {
            return Err(ServiceError::not_found("user", user_id));
        }
        views::set_preference(
            &mut conn,
            user_id,
            VOCABULARY_PREFERENCE,
            value.as_str().unwrap_or("stage"),
        )
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_search_box_reads_emails_phones_and_names() {
        assert_eq!(
            read_search(" Ada.Lovelace@Gmail.com "),
            Some(TextSearch::EmailKey("adalovelace@gmail.com".into()))
        );
        assert_eq!(
            read_search("+44 20 7946 0958"),
            Some(TextSearch::Phone("+442079460958".into()))
        );
        match read_search("Acme Ltd") {
            Some(TextSearch::Prefix { text, company_key }) => {
                assert_eq!(text, "acme ltd");
                assert_eq!(company_key, "acme");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(read_search("   "), None);
        assert_eq!(
            read_search("020 7946 0958"),
            Some(TextSearch::PhoneEnding("2079460958".into()))
        );
        // A short number is no phone: it is looked for as text.
        assert!(matches!(
            read_search("123"),
            Some(TextSearch::Prefix { .. })
        ));
    }

    #[test]
    fn cursors_round_trip_and_refuse_junk() {
        let c = decode_cursor("1795341600000~01M96K6V03CDJCCZ7D2AGDAAX3").unwrap();
        assert_eq!(c.key, 1_795_341_600_000.0);
        assert!(decode_cursor("12.5~abc").is_some());
        for bad in ["", "~", "x~abc", "1~", "inf~abc", "1~a b", "NaN~a"] {
            assert!(decode_cursor(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn a_request_becomes_a_query_string_without_its_cursor() {
        let r = ListRequest {
            q: "ann & co".into(),
            stage: "sql".into(),
            cursor: "1~abc".into(),
            ..Default::default()
        };
        let query = r.to_query();
        assert_eq!(query, "q=ann+%26+co&stage=sql");
        let back: ListRequest = serde_urlencoded::from_str(&query).unwrap();
        assert_eq!(back.q, "ann & co");
        assert_eq!(back.cursor, "");
    }
}
