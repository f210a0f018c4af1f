//! Events: the facts an incident's stream is made of, and their persisted format.
//!
//! Each event type has a stable name and an `event_version`. The body of a stored event is the
//! canonical JSON of the type's payload struct. Changing a payload in a way that alters its JSON
//! means a new version and a decoding rule for the old one; the snapshot test in `tests` pins
//! today's format so that such a change cannot happen by accident.

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::canonical::canonical_json;
use crate::ladder::ReleaseRef;
use crate::severity::Checklist;
use crate::types::{
    ActionKind, Audience, Document, EntryMark, FileName, FollowUpOption, LinkKind, MediaType,
    Owner, Reason, ReviewDecision, RoleKey, ServiceName, Severity, Sha256Hex, Status, Target,
    TemplateName, Text, Title, TrackerName, Url, UserName, Visibility,
};

/// The incident was declared. Always the first event of a stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentDeclared {
    pub title: Title,
    pub summary: Option<Text>,
    /// The summary written for customers. Absent before public summaries existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_summary: Option<Text>,
    pub severity: Severity,
    /// The problem may happen but is not (yet) hurting anyone.
    pub potential: bool,
    pub services: Vec<ServiceName>,
    pub visibility: Visibility,
    /// The declarer, who becomes Incident Commander.
    pub commander: UserName,
    /// A candidate (a route in triage mode opened it): it waits for a person to accept,
    /// decline or merge it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub triage: bool,
}

/// A candidate was merged into another incident, which took its alerts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentMerged {
    pub into: crate::types::IncidentNumber,
}

/// An alert group, as an incident's timeline names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertGroupRef {
    pub id: u64,
    /// The route that grouped its alerts.
    pub route: Text,
    /// Its key as people read it: `alertname="HighLatency", service="checkout"`.
    pub label: Text,
    /// Its first alert's summary.
    pub title: Text,
    /// Why its alerts are together: the route, the key, the window.
    pub why: Text,
}

/// An alert group was attached to the incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertGroupAttached {
    pub group: AlertGroupRef,
}

/// Alerts of an attached group fired or resolved (duplicates are not repeated here; the
/// group keeps their count).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertsNoted {
    pub group: u64,
    pub fired: Vec<Text>,
    pub resolved: Vec<Text>,
    pub all_resolved: bool,
}

/// Someone took on a role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleAssigned {
    pub role: RoleKey,
    pub person: UserName,
}

/// Someone gave up a role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleUnassigned {
    pub role: RoleKey,
    pub person: UserName,
}

/// The Incident Commander asked someone to take over command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandoffRequested {
    pub from: UserName,
    pub to: UserName,
}

/// The named person confirmed they are able and willing: command changed hands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandoffAccepted {
    pub from: UserName,
    pub to: UserName,
}

/// The named person declined to take over command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandoffDeclined {
    pub to: UserName,
    pub reason: Option<Reason>,
}

/// The Incident Commander withdrew a pending hand-off request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandoffCancelled {
    pub to: UserName,
}

/// The severity (or the potential flag) was re-evaluated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeverityChanged {
    pub from: Severity,
    pub to: Severity,
    pub potential: bool,
    pub reason: Reason,
}

/// The status moved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusChanged {
    pub from: Status,
    pub to: Status,
    pub reason: Option<Reason>,
    /// Follow-up items that were still open when the incident was closed by override.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overridden_follow_ups: Vec<u32>,
    /// The incident was closed by override without a reviewed post-mortem.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub overrode_postmortem: bool,
}

/// When the impact started and ended, as opposed to when it was reported or declared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImpactWindowSet {
    pub start: Option<Timestamp>,
    pub end: Option<Timestamp>,
}

/// The summary written for customers was set, changed or (`None`) cleared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicSummarySet {
    pub text: Option<Text>,
}

/// The Incident Commander set a milestone's time by hand, saying why; it stands over the
/// time derived from the timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MilestoneSet {
    pub milestone: crate::types::MilestoneName,
    pub at: Timestamp,
    pub reason: Reason,
}

/// A free-text timeline entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoteAdded {
    pub text: Text,
}

/// Someone changed something in production.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperationRecorded {
    pub target: Target,
    pub action: Text,
    pub command: Option<Text>,
    /// The announced intent this operation carried out. Absent before intents existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intent: Option<u32>,
    /// Who agreed to the change and watched it being made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub witness: Option<UserName>,
}

/// Someone said what they are about to change, before changing it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntentAnnounced {
    /// Intents are numbered per incident from 1.
    pub intent: u32,
    pub target: Target,
    pub action: Text,
    pub witness: Option<UserName>,
}

/// An announced intent was dropped without changing anything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntentAbandoned {
    pub intent: u32,
    pub reason: Option<Reason>,
}

/// The Incident Commander started or stopped requiring a witness for operations on SEV1 and
/// SEV2.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WitnessRuleChanged {
    pub required: bool,
}

/// Two people changed (or announced changes to) production within the collision window: a
/// recovery cannot be attributed to either change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeCollisionFlagged {
    /// Collisions are numbered per incident from 1.
    pub collision: u32,
    /// Stream sequences of the earlier and the later change.
    pub earlier: u64,
    pub later: u64,
    pub earlier_by: UserName,
    pub earlier_target: Target,
    /// The later change's target; its author is the event's actor.
    pub target: Target,
}

/// The Incident Commander acknowledged the changes so far; collisions listed are settled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangesAcknowledged {
    pub collisions: Vec<u32>,
}

/// Service recovered within the window of these collisions: the cause is unattributed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryUnattributed {
    pub collisions: Vec<u32>,
}

/// The Incident Commander tried to record operations work, which was refused: they
/// coordinate, others operate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IcOperationAttempted {
    pub target: Target,
    pub action: Text,
}

/// The severity checklist was answered; the rules suggested a severity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeverityEvaluated {
    pub checklist: Checklist,
    pub suggested: Severity,
    /// The rule that fired, or `default`.
    pub rule: String,
    pub chosen: Severity,
    /// Why the chosen severity differs from the suggestion.
    pub reason: Option<Reason>,
}

/// The release suspected of introducing the fault was named, or cleared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuspectReleaseSet {
    pub release: Option<ReleaseRef>,
    pub reason: Option<Reason>,
}

/// The task force took a follow-up decision. Its generated action items follow as their own
/// events, numbered `items`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionRecorded {
    /// Decisions are numbered per incident from 1; a later one revises the earlier.
    pub decision: u32,
    pub option: FollowUpOption,
    pub motivation: Reason,
    pub roll_back_to: Option<ReleaseRef>,
    pub items: Vec<u32>,
}

/// A link to a ticket, release, pull request, document or chat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkAdded {
    pub kind: LinkKind,
    pub url: Url,
    pub title: Option<Title>,
}

/// A piece of evidence was archived; its bytes live in content-addressed storage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceAttached {
    pub name: FileName,
    pub media_type: MediaType,
    pub size: u64,
    pub sha256: Sha256Hex,
}

/// A new action item, numbered per incident from 1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionItemAdded {
    pub item: u32,
    pub text: Text,
    pub owner: Owner,
    pub due: Option<Date>,
    pub kind: ActionKind,
    pub tracker_url: Option<Url>,
}

/// An action item's owner, due date or tracker link changed. Absent fields stay as they were.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionItemUpdated {
    pub item: u32,
    pub owner: Option<Owner>,
    pub due: Option<Date>,
    pub tracker_url: Option<Url>,
}

/// An action item was done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionItemCompleted {
    pub item: u32,
}

/// An action item will not be done, for a stated reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionItemWontFix {
    pub item: u32,
    pub reason: Reason,
}

/// A done or won't-fix action item is open again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionItemReopened {
    pub item: u32,
}

/// Someone asked for a follow-up to be opened as an issue in a tracker; the issue is made by
/// the outbox, which records [`ActionItemExported`] once the tracker answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionItemExportRequested {
    pub item: u32,
    pub tracker: TrackerName,
}

/// A follow-up's issue exists in a tracker, which owns the follow-up's state from now on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionItemExported {
    pub item: u32,
    pub tracker: TrackerName,
    /// How the tracker names the issue, e.g. `acme/api#12`.
    pub key: Text,
    pub url: Url,
}

/// A follow-up no longer follows its tracker's issue (deleted, moved elsewhere), for a stated
/// reason: its state is kept in hereby again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionItemUnlinked {
    pub item: u32,
    pub reason: Reason,
}

/// A stakeholder update was posted to an audience.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdatePosted {
    pub audience: Audience,
    pub body: Text,
    /// Shown on the public status page.
    pub public: bool,
    /// A public update that status page subscribers are not told of (a correction of a typo,
    /// say). Absent in updates recorded before it existed: those were told.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub quiet: bool,
}

/// Who may see the incident changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisibilityChanged {
    pub from: Visibility,
    pub to: Visibility,
    pub reason: Reason,
}

/// Someone was given access to the incident without holding a role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberAdded {
    pub person: UserName,
}

/// An explicitly added member was removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberRemoved {
    pub person: UserName,
}

/// The post-mortem's first draft was written from the timeline. It is revision 1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostmortemDrafted {
    /// The post-mortem template the draft started from.
    pub template: TemplateName,
    pub body: Document,
    /// Who runs the review: the Incident Commander unless delegated.
    pub owner: UserName,
}

/// The post-mortem was edited: a new revision with the whole new text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostmortemRevised {
    pub revision: u32,
    pub body: Document,
    /// What changed, in the editor's words.
    pub comment: Option<Reason>,
}

/// Running the post-mortem's review passed to someone else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostmortemOwnerChanged {
    pub from: UserName,
    pub to: UserName,
}

/// The owner asked for reviews of a revision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostmortemSubmitted {
    pub revision: u32,
}

/// A reviewer commented on a revision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostmortemCommented {
    pub revision: u32,
    pub text: Text,
}

/// The post-mortem was filed in the library under these tags and contributing factors
/// (replacing the earlier ones).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostmortemTagged {
    pub tags: Vec<crate::types::Tag>,
    pub factors: Vec<crate::types::Tag>,
}

/// A reviewer approved a revision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostmortemApproved {
    pub revision: u32,
}

/// The owner accepted the approved revision: the review is done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostmortemReviewed {
    pub revision: u32,
    /// Findings the owner went ahead over, with their reason. Absent when there were none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overridden: Option<GateOverride>,
}

/// The owner ended a review step although the linter still found something in the text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateOverride {
    pub reason: Reason,
    /// How many findings were left.
    pub findings: u32,
}

/// The reviewed post-mortem became the published record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostmortemPublished {
    pub revision: u32,
    /// Findings the owner went ahead over, with their reason. Absent when there were none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overridden: Option<GateOverride>,
}

/// A timeline entry was starred, excluded from the post-mortem's timeline, or made plain again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEntryMarked {
    /// The entry's sequence number in the incident's stream.
    pub sequence: u64,
    pub mark: EntryMark,
}

/// A post-mortem review meeting was set for a time (first set, or moved).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewMeetingScheduled {
    /// Meetings are numbered per incident from 1.
    pub meeting: u32,
    pub at: Timestamp,
}

/// What a review meeting decided about one follow-up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUpOutcome {
    pub item: u32,
    pub decision: ReviewDecision,
    /// Why it will not be done (for won't fix).
    pub reason: Option<Reason>,
    /// The new due date (for still open).
    pub due: Option<Date>,
}

/// A review meeting took place. The follow-ups' new states follow as their own events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewMeetingHeld {
    pub meeting: u32,
    pub attendees: Vec<UserName>,
    pub notes: Option<Text>,
    pub outcomes: Vec<FollowUpOutcome>,
    /// When the meeting took place, when it was recorded afterwards. Absent: at recording.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_at: Option<Timestamp>,
}

/// Why a stored event could not be turned back into an [`Event`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("unknown event type `{event_type}` version {version}")]
    UnknownType { event_type: String, version: u32 },
    #[error("event `{event_type}` version {version} has an invalid body: {problem}")]
    InvalidBody {
        event_type: String,
        version: u32,
        problem: String,
    },
}

/// Declares the event enum and its mapping to stored type names and versions in one place.
macro_rules! events {
    ($($variant:ident => $name:literal v $version:literal),+ $(,)?) => {
        /// Everything that can happen to an incident.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum Event {
            $($variant($variant)),+
        }

        impl Event {
            /// The stable stored type name, e.g. `note_added`.
            pub fn event_type(&self) -> &'static str {
                match self { $(Event::$variant(_) => $name),+ }
            }

            /// The version of the body format this code writes for the event's type.
            pub fn event_version(&self) -> u32 {
                match self { $(Event::$variant(_) => $version),+ }
            }

            /// The body as canonical JSON: the exact bytes that are stored and hashed.
            pub fn canonical_body(&self) -> String {
                let value = match self {
                    $(Event::$variant(payload) => serde_json::to_value(payload)),+
                };
                // Payloads are plain structs of strings, numbers and options, which always
                // serialize; an error here would be a programming mistake caught by the tests.
                canonical_json(&value.unwrap_or(serde_json::Value::Null))
            }

            /// Rebuilds an event from its stored type, version and body.
            pub fn decode(event_type: &str, version: u32, body: &str) -> Result<Event, DecodeError> {
                let invalid = |problem: serde_json::Error| DecodeError::InvalidBody {
                    event_type: event_type.to_owned(),
                    version,
                    problem: problem.to_string(),
                };
                match (event_type, version) {
                    $(($name, $version) => serde_json::from_str::<$variant>(body).map(Event::$variant).map_err(invalid),)+
                    _ => Err(DecodeError::UnknownType { event_type: event_type.to_owned(), version }),
                }
            }

            /// Every stored type name with its current version.
            pub const TYPES: &'static [(&'static str, u32)] = &[$(($name, $version)),+];
        }
    };
}

events! {
    IncidentDeclared => "incident_declared" v 1,
    RoleAssigned => "role_assigned" v 1,
    RoleUnassigned => "role_unassigned" v 1,
    HandoffRequested => "handoff_requested" v 1,
    HandoffAccepted => "handoff_accepted" v 1,
    HandoffDeclined => "handoff_declined" v 1,
    HandoffCancelled => "handoff_cancelled" v 1,
    SeverityChanged => "severity_changed" v 1,
    StatusChanged => "status_changed" v 1,
    ImpactWindowSet => "impact_window_set" v 1,
    NoteAdded => "note_added" v 1,
    OperationRecorded => "operation_recorded" v 1,
    LinkAdded => "link_added" v 1,
    EvidenceAttached => "evidence_attached" v 1,
    ActionItemAdded => "action_item_added" v 1,
    ActionItemUpdated => "action_item_updated" v 1,
    ActionItemCompleted => "action_item_completed" v 1,
    ActionItemWontFix => "action_item_wont_fix" v 1,
    ActionItemReopened => "action_item_reopened" v 1,
    ActionItemExportRequested => "action_item_export_requested" v 1,
    ActionItemExported => "action_item_exported" v 1,
    ActionItemUnlinked => "action_item_unlinked" v 1,
    MemberAdded => "member_added" v 1,
    MemberRemoved => "member_removed" v 1,
    UpdatePosted => "update_posted" v 1,
    VisibilityChanged => "visibility_changed" v 1,
    PostmortemDrafted => "postmortem_drafted" v 1,
    PostmortemRevised => "postmortem_revised" v 1,
    PostmortemOwnerChanged => "postmortem_owner_changed" v 1,
    PostmortemSubmitted => "postmortem_submitted" v 1,
    PostmortemCommented => "postmortem_commented" v 1,
    PostmortemTagged => "postmortem_tagged" v 1,
    PostmortemApproved => "postmortem_approved" v 1,
    PostmortemReviewed => "postmortem_reviewed" v 1,
    PostmortemPublished => "postmortem_published" v 1,
    TimelineEntryMarked => "timeline_entry_marked" v 1,
    ReviewMeetingScheduled => "review_meeting_scheduled" v 1,
    ReviewMeetingHeld => "review_meeting_held" v 1,
    IntentAnnounced => "intent_announced" v 1,
    IntentAbandoned => "intent_abandoned" v 1,
    WitnessRuleChanged => "witness_rule_changed" v 1,
    ChangeCollisionFlagged => "change_collision" v 1,
    ChangesAcknowledged => "changes_acknowledged" v 1,
    RecoveryUnattributed => "recovery_unattributed" v 1,
    IcOperationAttempted => "ic_operation_attempted" v 1,
    SeverityEvaluated => "severity_evaluated" v 1,
    SuspectReleaseSet => "suspect_release_set" v 1,
    DecisionRecorded => "decision_recorded" v 1,
    PublicSummarySet => "public_summary_set" v 1,
    AlertGroupAttached => "alert_group_attached" v 1,
    AlertsNoted => "alerts_noted" v 1,
    IncidentMerged => "incident_merged" v 1,
    MilestoneSet => "milestone_set" v 1,
}

/// An event together with who caused it and when: what `evolve` folds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub at: Timestamp,
    pub actor: UserName,
    pub event: Event,
}

impl std::fmt::Display for Event {
    /// A compact one-line rendering, `type {body}`, used by logs and test snapshots.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.event_type(), self.canonical_body())
    }
}
