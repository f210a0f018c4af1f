-- Attachment contents, addressed by their SHA-256 digest: identical files are stored once,
-- and a stored file never changes. Which incident holds which attachment is recorded by
-- `evidence_attached` events.
CREATE TABLE attachments (
    sha256     BYTEA  PRIMARY KEY,
    size       BIGINT NOT NULL,
    content    BYTEA  NOT NULL,
    created_at BIGINT NOT NULL
);
