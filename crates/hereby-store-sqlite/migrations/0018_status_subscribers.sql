-- People and systems that subscribed on the public status page: an e-mail address or a
-- webhook, to everything (`components` is `[]`), to some components, or to one incident
-- (`incident`, 0 for none). A subscriber is `pending` until its address is confirmed (a link
-- e-mailed, or a webhook that answered a test delivery), then `active`, or `unsubscribed`.
--
-- No link token is stored: the links e-mailed are derived from a server key and the row's
-- `nonce`, so a new sign-up (a new nonce) voids the old ones. Only the digest of a code
-- e-mailed to manage the subscription is kept, with its expiry and the tries spent on it.
CREATE TABLE status_subscribers (
    -- AUTOINCREMENT: a removed subscriber's id is never given to a new one, since queued
    -- deliveries name their subscriber by id.
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    kind               TEXT    NOT NULL,
    address            TEXT    NOT NULL,
    incident           INTEGER NOT NULL,
    components         TEXT    NOT NULL,
    state              TEXT    NOT NULL,
    nonce              TEXT    NOT NULL,
    secret             TEXT,
    confirm_expires_at INTEGER,
    code_digest        TEXT,
    code_expires_at    INTEGER,
    code_tries         INTEGER NOT NULL,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    confirmed_at       INTEGER,
    UNIQUE (kind, address, incident)
) STRICT;
CREATE INDEX status_subscribers_by_state ON status_subscribers (state, id);
