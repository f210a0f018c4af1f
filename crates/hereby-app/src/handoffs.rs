//! Hand-offs waiting for an answer, by the person asked: an index the event feed keeps
//! current, so that every page can tell that person "sam asks you to take command of INC-7"
//! without reading the log per request.

use std::collections::BTreeMap;
use std::sync::{Arc, Once, RwLock};
use std::time::Duration;

use hereby_core::Incident;
use hereby_core::types::{IncidentNumber, Status, UserName};
use hereby_store::{ListQuery, Store, User};
use tokio::sync::watch;

use crate::App;

/// How long a first request waits for the index to be built before answering without it.
const FIRST_BUILD: Duration = Duration::from_secs(2);

/// One hand-off waiting for its recipient's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AskedToCommand {
    pub incident: IncidentNumber,
    pub title: String,
    /// The commander asking.
    pub from: UserName,
    pub to: UserName,
}

/// The pending hand-offs of every active incident, by incident.
#[derive(Debug)]
pub(crate) struct HandoffIndex {
    pending: RwLock<BTreeMap<IncidentNumber, AskedToCommand>>,
    started: Once,
    /// `true` once the index holds every active incident.
    built: watch::Sender<bool>,
}

impl Default for HandoffIndex {
    fn default() -> Self {
        Self {
            pending: RwLock::default(),
            started: Once::new(),
            built: watch::Sender::new(false),
        }
    }
}

impl HandoffIndex {
    /// Takes an incident's newest known state.
    pub(crate) fn update(&self, number: IncidentNumber, incident: &Incident) {
        let asked = incident
            .pending_handoff
            .as_ref()
            .filter(|_| incident.status.is_active())
            .map(|pending| AskedToCommand {
                incident: number,
                title: incident.title.as_str().to_owned(),
                from: pending.from.clone(),
                to: pending.to.clone(),
            });
        if let Ok(mut pending) = self.pending.write() {
            match asked {
                Some(asked) => pending.insert(number, asked),
                None => pending.remove(&number),
            };
        }
    }
}

impl<S: Store> App<S> {
    /// The hand-offs waiting for `person`'s answer, by incident number. The index is built
    /// from the active incidents on first use and kept current by the event feed; a first
    /// request waits briefly for it.
    pub async fn handoffs_for(&self, person: &User) -> Vec<AskedToCommand> {
        let index = self.handoffs.clone();
        index.started.call_once(|| {
            tokio::spawn(keep(self.clone(), index.clone()));
        });
        let mut built = index.built.subscribe();
        let _ = tokio::time::timeout(FIRST_BUILD, built.wait_for(|built| *built)).await;
        index.pending.read().map_or_else(
            |_| Vec::new(),
            |pending| {
                pending
                    .values()
                    .filter(|asked| asked.to == person.name)
                    .cloned()
                    .collect()
            },
        )
    }
}

/// Builds the index from the active incidents, then follows the feed.
async fn keep<S: Store>(app: App<S>, index: Arc<HandoffIndex>) {
    // Follow the feed from the log's end as it is now, then read the incidents: a change in
    // between arrives through the feed with a state at least as new as the one read.
    let start = loop {
        match app.store.last_position().await {
            Ok(position) => break position,
            Err(error) => {
                tracing::warn!(%error, "pending hand-offs: cannot read the log; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    };
    let mut feed = app.subscribe(start, None);
    let mut before = None;
    loop {
        let query = ListQuery {
            limit: 1_000,
            before,
            statuses: Status::ALL
                .iter()
                .copied()
                .filter(|status| status.is_active())
                .collect(),
            visible_to: None,
            ..ListQuery::default()
        };
        let page = match app.store.list_incidents(&query).await {
            Ok(page) => page,
            Err(error) => {
                tracing::warn!(%error, "pending hand-offs: cannot list incidents; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        for summary in &page {
            if let Ok(loaded) = app.store.load(summary.number).await
                && let Some(incident) = loaded.state.incident()
            {
                index.update(summary.number, incident);
            }
        }
        match page.last() {
            Some(last) if page.len() == 1_000 => before = Some(last.number),
            _ => break,
        }
    }
    index.built.send_replace(true);
    while let Some(event) = feed.next().await {
        if let Some(incident) = &event.incident {
            index.update(event.event.incident, incident);
        }
    }
    tracing::warn!("pending hand-offs: the event feed ended; banners stop updating");
}
