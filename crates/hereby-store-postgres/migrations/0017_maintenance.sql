-- Scheduled maintenance on the status page's components, and groups of components.
--
-- A maintenance is planned (title, components, start and end) and moves forward through
-- scheduled → in_progress → verifying → completed, by people or by time (`auto_start`,
-- `auto_complete`). `version` moves on with every change, so two changes made on the same
-- reading (a person and the timer on another node) cannot both apply. Its updates are what
-- the public reads, each in the status it was posted in.
CREATE TABLE maintenances (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    title         TEXT    NOT NULL,
    -- A JSON array of component names.
    components    TEXT    NOT NULL,
    status        TEXT    NOT NULL,
    starts_at     BIGINT  NOT NULL,
    ends_at       BIGINT  NOT NULL,
    started_at    BIGINT,
    completed_at  BIGINT,
    auto_start    BOOLEAN NOT NULL,
    auto_complete BOOLEAN NOT NULL,
    reminded_at   BIGINT,
    created_by    TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL,
    version       BIGINT  NOT NULL
);
CREATE INDEX maintenances_by_start ON maintenances (starts_at);
CREATE INDEX maintenances_open ON maintenances (status) WHERE status <> 'completed';

CREATE TABLE maintenance_updates (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    maintenance_id BIGINT  NOT NULL REFERENCES maintenances (id) ON DELETE CASCADE,
    status         TEXT    NOT NULL,
    body           TEXT    NOT NULL,
    author         TEXT    NOT NULL,
    at             BIGINT  NOT NULL
);
CREATE INDEX maintenance_updates_of ON maintenance_updates (maintenance_id, id);

-- The group a component is shown under on the status page; NULL for none.
ALTER TABLE status_components ADD COLUMN group_name TEXT;
