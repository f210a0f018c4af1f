-- Full-text search. Every piece of text a person may look for is a row of `search_entries`:
-- an event's text (a note, a stakeholder update, an operation, a decision, a follow-up, a
-- link), kept as recorded, and the current texts of an incident (its title and summary, its
-- post-mortem), replaced when they change. Triggers fill it in the same transaction as the
-- rows it comes from, so the index is never behind the log. What each event contributes is
-- `hereby_core::search::entry_of`; a store test checks these triggers agree with it.
--
-- `words` holds the stems (English) for ranked word, phrase and prefix search; the trigram
-- index serves substrings (`tency` finds `latency`). Only the first 200,000 characters of a
-- text are stemmed: a tsvector holds at most 1 MiB.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE search_entries (
    id       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    incident BIGINT NOT NULL,
    kind     TEXT   NOT NULL,
    -- The event the text comes from; NULL for an incident's current texts.
    position BIGINT,
    at       BIGINT NOT NULL,
    text     TEXT   NOT NULL,
    words    tsvector GENERATED ALWAYS AS (to_tsvector('english', left(text, 200000))) STORED
);
CREATE UNIQUE INDEX search_entries_current ON search_entries (incident, kind) WHERE position IS NULL;
CREATE INDEX search_entries_by_incident ON search_entries (incident);
CREATE INDEX search_entries_words ON search_entries USING GIN (words);
CREATE INDEX search_entries_grams ON search_entries USING GIN (lower(text) gin_trgm_ops);

-- The text an event contributes, as `entry_of` takes it; NULL for none.
CREATE FUNCTION search_kind(event_type TEXT) RETURNS TEXT LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE event_type
        WHEN 'note_added' THEN 'note'
        WHEN 'update_posted' THEN 'update'
        WHEN 'operation_recorded' THEN 'operation'
        WHEN 'intent_announced' THEN 'operation'
        WHEN 'decision_recorded' THEN 'decision'
        WHEN 'action_item_added' THEN 'follow_up'
        WHEN 'link_added' THEN 'link'
    END
$$;
CREATE FUNCTION search_text(event_type TEXT, body TEXT) RETURNS TEXT LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE event_type
        WHEN 'note_added' THEN body::jsonb ->> 'text'
        WHEN 'update_posted' THEN body::jsonb ->> 'body'
        WHEN 'operation_recorded' THEN concat_ws(' — ', body::jsonb ->> 'target',
            body::jsonb ->> 'action', body::jsonb ->> 'command')
        WHEN 'intent_announced' THEN concat_ws(' — ', body::jsonb ->> 'target', body::jsonb ->> 'action')
        WHEN 'decision_recorded' THEN body::jsonb ->> 'motivation'
        WHEN 'action_item_added' THEN body::jsonb ->> 'text'
        WHEN 'link_added' THEN concat_ws(' — ', body::jsonb ->> 'title', body::jsonb ->> 'url')
    END
$$;

CREATE FUNCTION search_event_texts() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    found TEXT;
BEGIN
    IF NEW.event_type IN ('postmortem_drafted', 'postmortem_revised') THEN
        DELETE FROM search_entries
        WHERE incident = NEW.incident AND kind = 'postmortem' AND position IS NULL;
        INSERT INTO search_entries (incident, kind, position, at, text)
        VALUES (NEW.incident, 'postmortem', NULL, NEW.recorded_at, NEW.body::jsonb ->> 'body');
        RETURN NULL;
    END IF;
    found := search_text(NEW.event_type, NEW.body);
    IF trim(coalesce(found, '')) <> '' THEN
        INSERT INTO search_entries (incident, kind, position, at, text)
        VALUES (NEW.incident, search_kind(NEW.event_type), NEW.position, NEW.recorded_at, found);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER search_event_texts AFTER INSERT ON events FOR EACH ROW
WHEN (NEW.event_type IN ('note_added', 'update_posted', 'operation_recorded', 'intent_announced',
                         'decision_recorded', 'action_item_added', 'link_added',
                         'postmortem_drafted', 'postmortem_revised'))
EXECUTE FUNCTION search_event_texts();

CREATE FUNCTION search_incident_text() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO search_entries (incident, kind, position, at, text)
        VALUES (NEW.number, 'incident', NULL, NEW.declared_at,
                concat_ws(' — ', NEW.title, nullif(NEW.summary, '')));
    ELSE
        UPDATE search_entries SET text = concat_ws(' — ', NEW.title, nullif(NEW.summary, ''))
        WHERE incident = NEW.number AND kind = 'incident' AND position IS NULL;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER search_incident_declared AFTER INSERT ON incidents FOR EACH ROW
EXECUTE FUNCTION search_incident_text();
CREATE TRIGGER search_incident_retitled AFTER UPDATE OF title, summary ON incidents FOR EACH ROW
WHEN (NEW.title IS DISTINCT FROM OLD.title OR NEW.summary IS DISTINCT FROM OLD.summary)
EXECUTE FUNCTION search_incident_text();

-- What was recorded before search existed.
INSERT INTO search_entries (incident, kind, position, at, text)
SELECT number, 'incident', NULL, declared_at, concat_ws(' — ', title, nullif(summary, ''))
FROM incidents ORDER BY number;
INSERT INTO search_entries (incident, kind, position, at, text)
SELECT incident, search_kind(event_type), position, recorded_at, search_text(event_type, body)
FROM events
WHERE search_kind(event_type) IS NOT NULL
  AND trim(coalesce(search_text(event_type, body), '')) <> ''
ORDER BY position;
INSERT INTO search_entries (incident, kind, position, at, text)
SELECT DISTINCT ON (incident) incident, 'postmortem', NULL, recorded_at, body::jsonb ->> 'body'
FROM events
WHERE event_type IN ('postmortem_drafted', 'postmortem_revised')
ORDER BY incident, position DESC;
