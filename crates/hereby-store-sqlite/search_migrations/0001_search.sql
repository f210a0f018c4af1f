-- The search index, in its own file beside the database (`<database>-search`), so that writing
-- it never holds the database's one write lock: the event log's appends and the indexer write
-- at the same time. Everything here is derived from the event log; a missing or mismatched file
-- is rebuilt from it.
--
-- Every piece of text a person may look for is a row of `search_entries`: an event's text (a
-- note, a stakeholder update, an operation, a decision, a follow-up, a link), kept as recorded,
-- and the current texts of an incident (its title and summary, its post-mortem), replaced when
-- they change. The indexer fills it from the event log after the appends, in batches
-- (`hereby_store::search::index_rows` says what each event gives); a search first indexes what
-- is still pending.
CREATE TABLE search_entries (
    id       INTEGER PRIMARY KEY,
    incident INTEGER NOT NULL,
    kind     TEXT    NOT NULL,
    -- The event the text comes from; NULL for an incident's current texts.
    position INTEGER,
    at       INTEGER NOT NULL,
    text     TEXT    NOT NULL
) STRICT;
CREATE UNIQUE INDEX search_entries_current ON search_entries (incident, kind) WHERE position IS NULL;

-- Two indexes over the same rows: words by their stem (`timeouts` finds `timeout`), and
-- three-letter pieces for substrings (`tency` finds `latency`, `c-42` finds `inc-42`).
CREATE VIRTUAL TABLE search_words USING fts5(
    text, content = 'search_entries', content_rowid = 'id',
    tokenize = 'porter unicode61 remove_diacritics 2'
);
CREATE VIRTUAL TABLE search_grams USING fts5(
    text, content = 'search_entries', content_rowid = 'id', tokenize = 'trigram'
);

CREATE TRIGGER search_entries_added AFTER INSERT ON search_entries BEGIN
    INSERT INTO search_words (rowid, text) VALUES (new.id, new.text);
    INSERT INTO search_grams (rowid, text) VALUES (new.id, new.text);
END;
-- An external-content index forgets a row by being told its old text.
CREATE TRIGGER search_entries_removed AFTER DELETE ON search_entries BEGIN
    INSERT INTO search_words (search_words, rowid, text) VALUES ('delete', old.id, old.text);
    INSERT INTO search_grams (search_grams, rowid, text) VALUES ('delete', old.id, old.text);
END;
CREATE TRIGGER search_entries_changed AFTER UPDATE OF text ON search_entries BEGIN
    INSERT INTO search_words (search_words, rowid, text) VALUES ('delete', old.id, old.text);
    INSERT INTO search_grams (search_grams, rowid, text) VALUES ('delete', old.id, old.text);
    INSERT INTO search_words (rowid, text) VALUES (new.id, new.text);
    INSERT INTO search_grams (rowid, text) VALUES (new.id, new.text);
END;

-- How far the index has read the event log, and the hash of the event it read last: the
-- indexer reads the events after it, writes their texts and moves it, in one transaction. When
-- the database no longer holds that event with that hash (a backup restored, another database
-- put in its place), the index belongs to another history and is rebuilt.
CREATE TABLE search_position (
    position INTEGER NOT NULL,
    hash     BLOB
) STRICT;
INSERT INTO search_position (position, hash) VALUES (0, NULL);
