-- Incidents by status: the incidents still under way are few among a long history, and they
-- are what the default list, the live gauges and the unavailability budgets ask for; without
-- this index each of those read every incident's row to find them.
CREATE INDEX incidents_by_status ON incidents (status, number);
