//! The forms of the incident page: each turns its fields into a core command and runs it
//! through the same path as the API ([`hereby_app::App::act`]). On success the
//! browser goes back to the incident page; a rejected command shows the page again with the
//! core's reason and the form's values, so nothing typed is lost.

use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use hereby_core::Command;
use hereby_core::types::{FileName, InstallationRole, InvalidValue, MediaType, Status};
use hereby_store::{Blobs, Communications, Directory, Store};

use super::PageError;
use super::form::request;
use super::pages::{declare_page, incident_page};
use super::session::{Fields, SignedForm, Viewer};
use super::{act, required, visible};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::incident_id;

/// A required number field, such as an action item's or an intent's.
fn number<T: std::str::FromStr>(fields: &Fields, name: &'static str) -> Result<T, ApiError> {
    required(fields, name)?.parse().map_err(|_| {
        ApiError::from(InvalidValue {
            field: name,
            problem: "must be a number".into(),
        })
    })
}

/// The command a form of the incident page asks for: the form is read into the API's request
/// type for the same action and made into a command by the same parser. Numbers the API
/// takes from the path (an action item's, an intent's, a timeline entry's) are fields here.
fn command(action: &str, fields: &Fields) -> Result<Command, ApiError> {
    use hereby_api as api;
    Ok(match action {
        "note" => Command::try_from(request::<api::NoteRequest>(fields, &[])?)?,
        "operation" => Command::try_from(request::<api::OperationRequest>(fields, &[])?)?,
        "intent" => Command::try_from(request::<api::IntentRequest>(fields, &[])?)?,
        "intent-done" => {
            request::<api::IntentDone>(fields, &["intent"])?.command(number(fields, "intent")?)?
        }
        "intent-abandon" => request::<api::IntentAbandon>(fields, &["intent"])?
            .command(number(fields, "intent")?)?,
        "witness-rule" => Command::try_from(request::<api::WitnessRule>(fields, &[])?)?,
        "acknowledge-changes" => Command::AcknowledgeChanges,
        "assign" => Command::try_from(request::<api::RoleRequest>(fields, &[])?)?,
        "unassign" => request::<api::RoleRequest>(fields, &[])?.unassign()?,
        "handoff" => Command::try_from(request::<api::HandoffRequest>(fields, &[])?)?,
        "accept-handoff" => Command::AcceptHandoff,
        "take-command" => Command::TakeCommand,
        "accept-candidate" => Command::AcceptCandidate,
        "decline-candidate" => request::<api::ReasonRequest>(fields, &[])?.decline_candidate()?,
        "decline-handoff" => request::<api::ReasonRequest>(fields, &[])?.decline_handoff()?,
        "cancel-handoff" => Command::CancelHandoff,
        "severity" => Command::try_from(request::<api::SeverityRequest>(fields, &[])?)?,
        "status" => Command::try_from(request::<api::StatusRequest>(fields, &[])?)?,
        "resolve" => request::<api::ReasonRequest>(fields, &[])?.change_status(Status::Resolved)?,
        "call-off" => {
            request::<api::ReasonRequest>(fields, &[])?.change_status(Status::CalledOff)?
        }
        "hand-back" => {
            request::<api::ReasonRequest>(fields, &[])?.change_status(Status::HandedBack)?
        }
        "impact" => Command::try_from(request::<api::ImpactRequest>(fields, &[])?)?,
        "link" => Command::try_from(request::<api::LinkRequest>(fields, &[])?)?,
        "action-item" => Command::try_from(request::<api::ActionItemRequest>(fields, &[])?)?,
        "action-item-update" => {
            request::<api::ActionItemChange>(fields, &["item"])?.command(number(fields, "item")?)?
        }
        "action-item-done" => Command::CompleteActionItem {
            item: number(fields, "item")?,
        },
        "action-item-wont-fix" => {
            request::<api::ReasonRequest>(fields, &["item"])?.wont_fix(number(fields, "item")?)?
        }
        "action-item-reopen" => Command::ReopenActionItem {
            item: number(fields, "item")?,
        },
        "update" => Command::try_from(request::<api::UpdateRequest>(fields, &["template"])?)?,
        // The field has its own name so that a refused note (`text`) never fills this box.
        "public-summary" => Command::try_from(api::PublicSummaryRequest {
            text: fields.get("public_summary").map(str::to_owned),
        })?,
        "visibility" => Command::try_from(request::<api::VisibilityRequest>(fields, &[])?)?,
        "member-add" => request::<api::MemberRequest>(fields, &[])?.add()?,
        "member-remove" => request::<api::MemberRequest>(fields, &[])?.remove()?,
        "mark" => request::<api::MarkRequest>(fields, &["sequence"])?
            .command(number(fields, "sequence")?)?,
        _ => return Err(ApiError::not_found("this form")),
    })
}

/// After a form: back to the incident page on success; on a rejection, the page again with
/// the reason and what was typed.
async fn after<
    S: Store
        + Directory
        + Communications
        + hereby_store::Alerts
        + hereby_store::Search
        + hereby_store::Notifications,
>(
    state: &AppState<S>,
    viewer: &Viewer,
    id: &str,
    fields: &Fields,
    result: Result<(), ApiError>,
) -> Response {
    match result {
        Ok(()) => Redirect::to(&format!("/incidents/{id}")).into_response(),
        Err(error) if error.status == StatusCode::NOT_FOUND => {
            PageError::from(error).into_response()
        }
        Err(error) => incident_page(
            state,
            viewer,
            id,
            error.status,
            Some(&error.message),
            fields.context(),
        )
        .await
        .unwrap_or_else(IntoResponse::into_response),
    }
}

/// `POST /incidents/{id}/{action}`: every form of the incident page.
pub(crate) async fn act_on_incident<
    S: Store
        + Directory
        + Communications
        + hereby_store::Alerts
        + hereby_store::Search
        + hereby_store::Notifications,
>(
    State(state): State<AppState<S>>,
    Path((id, action)): Path<(String, String)>,
    SignedForm { viewer, fields }: SignedForm,
) -> Response {
    if action == "resolve" {
        let result = resolve(&state, &viewer, &id, &fields).await;
        return after(&state, &viewer, &id, &fields, result).await;
    }
    if action == "merge-candidate" {
        let result = merge(&state, &viewer, &id, &fields).await;
        return after(&state, &viewer, &id, &fields, result).await;
    }
    if action == "action-item-export" || action == "action-item-unlink" {
        let result = tracker_form(&state, &viewer, &id, &action, &fields).await;
        return after(&state, &viewer, &id, &fields, result).await;
    }
    let parsed = match action.as_str() {
        "evaluate" | "decide" | "suspect" => {
            super::judgement::command(&state, &viewer, &id, &action, &fields).await
        }
        _ => command(&action, &fields),
    };
    let result = match parsed {
        Ok(command) => act(&state, &viewer.caller, &id, None, command)
            .await
            .map(|_| ()),
        Err(error) => Err(error),
    };
    after(&state, &viewer, &id, &fields, result).await
}

/// The resolve form: resolving is confirmed (a ticked box, which works without JavaScript),
/// and may set the impact's end at the same time. The impact end goes first, so that a
/// refused one leaves the incident unresolved and as it was.
async fn resolve<
    S: Store
        + Directory
        + Communications
        + hereby_store::Alerts
        + hereby_store::Search
        + hereby_store::Notifications,
>(
    state: &AppState<S>,
    viewer: &Viewer,
    id: &str,
    fields: &Fields,
) -> Result<(), ApiError> {
    if !fields.checked("confirm") {
        return Err(ApiError::from(InvalidValue::new(
            "confirm",
            "tick “Service is back to normal” to resolve the incident",
        )));
    }
    let resolve = request::<hereby_api::ReasonRequest>(fields, &["confirm", "impact_end"])?
        .change_status(Status::Resolved)?;
    if let Some(raw) = fields.get("impact_end") {
        let end = hereby_api::time("impact_end")(raw)?;
        let loaded = visible(state, &viewer.caller, incident_id(id)?).await?;
        // Without a recorded start, the impact is taken to have started at the declaration,
        // as the messages and the post-mortem already take it.
        let start = loaded
            .state
            .incident()
            .map(|incident| incident.impact.start.unwrap_or(incident.declared_at));
        let impact = Command::SetImpactWindow {
            start,
            end: Some(end),
        };
        act(state, &viewer.caller, id, None, impact).await?;
    }
    act(state, &viewer.caller, id, None, resolve).await?;
    Ok(())
}

/// The forms that open a follow-up in a tracker or unlink it: the application checks the
/// tracker and keeps the link's sync record, so they are more than a command.
async fn tracker_form<
    S: Store
        + Directory
        + Communications
        + hereby_store::Alerts
        + hereby_store::Search
        + hereby_store::Notifications,
>(
    state: &AppState<S>,
    viewer: &Viewer,
    id: &str,
    action: &str,
    fields: &Fields,
) -> Result<(), ApiError> {
    let incident = incident_id(id)?;
    // An incident the viewer may not see does not exist, whatever the form holds.
    visible(state, &viewer.caller, incident).await?;
    let item = number(fields, "item")?;
    if action == "action-item-export" {
        state
            .app
            .export_follow_up(
                viewer.user(),
                incident,
                item,
                required(fields, "tracker")?,
                None,
            )
            .await?;
    } else {
        state
            .app
            .unlink_follow_up(
                viewer.user(),
                incident,
                item,
                required(fields, "reason")?,
                None,
            )
            .await?;
    }
    Ok(())
}

/// The merge form of a candidate: the application moves its alert groups to the other
/// incident, so it is more than one command.
async fn merge<
    S: Store
        + Directory
        + Communications
        + hereby_store::Alerts
        + hereby_store::Search
        + hereby_store::Notifications,
>(
    state: &AppState<S>,
    viewer: &Viewer,
    id: &str,
    fields: &Fields,
) -> Result<(), ApiError> {
    let into = incident_id(required(fields, "into")?.trim())?;
    state
        .app
        .merge_candidate(&viewer.caller.0, incident_id(id)?, into)
        .await?;
    Ok(())
}

/// `POST /incidents`: the declare form.
pub(crate) async fn declare<
    S: Store
        + Directory
        + Communications
        + hereby_store::Alerts
        + hereby_store::Search
        + hereby_store::Notifications,
>(
    State(state): State<AppState<S>>,
    SignedForm { viewer, fields }: SignedForm,
) -> Response {
    let parsed = (|| -> Result<Command, ApiError> {
        viewer.caller.require(InstallationRole::Responder)?;
        Ok(Command::try_from(request::<hereby_api::DeclareRequest>(
            &fields,
            &[],
        )?)?)
    })();
    let outcome = match parsed {
        Ok(command) => state
            .app
            .declare(viewer.user(), command)
            .await
            .map_err(ApiError::from),
        Err(error) => Err(error),
    };
    match outcome {
        Ok(outcome) => Redirect::to(&format!("/incidents/{}", outcome.incident)).into_response(),
        Err(error) => declare_page(
            &state.store,
            &viewer,
            error.status,
            fields.context(),
            Some(&error.message),
        )
        .await
        .unwrap_or_else(IntoResponse::into_response),
    }
}

/// `POST /incidents/{id}/attachments`: the attach-file form (multipart).
/// What an attachment form may hold besides the file: its token and the multipart framing.
const FORM_OVERHEAD: usize = 64 * 1024;
/// The longest `_csrf` field read: the token is 64 hexadecimal characters.
const CSRF_FIELD: usize = 256;

pub(crate) async fn attach<
    S: Store
        + Directory
        + Blobs
        + Communications
        + hereby_store::Alerts
        + hereby_store::Search
        + hereby_store::Notifications,
>(
    State(state): State<AppState<S>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    viewer: Viewer,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let result = upload(&state, &viewer, &id, &headers, multipart).await;
    after(&state, &viewer, &id, &Fields::default(), result).await
}

async fn upload<S: Store + Directory + Blobs>(
    state: &AppState<S>,
    viewer: &Viewer,
    id: &str,
    headers: &HeaderMap,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<(), ApiError> {
    super::session::check_origin(headers)?;
    let incident = incident_id(id)?;
    visible(state, &viewer.caller, incident).await?;
    viewer.caller.require(InstallationRole::Responder)?;
    // The whole form may hold the largest attachment and a little more: the route takes no
    // general body limit, so this one is enforced here, before and while reading.
    let limit = state.max_attachment_bytes.saturating_add(FORM_OVERHEAD);
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!(
                "attachments may be at most {} bytes",
                state.max_attachment_bytes
            ),
        )
    };
    let declared = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<usize>().ok());
    if declared.is_some_and(|length| length > limit) {
        return Err(too_large());
    }
    let mut read = 0usize;
    let mut multipart =
        multipart.map_err(|e| ApiError::bad_request("invalid_form", e.body_text()))?;
    let unreadable = |e: axum::extract::multipart::MultipartError| {
        ApiError::bad_request("invalid_form", e.body_text())
    };
    let mut csrf_ok = false;
    let mut file: Option<(String, String, Vec<u8>)> = None;
    while let Some(mut field) = multipart.next_field().await.map_err(unreadable)? {
        match field.name() {
            Some("_csrf") => {
                let mut sent = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(unreadable)? {
                    if sent.len() + chunk.len() > CSRF_FIELD {
                        return Err(ApiError::bad_request(
                            "invalid_form",
                            "the form's token is not what this page sends",
                        ));
                    }
                    sent.extend_from_slice(&chunk);
                }
                read += sent.len();
                csrf_ok =
                    super::session::csrf_matches(&String::from_utf8_lossy(&sent), &viewer.csrf);
            }
            Some("file") => {
                let name = field.file_name().unwrap_or_default().to_owned();
                let media_type = field
                    .content_type()
                    .unwrap_or("application/octet-stream")
                    .to_owned();
                let mut content = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(unreadable)? {
                    if content.len() + chunk.len() > state.max_attachment_bytes
                        || read + chunk.len() > limit
                    {
                        return Err(too_large());
                    }
                    read += chunk.len();
                    content.extend_from_slice(&chunk);
                }
                file = Some((name, media_type, content));
            }
            // Any other field is read and dropped, counted against the form's limit.
            _ => {
                while let Some(chunk) = field.chunk().await.map_err(unreadable)? {
                    read += chunk.len();
                    if read > limit {
                        return Err(too_large());
                    }
                }
            }
        }
    }
    if !csrf_ok {
        return Err(ApiError::forbidden(
            "this form has expired (it belongs to another sign-in); reload the page and send it again",
        ));
    }
    let Some((name, media_type, content)) = file.filter(|(name, _, _)| !name.is_empty()) else {
        return Err(ApiError::from(InvalidValue {
            field: "file",
            problem: "choose a file to attach".into(),
        }));
    };
    state
        .app
        .attach(
            viewer.user(),
            incident_id(id)?,
            None,
            FileName::parse(&name)?,
            MediaType::parse(&media_type)?,
            &content,
        )
        .await
        .map(|_| ())
        .map_err(ApiError::from)
}

/// `GET /incidents/{id}/attachments/{sha256}`: a download, for a viewer who may see the
/// incident.
pub(crate) async fn download<S: Store + Directory + Blobs>(
    State(state): State<AppState<S>>,
    viewer: Viewer,
    Path((id, sha256)): Path<(String, String)>,
) -> Response {
    let found = match incident_id(&id) {
        Ok(incident) => state
            .app
            .attachment(viewer.user(), incident, &sha256)
            .await
            .map_err(ApiError::from),
        Err(error) => Err(error),
    };
    match found {
        Ok((attachment, content)) => crate::convert::download(attachment, content),
        Err(error) => PageError::from(error).into_response(),
    }
}
