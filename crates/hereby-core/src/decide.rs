//! `decide`: checks a command against the state and the rules, and says which events follow.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::command::{Command, Context};
use crate::event::{
    ActionItemAdded, ActionItemCompleted, ActionItemReopened, ActionItemUpdated, ActionItemWontFix,
    AlertGroupAttached, AlertsNoted, Event, EvidenceAttached, HandoffAccepted, HandoffCancelled,
    HandoffDeclined, HandoffRequested, ImpactWindowSet, IncidentDeclared, IncidentMerged,
    LinkAdded, MemberAdded, MemberRemoved, NoteAdded, PublicSummarySet, RecoveryUnattributed,
    RoleAssigned, RoleUnassigned, SeverityChanged, StatusChanged, UpdatePosted, VisibilityChanged,
};
use crate::roles::{INCIDENT_COMMANDER, OPERATIONS};
use crate::state::{Incident, State};
use crate::types::{ActionKind, ActionState, Owner, PostmortemStatus, RoleKey, Status, Visibility};

/// A command that breaks a rule: a stable machine-readable code and a sentence for a person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    pub code: RejectionCode,
    pub message: String,
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for Rejection {}

macro_rules! rejection_codes {
    ($($variant:ident => $code:literal),+ $(,)?) => {
        /// The reason codes clients can branch on. Their spelling is part of the API.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum RejectionCode {
            $(#[serde(rename = $code)] $variant),+
        }

        impl RejectionCode {
            /// Every code.
            pub const ALL: &'static [RejectionCode] = &[$(RejectionCode::$variant),+];

            /// The stable spelling of the code.
            pub fn as_str(self) -> &'static str {
                match self { $(RejectionCode::$variant => $code),+ }
            }
        }
    };
}

rejection_codes! {
    NotDeclared => "not_declared",
    AlreadyDeclared => "already_declared",
    IncidentEnded => "incident_ended",
    UnknownRole => "unknown_role",
    RoleAlreadyHeld => "role_already_held",
    RoleNotHeld => "role_not_held",
    UseHandoff => "use_handoff",
    IcCannotOperate => "ic_cannot_operate",
    NotIncidentCommander => "not_incident_commander",
    HandoffToSelf => "handoff_to_self",
    HandoffAlreadyRequested => "handoff_already_requested",
    NoPendingHandoff => "no_pending_handoff",
    NotHandoffRecipient => "not_handoff_recipient",
    SeverityUnchanged => "severity_unchanged",
    StatusUnchanged => "status_unchanged",
    InvalidTransition => "invalid_transition",
    ReasonRequired => "reason_required",
    OpenFollowUps => "open_follow_ups",
    InvalidImpactWindow => "invalid_impact_window",
    InvalidMilestone => "invalid_milestone",
    UnknownActionItem => "unknown_action_item",
    ActionItemState => "action_item_state",
    TrackedElsewhere => "tracked_elsewhere",
    AlreadyTracked => "already_tracked",
    NotTracked => "not_tracked",
    NothingToChange => "nothing_to_change",
    AlreadyMember => "already_member",
    NotMember => "not_member",
    NotPublic => "not_public",
    VisibilityUnchanged => "visibility_unchanged",
    IncidentActive => "incident_active",
    PostmortemExists => "postmortem_exists",
    NoPostmortem => "no_postmortem",
    PostmortemState => "postmortem_state",
    StaleRevision => "stale_revision",
    NotReviewOwner => "not_review_owner",
    OwnerCannotApprove => "owner_cannot_approve",
    AlreadyApproved => "already_approved",
    ApprovalRequired => "approval_required",
    PostmortemNotReviewed => "postmortem_not_reviewed",
    UnknownTimelineEntry => "unknown_timeline_entry",
    InvalidReviewMeeting => "invalid_review_meeting",
    RollbackNotApplicable => "rollback_not_applicable",
    WitnessRequired => "witness_required",
    WitnessIsActor => "witness_is_actor",
    UnknownIntent => "unknown_intent",
    IntentState => "intent_state",
    NotIntentOwner => "not_intent_owner",
    NotPermitted => "not_permitted",
    UnfilledPlaceholders => "unfilled_placeholders",
    PostmortemFindings => "postmortem_findings",
    NotCandidate => "not_candidate",
    TooManyTags => "too_many_tags",
}

pub(crate) fn reject<T>(code: RejectionCode, message: impl Into<String>) -> Result<T, Rejection> {
    Err(Rejection {
        code,
        message: message.into(),
    })
}

/// Checks `command` against `state` and returns the events it produces, or why it may not
/// happen. Pure: the same inputs always give the same answer.
pub fn decide(state: &State, command: Command, ctx: Context<'_>) -> Result<Vec<Event>, Rejection> {
    let incident = match (state, &command) {
        (State::Initial, Command::Declare { .. }) => return declare(command, ctx),
        (State::Initial, _) => {
            return reject(
                RejectionCode::NotDeclared,
                "there is no such incident yet; declare it first",
            );
        }
        (State::Declared(_), Command::Declare { .. }) => {
            return reject(
                RejectionCode::AlreadyDeclared,
                "this incident has already been declared",
            );
        }
        (State::Declared(incident), _) => incident.as_ref(),
    };
    match command {
        Command::Declare { .. } => reject(RejectionCode::AlreadyDeclared, "already declared"),
        Command::AssignRole { role, person } => {
            require_open_for_response(incident, "change roles")?;
            let Some(definition) = ctx.policy.roles.get(&role) else {
                return unknown_role(&role, ctx);
            };
            if role.as_str() == INCIDENT_COMMANDER {
                return reject(
                    RejectionCode::UseHandoff,
                    "the Incident Commander changes only by hand-off: request it, and the new commander accepts",
                );
            }
            if role.as_str() == OPERATIONS && incident.commander() == Some(&person) {
                return reject(
                    RejectionCode::IcCannotOperate,
                    format!(
                        "{person} is the Incident Commander, who coordinates and does not perform operations; give operations to someone else"
                    ),
                );
            }
            if incident.holds(&person, &role) {
                return reject(
                    RejectionCode::RoleAlreadyHeld,
                    format!("{person} already holds {}", definition.name),
                );
            }
            let mut events = Vec::new();
            if !definition.multiple_holders {
                for previous in incident.holders_of(role.as_str()) {
                    events.push(Event::RoleUnassigned(RoleUnassigned {
                        role: role.clone(),
                        person: previous.clone(),
                    }));
                }
            }
            events.push(Event::RoleAssigned(RoleAssigned { role, person }));
            Ok(events)
        }
        Command::AcceptCandidate => {
            require_candidate(incident, "accepted")?;
            let mut events = vec![Event::StatusChanged(StatusChanged {
                from: Status::Triage,
                to: Status::Investigating,
                reason: None,
                overridden_follow_ups: Vec::new(),
                overrode_postmortem: false,
            })];
            // The person who accepts leads; one holding Operations hands it on first, since
            // the Incident Commander coordinates rather than operates.
            if incident.holds(ctx.actor, &operations_role()) {
                events.push(Event::RoleUnassigned(RoleUnassigned {
                    role: operations_role(),
                    person: ctx.actor.clone(),
                }));
            }
            if incident.commander().is_none() {
                events.push(Event::RoleAssigned(RoleAssigned {
                    role: commander_role(),
                    person: ctx.actor.clone(),
                }));
            }
            Ok(events)
        }
        Command::DeclineCandidate { reason } => {
            require_candidate(incident, "declined")?;
            Ok(vec![Event::StatusChanged(StatusChanged {
                from: Status::Triage,
                to: Status::Declined,
                reason: Some(reason),
                overridden_follow_ups: Vec::new(),
                overrode_postmortem: false,
            })])
        }
        Command::MergeCandidate { into } => {
            require_candidate(incident, "merged")?;
            let reason =
                crate::types::Reason::parse(&format!("merged into {into}")).map_err(|e| {
                    Rejection {
                        code: RejectionCode::NothingToChange,
                        message: e.to_string(),
                    }
                })?;
            Ok(vec![
                Event::IncidentMerged(IncidentMerged { into }),
                Event::StatusChanged(StatusChanged {
                    from: Status::Triage,
                    to: Status::Merged,
                    reason: Some(reason),
                    overridden_follow_ups: Vec::new(),
                    overrode_postmortem: false,
                }),
            ])
        }
        Command::TakeCommand => {
            require_open_for_response(incident, "take command")?;
            if incident.status == Status::Triage {
                return reject(
                    RejectionCode::InvalidTransition,
                    "this is a candidate from alerts: accept it to lead it (you become Incident Commander), or decline or merge it",
                );
            }
            if let Some(commander) = incident.commander() {
                return reject(
                    RejectionCode::UseHandoff,
                    format!(
                        "{commander} commands this incident; command changes hands only by hand-off: ask {commander} to hand it to you"
                    ),
                );
            }
            if incident.holds(ctx.actor, &operations_role()) {
                return reject(
                    RejectionCode::IcCannotOperate,
                    format!(
                        "{} holds Operations, and the Incident Commander coordinates rather than operates; leave Operations first",
                        ctx.actor
                    ),
                );
            }
            Ok(vec![Event::RoleAssigned(RoleAssigned {
                role: commander_role(),
                person: ctx.actor.clone(),
            })])
        }
        Command::AttachAlertGroup { group } => {
            require_not_closed(incident, "attach alerts")?;
            if incident.alert_groups.contains_key(&group.id) {
                return reject(
                    RejectionCode::NothingToChange,
                    format!("alert group {} is attached already", group.id),
                );
            }
            Ok(vec![Event::AlertGroupAttached(AlertGroupAttached {
                group,
            })])
        }
        Command::NoteAlerts {
            group,
            fired,
            resolved,
            all_resolved,
        } => {
            if ctx.actor.as_str() != crate::roles::SYSTEM_ACTOR {
                return reject(
                    RejectionCode::NotPermitted,
                    "only hereby itself notes what alerts did, as they arrive",
                );
            }
            let Some(attached) = incident.alert_groups.get(&group) else {
                return reject(
                    RejectionCode::NothingToChange,
                    format!("alert group {group} is not attached to this incident"),
                );
            };
            if fired.is_empty() && resolved.is_empty() && all_resolved == attached.all_resolved {
                return reject(RejectionCode::NothingToChange, "no alert fired or resolved");
            }
            Ok(vec![Event::AlertsNoted(AlertsNoted {
                group,
                fired,
                resolved,
                all_resolved,
            })])
        }
        Command::UnassignRole { role, person } => {
            require_open_for_response(incident, "change roles")?;
            let Some(definition) = ctx.policy.roles.get(&role) else {
                return unknown_role(&role, ctx);
            };
            if role.as_str() == INCIDENT_COMMANDER {
                return reject(
                    RejectionCode::UseHandoff,
                    "an incident always has an Incident Commander; hand command to someone else instead",
                );
            }
            if !incident.holds(&person, &role) {
                return reject(
                    RejectionCode::RoleNotHeld,
                    format!("{person} does not hold {}", definition.name),
                );
            }
            Ok(vec![Event::RoleUnassigned(RoleUnassigned { role, person })])
        }
        Command::RequestHandoff { to } => {
            require_open_for_response(incident, "hand off command")?;
            // Who may ask is the permission table's rule (the commander and admins by
            // default); the request is always on the current commander's behalf.
            let Some(commander) = incident.commander() else {
                return reject(
                    RejectionCode::NotIncidentCommander,
                    "this incident has no Incident Commander to hand off from",
                );
            };
            if &to == commander {
                return reject(
                    RejectionCode::HandoffToSelf,
                    format!("{to} is already the Incident Commander"),
                );
            }
            if incident
                .pending_handoff
                .as_ref()
                .is_some_and(|pending| pending.to == to)
            {
                return reject(
                    RejectionCode::HandoffAlreadyRequested,
                    format!("a hand-off to {to} is already waiting for their answer"),
                );
            }
            let mut events = Vec::new();
            if let Some(pending) = &incident.pending_handoff {
                // The earlier request is withdrawn on the timeline, so its recipient can see
                // they are no longer being asked.
                events.push(Event::HandoffCancelled(HandoffCancelled {
                    to: pending.to.clone(),
                }));
            }
            events.push(Event::HandoffRequested(HandoffRequested {
                from: commander.clone(),
                to,
            }));
            Ok(events)
        }
        Command::AcceptHandoff => {
            require_open_for_response(incident, "take over command")?;
            let pending = require_recipient(incident, ctx)?;
            let mut events = Vec::new();
            if let Some(operations) = ctx
                .policy
                .roles
                .roles()
                .iter()
                .find(|r| r.key.as_str() == OPERATIONS)
                && incident.holds(&pending.to, &operations.key)
            {
                // The new commander stops doing operations work as they take command.
                events.push(Event::RoleUnassigned(RoleUnassigned {
                    role: operations.key.clone(),
                    person: pending.to.clone(),
                }));
            }
            events.push(Event::HandoffAccepted(HandoffAccepted {
                from: pending.from.clone(),
                to: pending.to.clone(),
            }));
            Ok(events)
        }
        Command::DeclineHandoff { reason } => {
            let pending = require_recipient(incident, ctx)?;
            Ok(vec![Event::HandoffDeclined(HandoffDeclined {
                to: pending.to.clone(),
                reason,
            })])
        }
        Command::CancelHandoff => match &incident.pending_handoff {
            Some(pending) => Ok(vec![Event::HandoffCancelled(HandoffCancelled {
                to: pending.to.clone(),
            })]),
            None => reject(
                RejectionCode::NoPendingHandoff,
                "no hand-off is waiting for an answer",
            ),
        },
        Command::ChangeSeverity {
            severity,
            potential,
            reason,
        } => {
            require_open_for_response(incident, "change severity")?;
            let potential = potential.unwrap_or(incident.potential);
            if severity == incident.severity && potential == incident.potential {
                return reject(
                    RejectionCode::SeverityUnchanged,
                    format!(
                        "severity is already {severity}{}",
                        if potential { " (potential)" } else { "" }
                    ),
                );
            }
            Ok(vec![Event::SeverityChanged(SeverityChanged {
                from: incident.severity,
                to: severity,
                potential,
                reason,
            })])
        }
        Command::ChangeStatus {
            to,
            reason,
            override_close_checks,
        } => {
            let mut events = change_status(incident, to, reason, override_close_checks)?;
            if matches!(to, Status::Monitoring | Status::Resolved) {
                let collisions = crate::changes::unattributed(incident, ctx.policy, ctx.now);
                if !collisions.is_empty() {
                    events.push(Event::RecoveryUnattributed(RecoveryUnattributed {
                        collisions,
                    }));
                }
            }
            if to == Status::Resolved {
                events.extend(crate::review::first_meeting(incident, ctx));
            }
            Ok(events)
        }
        Command::SetImpactWindow { start, end } => {
            require_open_for_response(incident, "change the impact window")?;
            if start.is_none() && end.is_some() {
                return reject(
                    RejectionCode::InvalidImpactWindow,
                    "an impact end needs an impact start",
                );
            }
            if let (Some(start), Some(end)) = (start, end)
                && end < start
            {
                return reject(
                    RejectionCode::InvalidImpactWindow,
                    format!("impact end {end} is before impact start {start}"),
                );
            }
            if let Some(future) = [start, end].into_iter().flatten().find(|t| *t > ctx.now) {
                return reject(
                    RejectionCode::InvalidImpactWindow,
                    format!(
                        "{future} is in the future; record impact times once they have happened"
                    ),
                );
            }
            if incident.impact.start == start && incident.impact.end == end {
                return reject(
                    RejectionCode::NothingToChange,
                    "the impact window is already set to these times",
                );
            }
            Ok(vec![Event::ImpactWindowSet(ImpactWindowSet { start, end })])
        }
        Command::SetMilestone {
            milestone,
            at,
            reason,
        } => {
            if at > ctx.now {
                return reject(
                    RejectionCode::InvalidMilestone,
                    format!("{at} is in the future; set a milestone once it has happened"),
                );
            }
            let milestones = crate::milestones::Milestones::of(incident);
            if milestones.get(milestone) == Some(at) {
                return reject(
                    RejectionCode::NothingToChange,
                    format!("`{milestone}` is already at {at}"),
                );
            }
            if let Some(refusal) = milestones.refuse_setting(milestone, at) {
                return reject(RejectionCode::InvalidMilestone, refusal);
            }
            Ok(vec![Event::MilestoneSet(crate::event::MilestoneSet {
                milestone,
                at,
                reason,
            })])
        }
        Command::SetPublicSummary { text } => {
            require_not_closed(incident, "change the public summary")?;
            if incident.public_summary == text {
                return reject(
                    RejectionCode::NothingToChange,
                    match text {
                        Some(_) => "the public summary already reads like this",
                        None => "the incident has no public summary to clear",
                    },
                );
            }
            if let Some(text) = &text {
                refuse_placeholders(text, "the public summary")?;
            }
            Ok(vec![Event::PublicSummarySet(PublicSummarySet { text })])
        }
        Command::AddNote { text } => Ok(vec![Event::NoteAdded(NoteAdded { text })]),
        Command::RecordOperation { .. }
        | Command::AnnounceIntent { .. }
        | Command::CompleteIntent { .. }
        | Command::AbandonIntent { .. }
        | Command::RequireWitness { .. }
        | Command::AcknowledgeChanges
        | Command::NoteOperationAttempt { .. } => {
            crate::changes::decide_change(incident, command, ctx)
        }
        Command::EvaluateSeverity {
            checklist,
            chosen,
            reason,
        } => crate::severity::decide_evaluation(incident, checklist, chosen, reason, ctx),
        Command::SetSuspectRelease { .. } | Command::RecordDecision { .. } => {
            crate::ladder::decide_follow_up(incident, command, ctx)
        }
        Command::AddLink { kind, url, title } => {
            Ok(vec![Event::LinkAdded(LinkAdded { kind, url, title })])
        }
        Command::AttachEvidence {
            name,
            media_type,
            size,
            sha256,
        } => Ok(vec![Event::EvidenceAttached(EvidenceAttached {
            name,
            media_type,
            size,
            sha256,
        })]),
        Command::AddActionItem {
            text,
            owner,
            due,
            kind,
            tracker_url,
        } => {
            check_owner(&owner, ctx)?;
            if kind == ActionKind::FollowUp {
                require_not_closed(incident, "add follow-ups")?;
            }
            let item = incident
                .action_items
                .keys()
                .next_back()
                .map_or(1, |last| last + 1);
            Ok(vec![Event::ActionItemAdded(ActionItemAdded {
                item,
                text,
                owner,
                due,
                kind,
                tracker_url,
            })])
        }
        Command::UpdateActionItem {
            item,
            owner,
            due,
            tracker_url,
        } => {
            let current = require_item(incident, item)?;
            if let Some(owner) = &owner {
                check_owner(owner, ctx)?;
            }
            let owner = owner.filter(|owner| owner != &current.owner);
            let due = due.filter(|due| Some(*due) != current.due);
            let tracker_url = tracker_url.filter(|url| Some(url) != current.tracker_url.as_ref());
            if owner.is_none() && due.is_none() && tracker_url.is_none() {
                return reject(
                    RejectionCode::NothingToChange,
                    format!("action item {item} already has these values"),
                );
            }
            Ok(vec![Event::ActionItemUpdated(ActionItemUpdated {
                item,
                owner,
                due,
                tracker_url,
            })])
        }
        Command::CompleteActionItem { item } => {
            require_item_state(incident, item, ActionState::Open, "done")?;
            crate::trackers::require_untracked(require_item(incident, item)?, "close")?;
            Ok(vec![Event::ActionItemCompleted(ActionItemCompleted {
                item,
            })])
        }
        Command::WontFixActionItem { item, reason } => {
            require_item_state(incident, item, ActionState::Open, "won't fix")?;
            crate::trackers::require_untracked(require_item(incident, item)?, "close")?;
            Ok(vec![Event::ActionItemWontFix(ActionItemWontFix {
                item,
                reason,
            })])
        }
        Command::ReopenActionItem { item } => {
            let current = require_item(incident, item)?;
            if current.state == ActionState::Open {
                return reject(
                    RejectionCode::ActionItemState,
                    format!("action item {item} is already open"),
                );
            }
            if current.kind == ActionKind::FollowUp {
                require_not_closed(incident, &format!("reopen follow-up {item}"))?;
            }
            crate::trackers::require_untracked(current, "reopen")?;
            Ok(vec![Event::ActionItemReopened(ActionItemReopened { item })])
        }
        Command::ExportActionItem { item, tracker } => {
            crate::trackers::export(incident, require_item(incident, item)?, tracker)
        }
        Command::RecordExport {
            item,
            tracker,
            key,
            url,
        } => {
            require_system(ctx, "records the issues trackers make")?;
            crate::trackers::exported(require_item(incident, item)?, tracker, key, url)
        }
        Command::ReportTrackerState {
            item,
            state,
            reason,
        } => {
            require_system(ctx, "records what trackers report")?;
            crate::trackers::reported(incident, require_item(incident, item)?, state, reason)
        }
        Command::UnlinkTracker { item, reason } => {
            crate::trackers::unlink(require_item(incident, item)?, reason)
        }
        Command::PostUpdate {
            audience,
            body,
            public,
            quiet,
        } => {
            if public && incident.visibility != Visibility::Public {
                return reject(
                    RejectionCode::NotPublic,
                    format!(
                        "the incident is {}, so a public update would not be shown; make it public first",
                        incident.visibility
                    ),
                );
            }
            // Words meant for customers go out as written: a template's hints to its author
            // must have been filled in first.
            let unfilled = crate::placeholders::placeholders(body.as_str());
            if (public || audience.as_str() == "customers") && !unfilled.is_empty() {
                return reject(
                    RejectionCode::UnfilledPlaceholders,
                    format!(
                        "this update for {} still holds what the template left for you to fill in: {}; replace each with the real words and post it again",
                        if public {
                            "the public status page"
                        } else {
                            "customers"
                        },
                        unfilled.join(", ")
                    ),
                );
            }
            Ok(vec![Event::UpdatePosted(UpdatePosted {
                audience,
                body,
                public,
                // Only a public update reaches subscribers; quiet means nothing otherwise.
                quiet: quiet && public,
            })])
        }
        Command::ChangeVisibility { to, reason } => {
            if incident.visibility == to {
                return reject(
                    RejectionCode::VisibilityUnchanged,
                    format!("the incident is already {to}"),
                );
            }
            Ok(vec![Event::VisibilityChanged(VisibilityChanged {
                from: incident.visibility,
                to,
                reason,
            })])
        }
        Command::AddMember { person } => {
            if incident.members.contains(&person) {
                return reject(
                    RejectionCode::AlreadyMember,
                    format!("{person} is already a member"),
                );
            }
            Ok(vec![Event::MemberAdded(MemberAdded { person })])
        }
        Command::RemoveMember { person } => {
            if !incident.members.contains(&person) {
                return reject(
                    RejectionCode::NotMember,
                    format!(
                        "{person} was not added as a member (role holders are members through their role)"
                    ),
                );
            }
            Ok(vec![Event::MemberRemoved(MemberRemoved { person })])
        }
        Command::DraftPostmortem { .. }
        | Command::RevisePostmortem { .. }
        | Command::DelegatePostmortem { .. }
        | Command::SubmitPostmortem
        | Command::CommentPostmortem { .. }
        | Command::TagPostmortem { .. }
        | Command::ApprovePostmortem
        | Command::MarkPostmortemReviewed { .. }
        | Command::PublishPostmortem { .. }
        | Command::MarkTimelineEntry { .. } => {
            crate::review::decide_postmortem(incident, command, ctx)
        }
        Command::ScheduleReviewMeeting { .. } | Command::RecordReviewMeeting { .. } => {
            crate::review::decide_meeting(incident, command, ctx)
        }
    }
}

fn declare(command: Command, ctx: Context<'_>) -> Result<Vec<Event>, Rejection> {
    let Command::Declare {
        title,
        summary,
        public_summary,
        severity,
        potential,
        mut services,
        visibility,
        triage,
    } = command
    else {
        return reject(RejectionCode::NotDeclared, "declare it first");
    };
    services.sort();
    services.dedup();
    if let Some(text) = &public_summary {
        refuse_placeholders(text, "the public summary")?;
    }
    Ok(vec![Event::IncidentDeclared(IncidentDeclared {
        title,
        summary,
        public_summary,
        severity,
        potential,
        services,
        visibility,
        commander: ctx.actor.clone(),
        triage,
    })])
}

/// Only a candidate is accepted, declined or merged.
fn require_candidate(incident: &Incident, what: &str) -> Result<(), Rejection> {
    if incident.status != Status::Triage {
        return reject(
            RejectionCode::NotCandidate,
            format!(
                "only a candidate from alerts can be {what}; this incident is {}",
                incident.status
            ),
        );
    }
    Ok(())
}

pub(crate) fn change_status(
    incident: &Incident,
    to: Status,
    reason: Option<crate::types::Reason>,
    override_close_checks: bool,
) -> Result<Vec<Event>, Rejection> {
    let from = incident.status;
    if from.is_final() {
        return reject(
            RejectionCode::IncidentEnded,
            format!("the incident is {from}; its status can no longer change"),
        );
    }
    if from == to {
        return reject(
            RejectionCode::StatusUnchanged,
            format!("the incident is already {to}"),
        );
    }
    let allowed = match (from, to) {
        (from, to) if from.is_active() => {
            to.is_active()
                || matches!(
                    to,
                    Status::Resolved | Status::CalledOff | Status::HandedBack
                )
        }
        (Status::Resolved, to) => to.is_active() || to == Status::Closed,
        _ => false,
    };
    if !allowed {
        let hint = match (from, to) {
            (Status::Triage, _) => {
                "; a candidate from alerts is accepted, declined or merged first (hereby triage accept|decline|merge)"
            }
            (from, Status::Closed) if from.is_active() => {
                "; resolve it first, close it once the post-mortem and follow-ups are done"
            }
            (Status::Resolved, Status::CalledOff | Status::HandedBack) => {
                "; a resolved incident was real, close it instead"
            }
            _ => "",
        };
        return reject(
            RejectionCode::InvalidTransition,
            format!("cannot go from {from} to {to}{hint}"),
        );
    }
    let needs_reason = match to {
        Status::CalledOff | Status::HandedBack => Some("say why it is not an incident after all"),
        _ if from == Status::Resolved && to.is_active() => Some("say why the incident is reopened"),
        _ if override_close_checks => Some(
            "say why closing without a reviewed post-mortem or over open follow-ups is acceptable",
        ),
        _ => None,
    };
    if let (Some(why), None) = (needs_reason, &reason) {
        return reject(
            RejectionCode::ReasonRequired,
            format!("moving to {to} needs a reason: {why}"),
        );
    }
    let mut overridden_follow_ups = Vec::new();
    let mut overrode_postmortem = false;
    if to == Status::Closed {
        let reviewed = incident.postmortem.as_ref().is_some_and(|postmortem| {
            matches!(
                postmortem.status,
                PostmortemStatus::Reviewed | PostmortemStatus::Published
            )
        });
        if !reviewed && !override_close_checks {
            let state = match &incident.postmortem {
                None => "has not been drafted".to_owned(),
                Some(postmortem) => format!(
                    "is still {}",
                    crate::review::status_words(postmortem.status)
                ),
            };
            return reject(
                RejectionCode::PostmortemNotReviewed,
                format!(
                    "the post-mortem {state}; an incident closes once its post-mortem is reviewed, or with an explicit override and a reason"
                ),
            );
        }
        overrode_postmortem = !reviewed;
        let open: Vec<u32> = incident.open_follow_ups().map(|item| item.item).collect();
        if !open.is_empty() && !override_close_checks {
            let list: Vec<String> = open.iter().map(u32::to_string).collect();
            return reject(
                RejectionCode::OpenFollowUps,
                format!(
                    "follow-up action items {} are still open; finish them, mark them won't fix, or close with an explicit override and a reason",
                    list.join(", ")
                ),
            );
        }
        overridden_follow_ups = open;
    }
    Ok(vec![Event::StatusChanged(StatusChanged {
        from,
        to,
        reason,
        overridden_follow_ups,
        overrode_postmortem,
    })])
}

/// Roles, operations, severity and the impact window belong to the response: they stop when
/// the incident is closed, called off or handed back. Notes, links, evidence, members and
/// action items go on, since follow-up work outlives the incident (but see
/// [`require_not_closed`]).
pub(crate) fn require_open_for_response(incident: &Incident, what: &str) -> Result<(), Rejection> {
    if incident.status.is_final() {
        return reject(
            RejectionCode::IncidentEnded,
            format!(
                "the incident is {}; you can no longer {what}",
                incident.status
            ),
        );
    }
    Ok(())
}

/// A closed incident has no open follow-up unless closing overrode them; so once closed, no
/// follow-up may be added or reopened. Existing ones can still be finished or marked won't fix.
/// Refuses words meant for customers that still hold what a template left to fill in.
fn refuse_placeholders(text: &crate::types::Text, what: &str) -> Result<(), Rejection> {
    let unfilled = crate::placeholders::placeholders(text.as_str());
    if unfilled.is_empty() {
        return Ok(());
    }
    reject(
        RejectionCode::UnfilledPlaceholders,
        format!(
            "{what} is for customers but still holds what a template left for you to fill in: {}; replace each with the real words",
            unfilled.join(", ")
        ),
    )
}

fn commander_role() -> RoleKey {
    RoleKey::parse(INCIDENT_COMMANDER).unwrap_or_else(|_| unreachable!("a valid key"))
}

fn operations_role() -> RoleKey {
    RoleKey::parse(OPERATIONS).unwrap_or_else(|_| unreachable!("a valid key"))
}

fn require_not_closed(incident: &Incident, what: &str) -> Result<(), Rejection> {
    if incident.status == Status::Closed {
        return reject(
            RejectionCode::IncidentEnded,
            format!("the incident is closed; you can no longer {what}"),
        );
    }
    Ok(())
}

pub(crate) fn require_commander<'a>(
    incident: &'a Incident,
    ctx: Context<'_>,
    what: &str,
) -> Result<&'a crate::types::UserName, Rejection> {
    match incident.commander() {
        Some(commander) if commander == ctx.actor => Ok(commander),
        Some(commander) => reject(
            RejectionCode::NotIncidentCommander,
            format!("only the Incident Commander ({commander}) can {what}"),
        ),
        None => reject(
            RejectionCode::NotIncidentCommander,
            format!("only the Incident Commander can {what}"),
        ),
    }
}

fn require_recipient<'a>(
    incident: &'a Incident,
    ctx: Context<'_>,
) -> Result<&'a crate::state::PendingHandoff, Rejection> {
    match &incident.pending_handoff {
        None => reject(
            RejectionCode::NoPendingHandoff,
            "no hand-off is waiting for an answer",
        ),
        Some(pending) if &pending.to != ctx.actor => reject(
            RejectionCode::NotHandoffRecipient,
            format!(
                "the pending hand-off is addressed to {}, not to {}",
                pending.to, ctx.actor
            ),
        ),
        Some(pending) => Ok(pending),
    }
}

fn unknown_role<T>(role: &crate::types::RoleKey, ctx: Context<'_>) -> Result<T, Rejection> {
    let known: Vec<&str> = ctx
        .policy
        .roles
        .roles()
        .iter()
        .map(|r| r.key.as_str())
        .collect();
    reject(
        RejectionCode::UnknownRole,
        format!(
            "`{role}` is not a role here; roles are {}",
            known.join(", ")
        ),
    )
}

/// Refuses a command only hereby itself gives (it `does`, e.g. "records what trackers report").
fn require_system(ctx: Context<'_>, does: &str) -> Result<(), Rejection> {
    if ctx.actor.as_str() == crate::roles::SYSTEM_ACTOR {
        Ok(())
    } else {
        reject(
            RejectionCode::NotPermitted,
            format!("only hereby itself {does}"),
        )
    }
}

fn check_owner(owner: &Owner, ctx: Context<'_>) -> Result<(), Rejection> {
    match owner {
        Owner::Role(role) if ctx.policy.roles.get(role).is_none() => unknown_role(role, ctx),
        _ => Ok(()),
    }
}

fn require_item(incident: &Incident, item: u32) -> Result<&crate::state::ActionItem, Rejection> {
    incident.action_items.get(&item).ok_or_else(|| Rejection {
        code: RejectionCode::UnknownActionItem,
        message: format!("there is no action item {item} on this incident"),
    })
}

fn require_item_state(
    incident: &Incident,
    item: u32,
    wanted: ActionState,
    doing: &str,
) -> Result<(), Rejection> {
    let current = require_item(incident, item)?;
    if current.state != wanted {
        return reject(
            RejectionCode::ActionItemState,
            format!(
                "action item {item} is {}; only {} items can be marked {doing}",
                current.state, wanted
            ),
        );
    }
    Ok(())
}
