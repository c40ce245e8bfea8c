-- The outbox: notifications written in the same transaction as the change that caused
-- them. Server-Sent Event streams read it directly; a background worker fans each event
-- out into deliveries (one per webhook or e-mail recipient) and delivers those.
CREATE TABLE outbox_events (
    -- ULID: sortable by creation time, which SSE streams tail by.
    id            TEXT PRIMARY KEY,
    topic         TEXT NOT NULL,
    lead_id       TEXT,
    -- JSON list of the user ids (owner, previous owner, manager) who see the event
    -- besides the roles that see every lead.
    audience      TEXT NOT NULL DEFAULT '[]',
    payload       TEXT NOT NULL,
    occurred_at   BIGINT NOT NULL,
    -- Set once the worker has created the event's deliveries.
    dispatched_at BIGINT
);
CREATE INDEX outbox_events_undispatched ON outbox_events (id) WHERE dispatched_at IS NULL;

-- Outbound webhook subscriptions. The secret signs deliveries (Standard Webhooks), so
-- it is kept, not hashed; the API shows it only when it is created or rotated.
CREATE TABLE webhooks (
    id           TEXT PRIMARY KEY,
    url          TEXT NOT NULL,
    secret       TEXT NOT NULL,
    -- JSON list of topic filters; empty means every topic.
    topics       TEXT NOT NULL DEFAULT '[]',
    description  TEXT NOT NULL DEFAULT '',
    active       BIGINT NOT NULL DEFAULT 1,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);

-- One event to one webhook or one e-mail recipient. A worker claims due rows with a
-- lease (FOR UPDATE SKIP LOCKED on PostgreSQL), so two servers never send one twice.
CREATE TABLE deliveries (
    id                TEXT PRIMARY KEY,
    event_id          TEXT NOT NULL REFERENCES outbox_events(id),
    -- webhook or email
    channel           TEXT NOT NULL,
    -- the webhook id, or the recipient's user id
    target            TEXT NOT NULL,
    -- pending, delivered or dead (a dead letter, which can be replayed)
    status            TEXT NOT NULL,
    attempts          BIGINT NOT NULL DEFAULT 0,
    next_attempt_at   BIGINT NOT NULL,
    locked_by         TEXT,
    locked_until      BIGINT,
    last_error        TEXT,
    last_status_code  BIGINT,
    delivered_at      BIGINT,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    UNIQUE (event_id, channel, target)
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_by_status ON deliveries (status, id);
CREATE INDEX deliveries_by_target ON deliveries (target, id);
