-- Deployments of services, recorded by release pipelines or by hand: what the incident page
-- lists as recent changes and what a roll-back goes back to. Recording the same deployment
-- twice (a retried pipeline call) keeps one row.
CREATE TABLE releases (
    service      TEXT    NOT NULL,
    version      TEXT    NOT NULL,
    deployed_at  INTEGER NOT NULL,
    recorded_at  INTEGER NOT NULL,
    recorded_by  TEXT    NOT NULL,
    notes        TEXT    NOT NULL,
    PRIMARY KEY (service, deployed_at, version)
) STRICT;
