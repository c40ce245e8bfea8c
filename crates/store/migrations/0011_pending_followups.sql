-- Work that follows an acknowledged capture (qualification answers, scoring, routing,
-- nurture). Written in the capture's own transaction and deleted in the follow-up's,
-- so each is done exactly once and none is lost to a crash or a restart.
CREATE TABLE pending_followups (
    id            TEXT PRIMARY KEY,
    lead_id       TEXT NOT NULL,
    actor         TEXT NOT NULL,
    -- JSON object: question -> answer text, as the form carried it.
    answers       TEXT NOT NULL DEFAULT '{}',
    attempts      BIGINT NOT NULL DEFAULT 0,
    -- No server takes it before then: the capturing server holds a fresh one for a
    -- lease, a failed one waits out its backoff.
    available_at  BIGINT NOT NULL,
    last_error    TEXT,
    -- Set when it was given up after its last attempt (kept for inspection).
    failed_at     BIGINT,
    created_at    BIGINT NOT NULL
);
CREATE INDEX pending_followups_due ON pending_followups (available_at) WHERE failed_at IS NULL;

-- Answers as the lead wrote them ("sure, call me", "next quarter"), beside the value
-- read from them: JSON object question -> text.
ALTER TABLE lead_work ADD COLUMN answer_texts TEXT NOT NULL DEFAULT '{}';
