//! How a time reads to a person: to the minute in UTC, with how long ago it was where that
//! helps (`14:39 UTC · 3 min ago`). Every output people read uses these words; the API and
//! the stored events keep full RFC 3339 times.

use jiff::Timestamp;

/// A time to the minute: `2026-11-21 09:30 UTC`.
pub fn clock(at: Timestamp) -> String {
    at.strftime("%Y-%m-%d %H:%M UTC").to_string()
}

/// How long ago `at` was, roughly: `just now`, `5 min ago`, `3 h 20 min ago`, `2 days ago`.
/// A time after `now` (clocks of two nodes a little apart) reads as `just now`.
pub fn ago(at: Timestamp, now: Timestamp) -> String {
    let seconds = now.as_second().saturating_sub(at.as_second()).max(0);
    match seconds {
        0..60 => "just now".to_owned(),
        60..3_600 => format!("{} min ago", seconds / 60),
        3_600..86_400 => {
            let minutes = (seconds % 3_600) / 60;
            if minutes == 0 {
                format!("{} h ago", seconds / 3_600)
            } else {
                format!("{} h {} min ago", seconds / 3_600, minutes)
            }
        }
        86_400..172_800 => "1 day ago".to_owned(),
        _ => format!("{} days ago", seconds / 86_400),
    }
}

/// How long a span lasts, to the minute: `under a minute`, `9 min`, `1 h 20 min`,
/// `2 d 3 h`. A negative span reads as its length.
pub fn span(duration: jiff::SignedDuration) -> String {
    let seconds = duration.as_secs().unsigned_abs();
    let (days, hours, minutes) = (
        seconds / 86_400,
        seconds % 86_400 / 3_600,
        seconds % 3_600 / 60,
    );
    match (days, hours, minutes) {
        (0, 0, 0) => "under a minute".to_owned(),
        (0, 0, m) => format!("{m} min"),
        (0, h, 0) => format!("{h} h"),
        (0, h, m) => format!("{h} h {m} min"),
        (d, 0, _) => format!("{d} d"),
        (d, h, _) => format!("{d} d {h} h"),
    }
}

/// A time as a timeline shows it: the hour alone on the day of `now` (`14:39 UTC · 3 min
/// ago`), the date too before that (`2026-11-21 09:30 UTC · 2 days ago`), and no "ago" once
/// it is more than a week old, where the date says enough.
pub fn stamp(at: Timestamp, now: Timestamp) -> String {
    Stamp::new(at).read(now, &day(now))
}

/// The day of a time, `2026-11-21`, as [`Stamp::read`] compares it.
pub fn day(at: Timestamp) -> String {
    at.strftime("%Y-%m-%d").to_string()
}

/// A time's wording made once (formatting dates costs more than the rest of a timeline
/// entry), read as [`stamp`] reads it at any later moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    at: Timestamp,
    day: String,
    hour: String,
    full: String,
}

impl Stamp {
    pub fn new(at: Timestamp) -> Self {
        Self {
            at,
            day: day(at),
            hour: at.strftime("%H:%M UTC").to_string(),
            full: clock(at),
        }
    }

    /// The time to the minute with its date: `2026-11-21 09:30 UTC`.
    pub fn full(&self) -> &str {
        &self.full
    }

    /// The time as seen at `now`, whose [`day`] is `today`.
    pub fn read(&self, now: Timestamp, today: &str) -> String {
        if self.day == today {
            format!("{} · {}", self.hour, ago(self.at, now))
        } else if now.as_second().saturating_sub(self.at.as_second()) <= 7 * 86_400 {
            format!("{} · {}", self.full, ago(self.at, now))
        } else {
            self.full.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(raw: &str) -> Timestamp {
        raw.parse().unwrap()
    }

    #[test]
    fn times_read_to_the_minute_with_how_long_ago() {
        let now = at("2026-11-21T14:42:10.123456789Z");
        let cases = [
            ("2026-11-21T14:42:00Z", "14:42 UTC · just now"),
            ("2026-11-21T14:39:05.5Z", "14:39 UTC · 3 min ago"),
            ("2026-11-21T09:30:00Z", "09:30 UTC · 5 h 12 min ago"),
            (
                "2026-11-20T23:59:00Z",
                "2026-11-20 23:59 UTC · 14 h 43 min ago",
            ),
            ("2026-11-18T14:00:00Z", "2026-11-18 14:00 UTC · 3 days ago"),
            ("2026-10-01T08:00:00Z", "2026-10-01 08:00 UTC"),
            ("2026-11-21T14:43:00Z", "14:43 UTC · just now"),
        ];
        for (time, expected) in cases {
            assert_eq!(stamp(at(time), now), expected, "{time}");
        }
        assert_eq!(clock(now), "2026-11-21 14:42 UTC");
    }
}
