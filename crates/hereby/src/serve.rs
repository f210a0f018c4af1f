//! `hereby serve`: the HTTP server. Today it opens the database and answers the health checks
//! that load balancers and orchestrators poll; the API and web UI are added to this router.

use std::net::SocketAddr;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json};
use axum::routing::get;
use hereby_store::{ListQuery, Store};
use serde_json::json;

use crate::any_store::AnyStore;

/// Builds the application router, apart from serving it, so tests can drive it directly.
pub(crate) fn app(store: AnyStore) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(store)
}

/// The process is up.
async fn healthz() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

/// The process can serve requests: its database answers.
async fn readyz(State(store): State<AnyStore>) -> impl IntoResponse {
    match store
        .list_incidents(&ListQuery {
            limit: 1,
            before: None,
        })
        .await
    {
        Ok(_) => (StatusCode::OK, Json(json!({ "status": "ready" }))),
        Err(error) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(
                json!({ "error": { "code": "database_unavailable", "message": error.to_string() } }),
            ),
        ),
    }
}

/// Serves until SIGINT or SIGTERM, then lets in-flight requests finish.
pub(crate) async fn serve(store: AnyStore, listen: SocketAddr) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
    let address = listener.local_addr()?;
    eprintln!("hereby is listening on http://{address} (health: /healthz, readiness: /readyz)");
    axum::serve(listener, app(store))
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    eprintln!("hereby stopped");
    Ok(())
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = interrupt => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
