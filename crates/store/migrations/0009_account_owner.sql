-- The rep who owns an account: routing's "account owner" target sends the account's new
-- leads to them. Set by hand, or by the first routing of one of its leads.
ALTER TABLE accounts ADD COLUMN owner_id TEXT REFERENCES users(id);
