//! Searching incidents: the query read by the core's grammar, run by the store for the person
//! asking (restricted incidents only for their members and admins).

use hereby_core::types::InstallationRole;
use hereby_store::{Search, SearchRequest, SearchResults};

use crate::{App, AppError};

/// The most hits on one page.
pub const MAX_PAGE: u32 = 100;

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
        let visible_to =
            (actor.role != InstallationRole::Admin).then(|| actor.name.as_str().to_owned());
        Ok(self
            .store
            .search(&SearchRequest {
                query: &query,
                visible_to: visible_to.as_deref(),
                limit: limit.clamp(1, MAX_PAGE),
                offset: offset.min(10_000),
            })
            .await?)
    }
}
