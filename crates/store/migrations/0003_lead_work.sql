-- The working state of a lead beside its captured data: qualification answers and
-- horizon, the disqualify reason, and when its stage last changed. One row per lead,
-- created on first use, so the capture hot path writes nothing extra.
CREATE TABLE lead_work (
    lead_id            TEXT PRIMARY KEY REFERENCES leads(id),
    answers            TEXT NOT NULL DEFAULT '{}',
    horizon            TEXT,
    horizon_manual     TEXT,
    disqualify_reason  TEXT,
    stage_changed_at   BIGINT,
    updated_at         BIGINT NOT NULL
);
