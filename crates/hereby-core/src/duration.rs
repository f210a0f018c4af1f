//! Durations as people write them, one grammar for every setting, flag and form: `500ms`,
//! `30s`, `10m`, `2h`, `1d`, `1w`, and combinations such as `1h30m` or `2h 30m`.
//!
//! A duration is one or more parts, each a whole number followed by a unit, with the units
//! from largest to smallest and each at most once; spaces may separate the parts. The units
//! are `w` (7 days), `d` (24 hours), `h`, `m`, `s` and `ms`, lower case only, so `m` never
//! reads as months. A day is always 24 hours: these are intervals, not calendar spans, so no
//! time zone or daylight-saving change stretches them. There is no sign (a setting is never
//! negative), no fraction (`1h30m`, not `1.5h`) and no bare number (`30` could be any unit).
//!
//! It replaced three parsers that disagreed: the serve settings took `ms` to `d`, the cadence
//! only `s` to `h`, and the service catalogue jiff's friendly format (`2h 30m`, `30 minutes`,
//! `PT30M`). This grammar keeps what they had in common and what people wrote in examples.

use std::fmt;
use std::str::FromStr;

use jiff::SignedDuration;

/// The units, largest first, with their length in milliseconds. A duration's parts must
/// follow this order, which is also the order [`Duration`]'s `Display` writes them in.
const UNITS: [(&str, i64); 6] = [
    ("w", 7 * 86_400_000),
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
];

/// What the grammar accepts, in a sentence, for error messages.
pub const ACCEPTED: &str = "whole numbers with a unit (w, d, h, m, s or ms), largest unit first, such as 500ms, 30s, 10m, 2h, 1d, 1w or 1h30m";

/// A duration that is never negative, parsed from the grammar above.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Duration(SignedDuration);

/// Why a text is not a duration; its `Display` names the text, the problem and the grammar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DurationError {
    input: String,
    problem: String,
}

impl fmt::Display for DurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.input.is_empty() {
            return write!(f, "no duration was given; write {ACCEPTED}");
        }
        write!(
            f,
            "`{}` is not a duration: {}; write {ACCEPTED}",
            self.input, self.problem
        )
    }
}

impl std::error::Error for DurationError {}

impl Duration {
    /// No time at all, written `0s`.
    pub const ZERO: Self = Self(SignedDuration::ZERO);

    /// A span as a duration, or `None` if it is negative.
    pub fn from_signed(span: SignedDuration) -> Option<Self> {
        (!span.is_negative()).then_some(Self(span))
    }

    /// Reads a duration such as `30s`, `1d` or `1h30m` (surrounding spaces are ignored).
    pub fn parse(raw: &str) -> Result<Self, DurationError> {
        let input = raw.trim();
        let error = |problem: String| DurationError {
            input: input.to_owned(),
            problem,
        };
        if input.is_empty() {
            return Err(error("it is empty".to_owned()));
        }
        let mut rest = input;
        let mut millis: i64 = 0;
        // The index in `UNITS` of the previous part's unit; each next one must be smaller.
        let mut previous: Option<usize> = None;
        while !rest.is_empty() {
            let digits = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            let (number, after) = rest.split_at(digits);
            if number.is_empty() {
                return Err(error(format!(
                    "`{rest}` does not start with a whole number"
                )));
            }
            if after.starts_with(['.', ',']) {
                return Err(error(
                    "fractions are not accepted (write 1h30m rather than 1.5h)".to_owned(),
                ));
            }
            let letters = after
                .find(|c: char| !c.is_ascii_alphabetic())
                .unwrap_or(after.len());
            let (unit, after) = after.split_at(letters);
            if unit.is_empty() {
                return Err(error(format!("`{number}` has no unit")));
            }
            let Some(index) = UNITS.iter().position(|(name, _)| *name == unit) else {
                return Err(error(format!("`{unit}` is not a unit")));
            };
            if previous.is_some_and(|previous| index <= previous) {
                return Err(error(format!(
                    "`{unit}` follows a smaller unit or itself; give each unit once, largest first"
                )));
            }
            previous = Some(index);
            // Digits only, so the only way this parse fails is a number too large for i64.
            let part = number
                .parse::<i64>()
                .ok()
                .and_then(|number| number.checked_mul(UNITS[index].1))
                .and_then(|part| millis.checked_add(part));
            millis = part.ok_or_else(|| error("it is too long".to_owned()))?;
            rest = after.trim_start();
        }
        Ok(Self(SignedDuration::from_millis(millis)))
    }

    /// The duration as jiff's type, for arithmetic on timestamps.
    pub fn signed(self) -> SignedDuration {
        self.0
    }

    /// The duration as the standard library's type, for timers and timeouts.
    pub fn std(self) -> std::time::Duration {
        // Never negative by construction, so the absolute value is the value itself.
        self.0.unsigned_abs()
    }

    /// Whether this is no time at all.
    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }
}

impl FromStr for Duration {
    type Err = DurationError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        Self::parse(raw)
    }
}

impl fmt::Display for Duration {
    /// The shortest spelling in the grammar, so that parsing it gives the same duration:
    /// `1h30m`, `1w`, `0s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0.as_millis();
        if rest == 0 {
            return f.write_str("0s");
        }
        for (unit, length) in UNITS {
            let length = i128::from(length);
            let count = rest / length;
            if count > 0 {
                write!(f, "{count}{unit}")?;
            }
            rest %= length;
        }
        Ok(())
    }
}
