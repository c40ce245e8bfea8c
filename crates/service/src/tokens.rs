//! API tokens: random secrets shown once, stored only as SHA-256 hashes.
//!
//! Tokens carry 256 bits of randomness, so a fast hash is safe here (unlike passwords,
//! which get argon2): lookups stay O(1) by hash and a leaked table reveals nothing usable.

use crate::error::Result;
use crate::App;
use leadline_domain::access::Role;
use leadline_store::new_id;
use leadline_store::tokens::{self, ApiToken, IdempotentResponse};
use leadline_store::users::{self, UserRow};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// Every token starts with this, so leaked tokens are easy to find in code and logs.
pub const TOKEN_PREFIX: &str = "ll_";

pub fn hash_token(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

fn generate_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{TOKEN_PREFIX}{}", hex::encode(bytes))
}

impl App {
    /// Creates a token acting as `user_id` and returns it with its secret (the only
    /// time it is visible).
    pub async fn create_token(&self, name: &str, user_id: &str) -> Result<(ApiToken, String)> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(crate::ServiceError::invalid(
                "name",
                "invalid_name",
                "a token name must be 1 to 100 characters",
            ));
        }
        let user = self.user(user_id).await?;
        if !user.active {
            return Err(crate::ServiceError::conflict(
                "user_inactive",
                format!("user {} is deactivated", user.email),
            ));
        }
        let secret = generate_secret();
        let token = ApiToken {
            id: new_id(),
            name: name.to_string(),
            user_id: Some(user.id),
            token_hash: hash_token(&secret),
            created_at: self.now(),
            last_used_at: None,
            revoked_at: None,
        };
        let mut conn = self.db.acquire().await?;
        tokens::insert(&mut conn, &token).await?;
        Ok((token, secret))
    }

    /// Tokens, newest first (revoked ones too, with when): every user's, or one's.
    pub async fn list_tokens(&self, user_id: Option<&str>) -> Result<Vec<ApiToken>> {
        let mut conn = self.db.acquire().await?;
        Ok(tokens::list(&mut conn, user_id).await?)
    }

    pub async fn token(&self, id: &str) -> Result<ApiToken> {
        let mut conn = self.db.acquire().await?;
        tokens::by_id(&mut conn, id)
            .await?
            .ok_or_else(|| crate::ServiceError::not_found("token", id))
    }

    /// Revokes a token: it is refused from the next request on. Revoking a revoked
    /// token changes nothing and answers it as it is.
    pub async fn revoke_token(&self, id: &str) -> Result<ApiToken> {
        let mut conn = self.db.acquire().await?;
        tokens::revoke(&mut conn, id, self.now()).await?;
        tokens::by_id(&mut conn, id)
            .await?
            .ok_or_else(|| crate::ServiceError::not_found("token", id))
    }

    /// The live token for a presented secret and the active user it acts as.
    pub async fn authenticate_token(&self, secret: &str) -> Result<Option<Principal>> {
        if !secret.starts_with(TOKEN_PREFIX) || secret.len() > 200 {
            return Ok(None);
        }
        let mut conn = self.db.acquire().await?;
        let Some(token) = tokens::active_by_hash(&mut conn, &hash_token(secret)).await? else {
            return Ok(None);
        };
        let user = match &token.user_id {
            Some(id) => users::user_by_id(&mut conn, id).await?,
            None => None,
        };
        let Some(user) = user.filter(|u| u.active) else {
            return Ok(None);
        };
        let Ok(role) = user.role.parse::<Role>() else {
            return Ok(None);
        };
        drop(conn);
        let scope = self.lead_scope(&user.id, role).await?;
        let mut conn = self.db.acquire().await?;
        // Recording use at minute granularity avoids a write per request.
        let now = self.now();
        if token.last_used_at.is_none_or(|last| now - last > 60_000) {
            tokens::touch(&mut conn, &token.id, now).await?;
        }
        Ok(Some(Principal {
            token,
            user,
            role,
            scope,
        }))
    }
}

/// Who a request acts as: the token, its user, that user's role and the leads the
/// user may see.
#[derive(Debug, Clone)]
pub struct Principal {
    pub token: ApiToken,
    pub user: UserRow,
    pub role: Role,
    pub scope: leadline_domain::access::LeadScope,
}

/// How long a claim on an idempotency key holds: longer than any request runs, so
/// only a claim whose server died (kill -9, power loss) is ever taken over.
pub const IDEMPOTENCY_LEASE_MS: i64 = 60_000;
/// How long answers to idempotent requests are kept for replay by default.
pub const IDEMPOTENCY_RETENTION_MS: i64 = 24 * 60 * 60 * 1000;

/// Lease and retention of idempotency keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdempotencySettings {
    pub lease_ms: i64,
    pub retention_ms: i64,
}

impl Default for IdempotencySettings {
    fn default() -> Self {
        IdempotencySettings {
            lease_ms: IDEMPOTENCY_LEASE_MS,
            retention_ms: IDEMPOTENCY_RETENTION_MS,
        }
    }
}

/// A held claim on an idempotency key: run the request, then `finish_idempotent`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyClaim {
    pub token_id: String,
    pub key: String,
    claim_id: String,
}

impl IdempotencyClaim {
    /// The fingerprint the capture of this request carries. A re-run after a crash
    /// (the first run's capture committed, its answer was never stored) is recognised
    /// by it and answers `unchanged` with the same lead instead of creating another.
    pub fn capture_fingerprint(&self) -> String {
        capture_fingerprint(&self.token_id, &self.key)
    }
}

/// Fingerprint of the capture made under (token, idempotency key).
pub fn capture_fingerprint(token_id: &str, key: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"idempotency-key\0");
    h.update(token_id.as_bytes());
    h.update(b"\0");
    h.update(key.as_bytes());
    hex::encode(h.finalize())
}

/// Where an idempotent request stands.
#[derive(Debug, Clone, PartialEq)]
pub enum Idempotency {
    /// First time (or the first run died): run the request, then `finish_idempotent`.
    Fresh(IdempotencyClaim),
    /// Answered before: send this answer again.
    Replay { status: u16, body: String },
    /// The first request with this key is still running; its lease ends in
    /// `retry_after_ms` at most.
    InProgress { retry_after_ms: i64 },
    /// The key was used before with a different request body.
    Mismatch,
}

/// What to do about a key that is already in the table.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    Mismatch,
    Replay,
    Wait { retry_after_ms: i64 },
    TakeOver,
}

fn seen(stored: &IdempotentResponse, request_hash: &str, now: i64) -> Seen {
    if stored.request_hash != request_hash {
        Seen::Mismatch
    } else if stored.status_code != 0 {
        Seen::Replay
    } else if stored.locked_until >= now {
        // Taken over only once `locked_until < now`, hence the extra millisecond.
        Seen::Wait {
            retry_after_ms: stored.locked_until - now + 1,
        }
    } else {
        Seen::TakeOver
    }
}

impl App {
    pub async fn begin_idempotent(
        &self,
        token_id: &str,
        key: &str,
        request_hash: &str,
    ) -> Result<Idempotency> {
        let mut conn = self.db.acquire().await?;
        let claim = IdempotencyClaim {
            token_id: token_id.to_string(),
            key: key.to_string(),
            claim_id: new_id(),
        };
        // A key released or taken over between our statements sends us round again;
        // three rounds settle any real interleaving.
        for _ in 0..3 {
            let now = self.now();
            let until = now + self.idempotency.lease_ms;
            if tokens::claim_idempotency_key(
                &mut conn,
                token_id,
                key,
                request_hash,
                &claim.claim_id,
                now,
                until,
            )
            .await?
            {
                return Ok(Idempotency::Fresh(claim));
            }
            let Some(stored) = tokens::idempotent_response(&mut conn, token_id, key).await? else {
                continue;
            };
            match seen(&stored, request_hash, now) {
                Seen::Mismatch => return Ok(Idempotency::Mismatch),
                Seen::Replay => {
                    return Ok(Idempotency::Replay {
                        status: u16::try_from(stored.status_code).unwrap_or(500),
                        body: stored.response_body,
                    })
                }
                Seen::Wait { retry_after_ms } => {
                    return Ok(Idempotency::InProgress { retry_after_ms })
                }
                Seen::TakeOver => {
                    if tokens::take_over_idempotency_key(
                        &mut conn,
                        token_id,
                        key,
                        request_hash,
                        &claim.claim_id,
                        now,
                        until,
                    )
                    .await?
                    {
                        tracing::warn!(
                            token_id,
                            "idempotency key taken over after its lease expired; running the request again"
                        );
                        return Ok(Idempotency::Fresh(claim));
                    }
                }
            }
        }
        Ok(Idempotency::InProgress {
            retry_after_ms: 1000,
        })
    }

    /// Stores the answer of a claimed request (4xx included, so a bad request is not
    /// re-run); a 5xx gives the key back so the client's retry runs it again.
    pub async fn finish_idempotent(
        &self,
        claim: &IdempotencyClaim,
        status: u16,
        body: &str,
    ) -> Result<()> {
        let mut conn = self.db.acquire().await?;
        if status >= 500 {
            tokens::release_idempotency_key(
                &mut conn,
                &claim.token_id,
                &claim.key,
                &claim.claim_id,
            )
            .await?;
        } else if !tokens::complete_idempotency_key(
            &mut conn,
            &claim.token_id,
            &claim.key,
            &claim.claim_id,
            i64::from(status),
            body,
        )
        .await?
        {
            tracing::warn!(
                token_id = %claim.token_id,
                "an idempotent request outlived its lease and was taken over; the retry's answer stands"
            );
        }
        Ok(())
    }

    /// Deletes stored answers (and dead claims) older than the retention period;
    /// `serve` runs it periodically. Returns how many keys went.
    pub async fn prune_idempotency_keys(&self, now: i64) -> Result<u64> {
        let mut conn = self.db.acquire().await?;
        Ok(
            tokens::prune_idempotency_keys(&mut conn, now - self.idempotency.retention_ms, now)
                .await?,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_prefixed_random_and_hash_stably() {
        let a = generate_secret();
        let b = generate_secret();
        assert!(a.starts_with(TOKEN_PREFIX));
        assert_eq!(a.len(), TOKEN_PREFIX.len() + 64);
        assert_ne!(a, b);
        assert_eq!(hash_token(&a), hash_token(&a));
        assert_ne!(hash_token(&a), hash_token(&b));
        assert!(!hash_token(&a).contains(&a[3..]));
    }

    fn stored(hash: &str, status: i64, locked_until: i64) -> IdempotentResponse {
        IdempotentResponse {
            request_hash: hash.into(),
            status_code: status,
            response_body: "{}".into(),
            locked_until,
        }
    }

    #[test]
    fn a_claim_is_a_lease() {
        let now = 1_000_000;
        // Answered: replayed, however old the lease.
        assert_eq!(seen(&stored("h", 201, 0), "h", now), Seen::Replay);
        assert_eq!(seen(&stored("h", 422, now + 5), "h", now), Seen::Replay);
        // Running, lease live: wait for the rest of it.
        assert_eq!(
            seen(&stored("h", 0, now + 30_000), "h", now),
            Seen::Wait {
                retry_after_ms: 30_001
            }
        );
        assert_eq!(
            seen(&stored("h", 0, now), "h", now),
            Seen::Wait { retry_after_ms: 1 }
        );
        // Lease over: the runner died; take over.
        assert_eq!(seen(&stored("h", 0, now - 1), "h", now), Seen::TakeOver);
        assert_eq!(seen(&stored("h", 0, 0), "h", now), Seen::TakeOver);
        // Another body is refused whatever the state.
        for s in [
            stored("h", 0, now + 1),
            stored("h", 0, 0),
            stored("h", 201, 0),
        ] {
            assert_eq!(seen(&s, "other", now), Seen::Mismatch);
        }
    }

    #[test]
    fn capture_fingerprints_separate_tokens_and_keys() {
        let a = capture_fingerprint("tok1", "order-1");
        assert_eq!(a, capture_fingerprint("tok1", "order-1"));
        assert_eq!(a.len(), 64);
        assert_ne!(a, capture_fingerprint("tok2", "order-1"));
        assert_ne!(a, capture_fingerprint("tok1", "order-2"));
        // The separator keeps ("ab", "c") apart from ("a", "bc").
        assert_ne!(
            capture_fingerprint("ab", "c"),
            capture_fingerprint("a", "bc")
        );
    }
}
