//! Evidence attachments: uploaded as the raw request body, stored by SHA-256 digest, listed
//! from the incident's `evidence_attached` events, and served only through an incident the
//! caller may see.

use axum::Json;
use axum::body::{Body, to_bytes};
use axum::extract::{Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use hereby_api as api;
use hereby_core::types::{FileName, IncidentNumber, InstallationRole, MediaType, Sha256Hex};
use hereby_core::{Command, Event};
use hereby_store::{Blobs, Directory, Store};
use jiff::Timestamp;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Caller, IfMatch};
use crate::routes::incidents::{act, incident_id, visible};

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
    // Visibility before role, as in every write: see `incidents::act`.
    visible(&state, &caller, incident).await?;
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
    attach(&state, &caller, &id, if_match, name, media_type, &content).await
}

/// Stores `content` and records it on the incident: for the API's upload and the web form.
/// The content is stored first: an event never points at missing bytes, and content stored
/// for a write that then fails is merely unreferenced.
pub(crate) async fn attach<S: Store + Directory + Blobs>(
    state: &AppState<S>,
    caller: &Caller,
    id: &str,
    if_match: IfMatch,
    name: FileName,
    media_type: MediaType,
    content: &[u8],
) -> Result<Json<api::WriteResult>, ApiError> {
    let digest: [u8; 32] = Sha256::digest(content).into();
    state
        .store
        .put_blob(digest, content, Timestamp::now())
        .await?;
    let command = Command::AttachEvidence {
        name,
        media_type,
        size: content.len() as u64,
        sha256: Sha256Hex::parse(&hex::encode(digest))?,
    };
    act(state, caller, id, if_match, command).await
}

/// Every attachment recorded on an incident, oldest first.
async fn attachments<S: Store + Directory>(
    state: &AppState<S>,
    incident: IncidentNumber,
) -> Result<Vec<api::Attachment>, ApiError> {
    let mut found = Vec::new();
    let mut after = 0;
    loop {
        let page = state
            .store
            .read_stream_of_type(incident, "evidence_attached", after, 1_000)
            .await?;
        for stored in &page {
            let recorded = stored.decode()?;
            if let Event::EvidenceAttached(evidence) = recorded.event {
                found.push(api::Attachment {
                    name: evidence.name.to_string(),
                    media_type: evidence.media_type.to_string(),
                    size: evidence.size,
                    sha256: evidence.sha256.to_string(),
                    attached_at: recorded.at.to_string(),
                    attached_by: recorded.actor.to_string(),
                });
            }
        }
        match page.last() {
            Some(last) if page.len() == 1_000 => after = last.link.sequence,
            _ => return Ok(found),
        }
    }
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
    visible(&state, &caller, incident).await?;
    Ok(Json(attachments(&state, incident).await?))
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
    visible(&state, &caller, incident).await?;
    let missing = || ApiError::not_found(format!("attachment {sha256} on {incident}"));
    // Only content attached to this incident is served through it.
    let attachment = attachments(&state, incident)
        .await?
        .into_iter()
        .find(|attachment| attachment.sha256 == sha256.to_ascii_lowercase())
        .ok_or_else(missing)?;
    let mut digest = [0u8; 32];
    hex::decode_to_slice(&attachment.sha256, &mut digest).map_err(|_| missing())?;
    let content = state.store.get_blob(digest).await?.ok_or_else(missing)?;
    let disposition = format!(
        "attachment; filename=\"{}\"",
        attachment.name.replace(['"', '\\'], "_")
    );
    Ok((
        [
            (header::CONTENT_TYPE, attachment.media_type),
            (header::CONTENT_DISPOSITION, disposition),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
        ],
        Body::from(content),
    )
        .into_response())
}
