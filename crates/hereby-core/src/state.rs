//! The state of one incident, and `evolve`, the fold that builds it from events.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::event::{Envelope, Event};
use crate::ladder::ReleaseRef;
use crate::roles::{INCIDENT_COMMANDER, OPERATIONS};
use crate::types::{
    ActionKind, ActionState, EntryMark, FollowUpOption, IntentState, Owner, PostmortemStatus,
    Reason, RoleKey, ServiceName, Severity, Status, Target, TemplateName, Text, Title, TrackerName,
    Url, UserName, Visibility,
};

/// The state `decide` checks commands against: nothing yet, or a declared incident.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum State {
    /// No event yet: only `declare` is possible.
    #[default]
    Initial,
    /// The incident as its events made it.
    Declared(Box<Incident>),
}

impl State {
    /// The state before any event.
    pub fn initial() -> Self {
        State::Initial
    }

    /// The incident, once declared.
    pub fn incident(&self) -> Option<&Incident> {
        match self {
            State::Initial => None,
            State::Declared(incident) => Some(incident),
        }
    }

    /// Folds a sequence of events into a state, starting from nothing.
    pub fn replay<'a>(events: impl IntoIterator<Item = &'a Envelope>) -> Self {
        events.into_iter().fold(State::initial(), evolve)
    }
}

/// A pending request to hand command to someone else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingHandoff {
    pub from: UserName,
    pub to: UserName,
    pub requested_at: Timestamp,
}

/// When the impact started and ended.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImpactWindow {
    pub start: Option<Timestamp>,
    pub end: Option<Timestamp>,
}

/// One action item and where it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionItem {
    pub item: u32,
    pub text: Text,
    pub owner: Owner,
    pub due: Option<Date>,
    pub kind: ActionKind,
    pub state: ActionState,
    pub tracker_url: Option<Url>,
    pub wont_fix_reason: Option<Reason>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// The tracker the follow-up is kept in, once someone asked for it to be opened there.
    /// Absent in snapshots made before trackers existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracker: Option<TrackerLink>,
}

/// Where a follow-up is kept outside hereby.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackerLink {
    pub tracker: TrackerName,
    /// How the tracker names the issue (`acme/api#12`); absent until the tracker made it.
    pub key: Option<Text>,
}

impl ActionItem {
    /// Whether the tracker, not people in hereby, says where the item stands: from the moment
    /// its export was asked for, so that nothing done here meanwhile is undone by the tracker
    /// reporting the new issue open.
    pub fn tracked(&self) -> bool {
        self.tracker.is_some()
    }
}

/// Where the post-mortem stands. Its text lives in the stream (the event at
/// `body_sequence`), so the snapshot stays small however long the document grows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Postmortem {
    pub status: PostmortemStatus,
    /// Who runs the review.
    pub owner: UserName,
    pub template: TemplateName,
    /// Counts saves from 1 (the draft).
    pub revision: u32,
    /// The stream sequence of the event that holds the current text.
    pub body_sequence: u64,
    pub revised_at: Timestamp,
    pub revised_by: UserName,
    /// Who approved the current revision; an edit clears it.
    pub approvals: BTreeSet<UserName>,
    pub comments: u32,
    pub reviewed_at: Option<Timestamp>,
    pub published_at: Option<Timestamp>,
    /// What the post-mortem is filed under in the library.
    #[serde(default)]
    pub tags: BTreeSet<crate::types::Tag>,
    /// The contributing factors it names, for the library.
    #[serde(default)]
    pub factors: BTreeSet<crate::types::Tag>,
}

/// A review meeting that took place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldMeeting {
    pub meeting: u32,
    pub at: Timestamp,
    /// The stream sequence of its record, for the minutes.
    pub sequence: u64,
}

/// The latest severity evaluation: what the rules suggested and what was chosen. The answers
/// themselves are in the evaluation's event, at `sequence`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evaluation {
    pub suggested: Severity,
    pub rule: String,
    pub chosen: Severity,
    pub reason: Option<Reason>,
    pub at: Timestamp,
    pub by: UserName,
    pub sequence: u64,
}

/// A follow-up decision and the action items it generated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub decision: u32,
    pub option: FollowUpOption,
    pub motivation: Reason,
    pub roll_back_to: Option<ReleaseRef>,
    pub items: Vec<u32>,
    pub at: Timestamp,
    pub by: UserName,
}

/// An announced intent to change something.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Intent {
    pub intent: u32,
    pub target: Target,
    pub action: Text,
    pub by: UserName,
    pub at: Timestamp,
    pub witness: Option<UserName>,
    pub state: IntentState,
}

/// A change to production (an operation) or an announced one (an intent), as collision
/// detection sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeMark {
    pub sequence: u64,
    pub at: Timestamp,
    pub by: UserName,
    pub target: Target,
    /// The intent announced or carried out by this change.
    pub intent: Option<u32>,
}

/// Two changes by different people in one window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Collision {
    pub collision: u32,
    pub at: Timestamp,
    pub earlier: u64,
    pub later: u64,
    pub people: [UserName; 2],
    pub acknowledged: bool,
    /// A recovery fell in the collision's window, so its cause cannot be attributed.
    pub unattributed: bool,
    /// One side was an intent abandoned afterwards: only one change was made after all.
    #[serde(default)]
    pub dropped: bool,
}

/// How many change marks the state keeps: collisions only look back one window, and no team
/// makes this many changes in one.
const KEPT_CHANGE_MARKS: usize = 200;

/// The post-mortem review meetings: the next one, and those held.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewMeetings {
    /// The next meeting's number and time, while one is planned.
    pub next: Option<(u32, Timestamp)>,
    pub held: Vec<HeldMeeting>,
}

impl ReviewMeetings {
    /// Nothing planned and nothing held.
    pub fn is_empty(&self) -> bool {
        self.next.is_none() && self.held.is_empty()
    }
}

/// A declared incident: everything the rules need and the state document shows at a glance.
/// The full history stays in the event stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incident {
    pub title: Title,
    pub summary: Option<Text>,
    /// What customers may read about the incident; `None` until someone writes it.
    #[serde(default)]
    pub public_summary: Option<Text>,
    pub severity: Severity,
    pub potential: bool,
    pub services: Vec<ServiceName>,
    pub visibility: Visibility,
    pub status: Status,
    pub declared_at: Timestamp,
    pub declared_by: UserName,
    pub resolved_at: Option<Timestamp>,
    pub ended_at: Option<Timestamp>,
    pub updated_at: Timestamp,
    /// Holders per role, in the order they took the role on.
    pub roles: BTreeMap<RoleKey, Vec<UserName>>,
    pub pending_handoff: Option<PendingHandoff>,
    pub impact: ImpactWindow,
    /// People added explicitly; role holders are members without being listed here.
    pub members: BTreeSet<UserName>,
    pub action_items: BTreeMap<u32, ActionItem>,
    /// The reason recorded when the incident was closed over open follow-ups.
    pub close_override: Option<Reason>,
    /// When the last stakeholder update was posted, to any audience. Absent from snapshots
    /// written before updates existed, which had none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_update_at: Option<Timestamp>,
    /// The post-mortem, once drafted. Absent from older snapshots, which had none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postmortem: Option<Postmortem>,
    /// Review meetings planned and held.
    #[serde(default, skip_serializing_if = "ReviewMeetings::is_empty")]
    pub reviews: ReviewMeetings,
    /// Timeline entries starred or excluded for the post-mortem, by stream sequence.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub timeline_marks: BTreeMap<u64, EntryMark>,
    /// The latest severity evaluation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evaluation: Option<Evaluation>,
    /// The release suspected of introducing the fault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspect_release: Option<ReleaseRef>,
    /// Follow-up decisions, oldest first; the last one stands.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub decisions: Vec<Decision>,
    /// Announced intents by number.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub intents: BTreeMap<u32, Intent>,
    /// Recent changes and intents, for collision detection.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<ChangeMark>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub collisions: Vec<Collision>,
    /// The stream sequence of the IC's last acknowledgement of changes: earlier changes no
    /// longer collide with new ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes_acknowledged_at: Option<u64>,
    /// Operations on SEV1 and SEV2 need a witness.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub witness_required: bool,
    /// Alert groups attached to the incident, by id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub alert_groups: BTreeMap<u64, AttachedAlerts>,
    /// The incident a merged candidate went into.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<crate::types::IncidentNumber>,
    /// The first action of a person (not the system) on it: the declaration itself when a
    /// person declared it. A milestone (see [`crate::milestones`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged_at: Option<Timestamp>,
    /// The first move to monitoring (or to resolved, if it skipped monitoring): a milestone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mitigated_at: Option<Timestamp>,
    /// Milestones the Incident Commander set by hand, over the derived ones.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub milestones_set: BTreeMap<crate::types::MilestoneName, Timestamp>,
    /// How many events the stream holds: the version optimistic concurrency compares.
    pub version: u64,
}

/// An alert group attached to an incident, as the rules and the state document need it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachedAlerts {
    pub label: Text,
    pub title: Text,
    /// Every alert of the group had resolved at the last note.
    pub all_resolved: bool,
}

impl Incident {
    /// The current Incident Commander.
    pub fn commander(&self) -> Option<&UserName> {
        self.holders_of(INCIDENT_COMMANDER).first()
    }

    /// The holders of a role, by key.
    pub fn holders_of(&self, role: &str) -> &[UserName] {
        self.roles
            .iter()
            .find(|(key, _)| key.as_str() == role)
            .map_or(&[], |(_, holders)| holders.as_slice())
    }

    /// Whether `person` holds `role`.
    pub fn holds(&self, person: &UserName, role: &RoleKey) -> bool {
        self.roles
            .get(role)
            .is_some_and(|holders| holders.contains(person))
    }

    /// The visibility rule, written once for every output: an internal or public incident
    /// is visible to every user; a restricted one only to admins and its members.
    pub fn visible_to(&self, person: &UserName, role: crate::types::InstallationRole) -> bool {
        self.visibility != crate::types::Visibility::Restricted
            || role == crate::types::InstallationRole::Admin
            || self.is_member(person)
    }

    /// Members see restricted incidents: anyone holding a role, added explicitly, or asked
    /// to take command (who must see what they are asked to take on).
    pub fn is_member(&self, person: &UserName) -> bool {
        self.members.contains(person)
            || self.roles.values().any(|holders| holders.contains(person))
            || self
                .pending_handoff
                .as_ref()
                .is_some_and(|pending| &pending.to == person)
    }

    /// Every member: role holders, people added explicitly and the person asked to take
    /// command, each once, in name order.
    pub fn all_members(&self) -> BTreeSet<&UserName> {
        self.members
            .iter()
            .chain(self.roles.values().flatten())
            .chain(self.pending_handoff.as_ref().map(|pending| &pending.to))
            .collect()
    }

    /// Follow-up items that are still open, which keep the incident from closing.
    pub fn open_follow_ups(&self) -> impl Iterator<Item = &ActionItem> {
        self.action_items
            .values()
            .filter(|item| item.kind == ActionKind::FollowUp && item.state == ActionState::Open)
    }

    /// Announced intents not yet carried out or dropped.
    pub fn open_intents(&self) -> impl Iterator<Item = &Intent> {
        self.intents
            .values()
            .filter(|intent| intent.state == IntentState::Open)
    }

    /// Collisions the Incident Commander has not acknowledged.
    pub fn open_collisions(&self) -> impl Iterator<Item = &Collision> {
        self.collisions
            .iter()
            .filter(|c| !c.acknowledged && !c.dropped)
    }

    fn push_change(&mut self, mark: ChangeMark) {
        self.changes.push(mark);
        if self.changes.len() > KEPT_CHANGE_MARKS {
            let extra = self.changes.len() - KEPT_CHANGE_MARKS;
            self.changes.drain(..extra);
        }
    }

    fn role_mut(&mut self, role: &RoleKey) -> &mut Vec<UserName> {
        self.roles.entry(role.clone()).or_default()
    }

    fn remove_holder(&mut self, role: &RoleKey, person: &UserName) {
        if let Some(holders) = self.roles.get_mut(role) {
            holders.retain(|holder| holder != person);
            if holders.is_empty() {
                self.roles.remove(role);
            }
        }
    }
}

/// Applies one event to a state. Total: an event that does not fit the state (which `decide`
/// never produces) leaves the state as it was apart from the version, so replay never fails.
pub fn evolve(state: State, envelope: &Envelope) -> State {
    let at = envelope.at;
    match (state, &envelope.event) {
        (State::Initial, Event::IncidentDeclared(declared)) => {
            let mut roles = BTreeMap::new();
            // An incident the system opened (from alerts) has no commander until a person
            // takes command.
            if declared.commander.as_str() != crate::roles::SYSTEM_ACTOR
                && let Ok(commander) = RoleKey::parse(INCIDENT_COMMANDER)
            {
                roles.insert(commander, vec![declared.commander.clone()]);
            }
            State::Declared(Box::new(Incident {
                title: declared.title.clone(),
                summary: declared.summary.clone(),
                public_summary: declared.public_summary.clone(),
                severity: declared.severity,
                potential: declared.potential,
                services: declared.services.clone(),
                visibility: declared.visibility,
                status: if declared.triage {
                    Status::Triage
                } else {
                    Status::Investigating
                },
                declared_at: at,
                declared_by: envelope.actor.clone(),
                resolved_at: None,
                ended_at: None,
                updated_at: at,
                roles,
                pending_handoff: None,
                impact: ImpactWindow::default(),
                members: BTreeSet::new(),
                action_items: BTreeMap::new(),
                close_override: None,
                last_update_at: None,
                postmortem: None,
                reviews: ReviewMeetings::default(),
                timeline_marks: BTreeMap::new(),
                evaluation: None,
                suspect_release: None,
                decisions: Vec::new(),
                intents: BTreeMap::new(),
                changes: Vec::new(),
                collisions: Vec::new(),
                changes_acknowledged_at: None,
                witness_required: false,
                alert_groups: BTreeMap::new(),
                merged_into: None,
                acknowledged_at: (envelope.actor.as_str() != crate::roles::SYSTEM_ACTOR)
                    .then_some(at),
                mitigated_at: None,
                milestones_set: BTreeMap::new(),
                version: 1,
            }))
        }
        (State::Initial, _) => State::Initial,
        (State::Declared(mut incident), event) => {
            if incident.acknowledged_at.is_none()
                && envelope.actor.as_str() != crate::roles::SYSTEM_ACTOR
            {
                incident.acknowledged_at = Some(at);
            }
            apply(&mut incident, event, at, &envelope.actor);
            incident.version += 1;
            incident.updated_at = at;
            State::Declared(incident)
        }
    }
}

fn apply(incident: &mut Incident, event: &Event, at: Timestamp, actor: &UserName) {
    // The stream sequence of the event being applied: the version counts the events before it.
    let sequence = incident.version + 1;
    match event {
        Event::IncidentDeclared(_) => {}
        Event::IncidentMerged(e) => incident.merged_into = Some(e.into),
        Event::RoleAssigned(e) => {
            let holders = incident.role_mut(&e.role);
            if !holders.contains(&e.person) {
                holders.push(e.person.clone());
            }
        }
        Event::RoleUnassigned(e) => incident.remove_holder(&e.role, &e.person),
        Event::HandoffRequested(e) => {
            incident.pending_handoff = Some(PendingHandoff {
                from: e.from.clone(),
                to: e.to.clone(),
                requested_at: at,
            });
        }
        Event::HandoffAccepted(e) => {
            incident.pending_handoff = None;
            if let (Ok(commander), Ok(operations)) = (
                RoleKey::parse(INCIDENT_COMMANDER),
                RoleKey::parse(OPERATIONS),
            ) {
                incident.remove_holder(&operations, &e.to);
                incident.roles.insert(commander, vec![e.to.clone()]);
            }
        }
        Event::HandoffDeclined(_) | Event::HandoffCancelled(_) => incident.pending_handoff = None,
        Event::SeverityChanged(e) => {
            incident.severity = e.to;
            incident.potential = e.potential;
        }
        Event::StatusChanged(e) => {
            incident.status = e.to;
            if matches!(e.to, Status::Monitoring | Status::Resolved) {
                incident.mitigated_at.get_or_insert(at);
            }
            match e.to {
                Status::Resolved => incident.resolved_at = Some(at),
                status if status.is_active() => incident.resolved_at = None,
                _ => {}
            }
            if e.to.is_final() {
                incident.ended_at = Some(at);
                incident.pending_handoff = None;
            }
            if e.to == Status::Closed
                && (!e.overridden_follow_ups.is_empty() || e.overrode_postmortem)
            {
                incident.close_override = e.reason.clone();
            }
            // Review meetings follow a resolved incident: reopening or ending it cancels the
            // planned one, and resolving it again plans a new one.
            if e.to != Status::Resolved {
                incident.reviews.next = None;
            }
        }
        Event::MilestoneSet(e) => {
            incident.milestones_set.insert(e.milestone, e.at);
        }
        Event::ImpactWindowSet(e) => {
            incident.impact = ImpactWindow {
                start: e.start,
                end: e.end,
            };
        }
        Event::UpdatePosted(_) => incident.last_update_at = Some(at),
        Event::VisibilityChanged(e) => incident.visibility = e.to,
        Event::NoteAdded(_)
        | Event::LinkAdded(_)
        | Event::EvidenceAttached(_)
        | Event::IcOperationAttempted(_) => {}
        Event::OperationRecorded(e) => {
            if let Some(intent) = e.intent.and_then(|n| incident.intents.get_mut(&n)) {
                intent.state = IntentState::Done;
            }
            incident.push_change(ChangeMark {
                sequence,
                at,
                by: actor.clone(),
                target: e.target.clone(),
                intent: e.intent,
            });
        }
        Event::IntentAnnounced(e) => {
            incident.intents.insert(
                e.intent,
                Intent {
                    intent: e.intent,
                    target: e.target.clone(),
                    action: e.action.clone(),
                    by: actor.clone(),
                    at,
                    witness: e.witness.clone(),
                    state: IntentState::Open,
                },
            );
            incident.push_change(ChangeMark {
                sequence,
                at,
                by: actor.clone(),
                target: e.target.clone(),
                intent: Some(e.intent),
            });
        }
        Event::IntentAbandoned(e) => {
            if let Some(intent) = incident.intents.get_mut(&e.intent) {
                intent.state = IntentState::Abandoned;
            }
            let announced = incident
                .changes
                .iter()
                .find(|mark| mark.intent == Some(e.intent))
                .map(|mark| mark.sequence);
            if let Some(announced) = announced {
                for collision in &mut incident.collisions {
                    if collision.earlier == announced || collision.later == announced {
                        collision.dropped = true;
                    }
                }
            }
        }
        Event::WitnessRuleChanged(e) => incident.witness_required = e.required,
        Event::PublicSummarySet(e) => incident.public_summary = e.text.clone(),
        Event::AlertGroupAttached(e) => {
            incident.alert_groups.insert(
                e.group.id,
                AttachedAlerts {
                    label: e.group.label.clone(),
                    title: e.group.title.clone(),
                    all_resolved: false,
                },
            );
        }
        Event::AlertsNoted(e) => {
            if let Some(group) = incident.alert_groups.get_mut(&e.group) {
                group.all_resolved = e.all_resolved;
            }
        }
        Event::ChangeCollisionFlagged(e) => incident.collisions.push(Collision {
            collision: e.collision,
            at,
            earlier: e.earlier,
            later: e.later,
            people: [e.earlier_by.clone(), actor.clone()],
            acknowledged: false,
            unattributed: false,
            dropped: false,
        }),
        Event::ChangesAcknowledged(e) => {
            incident.changes_acknowledged_at = Some(sequence);
            for collision in &mut incident.collisions {
                if e.collisions.contains(&collision.collision) {
                    collision.acknowledged = true;
                }
            }
        }
        Event::RecoveryUnattributed(e) => {
            for collision in &mut incident.collisions {
                if e.collisions.contains(&collision.collision) {
                    collision.unattributed = true;
                }
            }
        }
        Event::SeverityEvaluated(e) => {
            incident.severity = e.chosen;
            incident.potential = !e.checklist.live;
            incident.evaluation = Some(Evaluation {
                suggested: e.suggested,
                rule: e.rule.clone(),
                chosen: e.chosen,
                reason: e.reason.clone(),
                at,
                by: actor.clone(),
                sequence,
            });
        }
        Event::SuspectReleaseSet(e) => incident.suspect_release = e.release.clone(),
        Event::DecisionRecorded(e) => incident.decisions.push(Decision {
            decision: e.decision,
            option: e.option,
            motivation: e.motivation.clone(),
            roll_back_to: e.roll_back_to.clone(),
            items: e.items.clone(),
            at,
            by: actor.clone(),
        }),
        Event::ActionItemAdded(e) => {
            incident.action_items.insert(
                e.item,
                ActionItem {
                    item: e.item,
                    text: e.text.clone(),
                    owner: e.owner.clone(),
                    due: e.due,
                    kind: e.kind,
                    state: ActionState::Open,
                    tracker_url: e.tracker_url.clone(),
                    wont_fix_reason: None,
                    created_at: at,
                    updated_at: at,
                    tracker: None,
                },
            );
        }
        Event::ActionItemUpdated(e) => {
            if let Some(item) = incident.action_items.get_mut(&e.item) {
                if let Some(owner) = &e.owner {
                    item.owner = owner.clone();
                }
                if e.due.is_some() {
                    item.due = e.due;
                }
                if let Some(url) = &e.tracker_url {
                    item.tracker_url = Some(url.clone());
                }
                item.updated_at = at;
            }
        }
        Event::ActionItemCompleted(e) => {
            set_item_state(incident, e.item, ActionState::Done, None, at)
        }
        Event::ActionItemWontFix(e) => set_item_state(
            incident,
            e.item,
            ActionState::WontFix,
            Some(e.reason.clone()),
            at,
        ),
        Event::ActionItemReopened(e) => {
            set_item_state(incident, e.item, ActionState::Open, None, at)
        }
        Event::ActionItemExportRequested(e) => {
            if let Some(item) = incident.action_items.get_mut(&e.item) {
                item.tracker = Some(TrackerLink {
                    tracker: e.tracker.clone(),
                    key: None,
                });
                item.updated_at = at;
            }
        }
        Event::ActionItemExported(e) => {
            if let Some(item) = incident.action_items.get_mut(&e.item) {
                item.tracker = Some(TrackerLink {
                    tracker: e.tracker.clone(),
                    key: Some(e.key.clone()),
                });
                item.tracker_url = Some(e.url.clone());
                item.updated_at = at;
            }
        }
        Event::ActionItemUnlinked(e) => {
            if let Some(item) = incident.action_items.get_mut(&e.item) {
                item.tracker = None;
                item.updated_at = at;
            }
        }
        Event::MemberAdded(e) => {
            incident.members.insert(e.person.clone());
        }
        Event::MemberRemoved(e) => {
            incident.members.remove(&e.person);
        }
        Event::PostmortemDrafted(e) => {
            incident.postmortem = Some(Postmortem {
                status: PostmortemStatus::Draft,
                owner: e.owner.clone(),
                template: e.template.clone(),
                revision: 1,
                body_sequence: sequence,
                revised_at: at,
                revised_by: actor.clone(),
                approvals: BTreeSet::new(),
                comments: 0,
                reviewed_at: None,
                published_at: None,
                tags: BTreeSet::new(),
                factors: BTreeSet::new(),
            });
        }
        Event::PostmortemRevised(e) => {
            if let Some(postmortem) = &mut incident.postmortem {
                postmortem.revision = e.revision;
                postmortem.body_sequence = sequence;
                postmortem.revised_at = at;
                postmortem.revised_by = actor.clone();
                postmortem.approvals.clear();
                if postmortem.status == PostmortemStatus::Reviewed {
                    postmortem.status = PostmortemStatus::InReview;
                    postmortem.reviewed_at = None;
                }
            }
        }
        Event::PostmortemOwnerChanged(e) => {
            if let Some(postmortem) = &mut incident.postmortem {
                postmortem.owner = e.to.clone();
                // The owner does not review their own work, even with an approval given
                // before the review was handed to them.
                postmortem.approvals.remove(&e.to);
            }
        }
        Event::PostmortemSubmitted(_) => {
            set_postmortem_status(incident, PostmortemStatus::InReview)
        }
        Event::PostmortemCommented(_) => {
            if let Some(postmortem) = &mut incident.postmortem {
                postmortem.comments += 1;
            }
        }
        Event::PostmortemApproved(_) => {
            if let Some(postmortem) = &mut incident.postmortem {
                postmortem.approvals.insert(actor.clone());
            }
        }
        Event::PostmortemTagged(e) => {
            if let Some(postmortem) = &mut incident.postmortem {
                postmortem.tags = e.tags.iter().cloned().collect();
                postmortem.factors = e.factors.iter().cloned().collect();
            }
        }
        Event::PostmortemReviewed(_) => {
            set_postmortem_status(incident, PostmortemStatus::Reviewed);
            if let Some(postmortem) = &mut incident.postmortem {
                postmortem.reviewed_at = Some(at);
            }
        }
        Event::PostmortemPublished(_) => {
            set_postmortem_status(incident, PostmortemStatus::Published);
            if let Some(postmortem) = &mut incident.postmortem {
                postmortem.published_at = Some(at);
            }
        }
        Event::TimelineEntryMarked(e) => {
            if e.mark == EntryMark::Plain {
                incident.timeline_marks.remove(&e.sequence);
            } else {
                incident.timeline_marks.insert(e.sequence, e.mark);
            }
        }
        Event::ReviewMeetingScheduled(e) => incident.reviews.next = Some((e.meeting, e.at)),
        Event::ReviewMeetingHeld(e) => {
            incident.reviews.next = None;
            incident.reviews.held.push(HeldMeeting {
                meeting: e.meeting,
                at: e.held_at.unwrap_or(at),
                sequence,
            });
        }
    }
}

fn set_postmortem_status(incident: &mut Incident, status: PostmortemStatus) {
    if let Some(postmortem) = &mut incident.postmortem {
        postmortem.status = status;
    }
}

fn set_item_state(
    incident: &mut Incident,
    item: u32,
    state: ActionState,
    reason: Option<Reason>,
    at: Timestamp,
) {
    if let Some(action) = incident.action_items.get_mut(&item) {
        action.state = state;
        action.wont_fix_reason = reason;
        action.updated_at = at;
    }
}
