//! `/api/v1/imports`: upload a CSV (multipart); it runs as a background job whose
//! progress and per-row report can be fetched.

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiPath, ApiQuery, Authenticated};
use crate::AppState;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use leadline_domain::access::Permission;
use leadline_domain::Channel;
use leadline_service::imports::{ImportRequest, NoProgress};
use schemars::JsonSchema;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/imports", post(start_import))
        .route("/api/v1/imports/{id}", get(import_status))
        .route("/api/v1/imports/{id}/report", get(import_report))
}

fn multipart_error(e: axum::extract::multipart::MultipartError) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            "the file is larger than this server accepts",
        )
    } else {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_multipart",
            e.body_text(),
        )
    }
}

/// A multipart body whose rejections (no multipart content type, no boundary) come back
/// in our JSON error shape instead of axum's plain text.
pub struct ApiMultipart(pub Multipart);

impl FromRequest<AppState> for ApiMultipart {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let is_multipart = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.trim_start()
                    .to_ascii_lowercase()
                    .starts_with("multipart/form-data")
            });
        if !is_multipart {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the upload as multipart/form-data with a 'file' and a 'source' part (curl -F file=@list.csv -F source=\"Expo 2026\")",
            ));
        }
        Multipart::from_request(req, state)
            .await
            .map(ApiMultipart)
            .map_err(|e| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "malformed_multipart",
                    format!(
                        "{}; the Content-Type must carry the boundary that separates the parts (multipart/form-data; boundary=…)",
                        e.body_text()
                    ),
                )
            })
    }
}

/// The parts of an upload, as `start_import` reads them (this type documents the
/// multipart body; the parts are read one by one so that a large file streams).
#[derive(JsonSchema)]
#[allow(dead_code)]
pub struct ImportUpload {
    /// The CSV: any common encoding and delimiter; the header row names the columns.
    #[schemars(extend("format" = "binary", "contentMediaType" = "text/csv"))]
    file: String,
    /// The list's source (e.g. "Expo 2026"); created on first use.
    source: String,
    campaign: Option<String>,
    /// Default `import`.
    channel: Option<Channel>,
    /// Region for phone numbers without a country code.
    default_region: Option<String>,
    /// Column mappings that override the guessed ones, each `column=field`.
    #[serde(default)]
    map: Vec<String>,
}

/// Parts: `file` (the CSV), `source`, optional `campaign`, `channel`,
/// `default_region`, and any number of `map` parts of the form `column=field`.
async fn start_import(
    auth: Authenticated,
    State(state): State<AppState>,
    ApiMultipart(mut multipart): ApiMultipart,
) -> ApiResult<Response> {
    auth.require(Permission::RunImports)?;
    let mut file: Option<(String, Vec<u8>)> = None;
    let mut source = None;
    let mut campaign = None;
    let mut channel = Channel::Import;
    let mut default_region = None;
    let mut overrides = Vec::new();
    while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
        let name = field.name().unwrap_or_default().to_string();
        if name == "file" {
            let file_name = field
                .file_name()
                .unwrap_or("upload.csv")
                .chars()
                .take(255)
                .collect();
            let bytes = field.bytes().await.map_err(multipart_error)?;
            file = Some((file_name, bytes.to_vec()));
            continue;
        }
        let text = field.text().await.map_err(multipart_error)?;
        match name.as_str() {
            "source" => source = Some(text),
            "campaign" => campaign = Some(text),
            "channel" => {
                channel = text.parse().map_err(|e: leadline_domain::channel::UnknownChannel| {
                    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "unknown_channel", e.to_string()).field("channel")
                })?
            }
            "default_region" => {
                default_region = Some(leadline_domain::normalize::normalize_country(&text).ok_or_else(|| {
                    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "unknown_country", format!("{text:?} is not a country")).field("default_region")
                })?)
            }
            "map" => {
                let (column, target) = text.split_once('=').ok_or_else(|| {
                    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_mapping", "a map part reads column=field").field("map")
                })?;
                overrides.push((column.trim().to_string(), target.trim().to_string()));
                leadline_domain::limits::check_count(
                    "map",
                    overrides.len(),
                    leadline_domain::limits::MAX_IMPORT_MAPPINGS,
                )
                .map_err(|e| ApiError::invalid(vec![e]))?;
            }
            other => {
                return Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "unknown_part",
                    format!("unexpected part {other:?}; expected file, source, campaign, channel, default_region or map"),
                )
                .field(other))
            }
        }
    }
    let (file_name, bytes) = file.ok_or_else(|| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "required",
            "a CSV file part named 'file' is required",
        )
        .field("file")
    })?;
    let source = source.ok_or_else(|| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "required",
            "a 'source' part naming the list's source is required",
        )
        .field("source")
    })?;
    let request = ImportRequest {
        file_name,
        bytes,
        source,
        channel,
        campaign,
        overrides,
        default_region,
        actor: auth.actor(),
        caller: Some(leadline_service::capture::CaptureCaller {
            user_id: auth.0.user.id.clone(),
            scope: auth.scope().clone(),
        }),
    };
    // Mapping and file-level problems are answered now rather than as a failed job.
    leadline_domain::import::parse_csv(&request.bytes, &request.overrides).map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unreadable_file",
            e.to_string(),
        )
        .field("file")
    })?;
    let job = state.app.create_import(&request).await?;
    let app = state.app.clone();
    let queued = job.clone();
    tokio::spawn(async move {
        if let Err(e) = app.run_import(job.clone(), &request, &NoProgress).await {
            tracing::error!(import_id = %job.id, error = %e, "import failed");
            let _ = app.fail_import(job, &e.to_string()).await;
        }
    });
    let location = format!("/api/v1/imports/{}", queued.id);
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, location)],
        Json(queued),
    )
        .into_response())
}

#[derive(Debug, serde::Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusQuery {
    /// Long-poll: wait up to this many seconds (at most 60) for the job to finish.
    wait: Option<u64>,
}

async fn import_status(
    auth: Authenticated,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<StatusQuery>,
) -> ApiResult<Response> {
    auth.require(Permission::RunImports)?;
    let job = match q.wait {
        Some(secs) => {
            state
                .app
                .wait_for_import(&id, std::time::Duration::from_secs(secs.min(60)))
                .await?
        }
        None => state.app.import_job(&id).await?,
    };
    Ok(Json(job).into_response())
}

async fn import_report(
    auth: Authenticated,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Response> {
    auth.require(Permission::RunImports)?;
    match state.app.import_report(auth.scope(), &id).await? {
        Some(csv) => Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"import-{id}-report.csv\""),
                ),
            ],
            csv,
        )
            .into_response()),
        None => Err(ApiError::new(
            StatusCode::CONFLICT,
            "import_not_finished",
            "the report is ready when the import has completed",
        )),
    }
}
