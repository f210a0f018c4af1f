//! The pages people read: the dashboard, the incident list and search, the declare form,
//! and the incident page, which is the live Incident State Document.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use hereby_core::Incident;
use hereby_core::types::{
    ActionKind, IncidentNumber, InstallationRole, LinkKind, ServiceName, Severity, Status,
    Visibility,
};
use hereby_store::{Communications, Directory, IncidentSummary, ListQuery, Store};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::render::data;
use super::session::{Fields, Viewer};
use super::view::{IncidentView, RECENT};
use super::visible;
use super::{PageError, bad_query, render, show};
use crate::AppState;
use crate::extract::incident_id;

/// One row of an incident table.
#[derive(Debug, Serialize)]
struct Row {
    id: String,
    title: String,
    status: &'static str,
    severity: &'static str,
    potential: bool,
    restricted: bool,
    services: Vec<String>,
    commander: Option<String>,
    age: String,
    declared_at: String,
    updated: String,
    updated_at: String,
    /// The last stakeholder update, how long ago (active incidents; `None` before the first).
    last_update: Option<String>,
    last_update_at: Option<String>,
    /// The next stakeholder update is due and none was posted.
    update_overdue: bool,
}

fn row(summary: &IncidentSummary, now: Timestamp) -> Row {
    Row {
        id: summary.number.to_string(),
        title: summary.title.clone(),
        status: summary.status.as_str(),
        severity: summary.severity.as_str(),
        potential: summary.potential,
        restricted: summary.visibility == hereby_core::types::Visibility::Restricted,
        services: summary.services.clone(),
        commander: summary.commander.clone(),
        age: render::age(summary.declared_at, now),
        declared_at: render::clock(summary.declared_at),
        updated: render::ago(summary.updated_at, now),
        updated_at: render::clock(summary.updated_at),
        last_update: None,
        last_update_at: None,
        update_overdue: false,
    }
}

/// An active incident's row with its stakeholder-update standing, read from its state.
fn active_row(
    summary: &IncidentSummary,
    incident: Option<&hereby_core::Incident>,
    cadence: &hereby_core::Cadence,
    now: Timestamp,
) -> Row {
    let mut row = row(summary, now);
    if let Some(incident) = incident {
        row.last_update = incident.last_update_at.map(|at| render::ago(at, now));
        row.last_update_at = incident.last_update_at.map(render::clock);
        row.update_overdue = incident
            .next_update_due(cadence)
            .is_some_and(|due| due <= now);
    }
    row
}

const ACTIVE: [Status; 3] = [
    Status::Investigating,
    Status::Identified,
    Status::Monitoring,
];

/// Filters of the dashboard and the incident list. Unknown values are refused with a
/// sentence, not ignored: a filter that silently does nothing misleads.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Filters {
    q: Option<String>,
    status: Option<String>,
    severity: Option<String>,
    service: Option<String>,
    before: Option<u64>,
}

impl Filters {
    fn query(&self, viewer: &Viewer, limit: u32) -> Result<ListQuery, PageError> {
        let invalid = |error: hereby_core::types::InvalidValue| {
            PageError::new(StatusCode::BAD_REQUEST, format!("Filter: {error}."))
        };
        let blank = |value: &Option<String>| {
            value
                .as_deref()
                .map(str::trim)
                .filter(|value| !value.is_empty())
                .map(str::to_owned)
        };
        let statuses = match blank(&self.status).as_deref() {
            None => Vec::new(),
            Some("active") => ACTIVE.to_vec(),
            Some(status) => vec![Status::parse(status).map_err(invalid)?],
        };
        let severities = match blank(&self.severity) {
            None => Vec::new(),
            Some(severity) => vec![Severity::parse(&severity).map_err(invalid)?],
        };
        Ok(ListQuery {
            limit,
            before: self.before.map(IncidentNumber),
            statuses,
            severities,
            visibilities: Vec::new(),
            service: blank(&self.service)
                .map(|service| ServiceName::parse(&service))
                .transpose()
                .map_err(invalid)?,
            text: hereby_api::search_text(self.q.as_deref()).map_err(invalid)?,
            visible_to: (!viewer.caller.is_admin()).then(|| viewer.user().name.clone()),
        })
    }

    fn context(&self) -> minijinja::Value {
        minijinja::context! {
            q => self.q.as_deref().unwrap_or_default(),
            status => self.status.as_deref().unwrap_or_default(),
            severity => self.severity.as_deref().unwrap_or_default(),
            service => self.service.as_deref().unwrap_or_default(),
        }
    }
}

fn names<T: Copy>(all: &[T], name: impl Fn(T) -> &'static str) -> Vec<&'static str> {
    all.iter().map(|value| name(*value)).collect()
}

/// The dashboard's two tables: every active incident, and the latest that ended.
async fn dashboard_tables<S: Store + Directory>(
    state: &AppState<S>,
    viewer: &Viewer,
    filters: &Filters,
) -> Result<minijinja::Value, PageError> {
    let now = Timestamp::now();
    let mut active = filters.query(viewer, 200)?;
    // Candidates from alerts wait for a person: they are on the dashboard with the active.
    active.statuses = ACTIVE.iter().copied().chain([Status::Triage]).collect();
    let mut ended = filters.query(viewer, 10)?;
    ended.statuses = vec![
        Status::Resolved,
        Status::Closed,
        Status::CalledOff,
        Status::HandedBack,
    ];
    let active = state
        .store
        .list_incidents(&active)
        .await
        .map_err(crate::error::ApiError::from)?;
    let ended = state
        .store
        .list_incidents(&ended)
        .await
        .map_err(crate::error::ApiError::from)?;
    // The most severe first, then the newest: what needs attention is at the top.
    let mut active: Vec<_> = active.iter().collect();
    active.sort_by_key(|summary| (summary.severity, std::cmp::Reverse(summary.number)));
    // "Last update" is the last word to stakeholders, not the last change: read from each
    // active incident's state (few at a time, and loaded concurrently).
    let states = futures_util::future::join_all(
        active
            .iter()
            .map(|summary| state.store.load(summary.number)),
    )
    .await;
    let active_rows: Vec<Row> = active
        .iter()
        .zip(&states)
        .map(|(summary, loaded)| {
            let incident = loaded
                .as_ref()
                .ok()
                .and_then(|loaded| loaded.state.incident());
            active_row(summary, incident, &state.cadence, now)
        })
        .collect();
    Ok(minijinja::context! {
        empty => active_rows.is_empty() && ended.is_empty(),
        active => data(active_rows),
        ended => data(ended.iter().map(|s| row(s, now)).collect::<Vec<_>>()),
    })
}

/// For an admin on an installation without incidents: what there is to set up next (people,
/// the service catalogue, a notification channel), and what is done already.
async fn first_steps<S: Store + Directory + Communications + hereby_store::Notifications>(
    state: &AppState<S>,
    viewer: &Viewer,
) -> Result<Option<minijinja::Value>, PageError> {
    if viewer.user().role != InstallationRole::Admin {
        return Ok(None);
    }
    let users = state
        .store
        .list_users()
        .await
        .map_err(crate::error::ApiError::from)?
        .len();
    let services = hereby_app::catalogue::services(&state.store)
        .await
        .map_err(crate::error::ApiError::from)?
        .len();
    let channels = state
        .store
        .channels()
        .await
        .map_err(crate::error::ApiError::from)?
        .len();
    Ok(Some(minijinja::context! {
        users => users,
        services => services,
        channels => channels,
    }))
}

fn filter_options() -> minijinja::Value {
    minijinja::context! {
        severities => names(Severity::ALL, Severity::as_str),
        statuses => names(Status::ALL, Status::as_str),
    }
}

/// `GET /`: the dashboard.
pub(crate) async fn dashboard<
    S: Store + Directory + Communications + hereby_store::Notifications,
>(
    State(state): State<AppState<S>>,
    viewer: Viewer,
    filters: Result<Query<Filters>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    let Query(filters) = filters.map_err(bad_query)?;
    let tables = dashboard_tables(&state, &viewer, &filters).await?;
    let unfiltered = filters.q.is_none()
        && filters.status.is_none()
        && filters.severity.is_none()
        && filters.service.is_none();
    let setup = if unfiltered && tables.get_attr("empty").is_ok_and(|empty| empty.is_true()) {
        first_steps(&state, &viewer).await?
    } else {
        None
    };
    show(
        StatusCode::OK,
        "dashboard.html",
        minijinja::context! {
            viewer => viewer.context(),
            setup => setup,
            tables => tables,
            filters => filters.context(),
            options => filter_options(),
        },
    )
}

/// `GET /fragments/dashboard`: the dashboard's tables, which the page refreshes live.
pub(crate) async fn dashboard_fragment<S: Store + Directory>(
    State(state): State<AppState<S>>,
    viewer: Viewer,
    filters: Result<Query<Filters>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    let Query(filters) = filters.map_err(bad_query)?;
    let tables = dashboard_tables(&state, &viewer, &filters).await?;
    show(
        StatusCode::OK,
        "tables.html",
        minijinja::context! { viewer => viewer.context(), tables => tables },
    )
}

/// `GET /incidents`: every incident the viewer may see, filtered and searched, a page at
/// a time.
pub(crate) async fn list<S: Store + Directory>(
    State(state): State<AppState<S>>,
    viewer: Viewer,
    filters: Result<Query<Filters>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    const PER_PAGE: u32 = 25;
    let Query(filters) = filters.map_err(bad_query)?;
    let query = filters.query(&viewer, PER_PAGE)?;
    let rows = state
        .store
        .list_incidents(&query)
        .await
        .map_err(crate::error::ApiError::from)?;
    let now = Timestamp::now();
    let next = (rows.len() == PER_PAGE as usize)
        .then(|| rows.last().map(|row| row.number.0))
        .flatten()
        .map(|before| {
            let mut link = format!("/incidents?before={before}");
            for (name, value) in [
                ("q", &filters.q),
                ("status", &filters.status),
                ("severity", &filters.severity),
                ("service", &filters.service),
            ] {
                if let Some(value) = value.as_deref().filter(|v| !v.trim().is_empty()) {
                    link.push_str(&format!("&{name}={}", render::url_encode(value)));
                }
            }
            link
        });
    show(
        StatusCode::OK,
        "list.html",
        minijinja::context! {
            viewer => viewer.context(),
            rows => data(rows.iter().map(|s| row(s, now)).collect::<Vec<_>>()),
            filters => filters.context(),
            options => filter_options(),
            next => next,
            paged => filters.before.is_some(),
        },
    )
}

/// The declare form, empty or as it was sent with what was wrong.
pub(crate) async fn declare_page<S: Communications>(
    store: &S,
    viewer: &Viewer,
    status: StatusCode,
    form: minijinja::Value,
    error: Option<&str>,
) -> Result<Response, PageError> {
    let catalogue = super::judgement::declare_context(store).await?;
    show(
        status,
        "declare.html",
        minijinja::context! {
            catalogue => catalogue,
            viewer => viewer.context(),
            form => form,
            error => error,
            severities => names(Severity::ALL, Severity::as_str),
        },
    )
}

/// `GET /incidents/new`
pub(crate) async fn declare_form<
    S: Store
        + Directory
        + Communications
        + hereby_store::Alerts
        + hereby_store::Search
        + hereby_store::Notifications,
>(
    State(state): State<AppState<S>>,
    viewer: Viewer,
) -> Result<Response, PageError> {
    viewer.caller.require(InstallationRole::Responder)?;
    declare_page(
        &state.store,
        &viewer,
        StatusCode::OK,
        Fields::default().context(),
        None,
    )
    .await
}

#[derive(Debug, Serialize)]
struct RoleView<'a> {
    key: &'a str,
    name: &'a str,
    multiple: bool,
    holders: Vec<&'a str>,
    duties: &'a [String],
    mine: bool,
}

#[derive(Debug, Serialize)]
struct ItemView<'a> {
    item: u32,
    text: &'a str,
    owner: String,
    due: Option<String>,
    kind: &'static str,
    state: &'static str,
    tracker_url: Option<&'a str>,
    wont_fix_reason: Option<&'a str>,
    /// Kept in a tracker, whose word on its state is final (the core's `tracked`).
    tracker: Option<&'a str>,
    tracker_key: Option<&'a str>,
    /// How its last sync went: when, or why it failed.
    synced: Option<String>,
    sync_error: Option<String>,
}

/// Everything the incident page and its live-refreshed state section print.
pub(crate) async fn incident_context<S: Store + Communications + hereby_store::Notifications>(
    viewer: &Viewer,
    number: IncidentNumber,
    incident: &Incident,
    view: &IncidentView,
    state: &AppState<S>,
    error: Option<&str>,
    form: minijinja::Value,
) -> Result<minijinja::Value, PageError> {
    let now = Timestamp::now();
    let me = &viewer.user().name;
    let roles: Vec<RoleView> = state
        .policy
        .roles
        .roles()
        .iter()
        .map(|role| {
            let holders = incident.holders_of(role.key.as_str());
            RoleView {
                key: role.key.as_str(),
                name: &role.name,
                multiple: role.multiple_holders,
                holders: holders.iter().map(|h| h.as_str()).collect(),
                duties: &role.duties,
                mine: holders.contains(me),
            }
        })
        .collect();
    // The tracker links of this incident's follow-ups, read only when one is tracked; the
    // trackers an open follow-up may be opened in, only for those who may ask.
    let tracked = if incident.action_items.values().any(|item| item.tracked()) {
        state
            .app
            .tracked_rows(number)
            .await
            .map_err(crate::error::ApiError::from)?
    } else {
        Vec::new()
    };
    let trackers: Vec<String> = if viewer.user().role >= InstallationRole::Responder
        && incident
            .action_items
            .values()
            .any(|item| item.kind == ActionKind::FollowUp && !item.tracked())
    {
        state
            .app
            .trackers()
            .await
            .map_err(crate::error::ApiError::from)?
            .into_iter()
            .map(|(name, _)| name)
            .collect()
    } else {
        Vec::new()
    };
    let items: Vec<ItemView> = incident
        .action_items
        .values()
        .map(|item| {
            let sync = hereby_app::trackers::sync_of(&tracked, item.item, item.tracker.as_ref());
            ItemView {
                tracker: item.tracker.as_ref().map(|link| link.tracker.as_str()),
                tracker_key: item
                    .tracker
                    .as_ref()
                    .and_then(|link| link.key.as_ref())
                    .map(|key| key.as_str()),
                synced: sync
                    .and_then(|row| row.synced_at)
                    .map(|at| render::ago(at, now)),
                sync_error: sync.and_then(|row| row.sync_error.clone()),
                item: item.item,
                text: item.text.as_str(),
                owner: item.owner.to_string(),
                due: item.due.map(|due| due.to_string()),
                kind: item.kind.as_str(),
                state: item.state.as_str(),
                tracker_url: item.tracker_url.as_ref().map(|url| url.as_str()),
                wont_fix_reason: item.wont_fix_reason.as_ref().map(|reason| reason.as_str()),
            }
        })
        .collect();
    let pending = incident.pending_handoff.as_ref().map(|pending| {
        minijinja::context! {
            from => pending.from.as_str(),
            to => pending.to.as_str(),
            since => render::ago(pending.requested_at, now),
            for_me => &pending.to == me,
            mine => &pending.from == me,
        }
    });
    let id = number.to_string();
    let next_due = incident.next_update_due(&state.cadence);
    // A post-mortem follows an incident that ended, never a candidate (declined or merged).
    let drafting = matches!(
        incident.status,
        Status::Resolved | Status::Closed | Status::CalledOff | Status::HandedBack
    ) && incident.postmortem.is_none();
    // The templates are read only where the draft form shows: not on every live refresh of
    // an active incident.
    let draft_templates = if drafting && viewer.caller.0.role >= InstallationRole::Responder {
        template_choices(state).await?
    } else {
        Vec::new()
    };
    let csrf =
        (viewer.caller.0.role >= InstallationRole::Responder).then_some(viewer.csrf.as_str());
    let timeline = view.timeline_html(&incident.timeline_marks, &id, csrf)?;
    let judgement = super::judgement::page_context(state, incident, me, now).await?;
    // Each affected service's budget, counted over the incidents this viewer may see; only a
    // service with an allowance costs a read.
    let budgets: Vec<minijinja::Value> = state
        .app
        .budgets(viewer.user(), &incident.services)
        .await
        .map_err(crate::error::ApiError::from)?
        .iter()
        .map(|(service, budget)| {
            minijinja::context! {
                service => service.as_str(),
                sentence => budget.sentence(service, Some(number)),
                overspent => budget.remaining().is_negative(),
                percent => budget.used_percent(),
            }
        })
        .collect();
    Ok(minijinja::context! {
        budgets => budgets,
        j => judgement,
        viewer => viewer.context(),
        error => error,
        form => form,
        i => minijinja::context! {
            id => &id,
            number => number.0,
            title => incident.title.as_str(),
            summary => incident.summary.as_ref().map(|s| s.as_str()),
            public_summary => incident.public_summary.as_ref().map(|s| s.as_str()),
            // Markdown, like notes (sanitised as they are).
            summary_html => incident
                .summary
                .as_ref()
                .map(|s| minijinja::Value::from_safe_string(render::markdown(s.as_str()))),
            status => incident.status.as_str(),
            active => ACTIVE.contains(&incident.status),
            severity => incident.severity.as_str(),
            potential => incident.potential,
            visibility => incident.visibility.as_str(),
            services => incident.services.iter().map(ToString::to_string).collect::<Vec<_>>(),
            age => render::age(incident.declared_at, now),
            declared_at => render::clock(incident.declared_at),
            declared_by => incident.declared_by.as_str(),
            resolved_at => incident.resolved_at.map(render::clock),
            updated => render::ago(incident.updated_at, now),
            last_update => incident.last_update_at.map(|at| render::ago(at, now)),
            next_update_due => next_due.map(render::clock),
            next_update_in => next_due.map(|due| if due <= now {
                format!("overdue by {}", render::age(due, now))
            } else {
                format!("in {}", render::age(now, due))
            }),
            update_overdue => next_due.is_some_and(|due| due <= now),
            impact_start => incident.impact.start.map(render::clock),
            impact_end => incident.impact.end.map(render::clock),
            milestones => hereby_core::milestones::Milestones::of(incident)
                .named()
                .into_iter()
                .filter_map(|(name, at)| at.map(|at| (name, render::clock(at))))
                .collect::<Vec<_>>(),
            commander => incident.commander().map(|c| c.as_str()),
            i_command => incident.commander() == Some(me),
            roles => data(&roles),
            pending => pending,
            items => data(&items),
            trackers => trackers,
            members => incident.members.iter().map(ToString::to_string).collect::<Vec<_>>(),
            links => data(&view.links),
            evidence => data(&view.evidence),
            version => incident.version,
            postmortem => summary(incident.postmortem.as_ref(), me),
            drafting => drafting,
            next_review => incident.reviews.next.map(|(meeting, at)| minijinja::context! {
                meeting => meeting,
                at => render::clock(at),
                at_iso => at.to_string(),
                when => if at <= now {
                    format!("{} ago", render::age(at, now))
                } else {
                    format!("in {}", render::age(now, at))
                },
            }),
            reviews_held => incident.reviews.held.len(),
        },
        draft_templates => data(&draft_templates),
        timeline => minijinja::Value::from_safe_string(timeline),
        older => view.oldest_shown().filter(|oldest| *oldest > 1),
        live_after => view.newest_position().unwrap_or(0),
        options => minijinja::context! {
            severities => names(Severity::ALL, Severity::as_str),
            statuses => names(Status::ALL, Status::as_str),
            link_kinds => names(LinkKind::ALL, LinkKind::as_str),
            action_kinds => names(ActionKind::ALL, ActionKind::as_str),
            visibilities => names(Visibility::ALL, Visibility::as_str),
        },
    })
}

/// Loads what the incident page needs, for a viewer who may see the incident.
pub(crate) async fn load<S: Store + Directory>(
    state: &AppState<S>,
    viewer: &Viewer,
    raw_id: &str,
) -> Result<(IncidentNumber, Incident, std::sync::Arc<IncidentView>), PageError> {
    let number = incident_id(raw_id)?;
    let loaded = visible(state, &viewer.caller, number).await?;
    let Some(incident) = loaded.state.incident().cloned() else {
        return Err(PageError::not_found());
    };
    let view = state
        .web
        .views
        .view(&state.store, number, incident.version)
        .await?;
    Ok((number, incident, view))
}

/// The incident page, optionally with the error of a rejected form and its values.
pub(crate) async fn incident_page<
    S: Store
        + Directory
        + Communications
        + hereby_store::Alerts
        + hereby_store::Search
        + hereby_store::Notifications,
>(
    state: &AppState<S>,
    viewer: &Viewer,
    raw_id: &str,
    status: StatusCode,
    error: Option<&str>,
    form: minijinja::Value,
) -> Result<Response, PageError> {
    let (number, incident, view) = load(state, viewer, raw_id).await?;
    let context = incident_context(viewer, number, &incident, &view, state, error, form).await?;
    let people = people(state, viewer).await?;
    let alerts = alert_panel(state, viewer, number, &incident).await?;
    let similar = similar(state, viewer, number, &incident).await;
    show(
        status,
        "incident.html",
        minijinja::context! {
            people => data(people.as_slice()),
            alerts => alerts,
            similar => similar,
            ..context
        },
    )
}

/// Past incidents like this one, as the page lists them. The page shows without them when
/// the search fails (the log says why): they help, the incident page must not depend on them.
async fn similar<S: hereby_store::Search>(
    state: &AppState<S>,
    viewer: &Viewer,
    number: IncidentNumber,
    incident: &Incident,
) -> Vec<minijinja::Value> {
    match state.app.similar(viewer.user(), number, incident).await {
        Ok(hits) => hits
            .iter()
            .map(|hit| {
                minijinja::context! {
                    id => hit.incident.to_string(),
                    title => &hit.title,
                    severity => hit.severity.as_str(),
                    status => hit.status.as_str(),
                    at => hereby_core::when::day(hit.declared_at),
                    snippet => hereby_store::search::snippet_parts(&hit.snippet)
                        .into_iter()
                        .map(|(matched, text)| minijinja::context! { matched => matched, text => text })
                        .collect::<Vec<_>>(),
                }
            })
            .collect(),
        Err(error) => {
            tracing::warn!(%error, incident = %number, "similar incidents could not be read");
            Vec::new()
        }
    }
}

/// The alert groups attached to an incident, as its page lists them. Only an incident with
/// attached groups costs a read of them.
async fn alert_panel<
    S: Store
        + Directory
        + Communications
        + hereby_store::Alerts
        + hereby_store::Search
        + hereby_store::Notifications,
>(
    state: &AppState<S>,
    viewer: &Viewer,
    number: IncidentNumber,
    incident: &Incident,
) -> Result<Vec<minijinja::Value>, PageError> {
    if incident.alert_groups.is_empty() {
        return Ok(Vec::new());
    }
    let groups = state
        .app
        .alert_groups(viewer.user(), Some(number), 20)
        .await
        .map_err(crate::error::ApiError::from)?;
    let now = Timestamp::now();
    Ok(groups
        .iter()
        .map(|group| {
            minijinja::context! {
                id => group.id,
                title => &group.title,
                label => &group.label,
                route => &group.route,
                firing => group.firing,
                alerts => group.alerts,
                events => group.events,
                reopened => group.reopened,
                flapping => group.flapping,
                acknowledged_by => &group.acknowledged_by,
                silenced_by => group.silenced_until.as_ref().and(group.silenced_by.as_ref()),
                last => group.last_alert_at.parse::<Timestamp>().map(|at| render::ago(at, now)).unwrap_or_default(),
            }
        })
        .collect())
}

/// How long the list of people a form offers is kept: a name added meanwhile shows a few
/// seconds later, and a misspelt or disabled one is refused when the form is sent anyway.
const PEOPLE_KEPT: std::time::Duration = std::time::Duration::from_secs(5);

/// The names the forms offer, read at most every [`PEOPLE_KEPT`] (reading every user for
/// every incident page cost a tenth of the page's server time).
#[derive(Debug, Clone, Default)]
pub(crate) struct PeopleCache(std::sync::Arc<std::sync::Mutex<Option<KeptPeople>>>);

/// When the names were read, and the names.
type KeptPeople = (std::time::Instant, std::sync::Arc<Vec<String>>);

/// The names a responder may put in a form that names a person (a role, a hand-off, a
/// witness, an owner, a member): every enabled user, offered as a `<datalist>`. Viewers fill
/// in no such forms and get none.
pub(crate) async fn people<S: Directory>(
    state: &AppState<S>,
    viewer: &Viewer,
) -> Result<std::sync::Arc<Vec<String>>, PageError> {
    if viewer.user().role < hereby_core::types::InstallationRole::Responder {
        return Ok(Default::default());
    }
    let cache = &state.web.people.0;
    if let Some((read, names)) = cache.lock().unwrap_or_else(|e| e.into_inner()).as_ref()
        && read.elapsed() < PEOPLE_KEPT
    {
        return Ok(names.clone());
    }
    let names: std::sync::Arc<Vec<String>> = std::sync::Arc::new(
        state
            .store
            .list_users()
            .await
            .map_err(crate::error::ApiError::from)?
            .into_iter()
            .filter(|user| !user.disabled)
            .map(|user| user.name.to_string())
            .collect(),
    );
    *cache.lock().unwrap_or_else(|e| e.into_inner()) =
        Some((std::time::Instant::now(), names.clone()));
    Ok(names)
}

/// What the incident page may be asked for in its query.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct IncidentQuery {
    /// Fill the update form with this message template, rendered for the incident.
    template: Option<String>,
}

/// `GET /incidents/{id}`: the Incident State Document. With `?template=NAME` the update form
/// is filled with that template rendered for the incident: a preview to edit before posting.
pub(crate) async fn incident<
    S: Store
        + Directory
        + Communications
        + hereby_store::Alerts
        + hereby_store::Search
        + hereby_store::Notifications,
>(
    State(state): State<AppState<S>>,
    viewer: Viewer,
    Path(id): Path<String>,
    Query(query): Query<IncidentQuery>,
) -> Result<Response, PageError> {
    let (number, incident, view) = load(&state, &viewer, &id).await?;
    let mut error = None;
    let mut form = Fields::default().context();
    if let Some(name) = query.template.as_deref().filter(|name| !name.is_empty()) {
        let rendered = match state.app.template(name).await {
            Ok(template) => state
                .app
                .render_message(number, &incident, &template)
                .map_err(|e| e.to_string()),
            Err(e) => Err(crate::error::ApiError::from(e).message),
        };
        match rendered {
            Ok(message) => {
                form = minijinja::context! {
                    audience => "customers",
                    body => format!("**{}**\n\n{}", message.subject, message.body.trim_end()),
                    template => name,
                };
            }
            Err(problem) => error = Some(problem),
        }
    }
    let templates = state
        .app
        .template_names()
        .await
        .map_err(crate::error::ApiError::from)?;
    let context = incident_context(
        &viewer,
        number,
        &incident,
        &view,
        &state,
        error.as_deref(),
        form,
    )
    .await?;
    let people = people(&state, &viewer).await?;
    let alerts = alert_panel(&state, &viewer, number, &incident).await?;
    let similar = similar(&state, &viewer, number, &incident).await;
    show(
        StatusCode::OK,
        "incident.html",
        minijinja::context! {
            templates => data(templates.as_slice()),
            people => data(people.as_slice()),
            alerts => alerts,
            similar => similar,
            ..context
        },
    )
}

/// `GET /incidents/{id}/state`: the part of the page that changes with every event, which
/// the page fetches again when its live stream says something happened.
pub(crate) async fn incident_state<
    S: Store
        + Directory
        + Communications
        + hereby_store::Alerts
        + hereby_store::Search
        + hereby_store::Notifications,
>(
    State(state): State<AppState<S>>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let (number, incident, view) = load(&state, &viewer, &id).await?;
    let context = incident_context(
        &viewer,
        number,
        &incident,
        &view,
        &state,
        None,
        Fields::default().context(),
    )
    .await?;
    show(StatusCode::OK, "state.html", context)
}

#[derive(Debug, Deserialize)]
pub(crate) struct OlderParams {
    before: u64,
}

/// `GET /incidents/{id}/timeline?before=SEQ`: the [`RECENT`] entries before `SEQ`. htmx
/// asks for the bare entries to append; a browser without JavaScript gets a whole page.
pub(crate) async fn older_entries<S: Store + Directory>(
    State(state): State<AppState<S>>,
    viewer: Viewer,
    Path(id): Path<String>,
    headers: HeaderMap,
    params: Result<Query<OlderParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    let Query(params) = params.map_err(bad_query)?;
    let number = incident_id(&id)?;
    let loaded = visible(&state, &viewer.caller, number).await?;
    let Some(incident) = loaded.state.incident() else {
        return Err(PageError::not_found());
    };
    let before = params.before.clamp(1, incident.version + 1);
    let from = before.saturating_sub(RECENT as u64).max(1);
    let stored = state
        .store
        .read_stream(number, from - 1, (before - from) as u32)
        .await
        .map_err(crate::error::ApiError::from)?;
    let label = number.to_string();
    let mut shown = Vec::with_capacity(stored.len());
    for event in stored.iter().rev() {
        let recorded = event.decode().map_err(crate::error::ApiError::from)?;
        shown.push(render::ShownEntry::of(&recorded, &label)?);
    }
    let csrf =
        (viewer.caller.0.role >= InstallationRole::Responder).then_some(viewer.csrf.as_str());
    let html = render::entries(&shown, &incident.timeline_marks, &label, csrf)?;
    let context = minijinja::context! {
        viewer => viewer.context(),
        id => &label,
        title => incident.title.as_str(),
        entries => minijinja::Value::from_safe_string(html),
        older => (from > 1).then_some(from),
    };
    let template = if headers.contains_key("hx-request") {
        "older.html"
    } else {
        "timeline.html"
    };
    show(StatusCode::OK, template, context)
}

/// A post-mortem template the draft form offers.
#[derive(Debug, Serialize)]
pub(crate) struct TemplateChoice {
    name: String,
    description: String,
}

/// The post-mortem templates in effect, for the incident page's draft form.
pub(crate) async fn template_choices<S: Communications>(
    state: &AppState<S>,
) -> Result<Vec<TemplateChoice>, hereby_app::AppError> {
    Ok(state
        .app
        .postmortem_templates()
        .await?
        .into_iter()
        .map(|template| TemplateChoice {
            name: template.name,
            description: template.description,
        })
        .collect())
}

/// A post-mortem status as people read it.
pub(crate) fn label(status: hereby_core::types::PostmortemStatus) -> &'static str {
    match status {
        hereby_core::types::PostmortemStatus::Draft => "draft",
        hereby_core::types::PostmortemStatus::InReview => "in review",
        hereby_core::types::PostmortemStatus::Reviewed => "reviewed",
        hereby_core::types::PostmortemStatus::Published => "published",
    }
}

/// What the incident page says about its post-mortem.
pub(crate) fn summary(
    postmortem: Option<&hereby_core::Postmortem>,
    me: &hereby_core::types::UserName,
) -> Option<minijinja::Value> {
    postmortem.map(|postmortem| {
        minijinja::context! {
            status => postmortem.status.as_str(),
            label => label(postmortem.status),
            owner => postmortem.owner.as_str(),
            mine => &postmortem.owner == me,
            revision => postmortem.revision,
            approvals => postmortem.approvals.iter().map(ToString::to_string).collect::<Vec<_>>(),
            comments => postmortem.comments,
            revised_at => render::clock(postmortem.revised_at),
            revised_by => postmortem.revised_by.as_str(),
        }
    })
}
