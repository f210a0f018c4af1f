//! The web UI: server-rendered pages from auto-escaping templates, enhanced with htmx and
//! Server-Sent Events, signed in with a password and a session cookie. Every page obeys the
//! same permission and visibility rules as the API, because every incident it shows or
//! changes goes through [`crate::extract::Caller`].

mod actions;
mod assets;
mod judgement;
mod live;
mod pages;
mod postmortems;
pub(crate) mod render;
mod reviews;
mod session;
mod settings;
mod users;
mod view;

use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::MethodRouter;
use hereby_store::{Blobs, Directory, Store};

use crate::AppState;
use crate::error::ApiError;

pub use session::{SETUP_LINK_TTL, new_setup_link};

/// What the web pages share: the cache of rendered timelines, the sign-in throttle and
/// recently seen sessions. (The templates are compiled into the binary and shared by all.)
#[derive(Debug, Clone, Default)]
pub struct Web {
    pub(crate) views: view::ViewCache,
    pub(crate) throttle: session::Throttle,
    pub(crate) sessions: crate::extract::SessionCache,
    /// The names of the message templates, for the incident page's update form.
    pub(crate) template_names: TemplateNames,
    /// Mark session cookies `Secure` even without `X-Forwarded-Proto: https` (set when the
    /// public URL is https).
    pub secure_cookies: bool,
}

/// The message templates' names, kept for a few seconds so that the incident page, which
/// offers them on every view, reads them from memory. Changes through this server clear it;
/// other nodes' changes show within [`TemplateNames::TTL`].
#[derive(Debug, Clone, Default)]
pub(crate) struct TemplateNames(std::sync::Arc<std::sync::RwLock<Option<KeptNames>>>);

/// When the names were read, and the names.
type KeptNames = (std::time::Instant, std::sync::Arc<Vec<String>>);

impl TemplateNames {
    const TTL: std::time::Duration = std::time::Duration::from_secs(5);

    /// The names, read from the store when the kept ones are missing or too old.
    pub(crate) async fn get<S: hereby_store::Communications>(
        &self,
        store: &S,
    ) -> Result<std::sync::Arc<Vec<String>>, ApiError> {
        if let Ok(kept) = self.0.read()
            && let Some((at, names)) = kept.as_ref()
            && at.elapsed() < Self::TTL
        {
            return Ok(names.clone());
        }
        let names: Vec<String> = crate::messages::effective(store.list_templates().await?)
            .into_iter()
            .map(|template| template.name)
            .collect();
        let names = std::sync::Arc::new(names);
        if let Ok(mut kept) = self.0.write() {
            *kept = Some((std::time::Instant::now(), names.clone()));
        }
        Ok(names)
    }

    /// Forgets the kept names, after a template changed.
    pub(crate) fn clear(&self) {
        if let Ok(mut kept) = self.0.write() {
            *kept = None;
        }
    }
}

/// The web routes, like [`crate::routes`] one table of method, path and handler.
pub(crate) fn routes<
    S: Store + Directory + Backup + Blobs + hereby_store::Communications + hereby_store::Notifications,
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
                crate::postmortem::MAX_REQUEST,
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
    for (path, query) in postmortems::EXPORTS {
        routes.push((
            Method::GET,
            path,
            get(
                move |state: axum::extract::State<AppState<S>>,
                      viewer: session::Viewer,
                      id: axum::extract::Path<String>| {
                    postmortems::export::<S>(state, viewer, id, query)
                },
            ),
        ));
    }
    routes
}

use hereby_store::Backup;

/// Headers every page carries: no framing, no sniffing, scripts only from this server.
pub(crate) fn harden(response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}

/// A page that could not be shown: a status and a sentence for the person reading it.
#[derive(Debug)]
pub struct PageError {
    status: StatusCode,
    message: String,
}

impl PageError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    pub(crate) fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "There is nothing here: the page does not exist, or you may not see it.",
        )
    }
}

impl From<ApiError> for PageError {
    fn from(error: ApiError) -> Self {
        if error.status == StatusCode::NOT_FOUND {
            return Self::not_found();
        }
        Self::new(error.status, error.message)
    }
}

impl From<minijinja::Error> for PageError {
    fn from(error: minijinja::Error) -> Self {
        tracing::error!(%error, "a page template failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "This page could not be drawn. The error is in the server log.",
        )
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let title = self.status.canonical_reason().unwrap_or("Error").to_owned();
        let body = render::templates()
            .get_template("error.html")
            .and_then(|template| {
                template.render(minijinja::context! {
                    title => &title,
                    message => &self.message,
                    status => self.status.as_u16(),
                })
            })
            .unwrap_or_else(|_| {
                format!(
                    "<!doctype html><title>{}</title><p>{}</p>",
                    render::escape(&title),
                    render::escape(&self.message)
                )
            });
        let mut response = (self.status, Html(body)).into_response();
        harden(&mut response);
        response
    }
}

/// An HTML page with the hardening headers.
pub(crate) fn page(status: StatusCode, body: String) -> Response {
    let mut response = (status, Html(body)).into_response();
    harden(&mut response);
    response
}

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
