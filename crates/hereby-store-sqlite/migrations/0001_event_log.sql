-- The event log, its counters and the incidents projection.
-- Times are microseconds since the Unix epoch; hashes are 32-byte SHA-256 digests.

-- Gap-free counters. Each is advanced inside the transaction that uses the value, so a
-- rolled-back write gives its number back.
CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) STRICT;
INSERT INTO counters (name, value) VALUES ('incident_number', 0);

-- Append-only: every event of every incident, hash-chained per incident. `position` is the
-- rowid: one writer at a time and no deletes make it consecutive and in commit order.
CREATE TABLE events (
    position      INTEGER PRIMARY KEY,
    incident      INTEGER NOT NULL,
    sequence      INTEGER NOT NULL,
    recorded_at   INTEGER NOT NULL,
    actor         TEXT    NOT NULL,
    event_type    TEXT    NOT NULL,
    event_version INTEGER NOT NULL,
    body          TEXT    NOT NULL,
    prev_hash     BLOB    NOT NULL,
    hash          BLOB    NOT NULL,
    UNIQUE (incident, sequence)
) STRICT;

CREATE TRIGGER events_are_append_only_update BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are append-only');
END;
CREATE TRIGGER events_are_append_only_delete BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are append-only');
END;

-- One row per incident, written in the same transaction as its events: lists never fold
-- streams. `state` is a snapshot of the folded state in format `state_format`.
CREATE TABLE incidents (
    number       INTEGER PRIMARY KEY,
    title        TEXT    NOT NULL,
    status       TEXT    NOT NULL,
    severity     TEXT    NOT NULL,
    potential    INTEGER NOT NULL,
    visibility   TEXT    NOT NULL,
    services     TEXT    NOT NULL,
    commander    TEXT,
    roles        TEXT    NOT NULL,
    declared_at  INTEGER NOT NULL,
    resolved_at  INTEGER,
    updated_at   INTEGER NOT NULL,
    version      INTEGER NOT NULL,
    last_hash    BLOB    NOT NULL,
    state        TEXT    NOT NULL,
    state_format INTEGER NOT NULL
) STRICT;
