-- The duplicates review queue: every pair of leads matching found possibly to be one
-- person, for a person to merge or dismiss. A lead may be in many pairs (the older
-- leads.possible_duplicate_of column holds only the best one).
--
-- lead_a < lead_b are the two leads as found, never changed: the pair is unique, so a
-- dismissed pair found again stays dismissed. live_a <= live_b are the leads they live
-- on as now: a merge points them at its survivor, its undo points them back. Pairs
-- are listed by their live leads, so a dismissal holds through later merges and a
-- pair whose leads were merged (live_a = live_b) leaves the queue.
CREATE TABLE duplicate_pairs (
    id             TEXT PRIMARY KEY,
    lead_a         TEXT NOT NULL REFERENCES leads(id),
    lead_b         TEXT NOT NULL REFERENCES leads(id),
    live_a         TEXT NOT NULL,
    live_b         TEXT NOT NULL,
    probability    DOUBLE PRECISION NOT NULL,
    -- In bits, as match_decisions.score.
    score          DOUBLE PRECISION NOT NULL,
    evidence       TEXT NOT NULL,
    -- open, merged or dismissed.
    status         TEXT NOT NULL,
    -- capture or dedupe.
    found_by       TEXT NOT NULL,
    import_id      TEXT,
    -- The source of the record that brought the pair up.
    source_id      TEXT,
    dedupe_run_id  TEXT,
    merge_id       TEXT,
    created_at     BIGINT NOT NULL,
    decided_at     BIGINT,
    decided_by     TEXT,
    UNIQUE (lead_a, lead_b)
);
-- The queue: open pairs, most probable first.
CREATE INDEX duplicate_pairs_queue ON duplicate_pairs (status, probability, id);
-- A pair's group (every pair between the same two live leads), and following merges.
CREATE INDEX duplicate_pairs_live ON duplicate_pairs (live_a, live_b);
CREATE INDEX duplicate_pairs_live_b ON duplicate_pairs (live_b);
CREATE INDEX duplicate_pairs_merge ON duplicate_pairs (merge_id);
