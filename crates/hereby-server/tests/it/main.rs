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

#[test]
fn every_json_route_documents_the_errors_its_input_can_cause() {
    let document = serde_json::to_value(ApiDoc::openapi()).unwrap();
    let mut missing = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        if !path.starts_with("/api/v1/") || path == "/api/v1/openapi.json" {
            continue;
        }
        for (method, operation) in item.as_object().unwrap() {
            let responses = operation["responses"].as_object().unwrap();
            let mut needed = vec!["503"];
            let has_parameters = operation["parameters"]
                .as_array()
                .is_some_and(|parameters| !parameters.is_empty());
            let has_body = operation.get("requestBody").is_some();
            if has_parameters || has_body {
                needed.extend(["400", "422"]);
            }
            if has_body {
                needed.extend(["413", "415"]);
            }
            for status in needed {
                if !responses.contains_key(status) {
                    missing.push(format!("{method} {path} {status}"));
                }
            }
        }
    }
    assert!(missing.is_empty(), "undocumented: {missing:?}");
}

#[tokio::test]
async fn errors_the_framework_writes_come_in_the_json_error_shape() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&format!("sqlite://{}", dir.path().join("h.db").display()))
        .await
        .unwrap();
    use hereby_store::Directory;
    let secret = "hby_framework_errors_test_token";
    store
        .create_first_admin(
            &hereby_core::types::UserName::parse("root").unwrap(),
            "tests",
            hereby_server::extract::token_digest(secret),
            jiff::Timestamp::now(),
        )
        .await
        .unwrap()
        .unwrap();
    let router = app(AppState::new(store, hereby_core::Policy::default()));
    for (method, uri, code) in [
        (
            "GET",
            "/api/v1/incidents/INC-1/verify?at=-1",
            "invalid_query",
        ),
        (
            "POST",
            "/api/v1/incidents/INC-1/intents/-1/done",
            "invalid_path",
        ),
        ("GET", "/api/v1/incidents/%FF", "invalid_path"),
    ] {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {secret}"))
            .body(Body::from("{}"))
            .unwrap();
        let response = router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .map(|value| value.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let body = axum::body::to_bytes(response.into_body(), 64 * 1024)
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body)
            .unwrap_or_else(|_| panic!("{uri}: not JSON: {}", String::from_utf8_lossy(&body)));
        assert!(
            content_type.starts_with("application/json"),
            "{uri}: {content_type}"
        );
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some(code)),
            "{uri}: {body}"
        );
    }
}
