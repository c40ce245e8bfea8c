-- Users, teams and rep settings; API tokens belong to a user and act with its role.

CREATE TABLE users (
    id             TEXT PRIMARY KEY,
    email          TEXT NOT NULL UNIQUE,
    name           TEXT NOT NULL,
    -- admin, manager, marketer or rep
    role           TEXT NOT NULL,
    password_hash  TEXT,
    active         BIGINT NOT NULL DEFAULT 1,
    -- Rep settings (JSON): working hours with their time zone, territories.
    working_hours  TEXT NOT NULL DEFAULT '{}',
    territories    TEXT NOT NULL DEFAULT '[]',
    capacity       BIGINT NOT NULL DEFAULT 50,
    weight         BIGINT NOT NULL DEFAULT 1,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);

CREATE TABLE teams (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    manager_id  TEXT REFERENCES users(id),
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE team_members (
    team_id  TEXT NOT NULL REFERENCES teams(id),
    user_id  TEXT NOT NULL REFERENCES users(id),
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user ON team_members (user_id);

ALTER TABLE api_tokens ADD COLUMN user_id TEXT REFERENCES users(id);
