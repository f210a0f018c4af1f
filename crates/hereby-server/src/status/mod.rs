//! The public status page at `/status` (no sign-in), its Statuspage-compatible JSON API under
//! `/api/v2` and its Atom feed, plus the admin API for the page's components.
//!
//! Every public document is served from an in-memory snapshot ([`snapshot::Rendered`]), so a
//! customers' refresh storm costs a few header writes per request, never a database query.
//! The snapshot is rebuilt on the first request after it went stale: after this server
//! appended to the log or changed a component, and at least every few seconds (which picks up
//! what other server nodes wrote). One request rebuilds while the others wait for its result.

pub(crate) mod snapshot;
mod subscribe;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hereby_api as api;
use hereby_store::{Communications, Component, Directory, Store};
use jiff::Timestamp;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{ApiJson, Caller};
use snapshot::{Document, PageInfo, Rendered};

/// The longest a snapshot is served without looking at the store again.
const MAX_AGE: Duration = Duration::from_secs(5);

/// What clients and proxies may cache: a few seconds, then revalidate with the ETag.
const CACHE_CONTROL: &str = "public, max-age=5, must-revalidate";

/// The public documents, by path: what [`public_routes`] serves and `/metrics` counts.
const DOCUMENTS: [&str; 13] = [
    "/status",
    "/status/feed.atom",
    "/api/v2/summary.json",
    "/api/v2/status.json",
    "/api/v2/components.json",
    "/api/v2/incidents.json",
    "/api/v2/incidents/unresolved.json",
    "/api/v2/scheduled-maintenances.json",
    "/api/v2/scheduled-maintenances/upcoming.json",
    "/api/v2/scheduled-maintenances/active.json",
    "/api/v2/uptime.json",
    "/status/history",
    "/api/v2/history.json",
];

/// The public status page's routes. They are served outside the request-logging middleware:
/// under a refresh storm a log line and labelled metrics per anonymous read would cost more
/// than serving the read itself, so each document only bumps a counter of its own, which
/// `/metrics` reports as `hereby_status_requests_total{document}`.
///
/// They have a state of their own, one `Arc` cloned per request, rather than the whole
/// [`AppState`].
pub(crate) fn public_routes<S: Store + Communications + hereby_store::Notifications>(
    state: &AppState<S>,
) -> axum::Router {
    use axum::routing::{get, post};
    let public = Arc::new(Public {
        page: state.status.clone(),
        app: state.app.clone(),
        base_url: state
            .public_url
            .as_deref()
            .unwrap_or("")
            .trim_end_matches('/')
            .to_owned(),
        history_reads: tokio::sync::Semaphore::new(HISTORY_READS),
        trusted_proxies: state.web.trusted_proxies.clone(),
    });
    // The subscription pages: forms anyone may send, so small bodies only.
    let subscriptions = axum::Router::new()
        .route(
            "/status/subscribe",
            get(subscribe::form::<S>).post(subscribe::sign_up::<S>),
        )
        .route(
            "/status/subscriptions/confirm",
            get(subscribe::confirm_form::<S>).post(subscribe::confirm::<S>),
        )
        .route(
            "/status/subscriptions/unsubscribe",
            get(subscribe::unsubscribe_form::<S>).post(subscribe::unsubscribe::<S>),
        )
        .route(
            "/status/subscriptions/manage",
            get(subscribe::manage_form::<S>).post(subscribe::send_code::<S>),
        )
        .route(
            "/status/subscriptions/manage/code",
            post(subscribe::open::<S>),
        )
        .route(
            "/status/subscriptions/manage/save",
            post(subscribe::save::<S>),
        )
        .layer(axum::extract::DefaultBodyLimit::max(subscribe::FORM_LIMIT))
        .with_state(public.clone());
    axum::Router::new()
        .route(DOCUMENTS[0], get(page::<S>))
        .route(DOCUMENTS[1], get(feed::<S>))
        .route(DOCUMENTS[2], get(summary::<S>))
        .route(DOCUMENTS[3], get(status::<S>))
        .route(DOCUMENTS[4], get(components::<S>))
        .route(DOCUMENTS[5], get(incidents::<S>))
        .route(DOCUMENTS[6], get(unresolved::<S>))
        .route(DOCUMENTS[7], get(maintenances::<S>))
        .route(DOCUMENTS[8], get(upcoming::<S>))
        .route(DOCUMENTS[9], get(active::<S>))
        .route(DOCUMENTS[10], get(uptime::<S>))
        .route(DOCUMENTS[11], get(history_page::<S>))
        .route(DOCUMENTS[12], get(history_json::<S>))
        .with_state(public)
        .merge(subscriptions)
}

/// What the public documents need: the page, and the application it is built from.
#[derive(Debug)]
pub(crate) struct Public<S> {
    page: StatusPage,
    /// The store to rebuild from, the feed's newest position (this server's writes, and
    /// other nodes' once the feed has read them), and the settings' generation.
    app: hereby_app::App<S>,
    base_url: String,
    /// Turns for reading history pages that are not kept.
    history_reads: tokio::sync::Semaphore,
    /// Proxies whose `X-Forwarded-For` names the client (sign-ups are limited per client).
    trusted_proxies: Vec<std::net::IpAddr>,
}

/// The status page's shared state: the current snapshot (its name and the rest of its
/// identity are admins' settings, read at each rebuild).
#[derive(Debug, Clone)]
pub struct StatusPage {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    started: Timestamp,
    current: RwLock<Option<Arc<Snapshot>>>,
    /// Held by the request that rebuilds.
    rebuild: tokio::sync::Mutex<()>,
    /// Requests served, per entry of [`DOCUMENTS`].
    served: [AtomicU64; DOCUMENTS.len()],
}

#[derive(Debug)]
struct Snapshot {
    built: Instant,
    /// The newest log position the feed knew of when the build started.
    position: i64,
    generation: u64,
    rendered: Rendered,
    /// Pages of the history rendered from this snapshot's reading, by their `before`: the
    /// first page and those a kept page links to as older, so a client asking for numbers of
    /// its own choosing cannot fill it.
    history: std::sync::Mutex<std::collections::HashMap<Option<u64>, Arc<HistoryPage>>>,
}

/// A page of the history: its HTML, its JSON, and the number the next page starts below.
type HistoryPage = (Document, Document, Option<u64>);

/// At most this many history pages that are not kept are read from the store at once; more
/// requests wait their turn, so anyone's requests cost the database a bounded share.
const HISTORY_READS: usize = 2;

/// The most history pages a snapshot keeps; past it, a page is rendered for its request only.
const HISTORY_KEPT: usize = 64;

impl Default for StatusPage {
    fn default() -> Self {
        Self {
            inner: Arc::new(Inner {
                started: Timestamp::now(),
                current: RwLock::new(None),
                rebuild: tokio::sync::Mutex::new(()),
                served: Default::default(),
            }),
        }
    }
}

impl StatusPage {
    /// Sets the `hereby_status_requests_total` counters, at scrape time.
    pub(crate) fn report_metrics(&self) {
        for (path, served) in DOCUMENTS.iter().zip(&self.inner.served) {
            metrics::counter!("hereby_status_requests_total", "document" => *path)
                .absolute(served.load(Ordering::Relaxed));
        }
    }

    fn count(&self, document: usize) {
        if let Some(served) = self.inner.served.get(document) {
            served.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The current snapshot if it includes this server's writes up to `position` and its
    /// component changes; `aged` tells whether it is also older than [`MAX_AGE`].
    fn current(&self, position: i64, generation: u64) -> Option<(Arc<Snapshot>, bool)> {
        let current = self.inner.current.read().ok()?.clone()?;
        let complete = current.position >= position && current.generation == generation;
        let aged = current.built.elapsed() >= MAX_AGE;
        complete.then_some((current, aged))
    }

    fn fresh(&self, position: i64, generation: u64) -> Option<Arc<Snapshot>> {
        self.current(position, generation)
            .and_then(|(current, aged)| (!aged).then_some(current))
    }
}

/// The current snapshot, rebuilt first if it is stale.
async fn snapshot<S: Store + Communications>(
    public: &Public<S>,
) -> Result<Arc<Snapshot>, ApiError> {
    let page = &public.page;
    let position = public.app.feed.newest();
    let generation = public.app.settings_generation();
    let _turn = match page.current(position, generation) {
        Some((current, false)) => return Ok(current),
        // Only too old (other nodes may have written): one request rebuilds while the others
        // keep getting the current snapshot instead of waiting for it.
        Some((current, true)) => match page.inner.rebuild.try_lock() {
            Ok(turn) => turn,
            Err(_) => return Ok(current),
        },
        // Missing this server's own writes: wait, so that a writer reads what it wrote.
        None => page.inner.rebuild.lock().await,
    };
    // Someone else may have rebuilt while this request waited for its turn.
    if let Some(fresh) = page.fresh(position, generation) {
        return Ok(fresh);
    }
    let info = PageInfo {
        base_url: public.base_url.clone(),
        since: page.inner.started,
    };
    let rendered = snapshot::build(&public.app.store, &info, Timestamp::now()).await?;
    let built = Arc::new(Snapshot {
        built: Instant::now(),
        position,
        generation,
        rendered,
        history: Default::default(),
    });
    if let Ok(mut current) = page.inner.current.write() {
        *current = Some(built.clone());
    }
    Ok(built)
}

/// Serves one document with its ETag, or 304 when the client has it already.
fn serve(document: &Document, content_type: &'static str, headers: &HeaderMap) -> Response {
    let unchanged = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|tags| {
            tags.split(',')
                .any(|tag| tag.trim().as_bytes() == document.etag.as_bytes() || tag.trim() == "*")
        });
    let etag = document.etag.clone();
    let mut response = if unchanged {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
            document.body.clone(),
        )
            .into_response()
    };
    let headers = response.headers_mut();
    headers.insert(header::ETAG, etag);
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(CACHE_CONTROL),
    );
    // Anyone may read the public JSON from a browser page of their own.
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
}

const JSON: &str = "application/json";

macro_rules! public_document {
    ($(#[$meta:meta])* $name:ident, $field:ident, $index:literal, $content_type:expr) => {
        $(#[$meta])*
        pub(crate) async fn $name<S: Store + Communications>(
            State(public): State<Arc<Public<S>>>,
            request: axum::extract::Request,
        ) -> Result<Response, ApiError> {
            public.page.count($index);
            let snapshot = snapshot(&public).await?;
            Ok(serve(&snapshot.rendered.$field, $content_type, request.headers()))
        }
    };
}

public_document!(
    /// `GET /api/v2/summary.json`: page, components, unresolved incidents and overall status.
    summary, summary, 2, JSON
);
public_document!(
    /// `GET /api/v2/status.json`: the page's overall indicator.
    status, status, 3, JSON
);
public_document!(
    /// `GET /api/v2/components.json`
    components, components, 4, JSON
);
public_document!(
    /// `GET /api/v2/incidents.json`: the 50 newest public incidents of the last 90 days.
    incidents, incidents, 5, JSON
);
public_document!(
    /// `GET /api/v2/incidents/unresolved.json`
    unresolved, unresolved, 6, JSON
);
public_document!(
    /// `GET /api/v2/scheduled-maintenances.json`: the 50 newest maintenances.
    maintenances, maintenances, 7, JSON
);
public_document!(
    /// `GET /api/v2/scheduled-maintenances/upcoming.json`
    upcoming, upcoming, 8, JSON
);
public_document!(
    /// `GET /api/v2/scheduled-maintenances/active.json`: in progress or verifying.
    active, active, 9, JSON
);
public_document!(
    /// `GET /api/v2/uptime.json`: each component's last 90 days (hereby's own document).
    uptime, uptime, 10, JSON
);
/// Which feed: the page's, or one component's.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct FeedQuery {
    component: Option<String>,
}

/// `GET /status/feed.atom[?component=NAME]`: every public update and maintenance update, or
/// those touching one component.
pub(crate) async fn feed<S: Store + Communications>(
    State(public): State<Arc<Public<S>>>,
    query: Result<axum::extract::Query<FeedQuery>, axum::extract::rejection::QueryRejection>,
    request: axum::extract::Request,
) -> Result<Response, ApiError> {
    public.page.count(1);
    let axum::extract::Query(query) =
        query.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let snapshot = snapshot(&public).await?;
    let document = match query.component.as_deref().map(str::trim) {
        None | Some("") => &snapshot.rendered.atom,
        Some(name) => snapshot
            .rendered
            .atom_of
            .get(name)
            .ok_or_else(|| ApiError::not_found(format!("component `{name}`")))?,
    };
    Ok(serve(
        document,
        "application/atom+xml; charset=utf-8",
        request.headers(),
    ))
}

/// Which page of the history: the incidents numbered below `before`.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct HistoryQuery {
    before: Option<String>,
}

/// One page of the history, kept with the snapshot it was read under.
async fn history<S: Store + Communications>(
    public: &Public<S>,
    query: Result<axum::extract::Query<HistoryQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Arc<HistoryPage>, ApiError> {
    let axum::extract::Query(query) =
        query.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let before = match query.before.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(raw) => Some(
            raw.trim_start_matches("INC-")
                .parse::<u64>()
                .ok()
                .filter(|number| *number > 0)
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "invalid_query",
                        format!("before: `{raw}` is not an incident number"),
                    )
                })?,
        ),
    };
    let snapshot = snapshot(public).await?;
    let (kept, linked) = match snapshot.history.lock() {
        Ok(pages) => (
            pages.get(&before).cloned(),
            before.is_none() || pages.values().any(|page| page.2 == before),
        ),
        Err(_) => (None, false),
    };
    if let Some(kept) = kept {
        return Ok(kept);
    }
    let _turn = public.history_reads.acquire().await.ok();
    let info = PageInfo {
        base_url: public.base_url.clone(),
        since: public.page.inner.started,
    };
    let rendered = Arc::new(
        snapshot::history(
            &public.app.store,
            &info,
            &snapshot.rendered.settings,
            before.map(hereby_core::types::IncidentNumber),
        )
        .await?,
    );
    if let Ok(mut kept) = snapshot.history.lock()
        && linked
        && kept.len() < HISTORY_KEPT
    {
        kept.insert(before, rendered.clone());
    }
    Ok(rendered)
}

/// `GET /status/history?before=N`: the public incidents before N, a page at a time.
pub(crate) async fn history_page<S: Store + Communications>(
    State(public): State<Arc<Public<S>>>,
    query: Result<axum::extract::Query<HistoryQuery>, axum::extract::rejection::QueryRejection>,
    request: axum::extract::Request,
) -> Result<Response, crate::html::PageError> {
    public.page.count(11);
    let pages = history(&public, query).await?;
    let mut response = serve(&pages.0, "text/html; charset=utf-8", request.headers());
    crate::html::harden(&mut response);
    Ok(response)
}

/// `GET /api/v2/history.json?before=N`: the same page as JSON.
pub(crate) async fn history_json<S: Store + Communications>(
    State(public): State<Arc<Public<S>>>,
    query: Result<axum::extract::Query<HistoryQuery>, axum::extract::rejection::QueryRejection>,
    request: axum::extract::Request,
) -> Result<Response, ApiError> {
    public.page.count(12);
    let pages = history(&public, query).await?;
    Ok(serve(&pages.1, JSON, request.headers()))
}

/// `GET /status`: the page people read, with the web UI's hardening headers.
pub(crate) async fn page<S: Store + Communications>(
    State(public): State<Arc<Public<S>>>,
    request: axum::extract::Request,
) -> Result<Response, crate::html::PageError> {
    public.page.count(0);
    let snapshot = snapshot(&public).await?;
    let mut response = serve(
        &snapshot.rendered.html,
        "text/html; charset=utf-8",
        request.headers(),
    );
    crate::html::harden(&mut response);
    Ok(response)
}

fn component_wire(component: &Component) -> api::Component {
    api::Component {
        name: component.name.to_string(),
        description: component.description.clone(),
        position: component.position,
        status: component.status.map(|status| status.as_str().to_owned()),
        group: component.group.clone(),
        created_at: component.created_at.to_string(),
        updated_at: component.updated_at.to_string(),
    }
}

/// `GET /api/v1/components`
#[utoipa::path(
    get,
    path = "/api/v1/components",
    tag = "status page",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The status page's components, in order", body = [api::Component]),
        (status = 401, description = "No valid token", body = api::ErrorBody),
    )
)]
pub(crate) async fn list_components<S: Store + Directory + Communications>(
    State(state): State<AppState<S>>,
    _caller: Caller,
) -> Result<axum::Json<Vec<api::Component>>, ApiError> {
    let components = state.store.list_components().await?;
    Ok(axum::Json(components.iter().map(component_wire).collect()))
}

/// `PUT /api/v1/components/{name}`
#[utoipa::path(
    put,
    path = "/api/v1/components/{name}",
    tag = "status page",
    security(("bearer" = [])),
    params(("name" = String, Path, description = "The component: a service name, as incidents name affected services")),
    request_body = api::PutComponent,
    responses(
        (status = 200, description = "The component as stored", body = api::Component),
        (status = 400, description = "Malformed body", body = api::ErrorBody),
        (status = 401, description = "No valid token", body = api::ErrorBody),
        (status = 403, description = "Not an admin", body = api::ErrorBody),
        (status = 422, description = "Invalid name or status", body = api::ErrorBody),
    )
)]
pub(crate) async fn put_component<S: Store + Directory + Communications>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<api::PutComponent>,
) -> Result<axum::Json<api::Component>, ApiError> {
    let change = hereby_app::ComponentChange {
        description: body.description,
        position: body.position,
        status: body.status,
        group: body.group,
    };
    let stored = state.app.save_component(&caller.0, &name, change).await?;
    Ok(axum::Json(component_wire(&stored)))
}

/// `DELETE /api/v1/components/{name}`
#[utoipa::path(
    delete,
    path = "/api/v1/components/{name}",
    tag = "status page",
    security(("bearer" = [])),
    params(("name" = String, Path, description = "The component")),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "No valid token", body = api::ErrorBody),
        (status = 403, description = "Not an admin", body = api::ErrorBody),
        (status = 404, description = "No such component", body = api::ErrorBody),
    )
)]
pub(crate) async fn remove_component<S: Store + Directory + Communications>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.app.delete_component(&caller.0, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/status-page`: the public status page's identity.
#[utoipa::path(
    get,
    path = "/api/v1/status-page",
    tag = "status page",
    security(("bearer" = [])),
    responses(
        (status = 200, body = api::StatusPageSettings),
        (status = 401, description = "No valid token", body = api::ErrorBody),
    )
)]
pub(crate) async fn show_page_settings<S: Store + Directory + Communications>(
    State(state): State<AppState<S>>,
    _caller: Caller,
) -> Result<axum::Json<api::StatusPageSettings>, ApiError> {
    Ok(axum::Json(state.app.status_page().await?.wire()))
}

/// `PUT /api/v1/status-page` (admins): its name, address, time zone and description.
#[utoipa::path(
    put,
    path = "/api/v1/status-page",
    tag = "status page",
    security(("bearer" = [])),
    request_body = api::PutStatusPage,
    responses(
        (status = 200, description = "The settings as stored", body = api::StatusPageSettings),
        (status = 400, description = "Malformed body", body = api::ErrorBody),
        (status = 401, description = "No valid token", body = api::ErrorBody),
        (status = 403, description = "Not an admin", body = api::ErrorBody),
        (status = 413, body = api::ErrorBody),
        (status = 422, description = "A field is wrong (an unknown time zone, an address that is not http(s) …)", body = api::ErrorBody),
    )
)]
pub(crate) async fn put_page_settings<
    S: Store + Directory + Communications + hereby_store::Notifications,
>(
    State(state): State<AppState<S>>,
    caller: Caller,
    ApiJson(body): ApiJson<api::PutStatusPage>,
) -> Result<axum::Json<api::StatusPageSettings>, ApiError> {
    Ok(axum::Json(
        state.app.set_status_page(&caller.0, &body).await?.wire(),
    ))
}

/// The admins' listing of subscribers: after an id, at most a number.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SubscribersQuery {
    after: Option<i64>,
    limit: Option<u32>,
}

/// `GET /api/v1/status-subscribers` (admins): the page's subscribers, by id.
#[utoipa::path(
    get,
    path = "/api/v1/status-subscribers",
    tag = "status page",
    security(("bearer" = [])),
    params(
        ("after" = Option<i64>, Query, description = "Only those with a greater id, to page on"),
        ("limit" = Option<u32>, Query, description = "1 to 1000; 100 when absent"),
    ),
    responses(
        (status = 200, body = Vec<api::StatusSubscriber>),
        (status = 400, body = api::ErrorBody),
        (status = 401, description = "No valid token", body = api::ErrorBody),
        (status = 403, description = "Not an admin", body = api::ErrorBody),
    )
)]
pub(crate) async fn list_subscribers<
    S: Store + Directory + Communications + hereby_store::Notifications,
>(
    State(state): State<AppState<S>>,
    caller: Caller,
    query: Result<axum::extract::Query<SubscribersQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<axum::Json<Vec<api::StatusSubscriber>>, ApiError> {
    caller.require(hereby_core::types::InstallationRole::Admin)?;
    let axum::extract::Query(query) =
        query.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let subscribers = state
        .app
        .status_subscribers(
            &caller.0,
            query.after.unwrap_or(0),
            query.limit.unwrap_or(100),
        )
        .await?;
    Ok(axum::Json(
        subscribers
            .iter()
            .map(hereby_app::subscribers::wire)
            .collect(),
    ))
}

/// `DELETE /api/v1/status-subscribers/{subscriber}` (admins): removes a subscriber outright.
#[utoipa::path(
    delete,
    path = "/api/v1/status-subscribers/{subscriber}",
    tag = "status page",
    security(("bearer" = [])),
    params(("subscriber" = i64, Path, description = "The subscriber")),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "No valid token", body = api::ErrorBody),
        (status = 403, description = "Not an admin", body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
    )
)]
pub(crate) async fn remove_subscriber<
    S: Store + Directory + Communications + hereby_store::Notifications,
>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(hereby_core::types::InstallationRole::Admin)?;
    let id = raw
        .parse::<i64>()
        .map_err(|_| ApiError::not_found(format!("subscriber `{raw}`")))?;
    state.app.remove_status_subscriber(&caller.0, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
