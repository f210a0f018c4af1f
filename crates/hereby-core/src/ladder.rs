//! The follow-up decision ladder: from least to most perturbation, do nothing, broadcast,
//! roll back, fast-track a release. For each rung it says whether it applies here, and which
//! actions (with owners by role) choosing it sets in motion.

use serde::{Deserialize, Serialize};

use crate::command::{Command, Context};
use crate::decide::{Rejection, RejectionCode, reject, require_open_for_response};
use crate::event::{
    ActionItemAdded, ActionItemWontFix, DecisionRecorded, Event, SuspectReleaseSet,
};
use crate::roles::INCIDENT_COMMANDER;
use crate::state::Incident;
use crate::types::{
    ActionKind, ActionState, FollowUpOption, Owner, Reason, ReleaseVersion, RoleKey, ServiceName,
    Text,
};

/// A release of a service: the one an incident names as suspect, or one to go back to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ReleaseRef {
    pub service: ServiceName,
    pub version: ReleaseVersion,
}

impl std::fmt::Display for ReleaseRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.service, self.version)
    }
}

/// What the release record says about the suspect release's service, looked up by the edge:
/// its latest release, and the release before the suspect one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseFacts {
    pub latest: Option<ReleaseVersion>,
    pub before_suspect: Option<ReleaseVersion>,
}

/// One action a decision sets in motion, owned by whoever holds a role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedAction {
    pub text: String,
    /// A role key, such as `release_manager`.
    pub role: &'static str,
}

/// One rung of the ladder as it stands for an incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rung {
    pub option: FollowUpOption,
    pub applicable: bool,
    /// Why it applies or not, or what to weigh, in a sentence.
    pub note: String,
    pub actions: Vec<PlannedAction>,
    /// The message template whose draft goes with the decision, if any.
    pub template: Option<&'static str>,
    /// For a roll-back: the release to go back to.
    pub roll_back_to: Option<ReleaseRef>,
}

/// The ladder's guidance, shown with every decision.
pub const GUIDANCE: &str = "Pick the lowest rung that works: doing nothing and broadcasting disturb least; roll back only when the latest release introduced the fault; fast-track a release only when nothing lower applies.";

/// Every rung, lowest first, for this incident and what the release record says.
pub fn ladder(incident: &Incident, facts: &ReleaseFacts) -> Vec<Rung> {
    FollowUpOption::ALL
        .iter()
        .map(|&option| rung(incident, option, facts))
        .collect()
}

/// One rung of [`ladder`].
pub fn rung(incident: &Incident, option: FollowUpOption, facts: &ReleaseFacts) -> Rung {
    let action = |text: String, role: &'static str| PlannedAction { text, role };
    let close = |what: &str| {
        action(
            format!("Resolve the incident once {what}"),
            INCIDENT_COMMANDER,
        )
    };
    match option {
        FollowUpOption::DoNothing => Rung {
            option,
            applicable: true,
            note: "Below the incident bar or harmless for now: hand it back to normal support with a ticket.".to_owned(),
            actions: vec![
                action("Open a support ticket that carries what is known".to_owned(), INCIDENT_COMMANDER),
                action("Hand the incident back to normal support, naming the ticket".to_owned(), INCIDENT_COMMANDER),
            ],
            template: None,
            roll_back_to: None,
        },
        FollowUpOption::InformationBroadcast => Rung {
            option,
            applicable: true,
            note: "Users can live with the problem if they know about it and its workaround.".to_owned(),
            actions: vec![
                action("Agree the broadcast's audience and the workaround it describes".to_owned(), "operations_manager"),
                action("Send the information broadcast to the affected users".to_owned(), "communications"),
                close("the broadcast is out and support knows the workaround"),
            ],
            template: Some("release-broadcast"),
            roll_back_to: None,
        },
        FollowUpOption::RollBack => {
            let (applicable, note, to) = roll_back_check(incident, facts);
            let target = to.as_ref().map_or_else(
                || "to the previous release".to_owned(),
                |to| format!("{} from {} to {}", to.service, suspect_version(incident), to.version),
            );
            Rung {
                option,
                applicable,
                note,
                actions: vec![
                    action(format!("Roll back {target}"), "release_manager"),
                    action("Announce the roll-back to the affected users before it starts".to_owned(), "communications"),
                    action("Confirm the service is back to normal after the roll-back".to_owned(), "operations_manager"),
                    close("the roll-back is confirmed"),
                ],
                template: Some("rollback-announcement"),
                roll_back_to: to,
            }
        }
        FollowUpOption::FastTrackedRelease => Rung {
            option,
            applicable: true,
            note: "Only when nothing lower applies: a release outside the normal cycle carries its own risk.".to_owned(),
            actions: vec![
                action("Build, test and ship a fast-tracked release with the fix".to_owned(), "release_manager"),
                action("Tell the affected users when the fixed release is out".to_owned(), "communications"),
                close("the fixed release is verified in production"),
            ],
            template: None,
            roll_back_to: None,
        },
    }
}

fn suspect_version(incident: &Incident) -> String {
    incident
        .suspect_release
        .as_ref()
        .map_or_else(String::new, |suspect| suspect.version.to_string())
}

/// A roll-back helps only when the latest release of the service introduced the fault: a
/// latent fault, already there before the latest release, stays after going back one release.
fn roll_back_check(
    incident: &Incident,
    facts: &ReleaseFacts,
) -> (bool, String, Option<ReleaseRef>) {
    let Some(suspect) = &incident.suspect_release else {
        return (
            false,
            "No suspect release is named: a roll-back only helps when the latest release introduced the fault. Name the suspect release first.".to_owned(),
            None,
        );
    };
    match (&facts.latest, &facts.before_suspect) {
        (Some(latest), _) if latest != &suspect.version => (
            false,
            format!(
                "Latent fault: the suspect release {suspect} is not the latest release of {} ({latest}), so rolling back the latest release would not remove the fault.",
                suspect.service
            ),
            None,
        ),
        (None, _) => (
            false,
            format!(
                "No release of {} is on record; record releases to roll back.",
                suspect.service
            ),
            None,
        ),
        (Some(_), None) => (
            false,
            format!(
                "No release of {} before {} is on record to roll back to.",
                suspect.service, suspect.version
            ),
            None,
        ),
        (Some(_), Some(previous)) => {
            let to = ReleaseRef {
                service: suspect.service.clone(),
                version: previous.clone(),
            };
            (
                true,
                format!(
                    "The latest release {suspect} is the suspect: roll back to {}.",
                    to.version
                ),
                Some(to),
            )
        }
    }
}

/// Decides naming the suspect release and taking a follow-up decision.
pub(crate) fn decide_follow_up(
    incident: &Incident,
    command: Command,
    ctx: Context<'_>,
) -> Result<Vec<Event>, Rejection> {
    match command {
        Command::SetSuspectRelease { release, reason } => {
            require_open_for_response(incident, "name a suspect release")?;
            if incident.suspect_release == release {
                return reject(
                    RejectionCode::NothingToChange,
                    match &release {
                        Some(release) => format!("{release} is already the suspect release"),
                        None => "no suspect release is named".to_owned(),
                    },
                );
            }
            Ok(vec![Event::SuspectReleaseSet(SuspectReleaseSet {
                release,
                reason,
            })])
        }
        Command::RecordDecision {
            option,
            motivation,
            facts,
        } => {
            require_open_for_response(incident, "take follow-up decisions")?;
            let chosen = rung(incident, option, &facts);
            if !chosen.applicable {
                return reject(RejectionCode::RollbackNotApplicable, chosen.note);
            }
            let decision = incident
                .decisions
                .last()
                .map_or(1, |last| last.decision + 1);
            let mut events = Vec::new();
            let mut next_item = incident
                .action_items
                .keys()
                .next_back()
                .map_or(1, |last| last + 1);
            let mut items = Vec::new();
            let mut added = Vec::new();
            for planned in &chosen.actions {
                let Ok(text) = Text::parse(&planned.text) else {
                    continue;
                };
                let role = [planned.role, INCIDENT_COMMANDER]
                    .into_iter()
                    .filter_map(|key| RoleKey::parse(key).ok())
                    .find(|key| ctx.policy.roles.get(key).is_some());
                let Some(role) = role else { continue };
                items.push(next_item);
                added.push(Event::ActionItemAdded(ActionItemAdded {
                    item: next_item,
                    text,
                    owner: Owner::Role(role),
                    due: None,
                    kind: ActionKind::Task,
                    tracker_url: None,
                }));
                next_item += 1;
            }
            // A revised decision replaces the earlier one's plan: its open items will not be
            // done, and say why.
            if let Some(previous) = incident.decisions.last() {
                let why = format!(
                    "superseded by decision {decision} ({})",
                    option.as_str().replace('_', " ")
                );
                if let Ok(reason) = Reason::parse(&why) {
                    for item in &previous.items {
                        let open = incident
                            .action_items
                            .get(item)
                            .is_some_and(|i| i.state == ActionState::Open && !i.tracked());
                        if open {
                            events.push(Event::ActionItemWontFix(ActionItemWontFix {
                                item: *item,
                                reason: reason.clone(),
                            }));
                        }
                    }
                }
            }
            events.push(Event::DecisionRecorded(DecisionRecorded {
                decision,
                option,
                motivation,
                roll_back_to: chosen.roll_back_to,
                items,
            }));
            events.extend(added);
            Ok(events)
        }
        _ => reject(RejectionCode::NothingToChange, "not a follow-up decision"),
    }
}
