-- Alerts in: integrations (where monitoring sends from, with the digest of each key), every
-- payload accepted (kept for replay and debugging), alert groups and alerts. Three keys for
-- three objects: an alert is (integration, the source's dedup key); a group is (route, the
-- route's rendering of its group_by labels); an incident is linked from a group.
-- Times are microseconds since the Unix epoch, as in the event log.
CREATE TABLE integrations (
    id                   INTEGER PRIMARY KEY,
    name                 TEXT    NOT NULL UNIQUE,
    kind                 TEXT    NOT NULL,
    key_digest           BLOB    NOT NULL UNIQUE,
    -- During a rotation the old key keeps working until previous_until.
    previous_digest      BLOB    UNIQUE,
    previous_until       INTEGER,
    created_at           INTEGER NOT NULL,
    revoked_at           INTEGER,
    last_event_at        INTEGER
) STRICT;

CREATE TABLE alert_payloads (
    id             INTEGER PRIMARY KEY,
    integration_id INTEGER NOT NULL REFERENCES integrations (id),
    received_at    INTEGER NOT NULL,
    body           TEXT    NOT NULL
) STRICT;

CREATE TABLE alert_groups (
    id             INTEGER PRIMARY KEY,
    route          TEXT    NOT NULL,
    group_key      TEXT    NOT NULL,
    -- The key as people read it (service="checkout", alertname="HighLatency").
    label          TEXT    NOT NULL,
    -- The first alert's summary, severity and service, which an incident starts from.
    title          TEXT    NOT NULL,
    severity       TEXT    NOT NULL,
    service        TEXT,
    opened_at      INTEGER NOT NULL,
    last_alert_at  INTEGER NOT NULL,
    resolved_at    INTEGER,
    -- The older group under the same key whose window had passed.
    previous_id    INTEGER REFERENCES alert_groups (id),
    firing         INTEGER NOT NULL,
    alerts         INTEGER NOT NULL,
    events         INTEGER NOT NULL,
    reopened       INTEGER NOT NULL,
    -- The route's policy asked for an incident and none is linked yet.
    wants_incident INTEGER NOT NULL,
    incident       INTEGER REFERENCES incidents (number)
) STRICT;
CREATE INDEX alert_groups_by_key ON alert_groups (route, group_key, id);
CREATE INDEX alert_groups_waiting ON alert_groups (id) WHERE wants_incident AND incident IS NULL;
CREATE INDEX alert_groups_by_incident ON alert_groups (incident) WHERE incident IS NOT NULL;

CREATE TABLE alerts (
    id             INTEGER PRIMARY KEY,
    integration_id INTEGER NOT NULL REFERENCES integrations (id),
    dedup_key      TEXT    NOT NULL,
    group_id       INTEGER NOT NULL REFERENCES alert_groups (id),
    firing         INTEGER NOT NULL,
    summary        TEXT    NOT NULL,
    labels         TEXT    NOT NULL,
    first_seen     INTEGER NOT NULL,
    last_seen      INTEGER NOT NULL,
    resolved_at    INTEGER,
    count          INTEGER NOT NULL,
    payload_id     INTEGER NOT NULL REFERENCES alert_payloads (id)
) STRICT;
CREATE INDEX alerts_by_key ON alerts (integration_id, dedup_key, id);
CREATE INDEX alerts_by_group ON alerts (group_id, id);
