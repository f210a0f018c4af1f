//! Figures across incidents, as distributions rather than means: for each duration (time to
//! detect, acknowledge, mitigate, resolve, close, all measured from `started`) the count, the
//! median and the 90th percentile, overall and per severity, service, owning team and month,
//! and for the change-caused incidents (those naming a suspect release), whose time to
//! mitigate is DORA's failed deployment recovery time. Incidents that
//! were never incidents to measure (declined, called off, handed back, merged) are counted
//! apart and left out of every duration.

use std::collections::{BTreeMap, HashMap};

use jiff::{SignedDuration, Timestamp};

use crate::milestones::{Milestones, measured};
use crate::state::Incident;
use crate::types::{ServiceName, Severity, Status, TeamName};

/// What insights need to know of the service catalogue: the team owning each service.
pub type Teams = BTreeMap<ServiceName, TeamName>;

/// The durations reported, each from `started` to a milestone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Measure {
    Detect,
    Acknowledge,
    Mitigate,
    Resolve,
    Close,
}

impl Measure {
    pub const ALL: [Measure; 5] = [
        Measure::Detect,
        Measure::Acknowledge,
        Measure::Mitigate,
        Measure::Resolve,
        Measure::Close,
    ];

    /// The stable spelling, e.g. `time_to_mitigate`.
    pub fn as_str(self) -> &'static str {
        match self {
            Measure::Detect => "time_to_detect",
            Measure::Acknowledge => "time_to_acknowledge",
            Measure::Mitigate => "time_to_mitigate",
            Measure::Resolve => "time_to_resolve",
            Measure::Close => "time_to_close",
        }
    }

    fn of(self, milestones: &Milestones) -> Option<SignedDuration> {
        let until = match self {
            Measure::Detect => milestones.detected,
            Measure::Acknowledge => milestones.acknowledged,
            Measure::Mitigate => milestones.mitigated,
            Measure::Resolve => milestones.resolved,
            Measure::Close => milestones.closed,
        };
        milestones
            .since_start(until)
            .filter(|duration| !duration.is_negative())
    }
}

/// A distribution of durations: how many, the median and the 90th percentile (nearest rank:
/// each is a duration some incident actually took). `None` percentiles for an empty set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Distribution {
    pub count: usize,
    pub median: Option<SignedDuration>,
    pub p90: Option<SignedDuration>,
}

impl Distribution {
    pub fn of(mut durations: Vec<SignedDuration>) -> Distribution {
        durations.sort();
        Distribution {
            count: durations.len(),
            median: nearest_rank(&durations, 50),
            p90: nearest_rank(&durations, 90),
        }
    }
}

/// The `percent`th percentile of sorted `values` by nearest rank: the smallest value at or
/// above which `percent` % of the values lie.
fn nearest_rank(sorted: &[SignedDuration], percent: usize) -> Option<SignedDuration> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (percent * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

/// What the figures are grouped by, besides all of them together.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Group {
    All,
    Severity(Severity),
    Service(String),
    /// The team owning one of the incident's services, by the catalogue.
    Team(String),
    /// Incidents naming a suspect release: their time to mitigate is the failed deployment
    /// recovery time.
    ChangeCaused,
    /// The month the incident was detected in, `2026-11`.
    Month(String),
}

/// The figures of a set of incidents.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Report {
    /// Incidents measured, per group.
    pub incidents: BTreeMap<Group, usize>,
    /// Per group and measure.
    pub durations: BTreeMap<(Group, Measure), Distribution>,
    /// Not measured, by how they ended: declined, called off, handed back, merged.
    pub not_measured: BTreeMap<Status, usize>,
    /// Still in triage: not yet an incident, not yet measured.
    pub in_triage: usize,
    /// The follow-ups of the measured incidents.
    pub follow_ups: FollowUpHealth,
    /// Incidents detected per ISO week (`2026-W47`) and severity.
    pub per_week: BTreeMap<(String, Severity), usize>,
}

/// How follow-ups fare: the promise of the practice is that they get done.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FollowUpHealth {
    pub total: usize,
    pub open: usize,
    /// Follow-ups with a due date that has come, or that were finished (done or won't do)
    /// while having one: those a due date can be judged on.
    pub due_reached: usize,
    /// Of those, done on or before their due date.
    pub done_by_due: usize,
    /// How long the open ones have been open.
    pub open_age: Distribution,
    /// How many review meetings each follow-up has been through while open.
    pub meetings_survived: Distribution,
}

/// The figures of `incidents` at `now`, services grouped into teams by `teams`.
pub fn report<'a>(
    incidents: impl IntoIterator<Item = &'a Incident>,
    teams: &Teams,
    now: Timestamp,
) -> Report {
    let mut report = Report::default();
    // Per group: how many incidents, and each measure's durations in `Measure::ALL`'s order.
    // Looked up once per group of each incident, and the group cloned only when first seen.
    let mut samples: HashMap<Group, (usize, [Vec<SignedDuration>; 5])> = HashMap::new();
    let mut open_ages = Vec::new();
    let mut survived = Vec::new();
    for incident in incidents {
        if incident.status == Status::Triage {
            report.in_triage += 1;
            continue;
        }
        if !measured(incident.status) {
            *report.not_measured.entry(incident.status).or_default() += 1;
            continue;
        }
        follow_ups(
            incident,
            now,
            &mut report.follow_ups,
            &mut open_ages,
            &mut survived,
        );
        let milestones = Milestones::of(incident);
        let detected = milestones.detected.unwrap_or(incident.declared_at);
        *report
            .per_week
            .entry((week(detected), incident.severity))
            .or_default() += 1;
        let mut groups = vec![
            Group::All,
            Group::Severity(incident.severity),
            Group::Month(month(detected)),
        ];
        groups.extend(
            incident
                .services
                .iter()
                .map(|service| Group::Service(service.as_str().to_owned())),
        );
        let mut owners: Vec<&TeamName> = incident
            .services
            .iter()
            .filter_map(|service| teams.get(service))
            .collect();
        // An incident touching two services of one team counts once for that team.
        owners.sort();
        owners.dedup();
        groups.extend(owners.into_iter().map(|team| Group::Team(team.to_string())));
        if incident.suspect_release.is_some() {
            groups.push(Group::ChangeCaused);
        }
        let durations = Measure::ALL.map(|measure| measure.of(&milestones));
        for group in groups {
            let (count, sample) = samples.entry(group).or_default();
            *count += 1;
            for (sample, duration) in sample.iter_mut().zip(durations) {
                sample.extend(duration);
            }
        }
    }
    for (group, (count, sample)) in samples {
        for (measure, durations) in Measure::ALL.into_iter().zip(sample) {
            report
                .durations
                .insert((group.clone(), measure), Distribution::of(durations));
        }
        report.incidents.insert(group, count);
    }
    report.follow_ups.open_age = Distribution::of(open_ages);
    report.follow_ups.meetings_survived = Distribution::of(survived);
    report
}

/// Adds `incident`'s follow-ups to `health`: a follow-up's end is when it was last changed
/// once it is no longer open (its completion, unless edited after), and the review meetings
/// it went through are those held after it was added and before that end.
fn follow_ups(
    incident: &Incident,
    now: Timestamp,
    health: &mut FollowUpHealth,
    open_ages: &mut Vec<SignedDuration>,
    survived: &mut Vec<SignedDuration>,
) {
    use crate::types::{ActionKind, ActionState};
    let today = now.to_zoned(jiff::tz::TimeZone::UTC).date();
    for item in incident.action_items.values() {
        if item.kind != ActionKind::FollowUp {
            continue;
        }
        health.total += 1;
        let open = item.state == ActionState::Open;
        let ended = if open { now } else { item.updated_at };
        if open {
            health.open += 1;
            open_ages.push(now.duration_since(item.created_at));
        }
        if let Some(due) = item.due
            && (!open || due < today)
        {
            health.due_reached += 1;
            let finished_on = item.updated_at.to_zoned(jiff::tz::TimeZone::UTC).date();
            if item.state == ActionState::Done && finished_on <= due {
                health.done_by_due += 1;
            }
        }
        let meetings = incident
            .reviews
            .held
            .iter()
            .filter(|meeting| meeting.at > item.created_at && meeting.at < ended)
            .count();
        // Counted as a distribution of whole numbers (seconds stand for meetings).
        survived.push(SignedDuration::from_secs(meetings as i64));
    }
}

/// What is happening now, for gauges: incidents being worked on by severity, those whose
/// stakeholder update is overdue, and follow-ups still open.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Live {
    pub active_by_severity: BTreeMap<Severity, usize>,
    pub updates_overdue: usize,
    pub follow_ups_open: usize,
}

/// The live figures of `incidents` at `now`, with the update cadence.
pub fn live<'a>(
    incidents: impl IntoIterator<Item = &'a Incident>,
    cadence: &crate::cadence::Cadence,
    now: Timestamp,
) -> Live {
    let mut live = Live::default();
    for incident in incidents {
        if incident.status.is_active() {
            *live
                .active_by_severity
                .entry(incident.severity)
                .or_default() += 1;
            if incident
                .next_update_due(cadence)
                .is_some_and(|due| due <= now)
            {
                live.updates_overdue += 1;
            }
        }
        live.follow_ups_open += incident
            .action_items
            .values()
            .filter(|item| {
                item.kind == crate::types::ActionKind::FollowUp
                    && item.state == crate::types::ActionState::Open
            })
            .count();
    }
    live
}

/// The ISO week of `at` (UTC), `2026-W47`.
fn week(at: Timestamp) -> String {
    let week = at.to_zoned(jiff::tz::TimeZone::UTC).date().iso_week_date();
    format!("{:04}-W{:02}", week.year(), week.week())
}

fn month(at: Timestamp) -> String {
    let date = at.to_zoned(jiff::tz::TimeZone::UTC).date();
    format!("{:04}-{:02}", date.year(), date.month())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Event, IncidentDeclared, StatusChanged};
    use crate::types::{ServiceName, Title, UserName, Visibility};
    use crate::{Envelope, State, evolve};

    fn minutes(n: i64) -> SignedDuration {
        SignedDuration::from_mins(n)
    }

    fn at(minute: i64) -> Timestamp {
        Timestamp::from_second(1_790_000_000 + minute * 60).unwrap()
    }

    /// An incident declared at `start` by a person, moved to each status at its minute.
    fn incident(
        severity: Severity,
        service: &str,
        start: i64,
        moves: &[(i64, Status)],
    ) -> Incident {
        let mut state = evolve(
            State::initial(),
            &Envelope {
                at: at(start),
                actor: UserName::parse("anna").unwrap(),
                event: Event::IncidentDeclared(IncidentDeclared {
                    title: Title::parse("Down").unwrap(),
                    summary: None,
                    public_summary: None,
                    severity,
                    potential: false,
                    services: vec![ServiceName::parse(service).unwrap()],
                    visibility: Visibility::Internal,
                    commander: UserName::parse("anna").unwrap(),
                    triage: false,
                }),
            },
        );
        let mut from = Status::Investigating;
        for (minute, to) in moves {
            state = evolve(
                state,
                &Envelope {
                    at: at(*minute),
                    actor: UserName::parse("anna").unwrap(),
                    event: Event::StatusChanged(StatusChanged {
                        from,
                        to: *to,
                        reason: None,
                        overridden_follow_ups: vec![],
                        overrode_postmortem: false,
                    }),
                },
            );
            from = *to;
        }
        state.incident().unwrap().clone()
    }

    #[test]
    fn percentiles_are_by_nearest_rank() {
        let table: Vec<(Vec<i64>, Option<i64>, Option<i64>)> = vec![
            (vec![], None, None),
            (vec![7], Some(7), Some(7)),
            (vec![1, 2], Some(1), Some(2)),
            (vec![3, 1, 2], Some(2), Some(3)),
            ((1..=10).collect(), Some(5), Some(9)),
            ((1..=100).collect(), Some(50), Some(90)),
            (vec![5, 5, 5, 600], Some(5), Some(600)),
        ];
        for (values, median, p90) in table {
            let distribution = Distribution::of(values.iter().map(|m| minutes(*m)).collect());
            assert_eq!(distribution.count, values.len());
            assert_eq!(distribution.median, median.map(minutes), "{values:?}");
            assert_eq!(distribution.p90, p90.map(minutes), "{values:?}");
        }
    }

    #[test]
    fn durations_per_group_leave_out_what_was_not_an_incident() {
        use Status::*;
        let incidents = vec![
            incident(
                Severity::Sev1,
                "checkout",
                0,
                &[(10, Monitoring), (30, Resolved)],
            ),
            incident(Severity::Sev1, "checkout", 100, &[(160, Resolved)]),
            incident(Severity::Sev2, "search", 200, &[(205, Monitoring)]),
            // Not measured: called off, and handed back.
            incident(Severity::Sev1, "checkout", 300, &[(301, CalledOff)]),
            incident(Severity::Sev3, "search", 400, &[(450, HandedBack)]),
        ];
        let report = report(&incidents, &Teams::new(), at(1_000));
        assert_eq!(report.incidents[&Group::All], 3);
        assert_eq!(report.follow_ups.total, 0);
        assert_eq!(report.not_measured[&CalledOff], 1);
        assert_eq!(report.not_measured[&HandedBack], 1);
        let all_mitigate = report.durations[&(Group::All, Measure::Mitigate)];
        // Mitigated after 10, 60 (resolved without monitoring) and 5 minutes.
        assert_eq!(all_mitigate.count, 3);
        assert_eq!(all_mitigate.median, Some(minutes(10)));
        assert_eq!(all_mitigate.p90, Some(minutes(60)));
        let sev1_resolve = report.durations[&(Group::Severity(Severity::Sev1), Measure::Resolve)];
        assert_eq!(
            (sev1_resolve.count, sev1_resolve.median),
            (2, Some(minutes(30)))
        );
        let search_resolve = report.durations[&(Group::Service("search".into()), Measure::Resolve)];
        assert_eq!(
            search_resolve.count, 0,
            "the search incident is not resolved yet"
        );
        assert_eq!(search_resolve.median, None);
        // A person declared each: acknowledged at once.
        let acknowledge = report.durations[&(Group::All, Measure::Acknowledge)];
        assert_eq!((acknowledge.count, acknowledge.p90), (3, Some(minutes(0))));
        assert!(
            report
                .durations
                .contains_key(&(Group::Month("2026-09".into()), Measure::Detect))
        );
        // 2026-09-21 is a Monday: all three measured incidents fall in week 39.
        assert_eq!(report.per_week[&("2026-W39".to_owned(), Severity::Sev1)], 2);
        assert_eq!(report.per_week[&("2026-W39".to_owned(), Severity::Sev2)], 1);
        assert_eq!(
            report.per_week.len(),
            2,
            "not-measured incidents are not counted"
        );
    }

    #[test]
    fn live_figures_count_what_is_being_worked_on() {
        use Status::*;
        let incidents = vec![
            incident(Severity::Sev1, "checkout", 0, &[]),
            incident(Severity::Sev1, "checkout", 0, &[(5, Monitoring)]),
            incident(Severity::Sev3, "search", 0, &[(5, Resolved)]),
        ];
        let cadence = crate::cadence::Cadence::default();
        // Long after: every SEV1 still active owes an update (SEV3's cadence is longer, but it
        // is resolved).
        let live = live(&incidents, &cadence, at(24 * 60));
        assert_eq!(live.active_by_severity.get(&Severity::Sev1), Some(&2));
        assert_eq!(live.active_by_severity.get(&Severity::Sev3), None);
        assert_eq!(live.updates_overdue, 2);
        assert_eq!(live.follow_ups_open, 0);
        let soon = super::live(&incidents, &cadence, at(1));
        assert_eq!(soon.updates_overdue, 0, "nothing is due a minute in");
    }

    #[test]
    fn follow_up_health_counts_due_dates_ages_and_meetings_survived() {
        use crate::event::{ActionItemAdded, ActionItemCompleted, ReviewMeetingHeld};
        use crate::types::{ActionKind, Owner};
        let day = |d: i64| d * 24 * 60;
        let added = |item: u32, due: Option<&str>, kind: ActionKind| {
            Event::ActionItemAdded(ActionItemAdded {
                item,
                text: crate::types::Text::parse("add an alert").unwrap(),
                owner: Owner::parse("anna").unwrap(),
                due: due.map(|d| d.parse().unwrap()),
                kind,
                tracker_url: None,
            })
        };
        let mut state = State::initial();
        let events = [
            (0, declared_event()),
            (1, added(1, Some("2026-09-25"), ActionKind::FollowUp)),
            (2, added(2, Some("2026-09-22"), ActionKind::FollowUp)),
            (3, added(3, None, ActionKind::Task)),
            (
                day(2),
                Event::ReviewMeetingHeld(ReviewMeetingHeld {
                    meeting: 1,
                    attendees: vec![],
                    notes: None,
                    outcomes: vec![],
                    held_at: None,
                }),
            ),
            (
                day(3),
                Event::ActionItemCompleted(ActionItemCompleted { item: 1 }),
            ),
        ];
        for (minute, event) in events {
            state = evolve(
                state,
                &Envelope {
                    at: at(minute),
                    actor: UserName::parse("anna").unwrap(),
                    event,
                },
            );
        }
        let incident = state.incident().unwrap().clone();
        let health = report(&[incident], &Teams::new(), at(day(10))).follow_ups;
        assert_eq!(
            (health.total, health.open),
            (2, 1),
            "the task is not a follow-up"
        );
        // The first was done before its due date; the second's has passed while open.
        assert_eq!((health.due_reached, health.done_by_due), (2, 1));
        assert_eq!(health.open_age.count, 1);
        assert_eq!(
            health.open_age.median,
            Some(at(day(10)).duration_since(at(2)))
        );
        // Both were open through the one review meeting.
        assert_eq!(
            health.meetings_survived.median,
            Some(SignedDuration::from_secs(1))
        );
    }

    fn declared_event() -> Event {
        Event::IncidentDeclared(IncidentDeclared {
            title: Title::parse("Down").unwrap(),
            summary: None,
            public_summary: None,
            severity: Severity::Sev2,
            potential: false,
            services: vec![],
            visibility: Visibility::Internal,
            commander: UserName::parse("anna").unwrap(),
            triage: false,
        })
    }

    #[test]
    fn teams_and_change_caused_incidents_are_groups_of_their_own() {
        use crate::event::SuspectReleaseSet;
        use crate::ladder::ReleaseRef;
        use crate::types::{ReleaseVersion, TeamName};
        use Status::*;
        let mut caused = incident(Severity::Sev1, "checkout", 0, &[(45, Monitoring)]);
        let named = evolve(
            State::Declared(Box::new(caused.clone())),
            &Envelope {
                at: at(20),
                actor: UserName::parse("anna").unwrap(),
                event: Event::SuspectReleaseSet(SuspectReleaseSet {
                    release: Some(ReleaseRef {
                        service: ServiceName::parse("checkout").unwrap(),
                        version: ReleaseVersion::parse("v42").unwrap(),
                    }),
                    reason: None,
                }),
            },
        );
        caused = named.incident().unwrap().clone();
        let mut both = incident(Severity::Sev2, "cart", 100, &[(110, Monitoring)]);
        both.services.push(ServiceName::parse("checkout").unwrap());
        let incidents = vec![
            caused,
            both,
            incident(Severity::Sev2, "search", 200, &[(260, Monitoring)]),
        ];
        let teams: Teams = [
            ("checkout", "payments"),
            ("cart", "payments"),
            ("search", "discovery"),
        ]
        .into_iter()
        .map(|(service, team)| {
            (
                ServiceName::parse(service).unwrap(),
                TeamName::parse(team).unwrap(),
            )
        })
        .collect();
        let report = report(&incidents, &teams, at(1_000));
        // The cart-and-checkout incident counts once for the team owning both.
        assert_eq!(report.incidents[&Group::Team("payments".into())], 2);
        assert_eq!(report.incidents[&Group::Team("discovery".into())], 1);
        let recovery = report.durations[&(Group::ChangeCaused, Measure::Mitigate)];
        assert_eq!((recovery.count, recovery.median), (1, Some(minutes(45))));
        assert_eq!(report.incidents[&Group::ChangeCaused], 1);
    }

    #[test]
    fn an_empty_set_has_no_figures() {
        let report = report(&[], &Teams::new(), at(0));
        assert!(report.incidents.is_empty() && report.durations.is_empty());
    }
}
