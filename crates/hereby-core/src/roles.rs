//! The role catalogue: which roles exist on an incident, who may hold them, and their duties.

use serde::{Deserialize, Serialize};

use crate::types::RoleKey;

/// The key of the Incident Commander role, which every catalogue has and which every
/// declared incident has exactly one holder of.
pub const INCIDENT_COMMANDER: &str = "incident_commander";
/// The key of the Operations role, which the Incident Commander may never hold.
pub const OPERATIONS: &str = "operations";
/// The name the system itself records under (reminder notes and the like): never a person,
/// so never a responder, a role variable or someone to thank.
pub const SYSTEM_ACTOR: &str = "hereby";

/// One role an incident can staff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleDefinition {
    /// Stable key, e.g. `scribe`.
    pub key: RoleKey,
    /// Human name, e.g. `Scribe`.
    pub name: String,
    /// Whether several people may hold it at once (operations, SMEs) or just one (IC, scribe).
    pub multiple_holders: bool,
    /// The duty checklist shown to whoever holds the role.
    pub duties: Vec<String>,
}

/// The set of roles an installation uses. Configurable; [`RoleCatalogue::default`] gives the
/// standard incident-command roles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleCatalogue {
    roles: Vec<RoleDefinition>,
}

/// Why a configured catalogue is not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogueError {
    /// Every catalogue needs the IC and operations roles, since core rules refer to them.
    #[error("the role catalogue must contain `{0}`")]
    Missing(&'static str),
    /// The IC role must be held by exactly one person.
    #[error("`incident_commander` must be a single-holder role")]
    CommanderMustBeSingle,
    /// Each key may appear once.
    #[error("role `{0}` is defined twice")]
    Duplicate(RoleKey),
}

impl RoleCatalogue {
    /// Builds a catalogue, checking the roles the core rules depend on.
    pub fn new(roles: Vec<RoleDefinition>) -> Result<Self, CatalogueError> {
        for (index, role) in roles.iter().enumerate() {
            if roles[..index].iter().any(|other| other.key == role.key) {
                return Err(CatalogueError::Duplicate(role.key.clone()));
            }
        }
        let commander = roles
            .iter()
            .find(|role| role.key.as_str() == INCIDENT_COMMANDER)
            .ok_or(CatalogueError::Missing(INCIDENT_COMMANDER))?;
        if commander.multiple_holders {
            return Err(CatalogueError::CommanderMustBeSingle);
        }
        if !roles.iter().any(|role| role.key.as_str() == OPERATIONS) {
            return Err(CatalogueError::Missing(OPERATIONS));
        }
        Ok(Self { roles })
    }

    /// Looks up a role by key.
    pub fn get(&self, key: &RoleKey) -> Option<&RoleDefinition> {
        self.roles.iter().find(|role| &role.key == key)
    }

    /// All roles, in catalogue order.
    pub fn roles(&self) -> &[RoleDefinition] {
        &self.roles
    }
}

impl Default for RoleCatalogue {
    fn default() -> Self {
        let role =
            |key: &str, name: &str, multiple_holders: bool, duties: &[&str]| RoleDefinition {
                key: RoleKey::parse(key).unwrap_or_else(|_| unreachable_key(key)),
                name: name.to_owned(),
                multiple_holders,
                duties: duties.iter().map(|duty| (*duty).to_owned()).collect(),
            };
        let roles = vec![
            role(
                INCIDENT_COMMANDER,
                "Incident Commander",
                false,
                &[
                    "Keep the incident state document open and current",
                    "Announce the incident to the people who need to know",
                    "Hand out the other roles instead of doing the work yourself",
                    "Decide when service is back to normal and declare it resolved",
                ],
            ),
            role(
                OPERATIONS,
                "Operations",
                true,
                &[
                    "Stop the bleeding first, find the root cause later",
                    "Say what you are about to change before you change it",
                    "Record every change with its target and the command used",
                ],
            ),
            role(
                "communications",
                "Communications",
                false,
                &[
                    "Send the first stakeholder message early",
                    "Post updates on the agreed cadence, even when nothing changed",
                    "Keep the incident state document readable for newcomers",
                ],
            ),
            role(
                "scribe",
                "Scribe",
                false,
                &[
                    "Write down what happens, when, and who decided it",
                    "Attach logs, graphs and other evidence as they come up",
                ],
            ),
            role(
                "subject_matter_expert",
                "Subject-Matter Expert",
                true,
                &[
                    "Bring knowledge of the affected system to the responders",
                    "Tell the Incident Commander what a proposed change risks",
                ],
            ),
            role(
                "planning",
                "Planning",
                false,
                &[
                    "Track longer-running work and hand-offs between shifts",
                    "File follow-up items so nothing found during the incident is lost",
                ],
            ),
            role(
                "release_manager",
                "Release Manager",
                false,
                &[
                    "Judge whether rolling back the latest release would help",
                    "Prepare and run a roll-back or a fast-tracked release",
                ],
            ),
            role(
                "operations_manager",
                "Operations Manager",
                false,
                &[
                    "Reach the operators of affected sites and services",
                    "Send broadcasts about workarounds and release issues",
                ],
            ),
        ];
        // The default roles satisfy every rule `new` checks; building it directly avoids a
        // fallible path for a constant.
        Self { roles }
    }
}

/// The default catalogue only uses literal keys that are valid slugs; reaching this means the
/// literals above were edited into something invalid, which the unit tests catch.
#[allow(clippy::panic)]
fn unreachable_key(key: &str) -> ! {
    panic!("default role key `{key}` is not a valid role key")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_catalogue_passes_its_own_checks() {
        let default = RoleCatalogue::default();
        assert_eq!(
            RoleCatalogue::new(default.roles().to_vec()),
            Ok(default.clone())
        );
        assert_eq!(default.roles().len(), 8);
        let ops = default.get(&RoleKey::parse(OPERATIONS).unwrap()).unwrap();
        assert!(ops.multiple_holders);
    }

    #[test]
    fn catalogue_rules() {
        let mut roles = RoleCatalogue::default().roles().to_vec();
        roles[0].multiple_holders = true;
        assert_eq!(
            RoleCatalogue::new(roles.clone()),
            Err(CatalogueError::CommanderMustBeSingle)
        );
        roles.remove(0);
        assert_eq!(
            RoleCatalogue::new(roles.clone()),
            Err(CatalogueError::Missing(INCIDENT_COMMANDER))
        );
        let mut dup = RoleCatalogue::default().roles().to_vec();
        dup.push(dup[2].clone());
        assert!(matches!(
            RoleCatalogue::new(dup),
            Err(CatalogueError::Duplicate(_))
        ));
    }
}
