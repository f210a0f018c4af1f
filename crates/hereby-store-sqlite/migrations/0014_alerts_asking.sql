-- Every resolve asks whether any alert of its group that may ask for an incident (firing,
-- not suppressed) still fires: this index answers without reading the group's resolved and
-- suppressed alerts, however many it has had.
CREATE INDEX alerts_asking ON alerts (group_id) WHERE firing AND suppressed IS NULL;
