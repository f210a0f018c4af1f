-- Reminders before post-mortem review meetings.
--
-- A delivery may carry a file: the review meeting's iCalendar invitation, attached to the
-- e-mail (webhooks get it inside their JSON payload, which was rendered when it was queued).
-- All three are NULL for a delivery without one.
ALTER TABLE notification_deliveries ADD COLUMN attachment_name TEXT;
ALTER TABLE notification_deliveries ADD COLUMN attachment_type TEXT;
ALTER TABLE notification_deliveries ADD COLUMN attachment_content TEXT;

-- `jobs.kind` (0006) now names two kinds: `reminder` (an overdue stakeholder update) and
-- `review` (the owners of open follow-ups, before the next review meeting); still one job per
-- kind and incident. The existing rows are all `reminder`, so nothing changes in them.
