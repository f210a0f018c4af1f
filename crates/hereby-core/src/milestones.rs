//! An incident's milestones, the moments its durations are measured between: started (the
//! impact began), detected, acknowledged (a person acted), mitigated (first move to
//! monitoring), resolved and closed. Derived from the events; the durations that insights
//! report are measured from `started`.

use jiff::{SignedDuration, Timestamp};

use crate::state::Incident;
use crate::types::{MilestoneName, Status};

/// The moments of an incident, each once reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Milestones {
    /// When the impact began: the impact window's start when it was set earlier than the
    /// detection, else the detection.
    pub started: Option<Timestamp>,
    /// When hereby first knew: the declaration (an incident opened from alerts is declared
    /// when its alerts arrive).
    pub detected: Option<Timestamp>,
    /// The first action of a person after detection.
    pub acknowledged: Option<Timestamp>,
    /// The first move to monitoring, or to resolved if it skipped monitoring.
    pub mitigated: Option<Timestamp>,
    /// When it was resolved (absent again if it was reopened).
    pub resolved: Option<Timestamp>,
    /// When it was closed.
    pub closed: Option<Timestamp>,
}

impl Milestones {
    /// The milestones of `incident` as its events left them, those the Incident Commander set
    /// by hand over the derived ones.
    pub fn of(incident: &Incident) -> Milestones {
        let set = |name: MilestoneName| incident.milestones_set.get(&name).copied();
        let detected = set(MilestoneName::Detected).unwrap_or(incident.declared_at);
        let started = match incident.impact.start {
            Some(start) if start < detected => start,
            _ => detected,
        };
        let derived = Milestones {
            started: Some(started),
            detected: Some(detected),
            acknowledged: incident.acknowledged_at,
            mitigated: incident.mitigated_at,
            resolved: incident.resolved_at,
            closed: (incident.status == Status::Closed)
                .then_some(incident.ended_at)
                .flatten(),
        };
        let mut milestones = derived;
        for (name, at) in &incident.milestones_set {
            // A milestone not reached (a resolution undone by a reopening) stays unreached.
            if derived.get(*name).is_some() {
                milestones.set(*name, *at);
            }
        }
        milestones
    }

    pub fn get(&self, name: MilestoneName) -> Option<Timestamp> {
        match name {
            MilestoneName::Started => self.started,
            MilestoneName::Detected => self.detected,
            MilestoneName::Acknowledged => self.acknowledged,
            MilestoneName::Mitigated => self.mitigated,
            MilestoneName::Resolved => self.resolved,
            MilestoneName::Closed => self.closed,
        }
    }

    fn set(&mut self, name: MilestoneName, at: Timestamp) {
        let slot = match name {
            MilestoneName::Started => &mut self.started,
            MilestoneName::Detected => &mut self.detected,
            MilestoneName::Acknowledged => &mut self.acknowledged,
            MilestoneName::Mitigated => &mut self.mitigated,
            MilestoneName::Resolved => &mut self.resolved,
            MilestoneName::Closed => &mut self.closed,
        };
        *slot = Some(at);
    }

    /// Why `name` may not be set to `at`: not reached yet, or it would overtake another
    /// milestone (they are in order, each at or after the one before). `None` when it may.
    pub fn refuse_setting(&self, name: MilestoneName, at: Timestamp) -> Option<String> {
        if self.get(name).is_none() {
            return Some(format!(
                "the incident has not reached `{name}` yet; set it once it has"
            ));
        }
        const ORDER: &str = "milestones are in the order started, detected, acknowledged, mitigated, resolved, closed";
        let position = MilestoneName::ALL
            .iter()
            .position(|m| *m == name)
            .unwrap_or(0);
        let (before, after) = MilestoneName::ALL.split_at(position);
        // The nearest milestone it would overtake is the one named.
        for other in before.iter().rev() {
            if let Some(other_at) = self.get(*other)
                && at < other_at
            {
                return Some(format!(
                    "`{name}` at {at} would come before `{other}` at {other_at}; {ORDER}"
                ));
            }
        }
        for other in after.iter().skip(1) {
            if let Some(other_at) = self.get(*other)
                && at > other_at
            {
                return Some(format!(
                    "`{name}` at {at} would come after `{other}` at {other_at}; {ORDER}"
                ));
            }
        }
        None
    }

    /// Each milestone with its name, in order.
    pub fn named(&self) -> [(&'static str, Option<Timestamp>); 6] {
        [
            ("started", self.started),
            ("detected", self.detected),
            ("acknowledged", self.acknowledged),
            ("mitigated", self.mitigated),
            ("resolved", self.resolved),
            ("closed", self.closed),
        ]
    }

    /// The time from `started` to `until`, once both are reached.
    pub fn since_start(&self, until: Option<Timestamp>) -> Option<SignedDuration> {
        Some(until?.duration_since(self.started?))
    }
}

/// Whether an incident in `status` counts in duration figures: a declined triage candidate
/// never was an incident, and one called off, handed back or merged was not one to measure;
/// they are counted apart.
pub fn measured(status: Status) -> bool {
    !matches!(
        status,
        Status::Declined | Status::CalledOff | Status::HandedBack | Status::Merged
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Event, ImpactWindowSet, IncidentDeclared, NoteAdded, StatusChanged};
    use crate::types::{Severity, Text, Title, UserName, Visibility};
    use crate::{Envelope, State, evolve};

    fn minute(n: i64) -> Timestamp {
        Timestamp::from_second(1_790_000_000 + n * 60).unwrap()
    }

    fn declared(by: &str, triage: bool) -> Event {
        Event::IncidentDeclared(IncidentDeclared {
            title: Title::parse("Checkout down").unwrap(),
            summary: None,
            public_summary: None,
            severity: Severity::Sev2,
            potential: false,
            services: vec![],
            visibility: Visibility::Internal,
            commander: UserName::parse(by).unwrap(),
            triage,
        })
    }

    fn status(to: Status) -> Event {
        Event::StatusChanged(StatusChanged {
            from: Status::Investigating,
            to,
            reason: None,
            overridden_follow_ups: vec![],
            overrode_postmortem: false,
        })
    }

    fn note() -> Event {
        Event::NoteAdded(NoteAdded {
            text: Text::parse("looking").unwrap(),
        })
    }

    /// Folds `(minute, actor, event)` and returns the milestones, in minutes from 0.
    fn fold(events: &[(i64, &str, Event)]) -> [Option<i64>; 6] {
        let mut state = State::initial();
        for (at, actor, event) in events {
            state = evolve(
                state,
                &Envelope {
                    at: minute(*at),
                    actor: UserName::parse(actor).unwrap(),
                    event: event.clone(),
                },
            );
        }
        let incident = state.incident().unwrap();
        Milestones::of(incident)
            .named()
            .map(|(_, at)| at.map(|at| (at.as_second() - 1_790_000_000) / 60))
    }

    #[test]
    fn milestones_follow_the_events() {
        let system = crate::roles::SYSTEM_ACTOR;
        type Case<'a> = (&'a str, Vec<(i64, &'a str, Event)>, [Option<i64>; 6]);
        let table: Vec<Case<'_>> = vec![
            (
                "a person declares: detected and acknowledged at once",
                vec![(0, "anna", declared("anna", false))],
                [Some(0), Some(0), Some(0), None, None, None],
            ),
            (
                "from alerts: acknowledged at the first person's action",
                vec![
                    (0, system, declared(system, true)),
                    (3, system, note()),
                    (7, "anna", note()),
                    (9, "bob", note()),
                ],
                [Some(0), Some(0), Some(7), None, None, None],
            ),
            (
                "mitigated at the first move to monitoring, kept through a reopening",
                vec![
                    (0, "anna", declared("anna", false)),
                    (10, "anna", status(Status::Monitoring)),
                    (20, "anna", status(Status::Investigating)),
                    (30, "anna", status(Status::Monitoring)),
                    (40, "anna", status(Status::Resolved)),
                ],
                [Some(0), Some(0), Some(0), Some(10), Some(40), None],
            ),
            (
                "resolved without monitoring: mitigated when resolved; a reopening unresolves",
                vec![
                    (0, "anna", declared("anna", false)),
                    (15, "anna", status(Status::Resolved)),
                    (16, "anna", status(Status::Investigating)),
                ],
                [Some(0), Some(0), Some(0), Some(15), None, None],
            ),
            (
                "an impact that began before detection starts it; one after does not",
                vec![
                    (0, "anna", declared("anna", false)),
                    (
                        1,
                        "anna",
                        Event::ImpactWindowSet(ImpactWindowSet {
                            start: Some(minute(-30)),
                            end: None,
                        }),
                    ),
                ],
                [Some(-30), Some(0), Some(0), None, None, None],
            ),
            (
                "closed",
                vec![
                    (0, "anna", declared("anna", false)),
                    (5, "anna", status(Status::Resolved)),
                    (60, "anna", status(Status::Closed)),
                ],
                [Some(0), Some(0), Some(0), Some(5), Some(5), Some(60)],
            ),
        ];
        for (name, events, expected) in table {
            assert_eq!(fold(&events), expected, "{name}");
        }
        // Called off is an end but not a close.
        let called_off = fold(&[
            (0, "anna", declared("anna", false)),
            (5, "anna", status(Status::CalledOff)),
        ]);
        assert_eq!(called_off[5], None);
    }

    #[test]
    fn a_milestone_set_by_hand_stands_and_may_not_overtake_its_neighbours() {
        let events = [
            (0, "anna", declared("anna", false)),
            (10, "anna", status(Status::Monitoring)),
            (
                12,
                "anna",
                Event::MilestoneSet(crate::event::MilestoneSet {
                    milestone: MilestoneName::Mitigated,
                    at: minute(8),
                    reason: crate::types::Reason::parse("the failover held from :08").unwrap(),
                }),
            ),
            (20, "anna", status(Status::Resolved)),
        ];
        assert_eq!(
            fold(&events),
            [Some(0), Some(0), Some(0), Some(8), Some(20), None]
        );
        let milestones = Milestones {
            started: Some(minute(0)),
            detected: Some(minute(0)),
            acknowledged: Some(minute(2)),
            mitigated: Some(minute(8)),
            resolved: Some(minute(20)),
            closed: None,
        };
        assert!(
            milestones
                .refuse_setting(MilestoneName::Acknowledged, minute(9))
                .unwrap()
                .contains("would come after `mitigated`")
        );
        assert!(
            milestones
                .refuse_setting(MilestoneName::Resolved, minute(5))
                .unwrap()
                .contains("would come before `mitigated`")
        );
        assert!(
            milestones
                .refuse_setting(MilestoneName::Closed, minute(30))
                .unwrap()
                .contains("not reached")
        );
        assert_eq!(
            milestones.refuse_setting(MilestoneName::Started, minute(-60)),
            None
        );
        assert_eq!(
            milestones.refuse_setting(MilestoneName::Mitigated, minute(20)),
            None
        );
    }

    #[test]
    fn declined_called_off_handed_back_and_merged_are_not_measured() {
        for status in Status::ALL {
            let expected = !matches!(
                status,
                Status::Declined | Status::CalledOff | Status::HandedBack | Status::Merged
            );
            assert_eq!(measured(*status), expected, "{status}");
        }
    }
}
