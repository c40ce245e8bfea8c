-- Capture core schema, portable across SQLite and PostgreSQL.
-- Conventions (so one query set serves both through sqlx Any):
--   ids are ULID text, times are BIGINT milliseconds since the Unix epoch,
--   booleans are BIGINT 0/1, enums and JSON are TEXT.

CREATE TABLE sources (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    channel     TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE campaigns (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    source_id   TEXT NOT NULL REFERENCES sources(id),
    channel     TEXT NOT NULL,
    cost_cents  BIGINT,
    currency    TEXT,
    starts_on   TEXT,
    ends_on     TEXT,
    created_at  BIGINT NOT NULL
);

CREATE TABLE accounts (
    id          TEXT PRIMARY KEY,
    domain      TEXT NOT NULL UNIQUE,
    name        TEXT,
    created_at  BIGINT NOT NULL
);

CREATE TABLE leads (
    id                     TEXT PRIMARY KEY,
    first_name             TEXT,
    last_name              TEXT,
    title                  TEXT,
    email                  TEXT,
    email_key              TEXT,
    phone                  TEXT,
    phone_valid            BIGINT NOT NULL DEFAULT 0,
    company                TEXT,
    company_key            TEXT,
    website                TEXT,
    domain                 TEXT,
    street                 TEXT,
    postal_code            TEXT,
    city                   TEXT,
    region                 TEXT,
    country                TEXT,
    date_of_birth          TEXT,
    custom                 TEXT NOT NULL DEFAULT '{}',
    flags                  TEXT NOT NULL DEFAULT '[]',
    stage                  TEXT NOT NULL DEFAULT 'new',
    account_id             TEXT REFERENCES accounts(id),
    source_id              TEXT REFERENCES sources(id),
    campaign_id            TEXT REFERENCES campaigns(id),
    possible_duplicate_of  TEXT,
    merged_into            TEXT,
    created_at             BIGINT NOT NULL,
    updated_at             BIGINT NOT NULL
);
CREATE INDEX leads_email_key ON leads (email_key);
CREATE INDEX leads_phone ON leads (phone);
CREATE INDEX leads_company_key ON leads (company_key);
CREATE INDEX leads_created ON leads (created_at, id);
CREATE INDEX leads_source ON leads (source_id);
CREATE INDEX leads_stage ON leads (stage);
CREATE INDEX leads_account ON leads (account_id);

-- Blocking keys: candidate pairs for matching come only from leads sharing a key,
-- which keeps matching cheap at a million leads.
CREATE TABLE lead_match_keys (
    match_key  TEXT NOT NULL,
    lead_id    TEXT NOT NULL REFERENCES leads(id),
    PRIMARY KEY (match_key, lead_id)
);
CREATE INDEX lead_match_keys_lead ON lead_match_keys (lead_id);

-- Attribution: every capture of a lead is a touch; position 0 is the first touch.
CREATE TABLE touches (
    id            TEXT PRIMARY KEY,
    lead_id       TEXT NOT NULL REFERENCES leads(id),
    position      BIGINT NOT NULL,
    channel       TEXT NOT NULL,
    source_id     TEXT REFERENCES sources(id),
    campaign_id   TEXT REFERENCES campaigns(id),
    utm_source    TEXT,
    utm_medium    TEXT,
    utm_campaign  TEXT,
    utm_term      TEXT,
    utm_content   TEXT,
    referrer      TEXT,
    landing_page  TEXT,
    form_id       TEXT,
    import_id     TEXT,
    fingerprint   TEXT,
    occurred_at   BIGINT NOT NULL
);
CREATE INDEX touches_lead ON touches (lead_id, position);
-- A capture seen before (same import row, same idempotent request) is recognised here.
CREATE UNIQUE INDEX touches_fingerprint ON touches (fingerprint);

CREATE TABLE consents (
    id           TEXT PRIMARY KEY,
    lead_id      TEXT NOT NULL REFERENCES leads(id),
    channel      TEXT NOT NULL,
    status       TEXT NOT NULL,
    wording      TEXT,
    evidence     TEXT NOT NULL DEFAULT '{}',
    recorded_at  BIGINT NOT NULL
);
CREATE INDEX consents_lead ON consents (lead_id, channel, recorded_at);

-- Append-only history of everything that happened to a lead.
CREATE TABLE timeline_events (
    id           TEXT PRIMARY KEY,
    lead_id      TEXT NOT NULL,
    kind         TEXT NOT NULL,
    actor        TEXT NOT NULL,
    occurred_at  BIGINT NOT NULL,
    payload      TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX timeline_events_lead ON timeline_events (lead_id, occurred_at, id);

CREATE TABLE match_decisions (
    id            TEXT PRIMARY KEY,
    lead_id       TEXT NOT NULL,
    candidate_id  TEXT NOT NULL,
    decision      TEXT NOT NULL,
    score         DOUBLE PRECISION NOT NULL,
    evidence      TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX match_decisions_lead ON match_decisions (lead_id);

CREATE TABLE merges (
    id           TEXT PRIMARY KEY,
    survivor_id  TEXT NOT NULL REFERENCES leads(id),
    merged_id    TEXT NOT NULL REFERENCES leads(id),
    snapshot     TEXT NOT NULL,
    actor        TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    undone_at    BIGINT
);

CREATE TABLE forms (
    id           TEXT PRIMARY KEY,
    form_key     TEXT NOT NULL UNIQUE,
    name         TEXT NOT NULL,
    definition   TEXT NOT NULL,
    source_id    TEXT NOT NULL REFERENCES sources(id),
    campaign_id  TEXT REFERENCES campaigns(id),
    created_at   BIGINT NOT NULL
);

CREATE TABLE api_tokens (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    token_hash    TEXT NOT NULL UNIQUE,
    created_at    BIGINT NOT NULL,
    last_used_at  BIGINT,
    revoked_at    BIGINT
);

CREATE TABLE idempotency_keys (
    token_id       TEXT NOT NULL,
    idem_key       TEXT NOT NULL,
    request_hash   TEXT NOT NULL,
    status_code    BIGINT NOT NULL,
    response_body  TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    PRIMARY KEY (token_id, idem_key)
);

CREATE TABLE imports (
    id               TEXT PRIMARY KEY,
    file_name        TEXT NOT NULL,
    file_sha256      TEXT NOT NULL,
    source_id        TEXT NOT NULL REFERENCES sources(id),
    campaign_id      TEXT REFERENCES campaigns(id),
    status           TEXT NOT NULL,
    encoding         TEXT,
    delimiter        TEXT,
    total_rows       BIGINT NOT NULL DEFAULT 0,
    processed_rows   BIGINT NOT NULL DEFAULT 0,
    created_count    BIGINT NOT NULL DEFAULT 0,
    merged_count     BIGINT NOT NULL DEFAULT 0,
    unchanged_count  BIGINT NOT NULL DEFAULT 0,
    rejected_count   BIGINT NOT NULL DEFAULT 0,
    error            TEXT,
    report           TEXT,
    created_at       BIGINT NOT NULL,
    finished_at      BIGINT
);

-- Server-wide settings shared by every instance (e.g. the form-token signing key).
CREATE TABLE settings (
    name        TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    updated_at  BIGINT NOT NULL
);
