-- Chat: accounts of chat platforms linked to hereby users, one-time link codes, the room each
-- chat channel keeps per incident (with its pinned state message), direct rooms for private
-- answers, and what each pull transport has read (its position, and the events it handled, so
-- that a restart runs no command twice). Times are microseconds since the Unix epoch. User
-- names are not foreign keys: users are disabled, never removed, as elsewhere in the schema.
CREATE TABLE chat_links (
    platform   TEXT    NOT NULL,
    chat_user  TEXT    NOT NULL,
    user_name  TEXT    NOT NULL,
    linked_at  BIGINT NOT NULL,
    linked_by  TEXT    NOT NULL,
    PRIMARY KEY (platform, chat_user)
);
CREATE INDEX chat_links_by_user ON chat_links (user_name);

-- A code is kept as its SHA-256 digest only, and works once, before it expires.
CREATE TABLE chat_link_codes (
    digest     BYTEA    NOT NULL PRIMARY KEY,
    user_name  TEXT    NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE TABLE chat_rooms (
    channel_id    BIGINT NOT NULL REFERENCES notification_channels (id) ON DELETE CASCADE,
    incident      BIGINT NOT NULL,
    room          TEXT    NOT NULL,
    name          TEXT    NOT NULL,
    private       BOOLEAN NOT NULL,
    state_message TEXT,
    invited       TEXT    NOT NULL,
    archived      BOOLEAN NOT NULL,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (channel_id, incident)
);
CREATE UNIQUE INDEX chat_rooms_by_room ON chat_rooms (channel_id, room);

CREATE TABLE chat_direct_rooms (
    channel_id BIGINT NOT NULL REFERENCES notification_channels (id) ON DELETE CASCADE,
    chat_user  TEXT    NOT NULL,
    room       TEXT    NOT NULL,
    PRIMARY KEY (channel_id, chat_user)
);

CREATE TABLE chat_cursors (
    channel_id BIGINT NOT NULL PRIMARY KEY REFERENCES notification_channels (id) ON DELETE CASCADE,
    position   TEXT    NOT NULL
);

CREATE TABLE chat_inbound (
    channel_id  BIGINT NOT NULL REFERENCES notification_channels (id) ON DELETE CASCADE,
    event_id    TEXT    NOT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (channel_id, event_id)
);

-- A chat channel's state edits are found (the newest queued) and settled by incident and kind.
CREATE INDEX notification_deliveries_by_incident_kind
    ON notification_deliveries (channel_id, incident, kind, id);

-- Which node runs a chat channel's adapter: one at a time, for as long as it keeps renewing.
CREATE TABLE chat_leases (
    channel_id BIGINT NOT NULL PRIMARY KEY REFERENCES notification_channels (id) ON DELETE CASCADE,
    holder     TEXT    NOT NULL,
    until      BIGINT NOT NULL
);
