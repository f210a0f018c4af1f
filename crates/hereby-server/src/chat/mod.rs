//! Chat adapters: one supervised worker per chat channel (a chat connection), started and
//! stopped as admins add and remove channels. Each worker reads what people say (a pull
//! transport needs no address the platform can reach) and hands it to the application, and
//! carries out the channel's deliveries from the durable outbox in order (rooms, the pinned
//! state message, timeline lines, answers). A worker that fails is started again after a
//! growing pause; it never takes the server down. Their health shows in `/readyz` and
//! `/metrics`.

mod matrix;
mod mattermost;
mod outbox;
mod push;
mod slack;

/// The routes push platforms call (Slack, Mattermost), merged beside the API's.
pub(crate) fn routes<S: Store + Directory + Chat + Notifications>(
    state: &AppState<S>,
) -> axum::Router {
    slack::routes(state).merge(mattermost::routes(state))
}

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hereby_app::channels::ChannelConfig;
use hereby_store::{Channel, Chat, Directory, Notifications, Store};
use jiff::Timestamp;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::AppState;

/// How often the supervisor reads the channels again (and renews its leases).
const WATCH_CHANNELS: Duration = Duration::from_secs(2);
/// How long a node's lease on running a channel's adapter lasts without renewal: another
/// node takes the channel over this long after its runner stopped renewing.
const LEASE: jiff::SignedDuration = jiff::SignedDuration::from_secs(15);
/// How often the rooms are checked for reminders no event announces (roles unstaffed).
const REMIND_EVERY: Duration = Duration::from_secs(15);
/// The longest pause before a failed adapter starts again.
const RESTART_MAX: Duration = Duration::from_secs(60);

/// How each chat adapter is doing, by channel name: shown in `/readyz` and `/metrics`.
#[derive(Debug, Clone, Default)]
pub struct ChatHealth(Arc<Mutex<HashMap<String, AdapterHealth>>>);

/// One adapter's health.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdapterHealth {
    pub platform: &'static str,
    /// Connected and reading.
    pub up: bool,
    /// Why it is not, when it is not.
    pub error: Option<String>,
    pub since: Timestamp,
}

impl ChatHealth {
    fn set(&self, channel: &str, platform: &'static str, error: Option<String>) {
        let mut all = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let up = error.is_none();
        let changed = all
            .get(channel)
            .is_none_or(|known| known.up != up || known.error != error);
        if changed {
            metrics::gauge!("hereby_chat_adapter_up", "channel" => channel.to_owned()).set(if up {
                1.0
            } else {
                0.0
            });
            all.insert(
                channel.to_owned(),
                AdapterHealth {
                    platform,
                    up,
                    error,
                    since: Timestamp::now(),
                },
            );
        }
    }

    fn remove(&self, channel: &str) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(channel);
        metrics::gauge!("hereby_chat_adapter_up", "channel" => channel.to_owned()).set(0.0);
    }

    /// Every adapter's health, by channel name.
    pub fn snapshot(&self) -> Vec<(String, AdapterHealth)> {
        let mut all: Vec<_> = self
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(name, health)| (name.clone(), health.clone()))
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }
}

/// The running chat adapters; [`ChatWorkers::stop`] ends them.
pub struct ChatWorkers {
    stop: watch::Sender<bool>,
    supervisor: tokio::task::JoinHandle<()>,
}

impl ChatWorkers {
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = tokio::time::timeout(Duration::from_secs(5), self.supervisor).await;
    }
}

/// Starts the supervisor of the chat adapters.
pub fn start<S: Store + Directory + Chat + Notifications>(state: AppState<S>) -> ChatWorkers {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let (stop, stopped) = watch::channel(false);
    let supervisor = tokio::spawn(supervise(state, stopped));
    ChatWorkers { stop, supervisor }
}

/// Keeps one adapter running per chat channel, as configured now.
async fn supervise<S: Store + Directory + Chat + Notifications>(
    state: AppState<S>,
    mut stop: watch::Receiver<bool>,
) {
    // By channel id: the configuration it runs with and the handle that stops it.
    let mut running: HashMap<i64, (String, watch::Sender<bool>)> = HashMap::new();
    let mut tasks = JoinSet::new();
    let mut reminded = std::time::Instant::now()
        .checked_sub(REMIND_EVERY)
        .unwrap_or_else(std::time::Instant::now);
    // This process, as a lease holder: one node runs each channel's adapter at a time.
    let node = {
        let mut bytes = [0u8; 8];
        let _ = getrandom::fill(&mut bytes);
        format!("node-{}", hex::encode(bytes))
    };
    loop {
        match state.store.channels().await {
            Ok(channels) => {
                let mut chat: Vec<Channel> = Vec::new();
                for channel in channels
                    .into_iter()
                    .filter(|channel| hereby_app::chat::is_chat_kind(&channel.kind))
                {
                    let now = Timestamp::now();
                    let until = now.checked_add(LEASE).unwrap_or(now);
                    match state
                        .store
                        .take_chat_lease(channel.id, &node, now, until)
                        .await
                    {
                        Ok(true) => chat.push(channel),
                        // Another node runs it.
                        Ok(false) => {}
                        Err(error) => {
                            tracing::warn!(channel = %channel.name, %error, "cannot renew a chat adapter's lease")
                        }
                    }
                }
                running.retain(|id, (config, stopper)| {
                    let keep = chat
                        .iter()
                        .any(|channel| channel.id == *id && &channel.config == config);
                    if !keep {
                        let _ = stopper.send(true);
                    }
                    keep
                });
                if reminded.elapsed() >= REMIND_EVERY {
                    reminded = std::time::Instant::now();
                    for channel in &chat {
                        if let Err(error) = state.app.chat_reminders(channel).await {
                            tracing::warn!(channel = %channel.name, %error, "cannot queue chat reminders");
                        }
                    }
                }
                for channel in chat {
                    if running.contains_key(&channel.id) {
                        continue;
                    }
                    let (stopper, stopped) = watch::channel(false);
                    running.insert(channel.id, (channel.config.clone(), stopper));
                    tasks.spawn(run_adapter(state.clone(), channel, stopped));
                }
            }
            Err(error) => tracing::warn!(%error, "cannot read the chat channels"),
        }
        while tasks.try_join_next().is_some() {}
        tokio::select! {
            () = tokio::time::sleep(WATCH_CHANNELS) => {}
            _ = stop.changed() => break,
        }
    }
    for (_, (_, stopper)) in running {
        let _ = stopper.send(true);
    }
    let _ = tokio::time::timeout(Duration::from_secs(3), async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    tasks.abort_all();
}

/// Runs one channel's adapter until it is stopped, starting it again after each failure.
async fn run_adapter<S: Store + Directory + Chat + Notifications>(
    state: AppState<S>,
    channel: Channel,
    mut stop: watch::Receiver<bool>,
) {
    let config: ChannelConfig = match serde_json::from_str(&channel.config) {
        Ok(config) => config,
        Err(error) => {
            state.chat.set(
                &channel.name,
                "matrix",
                Some(format!("the channel's settings cannot be read: {error}")),
            );
            return;
        }
    };
    let platform = match &config {
        ChannelConfig::SlackApp { .. } => "slack",
        ChannelConfig::Mattermost { .. } => "mattermost",
        _ => "matrix",
    };
    let mut pause = Duration::from_secs(1);
    loop {
        let started = std::time::Instant::now();
        let result = match &config {
            ChannelConfig::Matrix { .. } => {
                matrix::run(&state, &channel, &config, stop.clone()).await
            }
            ChannelConfig::SlackApp { .. } => {
                slack::run(&state, &channel, &config, stop.clone()).await
            }
            ChannelConfig::Mattermost { .. } => {
                mattermost::run(&state, &channel, &config, stop.clone()).await
            }
            _ => return,
        };
        match result {
            Ok(()) => break,
            Err(error) => {
                tracing::warn!(channel = %channel.name, %error, "chat adapter failed; starting it again");
                state.chat.set(&channel.name, platform, Some(error));
            }
        }
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            _ = stop.changed() => break,
        }
        // An adapter that ran a good while before failing starts again soon.
        pause = if started.elapsed() > RESTART_MAX {
            Duration::from_secs(1)
        } else {
            (pause * 2).min(RESTART_MAX)
        };
    }
    state.chat.remove(&channel.name);
}
