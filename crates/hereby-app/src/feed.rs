//! One event feed per process: a single tailer reads the event log once and publishes each
//! new event, with the incident it belongs to, on a broadcast channel. Live streams, caches,
//! the status page and the workers subscribe instead of reading the log each on its own, so
//! the database's work does not grow with the number of watchers.
//!
//! The tailer wakes when this process appends ([`Feed::appended`]), when the backend signals
//! another node's commit (PostgreSQL `LISTEN/NOTIFY`), and on a slow safety poll. A
//! subscriber that starts behind the feed, or falls behind it (the broadcast keeps the newest
//! [`CAPACITY`] events), reads what it missed from the log itself and then rejoins; global
//! positions are gap-free, so a subscriber always knows whether it missed anything.

use std::any::Any;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, Once, Weak};
use std::time::Duration;

use hereby_core::Incident;
use hereby_core::types::{IncidentNumber, UserName};
use hereby_store::{RecordedEvent, Store, StoreError, User};
use tokio::sync::{Notify, broadcast};

use crate::App;

/// How many events the broadcast keeps for subscribers that are slow to read them; one that
/// falls further behind catches up from the log.
const CAPACITY: usize = 4_096;

/// How many events are read from the log at a time.
const BATCH: u32 = 500;

/// How often the tailer looks at the log when nothing woke it, where the backend signals
/// other nodes' commits (then the poll only covers a lost signal) …
const SIGNALLED_POLL: Duration = Duration::from_secs(5);

/// … and where it does not (another process writing the same database file).
const UNSIGNALLED_POLL: Duration = Duration::from_secs(1);

/// One event of the log as the feed publishes it.
#[derive(Debug, Clone)]
pub struct FeedEvent {
    pub event: RecordedEvent,
    /// The incident as the feed read it when it published this event (then or later), so that
    /// each subscriber decides visibility without asking the database; `None` when it could
    /// not be read, and then nobody is shown the event.
    pub incident: Option<Arc<Incident>>,
    /// What the edges made of this event, made once for every stream that sends it.
    pub renderings: Renderings,
}

/// An event's renderings by the edges (an API stream's JSON, a page's HTML), each kept under
/// a name of the edge's choosing: ten thousand watchers of one incident share one rendering
/// instead of making ten thousand.
#[derive(Clone, Default)]
pub struct Renderings(Arc<Mutex<Vec<(&'static str, Rendering)>>>);

/// One rendering, of whatever type its edge made.
type Rendering = Arc<dyn Any + Send + Sync>;

/// The states of incidents this process wrote, with the position of each write's last event.
type WrittenStates = Mutex<HashMap<IncidentNumber, (i64, Arc<Incident>)>>;

impl std::fmt::Debug for Renderings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self
            .0
            .lock()
            .map(|kept| kept.iter().map(|(name, _)| *name).collect())
            .unwrap_or_default();
        f.debug_tuple("Renderings").field(&names).finish()
    }
}

impl FeedEvent {
    /// The rendering kept under `name`, made by `render` the first time it is asked for.
    /// The lock is held while rendering so that concurrent streams wait for the one
    /// rendering rather than each making their own.
    pub fn rendered<T: Send + Sync + 'static>(
        &self,
        name: &'static str,
        render: impl FnOnce(&FeedEvent) -> T,
    ) -> Arc<T> {
        let Ok(mut kept) = self.renderings.0.lock() else {
            // A rendering panicked while holding the lock: render without keeping it.
            return Arc::new(render(self));
        };
        if let Some(found) = kept
            .iter()
            .find(|(kept_name, _)| *kept_name == name)
            .and_then(|(_, value)| value.clone().downcast::<T>().ok())
        {
            return found;
        }
        let made = Arc::new(render(self));
        kept.push((name, made.clone()));
        made
    }

    /// Whether `user` may see this event: the incident's visibility rule.
    pub fn visible_to(&self, user: &User) -> bool {
        self.incident
            .as_ref()
            .is_some_and(|incident| incident.visible_to(&user.name, user.role))
    }
}

/// The sign-in a live stream was opened with, so that revoking it ends the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// An API token, by the digest under which it is stored.
    Token([u8; 32]),
    /// A web session, by the digest of its secret.
    WebSession([u8; 32]),
}

/// What ends open streams at once.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Revocation {
    /// Every stream of this user: disabled, or their installation role changed.
    User(UserName),
    /// The streams opened with this credential: a token revoked, a session signed out.
    Credential(Credential),
}

/// The process's event feed. Cloning is cheap and shares it.
#[derive(Debug, Clone)]
pub struct Feed(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    events: broadcast::Sender<Arc<FeedEvent>>,
    revocations: broadcast::Sender<Revocation>,
    /// Wakes the tailer.
    wake: Arc<Notify>,
    /// The newest position the tailer has published (set before the event is sent).
    published: AtomicI64,
    /// Bumped when `published` moves without events being sent: when the tailer starts at
    /// the log's end, which subscribers that started before it must read up to.
    jumped: tokio::sync::watch::Sender<u64>,
    /// The newest position known to be written: by this process, or published.
    newest: AtomicI64,
    /// The state of each incident this process just wrote, as its writer folded it, with the
    /// position of the write's last event: the tailer takes it instead of loading the incident
    /// again when no later event of the incident is in the batch it publishes.
    written: WrittenStates,
    started: Once,
}

impl Default for Feed {
    fn default() -> Self {
        Self(Arc::new(Inner {
            events: broadcast::Sender::new(CAPACITY),
            revocations: broadcast::Sender::new(256),
            wake: Arc::new(Notify::new()),
            published: AtomicI64::new(0),
            jumped: tokio::sync::watch::Sender::new(0),
            newest: AtomicI64::new(0),
            written: Mutex::default(),
            started: Once::new(),
        }))
    }
}

impl Feed {
    /// Tells the feed that this process appended up to `position`: the tailer reads it at
    /// once.
    /// With the incident's state after the write, the tailer need not load it.
    pub fn appended(&self, position: i64, written: Option<(IncidentNumber, Arc<Incident>)>) {
        if let (Some((incident, state)), Ok(mut kept)) = (written, self.0.written.lock()) {
            let newer = kept
                .get(&incident)
                .is_none_or(|(kept_position, _)| *kept_position < position);
            if newer {
                kept.insert(incident, (position, state));
            }
        }
        self.0.newest.fetch_max(position, Ordering::SeqCst);
        self.0.wake.notify_one();
    }

    /// The newest log position this process knows of (0 before any): what it wrote itself,
    /// or what the feed published. An atomic load, for readers that check on every request.
    pub fn newest(&self) -> i64 {
        self.0.newest.load(Ordering::SeqCst)
    }

    /// The newest position published so far.
    pub fn published(&self) -> i64 {
        self.0.published.load(Ordering::SeqCst)
    }

    /// Ends every open stream of `user` (disabled, or their role changed).
    pub fn revoke_user(&self, user: &UserName) {
        let _ = self.0.revocations.send(Revocation::User(user.clone()));
    }

    /// Ends the open streams opened with `credential` (a token revoked, a session ended).
    pub fn revoke(&self, credential: Credential) {
        let _ = self.0.revocations.send(Revocation::Credential(credential));
    }

    /// Starts the tailer once per feed; later calls do nothing. Must run inside a Tokio
    /// runtime.
    fn start<S: Store>(&self, store: &S) {
        self.0.started.call_once(|| {
            let signalled = store.wake_on_commits(self.0.wake.clone());
            let poll = if signalled {
                SIGNALLED_POLL
            } else {
                UNSIGNALLED_POLL
            };
            tokio::spawn(tail(store.clone(), Arc::downgrade(&self.0), poll));
        });
    }
}

/// The tailer: reads the log after the newest published position and publishes what it
/// finds, until the feed is dropped.
async fn tail<S: Store>(store: S, feed: Weak<Inner>, poll: Duration) {
    let mut after = loop {
        match store.last_position().await {
            Ok(position) => break position,
            Err(error) => {
                tracing::warn!(%error, "the event feed cannot read the log; retrying");
                tokio::time::sleep(poll).await;
            }
        }
    };
    if let Some(inner) = feed.upgrade() {
        inner.published.fetch_max(after, Ordering::SeqCst);
        inner.newest.fetch_max(after, Ordering::SeqCst);
        inner.jumped.send_modify(|jumps| *jumps += 1);
    }
    loop {
        let Some(inner) = feed.upgrade() else {
            return;
        };
        match read_batch(&store, after, BATCH, &inner.written).await {
            Ok(batch) if !batch.is_empty() => {
                for event in batch {
                    after = event.event.position;
                    // Published first, sent second: a subscriber that joins in between reads
                    // the event from the log and skips the copy it then also receives.
                    inner.published.store(after, Ordering::SeqCst);
                    inner.newest.fetch_max(after, Ordering::SeqCst);
                    let _ = inner.events.send(Arc::new(event));
                }
                // States of writes the batch has passed are of no more use.
                if let Ok(mut kept) = inner.written.lock() {
                    kept.retain(|_, (position, _)| *position > after);
                }
                continue;
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "the event feed cannot read the log; retrying"),
        }
        let wake = inner.wake.clone();
        drop(inner);
        tokio::select! {
            () = wake.notified() => {}
            () = tokio::time::sleep(poll) => {}
        }
    }
}

/// Up to `limit` events after `after`, each with its incident: the state this process's own
/// write left (from `written`) where no later event of the incident is in the batch, else
/// read once per incident.
async fn read_batch<S: Store>(
    store: &S,
    after: i64,
    limit: u32,
    written: &WrittenStates,
) -> Result<Vec<FeedEvent>, StoreError> {
    let stored = store.read_all(after, limit).await?;
    let mut incidents: HashMap<IncidentNumber, Option<Arc<Incident>>> = HashMap::new();
    let mut last_of: HashMap<IncidentNumber, i64> = HashMap::new();
    for row in &stored {
        last_of.insert(IncidentNumber(row.link.incident), row.position);
    }
    if let Ok(kept) = written.lock() {
        for (incident, last) in &last_of {
            if let Some((position, state)) = kept.get(incident)
                && position >= last
            {
                incidents.insert(*incident, Some(state.clone()));
            }
        }
    }
    let mut batch = Vec::with_capacity(stored.len());
    for row in stored {
        let event = match row.decode() {
            Ok(event) => event,
            Err(error) => {
                // A damaged row is skipped here; `hereby db verify` names it.
                tracing::error!(position = row.position, %error, "the event feed skips an unreadable event");
                continue;
            }
        };
        let incident = match incidents.get(&event.incident) {
            Some(incident) => incident.clone(),
            None => {
                let incident = store
                    .load(event.incident)
                    .await
                    .ok()
                    .and_then(|loaded| loaded.state.incident().cloned())
                    .map(Arc::new);
                incidents.insert(event.incident, incident.clone());
                incident
            }
        };
        batch.push(FeedEvent {
            event,
            incident,
            renderings: Renderings::default(),
        });
    }
    Ok(batch)
}

/// One subscriber's place in the feed.
#[derive(Debug)]
pub struct Subscription<S> {
    store: S,
    feed: Feed,
    events: broadcast::Receiver<Arc<FeedEvent>>,
    revocations: broadcast::Receiver<Revocation>,
    jumped: tokio::sync::watch::Receiver<u64>,
    /// Who opened it and with what, for revocations; `None` for the system's own readers.
    holder: Option<(UserName, Credential)>,
    /// The last position handed out.
    after: i64,
    backlog: VecDeque<Arc<FeedEvent>>,
}

impl<S: Store> App<S> {
    /// Subscribes to every event after position `after`, in order. `holder` names the user and
    /// the sign-in of a person's stream, which ends when either is revoked.
    pub fn subscribe(&self, after: i64, holder: Option<(UserName, Credential)>) -> Subscription<S> {
        // Receivers first: what is published from now on is received, what was published
        // before is read from the log.
        let events = self.feed.0.events.subscribe();
        let revocations = self.feed.0.revocations.subscribe();
        let jumped = self.feed.0.jumped.subscribe();
        self.feed.start(&self.store);
        Subscription {
            store: self.store.clone(),
            feed: self.feed.clone(),
            events,
            revocations,
            jumped,
            holder,
            after,
            backlog: VecDeque::new(),
        }
    }

    /// Starts the feed's tailer now rather than at the first subscription.
    pub fn start_feed(&self) {
        self.feed.start(&self.store);
    }
}

impl<S: Store> Subscription<S> {
    /// The next event, waiting for one if need be. `None` ends the subscription: its sign-in
    /// was revoked, or the log could not be read (a reconnecting client resumes where it was).
    pub async fn next(&mut self) -> Option<Arc<FeedEvent>> {
        loop {
            while let Some(event) = self.backlog.pop_front() {
                if event.event.position > self.after {
                    self.after = event.event.position;
                    return Some(event);
                }
            }
            if self.after < self.feed.published() {
                // A subscriber catching up loads each incident itself: the states kept for the
                // tailer are the tailer's.
                match read_batch(&self.store, self.after, BATCH, &Mutex::default()).await {
                    Ok(batch) if !batch.is_empty() => {
                        self.backlog = batch.into_iter().map(Arc::new).collect();
                        continue;
                    }
                    // Published but unreadable (damaged rows only): wait for newer events.
                    Ok(_) => {}
                    Err(error) => {
                        tracing::warn!(%error, "a live stream cannot read the log; it ends");
                        return None;
                    }
                }
            }
            tokio::select! {
                received = self.events.recv() => match received {
                    Ok(event) => {
                        let position = event.event.position;
                        if position == self.after + 1 {
                            self.after = position;
                            return Some(event);
                        }
                        // Older than what was handed out, or past a gap this subscriber
                        // missed: the catch-up above reads the log up to it.
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => return None,
                },
                // The feed started at the log's end: the catch-up above reads up to it.
                _ = self.jumped.changed() => {}
                revoked = self.revocations.recv() => match revoked {
                    Ok(revocation) if self.ends_on(&revocation) => return None,
                    Ok(_) => {}
                    // Revocations were missed: end, to be safe; the client signs in again.
                    Err(_) => return None,
                },
            }
        }
    }

    /// Waits until the log has grown past this subscription's place and moves the place to
    /// the newest published position, reading nothing: for readers with a cursor of their own
    /// (the notification dispatcher), which only need waking. `false` once the feed is gone.
    pub async fn changed(&mut self) -> bool {
        loop {
            let published = self.feed.published();
            if self.after < published {
                self.after = published;
                self.backlog.clear();
                return true;
            }
            tokio::select! {
                received = self.events.recv() => match received {
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => return false,
                },
                _ = self.jumped.changed() => {}
            }
        }
    }

    fn ends_on(&self, revocation: &Revocation) -> bool {
        let Some((user, credential)) = &self.holder else {
            return false;
        };
        match revocation {
            Revocation::User(revoked) => revoked == user,
            Revocation::Credential(revoked) => revoked == credential,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use hereby_core::event::{Event, NoteAdded};
    use hereby_core::types::Text;

    use super::*;

    fn note() -> FeedEvent {
        FeedEvent {
            event: RecordedEvent {
                position: 7,
                incident: IncidentNumber(1),
                sequence: 2,
                at: jiff::Timestamp::UNIX_EPOCH,
                actor: UserName::parse("alice").unwrap(),
                event: Event::NoteAdded(NoteAdded {
                    text: Text::parse("checking the load balancer").unwrap(),
                }),
                hash: [0; 32],
            },
            incident: None,
            renderings: Renderings::default(),
        }
    }

    #[test]
    fn each_rendering_is_made_once_for_every_stream_that_shares_the_event() {
        let event = Arc::new(note());
        let made = AtomicUsize::new(0);
        let render = |event: &FeedEvent| {
            made.fetch_add(1, Ordering::SeqCst);
            format!("entry {}", event.event.position)
        };
        let first = event.rendered("json", render);
        let second = event.rendered("json", render);
        assert_eq!(made.load(Ordering::SeqCst), 1);
        assert!(Arc::ptr_eq(&first, &second));
        // Another name is another rendering, and a name asked for with another type does not
        // hand out the first one's value.
        let other = event.rendered("html", |_| 42_u32);
        assert_eq!(*other, 42);
        let mistyped = event.rendered("json", |_| 1_u8);
        assert_eq!(*mistyped, 1);
        assert_eq!(made.load(Ordering::SeqCst), 1);
    }
}
