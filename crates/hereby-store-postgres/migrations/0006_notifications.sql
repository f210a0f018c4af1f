-- Notifications: channels, subscriptions, the delivery outbox, the dispatcher's cursor over
-- the event log, and a job table for cadence reminders (issue 5, points 3 to 5).
-- Times are microseconds since the Unix epoch, as in the event log.

-- Where personal notifications (a role given to you, update reminders) are e-mailed.
ALTER TABLE users ADD COLUMN email TEXT;

-- A channel is a destination: a signed webhook, a Slack/Mattermost incoming webhook, or an
-- SMTP server. `config` is JSON whose shape depends on `kind`; it holds secrets, which the
-- API never returns. A `personal` e-mail channel carries notifications addressed to a user.
CREATE TABLE notification_channels (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE,
    kind        TEXT    NOT NULL,
    config      TEXT    NOT NULL,
    personal    BOOLEAN NOT NULL,
    concurrency BIGINT NOT NULL,
    created_at  BIGINT NOT NULL
);

-- Which events go to a channel. `events` is a JSON array of notification kinds; `scope` is
-- `all` (every incident but restricted ones) or `public` (the status page's subscribers).
CREATE TABLE notification_subscriptions (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel_id BIGINT NOT NULL REFERENCES notification_channels (id) ON DELETE CASCADE,
    recipient  TEXT,
    events     TEXT    NOT NULL,
    audience   TEXT,
    scope      TEXT    NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX notification_subscriptions_by_channel ON notification_subscriptions (channel_id);

-- The outbox: one row per message to send, rendered when it was queued. The idempotency key
-- is deterministic (event position and subscription, or reminder period), so queuing the same
-- notification twice inserts nothing. `state` is pending, delivered or dead.
CREATE TABLE notification_deliveries (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    idempotency_key TEXT    NOT NULL UNIQUE,
    channel_id      BIGINT NOT NULL REFERENCES notification_channels (id) ON DELETE CASCADE,
    recipient       TEXT,
    incident        BIGINT,
    kind            TEXT    NOT NULL,
    subject         TEXT    NOT NULL,
    body            TEXT    NOT NULL,
    payload         TEXT    NOT NULL,
    state           TEXT    NOT NULL,
    attempts        BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    claimed_until   BIGINT,
    last_error      TEXT,
    created_at      BIGINT NOT NULL,
    finished_at     BIGINT
);
CREATE INDEX notification_deliveries_due ON notification_deliveries (state, next_attempt_at);
CREATE INDEX notification_deliveries_by_channel ON notification_deliveries (channel_id);

-- How far the dispatcher has followed the event log. One row. It starts at the current end
-- of the log, so upgrading an installation does not announce its whole history.
CREATE TABLE notification_cursor (
    id       BIGINT PRIMARY KEY CHECK (id = 1),
    position BIGINT NOT NULL
);
INSERT INTO notification_cursor (id, position) SELECT 1, COALESCE(MAX(position), 0) FROM events;

-- Background jobs that must survive restarts, one per kind and incident (today: `reminder`).
-- `state` is pending or done; `last_key` names the overdue period last reminded of.
CREATE TABLE jobs (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind          TEXT    NOT NULL,
    incident      BIGINT NOT NULL,
    due_at        BIGINT NOT NULL,
    state         TEXT    NOT NULL,
    attempts      BIGINT NOT NULL,
    claimed_until BIGINT,
    last_key      TEXT,
    UNIQUE (kind, incident)
);
CREATE INDEX jobs_due ON jobs (state, due_at);
