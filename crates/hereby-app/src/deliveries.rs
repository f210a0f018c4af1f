//! The notification outbox as admins see it: sending a delivery again now.

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
