-- The import wizard's uploads, kept between the upload and the person confirming the
-- column mapping (base64 text: one column type on both databases). Nothing is
-- imported from here until the import is started; stale uploads are removed.
CREATE TABLE import_uploads (
    id              TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL REFERENCES users(id),
    file_name       TEXT NOT NULL,
    content         TEXT NOT NULL,
    source          TEXT NOT NULL,
    campaign        TEXT,
    channel         TEXT NOT NULL,
    default_region  TEXT,
    created_at      BIGINT NOT NULL
);
CREATE INDEX import_uploads_created ON import_uploads (created_at);
