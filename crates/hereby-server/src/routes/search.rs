//! Full-text search over incidents, as the caller may see them.

use axum::Json;
use axum::extract::{Query, State};
use hereby_api as api;
use hereby_store::search::{snippet_parts, snippet_text};
use hereby_store::{Search, SearchHit, Store};
use serde::Deserialize;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::Caller;
use crate::html::render::escape;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SearchParams {
    #[serde(default)]
    q: String,
    limit: Option<u32>,
    offset: Option<u32>,
}

/// A snippet as HTML: escaped, the matched words in `<mark>`.
pub(crate) fn snippet_html(snippet: &str) -> String {
    snippet_parts(snippet)
        .into_iter()
        .map(|(matched, piece)| {
            if matched {
                format!("<mark>{}</mark>", escape(piece))
            } else {
                escape(piece)
            }
        })
        .collect()
}

fn hit_view(hit: &SearchHit) -> api::SearchHit {
    api::SearchHit {
        incident: hit.incident.to_string(),
        title: hit.title.clone(),
        status: hit.status.as_str().to_owned(),
        severity: hit.severity.as_str().to_owned(),
        visibility: hit.visibility.as_str().to_owned(),
        declared_at: hit.declared_at.to_string(),
        found_in: hit.kind.as_str().to_owned(),
        at: hit.at.to_string(),
        snippet: snippet_text(&hit.snippet),
        snippet_html: snippet_html(&hit.snippet),
    }
}

/// `GET /api/v1/search?q=…`: incidents whose title, summary, notes, updates, operations,
/// decisions, follow-ups, links or post-mortem match, best first.
#[utoipa::path(
    get,
    path = "/api/v1/search",
    tag = "incidents",
    security(("bearer" = [])),
    params(
        ("q" = Option<String>, Query, description = "Empty: every incident the caller may see, newest first. Words (stemmed: `timeout` finds \"timeouts\"), \"a phrase\", a prefix `pay*`, \
          `-left-out`, `INC-42`, and filters: `status:resolved` (or `status:open`), `sev:1`, `sev>=2`, \
          `service:checkout`, `role:anna`, `kind:note|update|operation|decision|follow_up|postmortem|link|incident`, \
          `since:2026-01-01`, `until:2026-02-01`. Parts of words match too (`tency` finds \"latency\") after whole words."),
        ("limit" = Option<u32>, Query, description = "Hits per page, 1 to 100 (default 20)"),
        ("offset" = Option<u32>, Query, description = "Hits to skip: the `next_offset` of the previous page"),
    ),
    responses(
        (status = 200, body = api::SearchPage),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
    )
)]
pub(crate) async fn search<S: Store + Search>(
    State(state): State<AppState<S>>,
    caller: Caller,
    params: Result<Query<SearchParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<api::SearchPage>, ApiError> {
    let Query(params) =
        params.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let limit = params
        .limit
        .unwrap_or(20)
        .clamp(1, hereby_app::search::MAX_PAGE);
    let offset = params
        .offset
        .unwrap_or(0)
        .min(hereby_app::search::MAX_OFFSET);
    let results = state
        .app
        .search(&caller.0, &params.q, limit, offset)
        .await
        .map_err(|error| match error {
            // A query that cannot be read is a bad parameter, like any other.
            hereby_app::AppError::Refused { code, message } => ApiError::bad_request(code, message),
            other => other.into(),
        })?;
    let shown = u64::from(offset) + results.hits.len() as u64;
    Ok(Json(api::SearchPage {
        hits: results.hits.iter().map(hit_view).collect(),
        total: results.total,
        total_is_exact: results.exact,
        next_offset: (shown < results.total && !results.hits.is_empty())
            .then(|| u32::try_from(shown).unwrap_or(u32::MAX)),
    }))
}
