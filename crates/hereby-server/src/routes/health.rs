//! `/healthz` (the process is up) and `/readyz` (its database answers).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use hereby_store::{Directory, ListQuery, Store};
use serde_json::json;

use crate::AppState;

#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "The process is up")))]
pub(crate) async fn healthz() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    responses(
        (status = 200, description = "The database answers"),
        (status = 503, body = hereby_api::ErrorBody, description = "The database does not answer")
    )
)]
pub(crate) async fn readyz<S: Store + Directory>(
    State(state): State<AppState<S>>,
) -> impl IntoResponse {
    let probe = ListQuery {
        limit: 1,
        ..ListQuery::default()
    };
    let answer = state.store.list_incidents(&probe).await;
    if let Err(error) = &answer {
        tracing::warn!(%error, "not ready: the database did not answer");
    }
    // Chat adapters are reported, not required: the web UI works with every one of them down.
    let chat: serde_json::Map<String, serde_json::Value> = state
        .chat
        .snapshot()
        .into_iter()
        .map(|(name, health)| {
            (
                name,
                json!({
                    "platform": health.platform,
                    "up": health.up,
                    "error": health.error,
                    "since": health.since.to_string(),
                }),
            )
        })
        .collect();
    match answer {
        Ok(_) if chat.is_empty() => (StatusCode::OK, Json(json!({ "status": "ready" }))),
        Ok(_) => (
            StatusCode::OK,
            Json(json!({ "status": "ready", "chat": chat })),
        ),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(
                json!({ "error": { "code": "database_unavailable", "message": "the database did not answer" } }),
            ),
        ),
    }
}
