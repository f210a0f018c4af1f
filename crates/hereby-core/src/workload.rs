//! How much time each person spent on incidents, and how much of it fell in their working
//! hours, late in the evening or in the night, estimated from what they did: incident.io's
//! published heuristic, with the hours configurable per person.
//!
//! Each action counts [`ACTION_COUNTS`]; a person's next action in the same incident within
//! [`CONTINUOUS_WITHIN`] makes the time between continuous. An incident's figure is the length
//! of its own merged intervals, so two incidents worked at once both show the time in full;
//! the person's total is the union across incidents, so nobody works more than an hour per
//! hour. The total is split into working, late and sleeping time by the person's local wall
//! clock, with lengths measured between exact instants, so a night with a daylight-saving
//! change counts the time that really passed.

use std::collections::{BTreeMap, HashMap, HashSet};

use jiff::civil::{Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use crate::types::{IncidentNumber, InvalidValue, UserName};

/// How long a single action counts for.
pub const ACTION_COUNTS: SignedDuration = SignedDuration::from_mins(10);

/// Two actions of a person in one incident this close (or closer) count as continuous work.
pub const CONTINUOUS_WITHIN: SignedDuration = SignedDuration::from_mins(20);

/// Minutes in a local day, the end of the last band.
const DAY: u16 = 1440;

/// The days of the week in the order ranges run, with the names `parse` accepts: the short
/// one is also the one [`WorkingHours::describe`] writes.
const WEEK: [(Weekday, &str, &str); 7] = [
    (Weekday::Monday, "mon", "monday"),
    (Weekday::Tuesday, "tue", "tuesday"),
    (Weekday::Wednesday, "wed", "wednesday"),
    (Weekday::Thursday, "thu", "thursday"),
    (Weekday::Friday, "fri", "friday"),
    (Weekday::Saturday, "sat", "saturday"),
    (Weekday::Sunday, "sun", "sunday"),
];

/// What the working days accept, for error messages.
const DAYS_ACCEPTED: &str = "use mon, tue, wed, thu, fri, sat or sun, listed (`mon,tue,thu`) or as a range (`mon-fri`), or `none`";

/// Something a person did in an incident, at a moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activity {
    pub person: UserName,
    pub incident: IncidentNumber,
    pub at: Timestamp,
}

/// When a person works, as bands of their local day: working from `working_from` until
/// `working_until` on a working day, late from then until `late_until` (and the working band
/// of any other day: off hours), sleeping for the rest. The bands are minutes of the local
/// day, `working_from < working_until <= late_until <= 1440`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkingHours {
    pub time_zone: TimeZone,
    pub working_from: u16,
    pub working_until: u16,
    pub late_until: u16,
    /// A `HashSet` because jiff's `Weekday` has no order; `describe` writes it Monday first.
    pub working_days: HashSet<Weekday>,
}

impl Default for WorkingHours {
    /// incident.io's bands (theirs are fixed): in UTC, working 08:00–19:00 Monday to Friday,
    /// late until 23:00.
    fn default() -> Self {
        WorkingHours {
            time_zone: TimeZone::UTC,
            working_from: 8 * 60,
            working_until: 19 * 60,
            late_until: 23 * 60,
            working_days: WEEK.iter().take(5).map(|(day, ..)| *day).collect(),
        }
    }
}

impl WorkingHours {
    /// Reads settings as people write them: an IANA time zone (`Europe/Berlin`, `UTC`),
    /// working hours (`08:00-19:00`), the end of late hours (`23:00`, at latest `24:00`) and
    /// the working days (`mon-fri`, `mon,tue,thu`, `sat-sun`, or `none`).
    pub fn parse(
        time_zone: &str,
        working: &str,
        late_until: &str,
        days: &str,
    ) -> Result<WorkingHours, InvalidValue> {
        let zone = time_zone.trim();
        let time_zone = TimeZone::get(zone).map_err(|_| {
            InvalidValue::new(
                "time_zone",
                format!(
                    "{} is not a known time zone; use an IANA name such as `Europe/Berlin` or `UTC`",
                    quoted(zone)
                ),
            )
        })?;
        let working = working.trim();
        let (from, until) = working.split_once('-').ok_or_else(|| {
            InvalidValue::new(
                "working_hours",
                format!(
                    "{} is not a range of times such as `08:00-19:00`",
                    quoted(working)
                ),
            )
        })?;
        let working_from = minute_of_day("working_hours", from)?;
        let working_until = minute_of_day("working_hours", until)?;
        if working_from >= working_until {
            return Err(InvalidValue::new(
                "working_hours",
                format!(
                    "`{working}` does not start before it ends; working hours run forward within one day, such as `08:00-19:00`"
                ),
            ));
        }
        let late = minute_of_day("late_until", late_until)?;
        if late < working_until {
            return Err(InvalidValue::new(
                "late_until",
                format!(
                    "`{}` is before the end of working hours at {}; late hours run from then until this time, at latest `24:00`",
                    clock(late),
                    clock(working_until)
                ),
            ));
        }
        Ok(WorkingHours {
            time_zone,
            working_from,
            working_until,
            late_until: late,
            working_days: working_days(days)?,
        })
    }

    /// The settings as [`WorkingHours::parse`] reads them, in its order: time zone, working
    /// hours, end of late hours, working days. A zone without an IANA name (a fixed offset
    /// built in code) reads as its offset, which `parse` does not take back.
    pub fn describe(&self) -> (String, String, String, String) {
        let zone = match self.time_zone.iana_name() {
            Some(name) => name.to_owned(),
            None => self
                .time_zone
                .to_fixed_offset()
                .map_or_else(|_| "unnamed".to_owned(), |offset| offset.to_string()),
        };
        (
            zone,
            format!("{}-{}", clock(self.working_from), clock(self.working_until)),
            clock(self.late_until),
            days_text(&self.working_days),
        )
    }

    /// The band a moment falls in, from its local weekday and time since local midnight.
    fn band(&self, weekday: Weekday, since_midnight: SignedDuration) -> Band {
        if since_midnight < minutes(self.working_from) || since_midnight >= minutes(self.late_until)
        {
            Band::Sleeping
        } else if since_midnight < minutes(self.working_until)
            && self.working_days.contains(&weekday)
        {
            Band::Working
        } else {
            Band::Late
        }
    }

    /// Adds `[start, end)` to `hours`, band by band.
    ///
    /// Between two transitions of the time zone the offset is constant, so the local clock
    /// runs with the instant and the next band boundary is simply the boundary's distance from
    /// the local time; a transition ends the step, and the band is looked up afresh. Mapping
    /// boundary wall times back to instants instead would go wrong where they are ambiguous:
    /// a 02:30 boundary in a spring-forward gap would land at 03:30, after half an hour that
    /// the clock already showed past 02:30, and in a fall-back fold the second 02:30 would be
    /// missed. Every step ends after it starts, so the walk always makes progress.
    fn split(&self, start: Timestamp, end: Timestamp, hours: &mut Hours) {
        let mut at = start;
        while at < end {
            let local = self.time_zone.to_offset(at).to_datetime(at);
            let since_midnight = local.time().duration_since(Time::midnight());
            // Midnight is always a boundary, since the weekday changes there.
            let boundary = [self.working_from, self.working_until, self.late_until, DAY]
                .into_iter()
                .map(minutes)
                .filter(|boundary| *boundary > since_midnight)
                .min()
                .unwrap_or(minutes(DAY));
            let mut next = at
                .checked_add(boundary - since_midnight)
                .unwrap_or(end)
                .min(end);
            if let Some(transition) = self
                .time_zone
                .following(at)
                .map(|transition| transition.timestamp())
                .find(|transition| *transition > at)
            {
                next = next.min(transition);
            }
            if next <= at {
                next = end;
            }
            hours.add(
                self.band(local.weekday(), since_midnight),
                next.duration_since(at),
            );
            at = next;
        }
    }
}

/// The three parts of a person's day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Band {
    Working,
    Late,
    Sleeping,
}

/// Time split by the bands of a person's day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Hours {
    pub working: SignedDuration,
    pub late: SignedDuration,
    pub sleeping: SignedDuration,
}

impl Hours {
    /// All of it: the length of the person's time across incidents.
    pub fn total(&self) -> SignedDuration {
        self.working + self.late + self.sleeping
    }

    fn add(&mut self, band: Band, duration: SignedDuration) {
        let slot = match band {
            Band::Working => &mut self.working,
            Band::Late => &mut self.late,
            Band::Sleeping => &mut self.sleeping,
        };
        *slot += duration;
    }
}

/// One person's workload.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PersonWorkload {
    /// The union of their time across incidents, by band.
    pub hours: Hours,
    /// Their time in each incident; incidents worked at once each count it in full.
    pub incidents: BTreeMap<IncidentNumber, SignedDuration>,
    /// How many activities it was estimated from.
    pub activities: usize,
}

/// The workload of each person in `activities` (in any order), each split by the working
/// hours `hours_of` gives for them.
pub fn workload(
    activities: &[Activity],
    hours_of: impl Fn(&UserName) -> WorkingHours,
) -> BTreeMap<UserName, PersonWorkload> {
    workload_of_actions(
        activities
            .iter()
            .map(|activity| (&activity.person, activity.incident, activity.at)),
        hours_of,
    )
}

/// [`workload`] over (person, incident, time) triples borrowed from wherever they are kept,
/// so that a report over thousands of incidents copies no name.
pub fn workload_of_actions<'a>(
    activities: impl IntoIterator<Item = (&'a UserName, IncidentNumber, Timestamp)>,
    hours_of: impl Fn(&UserName) -> WorkingHours,
) -> BTreeMap<UserName, PersonWorkload> {
    let mut by_incident: BTreeMap<IncidentNumber, Vec<(&UserName, Timestamp)>> = BTreeMap::new();
    for (person, incident, at) in activities {
        by_incident.entry(incident).or_default().push((person, at));
    }
    let work: Vec<(IncidentNumber, Vec<IncidentWork>)> = by_incident
        .into_iter()
        .map(|(incident, actions)| (incident, incident_work(actions)))
        .collect();
    workload_of_work(
        work.iter()
            .flat_map(|(incident, parts)| parts.iter().map(move |part| (*incident, part))),
        hours_of,
    )
}

/// An interval of a person's time, `[start, end)`.
pub type Span = (Timestamp, Timestamp);

/// One person's part in one incident: their actions there joined into the time they stand
/// for. An incident's parts change only when its timeline does, so a report over many
/// incidents can keep them and only add them up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentWork {
    pub person: UserName,
    /// Sorted, neither overlapping nor touching.
    pub spans: Vec<Span>,
    /// How many actions they stand for.
    pub activities: usize,
}

/// Each person's part in one incident, from its (person, time) actions in any order.
pub fn incident_work<'a>(
    actions: impl IntoIterator<Item = (&'a UserName, Timestamp)>,
) -> Vec<IncidentWork> {
    let mut times: BTreeMap<&UserName, Vec<Timestamp>> = BTreeMap::new();
    for (person, at) in actions {
        // What hereby does by itself (opening an incident from alerts, a reminder) is nobody's
        // work.
        if person.as_str() == crate::roles::SYSTEM_ACTOR {
            continue;
        }
        times.entry(person).or_default().push(at);
    }
    times
        .into_iter()
        .map(|(person, mut times)| {
            times.sort_unstable();
            IncidentWork {
                person: person.clone(),
                spans: merge(spans(&times)),
                activities: times.len(),
            }
        })
        .collect()
}

/// The workload of each person from their parts in incidents (each incident's parts as
/// [`incident_work`] gives them, each part once), split by the working hours `hours_of`
/// gives for them.
pub fn workload_of_work<'a>(
    parts: impl IntoIterator<Item = (IncidentNumber, &'a IncidentWork)>,
    hours_of: impl Fn(&UserName) -> WorkingHours,
) -> BTreeMap<UserName, PersonWorkload> {
    // Each person's figures, and every span of theirs to be joined across incidents.
    let mut people: HashMap<&UserName, (PersonWorkload, Vec<Span>)> = HashMap::new();
    for (incident, part) in parts {
        let (figures, all) = people.entry(&part.person).or_default();
        figures.activities += part.activities;
        *figures.incidents.entry(incident).or_default() += length(&part.spans);
        all.extend_from_slice(&part.spans);
    }
    people
        .into_iter()
        .map(|(person, (mut figures, all))| {
            let hours = hours_of(person);
            for (start, end) in merge(all) {
                hours.split(start, end, &mut figures.hours);
            }
            (person.clone(), figures)
        })
        .collect()
}

/// The interval each of one person's actions in one incident stands for, from their sorted
/// times: until the next action when it came within [`CONTINUOUS_WITHIN`], else
/// [`ACTION_COUNTS`].
fn spans(times: &[Timestamp]) -> Vec<(Timestamp, Timestamp)> {
    times
        .iter()
        .enumerate()
        .map(|(i, &at)| {
            let end = match times.get(i + 1) {
                Some(&next) if next.duration_since(at) <= CONTINUOUS_WITHIN => next,
                // At the end of representable time an action counts what is left.
                _ => at.checked_add(ACTION_COUNTS).unwrap_or(Timestamp::MAX),
            };
            (at, end)
        })
        .collect()
}

/// `spans` sorted and with overlapping or touching ones joined.
fn merge(mut spans: Vec<(Timestamp, Timestamp)>) -> Vec<(Timestamp, Timestamp)> {
    spans.sort_unstable();
    let mut merged: Vec<(Timestamp, Timestamp)> = Vec::with_capacity(spans.len());
    for (start, end) in spans {
        match merged.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    merged
}

fn length(spans: &[(Timestamp, Timestamp)]) -> SignedDuration {
    spans
        .iter()
        .map(|(start, end)| end.duration_since(*start))
        .sum()
}

fn minutes(minute_of_day: u16) -> SignedDuration {
    SignedDuration::from_mins(i64::from(minute_of_day))
}

/// A minute of the day as `08:00`; 1440 is `24:00`.
fn clock(minute_of_day: u16) -> String {
    format!("{:02}:{:02}", minute_of_day / 60, minute_of_day % 60)
}

/// Input named in a message, so that an empty one still reads as something.
fn quoted(raw: &str) -> String {
    if raw.is_empty() {
        "an empty value".to_owned()
    } else {
        format!("`{raw}`")
    }
}

/// Reads `HH:MM` (or `H:MM`) from `00:00` to `24:00` as a minute of the day.
fn minute_of_day(field: &'static str, raw: &str) -> Result<u16, InvalidValue> {
    let raw = raw.trim();
    let invalid = || {
        InvalidValue::new(
            field,
            format!(
                "{} is not a time of day (HH:MM, from 00:00 to 24:00)",
                quoted(raw)
            ),
        )
    };
    let (hours, mins) = raw.split_once(':').ok_or_else(invalid)?;
    let number = |digits: &str, lengths: std::ops::RangeInclusive<usize>| {
        let plain = lengths.contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit());
        plain.then(|| digits.parse::<u16>().ok()).flatten()
    };
    match (number(hours, 1..=2), number(mins, 2..=2)) {
        (Some(hours), Some(mins)) if mins < 60 && hours * 60 + mins <= DAY => Ok(hours * 60 + mins),
        _ => Err(invalid()),
    }
}

/// Reads the working days: `none`, or a comma-separated list of days (`mon`, `monday`) and
/// forward ranges of days (`mon-fri`, `sat-sun`).
fn working_days(raw: &str) -> Result<HashSet<Weekday>, InvalidValue> {
    let raw = raw.trim();
    let mut days = HashSet::new();
    if raw.eq_ignore_ascii_case("none") {
        return Ok(days);
    }
    for part in raw.split(',').map(str::trim) {
        let (first, last) = part.split_once('-').unwrap_or((part, part));
        let first = day_position(first)?;
        let last = day_position(last)?;
        let range = WEEK.get(first..=last).filter(|range| !range.is_empty());
        let Some(range) = range else {
            return Err(InvalidValue::new(
                "working_days",
                format!(
                    "`{part}` runs backwards; ranges run from Monday towards Sunday, such as `mon-fri` or `sat-sun`, or list the days: `fri,sat,sun,mon`"
                ),
            ));
        };
        days.extend(range.iter().map(|(day, ..)| *day));
    }
    Ok(days)
}

/// Where the day named `raw` falls in [`WEEK`].
fn day_position(raw: &str) -> Result<usize, InvalidValue> {
    let raw = raw.trim();
    let position = WEEK.iter().position(|(_, short, long)| {
        raw.eq_ignore_ascii_case(short) || raw.eq_ignore_ascii_case(long)
    });
    position.ok_or_else(|| {
        InvalidValue::new(
            "working_days",
            format!("{} is not a day; {DAYS_ACCEPTED}", quoted(raw)),
        )
    })
}

/// The working days as [`working_days`] reads them: runs of days as ranges, Monday first.
fn days_text(days: &HashSet<Weekday>) -> String {
    let mut runs: Vec<(&str, &str)> = Vec::new();
    let mut run: Option<(&str, &str)> = None;
    for (day, short, _) in WEEK {
        if days.contains(&day) {
            run = Some(run.map_or((short, short), |(first, _)| (first, short)));
        } else {
            runs.extend(run.take());
        }
    }
    runs.extend(run);
    if runs.is_empty() {
        return "none".to_owned();
    }
    runs.iter()
        .map(|(first, last)| {
            if first == last {
                (*first).to_owned()
            } else {
                format!("{first}-{last}")
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use jiff::Zoned;
    use proptest::prelude::*;

    use super::*;

    fn mins(n: i64) -> SignedDuration {
        SignedDuration::from_mins(n)
    }

    /// An instant written as a zoned time, `2026-01-05T10:00[UTC]`; an offset picks one side
    /// of a fall-back fold, `2026-10-25T02:10+01:00[Europe/Berlin]`.
    fn at(zoned: &str) -> Timestamp {
        zoned.parse::<Zoned>().unwrap().timestamp()
    }

    /// `count` instants `step` minutes apart from `first`.
    fn every(first: Timestamp, step: i64, count: i64) -> Vec<Timestamp> {
        (0..count).map(|i| first + mins(i * step)).collect()
    }

    fn user(name: &str) -> UserName {
        UserName::parse(name).unwrap()
    }

    fn activity(person: &str, incident: u64, at: Timestamp) -> Activity {
        Activity {
            person: user(person),
            incident: IncidentNumber(incident),
            at,
        }
    }

    fn hours(working: i64, late: i64, sleeping: i64) -> Hours {
        Hours {
            working: mins(working),
            late: mins(late),
            sleeping: mins(sleeping),
        }
    }

    fn parsed(zone: &str, working: &str, late_until: &str, days: &str) -> WorkingHours {
        WorkingHours::parse(zone, working, late_until, days).unwrap()
    }

    /// The minutes (counted from the epoch) each incident's actions cover, by the rule read
    /// plainly over whole minutes instead of merged intervals.
    fn covered(actions: &[(u64, i64)]) -> BTreeMap<u64, BTreeSet<i64>> {
        let mut by_incident: BTreeMap<u64, Vec<i64>> = BTreeMap::new();
        for (incident, minute) in actions {
            by_incident.entry(*incident).or_default().push(*minute);
        }
        by_incident
            .into_iter()
            .map(|(incident, mut minutes)| {
                minutes.sort();
                let mut set = BTreeSet::new();
                for (i, &minute) in minutes.iter().enumerate() {
                    let end = match minutes.get(i + 1) {
                        Some(&next) if next - minute <= 20 => next,
                        _ => minute + 10,
                    };
                    set.extend(minute..end);
                }
                (incident, set)
            })
            .collect()
    }

    /// Alice's workload from `(incident, at)` actions, checked against [`covered`] on the way:
    /// each incident shows its own minutes, and working, late and sleeping add up to the union.
    fn alice(hours: &WorkingHours, actions: &[(u64, Timestamp)]) -> PersonWorkload {
        let activities: Vec<Activity> = actions
            .iter()
            .map(|(incident, at)| activity("alice", *incident, *at))
            .collect();
        let figures = workload(&activities, |_| hours.clone())
            .remove(&user("alice"))
            .unwrap_or_default();
        let whole_minutes: Vec<(u64, i64)> = actions
            .iter()
            .map(|(incident, at)| {
                assert_eq!(at.as_second() % 60, 0, "{at} is not a whole minute");
                (*incident, at.as_second() / 60)
            })
            .collect();
        let covered = covered(&whole_minutes);
        let union: BTreeSet<i64> = covered.values().flatten().copied().collect();
        assert_eq!(figures.hours.total(), mins(union.len() as i64));
        let incidents: BTreeMap<IncidentNumber, SignedDuration> = covered
            .iter()
            .map(|(incident, minutes)| (IncidentNumber(*incident), mins(minutes.len() as i64)))
            .collect();
        assert_eq!(figures.incidents, incidents);
        assert_eq!(figures.activities, actions.len());
        figures
    }

    #[test]
    fn an_action_counts_ten_minutes_and_close_ones_join() {
        let table: Vec<(&str, Vec<i64>, i64)> = vec![
            ("a single action", vec![0], 10),
            ("15 minutes apart: continuous", vec![0, 15], 25),
            ("exactly 20 minutes apart: continuous", vec![0, 20], 30),
            ("21 minutes apart: two actions", vec![0, 21], 20),
            ("25 minutes apart: two actions", vec![0, 25], 20),
            ("in any order", vec![15, 0], 25),
            ("twice in the same minute", vec![0, 0], 10),
            ("5 minutes apart overlap", vec![0, 5], 15),
            ("a chain of close actions", vec![0, 20, 40, 60], 70),
            ("a chain with a break", vec![0, 20, 60, 70], 50),
        ];
        let monday = at("2026-01-05T10:00[UTC]");
        for (name, minutes, expected) in table {
            let actions: Vec<(u64, Timestamp)> =
                minutes.iter().map(|m| (1, monday + mins(*m))).collect();
            let figures = alice(&WorkingHours::default(), &actions);
            assert_eq!(figures.hours, hours(expected, 0, 0), "{name}");
            assert_eq!(
                figures.incidents.get(&IncidentNumber(1)),
                Some(&mins(expected)),
                "{name}"
            );
        }
        assert_eq!(workload(&[], |_| WorkingHours::default()), BTreeMap::new());
    }

    #[test]
    fn incidents_worked_at_once_count_once_in_the_total() {
        type Case<'a> = (&'a str, Vec<(u64, i64)>, i64, Vec<(u64, i64)>);
        let each_minute = |incident: u64| (0..=120).map(move |minute| (incident, minute));
        let table: Vec<Case<'_>> = vec![
            (
                "the same minute in two incidents",
                vec![(1, 0), (2, 0)],
                10,
                vec![(1, 10), (2, 10)],
            ),
            (
                "apart, both add up",
                vec![(1, 0), (2, 30)],
                20,
                vec![(1, 10), (2, 10)],
            ),
            (
                "one inside another",
                vec![(1, 0), (1, 20), (1, 40), (2, 10)],
                50,
                vec![(1, 50), (2, 10)],
            ),
            (
                "taking turns every five minutes",
                (0..12).map(|i| (1 + i % 2, i as i64 * 5)).collect(),
                65,
                vec![(1, 60), (2, 60)],
            ),
            (
                "three incidents at once for two hours stay two hours",
                each_minute(1)
                    .chain(each_minute(2))
                    .chain(each_minute(3))
                    .collect(),
                130,
                vec![(1, 130), (2, 130), (3, 130)],
            ),
        ];
        let monday = at("2026-01-05T10:00[UTC]");
        for (name, actions, total, incidents) in table {
            let actions: Vec<(u64, Timestamp)> = actions
                .iter()
                .map(|(incident, minute)| (*incident, monday + mins(*minute)))
                .collect();
            let figures = alice(&WorkingHours::default(), &actions);
            assert_eq!(figures.hours, hours(total, 0, 0), "{name}");
            let expected: BTreeMap<IncidentNumber, SignedDuration> = incidents
                .iter()
                .map(|(incident, minutes)| (IncidentNumber(*incident), mins(*minutes)))
                .collect();
            assert_eq!(figures.incidents, expected, "{name}");
            // Never more than an hour per hour: the total fits between the first action and
            // the last one's ten minutes.
            let first = actions.iter().map(|(_, at)| *at).min().unwrap();
            let last = actions.iter().map(|(_, at)| *at).max().unwrap();
            assert!(
                figures.hours.total() <= last.duration_since(first) + ACTION_COUNTS,
                "{name}"
            );
        }
        // Each person is counted apart, however close their actions.
        let both = workload(
            &[
                activity("alice", 1, monday),
                activity("bob", 1, monday),
                activity("bob", 2, monday + mins(5)),
            ],
            |_| WorkingHours::default(),
        );
        assert_eq!(both[&user("alice")].hours.total(), mins(10));
        assert_eq!(both[&user("bob")].hours.total(), mins(15));
        assert_eq!(both[&user("bob")].activities, 2);
    }

    #[test]
    fn time_is_split_by_the_local_working_day() {
        let after_midnight = parsed("UTC", "00:00-12:00", "24:00", "mon-fri");
        let table: Vec<(&str, WorkingHours, Vec<Timestamp>, Hours)> = vec![
            (
                "crossing 08:00 from sleeping into working",
                WorkingHours::default(),
                vec![at("2026-01-05T07:55[UTC]")],
                hours(5, 0, 5),
            ),
            (
                "crossing 19:00 from working into late",
                WorkingHours::default(),
                vec![at("2026-01-05T18:55[UTC]")],
                hours(5, 5, 0),
            ),
            (
                "crossing 23:00 from late into sleeping",
                WorkingHours::default(),
                vec![at("2026-01-05T22:50[UTC]"), at("2026-01-05T23:05[UTC]")],
                hours(0, 10, 15),
            ),
            (
                "an action at 22:55 local: 5 minutes late, 5 asleep",
                parsed("Europe/Berlin", "08:00-19:00", "23:00", "mon-fri"),
                vec![at("2026-01-05T22:55[Europe/Berlin]")],
                hours(0, 5, 5),
            ),
            (
                "Saturday's daytime is late",
                WorkingHours::default(),
                vec![at("2026-01-10T10:00[UTC]")],
                hours(0, 10, 0),
            ),
            (
                "Saturday's night is asleep",
                WorkingHours::default(),
                vec![at("2026-01-10T23:30[UTC]")],
                hours(0, 0, 10),
            ),
            (
                "New York in winter: 13:00 UTC is 08:00 local",
                parsed("America/New_York", "08:00-19:00", "23:00", "mon-fri"),
                vec![at("2026-01-05T12:55[UTC]")],
                hours(5, 0, 5),
            ),
            (
                "across local midnight: late Monday, asleep Tuesday",
                parsed("Europe/Berlin", "08:00-19:00", "24:00", "mon-fri"),
                vec![at("2026-01-05T23:55[Europe/Berlin]")],
                hours(0, 5, 5),
            ),
            (
                "across midnight from Sunday into a working Monday",
                after_midnight.clone(),
                vec![at("2026-01-04T23:55[UTC]")],
                hours(5, 5, 0),
            ),
            (
                "across midnight from Friday into Saturday's off hours",
                after_midnight,
                vec![at("2026-01-09T23:55[UTC]")],
                hours(0, 10, 0),
            ),
            (
                "26 hours of work every 15 minutes from Monday 07:00",
                WorkingHours::default(),
                every(at("2026-01-05T07:00[UTC]"), 15, 26 * 4 + 1),
                hours(660 + 70, 240, 60 + 540),
            ),
        ];
        for (name, working_hours, times, expected) in table {
            let actions: Vec<(u64, Timestamp)> = times.iter().map(|at| (1, *at)).collect();
            assert_eq!(alice(&working_hours, &actions).hours, expected, "{name}");
        }
    }

    #[test]
    fn daylight_saving_changes_count_the_time_that_passed() {
        // Berlin springs forward on Sunday 2026-03-29 (02:00 becomes 03:00, at 01:00 UTC) and
        // falls back on Sunday 2026-10-25 (03:00 becomes 02:00 again, at 01:00 UTC).
        let berlin = parsed("Europe/Berlin", "08:00-19:00", "23:00", "mon-fri");
        let from_half_past_two = parsed("Europe/Berlin", "02:30-19:00", "23:00", "mon-sun");
        let table: Vec<(&str, WorkingHours, Vec<Timestamp>, Hours)> = vec![
            (
                "spring forward: 01:55 to 03:05 is ten minutes",
                berlin.clone(),
                vec![at("2026-03-29T01:55[Europe/Berlin]")],
                hours(0, 0, 10),
            ),
            (
                "spring forward: 01:50 and 03:05 are 15 minutes apart, so continuous",
                berlin.clone(),
                vec![
                    at("2026-03-29T01:50[Europe/Berlin]"),
                    at("2026-03-29T03:05[Europe/Berlin]"),
                ],
                hours(0, 0, 25),
            ),
            (
                "spring forward past a 02:30 start in the gap: 03:00 is working time",
                from_half_past_two.clone(),
                vec![
                    at("2026-03-29T01:50[Europe/Berlin]"),
                    at("2026-03-29T03:05[Europe/Berlin]"),
                ],
                hours(15, 0, 10),
            ),
            (
                "spring forward past both ends of the working hours, in the gap",
                parsed("Europe/Berlin", "01:00-02:30", "02:45", "mon-sun"),
                vec![
                    at("2026-03-29T01:50[Europe/Berlin]"),
                    at("2026-03-29T03:05[Europe/Berlin]"),
                ],
                hours(10, 0, 15),
            ),
            (
                "fall back: 02:55 summer time to 02:05 winter time is ten minutes",
                berlin.clone(),
                vec![at("2026-10-25T02:55+02:00[Europe/Berlin]")],
                hours(0, 0, 10),
            ),
            (
                "fall back: three hours of work while the clock shows two",
                berlin,
                every(at("2026-10-24T23:30[UTC]"), 15, 13),
                hours(0, 0, 190),
            ),
            (
                "fall back: a 02:30 start is passed twice",
                from_half_past_two,
                every(at("2026-10-25T00:15[UTC]"), 15, 7),
                hours(30 + 25, 0, 15 + 30),
            ),
        ];
        for (name, working_hours, times, expected) in table {
            let actions: Vec<(u64, Timestamp)> = times.iter().map(|at| (1, *at)).collect();
            assert_eq!(alice(&working_hours, &actions).hours, expected, "{name}");
        }
    }

    #[test]
    fn working_hours_are_read_and_described_in_the_same_words() {
        let table = [
            (
                ("Europe/Berlin", "08:00-19:00", "23:00", "mon-fri"),
                ("Europe/Berlin", "08:00-19:00", "23:00", "mon-fri"),
            ),
            (
                (" UTC ", "9:30-17:00", "24:00", "mon,tue,thu"),
                ("UTC", "09:30-17:00", "24:00", "mon-tue,thu"),
            ),
            (
                ("America/New_York", "00:00-24:00", "24:00", "sat-sun"),
                ("America/New_York", "00:00-24:00", "24:00", "sat-sun"),
            ),
            (
                (
                    "Asia/Kolkata",
                    "10:00-18:00",
                    "18:00",
                    "Monday, WED-fri,sun",
                ),
                ("Asia/Kolkata", "10:00-18:00", "18:00", "mon,wed-fri,sun"),
            ),
            (
                ("UTC", "08:00-19:00", "23:00", "none"),
                ("UTC", "08:00-19:00", "23:00", "none"),
            ),
        ];
        for ((zone, working, late_until, days), expected) in table {
            let described = parsed(zone, working, late_until, days).describe();
            let expected = (
                expected.0.to_owned(),
                expected.1.to_owned(),
                expected.2.to_owned(),
                expected.3.to_owned(),
            );
            assert_eq!(described, expected, "{zone} {working} {late_until} {days}");
        }
        let default = WorkingHours::default();
        assert_eq!(
            default.describe(),
            parsed("UTC", "08:00-19:00", "23:00", "mon-fri").describe()
        );
        assert_eq!(
            (
                default.working_from,
                default.working_until,
                default.late_until
            ),
            (480, 1140, 1380)
        );
        assert_eq!(
            parsed("UTC", "08:00-19:00", "23:00", "none")
                .working_days
                .len(),
            0
        );
    }

    #[test]
    fn working_hours_refuse_what_they_cannot_read() {
        let zone = "use an IANA name such as `Europe/Berlin` or `UTC`";
        let time = "is not a time of day (HH:MM, from 00:00 to 24:00)";
        let day = "is not a day; use mon, tue, wed, thu, fri, sat or sun, listed (`mon,tue,thu`) or as a range (`mon-fri`), or `none`";
        type Case<'a> = ((&'a str, &'a str, &'a str, &'a str), &'a str, String);
        let table: Vec<Case<'_>> = vec![
            (
                ("Mars/Olympus", "08:00-19:00", "23:00", "mon-fri"),
                "time_zone",
                format!("`Mars/Olympus` is not a known time zone; {zone}"),
            ),
            (
                ("", "08:00-19:00", "23:00", "mon-fri"),
                "time_zone",
                format!("an empty value is not a known time zone; {zone}"),
            ),
            (
                ("UTC", "19:00-08:00", "23:00", "mon-fri"),
                "working_hours",
                "`19:00-08:00` does not start before it ends; working hours run forward within one day, such as `08:00-19:00`".to_owned(),
            ),
            (
                ("UTC", "0800", "23:00", "mon-fri"),
                "working_hours",
                "`0800` is not a range of times such as `08:00-19:00`".to_owned(),
            ),
            (
                ("UTC", "08:00-25:00", "23:00", "mon-fri"),
                "working_hours",
                format!("`25:00` {time}"),
            ),
            (
                ("UTC", "8h-19h", "23:00", "mon-fri"),
                "working_hours",
                format!("`8h` {time}"),
            ),
            (
                ("UTC", "08:00-19:00", "25:00", "mon-fri"),
                "late_until",
                format!("`25:00` {time}"),
            ),
            (
                ("UTC", "08:00-19:00", "24:01", "mon-fri"),
                "late_until",
                format!("`24:01` {time}"),
            ),
            (
                ("UTC", "08:00-19:00", "8:5", "mon-fri"),
                "late_until",
                format!("`8:5` {time}"),
            ),
            (
                ("UTC", "08:00-19:00", "18:00", "mon-fri"),
                "late_until",
                "`18:00` is before the end of working hours at 19:00; late hours run from then until this time, at latest `24:00`".to_owned(),
            ),
            (
                ("UTC", "08:00-19:00", "23:00", "funday"),
                "working_days",
                format!("`funday` {day}"),
            ),
            (
                ("UTC", "08:00-19:00", "23:00", "mon,,tue"),
                "working_days",
                format!("an empty value {day}"),
            ),
            (
                ("UTC", "08:00-19:00", "23:00", ""),
                "working_days",
                format!("an empty value {day}"),
            ),
            (
                ("UTC", "08:00-19:00", "23:00", "fri-mon"),
                "working_days",
                "`fri-mon` runs backwards; ranges run from Monday towards Sunday, such as `mon-fri` or `sat-sun`, or list the days: `fri,sat,sun,mon`".to_owned(),
            ),
        ];
        for ((zone, working, late_until, days), field, problem) in table {
            assert_eq!(
                WorkingHours::parse(zone, working, late_until, days),
                Err(InvalidValue::new(field, problem)),
                "{zone} {working} {late_until} {days}"
            );
        }
    }

    /// Working hours with bands that keep `from < until <= late <= 1440`. Half of the
    /// boundaries fall between 01:00 and 03:30, where the clocks change.
    fn bands() -> impl Strategy<Value = (u16, u16, u16)> {
        let boundary = || prop_oneof![0u16..=1440, (4u16..=14).prop_map(|quarter| quarter * 15)];
        (boundary(), boundary(), boundary())
            .prop_map(|(a, b, c)| {
                let mut sorted = [a, b, c];
                sorted.sort_unstable();
                (sorted[0], sorted[1], sorted[2])
            })
            .prop_filter("working hours must not be empty", |(from, until, _)| {
                from < until
            })
    }

    /// The figure in `hours` that the minute starting `minute` minutes after the epoch
    /// belongs to, read off the local wall clock as the rule is written.
    fn band_of_minute<'a>(
        working_hours: &WorkingHours,
        minute: i64,
        hours: &'a mut Hours,
    ) -> &'a mut SignedDuration {
        let local = Timestamp::from_second(minute * 60)
            .unwrap()
            .to_zoned(working_hours.time_zone.clone());
        let of_day =
            u16::try_from(local.hour()).unwrap() * 60 + u16::try_from(local.minute()).unwrap();
        let working_day = working_hours.working_days.contains(&local.weekday());
        if of_day < working_hours.working_from || of_day >= working_hours.late_until {
            &mut hours.sleeping
        } else if of_day < working_hours.working_until && working_day {
            &mut hours.working
        } else {
            &mut hours.late
        }
    }

    proptest! {
        /// The workload agrees with counting minute by minute, each minute in the band its
        /// local wall clock shows, over twelve hours around a change of the clocks (Lord Howe
        /// shifts by half an hour) or an ordinary day.
        #[test]
        fn workload_agrees_with_counting_minute_by_minute(
            (zone, start) in prop::sample::select(vec![
                ("Europe/Berlin", "2026-03-28T19:00[UTC]"),
                ("Europe/Berlin", "2026-10-24T19:00[UTC]"),
                ("America/New_York", "2026-03-08T01:00[UTC]"),
                ("America/New_York", "2026-11-01T00:00[UTC]"),
                ("Australia/Lord_Howe", "2026-04-04T09:00[UTC]"),
                ("Australia/Lord_Howe", "2026-10-03T09:30[UTC]"),
                ("Asia/Kolkata", "2026-01-09T12:00[UTC]"),
                ("UTC", "2026-01-09T12:00[UTC]"),
            ]),
            (working_from, working_until, late_until) in bands(),
            days in prop::collection::vec(any::<bool>(), 7),
            actions in prop::collection::vec((0usize..3, 1u64..4, 0i64..720), 0..40),
        ) {
            let people = ["alice", "bob", "carol"];
            let working_hours = WorkingHours {
                time_zone: TimeZone::get(zone).unwrap(),
                working_from,
                working_until,
                late_until,
                working_days: WEEK
                    .iter()
                    .zip(&days)
                    .filter(|(_, working)| **working)
                    .map(|((day, ..), _)| *day)
                    .collect(),
            };
            let first = at(start).as_second() / 60;
            let activities: Vec<Activity> = actions
                .iter()
                .map(|(person, incident, minute)| Activity {
                    person: user(people[*person]),
                    incident: IncidentNumber(*incident),
                    at: Timestamp::from_second((first + minute) * 60).unwrap(),
                })
                .collect();
            let figures = workload(&activities, |_| working_hours.clone());
            for (index, person) in people.iter().enumerate() {
                let own: Vec<(u64, i64)> = actions
                    .iter()
                    .filter(|(who, ..)| *who == index)
                    .map(|(_, incident, minute)| (*incident, first + minute))
                    .collect();
                let Some(got) = figures.get(&user(person)) else {
                    prop_assert!(own.is_empty());
                    continue;
                };
                let covered = covered(&own);
                let union: BTreeSet<i64> = covered.values().flatten().copied().collect();
                let mut expected = Hours::default();
                for minute in &union {
                    *band_of_minute(&working_hours, *minute, &mut expected) += mins(1);
                }
                prop_assert_eq!(got.hours, expected);
                prop_assert_eq!(got.hours.total(), mins(union.len() as i64));
                let incidents: BTreeMap<IncidentNumber, SignedDuration> = covered
                    .iter()
                    .map(|(incident, minutes)| {
                        (IncidentNumber(*incident), mins(minutes.len() as i64))
                    })
                    .collect();
                prop_assert!(got.hours.total() <= incidents.values().copied().sum());
                prop_assert_eq!(&got.incidents, &incidents);
                prop_assert_eq!(got.activities, own.len());
            }
        }
    }
}
