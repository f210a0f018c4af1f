-- Signing in to the web UI with a password, sessions, one-time setup links, and each
-- incident's summary in its projection row (for text search).
-- Times are microseconds since the Unix epoch, as in the event log.

-- An argon2id PHC string; NULL until the user sets a password.
ALTER TABLE users ADD COLUMN password_hash TEXT;

-- Signed-in browsers. Only the SHA-256 digest of a session's secret is stored, as for API
-- tokens: the secret is in the browser's cookie alone.
CREATE TABLE web_sessions (
    digest     BLOB    PRIMARY KEY,
    user_name  TEXT    NOT NULL REFERENCES users (name),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX web_sessions_by_user ON web_sessions (user_name);
CREATE INDEX web_sessions_by_expiry ON web_sessions (expires_at);

-- One-time links that let a user set their password (the first admin's, for one). Digests
-- only, as above; a link is deleted when it is redeemed.
CREATE TABLE setup_links (
    digest     BLOB    PRIMARY KEY,
    user_name  TEXT    NOT NULL REFERENCES users (name),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX setup_links_by_user ON setup_links (user_name);

-- The incident's current summary ('' when it has none), written with the rest of the row
-- and equal to the fold of the stream. Incidents written before this migration take it from
-- their state snapshot, which equals the fold too.
ALTER TABLE incidents ADD COLUMN summary TEXT NOT NULL DEFAULT '';
UPDATE incidents SET summary = json_extract(state, '$.summary')
WHERE json_extract(state, '$.summary') IS NOT NULL;
