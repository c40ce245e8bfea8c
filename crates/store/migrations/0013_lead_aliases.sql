-- What a lead has been besides its current values: a capture that merged into a lead
-- but brought another e-mail, phone, name or address (kept on the lead as alternates)
-- leaves its comparable values here, so later records are compared with those too.
-- Their blocking keys are in lead_match_keys under the alias id ("alias-…"), and an
-- alias leads to its lead the way a merged-away lead leads to its survivor.
CREATE TABLE lead_aliases (
    id            TEXT PRIMARY KEY,
    lead_id       TEXT NOT NULL,
    email_key     TEXT,
    phone         TEXT,
    first_name    TEXT,
    last_name     TEXT,
    company_key   TEXT,
    domain        TEXT,
    street        TEXT,
    postal_code   TEXT,
    city          TEXT,
    country       TEXT,
    date_of_birth TEXT,
    created_at    BIGINT NOT NULL
);
CREATE INDEX lead_aliases_lead ON lead_aliases (lead_id);

-- Blocking keys of aliases (lead_match_keys holds leads' own, with a foreign key to
-- leads). Candidate lookup reads both.
CREATE TABLE lead_alias_keys (
    match_key  TEXT NOT NULL,
    alias_id   TEXT NOT NULL REFERENCES lead_aliases(id),
    PRIMARY KEY (match_key, alias_id)
);
CREATE INDEX lead_alias_keys_alias ON lead_alias_keys (alias_id);
