//! The front-end files, vendored at pinned versions (see `assets/README.md`) and compiled
//! into the binary: no build step, no CDN.

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Name, media type and content of every asset.
const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "htmx.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/htmx.min.js"),
    ),
    (
        "sse.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/sse.js"),
    ),
    (
        "pico.min.css",
        "text/css; charset=utf-8",
        include_bytes!("../../assets/pico.min.css"),
    ),
    (
        "hereby.css",
        "text/css; charset=utf-8",
        include_bytes!("../../assets/hereby.css"),
    ),
];

/// `GET /assets/{file}`. Asset URLs carry the release version (`?v=`), so browsers may keep
/// them for a day without asking again.
pub(crate) async fn asset(Path(file): Path<String>) -> Response {
    let Some((_, media_type, content)) = ASSETS.iter().find(|(name, _, _)| *name == file) else {
        return (StatusCode::NOT_FOUND, "no such asset").into_response();
    };
    let mut response = (*content).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(media_type));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}
