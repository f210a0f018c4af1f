-- What people and windows hold an alert to: a maintenance window or a group's silence keeps
-- a firing alert as suppressed (never dropped; the reason is kept on it); a group may be
-- acknowledged and silenced, and both stay through a resolve and a re-fire inside the reopen
-- window because the group stays the same. Flips are counted per group to find flapping;
-- a route's pause holds a group's incident until wants_from. A heartbeat integration raises
-- an alert when no ping came within heartbeat_timeout (microseconds).
ALTER TABLE alerts ADD COLUMN suppressed TEXT;
ALTER TABLE alert_groups ADD COLUMN acknowledged_by TEXT;
ALTER TABLE alert_groups ADD COLUMN acknowledged_at INTEGER;
ALTER TABLE alert_groups ADD COLUMN silenced_until INTEGER;
ALTER TABLE alert_groups ADD COLUMN silenced_by TEXT;
ALTER TABLE alert_groups ADD COLUMN silence_reason TEXT;
ALTER TABLE alert_groups ADD COLUMN flips INTEGER NOT NULL DEFAULT 0;
ALTER TABLE alert_groups ADD COLUMN flips_since INTEGER;
ALTER TABLE alert_groups ADD COLUMN last_flip INTEGER;
ALTER TABLE alert_groups ADD COLUMN flapping_since INTEGER;
ALTER TABLE alert_groups ADD COLUMN wants_from INTEGER;
ALTER TABLE integrations ADD COLUMN heartbeat_timeout INTEGER;
