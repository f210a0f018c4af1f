//! Small constructors that let a test case read as data, and the runner that applies a story.

use hereby_core::event::FollowUpOutcome;
use hereby_core::ladder::{ReleaseFacts, ReleaseRef};
use hereby_core::severity::{AffectedService, Checklist};
use hereby_core::types::{
    ActionKind, FileName, LinkKind, MediaType, Owner, Reason, RoleKey, ServiceName, Severity,
    Sha256Hex, Status, Target, Text, Title, Url, UserName, Visibility,
};
use hereby_core::types::{Criticality, FollowUpOption, ReleaseVersion, Site};
use hereby_core::types::{Document, EntryMark, ReviewDecision, TemplateName};
use hereby_core::{Command, Context, Envelope, Event, Policy, Rejection, State, decide, evolve};
use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};

/// When the first step of every story happens; each further step is one minute later.
pub(crate) fn t0() -> Timestamp {
    "2024-05-01T10:00:00Z".parse().unwrap()
}

/// The time of step `index` (0-based) of a story.
pub(crate) fn step_time(index: usize) -> Timestamp {
    t0() + SignedDuration::from_mins(i64::try_from(index).unwrap())
}

/// A time on the day of the stories, as `HH:MM` (UTC).
pub(crate) fn at(hh_mm: &str) -> Timestamp {
    format!("2024-05-01T{hh_mm}:00Z").parse().unwrap()
}

pub(crate) fn user(name: &str) -> UserName {
    UserName::parse(name).unwrap()
}

fn role_key(key: &str) -> RoleKey {
    RoleKey::parse(key).unwrap()
}

fn text(raw: &str) -> Text {
    Text::parse(raw).unwrap()
}

pub(crate) fn reason(raw: &str) -> Reason {
    Reason::parse(raw).unwrap()
}

/// Parses `role:<key>` or a user name.
pub(crate) fn owner(raw: &str) -> Owner {
    Owner::parse(raw).unwrap()
}

fn url(raw: &str) -> Url {
    Url::parse(raw).unwrap()
}

fn date(raw: &str) -> Date {
    raw.parse().unwrap()
}

/// A SEV2, internal, live incident with no summary and no services.
pub(crate) fn declare(title: &str) -> Command {
    Command::Declare {
        title: Title::parse(title).unwrap(),
        summary: None,
        public_summary: None,
        severity: Severity::Sev2,
        potential: false,
        services: Vec::new(),
        visibility: Visibility::Internal,
        triage: false,
    }
}

/// A declaration with every field given.
pub(crate) fn declare_full(
    title: &str,
    summary: &str,
    severity: Severity,
    potential: bool,
    services: &[&str],
    visibility: Visibility,
) -> Command {
    Command::Declare {
        title: Title::parse(title).unwrap(),
        summary: Some(text(summary)),
        public_summary: None,
        severity,
        potential,
        services: services
            .iter()
            .map(|s| ServiceName::parse(s).unwrap())
            .collect(),
        visibility,
        triage: false,
    }
}

pub(crate) fn assign(role: &str, person: &str) -> Command {
    Command::AssignRole {
        role: role_key(role),
        person: user(person),
    }
}

pub(crate) fn unassign(role: &str, person: &str) -> Command {
    Command::UnassignRole {
        role: role_key(role),
        person: user(person),
    }
}

pub(crate) fn handoff(to: &str) -> Command {
    Command::RequestHandoff { to: user(to) }
}

pub(crate) fn accept_handoff() -> Command {
    Command::AcceptHandoff
}

pub(crate) fn decline_handoff() -> Command {
    Command::DeclineHandoff { reason: None }
}

pub(crate) fn decline_handoff_because(why: &str) -> Command {
    Command::DeclineHandoff {
        reason: Some(reason(why)),
    }
}

pub(crate) fn cancel_handoff() -> Command {
    Command::CancelHandoff
}

pub(crate) fn severity(severity: &str, potential: bool, why: &str) -> Command {
    Command::ChangeSeverity {
        severity: Severity::parse(severity).unwrap(),
        potential: Some(potential),
        reason: reason(why),
    }
}

pub(crate) fn status(to: &str) -> Command {
    Command::ChangeStatus {
        to: Status::parse(to).unwrap(),
        reason: None,
        override_close_checks: false,
    }
}

pub(crate) fn status_with_reason(to: &str, why: &str) -> Command {
    Command::ChangeStatus {
        to: Status::parse(to).unwrap(),
        reason: Some(reason(why)),
        override_close_checks: false,
    }
}

/// Close over open follow-ups, saying why.
pub(crate) fn close_override(why: &str) -> Command {
    Command::ChangeStatus {
        to: Status::Closed,
        reason: Some(reason(why)),
        override_close_checks: true,
    }
}

/// Ask for the override but give no reason.
pub(crate) fn close_override_without_reason() -> Command {
    Command::ChangeStatus {
        to: Status::Closed,
        reason: None,
        override_close_checks: true,
    }
}

/// Set the impact window; times are `HH:MM` on the day of the stories.
pub(crate) fn impact(start: Option<&str>, end: Option<&str>) -> Command {
    Command::SetImpactWindow {
        start: start.map(at),
        end: end.map(at),
    }
}

/// Set a milestone by hand at `HH:MM`, saying why.
pub(crate) fn milestone(name: &str, hh_mm: &str, why: &str) -> Command {
    Command::SetMilestone {
        milestone: hereby_core::types::MilestoneName::parse(name).unwrap(),
        at: at(hh_mm),
        reason: reason(why),
    }
}

pub(crate) fn note(raw: &str) -> Command {
    Command::AddNote { text: text(raw) }
}

pub(crate) fn op(target: &str, action: &str) -> Command {
    Command::RecordOperation {
        target: Target::parse(target).unwrap(),
        action: text(action),
        command: None,
        witness: None,
    }
}

/// An operation with a witness.
pub(crate) fn op_witnessed(target: &str, action: &str, witness: &str) -> Command {
    Command::RecordOperation {
        target: Target::parse(target).unwrap(),
        action: text(action),
        command: None,
        witness: Some(user(witness)),
    }
}

pub(crate) fn intent(target: &str, action: &str) -> Command {
    Command::AnnounceIntent {
        target: Target::parse(target).unwrap(),
        action: text(action),
        witness: None,
    }
}

pub(crate) fn intent_witnessed(target: &str, action: &str, witness: &str) -> Command {
    Command::AnnounceIntent {
        target: Target::parse(target).unwrap(),
        action: text(action),
        witness: Some(user(witness)),
    }
}

pub(crate) fn intent_done(intent: u32) -> Command {
    Command::CompleteIntent {
        intent,
        command: Some(text("systemctl restart mysql")),
        witness: None,
    }
}

pub(crate) fn intent_abandoned(intent: u32) -> Command {
    Command::AbandonIntent {
        intent,
        reason: Some(reason("replica caught up by itself")),
    }
}

pub(crate) fn require_witness(required: bool) -> Command {
    Command::RequireWitness { required }
}

pub(crate) fn acknowledge_changes() -> Command {
    Command::AcknowledgeChanges
}

pub(crate) fn operation_attempt(target: &str, action: &str) -> Command {
    Command::NoteOperationAttempt {
        target: Target::parse(target).unwrap(),
        action: text(action),
    }
}

/// Checklist answers: live or not, users, sites, services as `name:criticality` (or just
/// `name` when not in the catalogue), then availability, data loss or security, workaround.
pub(crate) fn checklist(
    live: bool,
    users: Option<u64>,
    sites: &[&str],
    services: &[&str],
    flags: (bool, bool, bool),
) -> Checklist {
    Checklist {
        live,
        users_affected: users,
        users_estimated: false,
        sites: sites.iter().map(|s| Site::parse(s).unwrap()).collect(),
        services: services
            .iter()
            .map(|raw| {
                let (name, criticality) = raw.split_once(':').map_or((*raw, None), |(n, c)| {
                    (n, Some(Criticality::parse(c).unwrap()))
                });
                AffectedService {
                    service: ServiceName::parse(name).unwrap(),
                    criticality,
                }
            })
            .collect(),
        availability: flags.0,
        data_loss_or_security: flags.1,
        workaround: flags.2,
    }
}

pub(crate) fn evaluate(answers: Checklist, chosen: Option<&str>, why: Option<&str>) -> Command {
    Command::EvaluateSeverity {
        checklist: answers,
        chosen: chosen.map(|s| Severity::parse(s).unwrap()),
        reason: why.map(reason),
    }
}

pub(crate) fn suspect(service: &str, version: &str) -> Command {
    Command::SetSuspectRelease {
        release: Some(ReleaseRef {
            service: ServiceName::parse(service).unwrap(),
            version: ReleaseVersion::parse(version).unwrap(),
        }),
        reason: None,
    }
}

/// A follow-up decision, with what the release record says: the latest release of the
/// suspect's service and the one before the suspect.
pub(crate) fn decision(option: &str, latest: Option<&str>, before: Option<&str>) -> Command {
    Command::RecordDecision {
        option: FollowUpOption::parse(option).unwrap(),
        motivation: reason("the least disruptive step that restores service"),
        facts: ReleaseFacts {
            latest: latest.map(|v| ReleaseVersion::parse(v).unwrap()),
            before_suspect: before.map(|v| ReleaseVersion::parse(v).unwrap()),
        },
    }
}

pub(crate) fn op_with_command(target: &str, action: &str, command: &str) -> Command {
    Command::RecordOperation {
        target: Target::parse(target).unwrap(),
        action: text(action),
        command: Some(text(command)),
        witness: None,
    }
}

pub(crate) fn link(kind: &str, to: &str) -> Command {
    Command::AddLink {
        kind: LinkKind::parse(kind).unwrap(),
        url: url(to),
        title: None,
    }
}

pub(crate) fn link_titled(kind: &str, to: &str, title: &str) -> Command {
    Command::AddLink {
        kind: LinkKind::parse(kind).unwrap(),
        url: url(to),
        title: Some(Title::parse(title).unwrap()),
    }
}

/// Evidence with a fixed size and digest; only the name varies.
pub(crate) fn evidence(name: &str) -> Command {
    Command::AttachEvidence {
        name: FileName::parse(name).unwrap(),
        media_type: MediaType::parse("text/plain").unwrap(),
        size: 1234,
        sha256: Sha256Hex::parse(&"ab".repeat(32)).unwrap(),
    }
}

pub(crate) fn add_item_task(what: &str, who: &str) -> Command {
    Command::AddActionItem {
        text: text(what),
        owner: owner(who),
        due: None,
        kind: ActionKind::Task,
        tracker_url: None,
    }
}

pub(crate) fn add_item_follow_up(what: &str, who: &str) -> Command {
    Command::AddActionItem {
        text: text(what),
        owner: owner(who),
        due: None,
        kind: ActionKind::FollowUp,
        tracker_url: None,
    }
}

/// A follow-up with a due date (`YYYY-MM-DD`) and a tracker link.
pub(crate) fn add_item_follow_up_tracked(
    what: &str,
    who: &str,
    due: &str,
    tracker: &str,
) -> Command {
    Command::AddActionItem {
        text: text(what),
        owner: owner(who),
        due: Some(date(due)),
        kind: ActionKind::FollowUp,
        tracker_url: Some(url(tracker)),
    }
}

/// Change an item's owner, due date (`YYYY-MM-DD`) or tracker link; `None` leaves it as is.
pub(crate) fn update_item(
    item: u32,
    who: Option<&str>,
    due: Option<&str>,
    tracker: Option<&str>,
) -> Command {
    Command::UpdateActionItem {
        item,
        owner: who.map(owner),
        due: due.map(date),
        tracker_url: tracker.map(url),
    }
}

pub(crate) fn complete(item: u32) -> Command {
    Command::CompleteActionItem { item }
}

pub(crate) fn wont_fix(item: u32, why: &str) -> Command {
    Command::WontFixActionItem {
        item,
        reason: reason(why),
    }
}

pub(crate) fn reopen(item: u32) -> Command {
    Command::ReopenActionItem { item }
}

pub(crate) fn add_member(person: &str) -> Command {
    Command::AddMember {
        person: user(person),
    }
}

pub(crate) fn post_update(audience: &str, body: &str, public: bool) -> Command {
    Command::PostUpdate {
        audience: hereby_core::types::Audience::parse(audience).unwrap(),
        body: text(body),
        public,
        quiet: false,
    }
}

pub(crate) fn public_summary(words: Option<&str>) -> Command {
    Command::SetPublicSummary {
        text: words.map(text),
    }
}

pub(crate) fn declare_with_public_summary(title: &str, words: &str) -> Command {
    Command::Declare {
        title: Title::parse(title).unwrap(),
        summary: None,
        public_summary: Some(text(words)),
        severity: Severity::Sev2,
        potential: false,
        services: Vec::new(),
        visibility: Visibility::Internal,
        triage: false,
    }
}

pub(crate) fn visibility(to: &str, why: &str) -> Command {
    Command::ChangeVisibility {
        to: hereby_core::types::Visibility::parse(to).unwrap(),
        reason: reason(why),
    }
}

pub(crate) fn remove_member(person: &str) -> Command {
    Command::RemoveMember {
        person: user(person),
    }
}

/// One step of a story: who asks for what.
pub(crate) type Step = (&'static str, Command);

/// A story replayed: the state it reached and the envelopes it recorded.
pub(crate) struct Story {
    pub(crate) state: State,
    pub(crate) envelopes: Vec<Envelope>,
}

/// Decides and evolves each step in order, one minute apart from [`t0`]. Every step must
/// succeed: a story is the setup of a case, not its subject.
pub(crate) fn play(given: &[Step]) -> Story {
    let policy = Policy::default();
    let mut story = Story {
        state: State::initial(),
        envelopes: Vec::new(),
    };
    for (index, (actor, command)) in given.iter().enumerate() {
        let actor = user(actor);
        let now = step_time(index);
        let ctx = Context {
            now,
            actor: &actor,
            policy: &policy,
        };
        let events = decide(&story.state, command.clone(), ctx).unwrap_or_else(|rejection| {
            panic!(
                "given step {} ({command:?}) was rejected: {rejection}",
                index + 1
            )
        });
        for event in events {
            let envelope = Envelope {
                at: now,
                actor: actor.clone(),
                event,
            };
            story.state = evolve(story.state, &envelope);
            story.envelopes.push(envelope);
        }
    }
    story
}

/// Plays `given`, then decides `when` one minute after the last step.
pub(crate) fn decide_after(given: &[Step], when: &Step) -> Result<Vec<Event>, Rejection> {
    let story = play(given);
    let policy = Policy::default();
    let (actor, command) = when;
    let actor = user(actor);
    let ctx = Context {
        now: step_time(given.len()),
        actor: &actor,
        policy: &policy,
    };
    decide(&story.state, command.clone(), ctx)
}

/// One line per event (`type {body}`), or `rejected <code>: <message>`.
pub(crate) fn render_outcome(outcome: &Result<Vec<Event>, Rejection>) -> String {
    match outcome {
        Ok(events) => events.iter().map(|event| format!("{event}\n")).collect(),
        Err(rejection) => format!(
            "rejected {}: {}\n",
            rejection.code.as_str(),
            rejection.message
        ),
    }
}

/// Drafts the post-mortem from the `full` template with a stand-in text.
/// Files the post-mortem under `tags` and `factors`.
pub(crate) fn tag_postmortem(tags: &[&str], factors: &[&str]) -> Command {
    let parse = |raw: &[&str]| {
        raw.iter()
            .map(|tag| hereby_core::types::Tag::parse(tag).unwrap())
            .collect()
    };
    Command::TagPostmortem {
        tags: parse(tags),
        factors: parse(factors),
    }
}

pub(crate) fn draft() -> Command {
    Command::DraftPostmortem {
        template: TemplateName::parse("full").unwrap(),
        body: Document::parse("# Draft\n\nWritten from the timeline.").unwrap(),
    }
}

/// Saves a new revision, optionally naming the revision it was edited from.
pub(crate) fn revise(body: &str, base: Option<u32>) -> Command {
    Command::RevisePostmortem {
        body: Document::parse(body).unwrap(),
        base_revision: base,
        comment: None,
    }
}

pub(crate) fn delegate_review(to: &str) -> Command {
    Command::DelegatePostmortem { to: user(to) }
}

pub(crate) fn submit() -> Command {
    Command::SubmitPostmortem
}

pub(crate) fn comment(raw: &str) -> Command {
    Command::CommentPostmortem { text: text(raw) }
}

pub(crate) fn approve() -> Command {
    Command::ApprovePostmortem
}

pub(crate) fn mark_reviewed() -> Command {
    Command::MarkPostmortemReviewed {
        gate: Default::default(),
    }
}

pub(crate) fn publish() -> Command {
    Command::PublishPostmortem {
        gate: Default::default(),
    }
}

/// A review step with what the linter still finds, and the owner's reason to go ahead.
pub(crate) fn gate(findings: &[&str], reason: Option<&str>) -> hereby_core::review::ReviewGate {
    hereby_core::review::ReviewGate {
        findings: findings
            .iter()
            .map(|finding| (*finding).to_owned())
            .collect(),
        override_reason: reason.map(self::reason),
    }
}

/// Marks timeline entry `sequence` as `plain`, `starred` or `excluded`.
pub(crate) fn mark_entry(sequence: u64, mark: &str) -> Command {
    Command::MarkTimelineEntry {
        sequence,
        mark: EntryMark::parse(mark).unwrap(),
    }
}

/// Moves the next review meeting to `YYYY-MM-DDTHH:MM` (UTC).
pub(crate) fn schedule_meeting(when: &str) -> Command {
    Command::ScheduleReviewMeeting {
        at: format!("{when}:00Z").parse().unwrap(),
    }
}

/// Records a meeting with `attendees` and outcomes like `(1, "done", "")`,
/// `(2, "wont_fix", "reason")` or `(3, "open", "2024-07-01")`.
pub(crate) fn record_meeting(attendees: &[&str], outcomes: &[(u32, &str, &str)]) -> Command {
    Command::RecordReviewMeeting {
        attendees: attendees.iter().map(|name| user(name)).collect(),
        notes: None,
        outcomes: outcomes
            .iter()
            .map(|(item, decision, detail)| {
                let decision = ReviewDecision::parse(decision).unwrap();
                FollowUpOutcome {
                    item: *item,
                    decision,
                    reason: (decision == ReviewDecision::WontFix && !detail.is_empty())
                        .then(|| reason(detail)),
                    due: (decision == ReviewDecision::Open && !detail.is_empty())
                        .then(|| date(detail)),
                }
            })
            .collect(),
        held_at: None,
    }
}

/// A recorded meeting that took place at `at` (RFC 3339).
pub(crate) fn held_at(command: Command, at: &str) -> Command {
    match command {
        Command::RecordReviewMeeting {
            attendees,
            notes,
            outcomes,
            ..
        } => Command::RecordReviewMeeting {
            attendees,
            notes,
            outcomes,
            held_at: Some(at.parse().unwrap()),
        },
        other => other,
    }
}

pub(crate) fn alert_group(id: u64) -> hereby_core::event::AlertGroupRef {
    hereby_core::event::AlertGroupRef {
        id,
        route: text("default"),
        label: text("alertname=\"HighLatency\", service=\"checkout\""),
        title: text("HighLatency checkout"),
        why: text("grouped by route default, window 30m, extending up to 2d"),
    }
}

/// A candidate, as a route in triage mode declares it.
pub(crate) fn declare_candidate(title: &str) -> Command {
    match declare(title) {
        Command::Declare {
            title,
            summary,
            public_summary,
            severity,
            potential,
            services,
            visibility,
            ..
        } => Command::Declare {
            title,
            summary,
            public_summary,
            severity,
            potential,
            services,
            visibility,
            triage: true,
        },
        _ => unreachable!(),
    }
}

pub(crate) fn attach(id: u64) -> Command {
    Command::AttachAlertGroup {
        group: alert_group(id),
    }
}

pub(crate) fn note_alerts(
    group: u64,
    fired: &[&str],
    resolved: &[&str],
    all_resolved: bool,
) -> Command {
    Command::NoteAlerts {
        group,
        fired: fired.iter().map(|s| text(s)).collect(),
        resolved: resolved.iter().map(|s| text(s)).collect(),
        all_resolved,
    }
}

pub(crate) fn export(item: u32, tracker: &str) -> Command {
    Command::ExportActionItem {
        item,
        tracker: hereby_core::types::TrackerName::parse(tracker).unwrap(),
    }
}

pub(crate) fn record_export(item: u32, tracker: &str, key: &str) -> Command {
    Command::RecordExport {
        item,
        tracker: hereby_core::types::TrackerName::parse(tracker).unwrap(),
        key: text(key),
        url: url("https://github.com/acme/api/issues/12"),
    }
}

pub(crate) fn tracker_says(item: u32, state: &str, reason: Option<&str>) -> Command {
    Command::ReportTrackerState {
        item,
        state: hereby_core::types::TrackedState::parse(state).unwrap(),
        reason: reason.map(|why| hereby_core::types::Reason::parse(why).unwrap()),
    }
}

pub(crate) fn unlink(item: u32, why: &str) -> Command {
    Command::UnlinkTracker {
        item,
        reason: hereby_core::types::Reason::parse(why).unwrap(),
    }
}
