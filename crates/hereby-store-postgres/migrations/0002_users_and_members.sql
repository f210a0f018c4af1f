-- Users with their API tokens, and who may see which incident.
-- Times are microseconds since the Unix epoch, as in the event log.

-- Names are compared and sorted bytewise (`COLLATE "C"`), as SQLite does, whatever the
-- database's locale.
CREATE TABLE users (
    name       TEXT COLLATE "C" PRIMARY KEY,
    role       TEXT    NOT NULL,
    disabled   BOOLEAN NOT NULL,
    created_at BIGINT  NOT NULL
);

-- Only a token's SHA-256 digest is stored; the secret is shown once and never kept.
CREATE TABLE api_tokens (
    id         BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_name  TEXT COLLATE "C" NOT NULL REFERENCES users (name),
    label      TEXT    NOT NULL,
    token_hash BYTEA   NOT NULL UNIQUE,
    created_at BIGINT  NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX api_tokens_by_user ON api_tokens (user_name);

-- Every member of every incident: role holders and people added explicitly. Written in the
-- same transaction as the events, after the incident's row (so under its lock), and equal to
-- the fold of the stream; restricted incidents are listed only for their members.
CREATE TABLE incident_members (
    incident BIGINT NOT NULL REFERENCES incidents (number),
    person   TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (incident, person)
);

-- Incidents written before this migration: their members from the projection row (role
-- holders) and the state snapshot (people added explicitly), both equal to the fold.
INSERT INTO incident_members (incident, person)
SELECT incidents.number, holder.value
FROM incidents, jsonb_each(incidents.roles::jsonb) AS role,
    jsonb_array_elements_text(role.value) AS holder
UNION
SELECT incidents.number, member.value
FROM incidents, jsonb_array_elements_text(incidents.state::jsonb -> 'members') AS member;

-- `hereby_extend_stream` as in 0001, plus `p_members`: the incident's members after the
-- append, or NULL when the append did not change them.
DROP FUNCTION IF EXISTS hereby_extend_stream(
    TEXT, TEXT, TEXT, BOOLEAN, TEXT, TEXT, TEXT, TEXT, BIGINT, BIGINT, BIGINT, BYTEA, TEXT,
    BIGINT, BIGINT[], BIGINT[], BIGINT[], TEXT[], TEXT[], BIGINT[], TEXT[], BYTEA[], BYTEA[],
    BIGINT, BIGINT
);
CREATE OR REPLACE FUNCTION hereby_extend_stream(
    p_title TEXT, p_status TEXT, p_severity TEXT, p_potential BOOLEAN, p_visibility TEXT,
    p_services TEXT, p_commander TEXT, p_roles TEXT, p_resolved_at BIGINT, p_updated_at BIGINT,
    p_version BIGINT, p_last_hash BYTEA, p_state TEXT, p_state_format BIGINT,
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
    IF p_members IS NOT NULL THEN
        DELETE FROM incident_members WHERE incident = p_number;
        INSERT INTO incident_members (incident, person)
        SELECT p_number, m.person FROM UNNEST(p_members) AS m(person);
    END IF;
    RETURN base + 1;
END;
$$;
