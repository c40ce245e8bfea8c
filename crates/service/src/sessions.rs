//! Signing in to the web app: password checks, server-side sessions, throttling of
//! failed attempts, and the first-run setup of the first admin.
//!
//! A session is a random 256-bit secret in an `HttpOnly` cookie; the database keeps
//! only its SHA-256 (as for API tokens), with the user, a CSRF token and when it ends.
//! Every request looks the session and its user up again, so a deactivated user, a
//! changed password or a sign-out ends it at once, on every server sharing the
//! database. Passwords are checked with argon2 on the blocking pool.

use crate::error::{Result, ServiceError};
use crate::tokens::hash_token;
use crate::users::UserInput;
use crate::App;
use argon2::password_hash::{PasswordHash, PasswordVerifier};
use argon2::Argon2;
use leadline_domain::access::{LeadScope, Role};
use leadline_store::new_id;
use leadline_store::sessions::{self, SessionRow};
use leadline_store::users::{self, UserRow};
use rand::RngCore;

/// A session unused for this long ends (a working day and a night).
pub const SESSION_IDLE_MS: i64 = 12 * 60 * 60 * 1000;
/// A session ends this long after sign-in however busy it is.
pub const SESSION_LIFETIME_MS: i64 = 7 * 24 * 60 * 60 * 1000;
/// Window over which failed sign-ins are counted.
pub const THROTTLE_WINDOW_MS: i64 = 15 * 60 * 1000;
/// Failed sign-ins one account may have in the window before it is refused until the
/// oldest ages out: enough for a person's slips, far too few for guessing.
pub const MAX_ACCOUNT_FAILURES: i64 = 5;
/// Failed sign-ins one client address may have in the window, over all accounts.
pub const MAX_CLIENT_FAILURES: i64 = 20;
/// Use of a session is written at most this often.
const TOUCH_EVERY_MS: i64 = 60 * 1000;

/// What a sign-in form sends.
#[derive(Debug, Clone)]
pub struct SignIn {
    pub email: String,
    pub password: String,
    /// The client's address, for throttling across accounts (`None` when unknown).
    pub client: Option<String>,
    pub user_agent: Option<String>,
}

/// A session just created: its secret goes into the cookie and is never stored.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub secret: String,
    pub session: SessionRow,
    pub user: UserRow,
}

/// How a sign-in ended. A wrong password and an unknown or deactivated account look
/// the same to the client.
#[derive(Debug, Clone)]
pub enum SignInOutcome {
    SignedIn(Box<NewSession>),
    Refused,
    /// Too many failures lately; the client may try again after this long.
    Throttled {
        retry_after_ms: i64,
    },
}

/// Who a web request acts as: the session, its user, the user's role and the leads
/// the user may see.
#[derive(Debug, Clone)]
pub struct SessionPrincipal {
    pub session: SessionRow,
    pub user: UserRow,
    pub role: Role,
    pub scope: LeadScope,
}

fn random_hex() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// A hash no password matches, verified for unknown accounts so that a sign-in takes
/// as long whether or not the e-mail exists.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$O7hv6nJ1sHscWRnC4ZyBP/7wYnLJHDhDzQXnPWqUG6A";

fn verify(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

fn account_subject(email: &str) -> String {
    format!("account:{}", email.trim().to_lowercase())
}

fn client_subject(client: &str) -> String {
    format!("client:{client}")
}

impl App {
    /// Checks a password and opens a session, unless the account or the client has
    /// failed too often lately.
    pub async fn sign_in(&self, input: SignIn) -> Result<SignInOutcome> {
        let now = self.now();
        let since = now - THROTTLE_WINDOW_MS;
        let account = account_subject(&input.email);
        let client = input.client.as_deref().map(client_subject);
        let mut conn = self.db.acquire().await?;
        let mut retry_after_ms = 0;
        for (subject, limit) in [
            (Some(account.as_str()), MAX_ACCOUNT_FAILURES),
            (client.as_deref(), MAX_CLIENT_FAILURES),
        ] {
            let Some(subject) = subject else { continue };
            let (failures, oldest) = sessions::failures_since(&mut conn, subject, since).await?;
            if failures >= limit {
                let oldest = oldest.unwrap_or(now);
                retry_after_ms = retry_after_ms.max(oldest + THROTTLE_WINDOW_MS - now);
            }
        }
        if retry_after_ms > 0 {
            return Ok(SignInOutcome::Throttled {
                retry_after_ms: retry_after_ms.max(1000),
            });
        }
        let user = users::user_by_email(&mut conn, &input.email.trim().to_lowercase()).await?;
        drop(conn);
        let hash = user
            .as_ref()
            .filter(|u| u.active)
            .and_then(|u| u.password_hash.clone());
        let known = hash.is_some();
        let password = input.password;
        let matched = tokio::task::spawn_blocking(move || {
            let ok = verify(&password, hash.as_deref().unwrap_or(DUMMY_HASH));
            ok && known
        })
        .await
        .map_err(|e| ServiceError::Internal(e.into()))?;
        let mut tx = self.db.begin().await?;
        let Some(user) = user.filter(|_| matched) else {
            sessions::record_failure(&mut tx, &new_id(), &account, now).await?;
            if let Some(client) = &client {
                sessions::record_failure(&mut tx, &new_id(), client, now).await?;
            }
            tx.commit()
                .await
                .map_err(leadline_store::StoreError::from)?;
            tracing::info!(client = input.client.as_deref(), "sign-in refused");
            return Ok(SignInOutcome::Refused);
        };
        sessions::clear_failures(&mut tx, &account).await?;
        let secret = random_hex();
        let session = SessionRow {
            id: new_id(),
            token_hash: hash_token(&secret),
            user_id: user.id.clone(),
            csrf_token: random_hex(),
            user_agent: input.user_agent.map(|a| a.chars().take(300).collect()),
            created_at: now,
            last_seen_at: now,
            expires_at: now + SESSION_IDLE_MS,
            ends_at: now + SESSION_LIFETIME_MS,
        };
        sessions::insert(&mut tx, &session).await?;
        tx.commit()
            .await
            .map_err(leadline_store::StoreError::from)?;
        tracing::info!(user_id = %user.id, session_id = %session.id, "signed in");
        Ok(SignInOutcome::SignedIn(Box::new(NewSession {
            secret,
            session,
            user,
        })))
    }

    /// The live session for a cookie secret and the active user it belongs to.
    pub async fn authenticate_session(&self, secret: &str) -> Result<Option<SessionPrincipal>> {
        if secret.len() != 64 || !secret.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        let now = self.now();
        let mut conn = self.db.acquire().await?;
        let Some(mut session) = sessions::live_by_hash(&mut conn, &hash_token(secret), now).await?
        else {
            return Ok(None);
        };
        let Some(user) = users::user_by_id(&mut conn, &session.user_id)
            .await?
            .filter(|u| u.active && u.password_hash.is_some())
        else {
            return Ok(None);
        };
        let Ok(role) = user.role.parse::<Role>() else {
            return Ok(None);
        };
        if now - session.last_seen_at >= TOUCH_EVERY_MS {
            session.last_seen_at = now;
            session.expires_at = (now + SESSION_IDLE_MS).min(session.ends_at);
            sessions::touch(&mut conn, &session.id, now, session.expires_at).await?;
        }
        drop(conn);
        let scope = self.lead_scope(&user.id, role).await?;
        Ok(Some(SessionPrincipal {
            session,
            user,
            role,
            scope,
        }))
    }

    /// Ends the session of a cookie secret; signing out twice is no error.
    pub async fn sign_out(&self, secret: &str) -> Result<()> {
        let mut conn = self.db.acquire().await?;
        sessions::delete_by_hash(&mut conn, &hash_token(secret)).await?;
        Ok(())
    }

    /// Changes the signed-in user's own password after checking the current one, and
    /// ends the user's other sessions (a stolen session dies with the old password).
    pub async fn change_password(
        &self,
        principal: &SessionPrincipal,
        current: &str,
        new_password: &str,
    ) -> Result<()> {
        let hash = principal.user.password_hash.clone().unwrap_or_default();
        let current = current.to_string();
        let matched = tokio::task::spawn_blocking(move || verify(&current, &hash))
            .await
            .map_err(|e| ServiceError::Internal(e.into()))?;
        if !matched {
            return Err(ServiceError::invalid(
                "current_password",
                "wrong_password",
                "the current password is not right",
            ));
        }
        self.save_user_input(
            &principal.user.id,
            UserInput {
                password: Some(new_password.to_string()),
                ..Default::default()
            },
        )
        .await?;
        let mut conn = self.db.acquire().await?;
        sessions::delete_for_user(&mut conn, &principal.user.id, Some(&principal.session.id))
            .await?;
        Ok(())
    }

    /// The user's live sessions, newest first.
    pub async fn sessions_of(&self, user_id: &str) -> Result<Vec<SessionRow>> {
        let now = self.now();
        let mut conn = self.db.acquire().await?;
        Ok(sessions::for_user(&mut conn, user_id)
            .await?
            .into_iter()
            .filter(|s| s.expires_at > now && s.ends_at > now)
            .collect())
    }

    /// Ends every session of a user (deactivated, or its password set by an admin).
    pub async fn end_sessions_of(&self, user_id: &str) -> Result<u64> {
        let mut conn = self.db.acquire().await?;
        Ok(sessions::delete_for_user(&mut conn, user_id, None).await?)
    }

    /// Whether the first-run setup page is open: no user can sign in yet.
    pub async fn setup_needed(&self) -> Result<bool> {
        let mut conn = self.db.acquire().await?;
        Ok(!users::list_users(&mut conn)
            .await?
            .iter()
            .any(|u| u.active && u.password_hash.is_some()))
    }

    /// First-run setup: creates the first admin who can sign in. Refused once any user
    /// can sign in, so the page cannot be used to add an admin later. The placeholder
    /// admin that API tokens made without a user belong to is given these details.
    pub async fn set_up_first_admin(
        &self,
        email: &str,
        name: &str,
        password: &str,
    ) -> Result<UserRow> {
        // One setup at a time in this process; a second one finds the first's admin.
        let _turn = self.setup_lock.lock().await;
        if !self.setup_needed().await? {
            return Err(ServiceError::conflict(
                "already_set_up",
                "this server has an administrator already; sign in instead",
            ));
        }
        let input = UserInput {
            email: Some(email.to_string()),
            name: Some(name.to_string()),
            role: Some("admin".into()),
            password: Some(password.to_string()),
            active: Some(true),
            ..Default::default()
        };
        let mut conn = self.db.acquire().await?;
        let placeholder = users::first_admin(&mut conn)
            .await?
            .filter(|a| a.password_hash.is_none() && a.email.ends_with("@leadline.invalid"));
        drop(conn);
        match placeholder {
            Some(admin) => self.update_user(&admin.id, input).await,
            None => self.create_user(input).await,
        }
    }

    /// Removes ended sessions and forgotten sign-in failures.
    pub async fn prune_sessions(&self) -> Result<u64> {
        let now = self.now();
        let mut conn = self.db.acquire().await?;
        let sessions = sessions::delete_expired(&mut conn, now).await?;
        sessions::prune_failures(&mut conn, now - THROTTLE_WINDOW_MS).await?;
        // Wizard uploads nobody went on with.
        leadline_store::uploads::delete_older(
            &mut conn,
            now - crate::imports::STAGED_UPLOAD_TTL_MS,
        )
        .await?;
        Ok(sessions)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dummy_hash_parses_and_matches_nothing_likely() {
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
        assert!(!verify("", DUMMY_HASH));
        assert!(!verify("correct horse battery staple", DUMMY_HASH));
        assert!(!verify("anything", "not a hash"));
    }

    #[test]
    fn subjects_fold_the_account_e_mail() {
        assert_eq!(
            account_subject(" Ann@Example.COM "),
            "account:ann@example.com"
        );
        assert_eq!(client_subject("127.0.0.1"), "client:127.0.0.1");
    }
}
