//! Outgoing notifications: the dispatcher that turns the event log into queued deliveries,
//! the worker that sends them with retries, and the runner of reminder jobs (the update
//! cadence, and follow-ups before post-mortem review meetings). All
//! three run inside `hereby serve` and keep every piece of state in the database, so a
//! restart (or a crash) loses nothing and a second node shares the work.

pub mod deliver;
mod dispatch;
mod reminders;
mod reviews;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use hereby_store::{Delivery, Notifications, Store};
use jiff::{SignedDuration, Timestamp};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use crate::AppState;

pub(crate) use dispatch::Routing;

/// How deliveries are retried and how often the workers look for work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Attempts before a delivery is dead.
    pub max_attempts: u32,
    /// The first retry waits up to this long; each further one up to twice as long.
    pub backoff_base: Duration,
    /// The longest wait between attempts.
    pub backoff_max: Duration,
    /// How long a claimed delivery or job stays reserved for the worker that claimed it:
    /// after that (a crashed worker) another may take it.
    pub lease: Duration,
    /// Time limit of one attempt (an HTTP request, an SMTP conversation).
    pub timeout: Duration,
    /// How often workers look for due work when nothing wakes them.
    pub poll: Duration,
    /// How long before a post-mortem review meeting the owners of open follow-ups are
    /// reminded (at once when the meeting is set closer than that).
    pub review_lead: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            backoff_base: Duration::from_secs(2),
            backoff_max: Duration::from_secs(15 * 60),
            lease: Duration::from_secs(120),
            timeout: Duration::from_secs(10),
            poll: Duration::from_millis(500),
            review_lead: Duration::from_secs(2 * 24 * 60 * 60),
        }
    }
}

/// The running workers; [`Workers::stop`] ends them.
pub struct Workers {
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

impl Workers {
    /// Asks every worker to stop and waits for them (in-flight deliveries get a few seconds
    /// to finish; any cut short is sent again after its lease, with the same key).
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        while self.tasks.join_next().await.is_some() {}
    }
}

fn later(now: Timestamp, by: Duration) -> Timestamp {
    SignedDuration::try_from(by)
        .ok()
        .and_then(|d| now.checked_add(d).ok())
        .unwrap_or(Timestamp::MAX)
}

/// Starts the dispatcher, the delivery worker and the reminder runner (of both kinds of job).
pub fn start<S: Store + Notifications>(state: AppState<S>, settings: Settings) -> Workers {
    // reqwest is built without a crypto provider of its own: use ring, like the client.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let settings = Arc::new(settings);
    let (stop, stopped) = watch::channel(false);
    let mut tasks = JoinSet::new();
    tasks.spawn(dispatcher(state.clone(), settings.clone(), stopped.clone()));
    tasks.spawn(deliverer(state.clone(), settings.clone(), stopped.clone()));
    tasks.spawn(reminders::runner(state, settings, stopped));
    Workers { stop, tasks }
}

async fn dispatcher<S: Store + Notifications>(
    state: AppState<S>,
    settings: Arc<Settings>,
    mut stop: watch::Receiver<bool>,
) {
    // The dispatcher's cursor is durable in the database; the feed only wakes it, so it
    // reads the log when something was appended here or on another node, not on a timer.
    let mut feed = state.app.subscribe(state.feed.published(), None);
    let mut progress = dispatch::Progress::default();
    loop {
        match dispatch::dispatch_once(&state, &mut progress, settings.review_lead).await {
            Ok((events, queued)) => {
                if queued > 0 {
                    state.outbox.wake();
                }
                if events > 0 {
                    continue;
                }
            }
            Err(error) => tracing::warn!(%error, "notification dispatch failed; retrying"),
        }
        tokio::select! {
            _ = feed.changed() => {}
            () = tokio::time::sleep(settings.poll) => {}
            _ = stop.changed() => return,
        }
    }
}

/// How many deliveries one claim takes at most.
const CLAIM: u32 = 256;

async fn deliverer<S: Store + Notifications>(
    state: AppState<S>,
    settings: Arc<Settings>,
    mut stop: watch::Receiver<bool>,
) {
    let http = match reqwest::Client::builder()
        .timeout(settings.timeout)
        .user_agent(concat!("hereby/", env!("CARGO_PKG_VERSION")))
        // A receiver answers where it was configured; a redirect elsewhere is a failure, not
        // a reason to send the signed body to another address.
        .redirect(reqwest::redirect::Policy::none())
        .build()
    {
        Ok(http) => http,
        Err(error) => {
            tracing::error!(%error, "cannot build the HTTP client; notifications are not sent");
            return;
        }
    };
    let mut limits: HashMap<i64, Arc<Semaphore>> = HashMap::new();
    let mut in_flight = JoinSet::new();
    loop {
        while in_flight.try_join_next().is_some() {}
        let now = Timestamp::now();
        let claimed = state
            .store
            .claim_deliveries(now, later(now, settings.lease), CLAIM)
            .await;
        let count = match claimed {
            Ok(claimed) if claimed.is_empty() => 0,
            Ok(claimed) => {
                let count = claimed.len();
                match state.store.channels().await {
                    Ok(channels) => {
                        let channels: HashMap<_, _> =
                            channels.into_iter().map(|c| (c.id, Arc::new(c))).collect();
                        for delivery in claimed {
                            let Some(channel) = channels.get(&delivery.channel_id).cloned() else {
                                // The channel was removed (its rows go with it).
                                continue;
                            };
                            let limit = limits
                                .entry(channel.id)
                                .or_insert_with(|| {
                                    Arc::new(Semaphore::new(channel.concurrency as usize))
                                })
                                .clone();
                            in_flight.spawn(attempt(
                                state.store.clone(),
                                http.clone(),
                                settings.clone(),
                                channel,
                                delivery,
                                limit,
                            ));
                        }
                    }
                    Err(error) => tracing::warn!(%error, "cannot read notification channels"),
                }
                count
            }
            Err(error) => {
                tracing::warn!(%error, "cannot claim deliveries; retrying");
                0
            }
        };
        if count == CLAIM as usize {
            continue;
        }
        tokio::select! {
            () = state.outbox.notified() => {}
            () = tokio::time::sleep(settings.poll) => {}
            _ = stop.changed() => break,
        }
    }
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        while in_flight.join_next().await.is_some() {}
    })
    .await;
    in_flight.abort_all();
}

/// One attempt at one delivery, within its channel's concurrency limit.
async fn attempt<S: Notifications>(
    store: S,
    http: reqwest::Client,
    settings: Arc<Settings>,
    channel: Arc<hereby_store::Channel>,
    delivery: Delivery,
    limit: Arc<Semaphore>,
) {
    let Ok(_permit) = limit.acquire_owned().await else {
        return;
    };
    let result = deliver::send(&http, &channel, &delivery, settings.timeout).await;
    if let Err(error) = &result {
        tracing::info!(
            delivery = delivery.id,
            channel = %channel.name,
            attempt = delivery.attempts + 1,
            %error,
            "delivery failed"
        );
    }
    let outcome = deliver::outcome(result, &delivery, &settings);
    if let Err(error) = store
        .finish_delivery(delivery.id, &outcome, Timestamp::now())
        .await
    {
        // The claim lapses and the delivery is tried again, with the same key.
        tracing::warn!(delivery = delivery.id, %error, "cannot record a delivery's outcome");
    }
}
