-- The owner a lead was routed to, and when.
ALTER TABLE lead_work ADD COLUMN owner_id TEXT REFERENCES users(id);
ALTER TABLE lead_work ADD COLUMN routed_at BIGINT;
CREATE INDEX lead_work_owner ON lead_work (owner_id);
