-- Follow-ups kept in an issue tracker: one row per follow-up asked to be opened in one,
-- named by the tracker (its channel's name). `external` is how the tracker's API names the
-- issue (a GitHub issue number, a GitLab iid, a generic tracker's id), absent until the
-- tracker made it. The rest is what the last sync heard (the state in hereby's words, the
-- tracker's own time of the issue's last change, so an older report never overrides a newer
-- one) and the last sync error, shown on the follow-up and counted in /metrics.
CREATE TABLE tracked_follow_ups (
    incident          INTEGER NOT NULL,
    item              INTEGER NOT NULL,
    tracker           TEXT    NOT NULL,
    external          TEXT,
    issue_key         TEXT,
    url               TEXT,
    state             TEXT,
    reason            TEXT,
    remote_updated_at INTEGER,
    synced_at         INTEGER,
    sync_error        TEXT,
    error_at          INTEGER,
    created_at        INTEGER NOT NULL,
    PRIMARY KEY (incident, item)
) STRICT;
CREATE UNIQUE INDEX tracked_follow_ups_by_issue ON tracked_follow_ups (tracker, external);
CREATE INDEX tracked_follow_ups_by_sync ON tracked_follow_ups (synced_at);

-- Webhook deliveries trackers sent, by their delivery id, so a delivery sent twice is acted
-- on once. Rows older than a week are dropped as new ones arrive.
CREATE TABLE tracker_deliveries (
    tracker     TEXT    NOT NULL,
    delivery    TEXT    NOT NULL,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (tracker, delivery)
) STRICT;
CREATE INDEX tracker_deliveries_by_age ON tracker_deliveries (received_at);
