-- The speed-to-lead clock of a routed lead: its policy, the clock's instants (JSON), and
-- what the SLA job already did.
ALTER TABLE lead_work ADD COLUMN sla_policy_id TEXT;
ALTER TABLE lead_work ADD COLUMN sla_clock TEXT;
ALTER TABLE lead_work ADD COLUMN sla_escalated_at BIGINT;
ALTER TABLE lead_work ADD COLUMN sla_rerouted_at BIGINT;
