//! The application layer: what every edge of hereby asks of the system. The JSON API, the
//! web UI, the status page, the background workers (and later alert intake and chat) call
//! these functions and never each other; this crate knows no HTTP, SQL or markup.
//!
//! An incident command travels edge → [`App::act`] → [`hereby_core::decide`] → the store
//! once: the incident is loaded once per attempt, the visibility and permission checks run on
//! that snapshot, the command is decided against the same snapshot, and the state the writer
//! folded is returned. After-write effects (waking the event feed, counting appends) happen
//! here, in one place. [`Feed`] is the process's one reader of the event log.

pub mod alerts;
mod attachments;
pub mod catalogue;
pub mod channels;
pub mod chat;
mod components;
pub mod deliveries;
pub mod describe;
mod error;
mod facts;
mod feed;
mod handoffs;
mod incidents;
pub mod insights;
mod judgement;
pub mod library;
pub mod maintenance;
pub mod message;
pub mod messages;
mod notifications;
mod people;
pub mod postmortem;
mod postmortems;
mod reviews;
pub mod search;
mod settings;
pub mod status_page;
pub mod subscribers;
mod templates;
pub mod trackers;
pub mod workload;

use std::sync::Arc;

use hereby_core::types::InstallationRole;
use hereby_core::{Cadence, Policy};
use hereby_store::{Store, User};

pub use components::ComponentChange;
pub use error::AppError;
pub use feed::{Credential, Feed, FeedEvent, Renderings, Subscription};
pub use handoffs::AskedToCommand;
pub use hereby_store::Outcome;
pub use people::{closest, did_you_mean};
pub use postmortems::{Download, ExportFormat, Linted};

/// The application: the store and the installation's policies, shared by every edge.
#[derive(Debug)]
pub struct App<S> {
    pub store: S,
    /// The roles in use and the review-meeting interval.
    pub policy: Arc<Policy>,
    /// How often stakeholders are owed an update, per severity.
    pub cadence: Arc<Cadence>,
    /// The process's one reader of the event log.
    pub feed: Feed,
    /// The address people reach the server at (e.g. `https://hereby.example.com`), for links
    /// in messages and invitations; `None` where unknown (an HTTP edge then uses the
    /// request's `Host`).
    pub public_url: Option<String>,
    /// The message templates' names, kept briefly.
    template_names: templates::TemplateNames,
    /// Wakes this process's delivery worker when something was queued.
    pub outbox: Outbox,
    /// Bumped by every change of settings made through this process.
    settings: Arc<std::sync::atomic::AtomicU64>,
    /// Hand-offs waiting for an answer, kept by the event feed.
    handoffs: Arc<handoffs::HandoffIndex>,
    /// How many alert events each integration may still send.
    limiter: Arc<alerts::Limiter>,
    /// The integrations recently opened by a key.
    known_keys: Arc<alerts::KnownKeys>,
    /// Held while this process opens incidents for alert groups, one at a time.
    opening: Arc<tokio::sync::Mutex<()>>,
    /// The one task that records and queues alert payloads (started at the first payload).
    alert_writer: Arc<std::sync::OnceLock<alerts::AlertWriter>>,
    /// The alert routes in force, when read and under which settings generation.
    alert_routes_kept: Arc<std::sync::Mutex<Option<alerts::KeptRoutes>>>,
    /// The alert feed of this process: bumped when alerts or groups change (here, or on
    /// another node as the alert timers find), which the live alerts page follows.
    alert_feed: Arc<alerts::AlertFeed>,
    /// Offers to declare made in chat on the phrase, waiting for the person's `inc yes`.
    chat_offers: Arc<chat::Offers>,
    /// Unavailability budgets as each person last had them read, briefly.
    budgets_kept: Arc<insights::KeptBudgets>,
    /// The incidents as reports read them, per version.
    facts: Arc<facts::KeptFacts>,
    /// Recent sign-ups and code requests on the status page, per address and per client.
    subscribe_limits: Arc<subscribers::Limits>,
    /// The key status page links are tagged with, once read.
    subscriber_link_key: Arc<tokio::sync::OnceCell<String>>,
}

impl<S: Store> App<S> {
    pub fn new(store: S, policy: Policy) -> Self {
        Self {
            store,
            policy: Arc::new(policy),
            cadence: Arc::new(Cadence::default()),
            feed: Feed::default(),
            public_url: None,
            template_names: Default::default(),
            settings: Default::default(),
            outbox: Outbox::default(),
            handoffs: Default::default(),
            limiter: Default::default(),
            known_keys: Default::default(),
            opening: Default::default(),
            alert_writer: Default::default(),
            alert_routes_kept: Default::default(),
            alert_feed: Default::default(),
            chat_offers: Default::default(),
            budgets_kept: Default::default(),
            facts: Default::default(),
            subscribe_limits: Default::default(),
            subscriber_link_key: Default::default(),
        }
    }
}

impl<S: Clone> Clone for App<S> {
    fn clone(&self) -> Self {
        Self {
            store: self.store.clone(),
            policy: self.policy.clone(),
            cadence: self.cadence.clone(),
            feed: self.feed.clone(),
            public_url: self.public_url.clone(),
            template_names: self.template_names.clone(),
            settings: self.settings.clone(),
            outbox: self.outbox.clone(),
            handoffs: self.handoffs.clone(),
            limiter: self.limiter.clone(),
            known_keys: self.known_keys.clone(),
            opening: self.opening.clone(),
            alert_writer: self.alert_writer.clone(),
            alert_routes_kept: self.alert_routes_kept.clone(),
            alert_feed: self.alert_feed.clone(),
            chat_offers: self.chat_offers.clone(),
            budgets_kept: self.budgets_kept.clone(),
            facts: self.facts.clone(),
            subscribe_limits: self.subscribe_limits.clone(),
            subscriber_link_key: self.subscriber_link_key.clone(),
        }
    }
}

impl<S> App<S> {
    /// A number that grows with every change of settings made through this process (status
    /// page components, templates): caches built from settings compare it.
    pub fn settings_generation(&self) -> u64 {
        self.settings.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn settings_changed(&self) {
        self.settings
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Wakes the delivery worker of this process when something was queued.
#[derive(Debug, Clone, Default)]
pub struct Outbox(Arc<tokio::sync::Notify>);

impl Outbox {
    pub fn wake(&self) {
        self.0.notify_one();
    }

    /// Waits for the next [`Outbox::wake`].
    pub async fn notified(&self) {
        self.0.notified().await;
    }
}

/// Refuses actors whose installation role is below `needed`.
pub fn require(actor: &User, needed: InstallationRole) -> Result<(), AppError> {
    if actor.role >= needed {
        return Ok(());
    }
    Err(AppError::Forbidden(match needed {
        InstallationRole::Admin => "only admins can do this",
        _ => "viewers can read incidents but not change them",
    }))
}
