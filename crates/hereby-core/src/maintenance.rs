//! Scheduled maintenance: a planned window on status page components, its statuses
//! (scheduled → in progress → verifying → completed, forward only), when time moves it on by
//! itself, when subscribers are reminded, and the alert maintenance window it stands for.

use jiff::{SignedDuration, Timestamp};

use crate::alerts::{MaintenanceSpec, MaintenanceWindow};
use crate::types::{InvalidValue, ServiceName};

/// The longest title of a maintenance, in characters.
pub const TITLE_MAX: usize = 200;

/// The longest update text, in characters.
pub const BODY_MAX: usize = 10_000;

/// The longest a maintenance may be planned for. A window of more than a month is a mistake
/// in a date far more often than a plan.
pub const LONGEST: SignedDuration = SignedDuration::from_hours(31 * 24);

/// How long before its start subscribers are reminded of a maintenance (as Statuspage does).
pub const REMINDER_LEAD: SignedDuration = SignedDuration::from_mins(60);

/// Where a maintenance stands, in Statuspage's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MaintenanceStatus {
    Scheduled,
    InProgress,
    Verifying,
    Completed,
}

impl MaintenanceStatus {
    /// Every status, in the order a maintenance goes through them.
    pub const ALL: [MaintenanceStatus; 4] = [
        MaintenanceStatus::Scheduled,
        MaintenanceStatus::InProgress,
        MaintenanceStatus::Verifying,
        MaintenanceStatus::Completed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MaintenanceStatus::Scheduled => "scheduled",
            MaintenanceStatus::InProgress => "in_progress",
            MaintenanceStatus::Verifying => "verifying",
            MaintenanceStatus::Completed => "completed",
        }
    }

    /// How a page says it.
    pub fn label(self) -> &'static str {
        match self {
            MaintenanceStatus::Scheduled => "Scheduled",
            MaintenanceStatus::InProgress => "In progress",
            MaintenanceStatus::Verifying => "Verifying",
            MaintenanceStatus::Completed => "Completed",
        }
    }

    /// Parses a status, accepting `-` or a space for `_`.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let wanted = raw.trim().to_ascii_lowercase().replace(['-', ' '], "_");
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == wanted)
            .ok_or_else(|| {
                InvalidValue::new(
                    "status",
                    format!(
                        "must be one of scheduled, in_progress, verifying, completed, not `{raw}`"
                    ),
                )
            })
    }

    /// Whether the work is under way: the components show `under_maintenance`.
    pub fn running(self) -> bool {
        matches!(
            self,
            MaintenanceStatus::InProgress | MaintenanceStatus::Verifying
        )
    }

    /// What an update says when a person moves the maintenance on without words of their own,
    /// and what hereby says when time moves it on.
    pub fn default_body(self) -> &'static str {
        match self {
            MaintenanceStatus::Scheduled => "This maintenance is scheduled.",
            MaintenanceStatus::InProgress => "This maintenance is in progress.",
            MaintenanceStatus::Verifying => "The work is done; we are verifying the results.",
            MaintenanceStatus::Completed => "This maintenance has completed.",
        }
    }
}

impl std::fmt::Display for MaintenanceStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a change to a maintenance was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MaintenanceRefusal {
    /// A field is wrong on its own (empty title, end before start …).
    Invalid(InvalidValue),
    /// The change does not fit where the maintenance stands (a step back, a finished one
    /// edited, a started one removed).
    NotNow(String),
}

impl std::fmt::Display for MaintenanceRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MaintenanceRefusal::Invalid(invalid) => invalid.fmt(f),
            MaintenanceRefusal::NotNow(why) => f.write_str(why),
        }
    }
}

impl From<InvalidValue> for MaintenanceRefusal {
    fn from(invalid: InvalidValue) -> Self {
        MaintenanceRefusal::Invalid(invalid)
    }
}

/// A maintenance's plan and where it stands: what the rules look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    pub status: MaintenanceStatus,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    /// When it went in progress (by a person or by time).
    pub started_at: Option<Timestamp>,
    pub completed_at: Option<Timestamp>,
    /// Moved to in progress at `starts_at` when nobody did it earlier.
    pub auto_start: bool,
    /// Completed at `ends_at` when it is still in progress then (a maintenance being verified
    /// waits for a person).
    pub auto_complete: bool,
    /// When subscribers were reminded of the start.
    pub reminded_at: Option<Timestamp>,
}

/// A plan as a person wrote it, checked: the title trimmed, the components named once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub title: String,
    pub components: Vec<ServiceName>,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
}

impl Plan {
    /// Checks a plan: a title, at least one component, an end after the start and within
    /// [`LONGEST`] of it.
    pub fn check(
        title: &str,
        components: &[ServiceName],
        starts_at: Timestamp,
        ends_at: Timestamp,
    ) -> Result<Plan, InvalidValue> {
        let title = title.trim();
        if title.is_empty() {
            return Err(InvalidValue::new("title", "must not be empty"));
        }
        if title.chars().any(char::is_control) {
            return Err(InvalidValue::new(
                "title",
                "is one line without control characters",
            ));
        }
        if title.chars().count() > TITLE_MAX {
            return Err(InvalidValue::new(
                "title",
                format!("is longer than {TITLE_MAX} characters"),
            ));
        }
        let mut named: Vec<ServiceName> = Vec::new();
        for component in components {
            if !named.contains(component) {
                named.push(component.clone());
            }
        }
        if named.is_empty() {
            return Err(InvalidValue::new(
                "components",
                "name at least one component the maintenance affects",
            ));
        }
        if ends_at <= starts_at {
            return Err(InvalidValue::new(
                "ends_at",
                format!("must be after the start ({starts_at})"),
            ));
        }
        if ends_at.duration_since(starts_at) > LONGEST {
            return Err(InvalidValue::new(
                "ends_at",
                "is more than 31 days after the start; plan a longer piece of work as several maintenances",
            ));
        }
        Ok(Plan {
            title: title.to_owned(),
            components: named,
            starts_at,
            ends_at,
        })
    }
}

impl Schedule {
    /// A new plan's schedule. Its end may not be past: a maintenance that is already over is
    /// history, not a plan.
    pub fn new(
        plan: &Plan,
        auto_start: bool,
        auto_complete: bool,
        now: Timestamp,
    ) -> Result<Schedule, MaintenanceRefusal> {
        if plan.ends_at <= now {
            return Err(MaintenanceRefusal::Invalid(InvalidValue::new(
                "ends_at",
                "is in the past; a maintenance is planned for the future or now",
            )));
        }
        Ok(Schedule {
            status: MaintenanceStatus::Scheduled,
            starts_at: plan.starts_at,
            ends_at: plan.ends_at,
            started_at: None,
            completed_at: None,
            auto_start,
            auto_complete,
            reminded_at: None,
        })
    }

    /// Whether a person may move it to `to` now: forward only, never to where it is, never
    /// out of completed. Skipping ahead is allowed (an in-progress maintenance with nothing
    /// to verify completes).
    pub fn may_move_to(&self, to: MaintenanceStatus) -> Result<(), MaintenanceRefusal> {
        if self.status == MaintenanceStatus::Completed {
            return Err(MaintenanceRefusal::NotNow(
                "this maintenance has completed; schedule a new one for further work".into(),
            ));
        }
        if to == self.status {
            return Err(MaintenanceRefusal::NotNow(format!(
                "this maintenance is already {}; post an update without a status to add words",
                self.status
            )));
        }
        if to < self.status {
            return Err(MaintenanceRefusal::NotNow(format!(
                "a maintenance moves forward only (scheduled → in_progress → verifying → completed); it is {} and cannot go back to {to}",
                self.status
            )));
        }
        Ok(())
    }

    /// The schedule after a move to `to` at `at`.
    pub fn moved(&self, to: MaintenanceStatus, at: Timestamp) -> Schedule {
        let mut next = self.clone();
        next.status = to;
        if to.running() || to == MaintenanceStatus::Completed {
            next.started_at.get_or_insert(at);
        }
        if to == MaintenanceStatus::Completed {
            next.completed_at = Some(at);
        }
        next
    }

    /// Whether its plan may still change: times, title and components change until it
    /// completes, but the start only before it began.
    pub fn may_replan(&self, plan: &Plan) -> Result<(), MaintenanceRefusal> {
        match self.status {
            MaintenanceStatus::Completed => Err(MaintenanceRefusal::NotNow(
                "this maintenance has completed; its record stays as it was".into(),
            )),
            MaintenanceStatus::Scheduled => Ok(()),
            _ if plan.starts_at != self.starts_at => Err(MaintenanceRefusal::NotNow(format!(
                "this maintenance is {} already; its start cannot move (its end can)",
                self.status
            ))),
            _ => Ok(()),
        }
    }

    /// Whether it may be removed: only before it began, so a maintenance the public has seen
    /// run stays on record.
    pub fn may_remove(&self) -> Result<(), MaintenanceRefusal> {
        if self.status == MaintenanceStatus::Scheduled {
            Ok(())
        } else {
            Err(MaintenanceRefusal::NotNow(format!(
                "this maintenance is {}; only a scheduled one can be removed (complete it instead)",
                self.status
            )))
        }
    }

    /// The move time makes by itself at `now`, if any: a scheduled maintenance with
    /// `auto_start` goes in progress at its start, an in-progress one with `auto_complete`
    /// completes at its end (one that is past its end when it would start completes at
    /// once when it may, so a late worker never shows a finished window as running).
    pub fn due(&self, now: Timestamp) -> Option<MaintenanceStatus> {
        match self.status {
            MaintenanceStatus::Scheduled if self.auto_start && now >= self.starts_at => {
                if self.auto_complete && now >= self.ends_at {
                    Some(MaintenanceStatus::Completed)
                } else {
                    Some(MaintenanceStatus::InProgress)
                }
            }
            MaintenanceStatus::InProgress if self.auto_complete && now >= self.ends_at => {
                Some(MaintenanceStatus::Completed)
            }
            _ => None,
        }
    }

    /// Whether subscribers are owed the reminder of the start at `now`: still scheduled,
    /// within [`REMINDER_LEAD`] of the start, not reminded yet. A maintenance planned less
    /// than the lead ahead was just announced, so it gets no reminder.
    pub fn reminder_due(&self, now: Timestamp, created_at: Timestamp) -> bool {
        let lead_starts = self
            .starts_at
            .checked_sub(REMINDER_LEAD)
            .unwrap_or(self.starts_at);
        self.status == MaintenanceStatus::Scheduled
            && self.reminded_at.is_none()
            && now >= lead_starts
            && now < self.starts_at
            && created_at < lead_starts
    }

    /// When its alert window holds: over the planned times while it is scheduled, from its
    /// start until it completes while it runs (however long that takes), never once it has
    /// completed. `None` for an open end.
    pub fn alert_window(&self) -> Option<(Timestamp, Option<Timestamp>)> {
        match self.status {
            MaintenanceStatus::Scheduled => Some((self.starts_at, Some(self.ends_at))),
            MaintenanceStatus::InProgress | MaintenanceStatus::Verifying => {
                Some((self.started_at.unwrap_or(self.starts_at), None))
            }
            MaintenanceStatus::Completed => None,
        }
    }

    /// Whether its components show as under maintenance.
    pub fn running(&self) -> bool {
        self.status.running()
    }
}

/// How far an open-ended alert window reaches: a running maintenance's window is rebuilt
/// every time the routes are read, so this only has to outlast one reading.
const OPEN_END: SignedDuration = SignedDuration::from_hours(24 * 366);

/// The alert maintenance window a scheduled maintenance stands for, named `maintenance-<id>`:
/// firing alerts labelled `service` with one of its components are kept as suppressed while
/// it holds. `None` once it completed.
pub fn alert_window(
    id: i64,
    title: &str,
    components: &[ServiceName],
    schedule: &Schedule,
) -> Option<MaintenanceWindow> {
    let (starts, ends) = schedule.alert_window()?;
    let ends = ends.unwrap_or_else(|| starts.checked_add(OPEN_END).unwrap_or(starts));
    // Service names are lowercase letters, digits and `-`, none of which means anything to a
    // regular expression outside a class, so the names go in as they are.
    let names: Vec<&str> = components.iter().map(ServiceName::as_str).collect();
    let spec = MaintenanceSpec {
        matchers: vec![format!("service=~\"{}\"", names.join("|"))],
        starts: starts.to_string(),
        ends: ends.to_string(),
        repeat: None,
        reason: Some(format!("scheduled maintenance: {title}")),
    };
    MaintenanceWindow::from_spec(&format!("maintenance-{id}"), &spec).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use MaintenanceStatus::*;

    fn at(raw: &str) -> Timestamp {
        format!("2026-12-05T{raw}:00Z").parse().unwrap()
    }

    fn service(name: &str) -> ServiceName {
        ServiceName::parse(name).unwrap()
    }

    fn schedule(status: MaintenanceStatus) -> Schedule {
        let plan = Plan::check(
            "Database upgrade",
            &[service("db")],
            at("22:00"),
            at("23:00"),
        )
        .unwrap();
        let mut schedule = Schedule::new(&plan, true, true, at("10:00")).unwrap();
        schedule.status = status;
        if status != Scheduled {
            schedule.started_at = Some(at("22:00"));
        }
        schedule
    }

    #[test]
    fn plans_are_checked_field_by_field() {
        let db = [service("db")];
        // (title, components, start, end, the field refused)
        type Case<'a> = (
            &'a str,
            &'a [ServiceName],
            &'a str,
            &'a str,
            Option<&'a str>,
        );
        let table: [Case; 6] = [
            ("Upgrade", &db, "22:00", "23:00", None),
            ("  ", &db, "22:00", "23:00", Some("title")),
            ("Upgrade", &[], "22:00", "23:00", Some("components")),
            ("Upgrade", &db, "22:00", "22:00", Some("ends_at")),
            ("Upgrade", &db, "23:00", "22:00", Some("ends_at")),
            (
                "Upgrade",
                &[service("db"), service("db")],
                "22:00",
                "23:00",
                None,
            ),
        ];
        for (title, components, starts, ends, refused) in table {
            let checked = Plan::check(title, components, at(starts), at(ends));
            assert_eq!(
                checked.as_ref().err().map(|e| e.field),
                refused,
                "{title:?} {components:?} {starts}–{ends}: {checked:?}"
            );
        }
        let twice = Plan::check(
            "Upgrade",
            &[service("db"), service("db")],
            at("22:00"),
            at("23:00"),
        );
        assert_eq!(twice.unwrap().components, vec![service("db")]);
        let long = Plan::check(
            "Upgrade",
            &db,
            at("22:00"),
            at("22:00")
                .checked_add(LONGEST + SignedDuration::from_secs(1))
                .unwrap(),
        );
        assert_eq!(long.unwrap_err().field, "ends_at");
    }

    #[test]
    fn a_plan_already_over_is_refused() {
        let plan = Plan::check("Upgrade", &[service("db")], at("08:00"), at("09:00")).unwrap();
        assert!(matches!(
            Schedule::new(&plan, true, true, at("10:00")),
            Err(MaintenanceRefusal::Invalid(InvalidValue {
                field: "ends_at",
                ..
            }))
        ));
        // Under way already (started before now, ends later) is a plan for now.
        let now = Plan::check("Upgrade", &[service("db")], at("09:00"), at("11:00")).unwrap();
        assert!(Schedule::new(&now, true, true, at("10:00")).is_ok());
    }

    #[test]
    fn statuses_move_forward_only() {
        let table = [
            (Scheduled, InProgress, true),
            (Scheduled, Verifying, true),
            (Scheduled, Completed, true),
            (Scheduled, Scheduled, false),
            (InProgress, Verifying, true),
            (InProgress, Completed, true),
            (InProgress, Scheduled, false),
            (InProgress, InProgress, false),
            (Verifying, InProgress, false),
            (Verifying, Completed, true),
            (Completed, Verifying, false),
            (Completed, Completed, false),
        ];
        for (from, to, allowed) in table {
            assert_eq!(
                schedule(from).may_move_to(to).is_ok(),
                allowed,
                "{from} → {to}"
            );
        }
    }

    #[test]
    fn moving_records_the_start_and_the_completion_once() {
        let started = schedule(Scheduled).moved(InProgress, at("21:55"));
        assert_eq!(started.started_at, Some(at("21:55")));
        let verifying = started.moved(Verifying, at("22:30"));
        assert_eq!(verifying.started_at, Some(at("21:55")));
        let done = verifying.moved(Completed, at("22:40"));
        assert_eq!(
            (done.started_at, done.completed_at),
            (Some(at("21:55")), Some(at("22:40")))
        );
        // Completed straight from scheduled: it ran, so it started when it completed.
        let skipped = schedule(Scheduled).moved(Completed, at("22:10"));
        assert_eq!(skipped.started_at, Some(at("22:10")));
    }

    #[test]
    fn time_moves_it_on_when_allowed() {
        let manual = |status, auto_start, auto_complete| {
            let mut schedule = schedule(status);
            schedule.auto_start = auto_start;
            schedule.auto_complete = auto_complete;
            schedule
        };
        let table = [
            (Scheduled, true, true, "21:59", None),
            (Scheduled, true, true, "22:00", Some(InProgress)),
            (Scheduled, false, true, "22:30", None),
            // A worker that slept through the whole window completes it at once.
            (Scheduled, true, true, "23:05", Some(Completed)),
            (Scheduled, true, false, "23:05", Some(InProgress)),
            (InProgress, true, true, "22:59", None),
            (InProgress, true, true, "23:00", Some(Completed)),
            (InProgress, true, false, "23:30", None),
            // Verifying waits for a person.
            (Verifying, true, true, "23:30", None),
            (Completed, true, true, "23:30", None),
        ];
        for (status, auto_start, auto_complete, now, due) in table {
            assert_eq!(
                manual(status, auto_start, auto_complete).due(at(now)),
                due,
                "{status} start={auto_start} complete={auto_complete} at {now}"
            );
        }
    }

    #[test]
    fn subscribers_are_reminded_once_an_hour_before() {
        let planned = schedule(Scheduled);
        let early = at("09:00");
        assert!(!planned.reminder_due(at("20:59"), early));
        assert!(planned.reminder_due(at("21:00"), early));
        assert!(planned.reminder_due(at("21:59"), early));
        assert!(!planned.reminder_due(at("22:00"), early));
        // Planned 30 minutes ahead: the announcement was the reminder.
        assert!(!planned.reminder_due(at("21:45"), at("21:30")));
        let mut reminded = planned.clone();
        reminded.reminded_at = Some(at("21:00"));
        assert!(!reminded.reminder_due(at("21:30"), early));
        assert!(!schedule(InProgress).reminder_due(at("21:30"), early));
    }

    #[test]
    fn the_alert_window_follows_the_plan_then_the_work() {
        let components = [service("db"), service("checkout")];
        let planned = alert_window(7, "Upgrade", &components, &schedule(Scheduled)).unwrap();
        assert_eq!(planned.name, "maintenance-7");
        assert!(!planned.in_force(at("21:59")));
        assert!(planned.in_force(at("22:00")));
        assert!(!planned.in_force(at("23:00")));
        let labels = |service: &str| {
            std::collections::BTreeMap::from([("service".to_owned(), service.to_owned())])
        };
        let matches = |window: &MaintenanceWindow, service: &str| {
            window.matchers.iter().all(|m| m.matches(&labels(service)))
        };
        assert!(matches(&planned, "db"));
        assert!(matches(&planned, "checkout"));
        assert!(!matches(&planned, "dbx"));
        assert!(!matches(&planned, "search"));
        // Running past its planned end: it holds until someone completes it.
        let running = alert_window(7, "Upgrade", &components, &schedule(Verifying)).unwrap();
        assert!(running.in_force(at("23:30")));
        assert!(alert_window(7, "Upgrade", &components, &schedule(Completed)).is_none());
    }

    #[test]
    fn only_a_maintenance_that_has_not_begun_is_removed_or_moved_in_start() {
        assert!(schedule(Scheduled).may_remove().is_ok());
        assert!(schedule(InProgress).may_remove().is_err());
        let later = Plan::check("Upgrade", &[service("db")], at("22:30"), at("23:30")).unwrap();
        let longer = Plan::check("Upgrade", &[service("db")], at("22:00"), at("23:30")).unwrap();
        assert!(schedule(Scheduled).may_replan(&later).is_ok());
        assert!(schedule(InProgress).may_replan(&later).is_err());
        assert!(schedule(InProgress).may_replan(&longer).is_ok());
        assert!(schedule(Completed).may_replan(&longer).is_err());
    }

    #[test]
    fn statuses_parse_as_people_write_them() {
        assert_eq!(MaintenanceStatus::parse("in-progress"), Ok(InProgress));
        assert_eq!(MaintenanceStatus::parse(" In Progress "), Ok(InProgress));
        assert!(MaintenanceStatus::parse("done").is_err());
    }
}
