-- Users with their API tokens, and who may see which incident.
-- Times are microseconds since the Unix epoch, as in the event log.

-- Names are compared and sorted bytewise (BINARY), as PostgreSQL's `COLLATE "C"` does.
CREATE TABLE users (
    name       TEXT    PRIMARY KEY,
    role       TEXT    NOT NULL,
    disabled   INTEGER NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

-- Only a token's SHA-256 digest is stored; the secret is shown once and never kept.
-- `id` is the rowid: assigned on insert.
CREATE TABLE api_tokens (
    id         INTEGER PRIMARY KEY,
    user_name  TEXT    NOT NULL REFERENCES users (name),
    label      TEXT    NOT NULL,
    token_hash BLOB    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
) STRICT;
CREATE INDEX api_tokens_by_user ON api_tokens (user_name);

-- Every member of every incident: role holders and people added explicitly. Written in the
-- same transaction as the events, and equal to the fold of the stream; restricted incidents
-- are listed only for their members.
CREATE TABLE incident_members (
    incident INTEGER NOT NULL REFERENCES incidents (number),
    person   TEXT    NOT NULL,
    PRIMARY KEY (incident, person)
) STRICT, WITHOUT ROWID;

-- Incidents written before this migration: their members from the projection row (role
-- holders) and the state snapshot (people added explicitly), both equal to the fold.
INSERT INTO incident_members (incident, person)
SELECT incidents.number, holder.value
FROM incidents, json_each(incidents.roles) AS role, json_each(role.value) AS holder
UNION
SELECT incidents.number, member.value
FROM incidents, json_each(incidents.state, '$.members') AS member;
