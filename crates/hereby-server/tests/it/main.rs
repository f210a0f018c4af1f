//! Server tests that need no running process: the OpenAPI document against the router, and
//! the delivery worker against a webhook receiver on loopback.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod deliveries;
mod messages;
mod postmortem_drafts;
mod web;

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use hereby_server::openapi::ApiDoc;
use hereby_server::{AppState, app, routes};
use hereby_store_sqlite::SqliteStore;
use tower::ServiceExt;
use utoipa::OpenApi;

fn documented() -> BTreeSet<(String, String)> {
    let document = serde_json::to_value(ApiDoc::openapi()).unwrap();
    let mut operations = BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            operations.insert((method.to_uppercase(), path.clone()));
        }
    }
    operations
}

#[test]
fn the_openapi_document_lists_exactly_the_routes_the_router_serves() {
    let served: BTreeSet<(String, String)> = routes::<SqliteStore>()
        .into_iter()
        .map(|(method, path, _)| (method.to_string(), path.to_owned()))
        .collect();
    let documented = documented();
    let undocumented: Vec<_> = served.difference(&documented).collect();
    let unserved: Vec<_> = documented.difference(&served).collect();
    assert!(
        undocumented.is_empty(),
        "served but not documented: {undocumented:?}"
    );
    assert!(
        unserved.is_empty(),
        "documented but not served: {unserved:?}"
    );
    assert!(served.len() >= 36, "{}", served.len());
}

#[tokio::test]
async fn every_documented_operation_is_routed_and_guarded() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&format!("sqlite://{}", dir.path().join("h.db").display()))
        .await
        .unwrap();
    let router = app(AppState::new(store, hereby_core::Policy::default()));
    for (method, path) in documented() {
        let concrete = path
            .replace("{id}", "1")
            .replace("{item}", "1")
            .replace("{role}", "scribe")
            .replace("{person}", "bob")
            .replace("{name}", "bob");
        let request = Request::builder()
            .method(method.as_str())
            .uri(&concrete)
            .body(Body::empty())
            .unwrap();
        let response = router.clone().oneshot(request).await.unwrap();
        let guarded =
            (path.starts_with("/api/v1/") && path != "/api/v1/openapi.json") || path == "/metrics";
        let expected = if guarded {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::OK
        };
        assert_eq!(response.status(), expected, "{method} {concrete}");
    }
}
