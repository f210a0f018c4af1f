//! The data as a whole: export as JSON lines, hash-chain verification, and backups.

use std::collections::HashMap;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use hereby_api as api;
use hereby_core::types::{IncidentNumber, InstallationRole};
use hereby_store::{Backup, Directory, Store, verify_all, verify_incident};

use crate::AppState;
use crate::convert;
use crate::error::ApiError;
use crate::extract::Caller;
use crate::routes::incidents::{incident_id, may_see};

/// Log entries read per step of an export.
const PAGE: u32 = 1_000;

/// What one step of an export yields: the next chunk of lines, or the end.
struct ExportCursor<S> {
    state: AppState<S>,
    caller: Caller,
    after: i64,
    end: i64,
}

impl<S: Store + Directory> ExportCursor<S> {
    async fn next_chunk(&mut self) -> Option<Result<Vec<u8>, std::io::Error>> {
        if self.after >= self.end {
            return None;
        }
        let page = match self.state.store.read_all(self.after, PAGE).await {
            Ok(page) if !page.is_empty() => page,
            Ok(_) => return None,
            Err(error) => return Some(Err(std::io::Error::other(error.to_string()))),
        };
        let mut visible: HashMap<u64, bool> = HashMap::new();
        let mut chunk = Vec::new();
        for stored in &page {
            if stored.position > self.end {
                break;
            }
            self.after = stored.position;
            let incident = stored.link.incident;
            let may_see = match visible.get(&incident) {
                Some(known) => *known,
                None => {
                    let known = may_see(&self.state, &self.caller, IncidentNumber(incident)).await;
                    visible.insert(incident, known);
                    known
                }
            };
            if !may_see {
                continue;
            }
            let Ok(recorded) = stored.decode() else {
                continue;
            };
            if serde_json::to_writer(&mut chunk, &convert::entry(&recorded)).is_ok() {
                chunk.push(b'\n');
            }
        }
        Some(Ok(chunk))
    }
}

/// `GET /api/v1/export`: every timeline entry the caller may see, oldest first, one JSON
/// object per line. `X-Hereby-Last-Position` tells how far the export goes (for progress).
#[utoipa::path(
    get,
    path = "/api/v1/export",
    tag = "data",
    security(("bearer" = [])),
    responses(
        (status = 200, content_type = "application/x-ndjson", description = "One timeline entry per line"),
        (status = 401, body = api::ErrorBody),
    )
)]
pub(crate) async fn export<S: Store + Directory>(
    State(state): State<AppState<S>>,
    caller: Caller,
) -> Result<Response, ApiError> {
    let end = state.store.last_position().await?;
    let cursor = ExportCursor {
        state,
        caller,
        after: 0,
        end,
    };
    let stream = futures_util::stream::unfold(cursor, |mut cursor| async move {
        cursor.next_chunk().await.map(|chunk| (chunk, cursor))
    });
    Ok((
        [
            (header::CONTENT_TYPE, "application/x-ndjson".to_owned()),
            (
                header::HeaderName::from_static("x-hereby-last-position"),
                end.to_string(),
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

#[derive(Debug, serde::Deserialize)]
pub(crate) struct VerifyQuery {
    at: Option<u64>,
}

/// `GET /api/v1/incidents/{id}/verify`
#[utoipa::path(
    get,
    path = "/api/v1/incidents/{id}/verify",
    tag = "data",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The incident, e.g. INC-7"),
        ("at" = Option<u64>, Query, description = "Also give the hash of event N, to compare with an export's footer"),
    ),
    responses(
        (status = 200, body = api::Verification),
        (status = 401, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
    )
)]
pub(crate) async fn verify<S: Store + Directory>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(id): Path<String>,
    Query(query): Query<VerifyQuery>,
) -> Result<Json<api::Verification>, ApiError> {
    let incident = incident_id(&id)?;
    crate::routes::incidents::visible(&state, &caller, incident).await?;
    let verification = match verify_incident(&state.store, incident).await? {
        Ok(events) => {
            let hash_at = match query.at {
                Some(at) if at >= 1 && at <= events => state
                    .store
                    .read_stream(incident, at - 1, 1)
                    .await?
                    .first()
                    .map(|stored| hex::encode(&stored.link.hash)),
                Some(at) => {
                    return Err(ApiError::not_found(format!(
                        "event {at} of {incident} (it has {events})"
                    )));
                }
                None => None,
            };
            api::Verification {
                id: incident.to_string(),
                events,
                intact: true,
                problem: None,
                head: Some(hex::encode(state.store.head(incident).await?.last_hash)),
                hash_at,
            }
        }
        Err(broken) => api::Verification {
            id: incident.to_string(),
            events: broken.sequence.saturating_sub(1),
            intact: false,
            problem: Some(broken.to_string()),
            head: None,
            hash_at: None,
        },
    };
    Ok(Json(verification))
}

/// `GET /api/v1/verify` (admins): every incident's chain.
#[utoipa::path(
    get,
    path = "/api/v1/verify",
    tag = "data",
    security(("bearer" = [])),
    responses(
        (status = 200, body = api::VerificationReport),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
    )
)]
pub(crate) async fn verify_everything<S: Store + Directory>(
    State(state): State<AppState<S>>,
    caller: Caller,
) -> Result<Json<api::VerificationReport>, ApiError> {
    caller.require(InstallationRole::Admin)?;
    let report = verify_all(&state.store).await?;
    Ok(Json(api::VerificationReport {
        incidents: report.incidents,
        events: report.events,
        problems: report.breaks.iter().map(ToString::to_string).collect(),
    }))
}

/// `POST /api/v1/backup` (admins): a consistent copy of a SQLite database, as the file's bytes.
#[utoipa::path(
    post,
    path = "/api/v1/backup",
    tag = "data",
    security(("bearer" = [])),
    responses(
        (status = 200, content_type = "application/vnd.sqlite3", description = "The copy"),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 422, body = api::ErrorBody, description = "The database is backed up with its own tools"),
    )
)]
pub(crate) async fn backup<S: Store + Directory + Backup>(
    State(state): State<AppState<S>>,
    caller: Caller,
) -> Result<Response, ApiError> {
    caller.require(InstallationRole::Admin)?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos());
    let path =
        std::env::temp_dir().join(format!("hereby-backup-{}-{nanos}.db", std::process::id()));
    state.store.backup_to(&path).await?;
    let unavailable = |error: std::io::Error| {
        tracing::warn!(%error, "a backup could not be read back");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "backup_unavailable",
            "the copy could not be read back",
        )
    };
    let file = tokio::fs::File::open(&path).await.map_err(unavailable)?;
    // The open file stays readable after its name is gone, so nothing is left behind even
    // if the client disconnects halfway.
    let _ = tokio::fs::remove_file(&path).await;
    let stream = futures_util::stream::unfold(file, |mut file| async move {
        use tokio::io::AsyncReadExt;
        let mut buffer = vec![0; 64 * 1024];
        match file.read(&mut buffer).await {
            Ok(0) => None,
            Ok(read) => {
                buffer.truncate(read);
                Some((Ok::<_, std::io::Error>(buffer), file))
            }
            Err(error) => Some((Err(error), file)),
        }
    });
    Ok((
        [(header::CONTENT_TYPE, "application/vnd.sqlite3")],
        Body::from_stream(stream),
    )
        .into_response())
}
