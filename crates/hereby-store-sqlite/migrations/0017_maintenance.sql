-- Scheduled maintenance on the status page's components, and groups of components.
--
-- A maintenance is planned (title, components, start and end) and moves forward through
-- scheduled → in_progress → verifying → completed, by people or by time (`auto_start`,
-- `auto_complete`). `version` moves on with every change, so two changes made on the same
-- reading (a person and the timer on another node) cannot both apply. Its updates are what
-- the public reads, each in the status it was posted in.
CREATE TABLE maintenances (
    -- AUTOINCREMENT: a removed maintenance's id is never given to a new one.
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    title         TEXT    NOT NULL,
    -- A JSON array of component names.
    components    TEXT    NOT NULL,
    status        TEXT    NOT NULL,
    starts_at     INTEGER NOT NULL,
    ends_at       INTEGER NOT NULL,
    started_at    INTEGER,
    completed_at  INTEGER,
    auto_start    INTEGER NOT NULL,
    auto_complete INTEGER NOT NULL,
    reminded_at   INTEGER,
    created_by    TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    version       INTEGER NOT NULL
) STRICT;
CREATE INDEX maintenances_by_start ON maintenances (starts_at);
CREATE INDEX maintenances_open ON maintenances (status) WHERE status <> 'completed';

CREATE TABLE maintenance_updates (
    id             INTEGER PRIMARY KEY,
    maintenance_id INTEGER NOT NULL REFERENCES maintenances (id) ON DELETE CASCADE,
    status         TEXT    NOT NULL,
    body           TEXT    NOT NULL,
    author         TEXT    NOT NULL,
    at             INTEGER NOT NULL
) STRICT;
CREATE INDEX maintenance_updates_of ON maintenance_updates (maintenance_id, id);

-- The group a component is shown under on the status page; NULL for none.
ALTER TABLE status_components ADD COLUMN group_name TEXT;
