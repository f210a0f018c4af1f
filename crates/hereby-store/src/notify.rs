//! Notifications as the store keeps them: channels, subscriptions, the delivery outbox, the
//! dispatcher's cursor over the event log, and the job table for reminders (stakeholder-update
//! cadence, post-mortem review meetings).
//!
//! The event log is the outbox's source: every event is written durably with its projection,
//! and a dispatcher follows the log from a persisted cursor. [`Notifications::commit_dispatch`]
//! queues the deliveries derived from a range of events, re-arms reminder jobs and moves the
//! cursor in one transaction, and only if the cursor is still where the dispatcher read it:
//! a crash before that commit loses nothing (the range is read again), and two dispatchers
//! (two nodes) cannot both queue the same range. Idempotency keys are unique, so queuing a
//! notification again inserts nothing.

use std::future::Future;

use hereby_core::subscribers::{SubscriberKind, SubscriberState};
use hereby_core::types::{IncidentNumber, ServiceName, UserName};
use jiff::Timestamp;

use crate::StoreError;

/// A configured destination. `config` is JSON whose shape depends on `kind` (the server
/// parses and checks it); it may hold secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel {
    pub id: i64,
    pub name: String,
    /// `webhook`, `slack` or `email`.
    pub kind: String,
    pub config: String,
    /// An e-mail channel that carries notifications addressed to a person.
    pub personal: bool,
    /// At most this many deliveries in flight at once on this channel, per server node.
    pub concurrency: u32,
    pub created_at: Timestamp,
}

/// A channel to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewChannel {
    pub name: String,
    pub kind: String,
    pub config: String,
    pub personal: bool,
    pub concurrency: u32,
}

/// Which notifications go to a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub id: i64,
    pub channel_id: i64,
    /// The e-mail address, for e-mail channels.
    pub recipient: Option<String>,
    /// Notification kinds, e.g. `declared`, `status_changed`.
    pub events: Vec<String>,
    /// Only updates to this audience (for `update_posted`).
    pub audience: Option<String>,
    /// `all` or `public`.
    pub scope: String,
    pub created_at: Timestamp,
}

/// A subscription to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSubscription {
    pub channel_id: i64,
    pub recipient: Option<String>,
    pub events: Vec<String>,
    pub audience: Option<String>,
    pub scope: String,
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    Pending,
    Delivered,
    /// Gave up after the last attempt; an admin may retry it.
    Dead,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Dead => "dead",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "pending" => Some(DeliveryState::Pending),
            "delivered" => Some(DeliveryState::Delivered),
            "dead" => Some(DeliveryState::Dead),
            _ => None,
        }
    }
}

/// A message to queue, already rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDelivery {
    /// Deterministic, so the same notification queued twice is one row.
    pub key: String,
    pub channel_id: i64,
    pub recipient: Option<String>,
    pub incident: Option<u64>,
    pub kind: String,
    pub subject: String,
    pub body: String,
    /// The JSON a webhook receives.
    pub payload: String,
}

/// A file that goes with a delivery: an e-mail carries it as an attachment (other channels
/// carry what they need of it in their payload, rendered when it was queued).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// E.g. `inc-7-review-2.ics`.
    pub file_name: String,
    /// E.g. `text/calendar; method=REQUEST`.
    pub media_type: String,
    pub content: String,
}

/// A message to queue with a file attached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachedDelivery {
    pub delivery: NewDelivery,
    pub attachment: Attachment,
}

/// A queued message and how its delivery went so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: i64,
    pub key: String,
    pub channel_id: i64,
    pub recipient: Option<String>,
    pub incident: Option<u64>,
    pub kind: String,
    pub subject: String,
    pub body: String,
    pub payload: String,
    /// The file sent along, if any.
    pub attachment: Option<Attachment>,
    pub state: DeliveryState,
    pub attempts: u32,
    pub next_attempt_at: Timestamp,
    pub last_error: Option<String>,
    pub created_at: Timestamp,
    pub finished_at: Option<Timestamp>,
}

/// How many deliveries one claim may take: at most the listed number of each listed channel
/// (a channel not listed gets none), and at most `total` in all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimLimits {
    pub total: u32,
    /// (channel id, most of that channel's deliveries to take), in the order to serve them
    /// while `total` lasts.
    pub channels: Vec<(i64, u32)>,
}

impl ClaimLimits {
    /// Up to `limit` deliveries of one channel.
    pub fn one_channel(channel_id: i64, limit: u32) -> Self {
        Self {
            total: limit,
            channels: vec![(channel_id, limit)],
        }
    }
}

/// One claim of one delivery. A delivery's token moves on with every claim and every recorded
/// outcome and never comes back, so a worker whose lease lapsed while another claimed the
/// delivery holds a token that no longer matches, and its outcome is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claim {
    pub delivery: i64,
    pub token: i64,
}

/// A delivery claimed for one attempt, with the token its outcome must present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedDelivery {
    pub delivery: Delivery,
    pub token: i64,
}

impl ClaimedDelivery {
    /// The claim to finish the attempt with.
    pub fn claim(&self) -> Claim {
        Claim {
            delivery: self.delivery.id,
            token: self.token,
        }
    }
}

/// How one attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryOutcome {
    Delivered,
    /// Failed; try again at `at`.
    Retry {
        at: Timestamp,
        error: String,
    },
    /// Failed for the last time.
    Dead {
        error: String,
    },
}

/// The reminder job of an incident: due at `due`, or cancelled when `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobChange {
    pub incident: u64,
    pub due: Option<Timestamp>,
}

/// What a job does. An incident has at most one job of each kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobKind {
    /// Reminds of an overdue stakeholder update (the cadence).
    Reminder,
    /// Reminds the owners of open follow-ups of the next post-mortem review meeting.
    Review,
}

impl JobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Reminder => "reminder",
            JobKind::Review => "review",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "reminder" => Some(JobKind::Reminder),
            "review" => Some(JobKind::Review),
            _ => None,
        }
    }
}

/// A job of a given kind to re-arm or cancel: [`JobChange`] with its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindedJobChange {
    pub kind: JobKind,
    pub change: JobChange,
}

/// A claimed job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: i64,
    pub kind: String,
    pub incident: u64,
    pub due_at: Timestamp,
    pub attempts: u32,
    /// What the job last reminded of (the overdue period, the meeting).
    pub last_key: Option<String>,
}

/// How a job run ended: re-armed for `next`, or done (`None`), with the deliveries it
/// queued and the period it reminded of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobDone {
    pub id: i64,
    /// The due time the job had when claimed: if the dispatcher moved it meanwhile, the
    /// dispatcher's time stands.
    pub claimed_due: Timestamp,
    pub next: Option<Timestamp>,
    pub last_key: Option<String>,
    pub deliveries: Vec<NewDelivery>,
}

/// A follow-up kept in an issue tracker, and what its last sync heard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackedFollowUp {
    pub incident: IncidentNumber,
    pub item: u32,
    /// The tracker's (its channel's) name.
    pub tracker: String,
    /// How the tracker's API names the issue (an issue number, an id); `None` until made.
    pub external: Option<String>,
    /// How people name it, e.g. `acme/api#12`.
    pub key: Option<String>,
    pub url: Option<String>,
    /// The state the tracker last reported, in hereby's words (`open`, `done`, `wont_do`).
    pub state: Option<String>,
    pub reason: Option<String>,
    /// The tracker's own time of the issue's last change, as last heard.
    pub remote_updated_at: Option<Timestamp>,
    pub synced_at: Option<Timestamp>,
    /// Why the last sync failed; cleared by the next one that works.
    pub sync_error: Option<String>,
    pub error_at: Option<Timestamp>,
    pub created_at: Timestamp,
}

/// Which tracked follow-ups to read; every filter given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrackedQuery {
    pub incident: Option<IncidentNumber>,
    pub item: Option<u32>,
    /// The one issue a tracker names so: (tracker, external).
    pub issue: Option<(String, String)>,
    /// Made issues last synced before this time (or never), least recently synced first.
    pub synced_before: Option<Timestamp>,
    pub limit: u32,
}

/// Someone who subscribed on the public status page: an e-mail address or a webhook, to
/// everything, to components, or to one incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusSubscriber {
    /// 0 for one not stored yet.
    pub id: i64,
    pub kind: SubscriberKind,
    /// The e-mail address (lowercase) or the webhook's URL.
    pub address: String,
    /// The incident followed, if this subscription is to one incident.
    pub incident: Option<IncidentNumber>,
    /// The components followed; none for everything.
    pub components: Vec<ServiceName>,
    pub state: SubscriberState,
    /// Mixed into the links e-mailed to the subscriber; a new one voids the old links.
    pub nonce: String,
    /// A webhook's signing secret (`whsec_…`), shown once when it subscribed.
    pub secret: Option<String>,
    pub confirm_expires_at: Option<Timestamp>,
    /// The digest of the code e-mailed to manage the subscription, while one is out.
    pub code_digest: Option<String>,
    pub code_expires_at: Option<Timestamp>,
    pub code_tries: u32,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub confirmed_at: Option<Timestamp>,
}

/// The notification tables. Every write is durable when it returns.
pub trait Notifications: Clone + Send + Sync + 'static {
    /// Creates a channel; a taken name is [`StoreError::Invalid`].
    fn create_channel(
        &self,
        channel: &NewChannel,
        at: Timestamp,
    ) -> impl Future<Output = Result<Channel, StoreError>> + Send;

    /// Every channel, by id.
    fn channels(&self) -> impl Future<Output = Result<Vec<Channel>, StoreError>> + Send;

    /// Deletes a channel with its subscriptions and deliveries; `false` if there was none.
    fn delete_channel(&self, id: i64) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Creates a subscription; an unknown channel is [`StoreError::Invalid`].
    fn create_subscription(
        &self,
        subscription: &NewSubscription,
        at: Timestamp,
    ) -> impl Future<Output = Result<Subscription, StoreError>> + Send;

    /// Every subscription, by id.
    fn subscriptions(&self) -> impl Future<Output = Result<Vec<Subscription>, StoreError>> + Send;

    /// Deletes a subscription; `false` if there was none.
    fn delete_subscription(&self, id: i64)
    -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Sets (or with `None` clears) a user's notification address.
    /// [`StoreError::UnknownUser`] if there is no such user.
    fn set_user_email(
        &self,
        name: &UserName,
        email: Option<&str>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Every user with an address, as (name, address), of users that are not disabled.
    fn user_emails(&self)
    -> impl Future<Output = Result<Vec<(String, String)>, StoreError>> + Send;

    /// The position in the event log up to which notifications were queued.
    fn dispatch_cursor(&self) -> impl Future<Output = Result<i64, StoreError>> + Send;

    /// In one transaction, if the cursor is still at `from`: queues `deliveries` (keys already
    /// queued are skipped), re-arms or cancels the incidents' cadence reminder jobs
    /// ([`JobKind::Reminder`]), and moves the cursor to `to`. `false` (nothing written) if the
    /// cursor had moved: someone else dispatched that range.
    fn commit_dispatch(
        &self,
        from: i64,
        to: i64,
        deliveries: &[NewDelivery],
        jobs: &[JobChange],
        at: Timestamp,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// [`Notifications::commit_dispatch`] with jobs of any kind.
    fn commit_dispatch_jobs(
        &self,
        from: i64,
        to: i64,
        deliveries: &[NewDelivery],
        jobs: &[KindedJobChange],
        at: Timestamp,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Queues deliveries now (keys already queued are skipped); returns how many were new.
    fn enqueue(
        &self,
        deliveries: &[NewDelivery],
        at: Timestamp,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Claims pending deliveries due by `now` that nobody holds, within `limits`, until
    /// `lease_until`: a crashed worker's claims become claimable again after that. Each claim
    /// gets a new token, oldest due first within a channel.
    fn claim_deliveries(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limits: &ClaimLimits,
    ) -> impl Future<Output = Result<Vec<ClaimedDelivery>, StoreError>> + Send;

    /// Records one attempt's outcome and releases the claim, if the delivery still holds
    /// `claim`'s token. `false`, and nothing recorded, if it does not: the lease lapsed and the
    /// delivery was claimed again (or finished, or removed), so this attempt's outcome is not
    /// the one that counts.
    fn finish_delivery(
        &self,
        claim: Claim,
        outcome: &DeliveryOutcome,
        at: Timestamp,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// How many deliveries are in `state`. Cheap for pending and dead deliveries, which an
    /// index finds without reading the delivered ones.
    fn count_deliveries(
        &self,
        state: DeliveryState,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// One delivery.
    fn delivery(
        &self,
        id: i64,
    ) -> impl Future<Output = Result<Option<Delivery>, StoreError>> + Send;

    /// Deliveries, newest first, optionally in one state.
    fn deliveries(
        &self,
        state: Option<DeliveryState>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<Delivery>, StoreError>> + Send;

    /// Makes a pending or dead delivery due at `now` (a dead one starts its attempts over);
    /// `None` if it does not exist or was delivered.
    fn retry_delivery(
        &self,
        id: i64,
        now: Timestamp,
    ) -> impl Future<Output = Result<Option<Delivery>, StoreError>> + Send;

    /// Claims up to `limit` pending jobs due by `now`, until `lease_until`.
    fn claim_jobs(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<Job>, StoreError>> + Send;

    /// Records a job run: queues its deliveries and re-arms or ends the job, in one
    /// transaction.
    fn finish_job(
        &self,
        done: &JobDone,
        at: Timestamp,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// [`Notifications::finish_job`] that also queues `attached`, deliveries with a file, in
    /// the same transaction. Returns how many deliveries (of both) were new: none when a run
    /// before this one already queued them.
    fn finish_job_attached(
        &self,
        done: &JobDone,
        attached: &[AttachedDelivery],
        at: Timestamp,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Stores a status page subscriber: a new one (id 0) by its kind, address and incident
    /// (an earlier one of the same is replaced, keeping its id), or a known one by id;
    /// `deliveries` (a confirmation, a code) are queued in the same transaction.
    fn put_status_subscriber(
        &self,
        subscriber: &StatusSubscriber,
        deliveries: &[NewDelivery],
    ) -> impl Future<Output = Result<StatusSubscriber, StoreError>> + Send;

    /// Spends one try of the subscriber's manage code, if it has one that is unexpired at
    /// `now` and has tries left (fewer than `most` spent), and returns its digest to compare;
    /// `None` otherwise. One statement, so guesses sent at once each spend a try.
    fn spend_code_try(
        &self,
        id: i64,
        most: u32,
        now: Timestamp,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;

    /// One status page subscriber.
    fn status_subscriber(
        &self,
        id: i64,
    ) -> impl Future<Output = Result<Option<StatusSubscriber>, StoreError>> + Send;

    /// The subscriber of this kind and address following `incident` (or no incident).
    fn status_subscriber_at(
        &self,
        kind: SubscriberKind,
        address: &str,
        incident: Option<IncidentNumber>,
    ) -> impl Future<Output = Result<Option<StatusSubscriber>, StoreError>> + Send;

    /// Subscribers in `state` (all when `None`) with an id above `after`, by id, at most
    /// `limit`.
    fn status_subscribers(
        &self,
        state: Option<SubscriberState>,
        after: i64,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<StatusSubscriber>, StoreError>> + Send;

    /// Stores what is known of a tracked follow-up, replacing an earlier row of the same item.
    fn put_tracked(
        &self,
        tracked: &TrackedFollowUp,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Tracked follow-ups matching `query`, by incident and item unless it asks for the least
    /// recently synced.
    fn tracked_follow_ups(
        &self,
        query: &TrackedQuery,
    ) -> impl Future<Output = Result<Vec<TrackedFollowUp>, StoreError>> + Send;

    /// How many tracked follow-ups of each tracker failed their last sync (trackers without
    /// any are not listed).
    fn tracker_sync_errors(
        &self,
    ) -> impl Future<Output = Result<Vec<(String, u64)>, StoreError>> + Send;

    /// Whether a tracker's webhook delivery of this id was acted on already.
    fn tracker_delivery_seen(
        &self,
        tracker: &str,
        delivery: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Notes a tracker's webhook delivery by its id; `false` when it was noted before (a
    /// delivery sent again). Deliveries older than a week are forgotten.
    fn note_tracker_delivery(
        &self,
        tracker: &str,
        delivery: &str,
        at: Timestamp,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Removes a subscriber; `false` if there was none.
    fn remove_status_subscriber(
        &self,
        id: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}
