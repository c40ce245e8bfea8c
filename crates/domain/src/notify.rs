//! Notifications: the events the outbox carries, who may see each one, how outbound
//! webhooks are signed (the Standard Webhooks scheme) and retried, and the e-mail
//! alerts some events raise.

use crate::access::{LeadScope, Permission, Role};
use crate::netguard::{self, AllowedNetworks, Forbidden, Refused};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::Sha256;
use std::net::IpAddr;

/// A lead was captured through a form or the API (imports announce themselves once).
pub const LEAD_CREATED: &str = "lead.created";
/// A lead got an owner (first routing or re-routing).
pub const LEAD_ASSIGNED: &str = "lead.assigned";
/// Routing ran and found nobody eligible.
pub const LEAD_ROUTING_FAILED: &str = "lead.routing_failed";
/// A lead moved to another lifecycle stage.
pub const LEAD_STAGE_CHANGED: &str = "lead.stage_changed";
/// A routed lead was not touched within its speed-to-lead SLA.
pub const LEAD_SLA_BREACHED: &str = "lead.sla_breached";
/// A background import finished.
pub const IMPORT_FINISHED: &str = "import.finished";

pub const TOPICS: [&str; 6] = [
    LEAD_CREATED,
    LEAD_ASSIGNED,
    LEAD_ROUTING_FAILED,
    LEAD_STAGE_CHANGED,
    LEAD_SLA_BREACHED,
    IMPORT_FINISHED,
];

/// The topic a lead's timeline event is announced under, if it is announced at all.
pub fn topic_for_timeline_kind(kind: &str) -> Option<&'static str> {
    match kind {
        "routed" => Some(LEAD_ASSIGNED),
        "routing_failed" => Some(LEAD_ROUTING_FAILED),
        "stage_changed" => Some(LEAD_STAGE_CHANGED),
        "sla_breached" => Some(LEAD_SLA_BREACHED),
        _ => None,
    }
}

/// The users an event about a lead is for, besides the roles that see every lead: its
/// owner and whoever the event names as owner, previous owner or manager.
pub fn audience(owner_id: Option<&str>, payload: &Value) -> Vec<String> {
    let mut ids: Vec<String> = owner_id.into_iter().map(str::to_string).collect();
    for key in ["owner_id", "previous_owner_id", "manager_id"] {
        if let Some(id) = payload[key].as_str() {
            ids.push(id.to_string());
        }
    }
    let mut seen = std::collections::HashSet::new();
    ids.retain(|id| !id.is_empty() && seen.insert(id.clone()));
    ids
}

/// Checks a subscription's topic filter: known topics, `group.*` or `*`.
pub fn validate_topic_filter(filters: &[String]) -> Result<(), Vec<String>> {
    let bad: Vec<String> = filters
        .iter()
        .filter(|f| {
            let f = f.as_str();
            !(f == "*"
                || TOPICS.contains(&f)
                || f.strip_suffix(".*")
                    .is_some_and(|group| TOPICS.iter().any(|t| t.split('.').next() == Some(group))))
        })
        .map(|f| {
            format!(
                "unknown topic {f:?}; expected one of {}, a group such as \"lead.*\", or \"*\"",
                TOPICS.join(", ")
            )
        })
        .collect();
    if bad.is_empty() {
        Ok(())
    } else {
        Err(bad)
    }
}

/// Whether `topic` passes a filter; an empty filter passes everything.
pub fn topic_matches(filters: &[String], topic: &str) -> bool {
    filters.is_empty()
        || filters.iter().any(|f| {
            f == "*"
                || f == topic
                || f.strip_suffix(".*")
                    .is_some_and(|group| topic.split('.').next() == Some(group))
        })
}

/// Who may see an event. A lead's event reaches the users whose lead scope it falls in
/// (see [`LeadScope::sees_lead_event`]: the owner, previous owner or manager it names,
/// or the lead as its payload shows it); an event about no lead (an import finished)
/// reaches those who run imports.
pub fn may_see(
    role: Role,
    scope: &LeadScope,
    lead_id: Option<&str>,
    audience: &[String],
    payload: &Value,
) -> bool {
    match lead_id {
        Some(_) => scope.sees_lead_event(audience, payload["lead"]["owner_id"].as_str()),
        None => role.allows(Permission::RunImports),
    }
}

/// The prefix of webhook signing secrets, as in the Standard Webhooks specification.
pub const SECRET_PREFIX: &str = "whsec_";

/// A new random signing secret: `whsec_` and 32 random bytes in base64.
pub fn generate_secret(rng: &mut impl rand::RngCore) -> String {
    let mut bytes = [0u8; 32];
    rng.fill_bytes(&mut bytes);
    format!("{SECRET_PREFIX}{}", BASE64.encode(bytes))
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a webhook secret is \"whsec_\" followed by base64 of at least 24 bytes")]
pub struct BadSecret;

/// The key bytes of a `whsec_…` secret.
pub fn secret_key(secret: &str) -> Result<Vec<u8>, BadSecret> {
    let encoded = secret.strip_prefix(SECRET_PREFIX).ok_or(BadSecret)?;
    let key = BASE64.decode(encoded).map_err(|_| BadSecret)?;
    if key.len() < 24 {
        return Err(BadSecret);
    }
    Ok(key)
}

/// The `webhook-signature` header value for one delivery: `v1,` and the base64
/// HMAC-SHA256 of `{id}.{timestamp}.{body}` under the secret's key.
pub fn sign(key: &[u8], message_id: &str, timestamp_secs: i64, body: &[u8]) -> String {
    let mac = signed_content_mac(key, message_id, timestamp_secs, body);
    format!("v1,{}", BASE64.encode(mac.finalize().into_bytes()))
}

/// The HMAC-SHA256 of `{id}.{timestamp}.{body}`, ready to finalise or verify.
fn signed_content_mac(
    key: &[u8],
    message_id: &str,
    timestamp_secs: i64,
    body: &[u8],
) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(message_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp_secs.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// What a receiver does: accepts the delivery if any `v1` signature in the header
/// (space-separated, for key rotation) matches, comparing in constant time.
pub fn verify(
    key: &[u8],
    message_id: &str,
    timestamp_secs: i64,
    body: &[u8],
    header: &str,
) -> bool {
    header.split_whitespace().any(|candidate| {
        let Some(encoded) = candidate.strip_prefix("v1,") else {
            return false;
        };
        let Ok(given) = BASE64.decode(encoded) else {
            return false;
        };
        signed_content_mac(key, message_id, timestamp_secs, body)
            .verify_slice(&given)
            .is_ok()
    })
}

/// The longest webhook URL accepted.
pub const MAX_URL_LEN: usize = 2048;

/// Why a webhook URL is refused: a stable `code` for the API and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlProblem {
    pub code: &'static str,
    pub message: String,
}

impl UrlProblem {
    fn new(code: &'static str, message: impl Into<String>) -> UrlProblem {
        UrlProblem {
            code,
            message: message.into(),
        }
    }

    /// A host name that resolved to no address.
    pub fn unresolvable(host: &str) -> UrlProblem {
        UrlProblem::new(
            "unresolvable_host",
            format!("the host name {host:?} does not resolve to an address"),
        )
    }

    /// A destination the address or port rule refuses.
    pub fn refused(refused: &Refused, host: &str) -> UrlProblem {
        match refused {
            Refused::Port(_) => UrlProblem::new("forbidden_port", refused.to_string()),
            Refused::Address(ip, why) => {
                // For a name, the class of address only: the address itself would
                // tell the caller how internal names map to the network.
                let shown = if host.trim_matches(['[', ']']) == ip.to_string() {
                    format!("{host} is {why}")
                } else if let Forbidden::Embeds(_) = why {
                    format!("{host} resolves to an IPv6 form of an internal IPv4 address")
                } else {
                    format!("{host} resolves to {why}")
                };
                UrlProblem::new(
                    "forbidden_address",
                    format!(
                        "{shown}; webhooks may only reach public addresses unless the operator allows the network (serve --webhook-allow-network)"
                    ),
                )
            }
        }
    }
}

/// Where a webhook URL points, as far as connecting goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookHost {
    /// An address written in the URL (in any spelling the URL parser accepts:
    /// `2130706433`, `0x7f.1`, `[::ffff:127.0.0.1]`…), checked without DNS.
    Ip(IpAddr),
    /// A name to resolve; each address it resolves to must pass the check.
    Name(String),
}

/// The host and port a webhook URL connects to.
pub fn webhook_host(url: &url::Url) -> Option<(WebhookHost, u16)> {
    let port = url.port_or_known_default()?;
    let host = match url.host()? {
        url::Host::Ipv4(ip) => WebhookHost::Ip(IpAddr::V4(ip)),
        url::Host::Ipv6(ip) => WebhookHost::Ip(IpAddr::V6(ip)),
        url::Host::Domain(name) => WebhookHost::Name(name.trim_end_matches('.').to_string()),
    };
    Some((host, port))
}

/// Names that never resolve (RFC 6761 `.invalid`), refused without asking DNS.
pub fn never_resolves(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "invalid" || name.ends_with(".invalid")
}

/// Checks a webhook endpoint: an absolute http(s) URL with a host and no credentials
/// (they would be stored and shown in clear; use the signature instead), on an allowed
/// port, and — when the host is an address — at an address `allowed` permits. A host
/// name passes here; the caller resolves it and checks every address
/// (`netguard::check_destination`), and deliveries check again when they connect.
pub fn validate_webhook_url(text: &str, allowed: &AllowedNetworks) -> Result<url::Url, UrlProblem> {
    let invalid = |m: String| UrlProblem::new("invalid_url", m);
    if text.len() > MAX_URL_LEN {
        return Err(invalid(format!(
            "URL is longer than {MAX_URL_LEN} characters"
        )));
    }
    let url = url::Url::parse(text.trim()).map_err(|e| invalid(format!("not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid(format!(
            "scheme {:?} is not allowed; use http or https",
            url.scheme()
        )));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid("URL has no host".into()));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("URL must not carry credentials".into()));
    }
    if url.fragment().is_some() {
        return Err(invalid("URL must not have a #fragment".into()));
    }
    let Some((host, port)) = webhook_host(&url) else {
        return Err(invalid("URL has no host".into()));
    };
    if !netguard::port_allowed(port) {
        return Err(UrlProblem::refused(&Refused::Port(port), ""));
    }
    match host {
        WebhookHost::Ip(ip) => {
            if let Err(refused) = netguard::check_destination(ip, port, allowed) {
                return Err(UrlProblem::refused(
                    &refused,
                    url.host_str().unwrap_or_default(),
                ));
            }
        }
        WebhookHost::Name(name) => {
            if never_resolves(&name) {
                return Err(UrlProblem::unresolvable(&name));
            }
        }
    }
    Ok(url)
}

/// When failed deliveries are tried again: exponential backoff from `first_delay_ms`,
/// doubling up to `max_delay_ms`, with up to ±10% jitter so that many deliveries that
/// failed together do not return together; after `max_attempts` attempts the delivery
/// is parked as a dead letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RetryPolicy {
    pub first_delay_ms: i64,
    pub max_delay_ms: i64,
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    /// 30 s, 1 min, 2 min … capped at 4 h; 12 attempts span about 16 hours.
    fn default() -> Self {
        RetryPolicy {
            first_delay_ms: 30_000,
            max_delay_ms: 4 * 3_600_000,
            max_attempts: 12,
        }
    }
}

/// What to do with a delivery after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterAttempt {
    Delivered,
    RetryAt(i64),
    Dead,
}

impl RetryPolicy {
    /// The delay before attempt `attempts_made + 1`, without jitter.
    pub fn base_delay_ms(&self, attempts_made: u32) -> i64 {
        let doublings = attempts_made.saturating_sub(1).min(40);
        self.first_delay_ms
            .saturating_mul(1i64 << doublings)
            .min(self.max_delay_ms)
            .max(0)
    }

    /// The outcome of attempt number `attempts_made` (1 for the first) made at `now`;
    /// `jitter_seed` (a hash of the delivery id) spreads retries deterministically.
    pub fn after_attempt(
        &self,
        succeeded: bool,
        attempts_made: u32,
        now: i64,
        jitter_seed: u64,
    ) -> AfterAttempt {
        if succeeded {
            return AfterAttempt::Delivered;
        }
        if attempts_made >= self.max_attempts {
            return AfterAttempt::Dead;
        }
        let base = self.base_delay_ms(attempts_made);
        // -10% … +10% of the delay, in 1/1000ths.
        let spread = (jitter_seed % 201) as i64 - 100;
        AfterAttempt::RetryAt(now + base + base * spread / 1000)
    }
}

/// One e-mail alert an event raises.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAlert {
    pub recipient_user_id: String,
    pub subject: String,
    pub body: String,
}

/// The alerts an event raises: a newly assigned lead to its rep ("call now"), an SLA
/// breach to the rep's manager. `lead_url` links to the lead.
pub fn email_alerts(topic: &str, payload: &Value, lead_url: &str) -> Vec<EmailAlert> {
    let text = |v: &Value| v.as_str().map(one_line).unwrap_or_default();
    let lead = &payload["lead"];
    let name = match text(&lead["name"]) {
        n if n.is_empty() => text(&lead["email"]),
        n => n,
    };
    let name = if name.is_empty() {
        "a lead".to_string()
    } else {
        name
    };
    let company = text(&lead["company"]);
    let who = if company.is_empty() {
        name.clone()
    } else {
        format!("{name} ({company})")
    };
    let contact = [text(&lead["phone"]), text(&lead["email"])]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" · ");
    match topic {
        LEAD_ASSIGNED => {
            let Some(owner) = payload["owner_id"].as_str() else {
                return vec![];
            };
            let due = payload["sla_due_at"]
                .as_i64()
                .map(|at| format!("\nFirst touch due by: {}\n", format_utc(at)))
                .unwrap_or_default();
            vec![EmailAlert {
                recipient_user_id: owner.to_string(),
                subject: format!("New lead for you: {who}"),
                body: format!(
                    "{who} has been assigned to you.\n\nContact: {contact}\n{due}\nOpen the lead: {lead_url}\n"
                ),
            }]
        }
        LEAD_SLA_BREACHED => {
            let Some(manager) = payload["manager_id"].as_str() else {
                return vec![];
            };
            let owner = text(&payload["owner_name"]);
            let owner = if owner.is_empty() {
                text(&payload["owner_id"])
            } else {
                owner
            };
            let minutes = payload["overdue_ms"].as_i64().unwrap_or(0) / 60_000;
            vec![EmailAlert {
                recipient_user_id: manager.to_string(),
                subject: format!("Speed-to-lead missed: {who}"),
                body: format!(
                    "{who}, owned by {owner}, has not been touched and is {minutes} min past its first-touch deadline.\n\nContact: {contact}\n\nOpen the lead: {lead_url}\n"
                ),
            }]
        }
        _ => vec![],
    }
}

/// Captured text on one line: no control characters (no header injection) and at most
/// 120 characters.
fn one_line(s: &str) -> String {
    let flat: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let trimmed = flat.split_whitespace().collect::<Vec<_>>().join(" ");
    match trimmed.char_indices().nth(120) {
        Some((cut, _)) => format!("{}…", &trimmed[..cut]),
        None => trimmed,
    }
}

fn format_utc(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute] UTC"
            ))
            .ok()
        })
        .unwrap_or_else(|| ms.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn timeline_kinds_that_notify() {
        assert_eq!(topic_for_timeline_kind("routed"), Some(LEAD_ASSIGNED));
        assert_eq!(
            topic_for_timeline_kind("stage_changed"),
            Some(LEAD_STAGE_CHANGED)
        );
        assert_eq!(
            topic_for_timeline_kind("sla_breached"),
            Some(LEAD_SLA_BREACHED)
        );
        assert_eq!(
            topic_for_timeline_kind("routing_failed"),
            Some(LEAD_ROUTING_FAILED)
        );
        assert_eq!(topic_for_timeline_kind("scored"), None);
        assert_eq!(topic_for_timeline_kind("captured"), None);
    }

    #[test]
    fn audience_is_owner_previous_owner_and_manager_once_each() {
        let payload =
            json!({"owner_id": "rep-2", "previous_owner_id": "rep-1", "manager_id": "mgr"});
        assert_eq!(audience(Some("rep-2"), &payload), ["rep-2", "rep-1", "mgr"]);
        assert_eq!(audience(None, &json!({})), Vec::<String>::new());
        assert_eq!(
            audience(Some("rep-1"), &json!({"owner_id": null, "manager_id": ""})),
            ["rep-1"]
        );
    }

    #[test]
    fn topic_filters() {
        assert!(topic_matches(&[], LEAD_ASSIGNED));
        assert!(topic_matches(&strings(&["*"]), IMPORT_FINISHED));
        assert!(topic_matches(&strings(&["lead.*"]), LEAD_SLA_BREACHED));
        assert!(!topic_matches(&strings(&["lead.*"]), IMPORT_FINISHED));
        assert!(topic_matches(&strings(&[LEAD_ASSIGNED]), LEAD_ASSIGNED));
        assert!(!topic_matches(&strings(&[LEAD_ASSIGNED]), LEAD_CREATED));
        assert!(!topic_matches(&strings(&["lead"]), LEAD_CREATED));
    }

    #[test]
    fn topic_filter_validation() {
        assert!(validate_topic_filter(&strings(&["*", "lead.*", LEAD_ASSIGNED])).is_ok());
        let errors = validate_topic_filter(&strings(&["lead.assignd", "nope.*", ""])).unwrap_err();
        assert_eq!(errors.len(), 3);
        assert!(errors[0].contains("lead.assignd"));
    }

    #[test]
    fn events_reach_the_scopes_they_concern() {
        let audience = strings(&["rep-1", "mgr-1"]);
        let owned = |owner: &str| json!({ "lead": { "owner_id": owner } });
        let unowned = json!({ "lead": { "owner_id": null } });
        let rep = |id: &str| LeadScope::of(Role::Rep, id, []);
        let sees = |role, scope: &LeadScope, audience: &[String], payload: &Value| {
            may_see(role, scope, Some("lead-1"), audience, payload)
        };
        assert!(sees(Role::Rep, &rep("rep-1"), &audience, &owned("rep-1")));
        assert!(!sees(Role::Rep, &rep("rep-2"), &audience, &owned("rep-1")));
        assert!(!sees(Role::Rep, &rep("rep-2"), &[], &unowned));
        let manager = LeadScope::of(Role::Manager, "mgr-2", strings(&["rep-2"]));
        assert!(!sees(Role::Manager, &manager, &audience, &owned("rep-1")));
        assert!(sees(Role::Manager, &manager, &[], &unowned));
        assert!(sees(Role::Manager, &manager, &[], &owned("rep-2")));
        for role in [Role::Admin, Role::Marketer] {
            assert!(sees(role, &LeadScope::All, &[], &owned("rep-1")));
        }
        // An import's event: for those who run imports.
        for (role, expected) in [
            (Role::Rep, false),
            (Role::Manager, true),
            (Role::Marketer, true),
        ] {
            let scope = LeadScope::of(role, "u", []);
            assert_eq!(
                may_see(role, &scope, None, &[], &json!({})),
                expected,
                "{role}"
            );
        }
    }

    // The Standard Webhooks specification's published example.
    #[test]
    fn signature_matches_the_standard_webhooks_example() {
        let key = secret_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"test": 2432232314}"#;
        let sig = sign(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body);
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        assert!(verify(
            &key,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            body,
            &sig
        ));
    }

    #[test]
    fn verification_rejects_any_change() {
        let key = secret_key(&generate_secret(&mut rand::thread_rng())).unwrap();
        let sig = sign(&key, "evt_1", 100, b"{}");
        assert!(verify(&key, "evt_1", 100, b"{}", &sig));
        assert!(
            verify(&key, "evt_1", 100, b"{}", &format!("v1,AAAA {sig}")),
            "rotation: any match"
        );
        assert!(!verify(&key, "evt_2", 100, b"{}", &sig));
        assert!(!verify(&key, "evt_1", 101, b"{}", &sig));
        assert!(!verify(&key, "evt_1", 100, b"{ }", &sig));
        assert!(!verify(&key, "evt_1", 100, b"{}", "v2,abc"));
        assert!(!verify(&key, "evt_1", 100, b"{}", "v1,not base64!"));
        assert!(!verify(&key, "evt_1", 100, b"{}", ""));
        let other = secret_key(&generate_secret(&mut rand::thread_rng())).unwrap();
        assert!(!verify(&other, "evt_1", 100, b"{}", &sig));
    }

    #[test]
    fn secrets() {
        let secret = generate_secret(&mut rand::thread_rng());
        assert!(secret.starts_with("whsec_"));
        assert_eq!(secret_key(&secret).unwrap().len(), 32);
        assert_eq!(secret_key("whsec_short"), Err(BadSecret));
        assert_eq!(
            secret_key("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
            Err(BadSecret)
        );
        assert_eq!(secret_key("whsec_!!!!"), Err(BadSecret));
    }

    fn check(url: &str) -> Result<url::Url, UrlProblem> {
        validate_webhook_url(url, &AllowedNetworks::default())
    }

    fn code(url: &str) -> &'static str {
        check(url).expect_err(url).code
    }

    #[test]
    fn webhook_urls() {
        assert!(check("https://hooks.example.com/leadline?x=1").is_ok());
        assert!(check("http://8.8.8.8:9000/in").is_ok());
        assert!(check("https://[2606:4700:4700::1111]/in").is_ok());
        assert!(check("http://hooks.example.com:8080/").is_ok());
        for bad in [
            "",
            "hooks.example.com/in",
            "ftp://example.com/",
            "file:///etc/passwd",
            "gopher://example.com/",
            "javascript:alert(1)",
            "https://user:pw@example.com/",
            "https://user@example.com/",
            "https://example.com/#frag",
            "https://",
            "http://exa mple.com/",
        ] {
            assert_eq!(code(bad), "invalid_url", "{bad}");
        }
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_LEN));
        assert!(check(&long).unwrap_err().message.contains("longer"));
    }

    #[test]
    fn internal_addresses_are_refused_in_every_spelling() {
        for url in [
            "http://127.0.0.1:9000/in",
            "http://127.0.0.1/",
            "http://0.0.0.0:8080/",
            "http://0/",
            "http://[::1]:8080/",
            "http://[::]/",
            "http://[::ffff:127.0.0.1]:8080/",
            "http://[::ffff:7f00:1]/",
            "http://[64:ff9b::7f00:1]/",
            "http://[2002:7f00:1::]/",
            "http://[fe80::1]/",
            "http://[fd00::1]/",
            // Decimal, hex, octal and short forms, as the URL parser (and so reqwest)
            // reads them.
            "http://2130706433/",
            "http://0x7f.1/",
            "http://0x7f000001/",
            "http://0177.0.0.1/",
            "http://017700000001/",
            "http://127.1/",
            "http://127.0.1/",
            "http://169.254.169.254/latest/meta-data/",
            "http://0xa9fea9fe/",
            "http://2852039166/",
            "http://10.0.0.1/",
            "http://192.168.1.1/",
            "http://172.16.0.1/",
            "http://100.64.0.1/",
            "http://224.0.0.1/",
            "http://255.255.255.255/",
            "http://127.0.0.1.:8080/",
        ] {
            let problem = check(url).expect_err(url);
            assert_eq!(problem.code, "forbidden_address", "{url}: {problem:?}");
            assert!(
                problem.message.contains("--webhook-allow-network"),
                "{problem:?}"
            );
        }
        assert!(check("http://0x7f.1/")
            .unwrap_err()
            .message
            .contains("127.0.0.1"));
    }

    #[test]
    fn privileged_ports_are_refused() {
        for url in [
            "http://8.8.8.8:25/",
            "http://hooks.example.com:22/",
            "https://hooks.example.com:465/",
            "http://hooks.example.com:1023/",
            "http://hooks.example.com:0/",
            "http://127.0.0.1:25/",
        ] {
            assert_eq!(code(url), "forbidden_port", "{url}");
        }
        let allowed = AllowedNetworks::parse(&["127.0.0.0/8"]).unwrap();
        let problem = validate_webhook_url("http://127.0.0.1:25/", &allowed).unwrap_err();
        assert_eq!(
            problem.code, "forbidden_port",
            "allowed networks keep the port rule"
        );
        assert!(check("http://hooks.example.com:80/").is_ok());
        assert!(check("https://hooks.example.com:443/").is_ok());
        assert!(check("https://hooks.example.com:1024/").is_ok());
    }

    #[test]
    fn allowed_networks_admit_their_addresses() {
        let allowed = AllowedNetworks::parse(&["127.0.0.0/8", "::1"]).unwrap();
        for url in [
            "http://127.0.0.1:9000/in",
            "http://2130706433:9000/",
            "http://[::1]:9000/",
            "http://[::ffff:127.0.0.1]:9000/",
        ] {
            assert!(validate_webhook_url(url, &allowed).is_ok(), "{url}");
        }
        assert_eq!(
            validate_webhook_url("http://10.0.0.1/", &allowed)
                .unwrap_err()
                .code,
            "forbidden_address"
        );
    }

    #[test]
    fn hosts_and_ports_of_urls() {
        let host = |u: &str| webhook_host(&url::Url::parse(u).unwrap()).unwrap();
        assert_eq!(
            host("http://2130706433/"),
            (WebhookHost::Ip("127.0.0.1".parse().unwrap()), 80)
        );
        assert_eq!(
            host("https://[::1]/"),
            (WebhookHost::Ip("::1".parse().unwrap()), 443)
        );
        assert_eq!(
            host("https://Hooks.Example.COM.:8443/x"),
            (WebhookHost::Name("hooks.example.com".into()), 8443)
        );
        // Names that never resolve are refused without asking DNS.
        assert_eq!(code("https://hooks.invalid/"), "unresolvable_host");
        assert_eq!(code("https://INVALID./"), "unresolvable_host");
        assert!(never_resolves("a.b.invalid"));
        let by_name = UrlProblem::refused(
            &Refused::Address("10.1.2.3".parse().unwrap(), Forbidden::Private),
            "hooks.corp",
        );
        assert_eq!(by_name.code, "forbidden_address");
        assert!(
            by_name
                .message
                .starts_with("hooks.corp resolves to a private-network address"),
            "{by_name:?}"
        );
        assert!(!by_name.message.contains("10.1.2.3"), "{by_name:?}");
        assert!(!never_resolves("invalid.example.com"));
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = RetryPolicy {
            first_delay_ms: 1_000,
            max_delay_ms: 10_000,
            max_attempts: 6,
        };
        let delays: Vec<i64> = (1..=6).map(|n| p.base_delay_ms(n)).collect();
        assert_eq!(delays, [1_000, 2_000, 4_000, 8_000, 10_000, 10_000]);
        // Seed 100 is the middle of the jitter range: no jitter.
        assert_eq!(
            p.after_attempt(false, 1, 0, 100),
            AfterAttempt::RetryAt(1_000)
        );
        assert_eq!(
            p.after_attempt(false, 3, 50, 100),
            AfterAttempt::RetryAt(4_050)
        );
        assert_eq!(p.after_attempt(false, 6, 0, 100), AfterAttempt::Dead);
        assert_eq!(p.after_attempt(true, 6, 0, 100), AfterAttempt::Delivered);
        assert_eq!(p.after_attempt(true, 1, 0, 7), AfterAttempt::Delivered);
    }

    #[test]
    fn jitter_stays_within_ten_percent() {
        let p = RetryPolicy::default();
        let mut seen = std::collections::BTreeSet::new();
        for seed in 0..1000u64 {
            let AfterAttempt::RetryAt(at) = p.after_attempt(false, 2, 0, seed) else {
                panic!("retries");
            };
            assert!((54_000..=66_000).contains(&at), "{at}");
            seen.insert(at);
        }
        assert!(seen.len() > 100, "jitter spreads retries");
    }

    #[test]
    fn backoff_never_overflows() {
        let p = RetryPolicy {
            first_delay_ms: i64::MAX / 4,
            max_delay_ms: i64::MAX / 2,
            max_attempts: u32::MAX,
        };
        assert_eq!(p.base_delay_ms(1_000), i64::MAX / 2);
        assert_eq!(RetryPolicy::default().base_delay_ms(200), 4 * 3_600_000);
    }

    #[test]
    fn default_schedule_spans_hours_not_days() {
        let p = RetryPolicy::default();
        let total: i64 = (1..p.max_attempts).map(|n| p.base_delay_ms(n)).sum();
        assert!((12 * 3_600_000..24 * 3_600_000).contains(&total), "{total}");
    }

    #[test]
    fn assignment_alert_goes_to_the_owner() {
        let payload = json!({
            "owner_id": "rep-1",
            "sla_due_at": 1_795_341_900_000i64,
            "lead": {"name": "Ada Lovelace", "company": "Engines Ltd", "email": "ada@example.com", "phone": "+442071234567"}
        });
        let alerts = email_alerts(LEAD_ASSIGNED, &payload, "https://crm/leads/1");
        assert_eq!(alerts.len(), 1);
        let a = &alerts[0];
        assert_eq!(a.recipient_user_id, "rep-1");
        assert_eq!(a.subject, "New lead for you: Ada Lovelace (Engines Ltd)");
        assert!(
            a.body.contains("+442071234567 · ada@example.com"),
            "{}",
            a.body
        );
        assert!(a.body.contains("2026-11-22 10:05 UTC"), "{}", a.body);
        assert!(a.body.contains("https://crm/leads/1"));
    }

    #[test]
    fn breach_alert_goes_to_the_manager() {
        let payload = json!({
            "owner_id": "rep-1", "owner_name": "Rita Rep", "manager_id": "mgr-1", "overdue_ms": 120_000,
            "lead": {"email": "x@example.com"}
        });
        let alerts = email_alerts(LEAD_SLA_BREACHED, &payload, "u");
        assert_eq!(alerts[0].recipient_user_id, "mgr-1");
        assert_eq!(alerts[0].subject, "Speed-to-lead missed: x@example.com");
        assert!(alerts[0].body.contains("owned by Rita Rep"));
        assert!(alerts[0].body.contains("2 min past"));
        // Without a manager nobody is told by e-mail.
        assert!(email_alerts(LEAD_SLA_BREACHED, &json!({"owner_id": "r"}), "u").is_empty());
        assert!(email_alerts(LEAD_CREATED, &payload, "u").is_empty());
    }

    #[test]
    fn alert_subjects_cannot_carry_headers() {
        let payload = json!({
            "owner_id": "rep-1",
            "lead": {"name": "Eve\r\nBcc: all@example.com", "company": "\u{0}Evil\tCorp"}
        });
        let a = &email_alerts(LEAD_ASSIGNED, &payload, "u")[0];
        assert!(!a.subject.contains('\r') && !a.subject.contains('\n'));
        assert_eq!(
            a.subject,
            "New lead for you: Eve Bcc: all@example.com (Evil Corp)"
        );
        let long = json!({"owner_id": "r", "lead": {"name": "ü".repeat(500)}});
        let a = &email_alerts(LEAD_ASSIGNED, &long, "u")[0];
        assert!(a.subject.chars().count() < 150);
        assert_eq!(
            email_alerts(LEAD_ASSIGNED, &json!({"owner_id": "r", "lead": {}}), "u")[0].subject,
            "New lead for you: a lead"
        );
    }
}
