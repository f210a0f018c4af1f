//! The notification outbox as admins see it (sending a delivery again now), and the wait
//! between a delivery's attempts that every sender uses.

use std::time::Duration;

use hereby_core::types::InstallationRole;
use hereby_store::{Delivery, Notifications, Store, User};
use jiff::Timestamp;

use crate::{App, AppError, require};

impl<S: Store + Notifications> App<S> {
    /// Queues delivery `id` to be sent again at once, as `actor` (an admin), and wakes the
    /// delivery worker. A delivery already delivered is not sent twice.
    pub async fn retry_delivery(&self, actor: &User, id: i64) -> Result<Delivery, AppError> {
        require(actor, InstallationRole::Admin)?;
        if self.store.delivery(id).await?.is_none() {
            return Err(AppError::not_found(format!("delivery {id}")));
        }
        match self.store.retry_delivery(id, Timestamp::now()).await? {
            Some(retried) => {
                self.outbox.wake();
                Ok(retried)
            }
            None => Err(AppError::Conflict {
                code: "already_delivered",
                message: format!("delivery {id} was delivered; there is nothing to retry"),
            }),
        }
    }
}

/// The wait before attempt `attempt + 1` after `attempt` failures: a random time up to
/// `base · 2^(attempt−1)`, capped at `max` (exponential backoff with full jitter, so
/// receivers that come back are not hit by every sender at once).
pub fn backoff(attempt: u32, base: Duration, max: Duration) -> Duration {
    let exponent = attempt.saturating_sub(1).min(30);
    let ceiling = base.saturating_mul(1 << exponent).min(max);
    let millis = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
    if millis == 0 {
        return ceiling;
    }
    let random = getrandom::u64().unwrap_or(millis / 2);
    Duration::from_millis(random % (millis + 1))
}
