-- Signing in to the web UI with a password, sessions, one-time setup links, and each
-- incident's summary in its projection row (for text search).
-- Times are microseconds since the Unix epoch, as in the event log.

-- An argon2id PHC string; NULL until the user sets a password.
ALTER TABLE users ADD COLUMN password_hash TEXT;

-- Signed-in browsers. Only the SHA-256 digest of a session's secret is stored, as for API
-- tokens: the secret is in the browser's cookie alone.
CREATE TABLE web_sessions (
    digest     BYTEA  PRIMARY KEY,
    user_name  TEXT COLLATE "C" NOT NULL REFERENCES users (name),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX web_sessions_by_user ON web_sessions (user_name);
CREATE INDEX web_sessions_by_expiry ON web_sessions (expires_at);

-- One-time links that let a user set their password (the first admin's, for one). Digests
-- only, as above; a link is deleted when it is redeemed.
CREATE TABLE setup_links (
    digest     BYTEA  PRIMARY KEY,
    user_name  TEXT COLLATE "C" NOT NULL REFERENCES users (name),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX setup_links_by_user ON setup_links (user_name);

-- The incident's current summary ('' when it has none), written with the rest of the row
-- and equal to the fold of the stream. Incidents written before this migration take it from
-- their state snapshot, which equals the fold too. No index: the row keeps being updated in
-- place (see 0001), and text search scans the rows a list reads anyway.
ALTER TABLE incidents ADD COLUMN summary TEXT NOT NULL DEFAULT '';
UPDATE incidents SET summary = COALESCE(state::jsonb ->> 'summary', '')
WHERE COALESCE(state::jsonb ->> 'summary', '') <> '';

-- `hereby_extend_stream` as in 0002, plus `p_summary` (after `p_state_format`, with the other
-- projection columns).
DROP FUNCTION IF EXISTS hereby_extend_stream(
    TEXT, TEXT, TEXT, BOOLEAN, TEXT, TEXT, TEXT, TEXT, BIGINT, BIGINT, BIGINT, BYTEA, TEXT,
    BIGINT, BIGINT[], BIGINT[], BIGINT[], TEXT[], TEXT[], BIGINT[], TEXT[], BYTEA[], BYTEA[],
    BIGINT, BIGINT, TEXT[]
);
CREATE OR REPLACE FUNCTION hereby_extend_stream(
    p_title TEXT, p_status TEXT, p_severity TEXT, p_potential BOOLEAN, p_visibility TEXT,
    p_services TEXT, p_commander TEXT, p_roles TEXT, p_resolved_at BIGINT, p_updated_at BIGINT,
    p_version BIGINT, p_last_hash BYTEA, p_state TEXT, p_state_format BIGINT, p_summary TEXT,
    p_incidents BIGINT[], p_sequences BIGINT[], p_recorded_at BIGINT[], p_actors TEXT[],
    p_types TEXT[], p_event_versions BIGINT[], p_bodies TEXT[], p_prev_hashes BYTEA[],
    p_hashes BYTEA[],
    p_number BIGINT, p_expected BIGINT, p_members TEXT[]
) RETURNS BIGINT LANGUAGE plpgsql AS $$
DECLARE
    base BIGINT;
BEGIN
    PERFORM 1 FROM counters WHERE name = 'event_position' FOR UPDATE;
    UPDATE incidents SET title = p_title, status = p_status, severity = p_severity,
        potential = p_potential, visibility = p_visibility, services = p_services,
        commander = p_commander, roles = p_roles, resolved_at = p_resolved_at,
        updated_at = p_updated_at, version = p_version, last_hash = p_last_hash,
        state = p_state, state_format = p_state_format, summary = p_summary
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
    IF p_members IS NOT NULL THEN
        DELETE FROM incident_members WHERE incident = p_number;
        INSERT INTO incident_members (incident, person)
        SELECT p_number, m.person FROM UNNEST(p_members) AS m(person);
    END IF;
    RETURN base + 1;
END;
$$;
