-- Members by person: a non-member's list of incidents asks, for every restricted incident,
-- whether this person is a member; the database answers that from the person's own rows
-- instead of reading every membership.
CREATE INDEX incident_members_by_person ON incident_members (person, incident);
