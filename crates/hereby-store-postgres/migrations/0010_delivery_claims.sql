-- Fencing delivery attempts by their claim.
--
-- A worker whose lease lapsed (it waited, or it stalled) may still finish an attempt after
-- another worker claimed the same delivery. Every claim now moves `claim_token` on and hands
-- the new value to the claimant; an outcome is recorded only with the token the row still
-- holds (and recording moves it on again), so the stale attempt records nothing.
ALTER TABLE notification_deliveries ADD COLUMN claim_token BIGINT NOT NULL DEFAULT 0;

-- The worker claims per channel, up to the attempts the channel has room for: this finds a
-- channel's due deliveries without reading the delivered ones, which only accumulate.
CREATE INDEX notification_deliveries_pending_by_channel
    ON notification_deliveries (channel_id, next_attempt_at) WHERE state = 'pending';
