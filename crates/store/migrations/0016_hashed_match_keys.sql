-- One table of blocking keys for leads and aliases alike, each key stored as a 64-bit
-- hash of its text (leads::match_key_hash). The key index is the one every capture
-- batch searches ~90,000 times and grows at random places: eight bytes instead of the
-- text make it about 15% smaller and faster to search, and one table instead of
-- lead_match_keys + lead_alias_keys halves the searches (each key looked up once, not
-- once per table). `record_id` is a lead's id or an alias's (`alias-…`), so it has no
-- foreign key; whoever removes a lead or alias removes its keys (leads::delete_keys_of).
-- The old tables are dropped and the stored key form forgotten, so the server rebuilds
-- every lead's and alias's keys when it starts (as after a change of key form).
DROP TABLE lead_alias_keys;
DROP TABLE lead_match_keys;

CREATE TABLE match_keys (
    match_key  BIGINT NOT NULL,
    record_id  TEXT NOT NULL,
    PRIMARY KEY (match_key, record_id)
);
CREATE INDEX match_keys_record ON match_keys (record_id);

DELETE FROM settings WHERE name = 'matching_keys_version';
