//! Who may do what on an incident: the permission table, as data.
//!
//! Each command that changes how an incident is run belongs to a [`Capability`]; the table
//! lists, per capability, who may use it: holders of a role *on this incident*, any admin of
//! the installation, or any responder. The shipped table follows the practice the product
//! implements (the Incident Commander runs the incident, Communications speaks to
//! stakeholders, Operations changes production, everyone writes down what they see) and an
//! installation may replace any row (TOML, like the severity rules).
//!
//! A few rules are not configurable and are checked here whatever the table says: the
//! Incident Commander never performs operations, making a restricted incident public needs an
//! admin, and anyone may leave a role they hold. Commands outside the table (the post-mortem's
//! review steps, accepting a hand-off, acknowledging changes) have rules of their own in
//! [`crate::decide`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::command::Command;
use crate::decide::{Rejection, RejectionCode, reject};
use crate::roles::{INCIDENT_COMMANDER, RoleCatalogue};
use crate::state::Incident;
use crate::types::{InstallationRole, RoleKey, Status, UserName, Visibility};

/// What a command does, as the permission table names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Capability {
    /// Move the status and set the impact window.
    Status,
    /// Change or evaluate the severity.
    Severity,
    /// Change who may see the incident; add and remove members.
    Visibility,
    /// Assign and unassign roles.
    Roles,
    /// Ask someone to take command, or withdraw the request.
    Handoff,
    /// Record the follow-up decision and name the suspect release.
    Decisions,
    /// Post stakeholder updates and write the public summary.
    Updates,
    /// Record operations, announce intents and carry them out.
    Operations,
    /// Add notes, links, evidence and action items; mark timeline entries.
    Notes,
}

impl Capability {
    /// Every capability, in table order.
    pub const ALL: [Capability; 9] = [
        Capability::Status,
        Capability::Severity,
        Capability::Visibility,
        Capability::Roles,
        Capability::Handoff,
        Capability::Decisions,
        Capability::Updates,
        Capability::Operations,
        Capability::Notes,
    ];

    /// The key of the capability in the table.
    pub fn as_str(self) -> &'static str {
        match self {
            Capability::Status => "status",
            Capability::Severity => "severity",
            Capability::Visibility => "visibility",
            Capability::Roles => "roles",
            Capability::Handoff => "handoff",
            Capability::Decisions => "decisions",
            Capability::Updates => "updates",
            Capability::Operations => "operations",
            Capability::Notes => "notes",
        }
    }

    /// What the capability covers, for a person reading the table.
    pub fn covers(self) -> &'static str {
        match self {
            Capability::Status => {
                "move the status (resolve, reopen, close, call off, hand back); set the impact window and the milestones"
            }
            Capability::Severity => "change or evaluate the severity",
            Capability::Visibility => "change who may see the incident; add and remove members",
            Capability::Roles => "assign and unassign roles",
            Capability::Handoff => "ask someone to take command, or withdraw the request",
            Capability::Decisions => "record the follow-up decision; name the suspect release",
            Capability::Updates => "post stakeholder updates; write the public summary",
            Capability::Operations => "record operations; announce intents and carry them out",
            Capability::Notes => {
                "add notes, links, evidence and action items; mark timeline entries"
            }
        }
    }

    /// The capability a command needs, or `None` for commands whose rules live elsewhere
    /// (declaring, answering a hand-off, the post-mortem and its review meetings, the IC's own
    /// acknowledgements, the system's notes).
    pub fn of(command: &Command) -> Option<Capability> {
        use Command as C;
        Some(match command {
            C::ChangeStatus { .. } | C::SetImpactWindow { .. } | C::SetMilestone { .. } => {
                Capability::Status
            }
            C::ChangeSeverity { .. } | C::EvaluateSeverity { .. } => Capability::Severity,
            C::ChangeVisibility { .. } | C::AddMember { .. } | C::RemoveMember { .. } => {
                Capability::Visibility
            }
            C::AssignRole { .. } | C::UnassignRole { .. } => Capability::Roles,
            C::RequestHandoff { .. } | C::CancelHandoff => Capability::Handoff,
            C::RecordDecision { .. } | C::SetSuspectRelease { .. } => Capability::Decisions,
            C::PostUpdate { .. } | C::SetPublicSummary { .. } => Capability::Updates,
            C::RecordOperation { .. } | C::AnnounceIntent { .. } | C::CompleteIntent { .. } => {
                Capability::Operations
            }
            C::AddNote { .. }
            | C::AddLink { .. }
            | C::AttachEvidence { .. }
            | C::AddActionItem { .. }
            | C::UpdateActionItem { .. }
            | C::CompleteActionItem { .. }
            | C::WontFixActionItem { .. }
            | C::ReopenActionItem { .. }
            | C::ExportActionItem { .. }
            | C::UnlinkTracker { .. }
            | C::MarkTimelineEntry { .. }
            | C::AttachAlertGroup { .. } => Capability::Notes,
            C::Declare { .. }
            | C::AcceptCandidate
            | C::DeclineCandidate { .. }
            | C::MergeCandidate { .. }
            | C::TakeCommand
            | C::NoteAlerts { .. }
            | C::RecordExport { .. }
            | C::ReportTrackerState { .. }
            | C::AcceptHandoff
            | C::DeclineHandoff { .. }
            | C::AbandonIntent { .. }
            | C::RequireWitness { .. }
            | C::AcknowledgeChanges
            | C::NoteOperationAttempt { .. }
            | C::DraftPostmortem { .. }
            | C::RevisePostmortem { .. }
            | C::DelegatePostmortem { .. }
            | C::SubmitPostmortem
            | C::CommentPostmortem { .. }
            | C::TagPostmortem { .. }
            | C::ApprovePostmortem
            | C::MarkPostmortemReviewed { .. }
            | C::PublishPostmortem { .. }
            | C::ScheduleReviewMeeting { .. }
            | C::RecordReviewMeeting { .. } => return None,
        })
    }
}

/// Who one entry of the table lets act.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Holder {
    /// Whoever holds this role on the incident.
    Role(RoleKey),
    /// Any admin of the installation.
    Admin,
    /// Any responder.
    Anyone,
}

impl Holder {
    fn parse(raw: &str) -> Result<Self, PermissionsError> {
        match raw {
            "admin" => Ok(Holder::Admin),
            "anyone" => Ok(Holder::Anyone),
            key => RoleKey::parse(key)
                .map(Holder::Role)
                .map_err(|_| PermissionsError(format!("`{key}` is not a role key"))),
        }
    }

    /// The spelling in the table.
    pub fn as_str(&self) -> &str {
        match self {
            Holder::Role(key) => key.as_str(),
            Holder::Admin => "admin",
            Holder::Anyone => "anyone",
        }
    }
}

/// Why a permission table is not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PermissionsError(pub String);

/// The permission table: who may use each capability. Every capability has a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permissions {
    rows: BTreeMap<Capability, Vec<Holder>>,
}

impl Permissions {
    /// The table hereby ships with, as TOML with comments (what `hereby serve --permissions`
    /// reads).
    pub const DEFAULT_TOML: &'static str = include_str!("defaults/permissions.toml");

    /// Reads a table from TOML. A capability left out keeps its shipped row; an unknown
    /// capability, an empty row or an entry that is no role key is an error.
    pub fn from_toml(text: &str) -> Result<Self, PermissionsError> {
        let mut rows = read_rows(text)?;
        if rows.len() < Capability::ALL.len() {
            for (capability, holders) in read_rows(Self::DEFAULT_TOML)? {
                rows.entry(capability).or_insert(holders);
            }
        }
        match Capability::ALL.iter().find(|c| !rows.contains_key(c)) {
            Some(missing) => Err(PermissionsError(format!(
                "`{}` has no row",
                missing.as_str()
            ))),
            None => Ok(Self { rows }),
        }
    }

    /// Checks that every role the table names is in the catalogue, so that a typo cannot
    /// silently let nobody act.
    pub fn check_roles(&self, roles: &RoleCatalogue) -> Result<(), PermissionsError> {
        for (capability, holders) in &self.rows {
            for holder in holders {
                if let Holder::Role(key) = holder
                    && roles.get(key).is_none()
                {
                    let known: Vec<&str> = roles.roles().iter().map(|r| r.key.as_str()).collect();
                    return Err(PermissionsError(format!(
                        "`{}`: no role `{key}` in the role catalogue (roles: {})",
                        capability.as_str(),
                        known.join(", ")
                    )));
                }
            }
        }
        Ok(())
    }

    /// Who may use `capability`.
    pub fn holders(&self, capability: Capability) -> &[Holder] {
        self.rows.get(&capability).map_or(&[], Vec::as_slice)
    }

    /// The table as TOML that [`Permissions::from_toml`] reads back.
    pub fn to_toml(&self) -> String {
        let mut out = String::new();
        for capability in Capability::ALL {
            let entries: Vec<String> = self
                .holders(capability)
                .iter()
                .map(|holder| format!("\"{}\"", holder.as_str()))
                .collect();
            out.push_str(&format!(
                "{} = [{}]\n",
                capability.as_str(),
                entries.join(", ")
            ));
        }
        out
    }

    /// Whether `actor` (with installation role `role`) may run `command` on `incident` now.
    /// A refusal names who can. Only the table and the fixed rules above are asked here;
    /// [`crate::decide`] still checks the command against the incident's state.
    pub fn authorize(
        &self,
        incident: &Incident,
        command: &Command,
        actor: &UserName,
        role: InstallationRole,
        roles: &RoleCatalogue,
    ) -> Result<(), Rejection> {
        if role < InstallationRole::Responder {
            return reject(
                RejectionCode::NotPermitted,
                "viewers can read incidents but not change them",
            );
        }
        if let Command::ChangeVisibility {
            to: Visibility::Public,
            ..
        } = command
            && incident.visibility == Visibility::Restricted
            && role != InstallationRole::Admin
        {
            return reject(
                RejectionCode::NotPermitted,
                "only an admin can make a restricted incident public; ask an admin, or make it internal first",
            );
        }
        // A candidate's status moves only by triage, which any responder may do: `decide`
        // refuses any other move in words that say so, rather than the table naming an
        // Incident Commander a candidate does not have.
        if incident.status == Status::Triage && matches!(command, Command::ChangeStatus { .. }) {
            return Ok(());
        }
        let Some(capability) = Capability::of(command) else {
            return Ok(());
        };
        if capability == Capability::Operations && incident.commander() == Some(actor) {
            // The practice's own rule, not the table's: the commander coordinates. `decide`
            // words the refusal, and the edge keeps the attempt on the timeline.
            return Ok(());
        }
        if let Command::UnassignRole { person, .. } = command
            && person == actor
        {
            return Ok(());
        }
        let holders = self.holders(capability);
        let allowed = holders.iter().any(|holder| match holder {
            Holder::Anyone => true,
            Holder::Admin => role == InstallationRole::Admin,
            Holder::Role(key) => incident.holds(actor, key),
        });
        if allowed {
            return Ok(());
        }
        reject(
            RejectionCode::NotPermitted,
            refusal(holders, incident, command, roles),
        )
    }
}

/// The rows a TOML table spells out, checked.
fn read_rows(text: &str) -> Result<BTreeMap<Capability, Vec<Holder>>, PermissionsError> {
    let raw: BTreeMap<Capability, Vec<String>> =
        toml::from_str(text).map_err(|e| PermissionsError(e.to_string().trim().to_owned()))?;
    let mut rows = BTreeMap::new();
    for (capability, entries) in raw {
        if entries.is_empty() {
            return Err(PermissionsError(format!(
                "`{}` lets nobody act; list at least one of a role key, \"admin\" or \"anyone\"",
                capability.as_str()
            )));
        }
        let mut holders = Vec::new();
        for entry in &entries {
            let holder = Holder::parse(entry.trim())
                .map_err(|e| PermissionsError(format!("`{}`: {}", capability.as_str(), e.0)))?;
            if !holders.contains(&holder) {
                holders.push(holder);
            }
        }
        rows.insert(capability, holders);
    }
    Ok(rows)
}

impl Default for Permissions {
    fn default() -> Self {
        // The shipped file is checked by a test; should it ever fail to read, the fallback
        // lets the Incident Commander and admins do everything, which refuses nothing the
        // practice needs.
        Self::from_toml(Self::DEFAULT_TOML).unwrap_or_else(|_| Self {
            rows: Capability::ALL
                .into_iter()
                .map(|capability| {
                    let commander = RoleKey::parse(INCIDENT_COMMANDER).map(Holder::Role);
                    (
                        capability,
                        commander.into_iter().chain([Holder::Admin]).collect(),
                    )
                })
                .collect(),
        })
    }
}

/// "only the Incident Commander (sam) or an admin can resolve this incident; ask sam, or ask
/// them to hand command to you".
fn refusal(
    holders: &[Holder],
    incident: &Incident,
    command: &Command,
    roles: &RoleCatalogue,
) -> String {
    let mut who = Vec::new();
    let mut askable: Vec<&str> = Vec::new();
    let mut other_role = None;
    for holder in holders {
        match holder {
            Holder::Anyone => who.push("any responder".to_owned()),
            Holder::Admin => who.push("an admin".to_owned()),
            Holder::Role(key) => {
                let name = roles
                    .get(key)
                    .map_or_else(|| key.as_str().to_owned(), |role| role.name.clone());
                let name = if key.as_str() == INCIDENT_COMMANDER {
                    format!("the {name}")
                } else {
                    name
                };
                let held = incident.holders_of(key.as_str());
                let names: Vec<&str> = held.iter().map(UserName::as_str).collect();
                who.push(match names.as_slice() {
                    [] => format!("{name} (nobody holds it now)"),
                    _ => format!("{name} ({})", names.join(", ")),
                });
                for person in names {
                    if !askable.contains(&person) {
                        askable.push(person);
                    }
                }
                if key.as_str() != INCIDENT_COMMANDER && other_role.is_none() {
                    other_role = Some(name);
                }
            }
        }
    }
    let mut sentence = format!("only {} can {}", join_or(&who), verb(command, incident));
    match (other_role, incident.commander()) {
        (Some(role), Some(commander)) if askable.is_empty() => {
            sentence.push_str(&format!("; ask {commander} to give you {role}"));
        }
        (Some(role), Some(commander)) => sentence.push_str(&format!(
            "; ask {}, or ask {commander} to give you {role}",
            join_or(&askable)
        )),
        (None, Some(commander)) => sentence.push_str(&format!(
            "; ask {commander}, or ask them to hand command to you"
        )),
        _ => {}
    }
    sentence
}

/// "a", "a or b", "a, b or c".
fn join_or(items: &[impl AsRef<str>]) -> String {
    match items {
        [] => "nobody".to_owned(),
        [one] => one.as_ref().to_owned(),
        [rest @ .., last] => {
            let rest: Vec<&str> = rest.iter().map(AsRef::as_ref).collect();
            format!("{} or {}", rest.join(", "), last.as_ref())
        }
    }
}

/// What the command would do, as the end of "only … can ___".
fn verb(command: &Command, incident: &Incident) -> &'static str {
    use Command as C;
    match command {
        C::ChangeStatus { to, .. } => match to {
            Status::Resolved => "resolve this incident",
            Status::Closed => "close this incident",
            Status::CalledOff => "call off this incident",
            Status::HandedBack => "hand this incident back",
            _ if !incident.status.is_active() => "reopen this incident",
            _ => "change the status of this incident",
        },
        C::SetImpactWindow { .. } => "set the impact window of this incident",
        C::SetMilestone { .. } => "set a milestone of this incident",
        C::ChangeSeverity { .. } | C::EvaluateSeverity { .. } => {
            "change the severity of this incident"
        }
        C::ChangeVisibility { .. } => "change who may see this incident",
        C::AddMember { .. } | C::RemoveMember { .. } => "change the members of this incident",
        C::AssignRole { .. } | C::UnassignRole { .. } => "assign roles on this incident",
        C::RequestHandoff { .. } | C::CancelHandoff => "hand off command of this incident",
        C::RecordDecision { .. } => "record the follow-up decision of this incident",
        C::SetSuspectRelease { .. } => "name the suspect release of this incident",
        C::PostUpdate { .. } => "post stakeholder updates for this incident",
        C::SetPublicSummary { .. } => "write the public summary of this incident",
        C::RecordOperation { .. } | C::AnnounceIntent { .. } | C::CompleteIntent { .. } => {
            "change production for this incident"
        }
        _ => "do this on this incident",
    }
}
