//! Evidence attachments: uploaded as the raw request body, stored by SHA-256 digest, listed
//! from the incident's `evidence_attached` events, and served only through an incident the
//! caller may see.

use axum::Json;
use axum::body::to_bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::response::Response;
use hereby_api as api;
use hereby_core::types::{FileName, InstallationRole, MediaType};
use hereby_store::{Blobs, Directory, Store};
use serde::Deserialize;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::incident_id;
use crate::extract::{Caller, IfMatch};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct UploadParams {
    /// The file name to record.
    name: String,
}

/// `POST /api/v1/incidents/{id}/attachments?name=FILE`: the body is the file; its
/// `Content-Type` is recorded as the media type.
#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/attachments",
    tag = "incidents",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The incident, e.g. INC-7"),
        ("name" = String, Query, description = "The file name to record"),
    ),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The file"),
    responses(
        (status = 200, body = api::WriteResult),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
        (status = 413, body = api::ErrorBody),
        (status = 422, body = api::ErrorBody),
    )
)]
pub(crate) async fn upload<S: Store + Directory + Blobs>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(id): Path<String>,
    if_match: IfMatch,
    params: Result<Query<UploadParams>, axum::extract::rejection::QueryRejection>,
    request: Request,
) -> Result<Json<api::WriteResult>, ApiError> {
    let Query(params) =
        params.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let incident = incident_id(&id)?;
    // Visibility before role, as in every write, before the body is read.
    state.app.visible(&caller.0, incident).await?;
    caller.require(InstallationRole::Responder)?;
    let name = FileName::parse(&params.name)?;
    let media_type = MediaType::parse(
        request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("application/octet-stream"),
    )?;
    let content = to_bytes(request.into_body(), state.max_attachment_bytes)
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                format!(
                    "attachments may be at most {} bytes",
                    state.max_attachment_bytes
                ),
            )
        })?;
    let outcome = state
        .app
        .attach(&caller.0, incident, if_match.0, name, media_type, &content)
        .await?;
    Ok(Json(crate::convert::write_result(&outcome)))
}

/// `GET /api/v1/incidents/{id}/attachments`
#[utoipa::path(
    get,
    path = "/api/v1/incidents/{id}/attachments",
    tag = "incidents",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The incident, e.g. INC-7")),
    responses(
        (status = 200, body = Vec<api::Attachment>),
        (status = 401, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
    )
)]
pub(crate) async fn list<S: Store + Directory>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<api::Attachment>>, ApiError> {
    let incident = incident_id(&id)?;
    Ok(Json(state.app.attachments(&caller.0, incident).await?))
}

/// `GET /api/v1/incidents/{id}/attachments/{sha256}`: the content, as uploaded.
#[utoipa::path(
    get,
    path = "/api/v1/incidents/{id}/attachments/{sha256}",
    tag = "incidents",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The incident, e.g. INC-7"),
        ("sha256" = String, Path, description = "The attachment's hex SHA-256"),
    ),
    responses(
        (status = 200, content_type = "application/octet-stream", description = "The file"),
        (status = 401, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
    )
)]
pub(crate) async fn download<S: Store + Directory + Blobs>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path((id, sha256)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let incident = incident_id(&id)?;
    let (attachment, content) = state.app.attachment(&caller.0, incident, &sha256).await?;
    Ok(crate::convert::download(attachment, content))
}
