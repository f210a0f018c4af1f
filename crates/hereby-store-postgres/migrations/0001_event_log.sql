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
    event_version BIGINT  NOT NULL,
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

-- One append as one statement, for a writer with a single append to commit: the same locks in
-- the same order as a write transaction (position counter, then the incident row), so it runs
-- in autocommit and costs one round trip. Returns the first event's position, or NULL when
-- the incident is no longer at the expected version (then nothing was written).
CREATE FUNCTION hereby_extend_stream(
    p_title TEXT, p_status TEXT, p_severity TEXT, p_potential BOOLEAN, p_visibility TEXT,
    p_services TEXT, p_commander TEXT, p_roles TEXT, p_resolved_at BIGINT, p_updated_at BIGINT,
    p_version BIGINT, p_last_hash BYTEA, p_state TEXT, p_state_format BIGINT,
    p_incidents BIGINT[], p_sequences BIGINT[], p_recorded_at BIGINT[], p_actors TEXT[],
    p_types TEXT[], p_event_versions BIGINT[], p_bodies TEXT[], p_prev_hashes BYTEA[],
    p_hashes BYTEA[],
    p_number BIGINT, p_expected BIGINT
) RETURNS BIGINT LANGUAGE plpgsql AS $$
DECLARE
    base BIGINT;
BEGIN
    PERFORM 1 FROM counters WHERE name = 'event_position' FOR UPDATE;
    UPDATE incidents SET title = p_title, status = p_status, severity = p_severity,
        potential = p_potential, visibility = p_visibility, services = p_services,
        commander = p_commander, roles = p_roles, resolved_at = p_resolved_at,
        updated_at = p_updated_at, version = p_version, last_hash = p_last_hash,
        state = p_state, state_format = p_state_format
    WHERE number = p_number AND version = p_expected;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    UPDATE counters SET value = value + cardinality(p_sequences)
    WHERE name = 'event_position'
    RETURNING value - cardinality(p_sequences) INTO base;
    INSERT INTO events (position, incident, sequence, recorded_at, actor, event_type,
        event_version, body, prev_hash, hash)
    SELECT base + r.ord, r.incident, r.sequence, r.recorded_at, r.actor, r.event_type,
        r.event_version, r.body, r.prev_hash, r.hash
    FROM UNNEST(p_incidents, p_sequences, p_recorded_at, p_actors, p_types, p_event_versions,
        p_bodies, p_prev_hashes, p_hashes) WITH ORDINALITY
        AS r(incident, sequence, recorded_at, actor, event_type, event_version, body,
             prev_hash, hash, ord);
    RETURN base + 1;
END;
$$;
