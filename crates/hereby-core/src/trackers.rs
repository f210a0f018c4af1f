//! Follow-ups kept in a team's issue tracker: how each tracker's word for an issue's state
//! reads in hereby's terms, and what a tracker's report changes on the follow-up.
//!
//! Once a follow-up is exported the tracker owns its state: people close the issue where they
//! work, and hereby follows (a webhook, and a reconcile poll for the webhooks that get lost).
//! hereby keeps the link to the incident and the review cadence.

use crate::decide::{Rejection, RejectionCode};
use crate::event::{
    ActionItemCompleted, ActionItemExportRequested, ActionItemExported, ActionItemReopened,
    ActionItemUnlinked, ActionItemWontFix, Event,
};
use crate::state::{ActionItem, Incident};
use crate::types::{ActionKind, ActionState, Reason, Status, Text, TrackedState, TrackerName, Url};

/// GitHub's issue `state` and `state_reason` in hereby's terms: closed as `not_planned` or
/// as a `duplicate` is won't-do (with that reason), closed otherwise (`completed`, or no
/// reason from older issues) is done. `None` for a state GitHub does not have.
pub fn from_github(
    state: &str,
    state_reason: Option<&str>,
) -> Option<(TrackedState, Option<&'static str>)> {
    match (state, state_reason) {
        ("open", _) => Some((TrackedState::Open, None)),
        ("closed", Some("not_planned")) => Some((
            TrackedState::WontDo,
            Some("closed as not planned in the tracker"),
        )),
        ("closed", Some("duplicate")) => Some((
            TrackedState::WontDo,
            Some("closed as a duplicate in the tracker"),
        )),
        ("closed", _) => Some((TrackedState::Done, None)),
        _ => None,
    }
}

/// GitLab's issue `state` in hereby's terms: GitLab closes an issue without a reason, so a
/// closed issue is done.
pub fn from_gitlab(state: &str) -> Option<TrackedState> {
    match state {
        "opened" | "reopened" => Some(TrackedState::Open),
        "closed" => Some(TrackedState::Done),
        _ => None,
    }
}

/// Refuses a change of `item`'s state by a person while a tracker owns it.
pub(crate) fn require_untracked(item: &ActionItem, doing: &str) -> Result<(), Rejection> {
    let Some(link) = &item.tracker else {
        return Ok(());
    };
    let message = match &link.key {
        Some(key) => format!(
            "follow-up {} is kept in tracker `{}` as {}: {doing} it there and hereby follows \
             (or unlink it first)",
            item.item,
            link.tracker,
            key.as_str()
        ),
        None => format!(
            "follow-up {} is being opened in tracker `{}`: {doing} it there once it exists \
             (or unlink it first)",
            item.item, link.tracker
        ),
    };
    Err(Rejection {
        code: RejectionCode::TrackedElsewhere,
        message,
    })
}

/// Asks for `item` to be opened in `tracker`: only an open follow-up not already kept in a
/// tracker or being opened in one (to ask again, unlink it first: then the earlier request
/// is owed nothing, and no second issue is made for it).
pub(crate) fn export(
    incident: &Incident,
    item: &ActionItem,
    tracker: TrackerName,
) -> Result<Vec<Event>, Rejection> {
    if item.kind != ActionKind::FollowUp {
        return refuse(
            RejectionCode::ActionItemState,
            format!(
                "action item {} is a {}; only follow-ups are opened in a tracker",
                item.item,
                item.kind.as_str().replace('_', "-")
            ),
        );
    }
    if item.state != ActionState::Open {
        return refuse(
            RejectionCode::ActionItemState,
            format!(
                "follow-up {} is {}; only open follow-ups are opened in a tracker",
                item.item, item.state
            ),
        );
    }
    if incident.status == Status::Closed {
        return refuse(
            RejectionCode::IncidentEnded,
            "the incident is closed; its follow-ups are no longer opened in a tracker",
        );
    }
    if let Some(link) = &item.tracker {
        let message = match &link.key {
            Some(key) => format!(
                "follow-up {} is already kept in tracker `{}` as {}",
                item.item,
                link.tracker,
                key.as_str()
            ),
            None => format!(
                "follow-up {} is already being opened in tracker `{}`; unlink it first to ask \
                 again",
                item.item, link.tracker
            ),
        };
        return refuse(RejectionCode::AlreadyTracked, message);
    }
    Ok(vec![Event::ActionItemExportRequested(
        ActionItemExportRequested {
            item: item.item,
            tracker,
        },
    )])
}

/// Records the issue `tracker` made for `item`, if it is the tracker asked. A repeated answer
/// changes nothing; an answer for a follow-up no longer waiting for that tracker's issue
/// (unlinked meanwhile) is `not_tracked`.
pub(crate) fn exported(
    item: &ActionItem,
    tracker: TrackerName,
    key: Text,
    url: Url,
) -> Result<Vec<Event>, Rejection> {
    match &item.tracker {
        Some(link) if link.key.is_some() => refuse(
            RejectionCode::NothingToChange,
            format!("follow-up {} already has its tracker issue", item.item),
        ),
        Some(link) if link.tracker != tracker => refuse(
            RejectionCode::NotTracked,
            format!(
                "follow-up {} is being opened in tracker `{}`, not `{tracker}`",
                item.item, link.tracker
            ),
        ),
        Some(_) => Ok(vec![Event::ActionItemExported(ActionItemExported {
            item: item.item,
            tracker,
            key,
            url,
        })]),
        None => refuse(
            RejectionCode::NotTracked,
            format!("follow-up {} is no longer kept in a tracker", item.item),
        ),
    }
}

/// What the tracker's word on `item` changes: done or won't-do closes an open follow-up,
/// open reopens a closed one, and a switch between done and won't-do (reopened and closed
/// again in the tracker) is recorded as both steps. A follow-up of a closed incident is not
/// reopened: a closed incident keeps no open follow-ups, so the refusal says so and the
/// tracker's state shows as a sync error.
pub(crate) fn reported(
    incident: &Incident,
    item: &ActionItem,
    state: TrackedState,
    reason: Option<Reason>,
) -> Result<Vec<Event>, Rejection> {
    let Some(link) = &item.tracker else {
        return refuse(
            RejectionCode::NotTracked,
            format!("follow-up {} is not kept in a tracker", item.item),
        );
    };
    // A tracker name is a short slug, so the sentence is always a valid reason.
    let reason = match reason {
        Some(reason) => reason,
        None => Reason::parse(&format!("closed as won't do in tracker `{}`", link.tracker))
            .map_err(|e| Rejection {
                code: RejectionCode::NothingToChange,
                message: e.to_string(),
            })?,
    };
    let reason = || reason.clone();
    let wont_fix = |item: u32| {
        Event::ActionItemWontFix(ActionItemWontFix {
            item,
            reason: reason(),
        })
    };
    let number = item.item;
    let events = match (item.state, state) {
        (ActionState::Open, TrackedState::Open) | (ActionState::Done, TrackedState::Done) => {
            Vec::new()
        }
        (ActionState::WontFix, TrackedState::WontDo) => {
            if item.wont_fix_reason.as_ref() == Some(&reason()) {
                Vec::new()
            } else {
                vec![
                    Event::ActionItemReopened(ActionItemReopened { item: number }),
                    wont_fix(number),
                ]
            }
        }
        (ActionState::Open, TrackedState::Done) => {
            vec![Event::ActionItemCompleted(ActionItemCompleted {
                item: number,
            })]
        }
        (ActionState::Open, TrackedState::WontDo) => vec![wont_fix(number)],
        (ActionState::Done, TrackedState::WontDo) => vec![
            Event::ActionItemReopened(ActionItemReopened { item: number }),
            wont_fix(number),
        ],
        (ActionState::WontFix, TrackedState::Done) => vec![
            Event::ActionItemReopened(ActionItemReopened { item: number }),
            Event::ActionItemCompleted(ActionItemCompleted { item: number }),
        ],
        (ActionState::Done | ActionState::WontFix, TrackedState::Open) => {
            if incident.status == Status::Closed {
                return refuse(
                    RejectionCode::IncidentEnded,
                    format!(
                        "the tracker reopened follow-up {number}, but the incident is closed and \
                         keeps no open follow-ups; it stays {} here",
                        item.state
                    ),
                );
            }
            vec![Event::ActionItemReopened(ActionItemReopened {
                item: number,
            })]
        }
    };
    if events.is_empty() {
        return refuse(
            RejectionCode::NothingToChange,
            format!("follow-up {number} is already {}", item.state),
        );
    }
    Ok(events)
}

/// Whether `item` waits for `tracker` to make its issue: an export delivery is owed
/// something only then (not once unlinked, or asked of another tracker since).
pub fn awaits_issue(item: &ActionItem, tracker: &str) -> bool {
    item.tracker
        .as_ref()
        .is_some_and(|link| link.tracker.as_str() == tracker && link.key.is_none())
}

/// Stops following `item`'s tracker issue.
pub(crate) fn unlink(item: &ActionItem, reason: Reason) -> Result<Vec<Event>, Rejection> {
    if item.tracker.is_none() {
        return refuse(
            RejectionCode::NotTracked,
            format!("follow-up {} is not kept in a tracker", item.item),
        );
    }
    Ok(vec![Event::ActionItemUnlinked(ActionItemUnlinked {
        item: item.item,
        reason,
    })])
}

fn refuse<T>(code: RejectionCode, message: impl Into<String>) -> Result<T, Rejection> {
    Err(Rejection {
        code,
        message: message.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_states_read_as_hereby_states() {
        let cases = [
            ("open", None, Some(TrackedState::Open)),
            ("open", Some("reopened"), Some(TrackedState::Open)),
            ("closed", Some("completed"), Some(TrackedState::Done)),
            ("closed", None, Some(TrackedState::Done)),
            ("closed", Some("not_planned"), Some(TrackedState::WontDo)),
            ("closed", Some("duplicate"), Some(TrackedState::WontDo)),
            ("locked", None, None),
        ];
        for (state, reason, expected) in cases {
            assert_eq!(
                from_github(state, reason).map(|(state, _)| state),
                expected,
                "{state} {reason:?}"
            );
        }
        assert_eq!(from_gitlab("closed"), Some(TrackedState::Done));
        assert_eq!(from_gitlab("opened"), Some(TrackedState::Open));
        assert_eq!(from_gitlab("merged"), None);
    }
}
