//! The unavailability budget of a service: the longest unavailability the catalogue allows it
//! per calendar quarter, consumed by the impact windows of its incidents. Overlapping windows
//! count once (two incidents at the same minute are one minute of unavailability), and an
//! incident still under way consumes up to now.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};

use crate::milestones::{Milestones, measured};
use crate::state::Incident;
use crate::types::{IncidentNumber, ServiceName, Status};

/// How much of a service's allowance a period's incidents used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Budget {
    pub since: Timestamp,
    pub until: Timestamp,
    /// The allowance for the period.
    pub allowed: SignedDuration,
    /// Unavailability in the period, overlapping windows counted once.
    pub used: SignedDuration,
    /// Each incident's own window within the period (overlaps counted in each).
    pub by_incident: BTreeMap<IncidentNumber, SignedDuration>,
}

impl Budget {
    /// What is left of the allowance; negative once overspent.
    pub fn remaining(&self) -> SignedDuration {
        self.allowed - self.used
    }

    /// How much of the allowance is used, in whole percent, at most 100 (for a meter).
    pub fn used_percent(&self) -> i64 {
        let allowed = self.allowed.as_secs().max(1);
        (self.used.as_secs().max(0) * 100 / allowed).min(100)
    }

    /// The budget in a sentence, with what `incident` used of it when it is one of those
    /// counted: `checkout: 22 min of 30 min used this quarter; this incident has used 9 min`.
    pub fn sentence(&self, service: &ServiceName, incident: Option<IncidentNumber>) -> String {
        use crate::when::span;
        let used = if self.used.is_zero() {
            "nothing".to_owned()
        } else {
            span(self.used)
        };
        let mut text = if self.used > self.allowed {
            format!(
                "{service}: {} used this quarter, {} over its {} allowance",
                span(self.used),
                span(self.used - self.allowed),
                span(self.allowed)
            )
        } else {
            format!(
                "{service}: {used} of {} used this quarter",
                span(self.allowed)
            )
        };
        if let Some(used) = incident.and_then(|number| self.by_incident.get(&number)) {
            text.push_str(&format!("; this incident has used {}", span(*used)));
        }
        text
    }
}

/// The impact window of `incident` as the budget counts it: from the impact's start (the
/// `started` milestone) to the impact's end when one was set; else, for an incident still
/// being investigated or fixed (a reopened one too), `now`; else its mitigation, resolution
/// or end. `None` for what never was an incident to count (a triage candidate, a declined or
/// called-off one).
pub fn impact_window(incident: &Incident, now: Timestamp) -> Option<(Timestamp, Timestamp)> {
    if incident.status == Status::Triage || !measured(incident.status) {
        return None;
    }
    let milestones = Milestones::of(incident);
    let start = milestones.started?;
    // A reopened incident keeps its first mitigation time, but its impact is back: it
    // consumes up to now until it is mitigated again.
    let under_way = matches!(incident.status, Status::Investigating | Status::Identified);
    let settled = if under_way {
        None
    } else {
        milestones
            .mitigated
            .or(milestones.resolved)
            .or(incident.ended_at)
    };
    let end = incident.impact.end.or(settled).unwrap_or(now);
    (end > start).then_some((start, end))
}

/// The budget `allowed` for `service` over `since..until`, consumed by those of `incidents`
/// affecting it, at `now`.
pub fn budget<'a>(
    service: &ServiceName,
    allowed: SignedDuration,
    incidents: impl IntoIterator<Item = (IncidentNumber, &'a Incident)>,
    since: Timestamp,
    until: Timestamp,
    now: Timestamp,
) -> Budget {
    let mut windows = Vec::new();
    let mut by_incident = BTreeMap::new();
    for (number, incident) in incidents {
        if !incident.services.contains(service) {
            continue;
        }
        let Some((start, end)) = impact_window(incident, now) else {
            continue;
        };
        let (start, end) = (start.max(since), end.min(until).min(now.max(since)));
        if end <= start {
            continue;
        }
        by_incident.insert(number, end.duration_since(start));
        windows.push((start, end));
    }
    Budget {
        since,
        until,
        allowed,
        used: union_length(windows),
        by_incident,
    }
}

/// The total length of the union of `windows`.
fn union_length(mut windows: Vec<(Timestamp, Timestamp)>) -> SignedDuration {
    windows.sort();
    let mut total = SignedDuration::ZERO;
    let mut current: Option<(Timestamp, Timestamp)> = None;
    for (start, end) in windows {
        current = match current {
            Some((open, close)) if start <= close => Some((open, close.max(end))),
            Some((open, close)) => {
                total += close.duration_since(open);
                Some((start, end))
            }
            None => Some((start, end)),
        };
    }
    if let Some((open, close)) = current {
        total += close.duration_since(open);
    }
    total
}

/// The calendar quarter (UTC) holding `at`: its first instant and the next quarter's.
pub fn quarter(at: Timestamp) -> (Timestamp, Timestamp) {
    let date = at.to_zoned(jiff::tz::TimeZone::UTC).date();
    let first_month = (date.month() - 1) / 3 * 3 + 1;
    let start = jiff::civil::date(date.year(), first_month, 1);
    let next = start.saturating_add(jiff::Span::new().months(3));
    let instant = |day: jiff::civil::Date| {
        day.to_zoned(jiff::tz::TimeZone::UTC)
            .map_or(at, |zoned| zoned.timestamp())
    };
    (instant(start), instant(next))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Event, ImpactWindowSet, IncidentDeclared, StatusChanged};
    use crate::types::{Severity, Title, UserName, Visibility};
    use crate::{Envelope, State, evolve};

    fn at(minute: i64) -> Timestamp {
        Timestamp::from_second(1_790_000_000 + minute * 60).unwrap()
    }

    fn minutes(n: i64) -> SignedDuration {
        SignedDuration::from_mins(n)
    }

    fn apply(state: State, minute: i64, event: Event) -> State {
        evolve(
            state,
            &Envelope {
                at: at(minute),
                actor: UserName::parse("anna").unwrap(),
                event,
            },
        )
    }

    /// An incident on `services` declared at `declared`, its impact set to `impact`, then
    /// moved through `moves`.
    fn incident(
        services: &[&str],
        declared: i64,
        impact: Option<(i64, Option<i64>)>,
        moves: &[(i64, Status)],
    ) -> Incident {
        let mut state = apply(
            State::initial(),
            declared,
            Event::IncidentDeclared(IncidentDeclared {
                title: Title::parse("Down").unwrap(),
                summary: None,
                public_summary: None,
                severity: Severity::Sev2,
                potential: false,
                services: services
                    .iter()
                    .map(|s| ServiceName::parse(s).unwrap())
                    .collect(),
                visibility: Visibility::Internal,
                commander: UserName::parse("anna").unwrap(),
                triage: false,
            }),
        );
        if let Some((start, end)) = impact {
            state = apply(
                state,
                declared,
                Event::ImpactWindowSet(ImpactWindowSet {
                    start: Some(at(start)),
                    end: end.map(at),
                }),
            );
        }
        let mut from = Status::Investigating;
        for (minute, to) in moves {
            state = apply(
                state,
                *minute,
                Event::StatusChanged(StatusChanged {
                    from,
                    to: *to,
                    reason: None,
                    overridden_follow_ups: vec![],
                    overrode_postmortem: false,
                }),
            );
            from = *to;
        }
        state.incident().unwrap().clone()
    }

    #[test]
    fn the_budget_counts_overlapping_windows_once() {
        use Status::*;
        struct Case {
            name: &'static str,
            incidents: Vec<Incident>,
            /// The period, in minutes.
            period: (i64, i64),
            now: i64,
            used: i64,
            by_incident: Vec<i64>,
        }
        let cases = vec![
            Case {
                name: "one incident, mitigated",
                incidents: vec![incident(&["checkout"], 10, None, &[(40, Monitoring)])],
                period: (0, 1_000),
                now: 1_000,
                used: 30,
                by_incident: vec![30],
            },
            Case {
                name: "overlapping windows count once, each incident in full",
                incidents: vec![
                    incident(&["checkout"], 10, None, &[(40, Monitoring)]),
                    incident(&["checkout", "cart"], 20, None, &[(60, Resolved)]),
                ],
                period: (0, 1_000),
                now: 1_000,
                used: 50,
                by_incident: vec![30, 40],
            },
            Case {
                name: "an impact set earlier than the declaration starts the window",
                incidents: vec![incident(
                    &["checkout"],
                    10,
                    Some((0, Some(25))),
                    &[(40, Monitoring)],
                )],
                period: (0, 1_000),
                now: 1_000,
                used: 25,
                by_incident: vec![25],
            },
            Case {
                name: "an incident under way consumes up to now",
                incidents: vec![incident(&["checkout"], 100, None, &[])],
                period: (0, 1_000),
                now: 109,
                used: 9,
                by_incident: vec![9],
            },
            Case {
                name: "a reopened incident consumes up to now again",
                incidents: vec![incident(
                    &["checkout"],
                    0,
                    None,
                    &[(10, Monitoring), (20, Investigating)],
                )],
                period: (0, 1_000),
                now: 50,
                used: 50,
                by_incident: vec![50],
            },
            Case {
                name: "clipped to the period",
                incidents: vec![incident(&["checkout"], 0, None, &[(100, Monitoring)])],
                period: (60, 1_000),
                now: 1_000,
                used: 40,
                by_incident: vec![40],
            },
            Case {
                name: "other services, called-off incidents and triage count nothing",
                incidents: vec![
                    incident(&["search"], 0, None, &[(100, Monitoring)]),
                    incident(&["checkout"], 0, None, &[(100, CalledOff)]),
                ],
                period: (0, 1_000),
                now: 1_000,
                used: 0,
                by_incident: vec![],
            },
            Case {
                name: "no incident",
                incidents: vec![],
                period: (0, 1_000),
                now: 1_000,
                used: 0,
                by_incident: vec![],
            },
        ];
        let checkout = ServiceName::parse("checkout").unwrap();
        for case in cases {
            let budget = budget(
                &checkout,
                minutes(30),
                case.incidents
                    .iter()
                    .enumerate()
                    .map(|(i, incident)| (IncidentNumber(i as u64 + 1), incident)),
                at(case.period.0),
                at(case.period.1),
                at(case.now),
            );
            assert_eq!(budget.used, minutes(case.used), "{}", case.name);
            assert_eq!(
                budget.by_incident.values().copied().collect::<Vec<_>>(),
                case.by_incident
                    .into_iter()
                    .map(minutes)
                    .collect::<Vec<_>>(),
                "{}",
                case.name
            );
            assert_eq!(budget.remaining(), minutes(30 - case.used), "{}", case.name);
        }
    }

    #[test]
    fn the_sentence_says_what_is_used_and_by_this_incident() {
        let checkout = ServiceName::parse("checkout").unwrap();
        let incidents = [
            incident(&["checkout"], 0, None, &[(13, Status::Monitoring)]),
            incident(&["checkout"], 100, None, &[]),
        ];
        let numbered = || {
            incidents
                .iter()
                .enumerate()
                .map(|(i, incident)| (IncidentNumber(i as u64 + 1), incident))
        };
        let budget = budget(
            &checkout,
            minutes(30),
            numbered(),
            at(0),
            at(1_000),
            at(109),
        );
        assert_eq!(
            budget.sentence(&checkout, Some(IncidentNumber(2))),
            "checkout: 22 min of 30 min used this quarter; this incident has used 9 min"
        );
        assert_eq!(
            budget.sentence(&checkout, None),
            "checkout: 22 min of 30 min used this quarter"
        );
        let over = super::budget(
            &checkout,
            minutes(20),
            numbered(),
            at(0),
            at(1_000),
            at(109),
        );
        assert_eq!(
            over.sentence(&checkout, Some(IncidentNumber(7))),
            "checkout: 22 min used this quarter, 2 min over its 20 min allowance"
        );
        assert_eq!((budget.used_percent(), over.used_percent()), (73, 100));
        let search = ServiceName::parse("search").unwrap();
        let unused = super::budget(&search, minutes(20), numbered(), at(0), at(1_000), at(109));
        assert_eq!(
            unused.sentence(&search, None),
            "search: nothing of 20 min used this quarter"
        );
    }

    #[test]
    fn quarters_are_calendar_quarters() {
        let day = |raw: &str| -> Timestamp { format!("{raw}T00:00:00Z").parse().unwrap() };
        for (inside, start, end) in [
            ("2026-01-01", "2026-01-01", "2026-04-01"),
            ("2026-05-17", "2026-04-01", "2026-07-01"),
            ("2026-09-30", "2026-07-01", "2026-10-01"),
            ("2026-12-31", "2026-10-01", "2027-01-01"),
        ] {
            assert_eq!(quarter(day(inside)), (day(start), day(end)), "{inside}");
        }
    }
}
