-- A claimed idempotency key is a lease: the claim holds until `locked_until`, after
-- which a retry may take the key over and run the request again (the first runner
-- crashed). `claim_id` names the current holder, so only it can store the answer.
-- Rows claimed before this migration get locked_until 0: already expired, so keys
-- left "in progress" by a crash are recovered by their next retry.
ALTER TABLE idempotency_keys ADD COLUMN locked_until BIGINT NOT NULL DEFAULT 0;
ALTER TABLE idempotency_keys ADD COLUMN claim_id TEXT NOT NULL DEFAULT '';
-- Stored answers are pruned by age.
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
