-- Web app sign-in: server-side sessions and failed sign-in attempts.
--
-- A session's cookie carries a random secret; only its SHA-256 is stored (as for API
-- tokens), so a leaked table opens no session. `csrf_token` is the session's
-- synchronizer token, sent back in every state-changing form. A session ends when it
-- is deleted (sign-out, password change, the user deactivated), idle past
-- `expires_at`, or older than the absolute lifetime the service sets in `ends_at`.
CREATE TABLE sessions (
    id            TEXT PRIMARY KEY,
    token_hash    TEXT NOT NULL UNIQUE,
    user_id       TEXT NOT NULL REFERENCES users(id),
    csrf_token    TEXT NOT NULL,
    user_agent    TEXT,
    created_at    BIGINT NOT NULL,
    last_seen_at  BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    ends_at       BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

-- Failed sign-ins by account (the folded e-mail) and by client address, for throttling
-- that holds across restarts and across servers sharing one database.
CREATE TABLE sign_in_failures (
    id          TEXT PRIMARY KEY,
    subject     TEXT NOT NULL,
    failed_at   BIGINT NOT NULL
);
CREATE INDEX sign_in_failures_subject ON sign_in_failures (subject, failed_at);
