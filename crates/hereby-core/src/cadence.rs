//! How often stakeholders hear about an active incident: an update interval per severity,
//! and when the next update is due.

use jiff::{SignedDuration, Timestamp};

use crate::state::Incident;
use crate::types::Severity;

/// The update interval for each severity; `None` means no reminders at that severity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cadence {
    intervals: [Option<SignedDuration>; 4],
}

/// Why a cadence setting could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cadence `{0}`: write it like `SEV1=30m,SEV2=1h,SEV3=4h,SEV4=none`")]
pub struct CadenceError(pub String);

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

/// A duration like `90s`, `30m`, `4h` or `none`.
fn interval(raw: &str) -> Option<Option<SignedDuration>> {
    let raw = raw.trim();
    if raw.eq_ignore_ascii_case("none") {
        return Some(None);
    }
    let split = raw.len().checked_sub(1)?;
    let (number, unit) = raw.split_at(split);
    let number: i64 = number.parse().ok().filter(|n| *n > 0)?;
    let seconds = match unit {
        "s" => number,
        "m" => number.checked_mul(60)?,
        "h" => number.checked_mul(3_600)?,
        _ => return None,
    };
    Some(Some(SignedDuration::from_secs(seconds)))
}

impl Cadence {
    /// Reads `SEV1=30m,SEV2=1h,SEV3=4h,SEV4=none`; severities not named keep their default.
    pub fn parse(raw: &str) -> Result<Self, CadenceError> {
        let mut cadence = Self::default();
        for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (severity, value) = part
                .split_once('=')
                .ok_or_else(|| CadenceError(part.to_owned()))?;
            let severity =
                Severity::parse(severity.trim()).map_err(|_| CadenceError(part.to_owned()))?;
            let value = interval(value).ok_or_else(|| CadenceError(part.to_owned()))?;
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
        let custom = Cadence::parse("SEV3=2s, sev4=15m, SEV1=none").unwrap_or_default();
        assert_eq!(
            custom.interval(Severity::Sev3),
            Some(SignedDuration::from_secs(2))
        );
        assert_eq!(
            custom.interval(Severity::Sev4),
            Some(SignedDuration::from_mins(15))
        );
        assert_eq!(custom.interval(Severity::Sev1), None);
        assert_eq!(
            custom.interval(Severity::Sev2),
            Some(SignedDuration::from_hours(1))
        );
        for bad in [
            "SEV5=1h", "SEV1", "SEV1=0m", "SEV1=3d", "SEV1=-1h", "SEV1=m",
        ] {
            assert!(Cadence::parse(bad).is_err(), "{bad}");
        }
    }
}
