//! Notifications: the live event stream (Server-Sent Events), outbound webhooks, and
//! their deliveries and dead letters.

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Authenticated};
use crate::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures::Stream;
use leadline_domain::access::{LeadScope, Permission, Role};
use leadline_domain::notify;
use leadline_service::outbox::{envelope, WebhookInput};
use leadline_service::App;
use leadline_store::outbox::{self, Delivery, Webhook};
use leadline_store::outbox::{DeliveryFilter, OutboxEvent};
use schemars::JsonSchema;
use serde::Deserialize;
use serde::Serialize;
use std::collections::{HashSet, VecDeque};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/stream", get(stream))
        .route("/api/v1/webhooks", get(list_webhooks).post(create_webhook))
        .route(
            "/api/v1/webhooks/{id}",
            get(get_webhook)
                .patch(update_webhook)
                .delete(delete_webhook),
        )
        .route("/api/v1/webhooks/{id}/rotate-secret", post(rotate_secret))
        .route("/api/v1/deliveries", get(list_deliveries))
        .route("/api/v1/deliveries/replay", post(replay_deliveries))
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StreamQuery {
    /// Comma-separated topic filters (`lead.assigned,lead.*`); all when absent.
    topics: Option<String>,
}

/// How many stored events a reconnecting client is sent at most.
const REPLAY_LIMIT: i64 = 1000;
/// How many sent ids a stream remembers to drop duplicates (replay overlapping live).
const SENT_MEMORY: usize = 10_000;

/// `GET /api/v1/stream`: the events this user may see, live. A client that reconnects
/// with `Last-Event-ID` first gets what it missed.
async fn stream(
    auth: Authenticated,
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<StreamQuery>,
) -> ApiResult<Response> {
    auth.require(Permission::ReadLeads)?;
    let topics: Vec<String> = q
        .topics
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect();
    crate::limits::topics(&topics).map_err(|e| ApiError::invalid(vec![e]))?;
    if let Err(problems) = notify::validate_topic_filter(&topics) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_topic",
            problems.join("; "),
        )
        .field("topics"));
    }
    let last_event_id = match headers.get("last-event-id") {
        None => None,
        Some(v) => match v
            .to_str()
            .ok()
            .map(str::trim)
            .filter(|s| ulid::Ulid::from_string(s).is_ok())
        {
            Some(id) => Some(id.to_string()),
            None => {
                return Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_last_event_id",
                    "Last-Event-ID must be the id of an event this stream sent",
                ))
            }
        },
    };
    open_stream(
        &state.app,
        auth.0.role,
        auth.scope().clone(),
        topics,
        last_event_id,
    )
    .await
}

/// The live events `role` and `scope` may see, on `topics` (all when empty), as an
/// SSE answer; after `last_event_id` (a client reconnecting) what it missed comes
/// first. The API's stream and the web app's (a session's) are this one.
pub(crate) async fn open_stream(
    app: &App,
    role: Role,
    scope: LeadScope,
    topics: Vec<String>,
    last_event_id: Option<String>,
) -> ApiResult<Response> {
    // Subscribe before reading the replay so nothing falls between the two.
    let live = app.subscribe_events();
    let mut pending: VecDeque<Arc<OutboxEvent>> = VecDeque::new();
    let mut high_water = String::new();
    if let Some(after) = &last_event_id {
        for e in app.events_after(after, REPLAY_LIMIT).await? {
            pending.push_back(Arc::new(e));
        }
        high_water = after.clone();
    }
    let viewer = Viewer {
        role,
        scope,
        topics,
    };
    let events = event_stream(StreamState {
        app: app.clone(),
        viewer,
        live,
        pending,
        sent: HashSet::new(),
        sent_order: VecDeque::new(),
        high_water,
    });
    Ok(Sse::new(events)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response())
}

/// Who holds the stream. The scope is taken when the stream opens: a manager whose
/// teams change sees the change on reconnecting.
pub struct Viewer {
    role: Role,
    scope: LeadScope,
    topics: Vec<String>,
}

impl Viewer {
    fn sees(&self, e: &OutboxEvent) -> bool {
        notify::topic_matches(&self.topics, &e.topic)
            && notify::may_see(
                self.role,
                &self.scope,
                e.lead_id.as_deref(),
                &e.audience,
                &e.payload,
            )
    }
}

pub struct StreamState {
    app: App,
    viewer: Viewer,
    live: tokio::sync::broadcast::Receiver<Arc<OutboxEvent>>,
    pending: VecDeque<Arc<OutboxEvent>>,
    sent: HashSet<String>,
    sent_order: VecDeque<String>,
    /// The newest id considered, for catching up after lagging.
    high_water: String,
}

fn event_stream(state: StreamState) -> impl Stream<Item = Result<Event, Infallible>> {
    futures::stream::unfold(state, |mut s| async move {
        loop {
            if let Some(e) = s.pending.pop_front() {
                if e.id > s.high_water {
                    s.high_water = e.id.clone();
                }
                if !s.viewer.sees(&e) || !s.sent.insert(e.id.clone()) {
                    continue;
                }
                s.sent_order.push_back(e.id.clone());
                if s.sent_order.len() > SENT_MEMORY {
                    if let Some(old) = s.sent_order.pop_front() {
                        s.sent.remove(&old);
                    }
                }
                let event = Event::default()
                    .id(e.id.as_str())
                    .event(e.topic.as_str())
                    .data(envelope(&e).to_string());
                return Some((Ok(event), s));
            }
            match s.live.recv().await {
                Ok(e) => s.pending.push_back(e),
                // Too slow for the live buffer: catch up from the table.
                Err(RecvError::Lagged(_)) => {
                    match s.app.events_after(&s.high_water, REPLAY_LIMIT).await {
                        Ok(events) => s.pending.extend(events.into_iter().map(Arc::new)),
                        Err(e) => {
                            tracing::error!(error = %e, "event stream could not catch up; closing it");
                            return None;
                        }
                    }
                }
                Err(RecvError::Closed) => return None,
            }
        }
    })
}

async fn list_webhooks(auth: Authenticated, State(state): State<AppState>) -> ApiResult<Response> {
    auth.require(Permission::ManageIntegrations)?;
    let webhooks = state.app.webhooks().await?;
    Ok(Json(WebhookList { webhooks }).into_response())
}

/// `GET /api/v1/webhooks`: never with their secrets.
#[derive(Debug, Serialize, JsonSchema)]
pub struct WebhookList {
    pub webhooks: Vec<Webhook>,
}

/// `GET /api/v1/deliveries`: a page, newest first.
#[derive(Debug, Serialize, JsonSchema)]
pub struct DeliveryList {
    pub deliveries: Vec<Delivery>,
    /// Pass as `before` for the next page; null on the last page.
    pub next_before: Option<String>,
}

/// `POST /api/v1/deliveries/replay`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Replayed {
    /// How many dead letters were queued again.
    pub replayed: u64,
}

async fn create_webhook(
    auth: Authenticated,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<WebhookInput>,
) -> ApiResult<Response> {
    auth.require(Permission::ManageIntegrations)?;
    if let Some(topics) = &body.topics {
        crate::limits::topics(topics).map_err(|e| ApiError::invalid(vec![e]))?;
    }
    let created = state.app.create_webhook(body).await?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

async fn get_webhook(
    auth: Authenticated,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Response> {
    auth.require(Permission::ManageIntegrations)?;
    Ok(Json(state.app.webhook(&id).await?).into_response())
}

async fn update_webhook(
    auth: Authenticated,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<WebhookInput>,
) -> ApiResult<Response> {
    auth.require(Permission::ManageIntegrations)?;
    if let Some(topics) = &body.topics {
        crate::limits::topics(topics).map_err(|e| ApiError::invalid(vec![e]))?;
    }
    Ok(Json(state.app.update_webhook(&id, body).await?).into_response())
}

async fn delete_webhook(
    auth: Authenticated,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Response> {
    auth.require(Permission::ManageIntegrations)?;
    state.app.delete_webhook(&id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn rotate_secret(
    auth: Authenticated,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Response> {
    auth.require(Permission::ManageIntegrations)?;
    Ok(Json(state.app.rotate_webhook_secret(&id).await?).into_response())
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeliveryQuery {
    /// `pending`, `delivered` or `dead` (the dead letters).
    #[schemars(extend("enum" = [outbox::PENDING, outbox::DELIVERED, outbox::DEAD]))]
    status: Option<String>,
    /// `webhook` or `email`.
    #[schemars(extend("enum" = ["webhook", "email"]))]
    channel: Option<String>,
    webhook_id: Option<String>,
    event_id: Option<String>,
    /// Cursor: the last delivery id of the previous page.
    before: Option<String>,
    /// 1 to 500 (default 100; larger values are capped).
    limit: Option<i64>,
}

/// `GET /api/v1/deliveries`: newest first; `?status=dead` is the dead-letter list.
async fn list_deliveries(
    auth: Authenticated,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<DeliveryQuery>,
) -> ApiResult<Response> {
    auth.require(Permission::ManageIntegrations)?;
    let limit = q.limit.unwrap_or(100).clamp(1, 500);
    let filter = DeliveryFilter {
        status: q.status,
        channel: q.channel,
        target: q.webhook_id,
        event_id: q.event_id,
        ids: None,
    };
    let deliveries = state
        .app
        .deliveries(&filter, q.before.as_deref(), limit)
        .await?;
    let next = (deliveries.len() as i64 == limit)
        .then(|| deliveries.last().map(|d| d.id.clone()))
        .flatten();
    Ok(Json(DeliveryList {
        deliveries,
        next_before: next,
    })
    .into_response())
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayRequest {
    /// These dead letters; or all of a webhook's, or all of an event's.
    ids: Option<Vec<String>>,
    webhook_id: Option<String>,
    event_id: Option<String>,
}

/// `POST /api/v1/deliveries/replay`: dead letters go back in the queue, due now.
async fn replay_deliveries(
    auth: Authenticated,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<ReplayRequest>,
) -> ApiResult<Response> {
    auth.require(Permission::ManageIntegrations)?;
    if body.ids.is_none() && body.webhook_id.is_none() && body.event_id.is_none() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "replay_needs_a_filter",
            "name the dead letters to replay: ids, webhook_id or event_id",
        ));
    }
    if body.ids.as_ref().is_some_and(|ids| ids.len() > 1000) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "too_many_ids",
            "replay at most 1000 ids at a time",
        )
        .field("ids"));
    }
    let filter = DeliveryFilter {
        status: None,
        channel: None,
        target: body.webhook_id,
        event_id: body.event_id,
        ids: body.ids,
    };
    let replayed = state.app.replay_deliveries(&filter).await?;
    Ok(Json(Replayed { replayed }).into_response())
}
