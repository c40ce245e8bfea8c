-- Counts the writes of a lead's row. Capture keeps the comparable view of leads it has
-- read between batches (a per-process cache) and reads only this column to know which
-- of them are still as it saw them: every UPDATE of a lead bumps it (leads::update and
-- leads::update_many), and a new lead starts at 0.
ALTER TABLE leads ADD COLUMN match_revision BIGINT NOT NULL DEFAULT 0;
