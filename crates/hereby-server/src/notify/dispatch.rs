//! The dispatcher: follows the event log from the persisted cursor and turns each event into
//! the deliveries it owes (one per matching subscription, and personal ones), re-arming the
//! incident's reminder jobs (the update cadence, the next review meeting), all committed with
//! the cursor's move in one transaction.

use std::collections::HashMap;

use hereby_core::event::Event;
use hereby_core::types::{IncidentNumber, Status, Visibility};
use hereby_core::{Incident, State};
use hereby_store::{
    Channel, JobChange, JobKind, KindedJobChange, NewDelivery, Notifications, RecordedEvent, Store,
    StoreError, Subscription,
};
use jiff::Timestamp;

use crate::AppState;
use hereby_app::message::{Happening, render};

/// How many events one dispatch transaction covers at most.
const BATCH: u32 = 256;

/// The configuration the dispatcher matches events against, read once per batch.
pub(crate) struct Routing {
    pub(crate) channels: HashMap<i64, Channel>,
    pub(crate) subscriptions: Vec<Subscription>,
    /// User name → notification address.
    pub(crate) emails: HashMap<String, String>,
}

impl Routing {
    pub(crate) async fn load<S: Notifications>(store: &S) -> Result<Self, StoreError> {
        Ok(Self {
            channels: store
                .channels()
                .await?
                .into_iter()
                .map(|c| (c.id, c))
                .collect(),
            subscriptions: store.subscriptions().await?,
            emails: store.user_emails().await?.into_iter().collect(),
        })
    }

    /// The e-mail channels that carry personal notifications.
    pub(crate) fn personal_channels(&self) -> impl Iterator<Item = &Channel> {
        self.channels
            .values()
            .filter(|c| c.personal && c.kind == "email")
    }

    /// Whether a subscription gets a notification of `happening` about `incident`. Restricted
    /// incidents never go to subscriptions: their members hear through personal notifications.
    pub(crate) fn wants(
        &self,
        subscription: &Subscription,
        happening: &Happening,
        incident: &Incident,
    ) -> bool {
        if !self.channels.contains_key(&subscription.channel_id)
            || incident.visibility == Visibility::Restricted
        {
            return false;
        }
        let kind = happening.kind();
        let listed = |k: &str| subscription.events.iter().any(|e| e == k);
        let also = match kind {
            "resolved" => "status_changed",
            "review_reminder" => "reminder",
            _ => kind,
        };
        if !(listed(kind) || listed(also)) {
            return false;
        }
        if let Happening::UpdatePosted {
            audience, public, ..
        } = happening
        {
            if subscription
                .audience
                .as_ref()
                .is_some_and(|wanted| wanted != audience)
            {
                return false;
            }
            if subscription.scope == "public" && !public {
                return false;
            }
        }
        if subscription.scope == "public" {
            return incident.visibility == Visibility::Public
                && kind != "reminder"
                && kind != "review_reminder"
                && kind != "change_collision";
        }
        true
    }
}

/// What an event (recorded by `actor`) means for notifications, if anything.
fn happening(event: &Event, actor: &str) -> Option<Happening> {
    Some(match event {
        Event::ChangeCollisionFlagged(e) => Happening::ChangeCollision {
            collision: e.collision,
            earlier_by: e.earlier_by.to_string(),
            earlier_target: e.earlier_target.to_string(),
            later_by: actor.to_owned(),
            target: e.target.to_string(),
        },
        Event::IncidentDeclared(_) => Happening::Declared,
        Event::SeverityChanged(e) => Happening::SeverityChanged {
            from: e.from.as_str().to_owned(),
            to: e.to.as_str().to_owned(),
            reason: e.reason.to_string(),
        },
        Event::StatusChanged(e) if e.to == Status::Resolved => Happening::Resolved,
        Event::StatusChanged(e) => Happening::StatusChanged {
            from: e.from.as_str().to_owned(),
            to: e.to.as_str().to_owned(),
            reason: e.reason.as_ref().map(ToString::to_string),
        },
        Event::UpdatePosted(e) => Happening::UpdatePosted {
            audience: e.audience.to_string(),
            body: e.body.to_string(),
            public: e.public,
        },
        Event::RoleAssigned(e) => Happening::RoleAssigned {
            role: e.role.to_string(),
            person: e.person.to_string(),
        },
        Event::HandoffRequested(e) => Happening::HandoffRequested {
            from: e.from.to_string(),
            to: e.to.to_string(),
        },
        Event::HandoffDeclined(e) => Happening::HandoffDeclined {
            to: e.to.to_string(),
            reason: e.reason.as_ref().map(ToString::to_string),
        },
        _ => return None,
    })
}

/// Whether an event moves when the next stakeholder update is due.
fn moves_cadence(event: &Event) -> bool {
    matches!(
        event,
        Event::IncidentDeclared(_)
            | Event::UpdatePosted(_)
            | Event::SeverityChanged(_)
            | Event::StatusChanged(_)
    )
}

/// Whether an event moves (or cancels) the reminder before the next review meeting: the
/// meeting was set, moved or held, or the incident reopened or ended.
fn moves_review(event: &Event) -> bool {
    matches!(
        event,
        Event::ReviewMeetingScheduled(_) | Event::ReviewMeetingHeld(_) | Event::StatusChanged(_)
    )
}

/// The deliveries one event owes.
pub(crate) fn plan(
    recorded: &RecordedEvent,
    incident: &Incident,
    routing: &Routing,
    public_url: Option<&str>,
) -> Vec<NewDelivery> {
    let Some(happening) = happening(&recorded.event, recorded.actor.as_str()) else {
        return Vec::new();
    };
    let number = recorded.incident;
    let mut deliveries = Vec::new();
    let shared = render(&happening, number, incident, recorded.at, public_url, false);
    for subscription in &routing.subscriptions {
        if routing.wants(subscription, &happening, incident) {
            deliveries.push(NewDelivery {
                key: format!("{}:s{}", recorded.position, subscription.id),
                channel_id: subscription.channel_id,
                recipient: subscription.recipient.clone(),
                incident: Some(number.0),
                kind: shared.kind.to_owned(),
                subject: shared.subject.clone(),
                body: shared.body.clone(),
                payload: shared.payload.clone(),
            });
        }
    }
    // "A role was given to you" and "you are asked to take command" go to that person's own
    // address; a change collision and a declined hand-off to the Incident Commander's,
    // restricted incidents included: all of them are members (the person asked to take
    // command may see the incident, or could not accept).
    let personal_to = match &happening {
        Happening::RoleAssigned { person, .. } => Some(person.clone()),
        Happening::HandoffRequested { to, .. } => Some(to.clone()),
        Happening::ChangeCollision { .. } | Happening::HandoffDeclined { .. } => {
            incident.commander().map(ToString::to_string)
        }
        _ => None,
    };
    if let Some(person) = &personal_to
        && let Some(address) = routing.emails.get(person)
    {
        let personal = render(&happening, number, incident, recorded.at, public_url, true);
        for channel in routing.personal_channels() {
            deliveries.push(NewDelivery {
                key: format!("{}:p{}:{person}", recorded.position, channel.id),
                channel_id: channel.id,
                recipient: Some(address.clone()),
                incident: Some(number.0),
                kind: personal.kind.to_owned(),
                subject: personal.subject.clone(),
                body: personal.body.clone(),
                payload: personal.payload.clone(),
            });
        }
    }
    deliveries
}

/// How long the dispatcher may read ahead of the persisted cursor over events that owe
/// nothing before it writes the cursor down.
const PERSIST_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// How far the dispatcher has read past the persisted cursor without writing it down.
///
/// Most events (notes, operations) owe no notification. Moving the cursor durably after each
/// of them would cost a durable commit per append, on the same single writer the appends
/// use. Instead the dispatcher reads on in memory and writes the cursor together with the
/// next delivery or job it queues, or after [`PERSIST_EVERY`]. A crash in between loses
/// nothing: those events are read again and owe nothing again.
#[derive(Debug)]
pub(crate) struct Progress {
    /// (the persisted cursor this was read from, the position read up to)
    ahead: Option<(i64, i64)>,
    persisted_at: std::time::Instant,
}

impl Default for Progress {
    fn default() -> Self {
        Self {
            ahead: None,
            persisted_at: std::time::Instant::now(),
        }
    }
}

/// Dispatches the events after the cursor, one batch. Returns how many events were covered
/// (0 when the log had nothing new) and how many deliveries were queued.
pub(crate) async fn dispatch_once<S: Store + Notifications + hereby_store::Communications>(
    state: &AppState<S>,
    progress: &mut Progress,
    review_lead: std::time::Duration,
) -> Result<(usize, usize), StoreError> {
    let store = &state.store;
    let cursor = store.dispatch_cursor().await?;
    // Read on from where this dispatcher got to, unless someone else moved the cursor since.
    let start = match progress.ahead {
        Some((from, read_to)) if from == cursor => read_to,
        _ => {
            progress.ahead = None;
            cursor
        }
    };
    let stored = store.read_all(start, BATCH).await?;
    let Some(last) = stored.last().map(|e| e.position) else {
        if let Some((from, read_to)) = progress.ahead
            && progress.persisted_at.elapsed() >= PERSIST_EVERY
        {
            store
                .commit_dispatch(from, read_to, &[], &[], Timestamp::now())
                .await?;
            progress.ahead = None;
            progress.persisted_at = std::time::Instant::now();
        }
        return Ok((0, 0));
    };
    let routing = Routing::load(store).await?;
    // Chat channels owe every event of an incident something (its room kept up to date).
    let chat: Vec<hereby_store::Channel> = routing
        .channels
        .values()
        .filter(|channel| hereby_app::chat::is_chat_kind(&channel.kind))
        .cloned()
        .collect();
    let mut incidents: HashMap<IncidentNumber, Option<Box<Incident>>> = HashMap::new();
    let mut deliveries = Vec::new();
    let mut jobs: Vec<KindedJobChange> = Vec::new();
    let mut rearm = |kind: JobKind, change: JobChange| {
        jobs.retain(|job| job.kind != kind || job.change.incident != change.incident);
        jobs.push(KindedJobChange { kind, change });
    };
    for event in &stored {
        let recorded = event.decode()?;
        let wanted = happening(&recorded.event, recorded.actor.as_str()).is_some();
        // What the status page's subscribers may be owed (judged below on the incident).
        let public = matches!(
            recorded.event,
            Event::IncidentDeclared(_)
                | Event::VisibilityChanged(_)
                | Event::UpdatePosted(_)
                | Event::StatusChanged(_)
                | Event::PostmortemPublished(_)
        );
        let cadence = moves_cadence(&recorded.event);
        let review = moves_review(&recorded.event);
        let export = matches!(recorded.event, Event::ActionItemExportRequested(_));
        if !wanted && !public && !cadence && !review && !export && chat.is_empty() {
            continue;
        }
        // The incident as it is now: a notification never reveals more than its current
        // visibility allows (an incident restricted since is not announced).
        let incident = match incidents.get(&recorded.incident) {
            Some(known) => known.clone(),
            None => {
                let loaded = match store.load(recorded.incident).await?.state {
                    State::Declared(incident) => Some(incident),
                    State::Initial => None,
                };
                incidents.insert(recorded.incident, loaded.clone());
                loaded
            }
        };
        let Some(incident) = incident else { continue };
        deliveries.extend(hereby_app::chat::plan(&recorded, &chat));
        if let Event::ActionItemExportRequested(asked) = &recorded.event {
            // The tracker as it is configured now; one removed since the request owes
            // nothing, and the follow-up shows it is still being opened.
            let tracker = routing.channels.values().find(|channel| {
                channel.name == asked.tracker.as_str()
                    && hereby_api::vocabulary::TRACKER_KINDS.contains(&channel.kind.as_str())
            });
            let request = hereby_app::trackers::issue_request(
                recorded.incident,
                &incident,
                asked.item,
                state.public_url.as_deref(),
            );
            match (tracker, request) {
                (Some(tracker), Some(request)) => deliveries.push(
                    hereby_app::trackers::export_delivery(recorded.position, tracker.id, &request),
                ),
                (None, Some(_)) => {
                    // Said on the follow-up, where people look, not only in the log.
                    let why = format!(
                        "there is no tracker `{}` any more: add it again under that name, or \
                         unlink the follow-up and export it elsewhere",
                        asked.tracker
                    );
                    if let Err(error) = state
                        .app
                        .tracker_sync_failed(
                            recorded.incident,
                            asked.item,
                            asked.tracker.as_str(),
                            &why,
                        )
                        .await
                    {
                        tracing::warn!(%error, "cannot record a missing tracker on a follow-up");
                    }
                }
                // The follow-up is gone from the incident: nothing to open.
                (_, None) => {}
            }
        }
        if let Some(notice) =
            hereby_core::subscribers::notice_of(&recorded.event, recorded.incident, &incident)
        {
            let words = match &recorded.event {
                Event::UpdatePosted(update) => Some(update.body.as_str()),
                _ => None,
            };
            let text = state
                .app
                .incident_text(&notice, recorded.incident, &incident, words, recorded.at)
                .await;
            deliveries.extend(
                state
                    .app
                    .subscriber_deliveries(
                        &notice,
                        &text,
                        &format!("{}:status-page", recorded.position),
                    )
                    .await
                    .map_err(|e| StoreError::Invalid(format!("status page subscribers: {e}")))?,
            );
        }
        if wanted {
            deliveries.extend(plan(
                &recorded,
                &incident,
                &routing,
                state.public_url.as_deref(),
            ));
        }
        if cadence {
            rearm(
                JobKind::Reminder,
                JobChange {
                    incident: recorded.incident.0,
                    due: incident.next_update_due(&state.cadence),
                },
            );
        }
        if review {
            // From the incident as it is now, like everything here: a later move or a held
            // meeting in this batch gives the same answer.
            rearm(
                JobKind::Review,
                JobChange {
                    incident: recorded.incident.0,
                    due: super::reviews::reminder_due(&incident, review_lead),
                },
            );
        }
    }
    if deliveries.is_empty() && jobs.is_empty() && progress.persisted_at.elapsed() < PERSIST_EVERY {
        progress.ahead = Some((cursor, last));
        return Ok((stored.len(), 0));
    }
    let queued = deliveries.len();
    // From the persisted cursor: the range read ahead owed nothing, so this one commit covers
    // it too.
    let moved = store
        .commit_dispatch_jobs(cursor, last, &deliveries, &jobs, Timestamp::now())
        .await?;
    progress.ahead = None;
    progress.persisted_at = std::time::Instant::now();
    if moved {
        Ok((stored.len(), queued))
    } else {
        // Another node dispatched this range first; the next round reads on from there.
        Ok((stored.len(), 0))
    }
}
