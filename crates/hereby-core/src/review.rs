//! The post-mortem's review workflow and the follow-up review meetings: the rules for both,
//! and the meeting agenda.
//!
//! A post-mortem moves `draft → in_review → reviewed → published`. Its owner (the Incident
//! Commander unless delegated) submits it, reviewers comment and approve, and only the owner
//! marks it reviewed, after at least one approval of the current revision. Every save is a new
//! revision and clears earlier approvals. Review meetings start one interval after resolution
//! and recur one interval after each meeting while any follow-up is still open.

use jiff::Timestamp;
use jiff::civil::Date;
use serde::Serialize;

use crate::command::{Command, Context};
use crate::decide::{Rejection, RejectionCode, reject};
use crate::event::{
    ActionItemCompleted, ActionItemUpdated, ActionItemWontFix, Event, PostmortemApproved,
    PostmortemCommented, PostmortemDrafted, PostmortemOwnerChanged, PostmortemPublished,
    PostmortemReviewed, PostmortemRevised, PostmortemSubmitted, PostmortemTagged,
    ReviewMeetingHeld, ReviewMeetingScheduled, TimelineEntryMarked,
};
use crate::state::{Incident, Postmortem};
use crate::types::{
    ActionKind, ActionState, EntryMark, Owner, PostmortemStatus, ReviewDecision, Status, Url,
};

/// The most tags, and the most contributing factors, one post-mortem is filed under.
pub const MAX_TAGS: usize = 20;

/// `tags` sorted, each once; refused (`too_many`) beyond [`MAX_TAGS`].
fn distinct(
    mut tags: Vec<crate::types::Tag>,
    what: &str,
) -> Result<Vec<crate::types::Tag>, Rejection> {
    tags.sort();
    tags.dedup();
    if tags.len() > MAX_TAGS {
        return reject(
            RejectionCode::TooManyTags,
            format!(
                "a post-mortem is filed under at most {MAX_TAGS} {what}, not {}",
                tags.len()
            ),
        );
    }
    Ok(tags)
}

/// Decides the post-mortem commands.
pub(crate) fn decide_postmortem(
    incident: &Incident,
    command: Command,
    ctx: Context<'_>,
) -> Result<Vec<Event>, Rejection> {
    match command {
        Command::DraftPostmortem { template, body } => {
            if incident.status.is_active() {
                return reject(
                    RejectionCode::IncidentActive,
                    format!(
                        "the incident is {}; draft the post-mortem once it is resolved or called off",
                        incident.status
                    ),
                );
            }
            if let Some(postmortem) = &incident.postmortem {
                return reject(
                    RejectionCode::PostmortemExists,
                    format!(
                        "the post-mortem already exists (revision {}, {}); edit it instead",
                        postmortem.revision, postmortem.status
                    ),
                );
            }
            let owner = incident
                .commander()
                .cloned()
                .unwrap_or_else(|| ctx.actor.clone());
            Ok(vec![Event::PostmortemDrafted(PostmortemDrafted {
                template,
                body,
                owner,
            })])
        }
        Command::RevisePostmortem {
            body,
            base_revision,
            comment,
        } => {
            let postmortem = require_postmortem(incident)?;
            if postmortem.status == PostmortemStatus::Published {
                return reject(
                    RejectionCode::PostmortemState,
                    "the post-mortem is published and no longer changes",
                );
            }
            if incident.status == Status::Closed {
                return reject(
                    RejectionCode::IncidentEnded,
                    "the incident is closed on this reviewed post-mortem, which no longer changes",
                );
            }
            if let Some(base) = base_revision
                && base != postmortem.revision
            {
                return reject(
                    RejectionCode::StaleRevision,
                    format!(
                        "you edited revision {base}, but revision {} was saved since (by {}); merge your change into it",
                        postmortem.revision, postmortem.revised_by
                    ),
                );
            }
            Ok(vec![Event::PostmortemRevised(PostmortemRevised {
                revision: postmortem.revision.saturating_add(1),
                body,
                comment,
            })])
        }
        Command::DelegatePostmortem { to } => {
            let postmortem = require_postmortem(incident)?;
            require_not_published(postmortem, "change its owner")?;
            let allowed = &postmortem.owner == ctx.actor || incident.commander() == Some(ctx.actor);
            if !allowed {
                return reject(
                    RejectionCode::NotReviewOwner,
                    format!(
                        "only the review owner ({}) or the Incident Commander can hand the review on",
                        postmortem.owner
                    ),
                );
            }
            if postmortem.owner == to {
                return reject(
                    RejectionCode::NothingToChange,
                    format!("{to} already owns the review"),
                );
            }
            if incident.visibility == crate::types::Visibility::Restricted
                && !incident.is_member(&to)
            {
                return reject(
                    RejectionCode::NotMember,
                    format!(
                        "{to} is not a member of this restricted incident; add them as a member first"
                    ),
                );
            }
            Ok(vec![Event::PostmortemOwnerChanged(
                PostmortemOwnerChanged {
                    from: postmortem.owner.clone(),
                    to,
                },
            )])
        }
        Command::SubmitPostmortem => {
            let postmortem = require_postmortem(incident)?;
            require_owner(postmortem, ctx, "submit it for review")?;
            require_status(postmortem, PostmortemStatus::Draft, "submitted for review")?;
            Ok(vec![Event::PostmortemSubmitted(PostmortemSubmitted {
                revision: postmortem.revision,
            })])
        }
        Command::CommentPostmortem { text } => {
            let postmortem = require_postmortem(incident)?;
            require_not_published(postmortem, "comment on it")?;
            Ok(vec![Event::PostmortemCommented(PostmortemCommented {
                revision: postmortem.revision,
                text,
            })])
        }
        Command::TagPostmortem { tags, factors } => {
            let postmortem = require_postmortem(incident)?;
            let tags = distinct(tags, "tags")?;
            let factors = distinct(factors, "contributing factors")?;
            let same = |given: &[crate::types::Tag], held: &std::collections::BTreeSet<_>| {
                given.len() == held.len() && given.iter().all(|tag| held.contains(tag))
            };
            if same(&tags, &postmortem.tags) && same(&factors, &postmortem.factors) {
                return reject(
                    RejectionCode::NothingToChange,
                    "the post-mortem is already filed under these tags and factors",
                );
            }
            Ok(vec![Event::PostmortemTagged(PostmortemTagged {
                tags,
                factors,
            })])
        }
        Command::ApprovePostmortem => {
            let postmortem = require_postmortem(incident)?;
            require_status(postmortem, PostmortemStatus::InReview, "approved")?;
            if &postmortem.owner == ctx.actor {
                return reject(
                    RejectionCode::OwnerCannotApprove,
                    "the review owner cannot approve their own review; ask a reviewer to approve",
                );
            }
            if postmortem.approvals.contains(ctx.actor) {
                return reject(
                    RejectionCode::AlreadyApproved,
                    format!("you already approved revision {}", postmortem.revision),
                );
            }
            Ok(vec![Event::PostmortemApproved(PostmortemApproved {
                revision: postmortem.revision,
            })])
        }
        Command::MarkPostmortemReviewed { gate } => {
            let postmortem = require_postmortem(incident)?;
            require_owner(postmortem, ctx, "mark it reviewed")?;
            require_status(postmortem, PostmortemStatus::InReview, "marked reviewed")?;
            // The owner's own approval (given before the review was handed to them) does
            // not count: someone else must have approved.
            if postmortem
                .approvals
                .iter()
                .all(|approver| approver == &postmortem.owner)
            {
                return reject(
                    RejectionCode::ApprovalRequired,
                    format!(
                        "no reviewer besides the owner has approved revision {} yet; a reviewer must approve it first",
                        postmortem.revision
                    ),
                );
            }
            let overridden = pass_gate(&gate, "marked reviewed")?;
            Ok(vec![Event::PostmortemReviewed(PostmortemReviewed {
                revision: postmortem.revision,
                overridden,
            })])
        }
        Command::PublishPostmortem { gate } => {
            let postmortem = require_postmortem(incident)?;
            require_owner(postmortem, ctx, "publish it")?;
            require_status(postmortem, PostmortemStatus::Reviewed, "published")?;
            let overridden = pass_gate(&gate, "published")?;
            Ok(vec![Event::PostmortemPublished(PostmortemPublished {
                revision: postmortem.revision,
                overridden,
            })])
        }
        Command::MarkTimelineEntry { sequence, mark } => {
            if sequence == 0 || sequence > incident.version {
                return reject(
                    RejectionCode::UnknownTimelineEntry,
                    format!(
                        "there is no timeline entry #{sequence}; entries are numbered 1 to {}",
                        incident.version
                    ),
                );
            }
            let current = incident
                .timeline_marks
                .get(&sequence)
                .copied()
                .unwrap_or(EntryMark::Plain);
            if current == mark {
                return reject(
                    RejectionCode::NothingToChange,
                    format!("timeline entry #{sequence} is already {mark}"),
                );
            }
            Ok(vec![Event::TimelineEntryMarked(TimelineEntryMarked {
                sequence,
                mark,
            })])
        }
        _ => reject(RejectionCode::NothingToChange, "not a post-mortem command"),
    }
}

/// The first review meeting, one interval after resolution, unless one is already planned.
pub(crate) fn first_meeting(incident: &Incident, ctx: Context<'_>) -> Option<Event> {
    if incident.reviews.next.is_some() {
        return None;
    }
    Some(Event::ReviewMeetingScheduled(ReviewMeetingScheduled {
        meeting: next_meeting_number(incident),
        at: after_interval(ctx),
    }))
}

/// Decides scheduling and recording review meetings.
pub(crate) fn decide_meeting(
    incident: &Incident,
    command: Command,
    ctx: Context<'_>,
) -> Result<Vec<Event>, Rejection> {
    if incident.status != Status::Resolved {
        return reject(
            RejectionCode::InvalidReviewMeeting,
            format!(
                "review meetings follow a resolved incident until it is closed; this one is {}",
                incident.status
            ),
        );
    }
    match command {
        Command::ScheduleReviewMeeting { at } => {
            if at <= ctx.now {
                return reject(
                    RejectionCode::InvalidReviewMeeting,
                    format!("{at} is not in the future"),
                );
            }
            let meeting = match incident.reviews.next {
                Some((meeting, planned)) if planned == at => {
                    return reject(
                        RejectionCode::NothingToChange,
                        format!("review meeting {meeting} is already set for {at}"),
                    );
                }
                Some((meeting, _)) => meeting,
                None => next_meeting_number(incident),
            };
            Ok(vec![Event::ReviewMeetingScheduled(
                ReviewMeetingScheduled { meeting, at },
            )])
        }
        Command::RecordReviewMeeting {
            mut attendees,
            notes,
            outcomes,
            held_at,
        } => {
            if let Some(held) = held_at {
                if held > ctx.now {
                    return reject(
                        RejectionCode::InvalidReviewMeeting,
                        format!("{held} is in the future; record a meeting once it took place"),
                    );
                }
                if incident.resolved_at.is_some_and(|resolved| held < resolved) {
                    return reject(
                        RejectionCode::InvalidReviewMeeting,
                        format!(
                            "{held} is before the incident was resolved; review meetings follow the resolution"
                        ),
                    );
                }
            }
            attendees.sort();
            attendees.dedup();
            if attendees.is_empty() {
                return reject(
                    RejectionCode::InvalidReviewMeeting,
                    "name who attended the meeting",
                );
            }
            let meeting = incident
                .reviews
                .next
                .map_or_else(|| next_meeting_number(incident), |(meeting, _)| meeting);
            let mut events = vec![Event::ReviewMeetingHeld(ReviewMeetingHeld {
                meeting,
                attendees,
                notes,
                outcomes: outcomes.clone(),
                held_at,
            })];
            let mut decided = std::collections::BTreeSet::new();
            for outcome in &outcomes {
                if !decided.insert(outcome.item) {
                    return reject(
                        RejectionCode::InvalidReviewMeeting,
                        format!("follow-up {} has two outcomes; give one", outcome.item),
                    );
                }
                let Some(item) = incident.action_items.get(&outcome.item) else {
                    return reject(
                        RejectionCode::UnknownActionItem,
                        format!("there is no action item {} on this incident", outcome.item),
                    );
                };
                if item.kind != ActionKind::FollowUp || item.state != ActionState::Open {
                    return reject(
                        RejectionCode::ActionItemState,
                        format!(
                            "action item {} is a {} that is {}; meetings decide open follow-ups",
                            item.item,
                            item.kind.as_str().replace('_', "-"),
                            item.state
                        ),
                    );
                }
                if outcome.decision != ReviewDecision::Open {
                    crate::trackers::require_untracked(item, "close")?;
                }
                events.push(match outcome.decision {
                    ReviewDecision::Done => {
                        Event::ActionItemCompleted(ActionItemCompleted { item: item.item })
                    }
                    ReviewDecision::WontFix => {
                        let Some(reason) = outcome.reason.clone() else {
                            return reject(
                                RejectionCode::ReasonRequired,
                                format!("follow-up {}: say why it will not be done", item.item),
                            );
                        };
                        Event::ActionItemWontFix(ActionItemWontFix {
                            item: item.item,
                            reason,
                        })
                    }
                    ReviewDecision::Open => {
                        let Some(due) = outcome.due else {
                            return reject(
                                RejectionCode::InvalidReviewMeeting,
                                format!(
                                    "follow-up {} stays open: give it a new due date",
                                    item.item
                                ),
                            );
                        };
                        if item.due == Some(due) {
                            continue;
                        }
                        Event::ActionItemUpdated(ActionItemUpdated {
                            item: item.item,
                            owner: None,
                            due: Some(due),
                            tracker_url: None,
                        })
                    }
                });
            }
            let still_open = incident.open_follow_ups().any(|item| {
                outcomes
                    .iter()
                    .find(|outcome| outcome.item == item.item)
                    .is_none_or(|outcome| outcome.decision == ReviewDecision::Open)
            });
            if still_open {
                // One interval after the meeting itself, also for one recorded afterwards.
                let from = Context {
                    now: held_at.unwrap_or(ctx.now),
                    ..ctx
                };
                events.push(Event::ReviewMeetingScheduled(ReviewMeetingScheduled {
                    meeting: meeting.saturating_add(1),
                    at: after_interval(from),
                }));
            }
            Ok(events)
        }
        _ => reject(
            RejectionCode::NothingToChange,
            "not a review meeting command",
        ),
    }
}

/// One follow-up as a review meeting's agenda shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgendaItem {
    pub item: u32,
    pub text: String,
    pub owner: Owner,
    pub state: ActionState,
    pub due: Option<Date>,
    pub tracker_url: Option<Url>,
    /// Whole days since the follow-up was added (until it was settled, for settled ones).
    pub days_open: i64,
    /// Open and past its due date.
    pub overdue: bool,
    /// The tracker it is kept in, which says where it stands.
    pub tracker: Option<crate::state::TrackerLink>,
}

/// Every follow-up of the incident, open ones first, as of `now`.
pub fn agenda(incident: &Incident, now: Timestamp) -> Vec<AgendaItem> {
    let today = now.to_zoned(jiff::tz::TimeZone::UTC).date();
    let mut items: Vec<AgendaItem> = incident
        .action_items
        .values()
        .filter(|item| item.kind == ActionKind::FollowUp)
        .map(|item| {
            let until = if item.state == ActionState::Open {
                now
            } else {
                item.updated_at
            };
            AgendaItem {
                item: item.item,
                text: item.text.as_str().to_owned(),
                owner: item.owner.clone(),
                state: item.state,
                due: item.due,
                tracker_url: item.tracker_url.clone(),
                days_open: until.duration_since(item.created_at).as_secs() / 86_400,
                overdue: item.state == ActionState::Open && item.due.is_some_and(|due| due < today),
                tracker: item.tracker.clone(),
            }
        })
        .collect();
    items.sort_by_key(|item| (item.state != ActionState::Open, item.item));
    items
}

/// Whether every follow-up is done or won't fix: the incident may close (given a reviewed
/// post-mortem).
pub fn follow_ups_settled(incident: &Incident) -> bool {
    incident.open_follow_ups().next().is_none()
}

/// Whether the incident may close now without an override: resolved, its post-mortem
/// reviewed or published, and every follow-up settled. Asked of the closing rule itself, so
/// what a page or the API says about closing never differs from what closing then does.
pub fn closable(incident: &Incident) -> bool {
    crate::decide::change_status(incident, Status::Closed, None, false).is_ok()
}

fn next_meeting_number(incident: &Incident) -> u32 {
    incident
        .reviews
        .held
        .last()
        .map_or(1, |held| held.meeting.saturating_add(1))
}

/// One interval from now; for an interval of a day or more, moved to the installation's
/// meeting time on a working day, since people meet at a time of day, not to the second.
fn after_interval(ctx: Context<'_>) -> Timestamp {
    let reached = ctx
        .now
        .checked_add(ctx.policy.review_interval)
        .unwrap_or(ctx.now);
    if ctx.policy.review_interval >= jiff::SignedDuration::from_hours(24) {
        ctx.policy.review_time.on_working_day(reached)
    } else {
        reached
    }
}

fn require_postmortem(incident: &Incident) -> Result<&Postmortem, Rejection> {
    incident.postmortem.as_ref().ok_or_else(|| Rejection {
        code: RejectionCode::NoPostmortem,
        message: "there is no post-mortem yet; draft one first".to_owned(),
    })
}

fn require_owner(postmortem: &Postmortem, ctx: Context<'_>, what: &str) -> Result<(), Rejection> {
    if &postmortem.owner != ctx.actor {
        return reject(
            RejectionCode::NotReviewOwner,
            format!("only the review owner ({}) can {what}", postmortem.owner),
        );
    }
    Ok(())
}

fn require_status(
    postmortem: &Postmortem,
    wanted: PostmortemStatus,
    doing: &str,
) -> Result<(), Rejection> {
    if postmortem.status != wanted {
        return reject(
            RejectionCode::PostmortemState,
            format!(
                "the post-mortem is {}; only {} can be {doing}",
                status_words(postmortem.status),
                match wanted {
                    PostmortemStatus::Draft => "a draft",
                    PostmortemStatus::InReview => "a post-mortem in review",
                    PostmortemStatus::Reviewed => "a reviewed post-mortem",
                    PostmortemStatus::Published => "a published post-mortem",
                }
            ),
        );
    }
    Ok(())
}

/// The status as words in a sentence: `in review` rather than `in_review`.
pub fn status_words(status: PostmortemStatus) -> &'static str {
    match status {
        PostmortemStatus::Draft => "a draft",
        PostmortemStatus::InReview => "in review",
        PostmortemStatus::Reviewed => "reviewed",
        PostmortemStatus::Published => "published",
    }
}

fn require_not_published(postmortem: &Postmortem, what: &str) -> Result<(), Rejection> {
    if postmortem.status == PostmortemStatus::Published {
        return reject(
            RejectionCode::PostmortemState,
            format!("the post-mortem is published; you can no longer {what}"),
        );
    }
    Ok(())
}

/// What the linter still finds in a post-mortem's current text when its owner ends the
/// review or publishes it: blame language, real names outside the People section and template
/// hints not filled in, read by the edge from the text (as a decision is given the release
/// record). Either nothing is left, or the owner says why it may go ahead anyway.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReviewGate {
    /// One line per finding, e.g. "line 12: `<describe the impact>` is still to be filled in".
    pub findings: Vec<String>,
    /// Why the step may go ahead over the findings.
    pub override_reason: Option<crate::types::Reason>,
}

/// Passes `gate`, or refuses with what is left; an override is recorded only when it
/// overrode something.
fn pass_gate(
    gate: &ReviewGate,
    step: &str,
) -> Result<Option<crate::event::GateOverride>, Rejection> {
    if gate.findings.is_empty() {
        return Ok(None);
    }
    match &gate.override_reason {
        Some(reason) => Ok(Some(crate::event::GateOverride {
            reason: reason.clone(),
            findings: u32::try_from(gate.findings.len()).unwrap_or(u32::MAX),
        })),
        None => {
            const SHOWN: usize = 5;
            let mut listed = gate.findings[..gate.findings.len().min(SHOWN)].join("; ");
            if gate.findings.len() > SHOWN {
                listed.push_str(&format!("; and {} more", gate.findings.len() - SHOWN));
            }
            reject(
                RejectionCode::PostmortemFindings,
                format!(
                    "the post-mortem cannot be {step} while the linter still finds {} thing{} in it: {listed}. Rewrite them, or go ahead with a reason that is kept on the timeline",
                    gate.findings.len(),
                    if gate.findings.len() == 1 { "" } else { "s" }
                ),
            )
        }
    }
}
