-- The event log, its counters and the incidents projection.
-- Times are microseconds since the Unix epoch; hashes are 32-byte SHA-256 digests.

-- Gap-free counters, advanced inside the transaction that uses the value. Every write
-- transaction locks `event_position` first, which orders commits across server nodes and
-- keeps positions in commit order.
CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO counters (name, value) VALUES ('incident_number', 0), ('event_position', 0);

-- Append-only: every event of every incident, hash-chained per incident. The body is TEXT,
-- not JSONB, so its bytes are kept exactly as hashed.
CREATE TABLE events (
    position      BIGINT  PRIMARY KEY,
    incident      BIGINT  NOT NULL,
    sequence      BIGINT  NOT NULL,
    recorded_at   BIGINT  NOT NULL,
    actor         TEXT    NOT NULL,
    event_type    TEXT    NOT NULL,
    event_version INTEGER NOT NULL,
    body          TEXT    NOT NULL,
    prev_hash     BYTEA   NOT NULL,
    hash          BYTEA   NOT NULL,
    UNIQUE (incident, sequence)
);

CREATE FUNCTION events_are_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are append-only';
END;
$$;
CREATE TRIGGER events_are_append_only BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_are_append_only();
CREATE TRIGGER events_are_not_truncated BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_are_append_only();

-- One row per incident, written in the same transaction as its events: lists never fold
-- streams. `state` is a snapshot of the folded state in format `state_format`.
CREATE TABLE incidents (
    number       BIGINT  PRIMARY KEY,
    title        TEXT    NOT NULL,
    status       TEXT    NOT NULL,
    severity     TEXT    NOT NULL,
    potential    BOOLEAN NOT NULL,
    visibility   TEXT    NOT NULL,
    services     TEXT    NOT NULL,
    commander    TEXT,
    roles        TEXT    NOT NULL,
    declared_at  BIGINT  NOT NULL,
    resolved_at  BIGINT,
    updated_at   BIGINT  NOT NULL,
    version      BIGINT  NOT NULL,
    last_hash    BYTEA   NOT NULL,
    state        TEXT    NOT NULL,
    state_format BIGINT  NOT NULL
) WITH (fillfactor = 70);
-- Free space on each page lets the row be rewritten in place on every append (a HOT update,
-- which touches no index): the reason this table has only its primary key for now.
