-- Wakes the event feed of every server node after a commit that appended events: a
-- notification is delivered when its transaction commits (never for one rolled back), and
-- PostgreSQL sends identical notifications of one transaction once, so a group commit of
-- many appends costs one. The payload is empty: listeners read the log after their position.
CREATE FUNCTION hereby_notify_events() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('hereby_events', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER events_notify
AFTER INSERT ON events
FOR EACH STATEMENT EXECUTE FUNCTION hereby_notify_events();
