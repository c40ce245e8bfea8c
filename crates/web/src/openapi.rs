//! `GET /api/v1/openapi.json`: the OpenAPI 3.1 document of every endpoint.
//!
//! Written as data rather than derived from handler annotations, so the service and
//! domain types stay free of HTTP concerns; an integration test calls every operation
//! listed here to prove the document and the router agree.

use crate::AppState;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/openapi.json", get(|| async { Json(document()) }))
}

/// One documented operation.
pub struct Operation {
    pub method: &'static str,
    pub path: &'static str,
    pub summary: &'static str,
    pub auth: bool,
    pub request: Option<&'static str>,
    pub responses: &'static [(&'static str, &'static str)],
}

const ERR: (&str, &str) = (
    "4XX",
    "Error: {\"error\":{\"code\",\"message\",\"field\",\"details\"}}",
);

pub const OPERATIONS: &[Operation] = &[
    Operation { method: "get", path: "/healthz", summary: "Liveness: the server and its database answer", auth: false, request: None,
        responses: &[("200", "Healthy"), ("503", "Database unreachable")] },
    Operation { method: "get", path: "/api/v1/openapi.json", summary: "This document", auth: false, request: None,
        responses: &[("200", "OpenAPI document")] },
    Operation { method: "post", path: "/api/v1/leads", summary: "Capture a lead (honours Idempotency-Key)", auth: true, request: Some("CreateLead"),
        responses: &[("201", "Created a new lead"), ("200", "Merged into an existing lead"), ("409", "Idempotency key in progress; retry after the Retry-After seconds"), ERR] },
    Operation { method: "get", path: "/api/v1/leads", summary: "List leads, newest first, filtered by email, phone, company, source, stage, created_from, created_to; cursor pagination", auth: true, request: None,
        responses: &[("200", "{leads, next_cursor}"), ERR] },
    Operation { method: "get", path: "/api/v1/leads/{id}", summary: "A lead with its touches, consents and match decisions", auth: true, request: None,
        responses: &[("200", "Lead"), ERR] },
    Operation { method: "patch", path: "/api/v1/leads/{id}", summary: "Change fields (string sets, null clears); every change is a timeline event", auth: true, request: Some("LeadPatch"),
        responses: &[("200", "Updated lead"), ERR] },
    Operation { method: "get", path: "/api/v1/leads/{id}/timeline", summary: "The lead's append-only history", auth: true, request: None,
        responses: &[("200", "{lead_id, events}"), ERR] },
    Operation { method: "post", path: "/api/v1/leads/{id}/merge", summary: "Merge another lead into this one", auth: true, request: Some("MergeRequest"),
        responses: &[("200", "{merge_id, survivor_id, merged_id, lead}"), ERR] },
    Operation { method: "post", path: "/api/v1/merges/{id}/undo", summary: "Undo a merge, restoring both leads exactly", auth: true, request: None,
        responses: &[("200", "{merge_id, undone_at, survivor, restored}"), ERR] },
    Operation { method: "post", path: "/api/v1/forms", summary: "Define a capture form", auth: true, request: Some("NewForm"),
        responses: &[("201", "Form with its public url"), ERR] },
    Operation { method: "get", path: "/api/v1/forms", summary: "List forms", auth: true, request: None,
        responses: &[("200", "{forms}")] },
    Operation { method: "get", path: "/api/v1/forms/{id}", summary: "A form", auth: true, request: None,
        responses: &[("200", "Form"), ERR] },
    Operation { method: "get", path: "/api/v1/forms/{id}/embed", summary: "Embed snippets (iframe, JSON posting)", auth: true, request: None,
        responses: &[("200", "{url, iframe, token_url, json_example}"), ERR] },
    Operation { method: "get", path: "/f/{key}", summary: "Hosted form page (HTML)", auth: false, request: None,
        responses: &[("200", "text/html"), ERR] },
    Operation { method: "get", path: "/f/{key}/token", summary: "A signed form token for sites posting JSON themselves", auth: false, request: None,
        responses: &[("200", "{token, field, min_fill_seconds}"), ERR] },
    Operation { method: "post", path: "/f/{key}", summary: "Submit a form: URL-encoded or JSON, CORS, 64 KiB cap, per-IP rate limit", auth: false, request: Some("FormSubmission"),
        responses: &[("200", "JSON result or thank-you page"), ("303", "Redirect to the form's redirect_url"), ("413", "Body over 64 KiB"), ("429", "Rate limited"), ERR] },
    Operation { method: "post", path: "/api/v1/imports", summary: "Upload a CSV (multipart: file, source, campaign, channel, default_region, map=column=field…); runs in the background", auth: true, request: Some("ImportUpload"),
        responses: &[("202", "Queued import job"), ERR] },
    Operation { method: "get", path: "/api/v1/imports/{id}", summary: "Import progress and counts; ?wait=SECONDS long-polls until it finishes", auth: true, request: None,
        responses: &[("200", "Import job"), ERR] },
    Operation { method: "get", path: "/api/v1/imports/{id}/report", summary: "Per-row report (CSV: line, outcome, lead_id, reason)", auth: true, request: None,
        responses: &[("200", "text/csv"), ("409", "Not finished"), ERR] },
    Operation { method: "get", path: "/api/v1/sources", summary: "List sources", auth: true, request: None,
        responses: &[("200", "Sources")] },
    Operation { method: "get", path: "/api/v1/campaigns", summary: "List campaigns", auth: true, request: None,
        responses: &[("200", "Campaigns")] },
    Operation { method: "post", path: "/api/v1/campaigns", summary: "Create a campaign with its source, channel, cost (cost_cents, or a decimal cost, with an ISO 4217 currency) and dates (admin, marketer)", auth: true, request: Some("CampaignInput"),
        responses: &[("201", "Campaign"), ("409", "Name taken"), ERR] },
    Operation { method: "get", path: "/api/v1/campaigns/{id}", summary: "A campaign", auth: true, request: None,
        responses: &[("200", "Campaign"), ERR] },
    Operation { method: "patch", path: "/api/v1/campaigns/{id}", summary: "Change a campaign's fields; null clears cost, currency and dates (admin, marketer)", auth: true, request: Some("CampaignInput"),
        responses: &[("200", "Campaign"), ("409", "Name taken"), ERR] },
    Operation { method: "get", path: "/api/v1/users", summary: "List users (admin, manager)", auth: true, request: None,
        responses: &[("200", "{users}"), ERR] },
    Operation { method: "post", path: "/api/v1/users", summary: "Create a user with a role and rep settings (admin)", auth: true, request: Some("UserInput"),
        responses: &[("201", "User"), ERR] },
    Operation { method: "get", path: "/api/v1/users/me", summary: "The user this token acts as, with its role", auth: true, request: None,
        responses: &[("200", "{user, role, token}")] },
    Operation { method: "get", path: "/api/v1/users/{id}", summary: "A user", auth: true, request: None,
        responses: &[("200", "User"), ERR] },
    Operation { method: "patch", path: "/api/v1/users/{id}", summary: "Change a user's role, activity or rep settings (admin)", auth: true, request: Some("UserInput"),
        responses: &[("200", "User"), ERR] },
    Operation { method: "get", path: "/api/v1/teams", summary: "List teams with manager and members", auth: true, request: None,
        responses: &[("200", "{teams}"), ERR] },
    Operation { method: "post", path: "/api/v1/teams", summary: "Create a team (admin, manager)", auth: true, request: Some("TeamInput"),
        responses: &[("201", "Team"), ERR] },
    Operation { method: "put", path: "/api/v1/teams/{id}", summary: "Replace a team's name, manager and members", auth: true, request: Some("TeamInput"),
        responses: &[("200", "Team"), ERR] },
    Operation { method: "get", path: "/api/v1/lifecycle", summary: "The lifecycle: stages (with funnel, ladder and qualification level), transitions, playbooks, disqualify reasons", auth: true, request: None,
        responses: &[("200", "Lifecycle")] },
    Operation { method: "put", path: "/api/v1/lifecycle", summary: "Replace the lifecycle (admin); validated as a whole", auth: true, request: Some("Lifecycle"),
        responses: &[("200", "Lifecycle"), ERR] },
    Operation { method: "get", path: "/api/v1/leads/{id}/qualification", summary: "Stage in every vocabulary, answers, horizon, sales-readiness", auth: true, request: None,
        responses: &[("200", "Qualification"), ERR] },
    Operation { method: "put", path: "/api/v1/leads/{id}/answers", summary: "Record qualification answers (null clears) and optionally override the horizon", auth: true, request: Some("AnswersInput"),
        responses: &[("200", "Qualification"), ERR] },
    Operation { method: "post", path: "/api/v1/leads/{id}/stage", summary: "Move a lead to a stage; transitions, playbooks and disqualify reasons are enforced", auth: true, request: Some("StageChange"),
        responses: &[("200", "Qualification"), ERR] },
    Operation { method: "get", path: "/api/v1/scoring", summary: "Fit and engagement rules (with half-lives) and thresholds", auth: true, request: None,
        responses: &[("200", "ScoringConfig")] },
    Operation { method: "put", path: "/api/v1/scoring", summary: "Replace the scoring rules (admin, manager, marketer); validated whole", auth: true, request: Some("ScoringConfig"),
        responses: &[("200", "ScoringConfig"), ERR] },
    Operation { method: "post", path: "/api/v1/leads/{id}/events", summary: "Record an engagement event; the lead is rescored and may move up a stage", auth: true, request: Some("EngagementEvent"),
        responses: &[("201", "Score"), ERR] },
    Operation { method: "get", path: "/api/v1/leads/{id}/score", summary: "The lead's score: fit, engagement, total and every part that gave points", auth: true, request: None,
        responses: &[("200", "Score"), ERR] },
    Operation { method: "post", path: "/api/v1/leads/{id}/touches", summary: "Log a touch (call_attempt, connected_call, voicemail, email, meeting, note) with outcome, notes and the next step", auth: true, request: Some("TouchInput"),
        responses: &[("201", "Touch with time to first touch and next step"), ERR] },
    Operation { method: "get", path: "/api/v1/leads/{id}/touches", summary: "The lead's touches, oldest first", auth: true, request: None,
        responses: &[("200", "{lead_id, touches}"), ERR] },
    Operation { method: "get", path: "/api/v1/losing-touch", summary: "Leads losing touch: next step overdue, untouched for max_idle_hours (default 72), or worked without a next step", auth: true, request: None,
        responses: &[("200", "{max_idle_hours, leads}"), ERR] },
    Operation { method: "get", path: "/api/v1/routing", summary: "The ordered routing rules (admin, manager)", auth: true, request: None,
        responses: &[("200", "{rules}"), ERR] },
    Operation { method: "put", path: "/api/v1/routing", summary: "Replace the routing rules; checked against current reps and teams (unknown ids, unreachable rules, cycles)", auth: true, request: Some("RoutingRules"),
        responses: &[("200", "{rules}"), ERR] },
    Operation { method: "post", path: "/api/v1/leads/{id}/route", summary: "Route a lead now; the decision and its reasons go to the timeline", auth: true, request: None,
        responses: &[("200", "{lead_id, owner_id, rule_id, team_id, explanation}"), ERR] },
    Operation { method: "get", path: "/api/v1/sla-policies", summary: "Speed-to-lead policies (per channel or priority; default: touch a sales-ready web lead within 5 working minutes)", auth: true, request: None,
        responses: &[("200", "{policies}"), ERR] },
    Operation { method: "put", path: "/api/v1/sla-policies", summary: "Replace the speed-to-lead policies (admin, manager)", auth: true, request: Some("SlaPolicies"),
        responses: &[("200", "{policies}"), ERR] },
    Operation { method: "get", path: "/api/v1/accounts/{id}", summary: "An account (company by web domain) with its owner", auth: true, request: None,
        responses: &[("200", "Account"), ERR] },
    Operation { method: "put", path: "/api/v1/accounts/{id}/owner", summary: "Give an account to a rep (null frees it); account-owner routing rules send its leads there", auth: true, request: Some("AccountOwner"),
        responses: &[("200", "Account"), ERR] },
    Operation { method: "get", path: "/api/v1/stream", summary: "Server-Sent Events: the events this user may see (reps: their own leads), ?topics=lead.assigned,lead.*; Last-Event-ID replays what was missed", auth: true, request: None,
        responses: &[("200", "text/event-stream: id, event (topic), data {id, type, timestamp, lead_id, data}"), ERR] },
    Operation { method: "get", path: "/api/v1/webhooks", summary: "List webhook subscriptions (admin, marketer)", auth: true, request: None,
        responses: &[("200", "{webhooks}"), ERR] },
    Operation { method: "post", path: "/api/v1/webhooks", summary: "Subscribe a URL to topics; deliveries are signed (Standard Webhooks: webhook-id, webhook-timestamp, webhook-signature v1 HMAC-SHA256); the secret is shown once", auth: true, request: Some("WebhookInput"),
        responses: &[("201", "Webhook with its secret"), ERR] },
    Operation { method: "get", path: "/api/v1/webhooks/{id}", summary: "A webhook (without its secret)", auth: true, request: None,
        responses: &[("200", "Webhook"), ERR] },
    Operation { method: "patch", path: "/api/v1/webhooks/{id}", summary: "Change a webhook's URL, topics, description or active flag", auth: true, request: Some("WebhookInput"),
        responses: &[("200", "Webhook"), ERR] },
    Operation { method: "delete", path: "/api/v1/webhooks/{id}", summary: "Delete a webhook; its pending deliveries become dead letters", auth: true, request: None,
        responses: &[("204", "Deleted"), ERR] },
    Operation { method: "post", path: "/api/v1/webhooks/{id}/rotate-secret", summary: "A new signing secret, shown once; the old one stops at once", auth: true, request: None,
        responses: &[("200", "Webhook with its secret"), ERR] },
    Operation { method: "get", path: "/api/v1/deliveries", summary: "Webhook and e-mail deliveries, newest first; ?status=pending|delivered|dead (dead letters), webhook_id, channel, event_id, before, limit", auth: true, request: None,
        responses: &[("200", "{deliveries, next_before}"), ERR] },
    Operation { method: "post", path: "/api/v1/deliveries/replay", summary: "Queue dead letters again (by ids, webhook_id or event_id)", auth: true, request: Some("ReplayRequest"),
        responses: &[("200", "{replayed}"), ERR] },
    Operation { method: "get", path: "/api/v1/tokens", summary: "API tokens, newest first (never their secret or hash): an admin sees every user's, anyone else their own", auth: true, request: None,
        responses: &[("200", "{tokens: [{id, name, user_id, created_at, last_used_at, revoked_at}]}"), ERR] },
    Operation { method: "post", path: "/api/v1/tokens", summary: "Create a token acting as yourself (an admin: as any user); the secret is in this answer only", auth: true, request: Some("TokenInput"),
        responses: &[("201", "{token, secret}"), ERR] },
    Operation { method: "delete", path: "/api/v1/tokens/{id}", summary: "Revoke a token (your own; an admin: any); it is refused from the next request on", auth: true, request: None,
        responses: &[("200", "{token} with revoked_at"), ERR] },
];

fn string() -> Value {
    json!({ "type": ["string", "null"] })
}

fn schemas() -> Value {
    let lead_fields = [
        "first_name",
        "last_name",
        "full_name",
        "title",
        "email",
        "phone",
        "company",
        "website",
        "street",
        "postal_code",
        "city",
        "region",
        "country",
        "date_of_birth",
    ];
    let mut create = serde_json::Map::new();
    let mut patch = serde_json::Map::new();
    for f in lead_fields {
        create.insert(f.into(), string());
        patch.insert(f.into(), string());
    }
    create.insert("custom".into(), json!({ "type": "object", "additionalProperties": { "type": ["string", "number", "boolean"] } }));
    create.insert(
        "source".into(),
        json!({ "type": "string", "description": "Source name, default \"API\"" }),
    );
    create.insert("channel".into(), json!({ "type": "string", "enum": ["web_form", "landing_page", "trade_show", "home_show", "direct_mail", "sem", "social", "referral", "api", "import", "other"] }));
    create.insert("campaign".into(), string());
    create.insert("default_region".into(), string());
    create.insert("attribution".into(), json!({ "type": "object", "properties": {
        "utm_source": string(), "utm_medium": string(), "utm_campaign": string(), "utm_term": string(),
        "utm_content": string(), "referrer": string(), "landing_page": string() }, "additionalProperties": false }));
    create.insert("consent".into(), json!({ "type": "array", "items": { "type": "object", "required": ["channel", "granted"], "properties": {
        "channel": { "enum": ["email", "phone", "sms"] }, "granted": { "type": "boolean" }, "wording": string(), "evidence": { "type": "object" } } } }));
    patch.insert("custom".into(), json!({ "type": "object" }));
    json!({
        "CreateLead": { "type": "object", "properties": create, "additionalProperties": false },
        "LeadPatch": { "type": "object", "properties": patch, "additionalProperties": false },
        "MergeRequest": { "type": "object", "required": ["other_lead_id"], "properties": { "other_lead_id": { "type": "string" } } },
        "NewForm": { "type": "object", "required": ["name", "source", "fields"], "properties": {
            "name": { "type": "string" }, "source": { "type": "string" }, "channel": { "type": "string" }, "campaign": string(),
            "fields": { "type": "array", "items": { "type": "object", "required": ["name", "label"], "properties": {
                "name": { "type": "string", "description": "a lead field or custom.<key>" }, "label": { "type": "string" }, "required": { "type": "boolean" } } } },
            "consent": { "type": "object", "properties": { "channels": { "type": "array", "items": { "enum": ["email", "phone", "sms"] } }, "wording": { "type": "string" }, "required": { "type": "boolean" } } },
            "redirect_url": string(), "default_region": string(), "min_fill_seconds": { "type": "integer" },
            "submit_label": string(), "success_message": string() } },
        "FormSubmission": { "type": "object", "description": "The form's fields by name, plus _ts (form token), consent, utm_*, page_url; fax is a honeypot", "additionalProperties": { "type": "string" } },
        "ImportUpload": { "type": "object", "required": ["file", "source"], "properties": {
            "file": { "type": "string", "format": "binary" }, "source": { "type": "string" }, "campaign": { "type": "string" },
            "channel": { "type": "string" }, "default_region": { "type": "string" }, "map": { "type": "array", "items": { "type": "string" } } } },
        "UserInput": { "type": "object", "properties": {
            "email": { "type": "string" }, "name": { "type": "string" }, "role": { "enum": ["admin", "manager", "marketer", "rep"] },
            "password": { "type": "string", "minLength": 12 }, "active": { "type": "boolean" },
            "working_hours": { "type": "object", "description": "{time_zone, week: [{day, start, end}], holidays}" },
            "territories": { "type": "array", "items": { "type": "object", "properties": { "country": { "type": "string" }, "region": string() } } },
            "capacity": { "type": "integer" }, "weight": { "type": "integer" } }, "additionalProperties": false },
        "TeamInput": { "type": "object", "required": ["name"], "properties": {
            "name": { "type": "string" }, "manager_id": string(), "member_ids": { "type": "array", "items": { "type": "string" } } } },
        "Lifecycle": { "type": "object", "required": ["stages", "transitions", "disqualify_reasons"] },
        "AnswersInput": { "type": "object", "properties": {
            "answers": { "type": "object", "description": "capacity_to_buy, authority, need, supplier_selection, asked_to_be_contacted: yes|no|unknown; timeframe: now|N_months|YYYY-MM-DD|no_plans", "additionalProperties": string() },
            "horizon": { "enum": ["short_range", "long_range", null] } }, "additionalProperties": false },
        "StageChange": { "type": "object", "required": ["stage"], "properties": { "stage": { "type": "string" }, "reason": string() }, "additionalProperties": false },
        "ScoringConfig": { "type": "object", "required": ["fit", "engagement", "thresholds"] },
        "EngagementEvent": { "type": "object", "required": ["type"], "properties": { "type": { "type": "string" }, "occurred_at": { "type": "integer" } }, "additionalProperties": false },
        "TouchInput": { "type": "object", "required": ["kind"], "properties": {
            "kind": { "enum": ["call_attempt", "connected_call", "voicemail", "email", "meeting", "note"] },
            "outcome": string(), "notes": string(), "occurred_at": { "type": "integer" },
            "next_step": string(), "next_step_due_at": { "type": "integer" } }, "additionalProperties": false },
        "RoutingRules": { "type": "object", "required": ["rules"], "properties": { "rules": { "type": "array", "items": { "type": "object",
            "required": ["id", "name", "conditions", "target"], "description": "target: {type: rep, rep_id} | {type: team, team_id, strategy: weighted_round_robin|least_loaded|territory} | {type: account_owner, fallback_team_id}" } } } },
        "AccountOwner": { "type": "object", "required": ["owner_id"], "properties": { "owner_id": string() }, "additionalProperties": false },
        "SlaPolicies": { "type": "object", "required": ["policies"], "properties": { "policies": { "type": "array", "items": { "type": "object",
            "description": "{id, name, applies_to (conditions), first_touch_within_minutes, escalate_after_minutes, reroute_after_minutes, working_hours_only}" } } } },
        "WebhookInput": { "type": "object", "properties": {
            "url": { "type": "string", "format": "uri" }, "topics": { "type": "array", "items": { "type": "string" },
                "description": "lead.created, lead.assigned, lead.routing_failed, lead.stage_changed, lead.sla_breached, import.finished, lead.* or *; empty: all" },
            "description": { "type": "string" }, "active": { "type": "boolean" } }, "additionalProperties": false },
        "CampaignInput": { "type": "object", "properties": {
            "name": { "type": "string", "minLength": 1, "maxLength": 200 }, "source": { "type": "string", "description": "Source name; created on first use (then channel is required)" },
            "channel": { "type": "string" }, "cost_cents": { "type": ["integer", "null"], "minimum": 0, "description": "Cost in the currency's minor unit" },
            "cost": { "type": ["string", "number", "null"], "description": "Cost as a decimal in the major unit, e.g. \"1250.50\"; instead of cost_cents" },
            "currency": { "type": ["string", "null"], "description": "ISO 4217 code, required with a cost" },
            "starts_on": { "type": ["string", "null"], "format": "date" }, "ends_on": { "type": ["string", "null"], "format": "date", "description": "On or after starts_on" } },
            "additionalProperties": false },
        "TokenInput": { "type": "object", "required": ["name"], "properties": { "name": { "type": "string", "minLength": 1, "maxLength": 100 },
            "user_id": string() }, "additionalProperties": false },
        "ReplayRequest": { "type": "object", "properties": { "ids": { "type": "array", "items": { "type": "string" } },
            "webhook_id": { "type": "string" }, "event_id": { "type": "string" } }, "additionalProperties": false },
        "Error": { "type": "object", "properties": { "error": { "type": "object", "properties": {
            "code": { "type": "string" }, "message": { "type": "string" }, "field": string(), "details": { "type": "array" } } } } }
    })
}

pub fn document() -> Value {
    let mut paths = serde_json::Map::new();
    for op in OPERATIONS {
        let mut responses = serde_json::Map::new();
        for (status, description) in op.responses {
            responses.insert((*status).into(), json!({ "description": description }));
        }
        let mut operation = json!({ "summary": op.summary, "responses": responses });
        let params: Vec<Value> = op
            .path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }))
            .collect();
        if !params.is_empty() {
            operation["parameters"] = json!(params);
        }
        if op.auth {
            operation["security"] = json!([{ "bearer": [] }]);
        }
        if let Some(schema) = op.request {
            let media = match schema {
                "ImportUpload" => "multipart/form-data",
                "FormSubmission" => "application/x-www-form-urlencoded",
                _ => "application/json",
            };
            operation["requestBody"] = json!({ "required": true, "content": { media: { "schema": { "$ref": format!("#/components/schemas/{schema}") } } } });
        }
        let entry = paths
            .entry(op.path.to_string())
            .or_insert_with(|| json!({}));
        entry[op.method] = operation;
    }
    json!({
        "openapi": "3.1.0",
        "info": { "title": "Leadline API", "version": env!("CARGO_PKG_VERSION"),
                  "description": "Capture, normalise, match and store leads from every channel." },
        "paths": paths,
        "components": {
            "schemas": schemas(),
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer", "description": "API token from `leadline token create`" } }
        }
    })
}
