-- Full-text search. Every piece of text a person may look for is a row of `search_entries`:
-- an event's text (a note, a stakeholder update, an operation, a decision, a follow-up, a
-- link), kept as recorded, and the current texts of an incident (its title and summary, its
-- post-mortem), replaced when they change. Triggers fill it in the same transaction as the
-- rows it comes from, so the index is never behind the log. What each event contributes is
-- `hereby_core::search::entry_of`; a store test checks these triggers agree with it.
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
CREATE INDEX search_entries_by_incident ON search_entries (incident);

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

-- The texts of events, as `entry_of` takes them.
CREATE TRIGGER search_event_texts AFTER INSERT ON events
WHEN new.event_type IN ('note_added', 'update_posted', 'operation_recorded', 'intent_announced',
                        'decision_recorded', 'action_item_added', 'link_added')
BEGIN
    INSERT INTO search_entries (incident, kind, position, at, text)
    SELECT new.incident, kind, new.position, new.recorded_at, text FROM (
        SELECT CASE new.event_type
                   WHEN 'note_added' THEN 'note'
                   WHEN 'update_posted' THEN 'update'
                   WHEN 'operation_recorded' THEN 'operation'
                   WHEN 'intent_announced' THEN 'operation'
                   WHEN 'decision_recorded' THEN 'decision'
                   WHEN 'action_item_added' THEN 'follow_up'
                   ELSE 'link'
               END AS kind,
               CASE new.event_type
                   WHEN 'note_added' THEN json_extract(new.body, '$.text')
                   WHEN 'update_posted' THEN json_extract(new.body, '$.body')
                   WHEN 'operation_recorded' THEN concat_ws(' — ', json_extract(new.body, '$.target'),
                       json_extract(new.body, '$.action'), json_extract(new.body, '$.command'))
                   WHEN 'intent_announced' THEN concat_ws(' — ', json_extract(new.body, '$.target'),
                       json_extract(new.body, '$.action'))
                   WHEN 'decision_recorded' THEN json_extract(new.body, '$.motivation')
                   WHEN 'action_item_added' THEN json_extract(new.body, '$.text')
                   ELSE concat_ws(' — ', json_extract(new.body, '$.title'), json_extract(new.body, '$.url'))
               END AS text
    ) WHERE trim(coalesce(text, '')) <> '';
END;

-- The post-mortem: its latest text.
CREATE TRIGGER search_postmortem_text AFTER INSERT ON events
WHEN new.event_type IN ('postmortem_drafted', 'postmortem_revised')
BEGIN
    DELETE FROM search_entries
    WHERE incident = new.incident AND kind = 'postmortem' AND position IS NULL;
    INSERT INTO search_entries (incident, kind, position, at, text)
    VALUES (new.incident, 'postmortem', NULL, new.recorded_at, json_extract(new.body, '$.body'));
END;

-- The incident's title and summary, as they are now.
CREATE TRIGGER search_incident_declared AFTER INSERT ON incidents BEGIN
    INSERT INTO search_entries (incident, kind, position, at, text)
    VALUES (new.number, 'incident', NULL, new.declared_at,
            concat_ws(' — ', new.title, nullif(new.summary, '')));
END;
CREATE TRIGGER search_incident_retitled AFTER UPDATE OF title, summary ON incidents
WHEN new.title IS NOT old.title OR new.summary IS NOT old.summary
BEGIN
    UPDATE search_entries SET text = concat_ws(' — ', new.title, nullif(new.summary, ''))
    WHERE incident = new.number AND kind = 'incident' AND position IS NULL;
END;

-- What was recorded before search existed.
INSERT INTO search_entries (incident, kind, position, at, text)
SELECT number, 'incident', NULL, declared_at, concat_ws(' — ', title, nullif(summary, ''))
FROM incidents ORDER BY number;
INSERT INTO search_entries (incident, kind, position, at, text)
SELECT incident, kind, position, recorded_at, text FROM (
    SELECT incident, position, recorded_at,
           CASE event_type
               WHEN 'note_added' THEN 'note'
               WHEN 'update_posted' THEN 'update'
               WHEN 'operation_recorded' THEN 'operation'
               WHEN 'intent_announced' THEN 'operation'
               WHEN 'decision_recorded' THEN 'decision'
               WHEN 'action_item_added' THEN 'follow_up'
               ELSE 'link'
           END AS kind,
           CASE event_type
               WHEN 'note_added' THEN json_extract(body, '$.text')
               WHEN 'update_posted' THEN json_extract(body, '$.body')
               WHEN 'operation_recorded' THEN concat_ws(' — ', json_extract(body, '$.target'),
                   json_extract(body, '$.action'), json_extract(body, '$.command'))
               WHEN 'intent_announced' THEN concat_ws(' — ', json_extract(body, '$.target'),
                   json_extract(body, '$.action'))
               WHEN 'decision_recorded' THEN json_extract(body, '$.motivation')
               WHEN 'action_item_added' THEN json_extract(body, '$.text')
               ELSE concat_ws(' — ', json_extract(body, '$.title'), json_extract(body, '$.url'))
           END AS text
    FROM events
    WHERE event_type IN ('note_added', 'update_posted', 'operation_recorded', 'intent_announced',
                         'decision_recorded', 'action_item_added', 'link_added')
    ORDER BY position
) WHERE trim(coalesce(text, '')) <> '';
INSERT INTO search_entries (incident, kind, position, at, text)
SELECT e.incident, 'postmortem', NULL, e.recorded_at, json_extract(e.body, '$.body')
FROM events e
WHERE e.event_type IN ('postmortem_drafted', 'postmortem_revised')
  AND e.position = (SELECT max(position) FROM events l WHERE l.incident = e.incident
                    AND l.event_type IN ('postmortem_drafted', 'postmortem_revised'));
