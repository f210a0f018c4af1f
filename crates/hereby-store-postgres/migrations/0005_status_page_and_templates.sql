-- Components of the public status page: services the public can see, named as incidents
-- name their affected services. `status` is set by hand (e.g. under_maintenance) or NULL,
-- which derives it from the active public incidents that affect the component.
CREATE TABLE status_components (
    name        TEXT   PRIMARY KEY,
    description TEXT   NOT NULL,
    position    BIGINT NOT NULL,
    status      TEXT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

-- Message templates admins added, or that replace a shipped default of the same name.
CREATE TABLE message_templates (
    name        TEXT   PRIMARY KEY,
    description TEXT   NOT NULL,
    subject     TEXT   NOT NULL,
    body        TEXT   NOT NULL,
    updated_at  BIGINT NOT NULL,
    updated_by  TEXT   NOT NULL
);

-- The status page lists public incidents; without this it would scan every incident.
CREATE INDEX incidents_by_visibility ON incidents (visibility, number);
