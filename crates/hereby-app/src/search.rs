//! Searching incidents: the query read by the core's grammar, run by the store for the person
//! asking (restricted incidents only for their members and admins).

use hereby_core::types::InstallationRole;
use hereby_store::{Search, SearchRequest, SearchResults};

use crate::{App, AppError};

/// The most hits on one page.
pub const MAX_PAGE: u32 = 100;
/// The furthest a page may start.
pub const MAX_OFFSET: u32 = 10_000;
/// The indexer worker writes at most one batch this often once it has caught up: each index
/// transaction has a cost of its own besides its texts, so a few large ones cost the appends
/// far less than many small ones. During a sustained burst of appends on SQLite, one batch a
/// second kept 0.92-1.04 of the append rate (seven runs) where one every 250 ms kept 0.88 on
/// average with batches of 1,000 and 0.92 with batches of 5,000 (README, Performance). A search first indexes what is still pending (up to [`CATCH_UP`] events), so
/// it finds what was just written whenever the worker last ran.
pub const INDEX_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);
/// The most events a search (and an incident page's similar incidents, and the post-mortem
/// library) indexes before it runs: what was written just before is found, but a search right
/// after an upgrade does not wait for the whole history (the indexer worker goes through
/// that). Two seconds' worth of the fastest appends measured here (10,000 a second), as the
/// worker may have last run a second (`INDEX_INTERVAL`) and a batch ago.
pub const CATCH_UP: u32 = 20_000;

impl<S: Search> App<S> {
    /// Incidents matching `raw` (words, phrases, prefixes, `INC-42`, filters) that `actor` may
    /// see, best first: `limit` of them from `offset`, with how many match in all. An empty
    /// query finds every incident they may see, newest first.
    pub async fn search(
        &self,
        actor: &hereby_store::User,
        raw: &str,
        limit: u32,
        offset: u32,
    ) -> Result<SearchResults, AppError> {
        let query = hereby_core::search::parse(raw).map_err(|error| AppError::Refused {
            code: "invalid_query",
            message: error.0,
        })?;
        // A search never fails for the index's sake: it searches what is indexed, and the
        // log says what went wrong.
        if let Err(error) = self.index_search(CATCH_UP).await {
            tracing::warn!(%error, "the search index could not catch up; searching what it holds");
        }
        let visible_to =
            (actor.role != InstallationRole::Admin).then(|| actor.name.as_str().to_owned());
        Ok(self
            .store
            .search(&SearchRequest {
                query: &query,
                visible_to: visible_to.as_deref(),
                limit: limit.clamp(1, MAX_PAGE),
                offset: offset.min(MAX_OFFSET),
            })
            .await?)
    }
}

impl<S: Search> App<S> {
    /// How many events one index transaction takes on this store (a whole one means more may
    /// be waiting).
    pub fn index_batch(&self) -> u32 {
        self.store.index_batch()
    }

    /// Indexes pending events for search, up to about `most` of them; how many were read.
    pub async fn index_search(&self, most: u32) -> Result<u64, AppError> {
        let mut read = 0;
        while read < u64::from(most) {
            match self.store.index_search(self.store.index_batch()).await? {
                0 => break,
                n => read += n,
            }
        }
        Ok(read)
    }
}

/// How many similar past incidents an incident page shows.
pub const SIMILAR: usize = 5;

impl<S: Search> App<S> {
    /// Past incidents like `incident` (numbered `number`) that `actor` may see, best first:
    /// those of one of its services before the others, each ranked by how many of its words
    /// they share (the core's [`hereby_core::search::similar_to`]).
    pub async fn similar(
        &self,
        actor: &hereby_store::User,
        number: hereby_core::types::IncidentNumber,
        incident: &hereby_core::Incident,
    ) -> Result<Vec<hereby_store::SearchHit>, AppError> {
        if let Err(error) = self.index_search(CATCH_UP).await {
            tracing::warn!(%error, "the search index could not catch up; searching what it holds");
        }
        let visible_to =
            (actor.role != InstallationRole::Admin).then(|| actor.name.as_str().to_owned());
        let title = incident.title.as_str();
        let summary = incident.summary.as_ref().map(|s| s.as_str());
        let mut queries = Vec::new();
        if let Some(service) = incident.services.first() {
            queries.extend(hereby_core::search::similar_to(
                title,
                summary,
                Some(service.as_str()),
            ));
        }
        queries.extend(hereby_core::search::similar_to(title, summary, None));
        let mut similar: Vec<hereby_store::SearchHit> = Vec::new();
        for query in &queries {
            let found = self
                .store
                .search(&SearchRequest {
                    query,
                    visible_to: visible_to.as_deref(),
                    // One more, for the incident itself when it has ended too.
                    limit: SIMILAR as u32 + 1,
                    offset: 0,
                })
                .await?;
            for hit in found.hits {
                let known = similar.iter().any(|seen| seen.incident == hit.incident);
                if hit.incident != number && !known && similar.len() < SIMILAR {
                    similar.push(hit);
                }
            }
        }
        Ok(similar)
    }
}
