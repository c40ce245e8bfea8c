-- Blank lines of an imported file (empty, whitespace or only delimiters) are reported
-- as skipped rows, so that the counts of an import add up to the lines of its file:
-- total_rows = created + merged + unchanged + rejected + skipped.
ALTER TABLE imports ADD COLUMN skipped_count BIGINT NOT NULL DEFAULT 0;
