//! The review-meeting pages: an incident's agenda, next meeting (with its invitation), the
//! forms that move the next meeting and record one, the minutes of those held; and the
//! overview of upcoming meetings and overdue follow-ups across the incidents the viewer may
//! see. Reads and writes go through the application layer, so the rules are the API's.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use hereby_api as api;
use hereby_core::Command;
use hereby_core::types::InstallationRole;
use hereby_store::{Directory, Notifications, Store};
use serde::Serialize;

use super::PageError;
use super::act;
use super::render::when;
use super::render::{self, data};
use super::session::{Fields, SignedForm, Viewer};
use super::show;
use crate::AppState;
use crate::convert;
use crate::error::ApiError;
use crate::extract::incident_id;
use hereby_api::time;

#[derive(Debug, Serialize)]
struct AgendaRow {
    item: u32,
    text: String,
    owner: String,
    state: String,
    state_label: String,
    due: Option<String>,
    days_open: i64,
    overdue: bool,
    tracker_url: Option<String>,
    /// Kept in a tracker: its issue, the state it reported and when, or the sync error.
    tracked: Option<TrackedCell>,
}

#[derive(Debug, Serialize)]
struct TrackedCell {
    tracker: String,
    key: Option<String>,
    state: Option<String>,
    synced: Option<String>,
    error: Option<String>,
}

fn agenda_row(item: api::AgendaItem) -> AgendaRow {
    let now = jiff::Timestamp::now();
    let tracked = item.tracked.map(|row| TrackedCell {
        tracker: row.tracker,
        key: row.key,
        state: row.state.map(|state| state.replace('_', " ")),
        synced: row
            .synced_at
            .as_deref()
            .and_then(|at| at.parse::<jiff::Timestamp>().ok())
            .map(|at| format!("{} ago", render::age(at, now))),
        error: row.sync_error,
    });
    AgendaRow {
        tracked,
        item: item.item,
        text: item.text,
        owner: item.owner,
        state_label: item.state.replace('_', " "),
        state: item.state,
        due: item.due,
        days_open: item.days_open,
        overdue: item.overdue,
        tracker_url: item.tracker_url,
    }
}

#[derive(Debug, Serialize)]
struct OutcomeRow {
    item: u32,
    decision: &'static str,
    reason: Option<String>,
    due: Option<String>,
}

#[derive(Debug, Serialize)]
struct HeldRow {
    meeting: u32,
    at: String,
    attendees: Vec<String>,
    notes_html: Option<minijinja::Value>,
    outcomes: Vec<OutcomeRow>,
}

/// A review decision as people read it.
fn decision_label(decision: &str) -> &'static str {
    match decision {
        "done" => "done",
        "wont_fix" => "won't fix",
        "open" => "still open",
        _ => "decided",
    }
}

/// The reviews page of an incident, optionally with a rejected form's reason and values.
async fn reviews_page<S: Store + Directory + Notifications>(
    state: &AppState<S>,
    viewer: &Viewer,
    raw_id: &str,
    status: StatusCode,
    error: Option<&str>,
    fields: &Fields,
) -> Result<Response, PageError> {
    let reviews = state
        .app
        .reviews(viewer.user(), incident_id(raw_id)?)
        .await?;
    let responder = viewer.user().role >= InstallationRole::Responder;
    let users: Vec<String> = if responder {
        state
            .store
            .list_users()
            .await
            .map_err(ApiError::from)?
            .into_iter()
            .map(|user| user.name.to_string())
            .collect()
    } else {
        Vec::new()
    };
    let now = jiff::Timestamp::now();
    let next = reviews.next.as_ref().map(|next| {
        let at = next.at.parse::<jiff::Timestamp>().ok();
        minijinja::context! {
            meeting => next.meeting,
            at => when(&next.at),
            at_iso => &next.at,
            // The move form's starting value: a `datetime-local` in UTC, to the minute.
            local => at.map(|at| at.strftime("%Y-%m-%dT%H:%M").to_string()),
            relative => at.map(|at| if at <= now {
                format!("{} ago", render::age(at, now))
            } else {
                format!("in {}", render::age(now, at))
            }),
            ics => format!("/incidents/{}/reviews/next.ics", reviews.id),
        }
    });
    let agenda: Vec<AgendaRow> = reviews.agenda.into_iter().map(agenda_row).collect();
    let open: Vec<&AgendaRow> = agenda.iter().filter(|row| row.state == "open").collect();
    let held: Vec<HeldRow> = reviews
        .held
        .into_iter()
        .rev()
        .map(|meeting| HeldRow {
            meeting: meeting.meeting,
            at: when(&meeting.at),
            attendees: meeting.attendees,
            notes_html: meeting
                .notes
                .map(|notes| minijinja::Value::from_safe_string(render::markdown(&notes))),
            outcomes: meeting
                .outcomes
                .into_iter()
                .map(|outcome| OutcomeRow {
                    item: outcome.item,
                    decision: decision_label(&outcome.decision),
                    reason: outcome.reason,
                    due: outcome.due,
                })
                .collect(),
        })
        .collect();
    show(
        status,
        "reviews.html",
        minijinja::context! {
            viewer => viewer.context(),
            error => error,
            form => fields.context(),
            // The attendees chosen in a refused form, selected again.
            chosen => fields.all("attendees").map(str::to_owned).collect::<Vec<_>>(),
            i => minijinja::context! {
                id => &reviews.id,
                title => &reviews.title,
                status => &reviews.status,
                resolved => reviews.status == "resolved",
            },
            next => next,
            agenda => data(&agenda),
            open => data(&open),
            held => data(&held),
            users => users,
            settled => reviews.follow_ups_settled,
            postmortem_status => reviews.postmortem_status.as_deref().map(|s| s.replace('_', " ")),
            closable => reviews.closable,
        },
    )
}

/// `GET /incidents/{id}/reviews`
pub(crate) async fn page<S: Store + Directory + Notifications>(
    State(state): State<AppState<S>>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    reviews_page(
        &state,
        &viewer,
        &id,
        StatusCode::OK,
        None,
        &Fields::default(),
    )
    .await
}

/// After a form of the reviews page: back to it, or the page again with the reason and
/// what was typed (404 for an incident the viewer may not see, as the page checks again).
async fn after<S: Store + Directory + Notifications>(
    state: &AppState<S>,
    viewer: &Viewer,
    id: &str,
    fields: &Fields,
    result: Result<(), ApiError>,
) -> Response {
    match result {
        Ok(()) => Redirect::to(&format!("/incidents/{id}/reviews")).into_response(),
        Err(error) => reviews_page(
            state,
            viewer,
            id,
            error.status,
            Some(&error.message),
            fields,
        )
        .await
        .unwrap_or_else(IntoResponse::into_response),
    }
}

/// `POST /incidents/{id}/reviews/schedule`: moves the next meeting to a time given in UTC.
pub(crate) async fn schedule<S: Store + Directory + Notifications>(
    State(state): State<AppState<S>>,
    Path(id): Path<String>,
    SignedForm { viewer, fields }: SignedForm,
) -> Response {
    let result = async {
        let raw = super::required(&fields, "at")?;
        let at = time("at")(raw)?;
        act(
            &state,
            &viewer.caller,
            &id,
            None,
            Command::ScheduleReviewMeeting { at },
        )
        .await
        .map(|_| ())
    }
    .await;
    after(&state, &viewer, &id, &fields, result).await
}

/// The meeting the record form describes: attendees from the multiple select and the
/// comma-separated field, the notes, and a decision per follow-up that has one
/// (`decision-N`, with `reason-N` or `due-N`).
fn meeting(fields: &Fields) -> api::RecordMeeting {
    let mut attendees: Vec<String> = fields.all("attendees").map(str::to_owned).collect();
    for name in fields
        .get("attendees_other")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
    {
        if !attendees.iter().any(|known| known == name) {
            attendees.push(name.to_owned());
        }
    }
    let mut outcomes = Vec::new();
    for (key, decision) in fields.pairs() {
        let Some(item) = key.strip_prefix("decision-") else {
            continue;
        };
        let decision = decision.trim();
        let Ok(number) = item.parse::<u32>() else {
            continue;
        };
        if decision.is_empty() {
            continue;
        }
        outcomes.push(api::Outcome {
            item: number,
            decision: decision.to_owned(),
            reason: fields
                .get(&format!("reason-{item}"))
                .filter(|_| decision == "wont_fix")
                .map(str::to_owned),
            due: fields
                .get(&format!("due-{item}"))
                .filter(|_| decision == "open")
                .map(str::to_owned),
        });
    }
    api::RecordMeeting {
        attendees,
        notes: fields
            .raw("notes")
            .map(|notes| notes.replace("\r\n", "\n"))
            .filter(|notes| !notes.trim().is_empty()),
        outcomes,
        at: fields.get("held_at").map(str::to_owned),
    }
}

/// `POST /incidents/{id}/reviews/record`: records a meeting.
pub(crate) async fn record<S: Store + Directory + Notifications>(
    State(state): State<AppState<S>>,
    Path(id): Path<String>,
    SignedForm { viewer, fields }: SignedForm,
) -> Response {
    let result = async {
        state
            .app
            .record_review_meeting(viewer.user(), incident_id(&id)?, None, &meeting(&fields))
            .await?;
        Ok::<(), ApiError>(())
    }
    .await;
    after(&state, &viewer, &id, &fields, result).await
}

/// `GET /incidents/{id}/reviews/next.ics`: the next meeting's invitation, the same file the
/// API gives, for a signed-in viewer who may see the incident.
pub(crate) async fn invitation<S: Store + Directory + Notifications>(
    State(state): State<AppState<S>>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Response {
    let invitation = async {
        let number = incident_id(&id)?;
        Ok::<_, PageError>(state.app.next_meeting_ics(viewer.user(), number).await?)
    }
    .await;
    match invitation {
        Ok(invitation) => convert::file(invitation),
        Err(error) => error.into_response(),
    }
}

#[derive(Debug, Serialize)]
struct UpcomingRow {
    id: String,
    title: String,
    next: Option<String>,
    relative: Option<String>,
    open_follow_ups: u32,
    overdue: usize,
    postmortem_status: Option<String>,
}

#[derive(Debug, Serialize)]
struct OverdueRow {
    id: String,
    title: String,
    #[serde(flatten)]
    item: AgendaRow,
}

/// `GET /reviews`: upcoming review meetings, soonest first, and overdue follow-ups, across
/// the incidents the viewer may see.
pub(crate) async fn overview<S: Store + Directory + Notifications>(
    State(state): State<AppState<S>>,
    viewer: Viewer,
) -> Result<Response, PageError> {
    let overview = state.app.reviews_overview(viewer.user()).await?;
    let now = jiff::Timestamp::now();
    let mut upcoming = Vec::new();
    let mut overdue = Vec::new();
    for row in overview.incidents {
        let at = row
            .next_meeting
            .as_deref()
            .and_then(|at| at.parse::<jiff::Timestamp>().ok());
        upcoming.push(UpcomingRow {
            id: row.id.clone(),
            title: row.title.clone(),
            next: row.next_meeting.as_deref().map(when),
            relative: at.map(|at| {
                if at <= now {
                    format!("{} ago", render::age(at, now))
                } else {
                    format!("in {}", render::age(now, at))
                }
            }),
            open_follow_ups: row.open_follow_ups,
            overdue: row.overdue_follow_ups.len(),
            postmortem_status: row.postmortem_status.map(|s| s.replace('_', " ")),
        });
        for item in row.overdue_follow_ups {
            overdue.push(OverdueRow {
                id: row.id.clone(),
                title: row.title.clone(),
                item: agenda_row(item),
            });
        }
    }
    show(
        StatusCode::OK,
        "reviews_overview.html",
        minijinja::context! {
            viewer => viewer.context(),
            upcoming => data(&upcoming),
            overdue => data(&overdue),
        },
    )
}
