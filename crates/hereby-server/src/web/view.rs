//! What the incident page shows besides the state snapshot — the newest timeline entries,
//! already rendered, and the links and evidence recorded in the stream — kept per incident
//! and brought up to date incrementally, so a refresh storm renders nothing twice.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use hereby_core::Event;
use hereby_core::types::IncidentNumber;
use hereby_store::Store;
use serde::Serialize;

use super::render;
use crate::error::ApiError;

/// How many of the newest entries the incident page shows; older ones load on demand.
pub(crate) const RECENT: usize = 50;

/// How many events are read from the store at a time while catching up.
const PAGE: u32 = 1_000;

/// How far behind a cached view may be and still catch up event by event.
const CATCH_UP: u64 = 1_000;

/// Incidents whose views are kept; beyond that the cache starts over.
const CAPACITY: usize = 512;

/// A rendered timeline entry.
#[derive(Debug, Clone)]
pub(crate) struct RenderedEntry {
    pub(crate) sequence: u64,
    pub(crate) position: i64,
    pub(crate) shown: render::ShownEntry,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct LinkView {
    kind: String,
    url: String,
    title: Option<String>,
    at: String,
    actor: String,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct EvidenceView {
    name: String,
    media_type: String,
    size: String,
    sha256: String,
    at: String,
    actor: String,
}

/// The derived view of one incident up to `version`.
#[derive(Debug, Clone, Default)]
pub(crate) struct IncidentView {
    pub(crate) version: u64,
    pub(crate) links: Vec<LinkView>,
    pub(crate) evidence: Vec<EvidenceView>,
    /// The newest entries, oldest first, at most [`RECENT`].
    pub(crate) recent: VecDeque<RenderedEntry>,
}

impl IncidentView {
    /// Takes in a link or evidence event.
    fn collect(&mut self, recorded: &hereby_store::RecordedEvent) {
        match &recorded.event {
            Event::LinkAdded(link) => self.links.push(LinkView {
                kind: link.kind.as_str().to_owned(),
                url: link.url.to_string(),
                title: link.title.as_ref().map(ToString::to_string),
                at: render::clock(recorded.at),
                actor: recorded.actor.to_string(),
            }),
            Event::EvidenceAttached(evidence) => self.evidence.push(EvidenceView {
                name: evidence.name.to_string(),
                media_type: evidence.media_type.to_string(),
                size: size(evidence.size),
                sha256: evidence.sha256.to_string(),
                at: render::clock(recorded.at),
                actor: recorded.actor.to_string(),
            }),
            _ => {}
        }
    }

    /// Takes in the next event of the stream: collected, rendered, and the oldest rendered
    /// entry dropped beyond [`RECENT`].
    fn append(
        &mut self,
        recorded: &hereby_store::RecordedEvent,
        position: i64,
        label: &str,
    ) -> Result<(), ApiError> {
        self.collect(recorded);
        let shown = render::ShownEntry::of(recorded, label).map_err(|error| {
            tracing::error!(%error, "a timeline entry could not be rendered");
            ApiError::new(
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                "render_failed",
                "a timeline entry could not be drawn",
            )
        })?;
        self.version = recorded.sequence;
        self.recent.push_back(RenderedEntry {
            sequence: recorded.sequence,
            position,
            shown,
        });
        while self.recent.len() > RECENT {
            self.recent.pop_front();
        }
        Ok(())
    }

    /// The newest entries' HTML, newest first, each with its post-mortem mark and, for a
    /// responder (`csrf`), the buttons that mark it.
    pub(crate) fn timeline_html(
        &self,
        marks: &std::collections::BTreeMap<u64, hereby_core::types::EntryMark>,
        label: &str,
        csrf: Option<&str>,
    ) -> Result<String, minijinja::Error> {
        render::entries(
            self.recent.iter().rev().map(|entry| &entry.shown),
            marks,
            label,
            csrf,
        )
    }

    /// The oldest entry shown, where "older entries" continue.
    pub(crate) fn oldest_shown(&self) -> Option<u64> {
        self.recent.front().map(|entry| entry.sequence)
    }

    /// The newest position shown, where the live stream continues.
    pub(crate) fn newest_position(&self) -> Option<i64> {
        self.recent.back().map(|entry| entry.position)
    }
}

/// A size in bytes as people read it.
fn size(bytes: u64) -> String {
    match bytes {
        0..1_024 => format!("{bytes} B"),
        1_024..1_048_576 => format!("{:.1} KiB", bytes as f64 / 1_024.0),
        _ => format!("{:.1} MiB", bytes as f64 / 1_048_576.0),
    }
}

/// Views by incident.
#[derive(Debug, Clone, Default)]
pub(crate) struct ViewCache(Arc<Mutex<HashMap<u64, Arc<IncidentView>>>>);

impl ViewCache {
    /// The view of `incident` at `version` or later, reading only what the cached view has
    /// not seen yet.
    pub(crate) async fn view<S: Store>(
        &self,
        store: &S,
        incident: IncidentNumber,
        version: u64,
    ) -> Result<Arc<IncidentView>, ApiError> {
        let cached = self
            .0
            .lock()
            .ok()
            .and_then(|views| views.get(&incident.0).cloned());
        if let Some(view) = &cached
            && view.version >= version
        {
            return Ok(view.clone());
        }
        let label = incident.to_string();
        let mut view = match cached {
            // A view a little behind catches up by reading what it has not seen.
            Some(view) if version - view.version <= CATCH_UP => (*view).clone(),
            // Otherwise it starts over from the older links and evidence, read by type, and
            // the newest entries: a long stream is never read whole.
            _ => {
                let boundary = version.saturating_sub(RECENT as u64);
                let mut fresh = IncidentView {
                    version: boundary,
                    ..IncidentView::default()
                };
                for kind in ["link_added", "evidence_attached"] {
                    let mut after = 0;
                    while after < boundary {
                        let page = store
                            .read_stream_of_type(incident, kind, after, PAGE)
                            .await?;
                        for stored in page.iter().filter(|s| s.link.sequence <= boundary) {
                            fresh.collect(&stored.decode()?);
                        }
                        match page.last() {
                            Some(last) if page.len() == PAGE as usize => after = last.link.sequence,
                            _ => break,
                        }
                    }
                }
                fresh
            }
        };
        loop {
            let page = store.read_stream(incident, view.version, PAGE).await?;
            for stored in &page {
                view.append(&stored.decode()?, stored.position, &label)?;
            }
            if page.len() < PAGE as usize {
                break;
            }
        }
        let view = Arc::new(view);
        if let Ok(mut views) = self.0.lock() {
            if views.len() >= CAPACITY {
                views.clear();
            }
            let newer = views
                .get(&incident.0)
                .is_none_or(|known| known.version < view.version);
            if newer {
                views.insert(incident.0, view.clone());
            }
        }
        Ok(view)
    }
}
