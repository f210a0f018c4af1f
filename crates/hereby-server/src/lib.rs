//! The hereby HTTP server: the JSON API under `/api/v1`, authentication by bearer token,
//! the visibility rules for restricted incidents, and health checks. Built apart from serving
//! it ([`app`] and [`serve`]), so tests drive the same router the binary serves.

pub mod chat;
mod convert;
pub mod error;
pub mod extract;
mod html;
mod ingest;
mod listen;
pub mod notify;
mod observe;
pub mod openapi;
pub mod passwords;
mod routes;
mod sse;
pub mod status;
pub mod tokens;
pub mod web;

pub use ingest::{AlertTimers, start_alert_timers};
pub use listen::ConnectionLimits;
pub use observe::MetricsAccess;

use std::future::Future;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::Method;
use axum::response::IntoResponse;
use axum::routing::MethodRouter;
use hereby_core::Policy;
use hereby_store::{Alerts, Backup, Blobs, Chat, Communications, Directory, Notifications, Store};

/// What every handler can reach: the application (store, policies, event feed) and what
/// the HTTP edges keep of their own.
#[derive(Debug)]
pub struct AppState<S> {
    pub app: hereby_app::App<S>,
    /// The largest attachment accepted, in bytes.
    pub max_attachment_bytes: usize,
    /// Recently authenticated tokens.
    pub(crate) sessions: extract::SessionCache,
    /// What the web pages share.
    pub web: web::Web,
    /// The public status page and its snapshot.
    pub status: status::StatusPage,
    /// Who may read `/metrics`.
    pub metrics_access: observe::MetricsAccess,
    /// How the chat adapters are doing.
    pub chat: chat::ChatHealth,
}

impl<S: Store> AppState<S> {
    pub fn new(store: S, policy: Policy) -> Self {
        Self {
            app: hereby_app::App::new(store, policy),
            max_attachment_bytes: DEFAULT_MAX_ATTACHMENT,
            sessions: extract::SessionCache::default(),
            web: web::Web::default(),
            status: status::StatusPage::default(),
            metrics_access: observe::MetricsAccess::default(),
            chat: chat::ChatHealth::default(),
        }
    }
}

/// Handlers read the application's parts directly (`state.store`, `state.policy`): the
/// server's state is the application plus the edges' own parts.
impl<S> std::ops::Deref for AppState<S> {
    type Target = hereby_app::App<S>;

    fn deref(&self) -> &Self::Target {
        &self.app
    }
}

impl<S: Clone> Clone for AppState<S> {
    fn clone(&self) -> Self {
        Self {
            app: self.app.clone(),
            max_attachment_bytes: self.max_attachment_bytes,
            sessions: self.sessions.clone(),
            web: self.web.clone(),
            status: self.status.clone(),
            metrics_access: self.metrics_access.clone(),
            chat: self.chat.clone(),
        }
    }
}

/// The default largest attachment: 25 MiB.
pub const DEFAULT_MAX_ATTACHMENT: usize = 25 * 1024 * 1024;

/// The largest request body accepted, except attachments (which have their own limit).
pub const MAX_BODY: usize = 256 * 1024;

/// Every route the server serves: method, path and handler, in one table. The router is
/// built from it, and a test checks it against the OpenAPI document both ways.
pub fn routes<
    S: Store
        + Directory
        + Backup
        + Blobs
        + Communications
        + Notifications
        + Alerts
        + Chat
        + hereby_store::Search,
>() -> Vec<(Method, &'static str, MethodRouter<AppState<S>>)> {
    use axum::routing::{delete, get, patch, post, put};
    use routes::{
        alerts as al, attachments, chat as ch, data, decisions as d, health, incidents as i, live,
        maintenance, notifications as n, postmortems as pm, reviews as rv, services as sv,
        settings as st, templates, trackers as tr, users as u,
    };
    vec![
        (Method::GET, "/healthz", get(health::healthz)),
        (Method::GET, "/readyz", get(health::readyz::<S>)),
        (Method::GET, "/metrics", get(observe::metrics::<S>)),
        (
            Method::GET,
            "/api/v1/openapi.json",
            get(openapi::openapi_json),
        ),
        (
            Method::POST,
            "/api/v1/incidents",
            post(i::declare_incident::<S>),
        ),
        (
            Method::GET,
            "/api/v1/incidents",
            get(i::list_incidents::<S>),
        ),
        (
            Method::GET,
            "/api/v1/search",
            get(routes::search::search::<S>),
        ),
        (
            Method::GET,
            "/api/v1/insights",
            get(routes::insights::insights::<S>),
        ),
        (
            Method::GET,
            "/api/v1/incidents/{id}",
            get(i::show_incident::<S>),
        ),
        (
            Method::GET,
            "/api/v1/incidents/{id}/timeline",
            get(i::timeline::<S>),
        ),
        (
            Method::POST,
            "/api/v1/incidents/{id}/notes",
            post(i::add_note::<S>),
        ),
        (
            Method::POST,
            "/api/v1/incidents/{id}/updates",
            post(i::post_update::<S>),
        ),
        (
            Method::PUT,
            "/api/v1/incidents/{id}/public-summary",
            put(i::set_public_summary::<S>),
        ),
        (
            Method::POST,
            "/api/v1/incidents/{id}/visibility",
            post(i::change_visibility::<S>),
        ),
        (
            Method::POST,
            "/api/v1/incidents/{id}/roles",
            post(i::assign_role::<S>),
        ),
        (
            Method::DELETE,
            "/api/v1/incidents/{id}/roles/{role}/{person}",
            delete(i::unassign_role::<S>),
        ),
        (
            Method::POST,
            "/api/v1/incidents/{id}/handoff",
            post(i::request_handoff::<S>),
        ),
        (
            Method::POST,
            "/api/v1/incidents/{id}/handoff/accept",
            post(i::accept_handoff::<S>),
        ),
        (
            Method::POST,
            "/api/v1/incidents/{id}/handoff/decline",
            post(i::decline_handoff::<S>),
        ),
        (
            Method::POST,
            "/api/v1/incidents/{id}/take-command",
            post(i::take_command::<S>),
        ),
        (
            Method::POST,
            "/api/v1/incidents/{id}/triage/accept",
            post(i::accept_candidate::<S>),
        ),
        (
            Method::POST,
            "/api/v1/incidents/{id}/triage/decline",
            post(i::decline_candidate::<S>),
        ),
        (
            Method::POST,
            "/api/v1/incidents/{id}/triage/merge",
            post(i::merge_candidate::<S>),
        ),
        (
            Method::POST,
            "/api/v1/incidents/{id}/handoff/cancel",
            post(i::cancel_handoff::<S>),
        ),
        (
            Method::POST,
            "/api/v1/incidents/{id}/severity",
            post(i::change_severity::<S>),
        ),
        (
            Method::POST,
            "/api/v1/incidents/{id}/status",
            post(i::change_status::<S>),
        ),
        (
            Method::POST,
            "/api/v1/incidents/{id}/resolve",
            post(i::resolve::<S>),
        ),
        (
            Method::POST,
            "/api/v1/incidents/{id}/call-off",
            post(i::call_off::<S>),
        ),
        (
            Method::POST,
            "/api/v1/incidents/{id}/hand-back",
            post(i::hand_back::<S>),
        ),
        (
            Method::PUT,
            "/api/v1/incidents/{id}/impact",
            put(i::set_impact::<S>),
        ),
        (
            Method::POST,
            "/api/v1/incidents/{id}/milestones",
            post(i::set_milestone::<S>),
        ),
        (
            Method::POST,
            "/api/v1/incidents/{id}/operations",
            post(i::record_operation::<S>),
        ),
        (
            Method::POST,
            "/api/v1/incidents/{id}/links",
            post(i::add_link::<S>),
        ),
        (
            Method::POST,
            "/api/v1/incidents/{id}/action-items",
            post(i::add_action_item::<S>),
        ),
        (
            Method::PATCH,
            "/api/v1/incidents/{id}/action-items/{item}",
            patch(i::update_action_item::<S>),
        ),
        (
            Method::POST,
            "/api/v1/incidents/{id}/action-items/{item}/done",
            post(i::complete_action_item::<S>),
        ),
        (
            Method::POST,
            "/api/v1/incidents/{id}/action-items/{item}/wont-fix",
            post(i::wont_fix_action_item::<S>),
        ),
        (
            Method::POST,
            "/api/v1/incidents/{id}/action-items/{item}/reopen",
            post(i::reopen_action_item::<S>),
        ),
        (
            Method::POST,
            "/api/v1/incidents/{id}/action-items/{item}/export",
            post(tr::export_action_item::<S>),
        ),
        (
            Method::POST,
            "/api/v1/incidents/{id}/action-items/{item}/unlink",
            post(tr::unlink_action_item::<S>),
        ),
        (
            Method::GET,
            "/api/v1/incidents/{id}/tracked-items",
            get(tr::list_tracked_items::<S>),
        ),
        (
            Method::POST,
            "/api/v1/incidents/{id}/members",
            post(i::add_member::<S>),
        ),
        (
            Method::DELETE,
            "/api/v1/incidents/{id}/members/{person}",
            delete(i::remove_member::<S>),
        ),
        (
            Method::POST,
            "/api/v1/incidents/{id}/evaluation",
            post(d::evaluate::<S>),
        ),
        (
            Method::GET,
            "/api/v1/incidents/{id}/releases",
            get(d::incident_releases::<S>),
        ),
        (
            Method::POST,
            "/api/v1/incidents/{id}/suspect-release",
            post(d::set_suspect::<S>),
        ),
        (
            Method::GET,
            "/api/v1/incidents/{id}/ladder",
            get(d::show_ladder::<S>),
        ),
        (
            Method::POST,
            "/api/v1/incidents/{id}/decisions",
            post(d::record_decision::<S>),
        ),
        (
            Method::POST,
            "/api/v1/incidents/{id}/intents",
            post(d::announce_intent::<S>),
        ),
        (
            Method::POST,
            "/api/v1/incidents/{id}/intents/{intent}/done",
            post(d::complete_intent::<S>),
        ),
        (
            Method::POST,
            "/api/v1/incidents/{id}/intents/{intent}/abandon",
            post(d::abandon_intent::<S>),
        ),
        (
            Method::PUT,
            "/api/v1/incidents/{id}/witness-rule",
            put(d::set_witness_rule::<S>),
        ),
        (
            Method::POST,
            "/api/v1/incidents/{id}/changes/acknowledge",
            post(d::acknowledge_changes::<S>),
        ),
        (Method::GET, "/api/v1/settings", get(st::list_kinds::<S>)),
        (
            Method::GET,
            "/api/v1/settings/{kind}",
            get(st::list_settings::<S>),
        ),
        (
            Method::GET,
            "/api/v1/settings/{kind}/{name}",
            get(st::show_setting::<S>),
        ),
        (
            Method::PUT,
            "/api/v1/settings/{kind}/{name}",
            put(st::put_setting::<S>),
        ),
        (
            Method::DELETE,
            "/api/v1/settings/{kind}/{name}",
            delete(st::remove_setting::<S>),
        ),
        (Method::GET, "/api/v1/services", get(sv::list_services::<S>)),
        (
            Method::POST,
            "/api/v1/services/import",
            post(sv::import_services::<S>),
        ),
        (
            Method::GET,
            "/api/v1/services/{name}",
            get(sv::show_service::<S>),
        ),
        (
            Method::PUT,
            "/api/v1/services/{name}",
            put(sv::put_service::<S>),
        ),
        (
            Method::DELETE,
            "/api/v1/services/{name}",
            delete(sv::remove_service::<S>),
        ),
        (
            Method::POST,
            "/api/v1/releases",
            post(sv::record_release::<S>),
        ),
        (Method::GET, "/api/v1/releases", get(sv::list_releases::<S>)),
        (
            Method::GET,
            "/api/v1/severity-rules",
            get(sv::severity_rules::<S>),
        ),
        (
            Method::GET,
            "/api/v1/permissions",
            get(sv::permissions::<S>),
        ),
        (Method::GET, "/api/v1/events", get(live::all_events::<S>)),
        (
            Method::GET,
            "/api/v1/incidents/{id}/events",
            get(live::incident_events::<S>),
        ),
        (
            Method::POST,
            "/api/v1/incidents/{id}/attachments",
            post(attachments::upload::<S>).layer(DefaultBodyLimit::disable()),
        ),
        (
            Method::GET,
            "/api/v1/incidents/{id}/attachments",
            get(attachments::list::<S>),
        ),
        (
            Method::GET,
            "/api/v1/incidents/{id}/attachments/{sha256}",
            get(attachments::download::<S>),
        ),
        (Method::GET, "/api/v1/export", get(data::export::<S>)),
        (
            Method::GET,
            "/api/v1/verify",
            get(data::verify_everything::<S>),
        ),
        (
            Method::GET,
            "/api/v1/incidents/{id}/verify",
            get(data::verify::<S>),
        ),
        (Method::POST, "/api/v1/backup", post(data::backup::<S>)),
        (
            Method::GET,
            "/api/v1/components",
            get(status::list_components::<S>),
        ),
        (
            Method::PUT,
            "/api/v1/components/{name}",
            put(status::put_component::<S>),
        ),
        (
            Method::DELETE,
            "/api/v1/components/{name}",
            delete(status::remove_component::<S>),
        ),
        (
            Method::GET,
            "/api/v1/status-page",
            get(status::show_page_settings::<S>),
        ),
        (
            Method::PUT,
            "/api/v1/status-page",
            put(status::put_page_settings::<S>),
        ),
        (
            Method::GET,
            "/api/v1/status-subscribers",
            get(status::list_subscribers::<S>),
        ),
        (
            Method::DELETE,
            "/api/v1/status-subscribers/{subscriber}",
            delete(status::remove_subscriber::<S>),
        ),
        (
            Method::GET,
            "/api/v1/maintenances",
            get(maintenance::list_maintenances::<S>),
        ),
        (
            Method::POST,
            "/api/v1/maintenances",
            post(maintenance::schedule_maintenance::<S>),
        ),
        (
            Method::GET,
            "/api/v1/maintenances/{maintenance}",
            get(maintenance::show_maintenance::<S>),
        ),
        (
            Method::PUT,
            "/api/v1/maintenances/{maintenance}",
            put(maintenance::replan_maintenance::<S>),
        ),
        (
            Method::DELETE,
            "/api/v1/maintenances/{maintenance}",
            delete(maintenance::remove_maintenance::<S>),
        ),
        (
            Method::POST,
            "/api/v1/maintenances/{maintenance}/updates",
            post(maintenance::post_maintenance_update::<S>),
        ),
        (
            Method::GET,
            "/api/v1/templates",
            get(templates::list_templates::<S>),
        ),
        (
            Method::GET,
            "/api/v1/templates/{name}",
            get(templates::show_template::<S>),
        ),
        (
            Method::PUT,
            "/api/v1/templates/{name}",
            put(templates::put_template::<S>),
        ),
        (
            Method::DELETE,
            "/api/v1/templates/{name}",
            delete(templates::remove_template::<S>),
        ),
        (
            Method::GET,
            "/api/v1/incidents/{id}/messages/{template}",
            get(templates::preview::<S>),
        ),
        (
            Method::POST,
            "/api/v1/incidents/{id}/postmortem",
            post(pm::draft::<S>),
        ),
        (
            Method::GET,
            "/api/v1/incidents/{id}/postmortem",
            get(pm::show::<S>),
        ),
        (
            Method::PUT,
            "/api/v1/incidents/{id}/postmortem",
            put(pm::revise::<S>).layer(DefaultBodyLimit::max(hereby_app::postmortem::MAX_REQUEST)),
        ),
        (
            Method::POST,
            "/api/v1/incidents/{id}/postmortem/timeline",
            post(pm::refresh_timeline::<S>),
        ),
        (
            Method::PUT,
            "/api/v1/incidents/{id}/postmortem/owner",
            put(pm::delegate::<S>),
        ),
        (
            Method::POST,
            "/api/v1/incidents/{id}/postmortem/submit",
            post(pm::submit::<S>),
        ),
        (
            Method::POST,
            "/api/v1/incidents/{id}/postmortem/approve",
            post(pm::approve::<S>),
        ),
        (
            Method::POST,
            "/api/v1/incidents/{id}/postmortem/reviewed",
            post(pm::mark_reviewed::<S>),
        ),
        (
            Method::POST,
            "/api/v1/incidents/{id}/postmortem/publish",
            post(pm::publish::<S>),
        ),
        (
            Method::POST,
            "/api/v1/incidents/{id}/postmortem/comments",
            post(pm::comment::<S>),
        ),
        (
            Method::PUT,
            "/api/v1/incidents/{id}/postmortem/tags",
            put(pm::tag::<S>),
        ),
        (Method::GET, "/api/v1/postmortems", get(pm::library::<S>)),
        (
            Method::GET,
            "/api/v1/incidents/{id}/postmortem/revisions",
            get(pm::revisions::<S>),
        ),
        (
            Method::GET,
            "/api/v1/incidents/{id}/postmortem/diff",
            get(pm::diff::<S>),
        ),
        (
            Method::GET,
            "/api/v1/incidents/{id}/postmortem/lint",
            get(pm::lint_postmortem::<S>),
        ),
        (
            Method::GET,
            "/api/v1/incidents/{id}/postmortem/export",
            get(pm::export::<S>),
        ),
        (
            Method::PUT,
            "/api/v1/incidents/{id}/timeline/{sequence}/mark",
            put(pm::mark_entry::<S>),
        ),
        (
            Method::GET,
            "/api/v1/postmortem-templates",
            get(pm::list_templates::<S>),
        ),
        (
            Method::PUT,
            "/api/v1/postmortem-templates/{name}",
            put(pm::put_template::<S>),
        ),
        (
            Method::DELETE,
            "/api/v1/postmortem-templates/{name}",
            delete(pm::delete_template::<S>),
        ),
        (
            Method::GET,
            "/api/v1/blame-rules",
            get(pm::list_blame_rules::<S>),
        ),
        (
            Method::PUT,
            "/api/v1/blame-rules",
            put(pm::put_blame_rule::<S>),
        ),
        (
            Method::DELETE,
            "/api/v1/blame-rules",
            delete(pm::delete_blame_rule::<S>),
        ),
        (
            Method::GET,
            "/api/v1/incidents/{id}/reviews",
            get(rv::show::<S>),
        ),
        (
            Method::POST,
            "/api/v1/incidents/{id}/reviews",
            post(rv::record::<S>),
        ),
        (
            Method::PUT,
            "/api/v1/incidents/{id}/reviews/next",
            put(rv::schedule::<S>),
        ),
        (
            Method::GET,
            "/api/v1/incidents/{id}/reviews/next.ics",
            get(rv::next_ics::<S>),
        ),
        (Method::GET, "/api/v1/reviews", get(rv::overview::<S>)),
        (Method::GET, "/api/v1/me", get(u::me)),
        (Method::GET, "/api/v1/users", get(u::list_users::<S>)),
        (Method::POST, "/api/v1/users", post(u::create_user::<S>)),
        (
            Method::PATCH,
            "/api/v1/users/{name}",
            patch(u::update_user::<S>),
        ),
        (
            Method::PUT,
            "/api/v1/users/{name}/password",
            put(u::set_password::<S>),
        ),
        (
            Method::GET,
            "/api/v1/users/{name}/working-hours",
            get(u::working_hours::<S>),
        ),
        (
            Method::PUT,
            "/api/v1/users/{name}/working-hours",
            put(u::set_working_hours::<S>),
        ),
        (Method::GET, "/api/v1/tokens", get(u::list_tokens::<S>)),
        (Method::POST, "/api/v1/tokens", post(u::create_token::<S>)),
        (
            Method::DELETE,
            "/api/v1/tokens/{id}",
            delete(u::revoke_token::<S>),
        ),
        (
            Method::PUT,
            "/api/v1/users/{name}/email",
            put(n::set_email::<S>),
        ),
        (Method::GET, "/api/v1/channels", get(n::list_channels::<S>)),
        (
            Method::POST,
            "/api/v1/channels",
            post(n::create_channel::<S>),
        ),
        (
            Method::DELETE,
            "/api/v1/channels/{id}",
            delete(n::delete_channel::<S>),
        ),
        (
            Method::POST,
            "/api/v1/channels/{id}/test",
            post(n::test_channel::<S>),
        ),
        (
            Method::GET,
            "/api/v1/subscriptions",
            get(n::list_subscriptions::<S>),
        ),
        (
            Method::POST,
            "/api/v1/subscriptions",
            post(n::create_subscription::<S>),
        ),
        (
            Method::DELETE,
            "/api/v1/subscriptions/{id}",
            delete(n::delete_subscription::<S>),
        ),
        (
            Method::GET,
            "/api/v1/deliveries",
            get(n::list_deliveries::<S>),
        ),
        (
            Method::POST,
            "/api/v1/deliveries/{id}/retry",
            post(n::retry_delivery::<S>),
        ),
        (
            Method::POST,
            "/api/v1/integrations",
            post(al::add_integration::<S>),
        ),
        (
            Method::GET,
            "/api/v1/integrations",
            get(al::list_integrations::<S>),
        ),
        (
            Method::POST,
            "/api/v1/integrations/{name}/rotate",
            post(al::rotate_integration::<S>),
        ),
        (
            Method::DELETE,
            "/api/v1/integrations/{name}",
            delete(al::revoke_integration::<S>),
        ),
        (
            Method::GET,
            "/api/v1/alert-groups",
            get(al::list_groups::<S>),
        ),
        (
            Method::GET,
            "/api/v1/alert-groups/{id}",
            get(al::show_group::<S>),
        ),
        (
            Method::POST,
            "/api/v1/alert-groups/{id}/attach",
            post(al::attach_group::<S>),
        ),
        (
            Method::POST,
            "/api/v1/alert-groups/{id}/ack",
            post(al::acknowledge_group::<S>),
        ),
        (
            Method::POST,
            "/api/v1/alert-groups/{id}/silence",
            post(al::silence_group::<S>),
        ),
        (
            Method::POST,
            "/api/v1/chat/link-code",
            post(ch::link_code::<S>),
        ),
        (Method::GET, "/api/v1/chat/links", get(ch::list_links::<S>)),
        (Method::PUT, "/api/v1/chat/links", put(ch::put_link::<S>)),
        (
            Method::DELETE,
            "/api/v1/chat/links/{platform}/{chat_user}",
            delete(ch::remove_link::<S>),
        ),
    ]
}

/// The application router, built from [`routes`] (the API) and the web UI's table.
pub fn app<
    S: Store
        + Directory
        + Backup
        + Blobs
        + Communications
        + Notifications
        + Alerts
        + Chat
        + hereby_store::Search,
>(
    state: AppState<S>,
) -> Router {
    let mut by_path: Vec<(&'static str, MethodRouter<AppState<S>>)> = Vec::new();
    for (_, path, handler) in routes::<S>().into_iter().chain(web::routes::<S>()) {
        match by_path.iter_mut().find(|(known, _)| *known == path) {
            Some((_, existing)) => *existing = std::mem::take(existing).merge(handler),
            None => by_path.push((path, handler)),
        }
    }
    let router = by_path
        .into_iter()
        .fold(Router::new(), |router, (path, handler)| {
            router.route(path, handler)
        });
    observe::init();
    router
        .fallback(|uri: axum::http::Uri| async move {
            // People get a page; programs get the API's JSON error.
            if uri.path().starts_with("/api/") {
                error::ApiError::not_found("this route").into_response()
            } else {
                web::not_found().into_response()
            }
        })
        .method_not_allowed_fallback(|uri: axum::http::Uri| async move {
            let status = axum::http::StatusCode::METHOD_NOT_ALLOWED;
            if uri.path().starts_with("/api/") {
                error::ApiError::new(
                    status,
                    "method_not_allowed",
                    "this route does not accept that method",
                )
                .into_response()
            } else {
                html::PageError::new(status, "This address does not take that kind of request.")
                    .into_response()
            }
        })
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::from_fn(error::json_errors))
        .layer(axum::middleware::from_fn(observe::track))
        .with_state(state.clone())
        .merge(status::public_routes(&state))
        .merge(ingest::routes(&state))
        .merge(chat::routes(&state))
}

/// Serves `app` on `listener` until `shutdown` completes, then lets in-flight requests finish;
/// `limits` bound what one connection and one client address may hold.
pub async fn serve<
    S: Store
        + Directory
        + Backup
        + Blobs
        + Communications
        + Notifications
        + Alerts
        + Chat
        + hereby_store::Search,
>(
    listener: tokio::net::TcpListener,
    mut state: AppState<S>,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    state.web.trusted_proxies = limits.trusted_proxies.clone();
    // The feed reads the log from now on, so the status page and the first live stream find
    // it running.
    state.app.start_feed();
    listen::serve(listener, app(state), limits, shutdown).await
}
