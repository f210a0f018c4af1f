//! The forms of the incident page: each turns its fields into a core command and runs it
//! through the same path as the API ([`hereby_app::App::act`]). On success the
//! browser goes back to the incident page; a rejected command shows the page again with the
//! core's reason and the form's values, so nothing typed is lost.

use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use hereby_core::Command;
use hereby_core::types::{
    ActionKind, Audience, EntryMark, FileName, InstallationRole, InvalidValue, LinkKind, MediaType,
    Owner, Reason, RoleKey, ServiceName, Severity, Status, Target, Text, Title, Url, UserName,
    Visibility,
};
use hereby_store::{Blobs, Communications, Directory, Store};
use jiff::Timestamp;
use jiff::civil::Date;

use super::PageError;
use super::pages::{declare_page, incident_page};
use super::session::{Fields, SignedForm, Viewer};
use super::{act, required, visible};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::incident_id;

fn optional<T>(
    fields: &Fields,
    name: &str,
    parse: impl Fn(&str) -> Result<T, InvalidValue>,
) -> Result<Option<T>, ApiError> {
    Ok(fields.get(name).map(parse).transpose()?)
}

fn item(fields: &Fields) -> Result<u32, ApiError> {
    number(fields, "item")
}

/// A required number field, such as an action item's or an intent's.
fn number(fields: &Fields, name: &'static str) -> Result<u32, ApiError> {
    required(fields, name)?.parse().map_err(|_| {
        ApiError::from(InvalidValue {
            field: name,
            problem: "must be a number".into(),
        })
    })
}

fn date(raw: &str) -> Result<Date, InvalidValue> {
    raw.parse().map_err(|_| InvalidValue {
        field: "due",
        problem: "must be a date, e.g. 2026-12-01".into(),
    })
}

/// A time from a `datetime-local` field (read as UTC, which the page says) or RFC 3339.
pub(crate) fn time(field: &'static str) -> impl Fn(&str) -> Result<Timestamp, InvalidValue> {
    move |raw| {
        raw.parse::<Timestamp>()
            .or_else(|_| {
                raw.parse::<jiff::civil::DateTime>()
                    .and_then(|local| local.to_zoned(jiff::tz::TimeZone::UTC))
                    .map(|zoned| zoned.timestamp())
            })
            .map_err(|_| InvalidValue {
                field,
                problem: "must be a time, e.g. 2026-11-22 14:05 (UTC)".into(),
            })
    }
}

/// The command a form of the incident page asks for.
fn command(action: &str, fields: &Fields) -> Result<Command, ApiError> {
    let reason = || optional(fields, "reason", Reason::parse);
    Ok(match action {
        "note" => Command::AddNote {
            text: Text::parse(required(fields, "text")?)?,
        },
        "operation" => Command::RecordOperation {
            target: Target::parse(required(fields, "target")?)?,
            action: Text::parse(required(fields, "action")?)?,
            command: optional(fields, "command", Text::parse)?,
            witness: optional(fields, "witness", UserName::parse)?,
        },
        "intent" => Command::AnnounceIntent {
            target: Target::parse(required(fields, "target")?)?,
            action: Text::parse(required(fields, "action")?)?,
            witness: optional(fields, "witness", UserName::parse)?,
        },
        "intent-done" => Command::CompleteIntent {
            intent: number(fields, "intent")?,
            command: optional(fields, "command", Text::parse)?,
            witness: optional(fields, "witness", UserName::parse)?,
        },
        "intent-abandon" => Command::AbandonIntent {
            intent: number(fields, "intent")?,
            reason: reason()?,
        },
        "witness-rule" => Command::RequireWitness {
            required: fields.checked("required"),
        },
        "acknowledge-changes" => Command::AcknowledgeChanges,
        "assign" => Command::AssignRole {
            role: RoleKey::parse(required(fields, "role")?)?,
            person: UserName::parse(required(fields, "person")?)?,
        },
        "unassign" => Command::UnassignRole {
            role: RoleKey::parse(required(fields, "role")?)?,
            person: UserName::parse(required(fields, "person")?)?,
        },
        "handoff" => Command::RequestHandoff {
            to: UserName::parse(required(fields, "to")?)?,
        },
        "accept-handoff" => Command::AcceptHandoff,
        "decline-handoff" => Command::DeclineHandoff { reason: reason()? },
        "cancel-handoff" => Command::CancelHandoff,
        "severity" => Command::ChangeSeverity {
            severity: Severity::parse(required(fields, "severity")?)?,
            potential: fields.checked("potential"),
            reason: Reason::parse(required(fields, "reason")?)?,
        },
        "status" => Command::ChangeStatus {
            to: Status::parse(required(fields, "status")?)?,
            reason: reason()?,
            override_close_checks: fields.checked("override"),
        },
        "resolve" => Command::ChangeStatus {
            to: Status::Resolved,
            reason: reason()?,
            override_close_checks: false,
        },
        "call-off" => Command::ChangeStatus {
            to: Status::CalledOff,
            reason: Some(Reason::parse(required(fields, "reason")?)?),
            override_close_checks: false,
        },
        "hand-back" => Command::ChangeStatus {
            to: Status::HandedBack,
            reason: Some(Reason::parse(required(fields, "reason")?)?),
            override_close_checks: false,
        },
        "impact" => Command::SetImpactWindow {
            start: optional(fields, "start", time("start"))?,
            end: optional(fields, "end", time("end"))?,
        },
        "link" => Command::AddLink {
            kind: LinkKind::parse(required(fields, "kind")?)?,
            url: Url::parse(required(fields, "url")?)?,
            title: optional(fields, "title", Title::parse)?,
        },
        "action-item" => Command::AddActionItem {
            text: Text::parse(required(fields, "text")?)?,
            owner: Owner::parse(required(fields, "owner")?)?,
            due: optional(fields, "due", date)?,
            kind: optional(fields, "kind", ActionKind::parse)?.unwrap_or(ActionKind::Task),
            tracker_url: optional(fields, "tracker_url", Url::parse)?,
        },
        "action-item-update" => Command::UpdateActionItem {
            item: item(fields)?,
            owner: optional(fields, "owner", Owner::parse)?,
            due: optional(fields, "due", date)?,
            tracker_url: optional(fields, "tracker_url", Url::parse)?,
        },
        "action-item-done" => Command::CompleteActionItem {
            item: item(fields)?,
        },
        "action-item-wont-fix" => Command::WontFixActionItem {
            item: item(fields)?,
            reason: Reason::parse(required(fields, "reason")?)?,
        },
        "action-item-reopen" => Command::ReopenActionItem {
            item: item(fields)?,
        },
        "update" => Command::PostUpdate {
            audience: Audience::parse(fields.get("audience").unwrap_or("internal"))?,
            body: Text::parse(required(fields, "body")?)?,
            public: fields.checked("public"),
        },
        "visibility" => Command::ChangeVisibility {
            to: Visibility::parse(required(fields, "visibility")?)?,
            reason: Reason::parse(required(fields, "reason")?)?,
        },
        "member-add" => Command::AddMember {
            person: UserName::parse(required(fields, "person")?)?,
        },
        "member-remove" => Command::RemoveMember {
            person: UserName::parse(required(fields, "person")?)?,
        },
        "mark" => Command::MarkTimelineEntry {
            sequence: required(fields, "sequence")?.parse().map_err(|_| {
                ApiError::from(InvalidValue {
                    field: "sequence",
                    problem: "must be a timeline entry's number".into(),
                })
            })?,
            mark: EntryMark::parse(required(fields, "mark")?)?,
        },
        _ => return Err(ApiError::not_found("this form")),
    })
}

/// After a form: back to the incident page on success; on a rejection, the page again with
/// the reason and what was typed.
async fn after<S: Store + Directory + Communications>(
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
pub(crate) async fn act_on_incident<S: Store + Directory + Communications>(
    State(state): State<AppState<S>>,
    Path((id, action)): Path<(String, String)>,
    SignedForm { viewer, fields }: SignedForm,
) -> Response {
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

/// `POST /incidents`: the declare form.
pub(crate) async fn declare<S: Store + Directory + Communications>(
    State(state): State<AppState<S>>,
    SignedForm { viewer, fields }: SignedForm,
) -> Response {
    let parsed = (|| -> Result<Command, ApiError> {
        viewer.caller.require(InstallationRole::Responder)?;
        Ok(Command::Declare {
            title: Title::parse(required(&fields, "title")?)?,
            summary: optional(&fields, "summary", Text::parse)?,
            severity: optional(&fields, "severity", Severity::parse)?.unwrap_or(Severity::Sev3),
            potential: fields.checked("potential"),
            services: fields
                .get("services")
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|service| !service.is_empty())
                .map(ServiceName::parse)
                .collect::<Result<_, _>>()?,
            visibility: match (fields.checked("restricted"), fields.checked("public")) {
                (true, true) => {
                    return Err(ApiError::from(InvalidValue {
                        field: "visibility",
                        problem: "an incident cannot be both restricted and public".into(),
                    }));
                }
                (true, false) => Visibility::Restricted,
                (false, true) => Visibility::Public,
                (false, false) => Visibility::Internal,
            },
        })
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
pub(crate) async fn attach<S: Store + Directory + Blobs + Communications>(
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
                let sent = field.text().await.map_err(unreadable)?;
                csrf_ok = super::session::csrf_matches(&sent, &viewer.csrf);
            }
            Some("file") => {
                let name = field.file_name().unwrap_or_default().to_owned();
                let media_type = field
                    .content_type()
                    .unwrap_or("application/octet-stream")
                    .to_owned();
                let mut content = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(unreadable)? {
                    if content.len() + chunk.len() > state.max_attachment_bytes {
                        return Err(ApiError::new(
                            StatusCode::PAYLOAD_TOO_LARGE,
                            "body_too_large",
                            format!(
                                "attachments may be at most {} bytes",
                                state.max_attachment_bytes
                            ),
                        ));
                    }
                    content.extend_from_slice(&chunk);
                }
                file = Some((name, media_type, content));
            }
            _ => {}
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
