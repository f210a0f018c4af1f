//! Cadence reminders, driven by the `jobs` table: when an active incident's stakeholder
//! update is overdue, the communications role holder (or, without one, the Incident
//! Commander) is reminded through their own address and every subscription that asked for
//! reminders, and a note on the timeline records it. Once per overdue period: again after
//! another interval while no update comes. The runner here also runs the jobs of the
//! reminders before review meetings (`reviews.rs`).

use std::sync::Arc;

use hereby_core::types::{IncidentNumber, UserName, Visibility};
use hereby_core::{Incident, State};
use hereby_store::{Job, JobDone, JobKind, NewDelivery, Notifications, Store, StoreError};
use jiff::Timestamp;
use tokio::sync::watch;

use super::timeline::note;
use super::{Routing, Settings, later};
use crate::AppState;
use hereby_app::message::{Happening, render};

pub(crate) async fn runner<S: Store + Notifications>(
    state: AppState<S>,
    settings: Arc<Settings>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let now = Timestamp::now();
        match state
            .store
            .claim_jobs(now, later(now, settings.lease), 32)
            .await
        {
            Ok(jobs) => {
                for job in jobs {
                    let ran = match JobKind::parse(&job.kind) {
                        Some(JobKind::Reminder) => run(&state, &job, now).await,
                        Some(JobKind::Review) => {
                            super::reviews::run(&state, &job, now, settings.review_lead).await
                        }
                        None => {
                            // Written by a newer server: left for one that knows it.
                            tracing::warn!(kind = %job.kind, "a job of an unknown kind");
                            continue;
                        }
                    };
                    if let Err(error) = ran {
                        // The claim lapses and the job runs again after its lease.
                        tracing::warn!(
                            incident = job.incident,
                            kind = %job.kind,
                            %error,
                            "reminder job failed"
                        );
                    }
                }
            }
            Err(error) => tracing::warn!(%error, "cannot claim jobs; retrying"),
        }
        tokio::select! {
            () = tokio::time::sleep(settings.poll) => {}
            _ = stop.changed() => return,
        }
    }
}

/// Whom a reminder is for: the communications role holder, else the Incident Commander.
fn reminded(incident: &Incident) -> Option<&UserName> {
    incident
        .holders_of("communications")
        .first()
        .or_else(|| incident.commander())
}

async fn run<S: Store + Notifications>(
    state: &AppState<S>,
    job: &Job,
    now: Timestamp,
) -> Result<(), StoreError> {
    let number = IncidentNumber(job.incident);
    let finish = |next: Option<Timestamp>, last_key: Option<String>, deliveries| JobDone {
        id: job.id,
        claimed_due: job.due_at,
        next,
        last_key,
        deliveries,
    };
    let incident = match state.store.load(number).await {
        Ok(loaded) => match loaded.state {
            State::Declared(incident) => incident,
            State::Initial => {
                return state
                    .store
                    .finish_job(&finish(None, None, vec![]), now)
                    .await;
            }
        },
        Err(StoreError::NotFound(_)) => {
            return state
                .store
                .finish_job(&finish(None, None, vec![]), now)
                .await;
        }
        Err(error) => return Err(error),
    };
    // The incident decides, not the job's time: an update posted since, a resolution or a
    // new severity all count.
    let (Some(due), Some(interval)) = (
        incident.next_update_due(&state.cadence),
        state.cadence.interval(incident.severity),
    ) else {
        return state
            .store
            .finish_job(&finish(None, job.last_key.clone(), vec![]), now)
            .await;
    };
    if due > now {
        return state
            .store
            .finish_job(&finish(Some(due), job.last_key.clone(), vec![]), now)
            .await;
    }
    // Which overdue period this is: 0 in the first interval after the due time, and so on.
    let overdue = now.duration_since(due).as_millis();
    let period = overdue / interval.as_millis().max(1);
    let key = format!("{}.{period}", due.as_microsecond());
    let next = i32::try_from(period + 1)
        .ok()
        .and_then(|n| interval.checked_mul(n))
        .and_then(|wait| due.checked_add(wait).ok())
        .unwrap_or(Timestamp::MAX);
    if job.last_key.as_deref() == Some(key.as_str()) {
        return state
            .store
            .finish_job(&finish(Some(next), Some(key), vec![]), now)
            .await;
    }
    let person = reminded(&incident).cloned();
    let deliveries =
        reminder_deliveries(state, number, &incident, person.as_ref(), due, &key, now).await?;
    let count = deliveries.len();
    state
        .store
        .finish_job(&finish(Some(next), Some(key), deliveries), now)
        .await?;
    // The timeline hears of the reminder before the delivery worker is woken, so that
    // whoever gets the reminder finds it on the incident.
    record(state, number, person.as_ref(), due).await;
    if count > 0 {
        state.outbox.wake();
    }
    Ok(())
}

async fn reminder_deliveries<S: Store + Notifications>(
    state: &AppState<S>,
    number: IncidentNumber,
    incident: &Incident,
    person: Option<&UserName>,
    due: Timestamp,
    key: &str,
    now: Timestamp,
) -> Result<Vec<NewDelivery>, StoreError> {
    let routing = Routing::load(&state.store).await?;
    let happening = Happening::Reminder {
        person: person.map(ToString::to_string),
        due,
    };
    let message = render(
        &happening,
        number,
        incident,
        now,
        state.public_url.as_deref(),
        false,
    );
    let delivery = |key: String, channel_id: i64, recipient: Option<String>| NewDelivery {
        key,
        channel_id,
        recipient,
        incident: Some(number.0),
        kind: message.kind.to_owned(),
        subject: message.subject.clone(),
        body: message.body.clone(),
        payload: message.payload.clone(),
    };
    let mut deliveries = Vec::new();
    if let Some(person) = person
        && let Some(address) = routing.emails.get(person.as_str())
    {
        for channel in routing.personal_channels() {
            deliveries.push(delivery(
                format!("reminder:{number}:{key}:p{}:{person}", channel.id),
                channel.id,
                Some(address.clone()),
            ));
        }
    }
    if incident.visibility != Visibility::Restricted {
        for subscription in &routing.subscriptions {
            if routing.wants(subscription, &happening, incident) {
                deliveries.push(delivery(
                    format!("reminder:{number}:{key}:s{}", subscription.id),
                    subscription.channel_id,
                    subscription.recipient.clone(),
                ));
            }
        }
    }
    Ok(deliveries)
}

/// Notes the reminder on the incident's timeline, where the incident page shows it.
async fn record<S: Store + Notifications>(
    state: &AppState<S>,
    number: IncidentNumber,
    person: Option<&UserName>,
    due: Timestamp,
) {
    let who = person.map_or_else(|| "nobody (no commander)".to_owned(), ToString::to_string);
    let due = due.round(jiff::Unit::Second).unwrap_or(due);
    let text = format!("Reminder sent to {who}: the stakeholder update due at {due} is overdue.");
    note(state, number, &text).await;
}
