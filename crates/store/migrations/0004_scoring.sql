-- Engagement events (opens, clicks, visits, demo requests …) that scoring reads, and the
-- stored score of each lead with its explanation.
CREATE TABLE lead_activities (
    id           TEXT PRIMARY KEY,
    lead_id      TEXT NOT NULL REFERENCES leads(id),
    event_type   TEXT NOT NULL,
    occurred_at  BIGINT NOT NULL,
    actor        TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX lead_activities_lead ON lead_activities (lead_id, occurred_at);

ALTER TABLE lead_work ADD COLUMN fit_score DOUBLE PRECISION;
ALTER TABLE lead_work ADD COLUMN engagement_score DOUBLE PRECISION;
ALTER TABLE lead_work ADD COLUMN score DOUBLE PRECISION;
ALTER TABLE lead_work ADD COLUMN score_explanation TEXT;
ALTER TABLE lead_work ADD COLUMN scored_at BIGINT;
