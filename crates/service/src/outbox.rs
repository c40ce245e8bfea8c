//! Notifications through the outbox. Changes write their events in their own
//! transaction (`record_lead_events`); a background worker fans each event out into
//! deliveries — one per matching webhook and per e-mail alert — and delivers them with
//! retries, backoff and dead letters. Leases taken with `FOR UPDATE SKIP LOCKED` let
//! any number of servers share the work without sending anything twice.

use crate::error::{Result, ServiceError};
use crate::App;
use futures::StreamExt;
use leadline_domain::netguard::{self, AllowedNetworks};
use leadline_domain::notify::{self, AfterAttempt, RetryPolicy, UrlProblem, WebhookHost};
use leadline_store::leads::LeadRecord;
use leadline_store::outbox::{self, AttemptRecord, Delivery, DeliveryFilter, OutboxEvent, Webhook};
use leadline_store::timeline::{self, TimelineEvent};
use leadline_store::work::LeadWork;
use leadline_store::{users, AnyConnection, StoreError};
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

pub const WEBHOOK: &str = "webhook";
pub const EMAIL: &str = "email";

/// How many deliveries one worker attempts at a time.
const CONCURRENT_ATTEMPTS: usize = 32;
/// How many events one dispatch transaction fans out.
const DISPATCH_BATCH: i64 = 500;
/// The least time between the starts of two worker runs.
const WORKER_MIN_GAP: Duration = Duration::from_millis(50);
/// The longest a webhook's host name may take to resolve when it is saved.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// Where e-mail alerts go out.
#[derive(Debug, Clone)]
pub struct SmtpConfig {
    /// `smtp://host:port` (plain, for a local relay), `smtp://…?tls=required`
    /// (STARTTLS) or `smtps://…` (TLS), with optional `user:password@`.
    pub url: String,
    /// The sender, e.g. `Leadline <leadline@example.com>`.
    pub from: String,
}

/// How notifications are delivered.
#[derive(Debug, Clone)]
pub struct NotifyConfig {
    /// Base URL for links in e-mails.
    pub public_url: String,
    /// E-mail alerts are off without it.
    pub smtp: Option<SmtpConfig>,
    /// The longest a webhook endpoint may take to answer.
    pub webhook_timeout: Duration,
    pub retry: RetryPolicy,
    /// Names this server's leases (unique per process).
    pub worker_id: String,
    /// Internal networks webhooks may reach anyway (`serve --webhook-allow-network`).
    /// Empty, the default, keeps webhooks to public addresses.
    pub allowed_networks: AllowedNetworks,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig {
            public_url: "http://127.0.0.1:8080".into(),
            smtp: None,
            webhook_timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            worker_id: format!("{}-{}", std::process::id(), ulid::Ulid::new()),
            allowed_networks: AllowedNetworks::default(),
        }
    }
}

/// The delivery side of the outbox, built once per process.
pub(crate) struct Outbox {
    config: NotifyConfig,
    http: reqwest::Client,
    smtp: Option<(AsyncSmtpTransport<Tokio1Executor>, Mailbox)>,
    /// Woken after a commit that wrote events: one signal for the SSE tail, one for
    /// the delivery worker. A signal sent while its listener is busy is kept for it.
    pub(crate) written_for_stream: Notify,
    written_for_worker: Notify,
}

impl Outbox {
    pub(crate) fn new(config: NotifyConfig) -> Result<Outbox> {
        // Every address a delivery connects to passes the guard: host names through
        // this resolver (at connect time, so a name re-pointed after the webhook was
        // saved is caught), address literals and ports in `attempt_webhook`. Redirects
        // are not followed (a 3xx is a failed attempt), so a public endpoint cannot
        // bounce a delivery inward; and no proxy from the environment is used, since
        // a proxy would connect on our behalf to whatever the URL names.
        let http = reqwest::Client::builder()
            .timeout(config.webhook_timeout)
            .connect_timeout(config.webhook_timeout.min(Duration::from_secs(5)))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver {
                allowed: config.allowed_networks.clone(),
            }))
            .user_agent(concat!("Leadline-Webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                ServiceError::Internal(anyhow::anyhow!("building the HTTP client: {e}"))
            })?;
        let smtp = match &config.smtp {
            None => None,
            Some(c) => {
                let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&c.url)
                    .map_err(|e| {
                        ServiceError::invalid("smtp_url", "invalid_smtp_url", e.to_string())
                    })?
                    .timeout(Some(config.webhook_timeout))
                    .build();
                let from: Mailbox = c.from.parse().map_err(|e| {
                    ServiceError::invalid("mail_from", "invalid_mail_from", format!("{e}"))
                })?;
                Some((transport, from))
            }
        };
        Ok(Outbox {
            config,
            http,
            smtp,
            written_for_stream: Notify::new(),
            written_for_worker: Notify::new(),
        })
    }
}

/// The lead as notifications show it.
pub(crate) fn lead_summary(lead: &LeadRecord, w: Option<&LeadWork>) -> Value {
    let f = &lead.fields;
    let name = [f.first_name.as_deref(), f.last_name.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    json!({
        "id": lead.id, "name": name, "first_name": f.first_name, "last_name": f.last_name,
        "title": f.title, "company": f.company, "email": f.email, "phone": f.phone,
        "country": f.country, "stage": lead.stage, "score": w.and_then(|w| w.score),
        "owner_id": w.and_then(|w| w.owner_id.as_deref()),
        "source_id": lead.source_id, "created_at": lead.created_at,
    })
}

/// Appends a lead's timeline events and, in the same transaction, an outbox event for
/// each that notifies (assignment, stage change, SLA breach, failed routing).
pub(crate) async fn record_lead_events(
    conn: &mut AnyConnection,
    lead: &LeadRecord,
    w: &LeadWork,
    events: &[TimelineEvent],
) -> Result<usize> {
    let mut pending = LeadEvents::default();
    let notifications = pending.add(lead, w, events);
    pending.write(conn).await?;
    Ok(notifications)
}

/// Timeline events and the notifications they cause, gathered while a transaction
/// works on a lead and written together at its end (two statements, not two a step).
/// Each notification shows the lead as it was when its event happened.
#[derive(Default)]
pub(crate) struct LeadEvents {
    timeline: Vec<TimelineEvent>,
    outbox: Vec<OutboxEvent>,
}

impl LeadEvents {
    /// Adds events that happened to `lead` (with work row `w`); returns how many of them
    /// notify someone.
    pub(crate) fn add(
        &mut self,
        lead: &LeadRecord,
        w: &LeadWork,
        events: &[TimelineEvent],
    ) -> usize {
        let before = self.outbox.len();
        self.timeline.extend_from_slice(events);
        self.outbox.extend(notifications(lead, w, events));
        self.outbox.len() - before
    }

    /// Moves `other`'s events after these.
    pub(crate) fn append(&mut self, other: &mut LeadEvents) {
        self.timeline.append(&mut other.timeline);
        self.outbox.append(&mut other.outbox);
    }

    /// Writes what was gathered; returns how many notifications were written.
    pub(crate) async fn write(&mut self, conn: &mut AnyConnection) -> Result<usize> {
        timeline::append(conn, &self.timeline).await?;
        outbox::emit(conn, &self.outbox).await?;
        self.timeline.clear();
        Ok(std::mem::take(&mut self.outbox).len())
    }
}

/// The outbox events a lead's timeline events cause.
fn notifications(lead: &LeadRecord, w: &LeadWork, events: &[TimelineEvent]) -> Vec<OutboxEvent> {
    let mut summary = lead_summary(lead, Some(w));
    let mut out = Vec::new();
    for e in events {
        if e.kind == "stage_changed" {
            summary["stage"] = e.payload["to"].clone();
        }
        let Some(topic) = notify::topic_for_timeline_kind(&e.kind) else {
            continue;
        };
        let mut payload = e.payload.clone();
        if let Value::Object(map) = &mut payload {
            map.insert("lead".into(), summary.clone());
            map.insert("actor".into(), json!(e.actor));
        }
        let audience = notify::audience(w.owner_id.as_deref(), &payload);
        out.push(OutboxEvent::new(
            topic,
            Some(&lead.id),
            audience,
            payload,
            e.occurred_at,
        ));
    }
    out
}

/// The JSON a webhook or SSE client receives for an event.
pub fn envelope(e: &OutboxEvent) -> Value {
    let timestamp =
        time::OffsetDateTime::from_unix_timestamp_nanos(e.occurred_at as i128 * 1_000_000)
            .ok()
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            });
    json!({ "id": e.id, "type": e.topic, "timestamp": timestamp, "lead_id": e.lead_id, "data": e.payload })
}

/// What one pass of the worker did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct OutboxRun {
    pub dispatched_events: usize,
    pub delivered: usize,
    pub retried: usize,
    pub dead: usize,
}

impl OutboxRun {
    fn is_idle(&self) -> bool {
        *self == OutboxRun::default()
    }
}

/// One attempt's result.
struct Attempt {
    ok: bool,
    /// Retrying cannot help (the webhook or recipient is gone).
    permanent: bool,
    status_code: Option<i64>,
    /// What API callers see (`last_error`): generic, never an OS error, an address or
    /// a port, so the delivery log cannot be used to map a network.
    error: Option<String>,
    /// The precise cause, for the server log only.
    detail: Option<String>,
}

impl Attempt {
    fn failed(permanent: bool, error: impl Into<String>) -> Attempt {
        Attempt {
            ok: false,
            permanent,
            status_code: None,
            error: Some(error.into()),
            detail: None,
        }
    }

    fn detail(mut self, detail: impl std::fmt::Display) -> Attempt {
        self.detail = Some(detail.to_string());
        self
    }
}

/// What API callers are told when the guard refused a delivery's destination.
pub const REFUSED_DESTINATION: &str = "the destination address is not allowed";

/// Resolves webhook host names and keeps only the addresses the guard permits; with
/// none left the connection fails before it is tried.
struct GuardedResolver {
    allowed: AllowedNetworks,
}

/// A host name resolved only to addresses the guard refuses.
#[derive(Debug, thiserror::Error)]
#[error("{name} resolves only to refused addresses: {refused}")]
struct DestinationRefused {
    name: String,
    refused: String,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allowed = self.allowed.clone();
        let name = name.as_str().to_string();
        Box::pin(async move {
            let resolved: Vec<SocketAddr> =
                tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            let (permitted, refused): (Vec<SocketAddr>, Vec<SocketAddr>) = resolved
                .into_iter()
                .partition(|a| netguard::check_address(a.ip(), &allowed).is_ok());
            if permitted.is_empty() {
                let refused = refused
                    .iter()
                    .map(|a| a.ip().to_string())
                    .collect::<Vec<_>>()
                    .join(", ");
                return Err(Box::new(DestinationRefused { name, refused }) as _);
            }
            if !refused.is_empty() {
                tracing::warn!(host = %name, refused = ?refused, "webhook host resolves partly to refused addresses; using the others");
            }
            Ok(Box::new(permitted.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// Whether an error (or one of its causes) is the guard's refusal.
fn refused_by_guard(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(err);
    while let Some(e) = cause {
        if e.is::<DestinationRefused>() {
            return true;
        }
        cause = e.source();
    }
    false
}

/// An error with its chain of causes, for the log.
fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut cause = err.source();
    while let Some(e) = cause {
        text.push_str(": ");
        text.push_str(&e.to_string());
        cause = e.source();
    }
    text
}

/// Checks a webhook URL's destination before it is saved: an address literal was
/// checked with the URL; a host name must resolve, and to permitted addresses only.
pub(crate) async fn check_webhook_destination(
    url: &url::Url,
    allowed: &AllowedNetworks,
) -> std::result::Result<(), UrlProblem> {
    let Some((WebhookHost::Name(name), port)) = notify::webhook_host(url) else {
        return Ok(());
    };
    let resolved = tokio::time::timeout(
        RESOLVE_TIMEOUT,
        tokio::net::lookup_host((name.as_str(), port)),
    )
    .await;
    let addrs: Vec<SocketAddr> = match resolved {
        Ok(Ok(addrs)) => addrs.collect(),
        Ok(Err(e)) => {
            tracing::info!(host = %name, error = %e, "webhook host does not resolve");
            Vec::new()
        }
        Err(_) => {
            tracing::info!(host = %name, "webhook host did not resolve in time");
            Vec::new()
        }
    };
    if addrs.is_empty() {
        return Err(UrlProblem::unresolvable(&name));
    }
    for a in addrs {
        if let Err(refused) = netguard::check_destination(a.ip(), port, allowed) {
            tracing::warn!(host = %name, address = %a.ip(), %refused, "webhook URL refused");
            return Err(UrlProblem::refused(&refused, &name));
        }
    }
    Ok(())
}

/// A new or changed webhook subscription.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(example = serde_json::json!({ "url": "https://crm.example.com/hooks/leadline",
    "topics": ["lead.assigned", "lead.sla_breached"], "description": "CRM sync" }))]
pub struct WebhookInput {
    /// An http(s) URL on a public address (ports 80, 443 or from 1024 up); required
    /// when creating.
    #[schemars(extend("format" = "uri"))]
    pub url: Option<String>,
    /// `lead.created`, `lead.assigned`, `lead.routing_failed`, `lead.stage_changed`,
    /// `lead.sla_breached`, `import.finished`, a group such as `lead.*`, or `*`; empty or
    /// absent: all.
    pub topics: Option<Vec<String>>,
    pub description: Option<String>,
    pub active: Option<bool>,
}

/// A webhook with its secret, as shown once at creation or rotation.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct WebhookWithSecret {
    #[serde(flatten)]
    pub webhook: Webhook,
    pub secret: String,
}

impl App {
    /// Tells the SSE hub and the worker that events were committed.
    pub(crate) fn outbox_written(&self) {
        self.outbox.written_for_stream.notify_one();
        self.outbox.written_for_worker.notify_one();
    }

    /// Fans undispatched events out into deliveries, a batch per transaction, until
    /// none are left. Returns how many events it dispatched.
    pub async fn dispatch_outbox(&self) -> Result<usize> {
        let hooks: Vec<Webhook> = {
            let mut conn = self.db.acquire().await?;
            outbox::webhooks(&mut conn).await?
        };
        let mut total = 0;
        loop {
            let now = self.now();
            let mut tx = self.db.begin().await?;
            let events = outbox::claim_undispatched(&mut tx, DISPATCH_BATCH).await?;
            if events.is_empty() {
                return Ok(total);
            }
            let more = events.len() as i64 == DISPATCH_BATCH;
            let mut deliveries = Vec::new();
            for e in &events {
                for h in hooks
                    .iter()
                    .filter(|h| h.active && notify::topic_matches(&h.topics, &e.topic))
                {
                    deliveries.push(Delivery::new(&e.id, WEBHOOK, &h.id, now));
                }
                if self.outbox.smtp.is_some() {
                    for alert in notify::email_alerts(&e.topic, &e.payload, "") {
                        deliveries.push(Delivery::new(&e.id, EMAIL, &alert.recipient_user_id, now));
                    }
                }
            }
            outbox::insert_deliveries(&mut tx, &deliveries).await?;
            let ids: Vec<String> = events.iter().map(|e| e.id.clone()).collect();
            outbox::mark_dispatched(&mut tx, &ids, now).await?;
            tx.commit().await.map_err(StoreError::from)?;
            total += events.len();
            if !more {
                return Ok(total);
            }
        }
    }

    /// Attempts the deliveries that are due (one leased batch) and records each result:
    /// delivered, retried later with backoff, or parked as a dead letter.
    pub async fn deliver_due(&self) -> Result<OutboxRun> {
        let config = &self.outbox.config;
        let now = self.now();
        let timeout_ms = config.webhook_timeout.as_millis() as i64;
        let lease_until = now + 2 * timeout_ms + 30_000;
        let claimed = {
            let mut tx = self.db.begin().await?;
            let claimed =
                outbox::claim_due(&mut tx, &config.worker_id, now, lease_until, 100).await?;
            tx.commit().await.map_err(StoreError::from)?;
            claimed
        };
        let mut run = OutboxRun::default();
        if claimed.is_empty() {
            return Ok(run);
        }
        let hooks: HashMap<String, Webhook> = {
            let mut conn = self.db.acquire().await?;
            outbox::webhooks(&mut conn)
                .await?
                .into_iter()
                .map(|h| (h.id.clone(), h))
                .collect()
        };
        let hooks = &hooks;
        let results: Vec<(Delivery, Attempt)> = futures::stream::iter(claimed)
            .map(|(d, e)| async move {
                let attempt = match d.channel.as_str() {
                    WEBHOOK => self.attempt_webhook(hooks.get(&d.target), &e).await,
                    EMAIL => self.attempt_email(&d.target, &e).await,
                    other => Attempt::failed(true, format!("unknown channel {other:?}")),
                };
                (d, attempt)
            })
            .buffer_unordered(CONCURRENT_ATTEMPTS)
            .collect()
            .await;
        let now = self.now();
        let mut tx = self.db.begin().await?;
        for (d, a) in results {
            let attempts = d.attempts + 1;
            let seed = jitter_seed(&d.id);
            let after = if a.permanent {
                AfterAttempt::Dead
            } else {
                config
                    .retry
                    .after_attempt(a.ok, attempts.try_into().unwrap_or(u32::MAX), now, seed)
            };
            let (status, next, delivered_at) = match after {
                AfterAttempt::Delivered => {
                    run.delivered += 1;
                    (outbox::DELIVERED, d.next_attempt_at, Some(now))
                }
                AfterAttempt::RetryAt(at) => {
                    run.retried += 1;
                    (outbox::PENDING, at, None)
                }
                AfterAttempt::Dead => {
                    run.dead += 1;
                    (outbox::DEAD, d.next_attempt_at, None)
                }
            };
            if let Some(error) = &a.error {
                let detail = a.detail.as_deref().unwrap_or(error);
                tracing::warn!(delivery_id = %d.id, channel = %d.channel, target = %d.target, attempts, status, %error, %detail, "delivery attempt failed");
            }
            let record = AttemptRecord {
                status,
                attempts,
                next_attempt_at: next,
                last_error: a.error,
                last_status_code: a.status_code,
                delivered_at,
            };
            outbox::record_attempt(&mut tx, &d.id, &config.worker_id, &record, now).await?;
        }
        tx.commit().await.map_err(StoreError::from)?;
        Ok(run)
    }

    /// Dispatches and delivers until nothing is due now.
    pub async fn run_outbox(&self) -> Result<OutboxRun> {
        let mut total = OutboxRun {
            dispatched_events: self.dispatch_outbox().await?,
            ..Default::default()
        };
        loop {
            let run = self.deliver_due().await?;
            if run.is_idle() {
                return Ok(total);
            }
            total.delivered += run.delivered;
            total.retried += run.retried;
            total.dead += run.dead;
        }
    }

    /// The background worker of `serve`: runs the outbox whenever events are written,
    /// and at least every `poll` for retries that fall due. Errors are logged and the
    /// worker goes on.
    pub fn spawn_outbox_worker(&self, poll: Duration) -> tokio::task::JoinHandle<()> {
        let app = self.clone();
        tokio::spawn(async move {
            while !app.is_stopping() {
                let run_at = tokio::time::Instant::now();
                match app.run_outbox().await {
                    Ok(run) if !run.is_idle() => tracing::debug!(?run, "outbox run"),
                    Ok(_) => {}
                    Err(e) => tracing::error!(error = %e, "outbox worker failed; retrying"),
                }
                tokio::select! {
                    _ = app.outbox.written_for_worker.notified() => {}
                    _ = tokio::time::sleep(poll) => {}
                    _ = app.stopped() => return,
                }
                // Under load every commit wakes the worker; a short pause lets one
                // run take many events instead of a few.
                tokio::time::sleep_until(run_at + WORKER_MIN_GAP).await;
            }
        })
    }

    async fn attempt_webhook(&self, hook: Option<&Webhook>, e: &OutboxEvent) -> Attempt {
        let Some(hook) = hook else {
            return Attempt::failed(true, "the webhook was deleted");
        };
        if !hook.active {
            return Attempt::failed(true, "the webhook is disabled");
        }
        let key = match notify::secret_key(&hook.secret) {
            Ok(k) => k,
            Err(e) => return Attempt::failed(true, e.to_string()),
        };
        // The URL was checked when it was saved, but stored rows may predate the
        // check or the operator's allow list may have shrunk: check again. Host names
        // are checked by the client's resolver when it connects.
        let url = match url::Url::parse(&hook.url) {
            Ok(url) => url,
            Err(err) => {
                return Attempt::failed(true, "the webhook URL is not valid")
                    .detail(format!("{:?}: {err}", hook.url))
            }
        };
        let allowed = &self.outbox.config.allowed_networks;
        match notify::webhook_host(&url) {
            None => return Attempt::failed(true, "the webhook URL is not valid").detail("no host"),
            Some((host, port)) => {
                let refused = match host {
                    WebhookHost::Ip(ip) => netguard::check_destination(ip, port, allowed).err(),
                    WebhookHost::Name(_) => {
                        (!netguard::port_allowed(port)).then_some(netguard::Refused::Port(port))
                    }
                };
                if let Some(refused) = refused {
                    return Attempt::failed(true, REFUSED_DESTINATION).detail(refused);
                }
            }
        }
        let body = envelope(e).to_string();
        let timestamp = self.now().div_euclid(1000);
        let signature = notify::sign(&key, &e.id, timestamp, body.as_bytes());
        let sent = self
            .outbox
            .http
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", &e.id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await;
        match sent {
            Ok(response) => {
                let code = response.status();
                let error = if code.is_success() {
                    None
                } else if code.is_redirection() {
                    Some(format!(
                        "the endpoint answered {code}; redirects are not followed"
                    ))
                } else {
                    Some(format!("the endpoint answered {code}"))
                };
                Attempt {
                    ok: code.is_success(),
                    permanent: false,
                    status_code: Some(code.as_u16().into()),
                    error,
                    detail: None,
                }
            }
            Err(err) => {
                let why = if refused_by_guard(&err) {
                    REFUSED_DESTINATION.to_string()
                } else if err.is_timeout() {
                    format!(
                        "no answer within {} ms",
                        self.outbox.config.webhook_timeout.as_millis()
                    )
                } else if err.is_connect() {
                    "could not connect to the endpoint".to_string()
                } else {
                    "the request failed".to_string()
                };
                Attempt::failed(false, why).detail(chain(&err))
            }
        }
    }

    async fn attempt_email(&self, recipient_id: &str, e: &OutboxEvent) -> Attempt {
        let Some((transport, from)) = &self.outbox.smtp else {
            return Attempt::failed(false, "e-mail is not configured (no SMTP URL)");
        };
        let user = {
            let mut conn = match self.db.acquire().await {
                Ok(c) => c,
                Err(err) => {
                    return Attempt::failed(false, "could not read the recipient").detail(err)
                }
            };
            match users::user_by_id(&mut conn, recipient_id).await {
                Ok(u) => u,
                Err(err) => {
                    return Attempt::failed(false, "could not read the recipient").detail(err)
                }
            }
        };
        let Some(user) = user.filter(|u| u.active) else {
            return Attempt::failed(true, "the recipient is not an active user");
        };
        let lead_url = format!(
            "{}/api/v1/leads/{}",
            self.outbox.config.public_url.trim_end_matches('/'),
            e.lead_id.as_deref().unwrap_or_default()
        );
        let Some(alert) = notify::email_alerts(&e.topic, &e.payload, &lead_url)
            .into_iter()
            .find(|a| a.recipient_user_id == recipient_id)
        else {
            return Attempt::failed(true, "the event raises no alert for this recipient");
        };
        let to = match user.email.parse() {
            Ok(address) => Mailbox::new(Some(user.name.clone()), address),
            Err(err) => {
                return Attempt::failed(true, "the recipient's e-mail address is not valid")
                    .detail(err)
            }
        };
        let message = lettre::Message::builder()
            .from(from.clone())
            .to(to)
            .subject(alert.subject)
            .header(lettre::message::header::ContentType::TEXT_PLAIN)
            .body(alert.body);
        let message = match message {
            Ok(m) => m,
            Err(err) => return Attempt::failed(true, "the message could not be built").detail(err),
        };
        match transport.send(message).await {
            Ok(_) => Attempt {
                ok: true,
                permanent: false,
                status_code: None,
                error: None,
                detail: None,
            },
            Err(err) => {
                let why = if err.is_permanent() {
                    "SMTP: the mail server refused the message"
                } else if err.is_transient() {
                    "SMTP: the mail server deferred the message"
                } else if err.is_timeout() {
                    "SMTP: no answer from the mail server in time"
                } else {
                    "SMTP: could not reach the mail server"
                };
                Attempt::failed(err.is_permanent(), why).detail(chain(&err))
            }
        }
    }

    pub async fn create_webhook(&self, input: WebhookInput) -> Result<WebhookWithSecret> {
        let url = input
            .url
            .as_deref()
            .ok_or_else(|| ServiceError::invalid("url", "required", "url is required"))?;
        let now = self.now();
        let secret = notify::generate_secret(&mut rand::thread_rng());
        let mut hook = Webhook {
            id: leadline_store::new_id(),
            url: String::new(),
            secret: secret.clone(),
            topics: Vec::new(),
            description: String::new(),
            active: true,
            created_at: now,
            updated_at: now,
        };
        let allowed = &self.outbox.config.allowed_networks;
        let checked = apply_webhook_input(
            &mut hook,
            &WebhookInput {
                url: Some(url.into()),
                ..input
            },
            allowed,
        )?;
        check_destination_of(checked.as_ref(), allowed).await?;
        let mut conn = self.db.acquire().await?;
        outbox::save_webhook(&mut conn, &hook, true).await?;
        Ok(WebhookWithSecret {
            webhook: hook,
            secret,
        })
    }

    pub async fn update_webhook(&self, id: &str, input: WebhookInput) -> Result<Webhook> {
        let mut hook = self.webhook(id).await?;
        let allowed = &self.outbox.config.allowed_networks;
        let checked = apply_webhook_input(&mut hook, &input, allowed)?;
        check_destination_of(checked.as_ref(), allowed).await?;
        hook.updated_at = self.now();
        let mut conn = self.db.acquire().await?;
        outbox::save_webhook(&mut conn, &hook, false).await?;
        Ok(hook)
    }

    /// A new signing secret; the old one stops working at once.
    pub async fn rotate_webhook_secret(&self, id: &str) -> Result<WebhookWithSecret> {
        let mut hook = self.webhook(id).await?;
        hook.secret = notify::generate_secret(&mut rand::thread_rng());
        hook.updated_at = self.now();
        let mut conn = self.db.acquire().await?;
        outbox::save_webhook(&mut conn, &hook, false).await?;
        let secret = hook.secret.clone();
        Ok(WebhookWithSecret {
            webhook: hook,
            secret,
        })
    }

    pub async fn webhook(&self, id: &str) -> Result<Webhook> {
        let mut conn = self.db.acquire().await?;
        outbox::webhook(&mut conn, id)
            .await?
            .ok_or_else(|| ServiceError::not_found("webhook", id))
    }

    pub async fn webhooks(&self) -> Result<Vec<Webhook>> {
        let mut conn = self.db.acquire().await?;
        Ok(outbox::webhooks(&mut conn).await?)
    }

    /// Deletes a webhook; its pending deliveries become dead letters when next tried.
    pub async fn delete_webhook(&self, id: &str) -> Result<()> {
        let mut conn = self.db.acquire().await?;
        if outbox::delete_webhook(&mut conn, id).await? {
            Ok(())
        } else {
            Err(ServiceError::not_found("webhook", id))
        }
    }

    pub async fn deliveries(
        &self,
        filter: &DeliveryFilter,
        before: Option<&str>,
        limit: i64,
    ) -> Result<Vec<Delivery>> {
        if let Some(status) = &filter.status {
            if ![outbox::PENDING, outbox::DELIVERED, outbox::DEAD].contains(&status.as_str()) {
                return Err(ServiceError::invalid(
                    "status",
                    "unknown_status",
                    "status is pending, delivered or dead",
                ));
            }
        }
        let mut conn = self.db.acquire().await?;
        Ok(outbox::list_deliveries(&mut conn, filter, before, limit.clamp(1, 500)).await?)
    }

    /// Queues dead letters matching `filter` again; returns how many.
    pub async fn replay_deliveries(&self, filter: &DeliveryFilter) -> Result<u64> {
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let n = outbox::replay_dead(&mut tx, filter, now).await?;
        tx.commit().await.map_err(StoreError::from)?;
        if n > 0 {
            self.outbox_written();
        }
        Ok(n)
    }
}

/// Resolves a new URL's host name once everything else in the input was valid (no
/// DNS work for a request that fails anyway).
async fn check_destination_of(url: Option<&url::Url>, allowed: &AllowedNetworks) -> Result<()> {
    let Some(url) = url else {
        return Ok(());
    };
    check_webhook_destination(url, allowed)
        .await
        .map_err(|p| ServiceError::Invalid(vec![field_error("url", p.code, p.message)]))
}

/// Applies the input's fields to `hook`, or fails with every field error; returns the
/// new URL, if any, whose host name the caller still has to resolve and check.
fn apply_webhook_input(
    hook: &mut Webhook,
    input: &WebhookInput,
    allowed: &AllowedNetworks,
) -> Result<Option<url::Url>> {
    let mut errors = Vec::new();
    let mut checked = None;
    if let Some(url) = &input.url {
        match notify::validate_webhook_url(url, allowed) {
            Ok(u) => {
                hook.url = u.to_string();
                checked = Some(u);
            }
            Err(p) => errors.push(field_error("url", p.code, p.message)),
        }
    }
    if let Some(topics) = &input.topics {
        match notify::validate_topic_filter(topics) {
            Ok(()) => hook.topics = topics.clone(),
            Err(problems) => errors.extend(
                problems
                    .into_iter()
                    .map(|m| field_error("topics", "unknown_topic", m)),
            ),
        }
    }
    if let Some(description) = &input.description {
        if description.chars().count() > 500 {
            errors.push(field_error(
                "description",
                "too_long",
                "description is at most 500 characters".into(),
            ));
        } else {
            hook.description = description.clone();
        }
    }
    if let Some(active) = input.active {
        hook.active = active;
    }
    if errors.is_empty() {
        Ok(checked)
    } else {
        Err(ServiceError::Invalid(errors))
    }
}

fn field_error(field: &str, code: &str, message: String) -> leadline_domain::normalize::FieldError {
    leadline_domain::normalize::FieldError {
        field: field.into(),
        code: code.into(),
        message,
    }
}

/// A stable number from a delivery id, to spread its retries.
fn jitter_seed(id: &str) -> u64 {
    id.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}
