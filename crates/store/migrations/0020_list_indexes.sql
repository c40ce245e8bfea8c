-- The lead list filters by stage or source and shows the newest first: indexes that
-- hold both, so a filtered page walks the matching leads in order and stops after one
-- page instead of sorting them all. They replace the single-column ones (the same
-- equality lookups use their first column).
DROP INDEX leads_source;
DROP INDEX leads_stage;
CREATE INDEX leads_source_created ON leads (source_id, created_at, id);
CREATE INDEX leads_stage_created ON leads (stage, created_at, id);
