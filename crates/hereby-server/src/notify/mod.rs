//! Outgoing notifications: the dispatcher that turns the event log into queued deliveries,
//! the worker that sends them with retries, and the runner of reminder jobs (the update
//! cadence, and follow-ups before post-mortem review meetings). All
//! three run inside `hereby serve` and keep every piece of state in the database, so a
//! restart (or a crash) loses nothing and a second node shares the work.

pub mod deliver;
mod dispatch;
mod reminders;
mod reviews;
mod timeline;
mod trackers;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use hereby_store::{ClaimLimits, ClaimedDelivery, DeliveryOutcome, Notifications, Store};
use jiff::{SignedDuration, Timestamp};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
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
    /// after that (a crashed worker) another may take it. A delivery attempt is cut short
    /// when only a quarter of its lease is left, so the lease should be well above `timeout`.
    pub lease: Duration,
    /// Time limit of one attempt (an HTTP request, an SMTP conversation).
    pub timeout: Duration,
    /// How often workers look for due work when nothing wakes them.
    pub poll: Duration,
    /// How long before a post-mortem review meeting the owners of open follow-ups are
    /// reminded (at once when the meeting is set closer than that).
    pub review_lead: Duration,
    /// How often each follow-up kept in a tracker is read back from it.
    pub tracker_poll: Duration,
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
            tracker_poll: Duration::from_secs(5 * 60),
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

/// Starts the dispatcher, the delivery worker, the reminder runner (of both kinds of job) and
/// the search indexer.
pub fn start<S: Store + Notifications + hereby_store::Search + hereby_store::Communications>(
    state: AppState<S>,
    settings: Settings,
) -> Workers {
    // reqwest is built without a crypto provider of its own: use ring, like the client.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let settings = Arc::new(settings);
    let (stop, stopped) = watch::channel(false);
    let mut tasks = JoinSet::new();
    tasks.spawn(dispatcher(state.clone(), settings.clone(), stopped.clone()));
    tasks.spawn(deliverer(state.clone(), settings.clone(), stopped.clone()));
    tasks.spawn(indexer(state.clone(), settings.clone(), stopped.clone()));
    tasks.spawn(maintenance_timer(state.clone(), stopped.clone()));
    tasks.spawn(trackers::reconcile(
        state.clone(),
        settings.clone(),
        stopped.clone(),
    ));
    tasks.spawn(reminders::runner(state, settings, stopped));
    Workers { stop, tasks }
}

async fn dispatcher<S: Store + Notifications + hereby_store::Communications>(
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

/// How often the maintenance timer looks for a start, an end or a reminder that is due.
const MAINTENANCE_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// Moves scheduled maintenance on when its time comes (start, completion) and reminds
/// subscribers an hour before a start; the application decides what is due, and a change
/// applies only to the version it was decided on, so two nodes do each move once.
async fn maintenance_timer<S: Store + Notifications + hereby_store::Communications>(
    state: AppState<S>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        if let Err(error) = state.app.maintenance_tick(jiff::Timestamp::now()).await {
            tracing::warn!(%error, "the maintenance timer failed; retrying");
        }
        tokio::select! {
            () = tokio::time::sleep(MAINTENANCE_EVERY) => {}
            _ = stop.changed() => return,
        }
    }
}

/// Keeps the search index up with the log: woken by the feed like the dispatcher, it indexes
/// in batches after the appends (which never wait for it). With several nodes each runs one;
/// the index's position is locked while a batch is written, so each event is indexed once.
async fn indexer<S: Store + hereby_store::Search>(
    state: AppState<S>,
    settings: Arc<Settings>,
    mut stop: watch::Receiver<bool>,
) {
    let mut feed = state.app.subscribe(state.feed.published(), None);
    loop {
        let started = tokio::time::Instant::now();
        match state.app.index_search(state.app.index_batch()).await {
            // A whole batch: more may be waiting (a burst of appends, or an upgrade indexing
            // the history). The appends share the machine's cores with this work, so it rests
            // as long as the batch took (at most the pause between batches once caught up)
            // before the next one: about half the time while they stream in, catching up
            // after; a search first indexes up to `CATCH_UP` pending events itself.
            Ok(read) if read >= u64::from(state.app.index_batch()) => {
                let rest = started.elapsed().min(hereby_app::search::INDEX_INTERVAL);
                tokio::select! {
                    () = tokio::time::sleep(rest) => {}
                    _ = stop.changed() => return,
                }
                if *stop.borrow() {
                    return;
                }
                continue;
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "search indexing failed; retrying"),
        }
        tokio::select! {
            () = tokio::time::sleep(hereby_app::search::INDEX_INTERVAL) => {}
            _ = stop.changed() => return,
        }
        tokio::select! {
            _ = feed.changed() => {}
            () = tokio::time::sleep(settings.poll) => {}
            _ = stop.changed() => return,
        }
    }
}

/// At most this many deliveries in flight at once on one node, over all channels.
const IN_FLIGHT: usize = 64;

// A claimed delivery must never wait: its lease runs from the moment it is claimed, and a
// delivery that waited behind a concurrency limit until its lease lapsed would be claimed
// again (by this node or another) and sent twice. So the worker holds the permits before it
// claims: it counts the free permits of the node-wide limit and of each channel's limit, asks
// the store for no more than that per channel and in all, and takes a permit of each kind for
// every delivery it got before starting it. Only this loop takes permits (attempts only give
// them back), so every permit it counted is still free when it takes it, and an attempt
// starts as soon as its delivery is claimed. The alternative, one claim over all channels
// that skips the saturated ones, could still hand a channel more deliveries than it has
// room for; claiming per channel in one transaction costs one statement per channel with
// room, and no more round trips than before.
async fn deliverer<S: Store + Notifications + hereby_store::Communications>(
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
    let node = Arc::new(Semaphore::new(IN_FLIGHT));
    let mut limits: HashMap<i64, Arc<Semaphore>> = HashMap::new();
    let mut in_flight = JoinSet::new();
    let mut round = 0_usize;
    loop {
        while in_flight.try_join_next().is_some() {}
        match state.store.channels().await {
            Ok(channels) => {
                // Chat channels' deliveries are their adapters' to carry out.
                let channels: HashMap<i64, Arc<hereby_store::Channel>> = channels
                    .into_iter()
                    .filter(|c| !hereby_app::chat::is_chat_kind(&c.kind))
                    .map(|c| (c.id, Arc::new(c)))
                    .collect();
                // A removed channel's deliveries went with it; attempts under way keep their
                // own handle on its limit.
                limits.retain(|id, _| channels.contains_key(id));
                let started = claim_and_start(
                    &state.app,
                    &http,
                    &settings,
                    &channels,
                    &node,
                    &mut limits,
                    round,
                    &mut in_flight,
                )
                .await;
                round = round.wrapping_add(1);
                if let Err(error) = started {
                    tracing::warn!(%error, "cannot claim deliveries; retrying");
                }
            }
            Err(error) => tracing::warn!(%error, "cannot read notification channels"),
        }
        // Whatever was due and had room was claimed: more work comes with a finished attempt
        // (its permits are free again), a delivery queued on this node, or the next poll.
        tokio::select! {
            Some(_) = in_flight.join_next(), if !in_flight.is_empty() => {}
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

/// Claims as many due deliveries as there are free permits (per channel and on the node) and
/// starts an attempt for each, holding its permits.
#[allow(clippy::too_many_arguments)]
async fn claim_and_start<S: Store + Notifications + hereby_store::Communications>(
    app: &hereby_app::App<S>,
    http: &reqwest::Client,
    settings: &Arc<Settings>,
    channels: &HashMap<i64, Arc<hereby_store::Channel>>,
    node: &Arc<Semaphore>,
    limits: &mut HashMap<i64, Arc<Semaphore>>,
    round: usize,
    in_flight: &mut JoinSet<()>,
) -> Result<(), hereby_store::StoreError> {
    let total = u32::try_from(node.available_permits()).unwrap_or(u32::MAX);
    let mut room: Vec<(i64, u32)> = channels
        .values()
        .filter_map(|channel| {
            let limit = limits
                .entry(channel.id)
                .or_insert_with(|| Arc::new(Semaphore::new(channel.concurrency.max(1) as usize)));
            let free = u32::try_from(limit.available_permits()).unwrap_or(u32::MAX);
            (free > 0).then_some((channel.id, free))
        })
        .collect();
    if total == 0 || room.is_empty() {
        return Ok(());
    }
    // When the node-wide limit is what runs out, the channels listed first are served first:
    // start each round with another channel, so none waits behind the others for long.
    room.sort_unstable_by_key(|(id, _)| *id);
    let first = round % room.len();
    room.rotate_left(first);
    let now = Timestamp::now();
    let lease_until = later(now, settings.lease);
    let claimed = app
        .store
        .claim_deliveries(
            now,
            lease_until,
            &ClaimLimits {
                total,
                channels: room,
            },
        )
        .await?;
    for claimed in claimed {
        let delivery = &claimed.delivery;
        let (Some(channel), Some(limit)) = (
            channels.get(&delivery.channel_id),
            limits.get(&delivery.channel_id),
        ) else {
            // Cannot happen: the claim named only channels just read, each with its limit.
            continue;
        };
        let (Ok(on_node), Ok(on_channel)) = (
            node.clone().try_acquire_owned(),
            limit.clone().try_acquire_owned(),
        ) else {
            // Not reachable either, as explained above `deliverer`. Were it reached, the
            // delivery is not sent now; its claim lapses and it is tried again after the
            // lease, with the same key.
            tracing::warn!(
                delivery = delivery.id,
                channel = %channel.name,
                "claimed a delivery without a free permit; it is tried again after its lease"
            );
            continue;
        };
        in_flight.spawn(attempt(
            app.clone(),
            http.clone(),
            settings.clone(),
            channel.clone(),
            claimed,
            lease_until,
            [on_node, on_channel],
        ));
    }
    Ok(())
}

/// Whether a status page notice's e-mail (its key ends in `:ss<subscriber id>`) is for a
/// subscriber who has unsubscribed or been removed since it was queued.
async fn unsubscribed_since<S: Store + Notifications + hereby_store::Communications>(
    app: &hereby_app::App<S>,
    delivery: &hereby_store::Delivery,
) -> bool {
    if delivery.kind != hereby_app::subscribers::KIND {
        return false;
    }
    let Some(id) = delivery
        .key
        .rsplit_once(":ss")
        .and_then(|(_, id)| id.parse::<i64>().ok())
    else {
        return false;
    };
    match app.store.status_subscriber(id).await {
        // Another address under the id (a copied database whose ids were given again) is
        // not the person the notice was for.
        Ok(Some(subscriber)) => {
            subscriber.state != hereby_core::subscribers::SubscriberState::Active
                || delivery.recipient.as_deref() != Some(subscriber.address.as_str())
        }
        Ok(None) => true,
        // Unknown: send, as a retry would.
        Err(_) => false,
    }
}

/// Sends a status page subscriber's webhook delivery to the subscriber's address as it is
/// now: one that unsubscribed meanwhile is owed nothing (the attempt counts as done).
async fn subscriber_webhook<S: Store + Notifications + hereby_store::Communications>(
    app: &hereby_app::App<S>,
    http: &reqwest::Client,
    delivery: &hereby_store::Delivery,
    budget: Duration,
) -> Result<(), String> {
    use hereby_core::subscribers::SubscriberState;
    let id: i64 = delivery
        .recipient
        .as_deref()
        .and_then(|id| id.parse().ok())
        .ok_or_else(|| "the delivery names no subscriber".to_owned())?;
    let subscriber = app
        .store
        .status_subscriber(id)
        .await
        .map_err(|e| format!("cannot read the subscriber: {e}"))?;
    let Some(subscriber) = subscriber else {
        return Ok(());
    };
    let verifying = delivery.kind == hereby_app::subscribers::VERIFY_KIND;
    let wanted = match subscriber.state {
        SubscriberState::Active => !verifying,
        SubscriberState::Pending => verifying,
        SubscriberState::Unsubscribed => false,
    };
    if !wanted {
        return Ok(());
    }
    let secret = subscriber
        .secret
        .as_deref()
        .ok_or_else(|| "the subscriber has no signing secret".to_owned())?;
    deliver::standard_webhook(http, &subscriber.address, secret, delivery, budget).await
}

/// How long an attempt starting at `now` may take on a claim held until `lease_until`.
///
/// The attempt must be over, and its outcome recorded, before the lease ends: after that
/// another worker may claim the delivery and send it while this attempt is still open. The
/// last quarter of the lease is kept for recording the outcome and for the clocks of several
/// nodes disagreeing a little; the configured timeout applies when it is shorter.
fn attempt_budget(now: Timestamp, lease_until: Timestamp, settings: &Settings) -> Duration {
    let left = Duration::try_from(lease_until.duration_since(now)).unwrap_or(Duration::ZERO);
    left.saturating_sub(settings.lease / 4)
        .min(settings.timeout)
}

/// One attempt at one claimed delivery, holding its permits (node and channel) throughout.
async fn attempt<S: Store + Notifications + hereby_store::Communications>(
    app: hereby_app::App<S>,
    http: reqwest::Client,
    settings: Arc<Settings>,
    channel: Arc<hereby_store::Channel>,
    claimed: ClaimedDelivery,
    lease_until: Timestamp,
    _permits: [OwnedSemaphorePermit; 2],
) {
    let delivery = &claimed.delivery;
    let budget = attempt_budget(Timestamp::now(), lease_until, &settings);
    if budget.is_zero() {
        // Only a stalled node gets here; sending now could overlap another claim's attempt.
        tracing::warn!(
            delivery = delivery.id,
            channel = %channel.name,
            "the claim ran out before the attempt began; it is tried again after its lease"
        );
        return;
    }
    // The channel's own time limits (an HTTP timeout, SMTP's per command) are bounded by the
    // budget as well, but only this bounds the attempt as a whole.
    let store = &app.store;
    let sending = async {
        if channel.kind == "status_page" {
            subscriber_webhook(&app, &http, delivery, budget).await
        } else if hereby_api::vocabulary::TRACKER_KINDS.contains(&channel.kind.as_str()) {
            trackers::export(&app, &http, &channel, delivery, budget).await
        } else if unsubscribed_since(&app, delivery).await {
            // A notice queued before its subscriber unsubscribed is owed nothing now.
            Ok(())
        } else {
            deliver::send(&http, &channel, delivery, budget).await
        }
    };
    let result = tokio::time::timeout(budget, sending)
        .await
        .unwrap_or_else(|_| Err("the receiver did not answer in time".into()));
    // A webhook that answered its test delivery hears notices from now on.
    if result.is_ok()
        && delivery.kind == hereby_app::subscribers::VERIFY_KIND
        && let Some(id) = delivery.recipient.as_deref().and_then(|id| id.parse().ok())
        && let Err(error) = app.webhook_verified(id).await
    {
        tracing::warn!(subscriber = id, %error, "cannot mark a verified webhook subscriber");
    }
    if let Err(error) = &result {
        tracing::warn!(
            delivery = delivery.id,
            channel = %channel.name,
            attempt = delivery.attempts + 1,
            %error,
            "delivery failed"
        );
    }
    let outcome = deliver::outcome(result, delivery, &settings);
    match store
        .finish_delivery(claimed.claim(), &outcome, Timestamp::now())
        .await
    {
        Ok(true) => {
            if let DeliveryOutcome::Dead { error } = &outcome {
                tracing::error!(
                    delivery = delivery.id,
                    channel = %channel.name,
                    attempts = delivery.attempts + 1,
                    %error,
                    "delivery is dead: no more attempts; an admin may retry it"
                );
            }
        }
        Ok(false) => tracing::warn!(
            delivery = delivery.id,
            channel = %channel.name,
            "the claim on a delivery was lost before its outcome was recorded; another \
             attempt holds it now, and this outcome is dropped"
        ),
        // The claim lapses and the delivery is tried again, with the same key.
        Err(error) => {
            tracing::warn!(delivery = delivery.id, %error, "cannot record a delivery's outcome");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_attempt_ends_a_quarter_of_the_lease_before_the_lease_does() {
        let settings = Settings {
            lease: Duration::from_secs(8),
            timeout: Duration::from_secs(10),
            ..Settings::default()
        };
        let now = Timestamp::from_second(1_790_000_000).unwrap();
        let budget =
            |held: u64| attempt_budget(now, later(now, Duration::from_secs(held)), &settings);
        assert_eq!(budget(8), Duration::from_secs(6), "the lease binds");
        assert_eq!(budget(3), Duration::from_secs(1));
        assert_eq!(budget(2), Duration::ZERO, "nothing left to send in");
        assert_eq!(
            attempt_budget(
                later(now, Duration::from_secs(9)),
                later(now, Duration::from_secs(8)),
                &settings
            ),
            Duration::ZERO,
            "a lapsed lease"
        );
        let generous = Settings {
            lease: Duration::from_secs(120),
            ..settings
        };
        assert_eq!(
            attempt_budget(now, later(now, Duration::from_secs(120)), &generous),
            Duration::from_secs(10),
            "the timeout binds"
        );
    }
}
