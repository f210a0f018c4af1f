//! The post-mortem library: the published post-mortems a person may see, browsable by
//! service, severity, tag and contributing factor, and searchable by their words (through the
//! search index, post-mortem text only).

use std::collections::BTreeMap;

use hereby_api as api;
use hereby_core::Incident;
use hereby_core::search::EntryKind;
use hereby_core::types::{
    IncidentNumber, InstallationRole, PostmortemStatus, ServiceName, Severity, Tag,
};
use hereby_store::{ListQuery, Search, SearchRequest, Store};

use crate::insights::{given, severity_list};
use crate::{App, AppError};

/// Which post-mortems to list.
#[derive(Debug, Clone, Default)]
pub struct LibraryFilter {
    pub service: Option<ServiceName>,
    pub severities: Vec<Severity>,
    pub tag: Option<Tag>,
    pub factor: Option<Tag>,
    /// Words the post-mortem's text must hold, in the search grammar.
    pub words: Option<String>,
}

impl LibraryFilter {
    /// Reads the filters as the API and the page take them (blank ones are no filter).
    pub fn read(
        service: Option<&str>,
        severity: Option<&str>,
        tag: Option<&str>,
        factor: Option<&str>,
        q: Option<&str>,
    ) -> Result<LibraryFilter, hereby_core::types::InvalidValue> {
        Ok(LibraryFilter {
            service: given(service).map(ServiceName::parse).transpose()?,
            severities: severity_list(severity)?,
            tag: given(tag).map(Tag::parse).transpose()?,
            factor: given(factor).map(Tag::parse).transpose()?,
            words: given(q).map(str::to_owned),
        })
    }
}

/// The most incidents one library request looks through.
pub const MAX_SCANNED: usize = 5_000;
/// The most post-mortems one library request lists.
pub const MAX_LISTED: usize = 200;
/// The most search hits a worded request ranks.
const MAX_RANKED: u32 = 100;

impl<S: Store + Search> App<S> {
    /// The published post-mortems `actor` may see that pass `filter`: newest first, or best
    /// match first when words are given; with the tags and factors among them.
    pub async fn library(
        &self,
        actor: &hereby_store::User,
        filter: &LibraryFilter,
    ) -> Result<api::Library, AppError> {
        let visible_to = (actor.role != InstallationRole::Admin).then(|| actor.name.clone());
        let (candidates, capped) = match filter.words.as_deref().map(str::trim) {
            Some(words) if !words.is_empty() => {
                let ranked = self.ranked(actor, words, filter).await?;
                let full = ranked.len() == MAX_RANKED as usize;
                (ranked, full)
            }
            _ => self.newest(visible_to, filter).await?,
        };
        let mut published = Vec::new();
        for number in candidates {
            let loaded = self.store.load(number).await?;
            let Some(incident) = loaded.state.incident() else {
                continue;
            };
            if incident
                .postmortem
                .as_ref()
                .is_some_and(|p| p.status == PostmortemStatus::Published)
            {
                published.push((number, incident.clone()));
            }
        }
        let mut tags: BTreeMap<String, u64> = BTreeMap::new();
        let mut factors: BTreeMap<String, u64> = BTreeMap::new();
        for (_, incident) in &published {
            if let Some(postmortem) = &incident.postmortem {
                for tag in &postmortem.tags {
                    *tags.entry(tag.to_string()).or_default() += 1;
                }
                for factor in &postmortem.factors {
                    *factors.entry(factor.to_string()).or_default() += 1;
                }
            }
        }
        let postmortems = published
            .iter()
            .filter(|(_, incident)| files_under(incident, filter))
            .take(MAX_LISTED)
            .map(|(number, incident)| entry(*number, incident))
            .collect();
        Ok(api::Library {
            postmortems,
            tags: counted(tags),
            factors: counted(factors),
            capped,
        })
    }

    /// Incidents whose post-mortem text matches `words`, best first.
    async fn ranked(
        &self,
        actor: &hereby_store::User,
        words: &str,
        filter: &LibraryFilter,
    ) -> Result<Vec<IncidentNumber>, AppError> {
        let mut query = hereby_core::search::parse(words).map_err(|error| AppError::Refused {
            code: "invalid_query",
            message: error.0,
        })?;
        query.kinds = vec![EntryKind::Postmortem];
        if let Some(service) = &filter.service {
            query.services = vec![service.to_string()];
        }
        if !filter.severities.is_empty() {
            query.severities = filter.severities.clone();
        }
        if let Err(error) = self.index_search(crate::search::CATCH_UP).await {
            tracing::warn!(%error, "the search index could not catch up; searching what it holds");
        }
        let visible_to =
            (actor.role != InstallationRole::Admin).then(|| actor.name.as_str().to_owned());
        let found = self
            .store
            .search(&SearchRequest {
                query: &query,
                visible_to: visible_to.as_deref(),
                limit: MAX_RANKED,
                offset: 0,
            })
            .await?;
        Ok(found.hits.into_iter().map(|hit| hit.incident).collect())
    }

    /// Incidents passing the filters, newest first, up to [`MAX_SCANNED`] of them, and
    /// whether there were more. Any status: a post-mortem may follow an incident called off
    /// or handed back, and stays published when its incident is reopened.
    async fn newest(
        &self,
        visible_to: Option<hereby_core::types::UserName>,
        filter: &LibraryFilter,
    ) -> Result<(Vec<IncidentNumber>, bool), AppError> {
        let query = ListQuery {
            severities: filter.severities.clone(),
            service: filter.service.clone(),
            visible_to,
            ..ListQuery::default()
        };
        let (rows, capped) = self.listed(query, MAX_SCANNED, |_| false, |_| true).await?;
        Ok((rows.iter().map(|row| row.number).collect(), capped))
    }
}

/// Whether `incident`'s post-mortem carries the filter's tag and factor.
fn files_under(incident: &Incident, filter: &LibraryFilter) -> bool {
    let Some(postmortem) = &incident.postmortem else {
        return false;
    };
    filter
        .tag
        .as_ref()
        .is_none_or(|tag| postmortem.tags.contains(tag))
        && filter
            .factor
            .as_ref()
            .is_none_or(|factor| postmortem.factors.contains(factor))
}

fn entry(number: IncidentNumber, incident: &Incident) -> api::LibraryEntry {
    let postmortem = incident.postmortem.as_ref();
    api::LibraryEntry {
        incident: number.to_string(),
        title: incident.title.to_string(),
        severity: incident.severity.as_str().to_owned(),
        services: incident.services.iter().map(ToString::to_string).collect(),
        owner: postmortem.map(|p| p.owner.to_string()).unwrap_or_default(),
        published_at: postmortem
            .and_then(|p| p.published_at)
            .map(|at| at.to_string())
            .unwrap_or_default(),
        tags: postmortem
            .map(|p| p.tags.iter().map(ToString::to_string).collect())
            .unwrap_or_default(),
        factors: postmortem
            .map(|p| p.factors.iter().map(ToString::to_string).collect())
            .unwrap_or_default(),
    }
}

/// Counts most used first, then by name.
fn counted(counts: BTreeMap<String, u64>) -> Vec<api::TagCount> {
    let mut counted: Vec<api::TagCount> = counts
        .into_iter()
        .map(|(name, count)| api::TagCount { name, count })
        .collect();
    counted.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name)));
    counted
}
