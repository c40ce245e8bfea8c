-- E-mail templates for nurture sequences and single sends: a subject and a text and an
-- HTML body with merge fields, checked when saved (see domain::template).
CREATE TABLE email_templates (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    subject     TEXT NOT NULL,
    body_text   TEXT NOT NULL,
    body_html   TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE UNIQUE INDEX email_templates_name ON email_templates (name);
