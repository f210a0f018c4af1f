//! The web UI: server-rendered pages from auto-escaping templates, enhanced with htmx and
//! Server-Sent Events, signed in with a password and a session cookie. Every page obeys the
//! same permission and visibility rules as the API, because every incident it shows or
//! changes goes through [`crate::extract::Caller`].

mod account;
mod actions;
mod alerts;
mod assets;
mod form;
mod insights;
mod judgement;
mod live;
mod maintenance;
mod pages;
mod postmortems;
mod reviews;
mod search;
mod session;
mod settings;
mod throttle;
mod users;
mod view;

use axum::http::{Method, StatusCode};
use axum::response::Response;
use axum::routing::MethodRouter;
use hereby_store::{Blobs, Directory, Store};

use crate::AppState;
use crate::error::ApiError;
pub use crate::html::PageError;
pub(crate) use crate::html::page;
pub(crate) use crate::html::render;

pub use session::{SETUP_LINK_TTL, new_setup_link};

/// Runs a command from a page's form on the incident `raw_id` names, through the application
/// layer with the viewer's visibility and permission; `expected_version` when the form was
/// filled in against a version that must still be current.
pub(crate) async fn act<S: Store + hereby_store::Directory>(
    state: &AppState<S>,
    caller: &crate::extract::Caller,
    raw_id: &str,
    expected_version: Option<u64>,
    command: hereby_core::Command,
) -> Result<hereby_app::Outcome, ApiError> {
    let incident = crate::extract::incident_id(raw_id)?;
    Ok(state
        .app
        .act(&caller.0, incident, expected_version, command)
        .await?)
}

/// Loads an incident the viewer may see; to anyone else it does not exist.
pub(crate) async fn visible<S: Store>(
    state: &AppState<S>,
    caller: &crate::extract::Caller,
    incident: hereby_core::types::IncidentNumber,
) -> Result<hereby_store::Loaded, ApiError> {
    Ok(state.app.visible(&caller.0, incident).await?)
}

/// What the web pages share: the cache of rendered timelines, the sign-in throttle and
/// recently seen sessions. (The templates are compiled into the binary and shared by all.)
#[derive(Debug, Clone, Default)]
pub struct Web {
    pub(crate) views: view::ViewCache,
    pub(crate) throttle: throttle::Throttle,
    /// Reverse proxies whose `X-Forwarded-For` names the client (for the sign-in throttle).
    pub trusted_proxies: Vec<std::net::IpAddr>,
    pub(crate) sessions: crate::extract::SessionCache,
    /// The enabled users' names the forms offer, kept for a few seconds.
    pub(crate) people: pages::PeopleCache,
    /// Mark session cookies `Secure` even without `X-Forwarded-Proto: https` (set when the
    /// public URL is https).
    pub secure_cookies: bool,
}

/// The web routes, like the API's one table of method, path and handler.
pub(crate) fn routes<
    S: Store
        + Directory
        + Backup
        + Blobs
        + hereby_store::Communications
        + hereby_store::Notifications
        + hereby_store::Alerts
        + hereby_store::Search
        + hereby_store::Chat
        + hereby_store::Search,
>() -> Vec<(Method, &'static str, MethodRouter<AppState<S>>)> {
    use axum::routing::{get, post};
    let mut routes = vec![
        (Method::GET, "/", get(pages::dashboard::<S>)),
        (
            Method::GET,
            "/fragments/dashboard",
            get(pages::dashboard_fragment::<S>),
        ),
        (Method::GET, "/live", get(live::everything::<S>)),
        (Method::GET, "/alerts", get(alerts::page::<S>)),
        (Method::GET, "/fragments/alerts", get(alerts::fragment::<S>)),
        (Method::GET, "/alerts/live", get(alerts::live::<S>)),
        (
            Method::POST,
            "/alerts/{id}/{action}",
            post(alerts::act::<S>),
        ),
        (Method::GET, "/login", get(session::login_form)),
        (Method::POST, "/login", post(session::login::<S>)),
        (Method::POST, "/logout", post(session::logout::<S>)),
        (
            Method::GET,
            "/setup/{secret}",
            get(session::setup_form::<S>),
        ),
        (Method::POST, "/setup/{secret}", post(session::setup::<S>)),
        (Method::GET, "/assets/{file}", get(assets::asset)),
        (Method::GET, "/incidents", get(pages::list::<S>)),
        (Method::GET, "/search", get(search::page::<S>)),
        (Method::GET, "/insights", get(insights::page::<S>)),
        (Method::GET, "/postmortems", get(postmortems::library::<S>)),
        (Method::GET, "/insights.csv", get(insights::csv::<S>)),
        (Method::GET, "/incidents/new", get(pages::declare_form::<S>)),
        (Method::GET, "/services", get(judgement::services_page::<S>)),
        (Method::POST, "/services", post(judgement::put_service::<S>)),
        (Method::POST, "/incidents", post(actions::declare::<S>)),
        (Method::GET, "/incidents/{id}", get(pages::incident::<S>)),
        (
            Method::GET,
            "/incidents/{id}/state",
            get(pages::incident_state::<S>),
        ),
        (
            Method::GET,
            "/incidents/{id}/timeline",
            get(pages::older_entries::<S>),
        ),
        (
            Method::GET,
            "/incidents/{id}/live",
            get(live::incident::<S>),
        ),
        (
            Method::POST,
            "/incidents/{id}/attachments",
            post(actions::attach::<S>).layer(axum::extract::DefaultBodyLimit::disable()),
        ),
        (
            Method::GET,
            "/incidents/{id}/attachments/{sha256}",
            get(actions::download::<S>),
        ),
        (
            Method::POST,
            "/incidents/{id}/{action}",
            post(actions::act_on_incident::<S>),
        ),
        (
            Method::GET,
            "/incidents/{id}/postmortem",
            get(postmortems::page::<S>),
        ),
        (
            Method::POST,
            "/incidents/{id}/postmortem/draft",
            post(postmortems::draft::<S>),
        ),
        (
            Method::GET,
            "/incidents/{id}/postmortem/edit",
            get(postmortems::edit_form::<S>),
        ),
        (
            Method::POST,
            "/incidents/{id}/postmortem/edit",
            post(postmortems::save::<S>).layer(axum::extract::DefaultBodyLimit::max(
                hereby_app::postmortem::MAX_REQUEST,
            )),
        ),
        (
            Method::GET,
            "/incidents/{id}/postmortem/diff",
            get(postmortems::diff::<S>),
        ),
        (
            Method::POST,
            "/incidents/{id}/postmortem/{step}",
            post(postmortems::step::<S>),
        ),
        (
            Method::GET,
            "/incidents/{id}/reviews",
            get(reviews::page::<S>),
        ),
        (
            Method::POST,
            "/incidents/{id}/reviews/schedule",
            post(reviews::schedule::<S>),
        ),
        (
            Method::POST,
            "/incidents/{id}/reviews/record",
            post(reviews::record::<S>),
        ),
        (
            Method::GET,
            "/incidents/{id}/reviews/next.ics",
            get(reviews::invitation::<S>),
        ),
        (Method::GET, "/reviews", get(reviews::overview::<S>)),
        (Method::GET, "/maintenance", get(maintenance::page::<S>)),
        (
            Method::POST,
            "/maintenance",
            post(maintenance::schedule::<S>),
        ),
        (
            Method::POST,
            "/maintenance/{id}",
            post(maintenance::change::<S>),
        ),
        (Method::GET, "/account", get(account::account_page::<S>)),
        (Method::POST, "/account/chat", post(account::change::<S>)),
        (Method::POST, "/account/hours", post(account::hours::<S>)),
        (Method::GET, "/users", get(users::users_page::<S>)),
        (Method::POST, "/users", post(users::add_user::<S>)),
        (Method::POST, "/users/{name}", post(users::change_user::<S>)),
        (Method::GET, "/settings", get(settings::settings_page::<S>)),
        (
            Method::POST,
            "/settings/{kind}/{name}",
            post(settings::change::<S>),
        ),
    ];
    for (path, format) in postmortems::EXPORTS {
        routes.push((
            Method::GET,
            path,
            get(
                move |state: axum::extract::State<AppState<S>>,
                      viewer: session::Viewer,
                      id: axum::extract::Path<String>| {
                    postmortems::export::<S>(state, viewer, id, format)
                },
            ),
        ));
    }
    routes
}

use hereby_store::Backup;

/// A timeline entry as the incident page shows it, for the live stream.
pub(crate) fn entry_html(
    recorded: &hereby_store::RecordedEvent,
) -> Result<String, minijinja::Error> {
    render::entry(recorded, &recorded.incident.to_string())
}

/// The page for an address that leads nowhere.
pub(crate) fn not_found() -> PageError {
    PageError::not_found()
}

/// Renders a template into a page.
pub(crate) fn show(
    status: StatusCode,
    template: &str,
    context: minijinja::Value,
) -> Result<Response, PageError> {
    let body = render::templates()
        .get_template(template)?
        .render(context)?;
    Ok(page(status, body))
}

pub(crate) fn bad_query(error: axum::extract::rejection::QueryRejection) -> PageError {
    PageError::new(
        StatusCode::BAD_REQUEST,
        format!(
            "The address has a parameter this page does not understand: {}",
            error.body_text()
        ),
    )
}

/// A required field, or a sentence naming it.
pub(crate) fn required<'a>(
    fields: &'a session::Fields,
    name: &'static str,
) -> Result<&'a str, ApiError> {
    fields.get(name).ok_or_else(|| {
        ApiError::from(hereby_core::types::InvalidValue {
            field: name,
            problem: "is required".into(),
        })
    })
}
