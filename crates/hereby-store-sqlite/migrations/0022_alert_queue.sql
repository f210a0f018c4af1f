-- Alerts queued behind a backlog: a payload accepted while the recorder was behind keeps its
-- signals (JSON) and how many until the recorder has grouped them, in the order the payloads
-- were accepted; both are cleared then. The index holds only the payloads still waiting.
ALTER TABLE alert_payloads ADD COLUMN queued TEXT;
ALTER TABLE alert_payloads ADD COLUMN queued_signals INTEGER;
CREATE INDEX alert_payloads_queued ON alert_payloads (id) WHERE queued IS NOT NULL;
