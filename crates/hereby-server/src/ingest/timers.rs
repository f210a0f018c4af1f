//! The alert timers: every few seconds, open the incidents whose route's pause has passed
//! and raise an alert for each heartbeat whose pings stopped. Runs inside `hereby serve` on
//! every node; the application decides what is due, so two nodes do the work once.

use std::time::Duration;

use hereby_store::{Alerts, Communications, Directory, Store};
use tokio::sync::watch;

use crate::AppState;

/// How often the timers look.
const EVERY: Duration = Duration::from_secs(5);

/// The running timers; [`AlertTimers::stop`] ends them.
pub struct AlertTimers {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl AlertTimers {
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Starts the alert timers.
pub fn start_alert_timers<S: Store + Directory + Communications + Alerts>(
    state: AppState<S>,
) -> AlertTimers {
    let (stop, mut stopped) = watch::channel(false);
    let task = tokio::spawn(async move {
        loop {
            if let Err(error) = state.app.alert_tick().await {
                tracing::warn!(%error, "alert timers failed; retrying");
            }
            tokio::select! {
                () = tokio::time::sleep(EVERY) => {}
                _ = stopped.changed() => return,
            }
        }
    });
    AlertTimers { stop, task }
}
