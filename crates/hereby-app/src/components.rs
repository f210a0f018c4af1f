//! The status page's components as admins keep them: saving one (fields left out keep their
//! value) and removing one. The API and the settings page both go through here; the status
//! page hears of each change through [`App::settings_generation`].

use hereby_core::types::{ComponentStatus, InstallationRole, InvalidValue, ServiceName};
use hereby_store::{Communications, Component, Store, User};
use jiff::Timestamp;

use crate::{App, AppError, require};

/// The longest component description, in characters.
const DESCRIPTION_MAX: usize = 500;

/// A change to a component; `None` keeps what is stored (or the default for a new one).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ComponentChange {
    pub description: Option<String>,
    pub position: Option<i64>,
    /// A status set by hand, or `auto` (or empty) to derive it from incidents again.
    pub status: Option<String>,
    /// The group to show it under, or empty for none.
    pub group: Option<String>,
}

/// The longest group name, in characters.
const GROUP_MAX: usize = 64;

impl<S: Store + Communications> App<S> {
    /// Creates or changes a component as `actor` (an admin).
    pub async fn save_component(
        &self,
        actor: &User,
        name: &str,
        change: ComponentChange,
    ) -> Result<Component, AppError> {
        require(actor, InstallationRole::Admin)?;
        let name = ServiceName::parse(name)?;
        let existing = self.store.list_components().await?;
        let known = existing.iter().find(|c| c.name == name);
        // A component shows the incidents of the service of the same name: one that names no
        // catalogued service would never change. Components made before the check keep working.
        if known.is_none() {
            crate::catalogue::require_catalogued(&self.store, &[&name], &[], "component").await?;
        }
        let description = match change.description {
            Some(description) => description.trim().to_owned(),
            None => known
                .map(|known| known.description.clone())
                .unwrap_or_default(),
        };
        let status = match change.status.as_deref().map(str::trim) {
            None => known.and_then(|known| known.status),
            Some("" | "auto") => None,
            Some(raw) => Some(ComponentStatus::parse(raw)?),
        };
        let group = match change.group.as_deref().map(str::trim) {
            None => known.and_then(|known| known.group.clone()),
            Some("") => None,
            Some(group)
                if group.chars().count() > GROUP_MAX || group.chars().any(char::is_control) =>
            {
                return Err(AppError::Invalid(InvalidValue {
                    field: "group",
                    problem: format!(
                        "is a name of 1 to {GROUP_MAX} characters without control characters"
                    ),
                }));
            }
            Some(group) => {
                // Each group's id is made from its name: two names may not make one id, nor
                // a name make none.
                let id = hereby_core::public::group_id(group);
                if id == "group-" {
                    return Err(AppError::Invalid(InvalidValue {
                        field: "group",
                        problem: "needs a letter or a digit".to_owned(),
                    }));
                }
                if let Some(other) = existing
                    .iter()
                    .filter_map(|c| c.group.as_deref())
                    .find(|other| *other != group && hereby_core::public::group_id(other) == id)
                {
                    return Err(AppError::Invalid(InvalidValue {
                        field: "group",
                        problem: format!(
                            "`{group}` is too like the group `{other}`; use that name"
                        ),
                    }));
                }
                Some(group.to_owned())
            }
        };
        if description.chars().count() > DESCRIPTION_MAX {
            return Err(AppError::Invalid(InvalidValue {
                field: "description",
                problem: format!("is longer than {DESCRIPTION_MAX} characters"),
            }));
        }
        let now = Timestamp::now();
        let position = change.position.unwrap_or_else(|| match known {
            Some(known) => known.position,
            None => existing
                .iter()
                .map(|c| c.position)
                .max()
                .unwrap_or(0)
                .saturating_add(1),
        });
        let component = Component {
            name,
            description,
            position,
            status,
            group,
            created_at: known.map_or(now, |known| known.created_at),
            updated_at: now,
        };
        let stored = self.store.put_component(&component).await?;
        self.settings_changed();
        Ok(stored)
    }

    /// Removes a component as `actor` (an admin).
    pub async fn delete_component(&self, actor: &User, name: &str) -> Result<(), AppError> {
        require(actor, InstallationRole::Admin)?;
        let name = ServiceName::parse(name).map_err(|_| AppError::not_found("this component"))?;
        if !self.store.remove_component(&name).await? {
            return Err(AppError::not_found("this component"));
        }
        self.settings_changed();
        Ok(())
    }
}
