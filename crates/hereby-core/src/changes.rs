//! Change discipline: announced intents, witnesses, change collisions and roles left unstaffed.
//!
//! Two people changing production in the same few minutes make any recovery unexplainable:
//! nobody can tell which change helped. Every operation and intent is a change mark; a change
//! by someone else within the window since the Incident Commander last acknowledged the
//! changes is a collision, flagged on the timeline as the second change (or intent) lands.

use jiff::Timestamp;

use crate::command::{Command, Context, Policy};
use crate::decide::{
    Rejection, RejectionCode, reject, require_commander, require_open_for_response,
};
use crate::event::{
    ChangeCollisionFlagged, ChangesAcknowledged, Event, IcOperationAttempted, IntentAbandoned,
    IntentAnnounced, OperationRecorded, WitnessRuleChanged,
};
use crate::roles::OPERATIONS;
use crate::state::{ChangeMark, Incident, Intent};
use crate::types::{IntentState, RoleKey, Severity, Target, UserName};

/// The role a SEV1 or SEV2 incident should have filled, besides operations, once the grace
/// period after declaration is over.
pub const COMMUNICATIONS: &str = "communications";

/// The collision a change by `actor` at `at` on `target` makes, if any. `sequence` is where
/// the new change lands in the stream; `completes` is the intent it carries out, whose own
/// collisions were flagged when it was announced.
pub(crate) fn collision(
    incident: &Incident,
    policy: &Policy,
    actor: &UserName,
    at: Timestamp,
    target: &Target,
    sequence: u64,
    completes: Option<u32>,
) -> Option<ChangeCollisionFlagged> {
    // A change and the announcement of the intent it carries out are one change: a pair
    // flagged through either is not flagged again.
    let announcement = |intent: Option<u32>| {
        intent.and_then(|intent| {
            incident
                .changes
                .iter()
                .find(|mark| mark.intent == Some(intent))
                .map(|mark| mark.sequence)
        })
    };
    let new_side = [Some(sequence), announcement(completes)];
    let already_flagged = |earlier: &ChangeMark| {
        let old_side = [Some(earlier.sequence), announcement(earlier.intent)];
        incident.collisions.iter().any(|c| {
            let pairs = |a: u64, b: u64| {
                old_side.contains(&Some(a)) && new_side.contains(&Some(b))
                    || old_side.contains(&Some(b)) && new_side.contains(&Some(a))
            };
            pairs(c.earlier, c.later)
        })
    };
    let since = at
        .checked_sub(policy.collision_window)
        .unwrap_or(Timestamp::MIN);
    let earlier = incident.changes.iter().rev().find(|mark| {
        &mark.by != actor
            && mark.at >= since
            && incident
                .changes_acknowledged_at
                .is_none_or(|ack| mark.sequence > ack)
            && !mark.intent.is_some_and(|intent| {
                incident
                    .intents
                    .get(&intent)
                    .is_some_and(|i| i.state == IntentState::Abandoned)
            })
            && !already_flagged(mark)
    })?;
    let number = incident
        .collisions
        .last()
        .map_or(1, |last| last.collision + 1);
    Some(ChangeCollisionFlagged {
        collision: number,
        earlier: earlier.sequence,
        later: sequence,
        earlier_by: earlier.by.clone(),
        earlier_target: earlier.target.clone(),
        target: target.clone(),
    })
}

/// Collisions whose window a recovery at `at` falls into: the recovery cannot be attributed
/// to either change.
pub(crate) fn unattributed(incident: &Incident, policy: &Policy, at: Timestamp) -> Vec<u32> {
    incident
        .collisions
        .iter()
        .filter(|c| {
            !c.unattributed
                && !c.dropped
                && c.at
                    .checked_add(policy.collision_window)
                    .unwrap_or(Timestamp::MAX)
                    >= at
        })
        .map(|c| c.collision)
        .collect()
}

/// Roles a SEV1 or SEV2 incident still has nobody in once the policy's grace period after
/// declaration is over: operations and communications. Empty for other incidents.
pub fn unstaffed_roles<'a>(
    incident: &Incident,
    policy: &'a Policy,
    now: Timestamp,
) -> Vec<&'a RoleKey> {
    let serious = matches!(incident.severity, Severity::Sev1 | Severity::Sev2);
    if !serious
        || !incident.status.is_active()
        || now
            < incident
                .declared_at
                .checked_add(policy.staffing_grace)
                .unwrap_or(Timestamp::MAX)
    {
        return Vec::new();
    }
    policy
        .roles
        .roles()
        .iter()
        .map(|role| &role.key)
        .filter(|key| matches!(key.as_str(), OPERATIONS | COMMUNICATIONS))
        .filter(|key| incident.holders_of(key.as_str()).is_empty())
        .collect()
}

/// Decides operations, intents, the witness rule and acknowledgements.
pub(crate) fn decide_change(
    incident: &Incident,
    command: Command,
    ctx: Context<'_>,
) -> Result<Vec<Event>, Rejection> {
    let sequence = incident.version + 1;
    match command {
        Command::RecordOperation {
            target,
            action,
            command,
            witness,
        } => {
            require_open_for_response(incident, "record operations")?;
            refuse_commander(incident, ctx)?;
            check_witness(incident, ctx, witness.as_ref())?;
            let flagged = collision(
                incident, ctx.policy, ctx.actor, ctx.now, &target, sequence, None,
            );
            let mut events = vec![Event::OperationRecorded(OperationRecorded {
                target,
                action,
                command,
                intent: None,
                witness,
            })];
            events.extend(flagged.map(Event::ChangeCollisionFlagged));
            Ok(events)
        }
        Command::AnnounceIntent {
            target,
            action,
            witness,
        } => {
            require_open_for_response(incident, "announce changes")?;
            refuse_commander(incident, ctx)?;
            if witness.as_ref() == Some(ctx.actor) {
                return witness_is_actor();
            }
            let intent = incident
                .intents
                .keys()
                .next_back()
                .map_or(1, |last| last + 1);
            let flagged = collision(
                incident, ctx.policy, ctx.actor, ctx.now, &target, sequence, None,
            );
            let mut events = vec![Event::IntentAnnounced(IntentAnnounced {
                intent,
                target,
                action,
                witness,
            })];
            events.extend(flagged.map(Event::ChangeCollisionFlagged));
            Ok(events)
        }
        Command::CompleteIntent {
            intent,
            command,
            witness,
        } => {
            require_open_for_response(incident, "record operations")?;
            refuse_commander(incident, ctx)?;
            let open = require_open_intent(incident, intent, "done")?;
            if &open.by != ctx.actor {
                return reject(
                    RejectionCode::NotIntentOwner,
                    format!(
                        "intent {intent} was announced by {}; only they can carry it out (announce your own intent instead)",
                        open.by
                    ),
                );
            }
            let witness = witness.or_else(|| open.witness.clone());
            check_witness(incident, ctx, witness.as_ref())?;
            let flagged = collision(
                incident,
                ctx.policy,
                ctx.actor,
                ctx.now,
                &open.target,
                sequence,
                Some(intent),
            );
            let mut events = vec![Event::OperationRecorded(OperationRecorded {
                target: open.target.clone(),
                action: open.action.clone(),
                command,
                intent: Some(intent),
                witness,
            })];
            events.extend(flagged.map(Event::ChangeCollisionFlagged));
            Ok(events)
        }
        Command::AbandonIntent { intent, reason } => {
            let open = require_open_intent(incident, intent, "abandoned")?;
            if &open.by != ctx.actor && incident.commander() != Some(ctx.actor) {
                return reject(
                    RejectionCode::NotIntentOwner,
                    format!(
                        "intent {intent} was announced by {}; only they or the Incident Commander can abandon it",
                        open.by
                    ),
                );
            }
            Ok(vec![Event::IntentAbandoned(IntentAbandoned {
                intent,
                reason,
            })])
        }
        Command::RequireWitness { required } => {
            require_open_for_response(incident, "change the witness rule")?;
            require_commander(incident, ctx, "change the witness rule")?;
            if incident.witness_required == required {
                return reject(
                    RejectionCode::NothingToChange,
                    if required {
                        "operations already need a witness on SEV1 and SEV2"
                    } else {
                        "operations already need no witness"
                    },
                );
            }
            Ok(vec![Event::WitnessRuleChanged(WitnessRuleChanged {
                required,
            })])
        }
        Command::AcknowledgeChanges => {
            require_commander(incident, ctx, "acknowledge changes")?;
            let unacknowledged = incident.changes.iter().any(|mark| {
                incident
                    .changes_acknowledged_at
                    .is_none_or(|ack| mark.sequence > ack)
            });
            let collisions: Vec<u32> = incident.open_collisions().map(|c| c.collision).collect();
            if !unacknowledged && collisions.is_empty() {
                return reject(
                    RejectionCode::NothingToChange,
                    "no change or collision since the last acknowledgement",
                );
            }
            Ok(vec![Event::ChangesAcknowledged(ChangesAcknowledged {
                collisions,
            })])
        }
        Command::NoteOperationAttempt { target, action } => {
            if incident.commander() != Some(ctx.actor) {
                return reject(
                    RejectionCode::NotIncidentCommander,
                    "only an attempt by the Incident Commander to do operations work is recorded",
                );
            }
            Ok(vec![Event::IcOperationAttempted(IcOperationAttempted {
                target,
                action,
            })])
        }
        _ => reject(RejectionCode::NothingToChange, "not a change command"),
    }
}

/// The Incident Commander coordinates; someone else changes production.
fn refuse_commander(incident: &Incident, ctx: Context<'_>) -> Result<(), Rejection> {
    if incident.commander() == Some(ctx.actor) {
        return reject(
            RejectionCode::IcCannotOperate,
            "the Incident Commander coordinates and does not perform operations; ask someone in the operations role, or hand off command first",
        );
    }
    Ok(())
}

fn witness_is_actor<T>() -> Result<T, Rejection> {
    reject(
        RejectionCode::WitnessIsActor,
        "a witness is a second person who agreed to the change; name someone other than yourself",
    )
}

fn check_witness(
    incident: &Incident,
    ctx: Context<'_>,
    witness: Option<&UserName>,
) -> Result<(), Rejection> {
    if witness == Some(ctx.actor) {
        return witness_is_actor();
    }
    let serious = matches!(incident.severity, Severity::Sev1 | Severity::Sev2);
    if incident.witness_required && serious && witness.is_none() {
        return reject(
            RejectionCode::WitnessRequired,
            format!(
                "on this {} incident the Incident Commander requires a witness for every operation: name the person who agreed to the change and watches it being made",
                incident.severity
            ),
        );
    }
    Ok(())
}

fn require_open_intent<'a>(
    incident: &'a Incident,
    intent: u32,
    becoming: &str,
) -> Result<&'a Intent, Rejection> {
    let Some(found) = incident.intents.get(&intent) else {
        return reject(
            RejectionCode::UnknownIntent,
            format!("there is no intent {intent} on this incident"),
        );
    };
    if found.state != IntentState::Open {
        return reject(
            RejectionCode::IntentState,
            format!(
                "intent {intent} is already {}; only open intents can be marked {becoming}",
                found.state
            ),
        );
    }
    Ok(found)
}
