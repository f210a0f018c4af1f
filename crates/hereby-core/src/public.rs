//! What the public status page says about an incident: the rules that turn severity and
//! status into the Statuspage vocabulary (incident status, impact, component status and the
//! page's overall indicator). Pure, so the mapping is tested as a table.

use crate::types::{ComponentStatus, Severity, Status};

/// An incident's impact on the status page, least to most severe (Statuspage's `impact`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Impact {
    None,
    Minor,
    Major,
    Critical,
}

impl Impact {
    /// The Statuspage spelling, also used for the page's `status.indicator`.
    pub fn as_str(self) -> &'static str {
        match self {
            Impact::None => "none",
            Impact::Minor => "minor",
            Impact::Major => "major",
            Impact::Critical => "critical",
        }
    }

    /// The sentence Statuspage pairs with each indicator, so clients that show it read as
    /// they would for any other page.
    pub fn description(self) -> &'static str {
        match self {
            Impact::None => "All Systems Operational",
            Impact::Minor => "Minor Service Outage",
            Impact::Major => "Partial System Outage",
            Impact::Critical => "Major Service Outage",
        }
    }
}

/// The incident's impact from its severity. A potential incident (nothing is broken yet)
/// has no impact.
pub fn impact(severity: Severity, potential: bool) -> Impact {
    if potential {
        return Impact::None;
    }
    match severity {
        Severity::Sev1 => Impact::Critical,
        Severity::Sev2 => Impact::Major,
        Severity::Sev3 | Severity::Sev4 => Impact::Minor,
    }
}

/// The incident's status in Statuspage's set. Ending without resolving (called off, handed
/// back, declined or merged candidates) reads as resolved to the public; `closed` means the
/// post-mortem is done. A candidate is never public, but would read as being investigated.
pub fn incident_status(status: Status) -> &'static str {
    match status {
        Status::Investigating | Status::Triage => "investigating",
        Status::Identified => "identified",
        Status::Monitoring => "monitoring",
        Status::Resolved
        | Status::CalledOff
        | Status::HandedBack
        | Status::Declined
        | Status::Merged => "resolved",
        Status::Closed => "postmortem",
    }
}

/// How an active incident leaves a component it affects. While a fix is being watched
/// (monitoring) the component is at worst degraded; once the incident ends it is operational
/// again.
pub fn component_status(severity: Severity, status: Status, potential: bool) -> ComponentStatus {
    if !status.is_active() || potential {
        return ComponentStatus::Operational;
    }
    let by_severity = match severity {
        Severity::Sev1 => ComponentStatus::MajorOutage,
        Severity::Sev2 => ComponentStatus::PartialOutage,
        Severity::Sev3 | Severity::Sev4 => ComponentStatus::DegradedPerformance,
    };
    if status == Status::Monitoring {
        ComponentStatus::DegradedPerformance.min(by_severity)
    } else {
        by_severity
    }
}

/// The worse of two component statuses (maintenance counts as less bad than any outage, and
/// worse than normal operation).
pub fn worse(a: ComponentStatus, b: ComponentStatus) -> ComponentStatus {
    if rank(a) >= rank(b) { a } else { b }
}

fn rank(status: ComponentStatus) -> u8 {
    match status {
        ComponentStatus::Operational => 0,
        ComponentStatus::UnderMaintenance => 1,
        ComponentStatus::DegradedPerformance => 2,
        ComponentStatus::PartialOutage => 3,
        ComponentStatus::MajorOutage => 4,
    }
}

/// What a component's status says about the page as a whole.
pub fn component_impact(status: ComponentStatus) -> Impact {
    match status {
        ComponentStatus::Operational | ComponentStatus::UnderMaintenance => Impact::None,
        ComponentStatus::DegradedPerformance | ComponentStatus::PartialOutage => Impact::Minor,
        ComponentStatus::MajorOutage => Impact::Major,
    }
}

/// A component group's id on the status page and in its JSON: `group-` and the name in
/// lowercase letters, digits and dashes.
pub fn group_id(name: &str) -> String {
    let slug: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() {
                c.to_lowercase().next().unwrap_or(c)
            } else {
                '-'
            }
        })
        .collect();
    let slug: Vec<&str> = slug.split('-').filter(|part| !part.is_empty()).collect();
    format!("group-{}", slug.join("-"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_and_status_map_to_the_public_vocabulary() {
        use ComponentStatus as C;
        use Severity::*;
        use Status::*;
        let table = [
            (Sev1, Investigating, false, C::MajorOutage, Impact::Critical),
            (
                Sev1,
                Monitoring,
                false,
                C::DegradedPerformance,
                Impact::Critical,
            ),
            (Sev2, Identified, false, C::PartialOutage, Impact::Major),
            (
                Sev3,
                Investigating,
                false,
                C::DegradedPerformance,
                Impact::Minor,
            ),
            (
                Sev4,
                Monitoring,
                false,
                C::DegradedPerformance,
                Impact::Minor,
            ),
            (Sev1, Resolved, false, C::Operational, Impact::Critical),
            (Sev1, Investigating, true, C::Operational, Impact::None),
            (Sev2, CalledOff, false, C::Operational, Impact::Major),
        ];
        for (severity, status, potential, component, impact_) in table {
            assert_eq!(
                component_status(severity, status, potential),
                component,
                "{severity} {status} potential={potential}"
            );
            assert_eq!(impact(severity, potential), impact_, "{severity}");
        }
        assert_eq!(incident_status(Closed), "postmortem");
        assert_eq!(incident_status(HandedBack), "resolved");
        assert_eq!(incident_status(Identified), "identified");
        assert_eq!(
            worse(C::UnderMaintenance, C::Operational),
            C::UnderMaintenance
        );
        assert_eq!(
            worse(C::UnderMaintenance, C::PartialOutage),
            C::PartialOutage
        );
        assert_eq!(component_impact(C::MajorOutage), Impact::Major);
    }
}
