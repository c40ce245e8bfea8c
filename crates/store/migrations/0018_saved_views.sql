-- The web app's lists: each person's saved views (a name and the list's filters as
-- its query string) and their preferences (the vocabulary stages are shown in).
CREATE TABLE saved_views (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users(id),
    name        TEXT NOT NULL,
    query       TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX saved_views_user ON saved_views (user_id, name);

CREATE TABLE user_preferences (
    user_id     TEXT NOT NULL REFERENCES users(id),
    name        TEXT NOT NULL,
    value       TEXT NOT NULL,
    PRIMARY KEY (user_id, name)
);
