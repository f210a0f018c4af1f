//! A component's uptime over the status page's days: the minutes of each day it spent
//! degraded, in partial or major outage or under maintenance (the worst status at each
//! instant, so overlapping incidents count once), and the share of the period it was up. A
//! minute counts as down in partial or major outage; degraded performance and maintenance
//! count as up, since the service answered.

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;

use crate::public::worse;
use crate::types::ComponentStatus;

/// A stretch of time a component spent in one status other than operational.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spell {
    pub start: Timestamp,
    pub end: Timestamp,
    pub status: ComponentStatus,
}

/// One day of a component, in the page's time zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Day {
    pub date: Date,
    pub degraded_minutes: u32,
    pub partial_minutes: u32,
    pub major_minutes: u32,
    pub maintenance_minutes: u32,
    /// The worst status of the day (operational when nothing happened).
    pub worst: ComponentStatus,
    /// Whether the day lies before the component existed or after now (shown blank).
    pub unknown: bool,
}

/// A component's days, oldest first, and its uptime over the known part of them.
#[derive(Debug, Clone, PartialEq)]
pub struct Uptime {
    pub days: Vec<Day>,
    /// Percent of the known minutes the component was up; `None` when no minute is known.
    pub percent: Option<f64>,
}

/// The uptime over the `days` days ending with today (in `zone`), counting only from `since`
/// (when the component was added) up to `now`.
pub fn uptime(
    spells: &[Spell],
    days: u16,
    zone: &TimeZone,
    since: Timestamp,
    now: Timestamp,
) -> Uptime {
    let today = now.to_zoned(zone.clone()).date();
    let mut result = Vec::with_capacity(usize::from(days));
    let (mut known_total, mut down_total) = (0i64, 0i64);
    for back in (0..i32::from(days)).rev() {
        let Ok(date) = today.checked_sub(jiff::Span::new().days(back)) else {
            continue;
        };
        let (Some(day_start), Some(day_end)) = (
            start_of(date, zone),
            date.tomorrow().ok().and_then(|next| start_of(next, zone)),
        ) else {
            continue;
        };
        let from = day_start.max(since);
        let to = day_end.min(now);
        let mut day = Day {
            date,
            degraded_minutes: 0,
            partial_minutes: 0,
            major_minutes: 0,
            maintenance_minutes: 0,
            worst: ComponentStatus::Operational,
            unknown: from >= to,
        };
        if from < to {
            known_total += to.duration_since(from).as_secs();
            for (start, end, status) in worst_segments(spells, from, to) {
                let seconds = end.duration_since(start).as_secs();
                let minutes = u32::try_from(seconds.div_euclid(60)).unwrap_or(u32::MAX);
                match status {
                    ComponentStatus::DegradedPerformance => day.degraded_minutes += minutes,
                    ComponentStatus::PartialOutage => {
                        day.partial_minutes += minutes;
                        down_total += seconds;
                    }
                    ComponentStatus::MajorOutage => {
                        day.major_minutes += minutes;
                        down_total += seconds;
                    }
                    ComponentStatus::UnderMaintenance => day.maintenance_minutes += minutes,
                    ComponentStatus::Operational => {}
                }
                day.worst = worse(day.worst, status);
            }
        }
        result.push(day);
    }
    let percent = (known_total > 0).then(|| {
        let up = (known_total - down_total).max(0) as f64;
        100.0 * up / known_total as f64
    });
    Uptime {
        days: result,
        percent,
    }
}

/// When a date begins in a zone (its first instant, even where midnight is skipped).
fn start_of(date: Date, zone: &TimeZone) -> Option<Timestamp> {
    date.to_zoned(zone.clone())
        .ok()
        .map(|zoned| zoned.timestamp())
}

/// The pieces of `[from, to)` in which some spell holds, each with the worst status holding
/// over it.
fn worst_segments(
    spells: &[Spell],
    from: Timestamp,
    to: Timestamp,
) -> Vec<(Timestamp, Timestamp, ComponentStatus)> {
    let mut cuts: Vec<Timestamp> = vec![from, to];
    for spell in spells {
        for at in [spell.start, spell.end] {
            if at > from && at < to {
                cuts.push(at);
            }
        }
    }
    cuts.sort();
    cuts.dedup();
    let mut segments = Vec::new();
    for pair in cuts.windows(2) {
        let (start, end) = (pair[0], pair[1]);
        let status = spells
            .iter()
            .filter(|spell| spell.start <= start && spell.end >= end && spell.start < spell.end)
            .map(|spell| spell.status)
            .fold(ComponentStatus::Operational, worse);
        if status != ComponentStatus::Operational {
            segments.push((start, end, status));
        }
    }
    segments
}

/// The longest history the page shows per component, in days.
pub const DAYS: u16 = 90;

#[cfg(test)]
mod tests {
    use super::*;
    use ComponentStatus::*;

    fn at(raw: &str) -> Timestamp {
        raw.parse().unwrap()
    }

    fn spell(start: &str, end: &str, status: ComponentStatus) -> Spell {
        Spell {
            start: at(start),
            end: at(end),
            status,
        }
    }

    #[test]
    fn overlapping_spells_count_once_at_their_worst() {
        let spells = [
            spell(
                "2026-12-03T10:00:00Z",
                "2026-12-03T11:00:00Z",
                PartialOutage,
            ),
            spell("2026-12-03T10:30:00Z", "2026-12-03T10:45:00Z", MajorOutage),
            spell(
                "2026-12-03T10:50:00Z",
                "2026-12-03T12:00:00Z",
                DegradedPerformance,
            ),
        ];
        let result = uptime(
            &spells,
            3,
            &TimeZone::UTC,
            at("2026-11-01T00:00:00Z"),
            at("2026-12-04T12:00:00Z"),
        );
        assert_eq!(result.days.len(), 3);
        let day = &result.days[1];
        assert_eq!(day.date.to_string(), "2026-12-03");
        assert_eq!(
            (day.partial_minutes, day.major_minutes, day.degraded_minutes),
            (45, 15, 60)
        );
        assert_eq!(day.worst, MajorOutage);
        assert_eq!(result.days[0].worst, Operational);
        // Down 60 minutes of 2 days and 12 hours.
        let known = (2 * 24 + 12) as f64 * 60.0;
        let expected = 100.0 * (known - 60.0) / known;
        assert!((result.percent.unwrap() - expected).abs() < 1e-9);
    }

    #[test]
    fn a_spell_across_midnight_is_split_between_its_days() {
        let spells = [spell(
            "2026-12-02T23:30:00Z",
            "2026-12-03T00:20:00Z",
            MajorOutage,
        )];
        let result = uptime(
            &spells,
            3,
            &TimeZone::UTC,
            at("2026-11-01T00:00:00Z"),
            at("2026-12-04T00:00:00Z"),
        );
        let minutes: Vec<u32> = result.days.iter().map(|d| d.major_minutes).collect();
        assert_eq!(minutes, [30, 20, 0]);
        assert!(result.days[2].unknown, "today has not begun yet");
    }

    #[test]
    fn days_follow_the_page_time_zone() {
        // 23:30 UTC is already the next day in Berlin.
        let spells = [spell(
            "2026-12-02T23:30:00Z",
            "2026-12-02T23:50:00Z",
            PartialOutage,
        )];
        let berlin = TimeZone::get("Europe/Berlin").unwrap();
        let result = uptime(
            &spells,
            2,
            &berlin,
            at("2026-11-01T00:00:00Z"),
            at("2026-12-03T12:00:00Z"),
        );
        assert_eq!(result.days[1].date.to_string(), "2026-12-03");
        assert_eq!(result.days[1].partial_minutes, 20);
        assert_eq!(result.days[0].partial_minutes, 0);
    }

    #[test]
    fn maintenance_and_degraded_time_count_as_up_and_days_before_the_component_are_unknown() {
        let spells = [
            spell(
                "2026-12-03T01:00:00Z",
                "2026-12-03T02:00:00Z",
                UnderMaintenance,
            ),
            spell(
                "2026-12-03T03:00:00Z",
                "2026-12-03T04:00:00Z",
                DegradedPerformance,
            ),
        ];
        let result = uptime(
            &spells,
            3,
            &TimeZone::UTC,
            at("2026-12-03T00:00:00Z"),
            at("2026-12-04T00:00:00Z"),
        );
        assert!(result.days[0].unknown);
        assert_eq!(result.days[1].maintenance_minutes, 60);
        assert_eq!(result.days[1].worst, DegradedPerformance);
        assert_eq!(result.percent, Some(100.0));
        // A component added just now has no known minute.
        let fresh = uptime(
            &[],
            3,
            &TimeZone::UTC,
            at("2026-12-04T00:00:00Z"),
            at("2026-12-04T00:00:00Z"),
        );
        assert_eq!(fresh.percent, None);
    }
}
