//! Judgement under pressure on one incident: the severity checklist, releases and the suspect
//! one, the follow-up decision ladder, announced intents, the witness rule and acknowledging
//! changes. Each write is a command decided in the core; the edge looks up what the core
//! cannot know (catalogue criticalities, the release record).

use axum::Json;
use axum::extract::{Path, State};
use hereby_api as api;
use hereby_core::Command;
use hereby_core::ladder::{self};
use hereby_store::{Communications, Directory, Store};
use jiff::Timestamp;

use crate::AppState;
use crate::convert;
use crate::error::ApiError;
use crate::extract::{ApiJson, Caller, IfMatch};
use crate::routes::incidents::{act, incident_id, visible};

/// `POST /api/v1/incidents/{id}/evaluation`
#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/evaluation",
    tag = "decisions",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The incident, e.g. INC-7")),
    request_body = api::EvaluationRequest,
    responses(
        (status = 200, body = api::EvaluationResult),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
        (status = 409, body = api::ErrorBody),
        (status = 413, body = api::ErrorBody),
        (status = 422, description = "A value is invalid, or a severity other than the suggestion was chosen without a reason", body = api::ErrorBody),
    )
)]
pub(crate) async fn evaluate<S: Store + Directory + Communications>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(id): Path<String>,
    if_match: IfMatch,
    ApiJson(request): ApiJson<api::EvaluationRequest>,
) -> Result<Json<api::EvaluationResult>, ApiError> {
    let command = state
        .app
        .evaluation_command(&caller.0, incident_id(&id)?, &request)
        .await?;
    let Json(write) = act(&state, &caller, &id, if_match, command).await?;
    let evaluated = write
        .entries
        .iter()
        .find(|entry| entry.event_type == "severity_evaluated")
        .map(|entry| entry.body.clone())
        .unwrap_or_default();
    let field = |name: &str| evaluated[name].as_str().unwrap_or_default().to_owned();
    Ok(Json(api::EvaluationResult {
        suggested: field("suggested"),
        rule: field("rule"),
        chosen: field("chosen"),
        write,
    }))
}

/// `GET /api/v1/incidents/{id}/releases`
#[utoipa::path(
    get,
    path = "/api/v1/incidents/{id}/releases",
    tag = "decisions",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The incident, e.g. INC-7")),
    responses(
        (status = 200, description = "Releases of the affected services from 48 hours before impact start", body = api::IncidentReleases),
        (status = 401, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
    )
)]
pub(crate) async fn incident_releases<S: Store + Directory + Communications>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<api::IncidentReleases>, ApiError> {
    let number = incident_id(&id)?;
    let loaded = visible(&state, &caller, number).await?;
    let Some(incident) = loaded.state.incident() else {
        return Err(ApiError::not_found(number));
    };
    let now = Timestamp::now();
    let (from, releases) =
        hereby_app::catalogue::around_impact(&state.store, incident, now).await?;
    Ok(Json(api::IncidentReleases {
        from: from.to_string(),
        to: now.to_string(),
        suspect: incident.suspect_release.as_ref().map(convert::release_ref),
        releases: releases.iter().map(convert::release).collect(),
    }))
}

/// `POST /api/v1/incidents/{id}/suspect-release`
#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/suspect-release",
    tag = "decisions",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The incident, e.g. INC-7")),
    request_body = api::SuspectRequest,
    responses(
        (status = 200, body = api::WriteResult),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
        (status = 409, body = api::ErrorBody),
        (status = 413, body = api::ErrorBody),
        (status = 422, description = "Not a recorded release, or nothing changes", body = api::ErrorBody),
    )
)]
pub(crate) async fn set_suspect<S: Store + Directory + Communications>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(id): Path<String>,
    if_match: IfMatch,
    ApiJson(request): ApiJson<api::SuspectRequest>,
) -> Result<Json<api::WriteResult>, ApiError> {
    let command = state
        .app
        .suspect_command(&caller.0, incident_id(&id)?, &request)
        .await?;
    act(&state, &caller, &id, if_match, command).await
}

/// `GET /api/v1/incidents/{id}/ladder`
#[utoipa::path(
    get,
    path = "/api/v1/incidents/{id}/ladder",
    tag = "decisions",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The incident, e.g. INC-7")),
    responses(
        (status = 200, description = "Each follow-up option, lowest perturbation first, with whether it applies and the actions it would set in motion", body = api::Ladder),
        (status = 401, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
    )
)]
pub(crate) async fn show_ladder<S: Store + Directory + Communications>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<api::Ladder>, ApiError> {
    let number = incident_id(&id)?;
    let loaded = visible(&state, &caller, number).await?;
    let Some(incident) = loaded.state.incident() else {
        return Err(ApiError::not_found(number));
    };
    let facts =
        hereby_app::catalogue::release_facts(&state.store, incident, Timestamp::now()).await?;
    Ok(Json(api::Ladder {
        guidance: ladder::GUIDANCE.to_owned(),
        rungs: ladder::ladder(incident, &facts)
            .into_iter()
            .map(|rung| api::Rung {
                option: rung.option.as_str().to_owned(),
                applicable: rung.applicable,
                note: rung.note,
                actions: rung
                    .actions
                    .into_iter()
                    .map(|action| api::PlannedAction {
                        text: action.text,
                        role: action.role.to_owned(),
                    })
                    .collect(),
                template: rung.template.map(str::to_owned),
                roll_back_to: rung.roll_back_to.as_ref().map(convert::release_ref),
            })
            .collect(),
        current: incident.decisions.last().map(convert::decision),
    }))
}

/// `POST /api/v1/incidents/{id}/decisions`
#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/decisions",
    tag = "decisions",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The incident, e.g. INC-7")),
    request_body = api::DecisionRequest,
    responses(
        (status = 200, description = "The decision, its generated action items, and a message drafted from the matching template", body = api::DecisionResult),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
        (status = 409, body = api::ErrorBody),
        (status = 413, body = api::ErrorBody),
        (status = 422, description = "Invalid option or motivation, or a roll-back that does not apply", body = api::ErrorBody),
    )
)]
pub(crate) async fn record_decision<S: Store + Directory + Communications>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(id): Path<String>,
    if_match: IfMatch,
    ApiJson(request): ApiJson<api::DecisionRequest>,
) -> Result<Json<api::DecisionResult>, ApiError> {
    let number = incident_id(&id)?;
    let (command, template) = state
        .app
        .decision_command(&caller.0, incident_id(&id)?, &request)
        .await?;
    let Json(write) = act(&state, &caller, &id, if_match, command).await?;
    // The draft is rendered for the incident as it is after the decision. The decision is
    // already recorded, so a template that fails to render only costs the draft: failing the
    // request would invite a retry that records the decision twice.
    let message_draft = match template {
        Some(name) => draft_message(&state, &caller, number, name).await,
        None => None,
    };
    Ok(Json(api::DecisionResult {
        write,
        message_draft,
    }))
}

/// `POST /api/v1/incidents/{id}/intents`
#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/intents",
    tag = "decisions",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The incident, e.g. INC-7")),
    request_body = api::IntentRequest,
    responses(
        (status = 200, description = "Announced; a `change_collision` entry among the entries warns of another person's change in the same window", body = api::WriteResult),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
        (status = 409, body = api::ErrorBody),
        (status = 413, body = api::ErrorBody),
        (status = 422, body = api::ErrorBody),
    )
)]
pub(crate) async fn announce_intent<S: Store + Directory>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(id): Path<String>,
    if_match: IfMatch,
    ApiJson(request): ApiJson<api::IntentRequest>,
) -> Result<Json<api::WriteResult>, ApiError> {
    let command = Command::try_from(request)?;
    act(&state, &caller, &id, if_match, command).await
}

/// `POST /api/v1/incidents/{id}/intents/{intent}/done`
#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/intents/{intent}/done",
    tag = "decisions",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The incident, e.g. INC-7"),
        ("intent" = u32, Path, description = "The intent's number"),
    ),
    request_body = api::IntentDone,
    responses(
        (status = 200, description = "Carried out: the intent became an operation", body = api::WriteResult),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
        (status = 409, body = api::ErrorBody),
        (status = 413, body = api::ErrorBody),
        (status = 422, body = api::ErrorBody),
    )
)]
pub(crate) async fn complete_intent<S: Store + Directory>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path((id, intent)): Path<(String, u32)>,
    if_match: IfMatch,
    ApiJson(request): ApiJson<api::IntentDone>,
) -> Result<Json<api::WriteResult>, ApiError> {
    let command = request.command(intent)?;
    act(&state, &caller, &id, if_match, command).await
}

/// `POST /api/v1/incidents/{id}/intents/{intent}/abandon`
#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/intents/{intent}/abandon",
    tag = "decisions",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The incident, e.g. INC-7"),
        ("intent" = u32, Path, description = "The intent's number"),
    ),
    request_body = api::IntentAbandon,
    responses(
        (status = 200, body = api::WriteResult),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
        (status = 409, body = api::ErrorBody),
        (status = 413, body = api::ErrorBody),
        (status = 422, body = api::ErrorBody),
    )
)]
pub(crate) async fn abandon_intent<S: Store + Directory>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path((id, intent)): Path<(String, u32)>,
    if_match: IfMatch,
    ApiJson(request): ApiJson<api::IntentAbandon>,
) -> Result<Json<api::WriteResult>, ApiError> {
    let command = request.command(intent)?;
    act(&state, &caller, &id, if_match, command).await
}

/// `PUT /api/v1/incidents/{id}/witness-rule` (the Incident Commander)
#[utoipa::path(
    put,
    path = "/api/v1/incidents/{id}/witness-rule",
    tag = "decisions",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The incident, e.g. INC-7")),
    request_body = api::WitnessRule,
    responses(
        (status = 200, body = api::WriteResult),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
        (status = 409, body = api::ErrorBody),
        (status = 413, body = api::ErrorBody),
        (status = 422, body = api::ErrorBody),
    )
)]
pub(crate) async fn set_witness_rule<S: Store + Directory>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(id): Path<String>,
    if_match: IfMatch,
    ApiJson(request): ApiJson<api::WitnessRule>,
) -> Result<Json<api::WriteResult>, ApiError> {
    let command = Command::try_from(request)?;
    act(&state, &caller, &id, if_match, command).await
}

/// `POST /api/v1/incidents/{id}/changes/acknowledge` (the Incident Commander)
#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/changes/acknowledge",
    tag = "decisions",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The incident, e.g. INC-7")),
    responses(
        (status = 200, description = "Changes so far acknowledged, open collisions settled", body = api::WriteResult),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
        (status = 409, body = api::ErrorBody),
        (status = 422, body = api::ErrorBody),
    )
)]
pub(crate) async fn acknowledge_changes<S: Store + Directory>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(id): Path<String>,
    if_match: IfMatch,
) -> Result<Json<api::WriteResult>, ApiError> {
    act(&state, &caller, &id, if_match, Command::AcknowledgeChanges).await
}

/// The message drafted from `template` for the incident as it stands, if it renders.
async fn draft_message<S: Store + Directory + Communications>(
    state: &AppState<S>,
    caller: &Caller,
    number: hereby_core::types::IncidentNumber,
    template: &str,
) -> Option<api::Message> {
    let after = visible(state, caller, number).await.ok()?;
    let incident = after.state.incident()?;
    let template = state.app.template(template).await.ok()?;
    match state.app.render_message(number, incident, &template) {
        Ok(message) => Some(api::Message {
            template: template.name,
            subject: message.subject,
            body: message.body,
        }),
        Err(error) => {
            tracing::warn!(%number, %error, "the decision's message draft does not render");
            None
        }
    }
}
