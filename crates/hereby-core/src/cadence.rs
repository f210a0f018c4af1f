//! How often stakeholders hear about an active incident: an update interval per severity,
//! and when the next update is due.

use jiff::{SignedDuration, Timestamp};

use crate::duration::Duration;
use crate::state::Incident;
use crate::types::Severity;

/// The update interval for each severity; `None` means no reminders at that severity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cadence {
    intervals: [Option<SignedDuration>; 4],
}

/// Why a cadence setting could not be read: the part that failed and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cadence `{part}`: {problem}")]
pub struct CadenceError {
    part: String,
    problem: String,
}

impl CadenceError {
    fn new(part: &str, problem: impl Into<String>) -> Self {
        Self {
            part: part.to_owned(),
            problem: problem.into(),
        }
    }
}

/// How a cadence is written, for the messages about its shape.
const SHAPE: &str = "write it like `SEV1=30m,SEV2=1h,SEV3=4h,SEV4=none`";

impl Default for Cadence {
    /// SEV1 every 30 minutes, SEV2 every hour, SEV3 every 4 hours, SEV4 none.
    fn default() -> Self {
        Self {
            intervals: [
                Some(SignedDuration::from_mins(30)),
                Some(SignedDuration::from_hours(1)),
                Some(SignedDuration::from_hours(4)),
                None,
            ],
        }
    }
}

fn index(severity: Severity) -> usize {
    match severity {
        Severity::Sev1 => 0,
        Severity::Sev2 => 1,
        Severity::Sev3 => 2,
        Severity::Sev4 => 3,
    }
}

/// An interval in the one duration grammar ([`crate::duration`]) of at least a second, or
/// `none`. Reminders are jobs in the database, so an interval shorter than a second would only
/// keep the dispatcher busy; the cadence never accepted one.
fn interval(raw: &str) -> Result<Option<SignedDuration>, String> {
    let raw = raw.trim();
    if raw.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    let duration = Duration::parse(raw).map_err(|e| e.to_string())?.signed();
    if duration < SignedDuration::from_secs(1) {
        return Err("an interval must be at least 1s (or `none`)".to_owned());
    }
    Ok(Some(duration))
}

impl Cadence {
    /// Reads `SEV1=30m,SEV2=1h,SEV3=4h,SEV4=none`; severities not named keep their default.
    /// Each interval is a duration in the grammar every setting uses (`90s`, `1h30m`, `1d`).
    pub fn parse(raw: &str) -> Result<Self, CadenceError> {
        let mut cadence = Self::default();
        for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (severity, value) = part
                .split_once('=')
                .ok_or_else(|| CadenceError::new(part, SHAPE))?;
            let severity = Severity::parse(severity.trim()).map_err(|_| {
                CadenceError::new(
                    part,
                    format!("`{}` is not a severity; {SHAPE}", severity.trim()),
                )
            })?;
            let value = interval(value).map_err(|problem| CadenceError::new(part, problem))?;
            cadence.intervals[index(severity)] = value;
        }
        Ok(cadence)
    }

    /// The update interval at `severity`.
    pub fn interval(&self, severity: Severity) -> Option<SignedDuration> {
        self.intervals[index(severity)]
    }
}

impl Incident {
    /// When stakeholders are next owed an update: one interval after the last update (or
    /// after the declaration, before any), while the incident is active. `None` once it is
    /// resolved or ended, or when its severity has no cadence.
    pub fn next_update_due(&self, cadence: &Cadence) -> Option<Timestamp> {
        if !self.status.is_active() {
            return None;
        }
        let interval = cadence.interval(self.severity)?;
        let since = self.last_update_at.unwrap_or(self.declared_at);
        since.checked_add(interval).ok()
    }

    /// When an update posted at `now` promises the next one: `now` plus the severity's
    /// interval, while the incident is active. Never a time already past, however late this
    /// update is (the owed time, [`Incident::next_update_due`], may be). `None` once it is
    /// resolved or ended, or when its severity has no cadence.
    pub fn next_update_promised(&self, cadence: &Cadence, now: Timestamp) -> Option<Timestamp> {
        if !self.status.is_active() {
            return None;
        }
        now.checked_add(cadence.interval(self.severity)?).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        let cadence = Cadence::default();
        assert_eq!(
            cadence.interval(Severity::Sev1),
            Some(SignedDuration::from_mins(30))
        );
        assert_eq!(cadence.interval(Severity::Sev4), None);
        let custom = Cadence::parse("SEV3=2s, sev4=1d, SEV2=1h30m, SEV1=none").unwrap_or_default();
        assert_eq!(
            custom.interval(Severity::Sev3),
            Some(SignedDuration::from_secs(2))
        );
        assert_eq!(
            custom.interval(Severity::Sev4),
            Some(SignedDuration::from_hours(24))
        );
        assert_eq!(custom.interval(Severity::Sev1), None);
        assert_eq!(
            custom.interval(Severity::Sev2),
            Some(SignedDuration::from_mins(90))
        );
        for bad in [
            "SEV5=1h",
            "SEV1",
            "SEV1=0m",
            "SEV1=-1h",
            "SEV1=m",
            "SEV1=1.5h",
            "SEV1=999ms",
        ] {
            assert!(Cadence::parse(bad).is_err(), "{bad}");
        }
    }
}
