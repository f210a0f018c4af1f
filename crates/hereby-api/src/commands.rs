//! Requests made into core commands: the one parser of incident commands. The JSON API and
//! the web UI's forms deserialize into the same request types and turn them into a
//! [`Command`] here (`Command::try_from(request)`), so a field is checked the same way
//! whichever edge it came through. Commands that also name something in the path (an action
//! item, an intent, a role holder) take it as a second argument.

use hereby_core::Command;
use hereby_core::types::{
    ActionKind, Audience, EntryMark, InvalidValue, LinkKind, Owner, Reason, RoleKey, ServiceName,
    Severity, Status, Target, Text, Title, Url, UserName, Visibility,
};
use jiff::Timestamp;
use jiff::civil::Date;

use crate::{
    ActionItemChange, ActionItemRequest, DeclareRequest, HandoffRequest, ImpactRequest,
    IntentAbandon, IntentDone, IntentRequest, LinkRequest, MarkRequest, MemberRequest,
    MilestoneRequest, NoteRequest, OperationRequest, PublicSummaryRequest, ReasonRequest,
    RoleRequest, SeverityRequest, StatusRequest, UpdateRequest, VisibilityRequest, WitnessRule,
};

/// Why a request cannot be made into a command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// A value is not acceptable.
    #[error(transparent)]
    Invalid(#[from] InvalidValue),
    /// The command needs a reason and none was given; says what the reason is for.
    #[error("give a reason: {0}")]
    ReasonRequired(&'static str),
}

/// A text that may be left out: absent and blank are the same (a form's empty field).
fn optional<T>(
    raw: Option<&str>,
    parse: impl Fn(&str) -> Result<T, InvalidValue>,
) -> Result<Option<T>, InvalidValue> {
    raw.map(str::trim)
        .filter(|raw| !raw.is_empty())
        .map(parse)
        .transpose()
}

fn reason(raw: Option<&str>) -> Result<Option<Reason>, InvalidValue> {
    optional(raw, Reason::parse)
}

fn required_reason(raw: Option<&str>, why: &'static str) -> Result<Reason, RequestError> {
    reason(raw)?.ok_or(RequestError::ReasonRequired(why))
}

fn date(raw: &str) -> Result<Date, InvalidValue> {
    raw.parse()
        .map_err(|_| InvalidValue::new("due", format!("`{raw}` is not a date like 2026-12-01")))
}

/// The text an incident list is searched for: trimmed, absent when blank, at most 200
/// characters and free of control characters (a NUL would reach the database).
pub fn search_text(raw: Option<&str>) -> Result<Option<String>, InvalidValue> {
    let Some(text) = raw.map(str::trim).filter(|text| !text.is_empty()) else {
        return Ok(None);
    };
    if text.chars().any(char::is_control) {
        return Err(InvalidValue::new(
            "q",
            "must be a single line without control characters",
        ));
    }
    if text.chars().count() > 200 {
        return Err(InvalidValue::new("q", "must be at most 200 characters"));
    }
    Ok(Some(text.to_owned()))
}

/// A time in RFC 3339, or a date and time without an offset (what a browser's
/// `datetime-local` field sends), read as UTC.
pub fn time(field: &'static str) -> impl Fn(&str) -> Result<Timestamp, InvalidValue> {
    move |raw| {
        raw.parse::<Timestamp>()
            .or_else(|_| {
                raw.parse::<jiff::civil::DateTime>()
                    .and_then(|local| local.to_zoned(jiff::tz::TimeZone::UTC))
                    .map(|zoned| zoned.timestamp())
            })
            .map_err(|_| {
                InvalidValue::new(
                    field,
                    format!("`{raw}` is not a time like 2026-11-21T09:30:00Z"),
                )
            })
    }
}

impl TryFrom<DeclareRequest> for Command {
    type Error = RequestError;

    fn try_from(request: DeclareRequest) -> Result<Self, Self::Error> {
        Ok(Command::Declare {
            title: Title::parse(&request.title)?,
            summary: optional(request.summary.as_deref(), Text::parse)?,
            public_summary: optional(request.public_summary.as_deref(), Text::parse)?,
            severity: optional(request.severity.as_deref(), Severity::parse)?
                .unwrap_or(Severity::Sev3),
            potential: request.potential,
            services: ServiceName::parse_list(request.services.iter().map(String::as_str))?,
            visibility: optional(request.visibility.as_deref(), Visibility::parse)?
                .unwrap_or(Visibility::Internal),
            triage: false,
        })
    }
}

impl TryFrom<PublicSummaryRequest> for Command {
    type Error = RequestError;

    fn try_from(request: PublicSummaryRequest) -> Result<Self, Self::Error> {
        Ok(Command::SetPublicSummary {
            text: optional(request.text.as_deref(), Text::parse)?,
        })
    }
}

impl TryFrom<NoteRequest> for Command {
    type Error = RequestError;

    fn try_from(request: NoteRequest) -> Result<Self, Self::Error> {
        Ok(Command::AddNote {
            text: Text::parse(&request.text)?,
        })
    }
}

impl TryFrom<UpdateRequest> for Command {
    type Error = RequestError;

    fn try_from(request: UpdateRequest) -> Result<Self, Self::Error> {
        Ok(Command::PostUpdate {
            audience: Audience::parse(&request.audience)?,
            body: Text::parse(&request.body)?,
            public: request.public,
            quiet: request.quiet,
        })
    }
}

impl TryFrom<VisibilityRequest> for Command {
    type Error = RequestError;

    fn try_from(request: VisibilityRequest) -> Result<Self, Self::Error> {
        Ok(Command::ChangeVisibility {
            to: Visibility::parse(&request.visibility)?,
            reason: Reason::parse(&request.reason)?,
        })
    }
}

impl TryFrom<RoleRequest> for Command {
    type Error = RequestError;

    /// Gives the role to the person.
    fn try_from(request: RoleRequest) -> Result<Self, Self::Error> {
        Ok(Command::AssignRole {
            role: RoleKey::parse(&request.role)?,
            person: UserName::parse(&request.person)?,
        })
    }
}

impl RoleRequest {
    /// Relieves the person of the role.
    pub fn unassign(self) -> Result<Command, RequestError> {
        Ok(Command::UnassignRole {
            role: RoleKey::parse(&self.role)?,
            person: UserName::parse(&self.person)?,
        })
    }
}

impl TryFrom<HandoffRequest> for Command {
    type Error = RequestError;

    fn try_from(request: HandoffRequest) -> Result<Self, Self::Error> {
        Ok(Command::RequestHandoff {
            to: UserName::parse(&request.to)?,
        })
    }
}

impl ReasonRequest {
    /// Declines a hand-off offered to the caller, optionally saying why.
    pub fn decline_handoff(self) -> Result<Command, RequestError> {
        Ok(Command::DeclineHandoff {
            reason: reason(self.reason.as_deref())?,
        })
    }

    /// Declines a candidate from alerts, which needs a reason.
    pub fn decline_candidate(self) -> Result<Command, RequestError> {
        Ok(Command::DeclineCandidate {
            reason: required_reason(self.reason.as_deref(), "why it is not an incident")?,
        })
    }

    /// Moves the incident to `to` (resolved, called off, handed back), with the reason if
    /// one was given: the core says when one is needed.
    pub fn change_status(self, to: Status) -> Result<Command, RequestError> {
        Ok(Command::ChangeStatus {
            to,
            reason: reason(self.reason.as_deref())?,
            override_close_checks: false,
        })
    }

    /// Marks action item `item` as not to be done, which needs a reason.
    pub fn wont_fix(self, item: u32) -> Result<Command, RequestError> {
        Ok(Command::WontFixActionItem {
            item,
            reason: required_reason(self.reason.as_deref(), "why it will not be done")?,
        })
    }
}

impl TryFrom<SeverityRequest> for Command {
    type Error = RequestError;

    fn try_from(request: SeverityRequest) -> Result<Self, Self::Error> {
        Ok(Command::ChangeSeverity {
            severity: Severity::parse(&request.severity)?,
            potential: request.potential,
            reason: Reason::parse(&request.reason)?,
        })
    }
}

impl TryFrom<StatusRequest> for Command {
    type Error = RequestError;

    fn try_from(request: StatusRequest) -> Result<Self, Self::Error> {
        Ok(Command::ChangeStatus {
            to: Status::parse(&request.status)?,
            reason: reason(request.reason.as_deref())?,
            override_close_checks: request.override_close_checks,
        })
    }
}

impl TryFrom<ImpactRequest> for Command {
    type Error = RequestError;

    fn try_from(request: ImpactRequest) -> Result<Self, Self::Error> {
        Ok(Command::SetImpactWindow {
            start: optional(request.start.as_deref(), time("start"))?,
            end: optional(request.end.as_deref(), time("end"))?,
        })
    }
}

impl TryFrom<MilestoneRequest> for Command {
    type Error = RequestError;

    fn try_from(request: MilestoneRequest) -> Result<Self, Self::Error> {
        Ok(Command::SetMilestone {
            milestone: hereby_core::types::MilestoneName::parse(&request.milestone)?,
            at: time("at")(&request.at)?,
            reason: required_reason(Some(&request.reason), "setting a milestone")?,
        })
    }
}

impl TryFrom<OperationRequest> for Command {
    type Error = RequestError;

    fn try_from(request: OperationRequest) -> Result<Self, Self::Error> {
        Ok(Command::RecordOperation {
            target: Target::parse(&request.target)?,
            action: Text::parse(&request.action)?,
            command: optional(request.command.as_deref(), Text::parse)?,
            witness: optional(request.witness.as_deref(), UserName::parse)?,
        })
    }
}

impl TryFrom<LinkRequest> for Command {
    type Error = RequestError;

    fn try_from(request: LinkRequest) -> Result<Self, Self::Error> {
        Ok(Command::AddLink {
            kind: LinkKind::parse(&request.kind)?,
            url: Url::parse(&request.url)?,
            title: optional(request.title.as_deref(), Title::parse)?,
        })
    }
}

impl TryFrom<ActionItemRequest> for Command {
    type Error = RequestError;

    fn try_from(request: ActionItemRequest) -> Result<Self, Self::Error> {
        Ok(Command::AddActionItem {
            text: Text::parse(&request.text)?,
            owner: Owner::parse(&request.owner)?,
            due: optional(request.due.as_deref(), date)?,
            kind: optional(request.kind.as_deref(), ActionKind::parse)?.unwrap_or(ActionKind::Task),
            tracker_url: optional(request.tracker_url.as_deref(), Url::parse)?,
        })
    }
}

impl ActionItemChange {
    /// Changes action item `item`'s owner, due date or tracker link (absent ones stay).
    pub fn command(self, item: u32) -> Result<Command, RequestError> {
        Ok(Command::UpdateActionItem {
            item,
            owner: optional(self.owner.as_deref(), Owner::parse)?,
            due: optional(self.due.as_deref(), date)?,
            tracker_url: optional(self.tracker_url.as_deref(), Url::parse)?,
        })
    }
}

impl MemberRequest {
    /// Gives the person access to the incident.
    pub fn add(self) -> Result<Command, RequestError> {
        Ok(Command::AddMember {
            person: UserName::parse(&self.person)?,
        })
    }

    /// Takes the person's membership away.
    pub fn remove(self) -> Result<Command, RequestError> {
        Ok(Command::RemoveMember {
            person: UserName::parse(&self.person)?,
        })
    }
}

impl TryFrom<IntentRequest> for Command {
    type Error = RequestError;

    fn try_from(request: IntentRequest) -> Result<Self, Self::Error> {
        Ok(Command::AnnounceIntent {
            target: Target::parse(&request.target)?,
            action: Text::parse(&request.action)?,
            witness: optional(request.witness.as_deref(), UserName::parse)?,
        })
    }
}

impl IntentDone {
    /// Records announced intent `intent` as carried out.
    pub fn command(self, intent: u32) -> Result<Command, RequestError> {
        Ok(Command::CompleteIntent {
            intent,
            command: optional(self.command.as_deref(), Text::parse)?,
            witness: optional(self.witness.as_deref(), UserName::parse)?,
        })
    }
}

impl IntentAbandon {
    /// Records announced intent `intent` as dropped.
    pub fn command(self, intent: u32) -> Result<Command, RequestError> {
        Ok(Command::AbandonIntent {
            intent,
            reason: reason(self.reason.as_deref())?,
        })
    }
}

impl TryFrom<WitnessRule> for Command {
    type Error = RequestError;

    fn try_from(request: WitnessRule) -> Result<Self, Self::Error> {
        Ok(Command::RequireWitness {
            required: request.required,
        })
    }
}

impl MarkRequest {
    /// Stars timeline entry `sequence`, excludes it from the post-mortem, or makes it plain.
    pub fn command(self, sequence: u64) -> Result<Command, RequestError> {
        Ok(Command::MarkTimelineEntry {
            sequence,
            mark: EntryMark::parse(&self.mark)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_optional_fields_are_absent_and_required_ones_are_checked() {
        let command = Command::try_from(OperationRequest {
            target: "db-1".into(),
            action: "restarted".into(),
            command: Some("  ".into()),
            witness: Some(String::new()),
        })
        .unwrap();
        assert!(matches!(
            command,
            Command::RecordOperation {
                command: None,
                witness: None,
                ..
            }
        ));
        let refused = Command::try_from(NoteRequest { text: "  ".into() }).unwrap_err();
        assert!(matches!(refused, RequestError::Invalid(ref invalid) if invalid.field == "text"));
        let refused = ReasonRequest { reason: None }.wont_fix(1).unwrap_err();
        assert_eq!(
            refused,
            RequestError::ReasonRequired("why it will not be done")
        );
    }

    #[test]
    fn times_are_rfc_3339_or_a_browser_s_local_time_read_as_utc() {
        let parse = time("start");
        assert_eq!(
            parse("2026-11-21T09:30:00Z").unwrap(),
            parse("2026-11-21T09:30").unwrap()
        );
        assert!(parse("yesterday").is_err());
    }
}
