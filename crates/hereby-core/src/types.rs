//! Checked value types: every piece of user input is parsed into one of these at the edge,
//! so the rules in `decide` never re-validate strings.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a piece of input could not be parsed into a domain value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct InvalidValue {
    /// The name of the field, as a user would type it (`title`, `severity`, …).
    pub field: &'static str,
    /// What is wrong with it, in a sentence a user can act on.
    pub problem: String,
}

impl InvalidValue {
    pub fn new(field: &'static str, problem: impl Into<String>) -> Self {
        Self {
            field,
            problem: problem.into(),
        }
    }
}

/// Checks a free-text field: trimmed, non-empty, bounded, and free of control characters
/// other than newlines and tabs where `multiline` allows them.
fn checked_text(
    field: &'static str,
    raw: &str,
    max_chars: usize,
    multiline: bool,
) -> Result<String, InvalidValue> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(InvalidValue::new(field, "must not be empty"));
    }
    let count = text.chars().count();
    if count > max_chars {
        return Err(InvalidValue::new(
            field,
            format!("is {count} characters long; at most {max_chars} are allowed"),
        ));
    }
    let bad = text
        .chars()
        .any(|c| c.is_control() && !(multiline && (c == '\n' || c == '\t' || c == '\r')));
    if bad {
        return Err(InvalidValue::new(
            field,
            if multiline {
                "must not contain control characters other than newlines and tabs"
            } else {
                "must be a single line without control characters"
            },
        ));
    }
    Ok(text.to_owned())
}

/// Declares a string newtype that can only be built through its `parse` function and that
/// re-checks itself when deserialized, so a stored value is as trustworthy as a fresh one.
macro_rules! checked_string {
    ($(#[$meta:meta])* $name:ident, |$raw:ident| $parse:expr) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Parses user input, returning a clear reason when it is not acceptable.
            pub fn parse($raw: &str) -> Result<Self, InvalidValue> {
                $parse.map(Self)
            }

            /// The checked text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidValue;
            fn try_from(raw: String) -> Result<Self, Self::Error> {
                Self::parse(&raw)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

/// Checks an identifier-like name: lowercase ASCII letters, digits and `._-`, starting with a
/// letter or digit.
fn checked_slug(field: &'static str, raw: &str, max_len: usize) -> Result<String, InvalidValue> {
    let slug = raw.trim();
    if slug.is_empty() {
        return Err(InvalidValue::new(field, "must not be empty"));
    }
    if slug.len() > max_len {
        return Err(InvalidValue::new(
            field,
            format!("is longer than {max_len} characters"),
        ));
    }
    let first_ok = slug
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let rest_ok = slug
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
    if !first_ok || !rest_ok {
        return Err(InvalidValue::new(
            field,
            format!(
                "`{slug}` must use lowercase letters, digits, `.`, `_` or `-`, and start with a letter or digit"
            ),
        ));
    }
    Ok(slug.to_owned())
}

checked_string!(
    /// An incident title: one line, at most 200 characters.
    Title,
    |raw| checked_text("title", raw, 200, false)
);

checked_string!(
    /// Free text such as a summary, a note or an action item: Markdown, up to 20,000 characters.
    Text,
    |raw| checked_text("text", raw, 20_000, true)
);

checked_string!(
    /// A reason that a rule requires (severity change, call-off, override …): up to 2,000 characters.
    Reason,
    |raw| checked_text("reason", raw, 2_000, true)
);

checked_string!(
    /// A user's login name, as recorded as the actor of every event.
    UserName,
    |raw| checked_slug("user", raw, 64)
);

checked_string!(
    /// The name of a tracker a follow-up is kept in (the name of its channel), such as
    /// `github-platform`.
    TrackerName,
    |raw| checked_slug("tracker", raw, 64)
);

checked_string!(
    /// The key of a role in the role catalogue, such as `incident_commander`.
    RoleKey,
    |raw| checked_slug("role", raw, 64)
);

checked_string!(
    /// Who a stakeholder update is for: `internal`, `service_owners`, `customers`, or a named
    /// subscriber group as `group:<name>`.
    Audience,
    |raw| {
        let audience = raw.trim();
        match audience {
            "internal" | "service_owners" | "customers" => Ok(audience.to_owned()),
            _ => match audience.strip_prefix("group:") {
                Some(group) => checked_slug("audience", group, 64).map(|g| format!("group:{g}")),
                None => Err(InvalidValue::new(
                    "audience",
                    format!(
                        "`{audience}` is not an audience: use internal, service_owners, customers or group:<name>"
                    ),
                )),
            },
        }
    }
);

checked_string!(
    /// The name of an affected service or component, such as `api` or `db-primary`.
    ServiceName,
    |raw| checked_slug("service", raw, 100)
);

impl ServiceName {
    /// The most services one incident (or one severity evaluation) may name: enough for a
    /// platform-wide outage, few enough that every page about the incident stays fast.
    pub const MAX_PER_INCIDENT: usize = 100;

    /// Parses a list of service names as a form or request sends it: blanks skipped,
    /// duplicates dropped (first one kept), at most [`ServiceName::MAX_PER_INCIDENT`].
    pub fn parse_list<'a>(
        raw: impl IntoIterator<Item = &'a str>,
    ) -> Result<Vec<ServiceName>, InvalidValue> {
        let mut services: Vec<ServiceName> = Vec::new();
        for name in raw
            .into_iter()
            .map(str::trim)
            .filter(|name| !name.is_empty())
        {
            let service = ServiceName::parse(name)?;
            if !services.contains(&service) {
                services.push(service);
            }
            if services.len() > Self::MAX_PER_INCIDENT {
                return Err(InvalidValue::new(
                    "services",
                    format!(
                        "name at most {} services; for a wider outage name the shared ones",
                        Self::MAX_PER_INCIDENT
                    ),
                ));
            }
        }
        Ok(services)
    }
}

checked_string!(
    /// What an operations action acted on: a host, a component, a config key. One line.
    Target,
    |raw| checked_text("target", raw, 200, false)
);

checked_string!(
    /// The name of an attached file, without any directory part.
    FileName,
    |raw| {
        checked_text("name", raw, 255, false).and_then(|name| {
            if name.contains('/') || name.contains('\\') || name == "." || name == ".." {
                Err(InvalidValue::new("name", "must be a file name without directories"))
            } else {
                Ok(name)
            }
        })
    }
);

checked_string!(
    /// A media type such as `text/plain` or `application/gzip`.
    MediaType,
    |raw| {
        let value = raw.trim().to_ascii_lowercase();
        let valid = value.len() <= 127
            && value.split_once('/').is_some_and(|(kind, sub)| {
                let token = |s: &str| {
                    !s.is_empty()
                        && s.chars().all(|c| c.is_ascii_alphanumeric() || "!#$&^_.+-".contains(c))
                };
                token(kind) && token(sub.split(';').next().unwrap_or_default().trim())
            });
        if valid {
            Ok(value)
        } else {
            Err(InvalidValue::new("media_type", format!("`{}` is not a media type like text/plain", raw.trim())))
        }
    }
);

checked_string!(
    /// An absolute `http` or `https` URL without whitespace.
    Url,
    |raw| {
        let url = raw.trim();
        let rest = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"));
        match rest {
            Some(rest)
                if url.len() <= 2_000
                    && !rest.is_empty()
                    && !rest.starts_with('/')
                    && !url.chars().any(|c| c.is_whitespace() || c.is_control()) =>
            {
                Ok(url.to_owned())
            }
            _ => Err(InvalidValue::new(
                "url",
                format!("`{url}` is not an absolute http:// or https:// URL"),
            )),
        }
    }
);

checked_string!(
    /// A SHA-256 digest as 64 lowercase hexadecimal characters.
    Sha256Hex,
    |raw| {
        let digest = raw.trim().to_ascii_lowercase();
        if digest.len() == 64 && digest.chars().all(|c| c.is_ascii_hexdigit()) {
            Ok(digest)
        } else {
            Err(InvalidValue::new("sha256", "must be 64 hexadecimal characters"))
        }
    }
);

/// Declares a closed set of names with their wire spelling, parsing and display.
macro_rules! named_enum {
    ($(#[$meta:meta])* $name:ident, $field:literal { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// Every value, in order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable spelling used on the wire, in storage and on the command line.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Parses the stable spelling (case-insensitive).
            pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
                let wanted = raw.trim().to_ascii_lowercase();
                Self::ALL
                    .iter()
                    .copied()
                    .find(|value| value.as_str().eq_ignore_ascii_case(&wanted))
                    .ok_or_else(|| {
                        let choices: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
                        InvalidValue::new($field, format!("`{}` is not one of {}", raw.trim(), choices.join(", ")))
                    })
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

named_enum!(
    /// How bad it is: `SEV1` is the most severe.
    Severity, "severity" {
        Sev1 => "SEV1",
        Sev2 => "SEV2",
        Sev3 => "SEV3",
        Sev4 => "SEV4",
    }
);

named_enum!(
    /// Where an incident is in its life.
    Status, "status" {
        /// Declared; the cause is not yet known.
        Investigating => "investigating",
        /// The cause is known; a fix or mitigation is under way.
        Identified => "identified",
        /// A fix is in place; watching that it holds.
        Monitoring => "monitoring",
        /// Service is back to normal. Follow-up work may remain.
        Resolved => "resolved",
        /// The post-mortem is done and no follow-up is open (or an override was recorded).
        Closed => "closed",
        /// It turned out not to be an incident.
        CalledOff => "called_off",
        /// Handed back to ordinary support: below the incident bar after all.
        HandedBack => "handed_back",
        /// A candidate a route opened from alerts in triage mode: it waits for a person to
        /// accept it (it becomes an incident), decline it or merge it into another.
        Triage => "triage",
        /// A candidate a person declined: it never was an incident, and no figure counts it.
        Declined => "declined",
        /// A candidate merged into another incident, which took its alerts.
        Merged => "merged",
    }
);

impl Status {
    /// Statuses in which responders are still working to restore service.
    pub fn is_active(self) -> bool {
        matches!(
            self,
            Status::Investigating | Status::Identified | Status::Monitoring
        )
    }

    /// Statuses that end the incident for good: no more roles, operations or status changes.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Status::Closed
                | Status::CalledOff
                | Status::HandedBack
                | Status::Declined
                | Status::Merged
        )
    }

    /// Statuses whose incident still takes alerts: a candidate, or one being worked on.
    pub fn takes_alerts(self) -> bool {
        self.is_active() || self == Status::Triage
    }
}

named_enum!(
    /// A moment of an incident that its durations are measured between, in their order.
    MilestoneName, "milestone" {
        /// The impact began.
        Started => "started",
        /// hereby first knew.
        Detected => "detected",
        /// A person first acted.
        Acknowledged => "acknowledged",
        /// The first move to monitoring.
        Mitigated => "mitigated",
        Resolved => "resolved",
        Closed => "closed",
    }
);

named_enum!(
    /// Who may see an incident.
    Visibility, "visibility" {
        /// Everyone with an account.
        Internal => "internal",
        /// Only the incident's members and admins: security incidents.
        Restricted => "restricted",
        /// Everyone with an account, and the public status page (with its public updates).
        Public => "public",
    }
);

named_enum!(
    /// What a user may do in the whole installation.
    InstallationRole, "role" {
        /// Reads incidents they may see.
        Viewer => "viewer",
        /// Also declares incidents and acts on them.
        Responder => "responder",
        /// Also manages users and settings, and sees every incident.
        Admin => "admin",
    }
);

named_enum!(
    /// What an external link points at.
    LinkKind, "kind" {
        Ticket => "ticket",
        Release => "release",
        PullRequest => "pr",
        Doc => "doc",
        Chat => "chat",
    }
);

named_enum!(
    /// Whether an action item is work during the incident or a longer-term follow-up.
    ActionKind, "kind" {
        /// Work to restore service, tracked during the incident.
        Task => "task",
        /// Long-term work; open follow-ups keep an incident from being closed.
        FollowUp => "follow_up",
    }
);

named_enum!(
    /// Where an action item stands.
    ActionState, "state" {
        Open => "open",
        Done => "done",
        WontFix => "wont_fix",
    }
);

named_enum!(
    /// Where a tracker says a follow-up's issue stands, in hereby's words: done and won't-do
    /// are the two ways an issue is closed (GitHub's `completed` and `not_planned`).
    TrackedState, "state" {
        Open => "open",
        Done => "done",
        WontDo => "wont_do",
    }
);

/// Who owns an action item: a person, or whoever holds a role on the incident.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Owner {
    /// A named user.
    User(UserName),
    /// The holder(s) of a role, resolved when the item is looked at.
    Role(RoleKey),
}

impl Owner {
    /// Parses `role:<key>` as a role owner and anything else as a user name.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        match raw.trim().strip_prefix("role:") {
            Some(role) => RoleKey::parse(role).map(Owner::Role),
            None => UserName::parse(raw).map(Owner::User),
        }
    }
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Owner::User(user) => write!(f, "{user}"),
            Owner::Role(role) => write!(f, "role:{role}"),
        }
    }
}

/// The installation-wide number of an incident, shown as `INC-<n>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct IncidentNumber(pub u64);

impl IncidentNumber {
    /// Parses `INC-7`, `inc-7` or a bare `7`.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let trimmed = raw.trim();
        let digits = trimmed
            .get(..4)
            .filter(|prefix| prefix.eq_ignore_ascii_case("INC-"))
            .map_or(trimmed, |_| &trimmed[4..]);
        match digits.parse::<u64>() {
            Ok(n) if n > 0 && digits.chars().all(|c| c.is_ascii_digit()) => Ok(Self(n)),
            _ => Err(InvalidValue::new(
                "incident",
                format!("`{trimmed}` is not an incident id like INC-7"),
            )),
        }
    }
}

impl fmt::Display for IncidentNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "INC-{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_fields_are_trimmed_bounded_and_single_line_where_needed() {
        assert_eq!(Title::parse("  DB down ").unwrap().as_str(), "DB down");
        assert!(Title::parse("   ").is_err());
        assert!(Title::parse("two\nlines").is_err());
        assert!(Title::parse(&"x".repeat(201)).is_err());
        assert!(Text::parse("two\nlines").is_ok());
        assert!(Text::parse("bell\u{7}").is_err());
    }

    #[test]
    fn slugs_and_ids_parse_strictly() {
        assert!(UserName::parse("alice.smith").is_ok());
        assert!(UserName::parse("Alice").is_err());
        assert!(UserName::parse("-x").is_err());
        assert_eq!(IncidentNumber::parse("inc-7").unwrap(), IncidentNumber(7));
        assert_eq!(IncidentNumber::parse("12").unwrap(), IncidentNumber(12));
        assert!(IncidentNumber::parse("INC-0").is_err());
        assert!(IncidentNumber::parse("INC-+3").is_err());
        assert!(IncidentNumber::parse("INC-").is_err());
        assert_eq!(Severity::parse("sev2").unwrap(), Severity::Sev2);
        assert!(
            Severity::parse("SEV5")
                .unwrap_err()
                .to_string()
                .contains("SEV1, SEV2")
        );
    }

    #[test]
    fn urls_hashes_and_media_types() {
        assert!(Url::parse("https://tracker.example/T-1").is_ok());
        assert!(Url::parse("javascript:alert(1)").is_err());
        assert!(Url::parse("https://").is_err());
        assert!(Url::parse("https://a b").is_err());
        assert!(Sha256Hex::parse(&"AB".repeat(32)).is_ok());
        assert!(Sha256Hex::parse("abc").is_err());
        assert_eq!(
            MediaType::parse("Text/Plain").unwrap().as_str(),
            "text/plain"
        );
        assert!(MediaType::parse("text").is_err());
        assert!(FileName::parse("../etc/passwd").is_err());
        assert_eq!(
            Owner::parse("role:scribe").unwrap(),
            Owner::Role(RoleKey::parse("scribe").unwrap())
        );
    }

    #[test]
    fn stored_values_are_rechecked_on_decode() {
        let bad: Result<Title, _> = serde_json::from_str("\"\"");
        assert!(bad.is_err());
        let good: Severity = serde_json::from_str("\"SEV3\"").unwrap();
        assert_eq!(good, Severity::Sev3);
    }
}

named_enum!(
    /// How a component on the public status page is doing, in the value set of the
    /// Statuspage API.
    ComponentStatus, "component status" {
        /// Working normally.
        Operational => "operational",
        /// Working, but slower or less reliable than usual.
        DegradedPerformance => "degraded_performance",
        /// Failing for some users or some functions.
        PartialOutage => "partial_outage",
        /// Failing for everyone.
        MajorOutage => "major_outage",
        /// Taken down or changed on purpose.
        UnderMaintenance => "under_maintenance",
    }
);

checked_string!(
    /// The name of a message template, such as `first-response`.
    TemplateName,
    |raw| checked_slug("template", raw, 64)
);

checked_string!(
    /// A whole document in Markdown, such as a post-mortem: up to 8,000,000 characters, so that
    /// the timeline of a very long incident fits.
    Document,
    |raw| checked_text("body", raw, 8_000_000, true)
);

named_enum!(
    /// Where a post-mortem is in its review.
    PostmortemStatus, "post-mortem status" {
        /// Being written; its owner submits it for review.
        Draft => "draft",
        /// Reviewers comment and approve; edits clear earlier approvals.
        InReview => "in_review",
        /// The review owner accepted it after at least one approval.
        Reviewed => "reviewed",
        /// Shared as the lasting record; no longer edited.
        Published => "published",
    }
);

named_enum!(
    /// How a timeline entry appears in the post-mortem's timeline.
    EntryMark, "mark" {
        /// Shown as usual.
        Plain => "plain",
        /// Shown and highlighted as a key moment.
        Starred => "starred",
        /// Left out.
        Excluded => "excluded",
    }
);

named_enum!(
    /// What a review meeting decided about one follow-up.
    ReviewDecision, "decision" {
        /// The work is done.
        Done => "done",
        /// The work will not be done, for a stated reason.
        WontFix => "wont_fix",
        /// Still open, with a new due date.
        Open => "open",
    }
);

named_enum!(
    /// How much a service matters, from a service catalogue entry: `critical` is the most.
    Criticality, "criticality" {
        Critical => "critical",
        High => "high",
        Normal => "normal",
        Low => "low",
    }
);

impl Criticality {
    /// Whether this criticality is `other` or more critical. `Critical` is declared first, so
    /// the derived order puts the most critical lowest.
    pub fn at_least(self, other: Criticality) -> bool {
        self <= other
    }
}

named_enum!(
    /// The rungs of the follow-up decision, from least to most perturbation: pick the lowest
    /// one that works.
    FollowUpOption, "option" {
        /// Hand the problem back to normal support.
        DoNothing => "do_nothing",
        /// Tell the affected users about the problem and its workaround.
        InformationBroadcast => "information_broadcast",
        /// Go back to the release before the one that introduced the fault.
        RollBack => "roll_back",
        /// Ship a fix outside the normal release cycle.
        FastTrackedRelease => "fast_tracked_release",
    }
);

checked_string!(
    /// A released version of a service, as the release pipeline names it (`3.4.1`,
    /// `2024-05-01.2`, `v7+build.5`, or `UPDATE 40` where releases have names): one line of
    /// up to 100 characters, runs of spaces inside kept as one.
    ReleaseVersion,
    |raw| {
        checked_text("version", raw, 100, false)
            .map(|version| version.split_whitespace().collect::<Vec<_>>().join(" "))
    }
);

checked_string!(
    /// A site or region affected by an incident, such as `eu-west` or `Stockholm office`.
    Site,
    |raw| checked_text("site", raw, 100, false)
);

checked_string!(
    /// A word a post-mortem is filed under in the library, such as `database` or
    /// `missing-alert`: lowercase letters, digits, `.`, `_` and `-`, up to 50 characters (read
    /// in lowercase).
    Tag,
    |raw| checked_slug("tag", &raw.trim().to_lowercase(), 50)
);

checked_string!(
    /// The name of a team that owns a service, such as `payments`.
    TeamName,
    |raw| checked_text("team", raw, 100, false)
);

named_enum!(
    /// Where an announced intent to change something stands.
    IntentState, "intent state" {
        /// Announced, not yet carried out.
        Open => "open",
        /// Carried out: an operation was recorded for it.
        Done => "done",
        /// Not carried out after all.
        Abandoned => "abandoned",
    }
);
