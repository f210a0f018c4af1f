//! Post-mortem review meetings: an incident's agenda, minutes and next meeting (with its
//! iCalendar invitation), recording a meeting, moving the next one, and the overview of
//! upcoming meetings and overdue follow-ups across incidents.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use hereby_api as api;
use hereby_core::event::FollowUpOutcome;
use hereby_core::review::{AgendaItem, agenda, follow_ups_settled};
use hereby_core::types::{
    IncidentNumber, PostmortemStatus, Reason, ReviewDecision, Status, Text, UserName,
};
use hereby_core::{Command, Event, Incident};
use hereby_store::{Directory, ListQuery, Notifications, Store, StoreError};
use jiff::Timestamp;
use jiff::civil::Date;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{ApiJson, Caller, IfMatch};
use crate::routes::incidents::{act, incident_id, visible};

fn wire_agenda(item: AgendaItem) -> api::AgendaItem {
    api::AgendaItem {
        item: item.item,
        text: item.text,
        owner: item.owner.to_string(),
        state: item.state.to_string(),
        due: item.due.map(|due| due.to_string()),
        tracker_url: item.tracker_url.map(|url| url.to_string()),
        days_open: item.days_open,
        overdue: item.overdue,
    }
}

/// Whether the incident may close now without an override.
fn closable(incident: &Incident) -> bool {
    incident.status == Status::Resolved
        && follow_ups_settled(incident)
        && incident.postmortem.as_ref().is_some_and(|postmortem| {
            matches!(
                postmortem.status,
                PostmortemStatus::Reviewed | PostmortemStatus::Published
            )
        })
}

/// The minutes of every meeting held, from the stream.
async fn minutes<S: Store>(
    store: &S,
    number: IncidentNumber,
) -> Result<Vec<api::HeldMeeting>, StoreError> {
    let mut held = Vec::new();
    for event in crate::postmortem::all_of_type(store, number, "review_meeting_held").await? {
        if let Event::ReviewMeetingHeld(meeting) = event.event {
            held.push(api::HeldMeeting {
                meeting: meeting.meeting,
                at: event.at.to_string(),
                attendees: meeting.attendees.iter().map(|a| a.to_string()).collect(),
                notes: meeting.notes.map(|n| n.to_string()),
                outcomes: meeting
                    .outcomes
                    .into_iter()
                    .map(|outcome| api::Outcome {
                        item: outcome.item,
                        decision: outcome.decision.to_string(),
                        reason: outcome.reason.map(|r| r.to_string()),
                        due: outcome.due.map(|d| d.to_string()),
                    })
                    .collect(),
            });
        }
    }
    Ok(held)
}

/// `GET /api/v1/incidents/{id}/reviews`
#[utoipa::path(
    get,
    path = "/api/v1/incidents/{id}/reviews",
    tag = "reviews",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The incident, e.g. INC-7")),
    responses(
        (status = 200, description = "The agenda (every follow-up, open ones first), the next meeting and the minutes of those held", body = api::Reviews),
        (status = 401, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
    )
)]
pub(crate) async fn show<S: Store + Directory>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<api::Reviews>, ApiError> {
    let number = incident_id(&id)?;
    let loaded = visible(&state, &caller, number).await?;
    let Some(incident) = loaded.state.incident() else {
        return Err(ApiError::not_found(number));
    };
    let now = Timestamp::now();
    Ok(Json(api::Reviews {
        id: number.to_string(),
        title: incident.title.to_string(),
        status: incident.status.to_string(),
        next: incident.reviews.next.map(|(meeting, at)| api::NextMeeting {
            meeting,
            at: at.to_string(),
            ics_url: format!("/api/v1/incidents/{number}/reviews/next.ics"),
        }),
        agenda: agenda(incident, now).into_iter().map(wire_agenda).collect(),
        held: minutes(&state.store, number).await?,
        follow_ups_settled: follow_ups_settled(incident),
        postmortem_status: incident
            .postmortem
            .as_ref()
            .map(|postmortem| postmortem.status.to_string()),
        closable: closable(incident),
    }))
}

/// `POST /api/v1/incidents/{id}/reviews`
#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/reviews",
    tag = "reviews",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The incident, e.g. INC-7")),
    request_body = api::RecordMeeting,
    responses(
        (status = 200, description = "Recorded; while a follow-up stays open the next meeting is scheduled one interval later", body = api::WriteResult),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
        (status = 409, body = api::ErrorBody),
        (status = 422, description = "`invalid_review_meeting`, `action_item_state`, `reason_required` …", body = api::ErrorBody),
    )
)]
pub(crate) async fn record<S: Store + Directory>(
    State(state): State<AppState<S>>,
    caller: Caller,
    if_match: IfMatch,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<api::RecordMeeting>,
) -> Result<Json<api::WriteResult>, ApiError> {
    let attendees = request
        .attendees
        .iter()
        .map(|name| UserName::parse(name))
        .collect::<Result<Vec<_>, _>>()?;
    let outcomes = request
        .outcomes
        .iter()
        .map(|outcome| {
            Ok(FollowUpOutcome {
                item: outcome.item,
                decision: ReviewDecision::parse(&outcome.decision)?,
                reason: outcome.reason.as_deref().map(Reason::parse).transpose()?,
                due: outcome
                    .due
                    .as_deref()
                    .map(|raw| {
                        raw.trim()
                            .parse::<Date>()
                            .map_err(|_| hereby_core::types::InvalidValue {
                                field: "due",
                                problem: format!("`{raw}` is not a date like 2026-12-31"),
                            })
                    })
                    .transpose()?,
            })
        })
        .collect::<Result<Vec<_>, hereby_core::types::InvalidValue>>()?;
    let command = Command::RecordReviewMeeting {
        attendees,
        notes: request.notes.as_deref().map(Text::parse).transpose()?,
        outcomes,
    };
    act(&state, &caller, &id, if_match, command).await
}

/// `PUT /api/v1/incidents/{id}/reviews/next`
#[utoipa::path(
    put,
    path = "/api/v1/incidents/{id}/reviews/next",
    tag = "reviews",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The incident, e.g. INC-7")),
    request_body = api::ScheduleMeeting,
    responses(
        (status = 200, description = "The next meeting is set for that time", body = api::WriteResult),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
        (status = 409, body = api::ErrorBody),
        (status = 422, body = api::ErrorBody),
    )
)]
pub(crate) async fn schedule<S: Store + Directory>(
    State(state): State<AppState<S>>,
    caller: Caller,
    if_match: IfMatch,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<api::ScheduleMeeting>,
) -> Result<Json<api::WriteResult>, ApiError> {
    let at: Timestamp =
        request
            .at
            .trim()
            .parse()
            .map_err(|_| hereby_core::types::InvalidValue {
                field: "at",
                problem: format!(
                    "`{}` is not a time like 2026-12-30T15:00:00Z",
                    request.at.trim()
                ),
            })?;
    act(
        &state,
        &caller,
        &id,
        if_match,
        Command::ScheduleReviewMeeting { at },
    )
    .await
}

/// `GET /api/v1/incidents/{id}/reviews/next.ics`
#[utoipa::path(
    get,
    path = "/api/v1/incidents/{id}/reviews/next.ics",
    tag = "reviews",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The incident, e.g. INC-7")),
    responses(
        (status = 200, description = "The next meeting's invitation", content_type = "text/calendar"),
        (status = 401, body = api::ErrorBody),
        (status = 404, description = "No such incident, or no meeting planned", body = api::ErrorBody),
    )
)]
pub(crate) async fn next_ics<S: Store + Directory + Notifications>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let number = incident_id(&id)?;
    let loaded = visible(&state, &caller, number).await?;
    let Some(incident) = loaded.state.incident() else {
        return Err(ApiError::not_found(number));
    };
    let ics = state
        .app
        .review_invitation(number, incident, Timestamp::now())
        .await?
        .ok_or_else(|| ApiError::not_found(format!("a planned review meeting of {number}")))?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "text/calendar; charset=utf-8".to_owned(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"{}-review.ics\"",
                    number.to_string().to_lowercase()
                ),
            ),
        ],
        ics,
    ))
}

/// `GET /api/v1/reviews`
#[utoipa::path(
    get,
    path = "/api/v1/reviews",
    tag = "reviews",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Resolved incidents the caller may see with a meeting planned or follow-ups open, soonest meeting first, with their overdue follow-ups", body = api::ReviewOverview),
        (status = 401, body = api::ErrorBody),
    )
)]
pub(crate) async fn overview<S: Store + Directory>(
    State(state): State<AppState<S>>,
    caller: Caller,
) -> Result<Json<api::ReviewOverview>, ApiError> {
    let now = Timestamp::now();
    let mut rows = Vec::new();
    let mut before = None;
    loop {
        let page = state
            .store
            .list_incidents(&ListQuery {
                limit: 500,
                before,
                statuses: vec![Status::Resolved],
                visible_to: (!caller.is_admin()).then(|| caller.0.name.clone()),
                ..ListQuery::default()
            })
            .await?;
        let done = page.len() < 500;
        for summary in &page {
            before = Some(summary.number);
            let loaded = state.store.load(summary.number).await?;
            let Some(incident) = loaded.state.incident() else {
                continue;
            };
            // Checked again on the loaded state, as every list does: the row may be older.
            if !caller.sees(incident) {
                continue;
            }
            let items = agenda(incident, now);
            let open = items
                .iter()
                .filter(|item| item.state == hereby_core::types::ActionState::Open)
                .count();
            if incident.reviews.next.is_none() && open == 0 {
                continue;
            }
            rows.push((
                incident.reviews.next.map(|(_, at)| at),
                api::ReviewOverviewRow {
                    id: summary.number.to_string(),
                    title: incident.title.to_string(),
                    next_meeting: incident.reviews.next.map(|(_, at)| at.to_string()),
                    open_follow_ups: u32::try_from(open).unwrap_or(u32::MAX),
                    overdue_follow_ups: items
                        .into_iter()
                        .filter(|item| item.overdue)
                        .map(wire_agenda)
                        .collect(),
                    postmortem_status: incident
                        .postmortem
                        .as_ref()
                        .map(|postmortem| postmortem.status.to_string()),
                },
            ));
        }
        if done {
            break;
        }
    }
    rows.sort_by_key(|(next, row)| (next.is_none(), *next, row.id.clone()));
    Ok(Json(api::ReviewOverview {
        incidents: rows.into_iter().map(|(_, row)| row).collect(),
    }))
}
