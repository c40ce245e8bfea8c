-- What reps do with a lead (calls, voicemails, e-mails, meetings, notes), and the
-- lead's first and last touch and agreed next step, so no prospect is forgotten.
CREATE TABLE sales_touches (
    id           TEXT PRIMARY KEY,
    lead_id      TEXT NOT NULL REFERENCES leads(id),
    user_id      TEXT REFERENCES users(id),
    kind         TEXT NOT NULL,
    outcome      TEXT,
    notes        TEXT,
    occurred_at  BIGINT NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX sales_touches_lead ON sales_touches (lead_id, occurred_at);

ALTER TABLE lead_work ADD COLUMN first_touch_at BIGINT;
ALTER TABLE lead_work ADD COLUMN last_touch_at BIGINT;
ALTER TABLE lead_work ADD COLUMN next_step TEXT;
ALTER TABLE lead_work ADD COLUMN next_step_due_at BIGINT;
