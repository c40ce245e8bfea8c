//! `/api/v1/duplicates`: the review queue of possible duplicates — list, merge, dismiss.

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiPath, ApiQuery, Authenticated};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use leadline_domain::access::Permission;
use leadline_domain::normalize::FieldError;
use leadline_service::duplicates::{DuplicateFilter, DuplicateItem, PairStatus};
use leadline_store::duplicates::PairCursor;
use leadline_store::leads::LeadRecord;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/duplicates", get(list))
        .route("/api/v1/duplicates/{id}/merge", post(merge))
        .route("/api/v1/duplicates/{id}/dismiss", post(dismiss))
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DuplicatesQuery {
    /// Pairs brought up by a record of this source (by id).
    pub source_id: Option<String>,
    /// Pairs brought up by a row of this import.
    pub import_id: Option<String>,
    /// Pairs with a lead this user owns.
    pub owner_id: Option<String>,
    /// Pairs with this lead on either side: its possible duplicates.
    pub lead_id: Option<String>,
    /// Only pairs at least this probable, 0 to 1.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub min_probability: Option<f64>,
    /// `open` (the default: the queue), `merged` or `dismissed`.
    #[schemars(extend("enum" = ["open", "merged", "dismissed"]))]
    pub status: Option<String>,
    /// 1 to 500, default 50.
    #[schemars(range(min = 1, max = 500))]
    pub limit: Option<usize>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// `GET /api/v1/duplicates`: a page of pairs, most probable first.
#[derive(Debug, Serialize, JsonSchema)]
pub struct DuplicateList {
    pub pairs: Vec<DuplicateItem>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// `POST /api/v1/duplicates/{id}/merge` (the body may be left out).
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DuplicateMergeBody {
    /// The lead that lives on: one of the pair's two. Default: the older one.
    pub survivor_id: Option<String>,
}

/// The answer of a merge from the queue.
#[derive(Debug, Serialize, JsonSchema)]
pub struct DuplicateMergeAnswer {
    pub pair_id: String,
    /// Undo with `POST /api/v1/merges/{merge_id}/undo`; that opens the pair again.
    pub merge_id: String,
    pub survivor_id: String,
    pub merged_id: String,
    /// The survivor after the merge.
    pub lead: LeadRecord,
}

/// The cursor is the last pair's probability (its exact bits) and id.
pub fn encode_cursor(c: &PairCursor) -> String {
    format!("{:016x}.{}", c.probability.to_bits(), c.id)
}

pub fn decode_cursor(s: &str) -> Option<PairCursor> {
    let (bits, id) = s.split_once('.')?;
    if bits.len() != 16 {
        return None;
    }
    let probability = f64::from_bits(u64::from_str_radix(bits, 16).ok()?);
    let valid_id =
        !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric());
    ((0.0..=1.0).contains(&probability) && valid_id).then(|| PairCursor {
        probability,
        id: id.to_string(),
    })
}

fn invalid(field: &str, code: &str, message: &str) -> FieldError {
    FieldError {
        field: field.into(),
        code: code.into(),
        message: message.into(),
    }
}

/// An id given as a filter: what ids look like, so junk is told apart from "none".
fn id_filter(field: &str, value: &Option<String>, errors: &mut Vec<FieldError>) {
    if let Some(v) = value {
        let ok = !v.is_empty()
            && v.len() <= 64
            && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !ok {
            errors.push(invalid(field, "invalid_id", "not an id this API hands out"));
        }
    }
}

async fn list(
    auth: Authenticated,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<DuplicatesQuery>,
) -> ApiResult<Response> {
    auth.require(Permission::ReadLeads)?;
    let mut errors = Vec::new();
    id_filter("source_id", &q.source_id, &mut errors);
    id_filter("import_id", &q.import_id, &mut errors);
    id_filter("owner_id", &q.owner_id, &mut errors);
    id_filter("lead_id", &q.lead_id, &mut errors);
    if let Some(p) = q.min_probability {
        if !(0.0..=1.0).contains(&p) {
            errors.push(invalid(
                "min_probability",
                "out_of_range",
                "min_probability is a probability from 0 to 1",
            ));
        }
    }
    let status = match q.status.as_deref() {
        None | Some("open") => PairStatus::Open,
        Some("merged") => PairStatus::Merged,
        Some("dismissed") => PairStatus::Dismissed,
        Some(_) => {
            errors.push(invalid(
                "status",
                "unknown_status",
                "status is open, merged or dismissed",
            ));
            PairStatus::Open
        }
    };
    let limit = q.limit.unwrap_or(50);
    if limit == 0 || limit > 500 {
        errors.push(invalid("limit", "out_of_range", "limit must be 1 to 500"));
    }
    let cursor = match &q.cursor {
        Some(c) => {
            let decoded = decode_cursor(c);
            if decoded.is_none() {
                errors.push(invalid(
                    "cursor",
                    "invalid_cursor",
                    "the cursor is not one this API returned",
                ));
            }
            decoded
        }
        None => None,
    };
    if !errors.is_empty() {
        return Err(ApiError::invalid(errors));
    }
    let filter = DuplicateFilter {
        source_id: q.source_id,
        import_id: q.import_id,
        owner_id: q.owner_id,
        min_probability: q.min_probability,
        status: Some(status),
        lead_id: q.lead_id,
    };
    let (pairs, next) = state
        .app
        .list_duplicates(auth.scope(), &filter, cursor.as_ref(), limit)
        .await?;
    Ok(Json(DuplicateList {
        pairs,
        next_cursor: next.as_ref().map(encode_cursor),
    })
    .into_response())
}

/// The optional JSON body of a merge: empty is the default.
fn merge_body(headers: &HeaderMap, body: &Bytes) -> ApiResult<DuplicateMergeBody> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(DuplicateMergeBody::default());
    }
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| {
            let m = m.trim();
            m.eq_ignore_ascii_case("application/json") || m.ends_with("+json")
        });
    if !json {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as JSON with 'Content-Type: application/json'",
        ));
    }
    serde_json::from_slice(body).map_err(|e| {
        if e.is_data() {
            let mut err = ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_body",
                e.to_string(),
            );
            if e.to_string().contains("survivor_id") {
                err = err.field("survivor_id");
            }
            err
        } else {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                format!("the body is not valid JSON: {e}"),
            )
        }
    })
}

async fn merge(
    auth: Authenticated,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    auth.require(Permission::MergeLeads)?;
    let body = merge_body(&headers, &body)?;
    let done = state
        .app
        .merge_duplicate(
            auth.scope(),
            &id,
            body.survivor_id.as_deref(),
            &auth.actor(),
        )
        .await?;
    let lead = state
        .app
        .lead_for(auth.scope(), &done.merge.survivor_id)
        .await?;
    Ok(Json(DuplicateMergeAnswer {
        pair_id: done.pair_id,
        merge_id: done.merge.id,
        survivor_id: done.merge.survivor_id,
        merged_id: done.merge.merged_id,
        lead,
    })
    .into_response())
}

async fn dismiss(
    auth: Authenticated,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Response> {
    auth.require(Permission::MergeLeads)?;
    let pair = state
        .app
        .dismiss_duplicate(auth.scope(), &id, &auth.actor())
        .await?;
    Ok(Json(pair).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_exactly_and_reject_tampering() {
        for p in [0.0, 1.0, 0.999_999_999_7, 0.1 + 0.2] {
            let c = PairCursor {
                probability: p,
                id: "01HZX".into(),
            };
            assert_eq!(decode_cursor(&encode_cursor(&c)), Some(c));
        }
        let nan = format!("{:016x}.01HZX", f64::NAN.to_bits());
        let big = format!("{:016x}.01HZX", 2.0f64.to_bits());
        for bad in [
            "",
            "x.y",
            "3ff0000000000000.",
            "3ff0000000000000.a b",
            "1.01HZX",
            &nan,
            &big,
        ] {
            assert_eq!(decode_cursor(bad), None, "{bad}");
        }
    }
}
