-- Counts the writes of a lead's row. Capture keeps the comparable view of leads it has
-- read between batches (a per-process cache) and reads only this column to know which
-- of them are still as it saw them: every write of a lead's values bumps it
-- (leads::update and leads::update_many; the other UPDATEs of leads set only its stage
-- or its possible-duplicate flag, which matching does not read), and a new lead starts
-- at 0.
ALTER TABLE leads ADD COLUMN match_revision BIGINT NOT NULL DEFAULT 0;
