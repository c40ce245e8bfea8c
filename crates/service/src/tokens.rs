//! API tokens: random secrets shown once, stored only as SHA-256 hashes.
//!
//! Tokens carry 256 bits of randomness, so a fast hash is safe here (unlike passwords,
//! which get argon2): lookups stay O(1) by hash and a leaked table reveals nothing usable.

use crate::error::Result;
use crate::App;
use leadline_domain::access::Role;
use leadline_store::new_id;
use leadline_store::tokens::{self, ApiToken};
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

/// Where an idempotent request stands.
#[derive(Debug, Clone, PartialEq)]
pub enum Idempotency {
    /// First time: run the request, then `finish_idempotent`.
    Fresh,
    /// Answered before: send this answer again.
    Replay { status: u16, body: String },
    /// The first request with this key has not finished yet.
    InProgress,
    /// The key was used before with a different request body.
    Mismatch,
}

impl App {
    pub async fn begin_idempotent(
        &self,
        token_id: &str,
        key: &str,
        request_hash: &str,
    ) -> Result<Idempotency> {
        let mut conn = self.db.acquire().await?;
        if tokens::claim_idempotency_key(&mut conn, token_id, key, request_hash, self.now()).await?
        {
            return Ok(Idempotency::Fresh);
        }
        let Some(stored) = tokens::idempotent_response(&mut conn, token_id, key).await? else {
            // Released between our claim and read: the client may simply retry.
            return Ok(Idempotency::InProgress);
        };
        Ok(if stored.request_hash != request_hash {
            Idempotency::Mismatch
        } else if stored.status_code == 0 {
            Idempotency::InProgress
        } else {
            Idempotency::Replay {
                status: u16::try_from(stored.status_code).unwrap_or(500),
                body: stored.response_body,
            }
        })
    }

    pub async fn finish_idempotent(
        &self,
        token_id: &str,
        key: &str,
        status: u16,
        body: &str,
    ) -> Result<()> {
        let mut conn = self.db.acquire().await?;
        if status >= 500 {
            tokens::release_idempotency_key(&mut conn, token_id, key).await?;
        } else {
            tokens::complete_idempotency_key(&mut conn, token_id, key, i64::from(status), body)
                .await?;
        }
        Ok(())
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
}
