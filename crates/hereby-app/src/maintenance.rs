//! Scheduled maintenance as people and time change it: scheduling, changing the plan, posting
//! updates and moving it on (the core's rules decide), removing one that has not begun, what
//! time does by itself (start, complete, remind subscribers an hour before), and the
//! notifications each of these owes, written with the change in one transaction.

use hereby_api as api;
use hereby_core::maintenance::{self, MaintenanceRefusal, MaintenanceStatus, Plan, Schedule};
use hereby_core::types::{InstallationRole, InvalidValue, ServiceName, UserName};
use hereby_store::{
    Communications, Maintenance, MaintenanceQuery, MaintenanceWrite, NewDelivery, Notifications,
    Store, User,
};
use jiff::{SignedDuration, Timestamp};
use serde_json::json;

use crate::message::Message;
use crate::{App, AppError, require};

/// How far back the list reaches for completed maintenances by default.
pub const HISTORY: SignedDuration = SignedDuration::from_hours(90 * 24);

/// The most maintenances not yet completed that the timer and the alert windows read. Open
/// ones are few (they complete by time unless someone verifies); this bounds a mistake.
const OPEN_MAX: u32 = 10_000;

/// What a new maintenance's notices carry for its id until the insert gives it one: a
/// number no maintenance has.
const ID_STAND_IN: i64 = -7_046_211_938_502_117;

/// How often a change is tried again when another change (a person, or time on another node)
/// came first.
const ATTEMPTS: usize = 4;

/// What a maintenance notification is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    /// Newly planned.
    Scheduled,
    /// The plan changed (times, title, components).
    Rescheduled,
    /// It starts within the hour.
    Reminder,
    /// It was removed before it began.
    Cancelled,
    /// An update was posted, with or without a move.
    Update(MaintenanceStatus),
}

impl Notice {
    /// The word in the webhook's `maintenance.event` and in delivery keys.
    pub fn as_str(self) -> &'static str {
        match self {
            Notice::Scheduled => "scheduled",
            Notice::Rescheduled => "rescheduled",
            Notice::Reminder => "reminder",
            Notice::Cancelled => "cancelled",
            Notice::Update(MaintenanceStatus::InProgress) => "started",
            Notice::Update(MaintenanceStatus::Verifying) => "verifying",
            Notice::Update(MaintenanceStatus::Completed) => "completed",
            Notice::Update(MaintenanceStatus::Scheduled) => "updated",
        }
    }
}

fn refused(refusal: MaintenanceRefusal) -> AppError {
    match refusal {
        MaintenanceRefusal::Invalid(invalid) => AppError::Invalid(invalid),
        MaintenanceRefusal::NotNow(message) => AppError::Refused {
            code: "maintenance_not_now",
            message,
        },
    }
}

fn body_text(raw: Option<&str>) -> Result<Option<String>, AppError> {
    let Some(text) = raw.map(str::trim).filter(|text| !text.is_empty()) else {
        return Ok(None);
    };
    if text.chars().count() > maintenance::BODY_MAX {
        return Err(AppError::Invalid(InvalidValue::new(
            "body",
            format!("is longer than {} characters", maintenance::BODY_MAX),
        )));
    }
    Ok(Some(text.to_owned()))
}

/// The maintenance as the API shows it.
pub fn wire(maintenance: &Maintenance) -> api::Maintenance {
    let schedule = &maintenance.schedule;
    api::Maintenance {
        id: maintenance.id,
        title: maintenance.title.clone(),
        components: maintenance
            .components
            .iter()
            .map(ToString::to_string)
            .collect(),
        status: schedule.status.as_str().to_owned(),
        starts_at: schedule.starts_at.to_string(),
        ends_at: schedule.ends_at.to_string(),
        started_at: schedule.started_at.map(|at| at.to_string()),
        completed_at: schedule.completed_at.map(|at| at.to_string()),
        auto_start: schedule.auto_start,
        auto_complete: schedule.auto_complete,
        created_by: maintenance.created_by.to_string(),
        created_at: maintenance.created_at.to_string(),
        updated_at: maintenance.updated_at.to_string(),
        updates: maintenance
            .updates
            .iter()
            .map(|update| api::MaintenanceUpdate {
                id: update.id,
                status: update.status.as_str().to_owned(),
                body: update.body.clone(),
                author: update.author.to_string(),
                at: update.at.to_string(),
            })
            .collect(),
    }
}

/// The maintenance a notification is about, as it stands after the change.
#[derive(Debug, Clone, Copy)]
pub struct About<'a> {
    /// A stand-in for one being scheduled, replaced by its id when it is stored.
    pub id: i64,
    pub title: &'a str,
    pub components: &'a [ServiceName],
    pub schedule: &'a Schedule,
}

/// What a notification about a maintenance says, and the JSON a webhook receives.
pub fn render(
    notice: Notice,
    about: About<'_>,
    body: Option<&str>,
    at: Timestamp,
    status_url: Option<&str>,
) -> Message {
    let About {
        id,
        title,
        components,
        schedule,
    } = about;
    let when = format!(
        "{} to {}",
        hereby_core::when::clock(schedule.starts_at),
        hereby_core::when::clock(schedule.ends_at)
    );
    let headline = match notice {
        Notice::Scheduled => format!("scheduled for {when}"),
        Notice::Rescheduled => format!("rescheduled: {when}"),
        Notice::Reminder => format!("starts at {}", hereby_core::when::clock(schedule.starts_at)),
        Notice::Cancelled => "cancelled".to_owned(),
        Notice::Update(status) => status.label().to_lowercase(),
    };
    let subject = format!("[Maintenance] {title}: {headline}");
    let names: Vec<&str> = components.iter().map(ServiceName::as_str).collect();
    let mut text = format!(
        "Scheduled maintenance: {title}\nStatus: {}\nWhen: {when}\nAffects: {}\n",
        schedule.status.label(),
        names.join(", ")
    );
    if let Some(body) = body {
        text.push('\n');
        text.push_str(body);
        text.push('\n');
    }
    if let Some(url) = status_url {
        text.push('\n');
        text.push_str(url);
        text.push('\n');
    }
    let payload = json!({
        "kind": "maintenance",
        "at": at.to_string(),
        "subject": subject,
        "text": text,
        "maintenance": {
            "id": id.to_string(),
            "event": notice.as_str(),
            "name": title,
            "status": schedule.status.as_str(),
            "scheduled_for": schedule.starts_at.to_string(),
            "scheduled_until": schedule.ends_at.to_string(),
            "components": names,
            "body": body,
            "url": status_url,
        },
    });
    Message {
        kind: "maintenance",
        subject,
        body: text,
        payload: payload.to_string(),
    }
}

/// A change waiting to be written: the plan after it and what it says.
struct Change {
    title: String,
    components: Vec<ServiceName>,
    schedule: Schedule,
    update: Option<(MaintenanceStatus, String)>,
    notice: Option<Notice>,
}

impl<S: Store + Communications + Notifications> App<S> {
    /// Maintenances: every one not completed, and those completed in the last 90 days (or
    /// since `completed_since`), newest start first; `before` pages on to earlier ones.
    pub async fn maintenances(
        &self,
        completed_since: Option<Timestamp>,
        before: Option<Timestamp>,
        limit: u32,
    ) -> Result<Vec<Maintenance>, AppError> {
        let since = completed_since.unwrap_or_else(|| {
            Timestamp::now()
                .checked_sub(HISTORY)
                .unwrap_or(Timestamp::MIN)
        });
        Ok(self
            .store
            .maintenances(&MaintenanceQuery {
                completed_since: Some(since),
                before,
                limit: limit.clamp(1, 500),
                updates: true,
            })
            .await?)
    }

    /// One maintenance.
    pub async fn maintenance(&self, id: i64) -> Result<Maintenance, AppError> {
        self.store
            .maintenance(id)
            .await?
            .ok_or_else(|| AppError::not_found(format!("maintenance {id}")))
    }

    /// Schedules a maintenance as `actor` (a responder or admin).
    pub async fn schedule_maintenance(
        &self,
        actor: &User,
        request: &api::PutMaintenance,
    ) -> Result<Maintenance, AppError> {
        require(actor, InstallationRole::Responder)?;
        let now = Timestamp::now();
        let plan = self.plan(request).await?;
        let schedule = Schedule::new(
            &plan,
            request.auto_start.unwrap_or(true),
            request.auto_complete.unwrap_or(true),
            now,
        )
        .map_err(refused)?;
        let body = body_text(request.body.as_deref())?
            .unwrap_or_else(|| MaintenanceStatus::Scheduled.default_body().to_owned());
        let notify = request.notify.unwrap_or(true);
        // The id is not known before the insert: the notices are rendered with a stand-in
        // for it, which the store's transaction replaces with the id it gets (in keys, bodies
        // and payloads), so subscribers hear of the maintenance by the id its later notices
        // carry. The key also carries a nonce: the insert happens once.
        let nonce = nonce()?;
        let deliveries = if notify {
            self.maintenance_deliveries(
                &format!("maintenance:new-{nonce}-{ID_STAND_IN}"),
                Notice::Scheduled,
                About {
                    id: ID_STAND_IN,
                    title: &plan.title,
                    components: &plan.components,
                    schedule: &schedule,
                },
                Some(&body),
                now,
            )
            .await?
        } else {
            Vec::new()
        };
        let created = self
            .store
            .create_maintenance(
                &MaintenanceWrite {
                    title: plan.title,
                    components: plan.components,
                    schedule,
                    at: now,
                    author: actor.name.clone(),
                    update: Some((MaintenanceStatus::Scheduled, body)),
                    deliveries: Vec::new(),
                },
                &|id| {
                    let stand_in = ID_STAND_IN.to_string();
                    let id = id.to_string();
                    deliveries
                        .iter()
                        .map(|delivery| NewDelivery {
                            key: delivery.key.replace(&stand_in, &id),
                            subject: delivery.subject.replace(&stand_in, &id),
                            body: delivery.body.replace(&stand_in, &id),
                            payload: delivery.payload.replace(&stand_in, &id),
                            ..delivery.clone()
                        })
                        .collect()
                },
            )
            .await?;
        self.settings_changed();
        self.outbox.wake();
        Ok(created)
    }

    /// Changes a maintenance's plan as `actor`; an update is posted (and subscribers told)
    /// only when the request carries words for the public.
    pub async fn replan_maintenance(
        &self,
        actor: &User,
        id: i64,
        request: &api::PutMaintenance,
    ) -> Result<Maintenance, AppError> {
        require(actor, InstallationRole::Responder)?;
        let plan = self.plan(request).await?;
        let body = body_text(request.body.as_deref())?;
        let notify = request.notify.unwrap_or(true);
        self.change(actor.name.clone(), id, |current, now| {
            current.schedule.may_replan(&plan).map_err(refused)?;
            if current.schedule.status == MaintenanceStatus::Scheduled && plan.ends_at <= now {
                return Err(AppError::Invalid(InvalidValue::new(
                    "ends_at",
                    "is in the past; a maintenance that has not begun cannot end before now",
                )));
            }
            let mut schedule = current.schedule.clone();
            let moved = schedule.starts_at != plan.starts_at || schedule.ends_at != plan.ends_at;
            schedule.starts_at = plan.starts_at;
            schedule.ends_at = plan.ends_at;
            schedule.auto_start = request.auto_start.unwrap_or(schedule.auto_start);
            schedule.auto_complete = request.auto_complete.unwrap_or(schedule.auto_complete);
            if moved
                && schedule.reminded_at.is_some()
                && schedule.status == MaintenanceStatus::Scheduled
            {
                // A new start earns a new reminder.
                schedule.reminded_at = None;
            }
            Ok(Change {
                title: plan.title.clone(),
                components: plan.components.clone(),
                update: body.clone().map(|body| (current.schedule.status, body)),
                notice: (notify && body.is_some()).then_some(Notice::Rescheduled),
                schedule,
            })
        })
        .await
    }

    /// Posts an update on a maintenance as `actor`: words, a move forward, or both.
    pub async fn update_maintenance(
        &self,
        actor: &User,
        id: i64,
        request: &api::MaintenanceUpdateRequest,
    ) -> Result<Maintenance, AppError> {
        require(actor, InstallationRole::Responder)?;
        let to = request
            .status
            .as_deref()
            .map(str::trim)
            .filter(|raw| !raw.is_empty())
            .map(MaintenanceStatus::parse)
            .transpose()?;
        let body = body_text(request.body.as_deref())?;
        if to.is_none() && body.is_none() {
            return Err(AppError::Invalid(InvalidValue::new(
                "body",
                "say something to the public, or move the maintenance to another status",
            )));
        }
        let notify = request.notify.unwrap_or(true);
        self.change(actor.name.clone(), id, |current, now| {
            let schedule = match to {
                Some(to) => {
                    current.schedule.may_move_to(to).map_err(refused)?;
                    current.schedule.moved(to, now)
                }
                None if current.schedule.status == MaintenanceStatus::Completed => {
                    return Err(refused(MaintenanceRefusal::NotNow(
                        "this maintenance has completed; its record stays as it was".into(),
                    )));
                }
                None => current.schedule.clone(),
            };
            let status = schedule.status;
            Ok(Change {
                title: current.title.clone(),
                components: current.components.clone(),
                update: Some((
                    status,
                    body.clone()
                        .unwrap_or_else(|| status.default_body().to_owned()),
                )),
                notice: notify.then_some(Notice::Update(status)),
                schedule,
            })
        })
        .await
    }

    /// Removes a maintenance that has not begun, as `actor`; subscribers who may have heard
    /// of it are told it is cancelled (unless `quiet`).
    pub async fn remove_maintenance(
        &self,
        actor: &User,
        id: i64,
        quiet: bool,
    ) -> Result<(), AppError> {
        require(actor, InstallationRole::Responder)?;
        for _ in 0..ATTEMPTS {
            let current = self.maintenance(id).await?;
            current.schedule.may_remove().map_err(refused)?;
            let deliveries = if quiet {
                Vec::new()
            } else {
                self.maintenance_deliveries(
                    &format!("{}:cancelled", key_of(&current)),
                    Notice::Cancelled,
                    About {
                        id,
                        title: &current.title,
                        components: &current.components,
                        schedule: &current.schedule,
                    },
                    Some("This maintenance is cancelled; nothing will change."),
                    Timestamp::now(),
                )
                .await?
            };
            if self
                .store
                .remove_maintenance(id, current.version, &deliveries)
                .await?
            {
                self.settings_changed();
                self.outbox.wake();
                return Ok(());
            }
        }
        Err(busy(id))
    }

    /// What time does to maintenances at `now`: starts and completes those that ask for it,
    /// each with an update in hereby's words and its notifications, and reminds subscribers
    /// an hour before a start. Returns how many maintenances changed. Safe on several nodes
    /// at once: a change applies only to the version it was decided on.
    pub async fn maintenance_tick(&self, now: Timestamp) -> Result<usize, AppError> {
        let open = self
            .store
            .maintenances(&MaintenanceQuery {
                completed_since: Some(Timestamp::MAX),
                before: None,
                limit: OPEN_MAX,
                updates: false,
            })
            .await?;
        let system = UserName::parse(hereby_core::roles::SYSTEM_ACTOR)
            .map_err(|e| AppError::Internal(format!("the system's name: {e}")))?;
        let mut changed = 0;
        for current in open {
            if let Some(to) = current.schedule.due(now) {
                // Time moves it at the planned moment, however late this timer looks: a
                // maintenance completed by time ran from its start to its end.
                let planned = if to == MaintenanceStatus::Completed {
                    current.schedule.ends_at
                } else {
                    current.schedule.starts_at
                };
                let mut schedule = current.schedule.moved(to, planned);
                if to == MaintenanceStatus::Completed && schedule.started_at == Some(planned) {
                    schedule.started_at = Some(current.schedule.starts_at);
                }
                let key = format!("{}:auto-{}", key_of(&current), to.as_str());
                let deliveries = self
                    .maintenance_deliveries(
                        &key,
                        Notice::Update(to),
                        About {
                            id: current.id,
                            title: &current.title,
                            components: &current.components,
                            schedule: &schedule,
                        },
                        Some(to.default_body()),
                        now,
                    )
                    .await?;
                let write = MaintenanceWrite {
                    title: current.title.clone(),
                    components: current.components.clone(),
                    schedule,
                    at: now,
                    author: system.clone(),
                    update: Some((to, to.default_body().to_owned())),
                    deliveries,
                };
                if self
                    .store
                    .change_maintenance(current.id, current.version, &write)
                    .await?
                    .is_some()
                {
                    changed += 1;
                }
            } else if current.schedule.reminder_due(now, current.created_at) {
                let mut schedule = current.schedule.clone();
                schedule.reminded_at = Some(now);
                let key = format!(
                    "{}:reminder-{}",
                    key_of(&current),
                    current.schedule.starts_at.as_microsecond()
                );
                let deliveries = self
                    .maintenance_deliveries(
                        &key,
                        Notice::Reminder,
                        About {
                            id: current.id,
                            title: &current.title,
                            components: &current.components,
                            schedule: &schedule,
                        },
                        None,
                        now,
                    )
                    .await?;
                let write = MaintenanceWrite {
                    title: current.title.clone(),
                    components: current.components.clone(),
                    schedule,
                    at: now,
                    author: system.clone(),
                    update: None,
                    deliveries,
                };
                if self
                    .store
                    .change_maintenance(current.id, current.version, &write)
                    .await?
                    .is_some()
                {
                    changed += 1;
                }
            }
        }
        if changed > 0 {
            self.settings_changed();
            self.outbox.wake();
        }
        Ok(changed)
    }

    /// Checks a plan: the core's rules, and components the status page has.
    async fn plan(&self, request: &api::PutMaintenance) -> Result<Plan, AppError> {
        let starts = hereby_api::time("starts_at")(request.starts_at.trim())?;
        let ends = hereby_api::time("ends_at")(request.ends_at.trim())?;
        let mut components = Vec::new();
        for raw in &request.components {
            components.push(
                ServiceName::parse(raw.trim()).map_err(|e| {
                    AppError::Invalid(InvalidValue::new("components", e.to_string()))
                })?,
            );
        }
        let plan = Plan::check(&request.title, &components, starts, ends)?;
        let known = self.store.list_components().await?;
        if let Some(unknown) = plan
            .components
            .iter()
            .find(|name| !known.iter().any(|component| &component.name == *name))
        {
            let names: Vec<&str> = known.iter().map(|c| c.name.as_str()).collect();
            return Err(AppError::Invalid(InvalidValue::new(
                "components",
                format!(
                    "`{unknown}` is not a component of the status page (it has: {})",
                    if names.is_empty() {
                        "none yet".to_owned()
                    } else {
                        names.join(", ")
                    }
                ),
            )));
        }
        Ok(plan)
    }

    /// Reads the maintenance, decides the change on it and writes it if nothing changed it
    /// meanwhile, trying again on a lost race.
    async fn change(
        &self,
        author: UserName,
        id: i64,
        decide: impl Fn(&Maintenance, Timestamp) -> Result<Change, AppError>,
    ) -> Result<Maintenance, AppError> {
        for _ in 0..ATTEMPTS {
            let current = self.maintenance(id).await?;
            let now = Timestamp::now();
            let change = decide(&current, now)?;
            let deliveries = match change.notice {
                Some(notice) => {
                    let key = format!("{}:v{}", key_of(&current), current.version + 1);
                    self.maintenance_deliveries(
                        &key,
                        notice,
                        About {
                            id,
                            title: &change.title,
                            components: &change.components,
                            schedule: &change.schedule,
                        },
                        change.update.as_ref().map(|(_, body)| body.as_str()),
                        now,
                    )
                    .await?
                }
                None => Vec::new(),
            };
            let write = MaintenanceWrite {
                title: change.title,
                components: change.components,
                schedule: change.schedule,
                at: now,
                author: author.clone(),
                update: change.update,
                deliveries,
            };
            if let Some(changed) = self
                .store
                .change_maintenance(id, current.version, &write)
                .await?
            {
                self.settings_changed();
                self.outbox.wake();
                return Ok(changed);
            }
        }
        Err(busy(id))
    }

    /// The deliveries a maintenance notice owes, rendered here: one per subscription asking
    /// for `maintenance` on a channel that carries messages (chat channels keep incident
    /// rooms and get none; maintenance is public, so a subscription's scope does not matter),
    /// and one per status page subscriber following its components.
    async fn maintenance_deliveries(
        &self,
        key: &str,
        notice: Notice,
        about: About<'_>,
        words: Option<&str>,
        at: Timestamp,
    ) -> Result<Vec<NewDelivery>, AppError> {
        let status_url = self.status_url().await;
        let message = render(notice, about, words, at, status_url.as_deref());
        let channels = self.store.channels().await?;
        let subscriptions = self.store.subscriptions().await?;
        let schedule = about.schedule;
        let names: Vec<&str> = about.components.iter().map(ServiceName::as_str).collect();
        let public_notice = hereby_core::subscribers::Notice {
            kind: hereby_core::subscribers::NoticeKind::Maintenance,
            incident: None,
            components: about.components.to_vec(),
        };
        let text = crate::subscribers::PublicText {
            subject: message.subject.clone(),
            body: message.body.clone(),
            incident: serde_json::json!({
                "id": format!("maintenance-{}", about.id),
                "name": about.title,
                "status": schedule.status.as_str(),
                "impact": "maintenance",
                "scheduled_for": schedule.starts_at.to_string(),
                "scheduled_until": schedule.ends_at.to_string(),
                "shortlink": status_url,
                "components": names,
                "incident_updates": [{
                    "status": schedule.status.as_str(),
                    "body": words,
                    "created_at": at.to_string(),
                }],
            }),
        };
        let mut deliveries = self
            .subscriber_deliveries(&public_notice, &text, &format!("{key}:page"))
            .await?;
        deliveries.extend(
            subscriptions
                .iter()
                .filter(|subscription| subscription.events.iter().any(|e| e == "maintenance"))
                .filter(|subscription| {
                    channels.iter().any(|channel| {
                        channel.id == subscription.channel_id
                            && !crate::chat::is_chat_kind(&channel.kind)
                    })
                })
                .map(|subscription| NewDelivery {
                    key: format!("{key}:s{}", subscription.id),
                    channel_id: subscription.channel_id,
                    recipient: subscription.recipient.clone(),
                    incident: None,
                    kind: message.kind.to_owned(),
                    subject: message.subject.clone(),
                    body: message.body.clone(),
                    payload: message.payload.clone(),
                }),
        );
        Ok(deliveries)
    }

    /// The public status page's address: the one admins set, else this server's `/status`
    /// when its address is known.
    async fn status_url(&self) -> Option<String> {
        if let Ok(settings) = self.status_page().await
            && !settings.url.is_empty()
        {
            return Some(settings.url);
        }
        self.public_url
            .as_deref()
            .map(|base| format!("{}/status", base.trim_end_matches('/')))
    }
}

impl<S: Store + Communications> App<S> {
    /// The alert maintenance windows the maintenances not yet completed stand for.
    pub(crate) async fn scheduled_alert_windows(
        &self,
    ) -> Result<Vec<hereby_core::alerts::MaintenanceWindow>, AppError> {
        let open = self
            .store
            .maintenances(&MaintenanceQuery {
                completed_since: Some(Timestamp::MAX),
                before: None,
                limit: OPEN_MAX,
                updates: false,
            })
            .await?;
        Ok(open
            .iter()
            .filter_map(|m| maintenance::alert_window(m.id, &m.title, &m.components, &m.schedule))
            .collect())
    }
}

/// What a maintenance's notification keys start with: its id and when it was made, since
/// SQLite may give a removed maintenance's id to the next one, and the outbox keeps the keys.
fn key_of(maintenance: &Maintenance) -> String {
    format!(
        "maintenance:{}-{}",
        maintenance.id,
        maintenance.created_at.as_microsecond()
    )
}

fn busy(id: i64) -> AppError {
    AppError::Conflict {
        code: "maintenance_busy",
        message: format!("maintenance {id} kept changing while this change was tried; try again"),
    }
}

fn nonce() -> Result<String, AppError> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes)
        .map_err(|e| AppError::Internal(format!("no randomness for a key: {e}")))?;
    Ok(hex::encode(bytes))
}
