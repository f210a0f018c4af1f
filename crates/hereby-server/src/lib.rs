//! The hereby HTTP server: the JSON API under `/api/v1`, authentication by bearer token,
//! the visibility rules for restricted incidents, and health checks. Built apart from serving
//! it ([`app`] and [`serve`]), so tests drive the same router the binary serves.

mod convert;
pub mod error;
pub mod extract;
mod routes;
pub mod tokens;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, patch, post, put};
use hereby_core::RoleCatalogue;
use hereby_store::{Directory, Store};

/// What every handler can reach.
#[derive(Debug)]
pub struct AppState<S> {
    pub store: S,
    pub roles: Arc<RoleCatalogue>,
}

impl<S: Clone> Clone for AppState<S> {
    fn clone(&self) -> Self {
        Self {
            store: self.store.clone(),
            roles: self.roles.clone(),
        }
    }
}

/// The largest request body accepted, except attachments (which have their own limit).
pub const MAX_BODY: usize = 256 * 1024;

/// The application router.
pub fn app<S: Store + Directory>(state: AppState<S>) -> Router {
    use routes::{health, incidents, users};
    let api = Router::new()
        .route(
            "/incidents",
            post(incidents::declare_incident::<S>).get(incidents::list_incidents::<S>),
        )
        .route("/incidents/{id}", get(incidents::show_incident::<S>))
        .route("/incidents/{id}/timeline", get(incidents::timeline::<S>))
        .route("/incidents/{id}/notes", post(incidents::add_note::<S>))
        .route("/incidents/{id}/roles", post(incidents::assign_role::<S>))
        .route(
            "/incidents/{id}/roles/{role}/{person}",
            delete(incidents::unassign_role::<S>),
        )
        .route("/incidents/{id}/handoff", post(incidents::request_handoff::<S>))
        .route("/incidents/{id}/handoff/accept", post(incidents::accept_handoff::<S>))
        .route("/incidents/{id}/handoff/decline", post(incidents::decline_handoff::<S>))
        .route("/incidents/{id}/handoff/cancel", post(incidents::cancel_handoff::<S>))
        .route("/incidents/{id}/severity", post(incidents::change_severity::<S>))
        .route("/incidents/{id}/status", post(incidents::change_status::<S>))
        .route("/incidents/{id}/resolve", post(incidents::resolve::<S>))
        .route("/incidents/{id}/call-off", post(incidents::call_off::<S>))
        .route("/incidents/{id}/hand-back", post(incidents::hand_back::<S>))
        .route("/incidents/{id}/impact", put(incidents::set_impact::<S>))
        .route("/incidents/{id}/operations", post(incidents::record_operation::<S>))
        .route("/incidents/{id}/links", post(incidents::add_link::<S>))
        .route("/incidents/{id}/action-items", post(incidents::add_action_item::<S>))
        .route(
            "/incidents/{id}/action-items/{item}",
            patch(incidents::update_action_item::<S>),
        )
        .route(
            "/incidents/{id}/action-items/{item}/done",
            post(incidents::complete_action_item::<S>),
        )
        .route(
            "/incidents/{id}/action-items/{item}/wont-fix",
            post(incidents::wont_fix_action_item::<S>),
        )
        .route(
            "/incidents/{id}/action-items/{item}/reopen",
            post(incidents::reopen_action_item::<S>),
        )
        .route("/incidents/{id}/members", post(incidents::add_member::<S>))
        .route(
            "/incidents/{id}/members/{person}",
            delete(incidents::remove_member::<S>),
        )
        .route("/me", get(users::me))
        .route("/users", get(users::list_users::<S>).post(users::create_user::<S>))
        .route("/users/{name}", patch(users::update_user::<S>))
        .route("/tokens", get(users::list_tokens::<S>).post(users::create_token::<S>))
        .route("/tokens/{id}", delete(users::revoke_token::<S>))
        .fallback(|| async { error::ApiError::not_found("this API route") });
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz::<S>))
        .nest("/api/v1", api)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state)
}

/// Serves `app` on `listener` until `shutdown` completes, then lets in-flight requests finish.
pub async fn serve<S: Store + Directory>(
    listener: tokio::net::TcpListener,
    state: AppState<S>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown)
        .await
}
