//! The incidents as reports read them, kept per process: each incident's state and each
//! person's part in it, for the version the log holds. A report over thousands of incidents
//! (insights, budgets, workload, the post-mortem library) lists its incidents narrowly
//! ([`App::listed`]: number, version and declared time, 5,000 rows a query) and loads a state
//! and a stream only for the incidents that changed since it last looked, instead of a state
//! and a whole stream for every incident every time.
//!
//! The list's `version` says whether what is kept is current, so a change made on another
//! node is seen as soon as the list shows it; nothing polls the log. What is kept is bounded:
//! past [`MOST_KEPT`] incidents the ones read longest ago go first.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use hereby_core::Incident;
use hereby_core::types::{IncidentNumber, UserName};
use hereby_core::workload::{IncidentWork, incident_work};
use hereby_store::{IncidentVersion, ListQuery, Store};
use jiff::Timestamp;

use crate::{App, AppError};

/// The most incidents one report reads.
pub const MAX_INCIDENTS: usize = 20_000;

/// Incidents kept at most: the last two years of a busy installation's reports.
const MOST_KEPT: usize = 150_000;

/// Events read per page of a timeline.
const PAGE: u32 = 1_000;

/// How far back a start reads ahead what reports will ask for: the insights page's default
/// period and the unavailability budgets' window (the quarter and a month before it).
const WARM: jiff::SignedDuration = jiff::SignedDuration::from_hours(125 * 24);

/// One incident as reports read it.
#[derive(Debug)]
pub(crate) struct Facts {
    pub(crate) version: u64,
    pub(crate) incident: Incident,
    /// Each person's part in the incident, from who recorded each event of the stream and
    /// when.
    pub(crate) work: Vec<IncidentWork>,
}

/// The facts kept, with when each was last read (a count, for the eviction order).
#[derive(Debug, Default)]
pub(crate) struct KeptFacts {
    kept: Mutex<Kept>,
}

#[derive(Debug, Default)]
struct Kept {
    facts: HashMap<IncidentNumber, (u64, Arc<Facts>)>,
    reads: u64,
}

impl KeptFacts {
    /// What is kept of `number` at `version`, marked as read now.
    fn get(&self, number: IncidentNumber, version: u64) -> Option<Arc<Facts>> {
        let mut kept = self.kept.lock().ok()?;
        kept.reads += 1;
        let reads = kept.reads;
        let (read, facts) = kept.facts.get_mut(&number)?;
        if facts.version != version {
            return None;
        }
        *read = reads;
        Some(facts.clone())
    }

    fn keep(&self, number: IncidentNumber, facts: Arc<Facts>) {
        let Ok(mut kept) = self.kept.lock() else {
            return;
        };
        kept.reads += 1;
        let reads = kept.reads;
        kept.facts.insert(number, (reads, facts));
        if kept.facts.len() > MOST_KEPT {
            // Drop the quarter read longest ago: one sort per many insertions.
            let mut reads: Vec<u64> = kept.facts.values().map(|(read, _)| *read).collect();
            reads.sort_unstable();
            let cut = reads[reads.len() / 4];
            kept.facts.retain(|_, (read, _)| *read > cut);
        }
    }
}

impl<S: Store> App<S> {
    /// The facts of the incidents `rows` list, in their order: kept ones when the list's
    /// version matches, the others read from the store (and kept).
    pub(crate) async fn facts_of(
        &self,
        rows: &[IncidentVersion],
    ) -> Result<Vec<(IncidentNumber, Arc<Facts>)>, AppError> {
        let mut facts = Vec::with_capacity(rows.len());
        for row in rows {
            if let Some(kept) = self.facts.get(row.number, row.version) {
                facts.push((row.number, kept));
                continue;
            }
            if let Some(read) = self.read_facts(row.number).await? {
                let read = Arc::new(read);
                self.facts.keep(row.number, read.clone());
                facts.push((row.number, read));
            }
        }
        Ok(facts)
    }

    /// Reads ahead the incidents declared in the last [`WARM`], so that the first person to
    /// open the insights page after a start does not wait while every one of them is read.
    /// Returns how many were read.
    pub async fn warm_reports(&self) -> Result<usize, AppError> {
        let since = Timestamp::now().checked_sub(WARM).unwrap_or(Timestamp::MIN);
        let (rows, _) = self
            .listed(
                ListQuery::default(),
                MAX_INCIDENTS,
                |row| row.declared_at < since,
                |_| true,
            )
            .await?;
        Ok(self.facts_of(&rows).await?.len())
    }

    /// An incident's state and its people's actions, from the store.
    async fn read_facts(&self, number: IncidentNumber) -> Result<Option<Facts>, AppError> {
        let loaded = self.store.load(number).await?;
        let Some(incident) = loaded.state.incident() else {
            return Ok(None);
        };
        let mut actions: Vec<(UserName, Timestamp)> = Vec::new();
        let mut after = 0;
        loop {
            let page = self.store.read_stream(number, after, PAGE).await?;
            for stored in &page {
                let recorded = stored.decode()?;
                after = recorded.sequence;
                // Events appended since the state was loaded belong to a later version.
                if recorded.sequence > loaded.version {
                    break;
                }
                actions.push((recorded.actor, recorded.at));
            }
            if page.len() < PAGE as usize || after >= loaded.version {
                break;
            }
        }
        Ok(Some(Facts {
            version: loaded.version,
            incident: incident.clone(),
            work: incident_work(actions.iter().map(|(person, at)| (person, *at))),
        }))
    }

    /// The incidents `query` lists (their numbers, versions and declaration times), newest
    /// first, read a page of [`MOST_VERSIONS`](hereby_store::MOST_VERSIONS) at a time: those
    /// `keep` takes, until `stop` is true of a row or `most` are taken; and whether rows were
    /// left when `most` was reached.
    pub(crate) async fn listed(
        &self,
        mut query: ListQuery,
        most: usize,
        stop: impl Fn(&IncidentVersion) -> bool,
        keep: impl Fn(&IncidentVersion) -> bool,
    ) -> Result<(Vec<IncidentVersion>, bool), AppError> {
        query.limit = hereby_store::MOST_VERSIONS;
        let mut rows = Vec::new();
        loop {
            let page = self.store.list_versions(&query).await?;
            let Some(last) = page.last() else { break };
            query.before = Some(last.number);
            let full = page.len() == hereby_store::MOST_VERSIONS as usize;
            for row in page {
                if stop(&row) {
                    return Ok((rows, false));
                }
                if !keep(&row) {
                    continue;
                }
                if rows.len() == most {
                    return Ok((rows, true));
                }
                rows.push(row);
            }
            if !full {
                break;
            }
        }
        Ok((rows, false))
    }
}
