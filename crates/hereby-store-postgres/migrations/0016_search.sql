-- Full-text search. Every piece of text a person may look for is a row of `search_entries`:
-- an event's text (a note, a stakeholder update, an operation, a decision, a follow-up, a
-- link), kept as recorded, and the current texts of an incident (its title and summary, its
-- post-mortem), replaced when they change. The indexer fills it from the event log after the
-- appends, in batches (`hereby_store::search::index_rows` says what each event gives), so an
-- append never waits for the index; a search first indexes what is still pending.
--
-- `words` holds the stems (English) for ranked word, phrase and prefix search; the trigram
-- index serves substrings (`tency` finds `latency`). Only the first 100,000 characters of a
-- text are stemmed: a tsvector holds at most 1 MiB, and a character of some scripts takes up
-- to about eight bytes of it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE search_entries (
    id       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    incident BIGINT NOT NULL,
    kind     TEXT   NOT NULL,
    -- The event the text comes from; NULL for an incident's current texts.
    position BIGINT,
    at       BIGINT NOT NULL,
    text     TEXT   NOT NULL,
    words    tsvector GENERATED ALWAYS AS (to_tsvector('english', left(text, 100000))) STORED
);
CREATE UNIQUE INDEX search_entries_current ON search_entries (incident, kind) WHERE position IS NULL;
CREATE INDEX search_entries_words ON search_entries USING GIN (words);
CREATE INDEX search_entries_grams ON search_entries USING GIN (lower(text) gin_trgm_ops);

-- How far the index has read the event log: the indexer reads the events after it, writes
-- their texts and moves it, in one transaction (the row locked, so two nodes never index the
-- same events). A copied database starts again from 0.
INSERT INTO counters (name, value) VALUES ('search_position', 0);
