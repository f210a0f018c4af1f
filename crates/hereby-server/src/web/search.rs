//! The search page: the box on every page leads here; hits show where the words were found,
//! with the matched words marked.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use hereby_store::search::snippet_parts;
use hereby_store::{Search, Store};
use serde::{Deserialize, Serialize};

use super::session::Viewer;
use super::{PageError, bad_query, show};
use crate::AppState;

/// Hits per page.
const PER_PAGE: u32 = 20;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SearchParams {
    #[serde(default)]
    q: String,
    #[serde(default)]
    offset: u32,
}

#[derive(Debug, Serialize)]
struct Piece<'a> {
    matched: bool,
    text: &'a str,
}

#[derive(Debug, Serialize)]
struct Hit<'a> {
    id: String,
    title: &'a str,
    status: &'static str,
    severity: &'static str,
    restricted: bool,
    found_in: &'static str,
    at: String,
    snippet: Vec<Piece<'a>>,
}

/// `GET /search?q=…`
pub(crate) async fn page<S: Store + Search>(
    State(state): State<AppState<S>>,
    viewer: Viewer,
    params: Result<Query<SearchParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    let Query(params) = params.map_err(bad_query)?;
    let asked = !params.q.trim().is_empty();
    let (results, error) = if asked {
        match state
            .app
            .search(viewer.user(), &params.q, PER_PAGE, params.offset)
            .await
        {
            Ok(results) => (results, None),
            Err(hereby_app::AppError::Refused { message, .. }) => {
                (hereby_store::SearchResults::default(), Some(message))
            }
            Err(other) => return Err(other.into()),
        }
    } else {
        (hereby_store::SearchResults::default(), None)
    };
    let hits: Vec<Hit<'_>> = results
        .hits
        .iter()
        .map(|hit| Hit {
            id: hit.incident.to_string(),
            title: &hit.title,
            status: hit.status.as_str(),
            severity: hit.severity.as_str(),
            restricted: hit.visibility == hereby_core::types::Visibility::Restricted,
            found_in: found_in(hit.kind),
            at: hereby_core::when::clock(hit.at),
            snippet: snippet_parts(&hit.snippet)
                .into_iter()
                .map(|(matched, text)| Piece { matched, text })
                .collect(),
        })
        .collect();
    let shown = params
        .offset
        .min(hereby_app::search::MAX_OFFSET)
        .saturating_add(u32::try_from(results.hits.len()).unwrap_or(u32::MAX));
    let next = (u64::from(shown) < results.total && !results.hits.is_empty()).then(|| {
        format!(
            "/search?q={}&offset={shown}",
            crate::html::render::url_encode(&params.q)
        )
    });
    show(
        if error.is_some() {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::OK
        },
        "search.html",
        minijinja::context! {
            viewer => viewer.context(),
            q => params.q,
            asked => asked,
            hits => crate::html::render::data(&hits),
            total => results.total,
            exact => results.exact,
            next => next,
            search_error => error,
        },
    )
}

/// Where a hit's words were found, as the page says it.
fn found_in(kind: hereby_core::search::EntryKind) -> &'static str {
    use hereby_core::search::EntryKind;
    match kind {
        EntryKind::Incident => "title or summary",
        EntryKind::Note => "a note",
        EntryKind::Update => "a stakeholder update",
        EntryKind::Operation => "an operation",
        EntryKind::Decision => "a decision",
        EntryKind::FollowUp => "a follow-up",
        EntryKind::Postmortem => "the post-mortem",
        EntryKind::Link => "a link",
    }
}
