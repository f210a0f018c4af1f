//! Commands: what a responder asks for, already parsed into checked values.

use jiff::Timestamp;
use jiff::civil::Date;

use crate::event::{AlertGroupRef, FollowUpOutcome};
use crate::ladder::{ReleaseFacts, ReleaseRef};
use crate::roles::RoleCatalogue;
use crate::severity::{Checklist, SeverityRules};
use crate::types::{
    ActionKind, Audience, Document, EntryMark, FileName, FollowUpOption, LinkKind, MediaType,
    Owner, Reason, RoleKey, ServiceName, Severity, Sha256Hex, Status, Target, TemplateName, Text,
    Title, TrackedState, TrackerName, Url, UserName, Visibility,
};

/// Everything a responder can ask of an incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Open a new incident; the actor becomes Incident Commander.
    Declare {
        title: Title,
        summary: Option<Text>,
        /// What customers may read about the incident, in their words; templates and the
        /// status page use it instead of the internal summary.
        public_summary: Option<Text>,
        severity: Severity,
        potential: bool,
        services: Vec<ServiceName>,
        visibility: Visibility,
        /// A candidate: a route in triage mode opened it from alerts, and a person accepts,
        /// declines or merges it.
        triage: bool,
    },
    /// Accept a candidate: it becomes an incident under investigation, and the actor its
    /// Incident Commander.
    AcceptCandidate,
    /// Decline a candidate: it was not an incident, and no figure counts it.
    DeclineCandidate { reason: Reason },
    /// Merge a candidate into another incident (the application moves its alert groups).
    MergeCandidate { into: crate::types::IncidentNumber },
    /// Give `person` a role. For a single-holder role held by someone else, the previous holder
    /// is relieved in the same step. The IC role changes hands only through a hand-off.
    AssignRole { role: RoleKey, person: UserName },
    /// Take a role away from `person`.
    UnassignRole { role: RoleKey, person: UserName },
    /// Take command of an incident nobody commands (one a route opened from alerts): the
    /// actor becomes Incident Commander. Where someone commands, command changes hands only by
    /// hand-off.
    TakeCommand,
    /// Attach an alert group to the incident: by the system when a route opened the incident
    /// from it, or by a person saying these alerts belong here.
    AttachAlertGroup { group: AlertGroupRef },
    /// Put on the timeline what the alerts of an attached group did (the system only).
    NoteAlerts {
        group: u64,
        fired: Vec<Text>,
        resolved: Vec<Text>,
        /// Every alert of the group has resolved.
        all_resolved: bool,
    },
    /// The IC asks `to` to take over command. Nothing changes until `to` accepts.
    RequestHandoff { to: UserName },
    /// The person named in the pending request takes over command.
    AcceptHandoff,
    /// The person named in the pending request says no.
    DeclineHandoff { reason: Option<Reason> },
    /// The IC withdraws the pending request.
    CancelHandoff,
    /// Re-evaluate severity and/or the potential flag.
    ChangeSeverity {
        severity: Severity,
        /// Whether the problem is only potential (not hurting anyone yet); unchanged when
        /// `None`.
        potential: Option<bool>,
        reason: Reason,
    },
    /// Move the status. `called_off`, `handed_back` and reopening a resolved incident need a
    /// reason; closing over open follow-ups needs `override_close_checks` and a reason.
    ChangeStatus {
        to: Status,
        reason: Option<Reason>,
        override_close_checks: bool,
    },
    /// Record when the impact started and ended.
    SetImpactWindow {
        start: Option<Timestamp>,
        end: Option<Timestamp>,
    },
    /// Set a milestone's time by hand (the Incident Commander, saying why), over the time
    /// derived from the timeline; validated against the order of the milestones.
    SetMilestone {
        milestone: crate::types::MilestoneName,
        at: Timestamp,
        reason: Reason,
    },
    /// Set (or clear, with `None`) the summary written for customers.
    SetPublicSummary { text: Option<Text> },
    /// Add a free-text note to the timeline.
    AddNote { text: Text },
    /// Record a change made to production: on what, what was done, the command used, and who
    /// agreed to it as witness.
    RecordOperation {
        target: Target,
        action: Text,
        command: Option<Text>,
        witness: Option<UserName>,
    },
    /// Say what you are about to change before changing it.
    AnnounceIntent {
        target: Target,
        action: Text,
        witness: Option<UserName>,
    },
    /// Carry out an announced intent: it becomes an operation.
    CompleteIntent {
        intent: u32,
        command: Option<Text>,
        witness: Option<UserName>,
    },
    /// Drop an announced intent without changing anything.
    AbandonIntent { intent: u32, reason: Option<Reason> },
    /// The IC requires (or stops requiring) a witness for operations on SEV1 and SEV2.
    RequireWitness { required: bool },
    /// The IC acknowledges the changes so far, and any collision among them.
    AcknowledgeChanges,
    /// Put on the timeline that the Incident Commander tried to do operations work (which was
    /// refused). Recorded by the edge after refusing the operation.
    NoteOperationAttempt { target: Target, action: Text },
    /// Answer the severity checklist; the rules suggest a severity, and `chosen` (the
    /// suggestion when absent) becomes the incident's severity. A choice that differs from
    /// the suggestion needs a reason.
    EvaluateSeverity {
        checklist: Checklist,
        chosen: Option<Severity>,
        reason: Option<Reason>,
    },
    /// Name the release suspected of introducing the fault, or clear it.
    SetSuspectRelease {
        release: Option<ReleaseRef>,
        reason: Option<Reason>,
    },
    /// Take the task force's follow-up decision, with its motivation. `facts` is what the
    /// release record says about the suspect release's service.
    RecordDecision {
        option: FollowUpOption,
        motivation: Reason,
        facts: ReleaseFacts,
    },
    /// Link an external ticket, release, pull request, document or chat.
    AddLink {
        kind: LinkKind,
        url: Url,
        title: Option<Title>,
    },
    /// Record an attached piece of evidence.
    AttachEvidence {
        name: FileName,
        media_type: MediaType,
        size: u64,
        sha256: Sha256Hex,
    },
    /// Add an action item.
    AddActionItem {
        text: Text,
        owner: Owner,
        due: Option<Date>,
        kind: ActionKind,
        tracker_url: Option<Url>,
    },
    /// Change an action item's owner, due date or tracker link.
    UpdateActionItem {
        item: u32,
        owner: Option<Owner>,
        due: Option<Date>,
        tracker_url: Option<Url>,
    },
    /// Mark an open action item done.
    CompleteActionItem { item: u32 },
    /// Decide not to do an open action item, saying why.
    WontFixActionItem { item: u32, reason: Reason },
    /// Open a done or won't-fix action item again.
    ReopenActionItem { item: u32 },
    /// Ask for an open follow-up to be opened as an issue in a tracker (a tracker channel's
    /// name); from then on the tracker says where it stands.
    ExportActionItem { item: u32, tracker: TrackerName },
    /// Record the issue a tracker made for a follow-up (hereby itself, once it answered).
    RecordExport {
        item: u32,
        tracker: TrackerName,
        key: Text,
        url: Url,
    },
    /// Record where the tracker says a follow-up's issue stands (hereby itself, from the
    /// tracker's webhook or its reconcile poll), with the tracker's reason for closing it.
    ReportTrackerState {
        item: u32,
        state: TrackedState,
        reason: Option<Reason>,
    },
    /// Stop following a follow-up's tracker issue (deleted, moved), saying why; its state is
    /// kept in hereby again.
    UnlinkTracker { item: u32, reason: Reason },
    /// Post a stakeholder update to an audience; a public one also shows on the status page,
    /// which needs the incident to be public.
    PostUpdate {
        audience: Audience,
        body: Text,
        public: bool,
        /// Shown publicly without telling the status page's subscribers.
        quiet: bool,
    },
    /// Change who may see the incident, saying why.
    ChangeVisibility { to: Visibility, reason: Reason },
    /// Give someone access to the incident without a role (matters for restricted incidents).
    AddMember { person: UserName },
    /// Remove an explicitly added member.
    RemoveMember { person: UserName },
    /// Start the post-mortem from a draft written from the timeline (by the edge, with a
    /// template). Only once the incident is no longer being responded to.
    DraftPostmortem {
        template: TemplateName,
        body: Document,
    },
    /// Save a new revision of the post-mortem. With `base_revision`, the edit is refused if
    /// someone else saved in between.
    RevisePostmortem {
        body: Document,
        base_revision: Option<u32>,
        comment: Option<Reason>,
    },
    /// Hand running the review to someone else (the owner or the Incident Commander).
    DelegatePostmortem { to: UserName },
    /// The owner asks for reviews.
    SubmitPostmortem,
    /// A reviewer comments on the current revision.
    CommentPostmortem { text: Text },
    /// File the post-mortem in the library under `tags` (what it is about) and the
    /// contributing `factors` it names, replacing the earlier ones; allowed at any stage,
    /// published included, since filing does not change what the post-mortem says.
    TagPostmortem {
        tags: Vec<crate::types::Tag>,
        factors: Vec<crate::types::Tag>,
    },
    /// A reviewer (not the owner) approves the current revision.
    ApprovePostmortem,
    /// The owner ends the review, once someone approved the current revision and nothing the
    /// linter finds remains (or the owner overrides it with a reason).
    MarkPostmortemReviewed { gate: crate::review::ReviewGate },
    /// The owner publishes the reviewed post-mortem, under the same gate.
    PublishPostmortem { gate: crate::review::ReviewGate },
    /// Star a timeline entry, leave it out of the post-mortem's timeline, or make it plain.
    MarkTimelineEntry { sequence: u64, mark: EntryMark },
    /// Set or move the next review meeting.
    ScheduleReviewMeeting { at: Timestamp },
    /// Record a review meeting: who came, and what became of each follow-up discussed. The
    /// next meeting is scheduled while any follow-up stays open.
    RecordReviewMeeting {
        attendees: Vec<UserName>,
        notes: Option<Text>,
        outcomes: Vec<FollowUpOutcome>,
        /// When the meeting took place, for one recorded afterwards; `None` for now.
        held_at: Option<Timestamp>,
    },
}

impl Command {
    /// The people a command puts to work or lets in (a role holder, a hand-off's recipient, a
    /// witness, an owner, a member, attendees), each of whom must be a user of the
    /// installation. People a command only lets go of (unassigning, removing a member) are
    /// not listed: someone since disabled can still be relieved.
    pub fn people(&self) -> Vec<&UserName> {
        match self {
            Command::AssignRole { person, .. } | Command::AddMember { person } => vec![person],
            Command::RequestHandoff { to } | Command::DelegatePostmortem { to } => vec![to],
            Command::RecordOperation { witness, .. }
            | Command::AnnounceIntent { witness, .. }
            | Command::CompleteIntent { witness, .. } => witness.iter().collect(),
            Command::AddActionItem {
                owner: Owner::User(owner),
                ..
            }
            | Command::UpdateActionItem {
                owner: Some(Owner::User(owner)),
                ..
            } => vec![owner],
            Command::RecordReviewMeeting { attendees, .. } => attendees.iter().collect(),
            _ => Vec::new(),
        }
    }
}

/// The installation's rules that commands are decided with: the roles in use and how often
/// post-mortem review meetings recur.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub roles: RoleCatalogue,
    /// From resolution to the first review meeting, and from each meeting to the next while
    /// follow-ups stay open.
    pub review_interval: jiff::SignedDuration,
    /// The rules that suggest a severity from the checklist.
    pub severity_rules: SeverityRules,
    /// Changes by two people this close together collide.
    pub collision_window: jiff::SignedDuration,
    /// How long a SEV1 or SEV2 may go without operations and communications holders before
    /// the page flags it.
    pub staffing_grace: jiff::SignedDuration,
    /// Who may do what on an incident.
    pub permissions: crate::permissions::Permissions,
    /// The local time of day review meetings are planned at (when the interval is a day or
    /// more), as an offset from UTC and a time: the meeting falls on the working day (Monday
    /// to Friday) the interval reaches, at that time.
    pub review_time: ReviewTime,
}

/// A time of day in a fixed offset from UTC, e.g. 10:00 at +01:00.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReviewTime {
    pub time: jiff::civil::Time,
    pub offset: jiff::tz::Offset,
}

impl ReviewTime {
    /// Reads `10:00`, `10:00Z`, `10:00+01:00` or `14:30-05:00`.
    pub fn parse(raw: &str) -> Result<Self, crate::types::InvalidValue> {
        let raw = raw.trim();
        let invalid = || {
            crate::types::InvalidValue::new(
                "review_time",
                format!("`{raw}` is not a time of day like 10:00 or 10:00+01:00"),
            )
        };
        let (time, offset) = match raw.find(['+', '-']) {
            Some(at) => (&raw[..at], &raw[at..]),
            None => (raw.trim_end_matches(['Z', 'z']), "+00:00"),
        };
        let time: jiff::civil::Time = time.parse().map_err(|_| invalid())?;
        let sign = if offset.starts_with('-') { -1 } else { 1 };
        let (hours, minutes) = offset[1..].split_once(':').ok_or_else(invalid)?;
        let hours: i32 = hours.parse().map_err(|_| invalid())?;
        let minutes: i32 = minutes.parse().map_err(|_| invalid())?;
        if !(0..=14).contains(&hours) || !(0..60).contains(&minutes) {
            return Err(invalid());
        }
        let offset = jiff::tz::Offset::from_seconds(sign * (hours * 3600 + minutes * 60))
            .map_err(|_| invalid())?;
        Ok(Self { time, offset })
    }

    /// The meeting time for an interval that reaches `reached`: that day (or the Monday after
    /// a weekend) at this time of day.
    pub fn on_working_day(self, reached: Timestamp) -> Timestamp {
        let local = reached.to_zoned(jiff::tz::TimeZone::fixed(self.offset));
        let mut date = local.date();
        while matches!(
            date.weekday(),
            jiff::civil::Weekday::Saturday | jiff::civil::Weekday::Sunday
        ) {
            date = date.tomorrow().unwrap_or(date);
        }
        date.to_datetime(self.time)
            .to_zoned(jiff::tz::TimeZone::fixed(self.offset))
            .map(|zoned| zoned.timestamp())
            .unwrap_or(reached)
    }
}

impl Default for ReviewTime {
    /// 10:00 UTC.
    fn default() -> Self {
        Self {
            time: jiff::civil::Time::constant(10, 0, 0, 0),
            offset: jiff::tz::Offset::UTC,
        }
    }
}

impl Policy {
    /// Thirty days between review meetings, as the source practice recommends.
    pub const DEFAULT_REVIEW_INTERVAL: jiff::SignedDuration =
        jiff::SignedDuration::from_hours(30 * 24);
    /// Ten minutes, as the issue of change collisions suggests.
    pub const DEFAULT_COLLISION_WINDOW: jiff::SignedDuration = jiff::SignedDuration::from_mins(10);
    /// Fifteen minutes to staff a serious incident.
    pub const DEFAULT_STAFFING_GRACE: jiff::SignedDuration = jiff::SignedDuration::from_mins(15);
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            roles: RoleCatalogue::default(),
            review_interval: Self::DEFAULT_REVIEW_INTERVAL,
            severity_rules: SeverityRules::default(),
            collision_window: Self::DEFAULT_COLLISION_WINDOW,
            staffing_grace: Self::DEFAULT_STAFFING_GRACE,
            permissions: crate::permissions::Permissions::default(),
            review_time: ReviewTime::default(),
        }
    }
}

/// What `decide` needs besides the state and the command: who asks, when, and the
/// installation's policy.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub now: Timestamp,
    pub actor: &'a UserName,
    pub policy: &'a Policy,
}
