//! Working hours and workload as the application keeps and reads them: each person's hours
//! are a setting of kind `working_hours` named after them (set by themselves or an admin), and
//! the workload of a set of incidents is the core's rule over their timelines' actions.

use std::collections::BTreeMap;

use hereby_api as api;
use hereby_core::types::{IncidentNumber, InstallationRole, InvalidValue, UserName};
use hereby_core::workload::{PersonWorkload, WorkingHours, workload_of_work};
use hereby_store::{AdminSetting, Communications, Directory, Store, User};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::{App, AppError};

/// The setting kind working hours are stored under, one per person.
pub const HOURS_KIND: &str = "working_hours";

/// Working hours as stored: the texts the person gave, checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Stored {
    time_zone: String,
    working: String,
    late_until: String,
    days: String,
}

impl Stored {
    fn of(hours: &WorkingHours) -> Self {
        let (time_zone, working, late_until, days) = hours.describe();
        Self {
            time_zone,
            working,
            late_until,
            days,
        }
    }

    fn hours(&self) -> Result<WorkingHours, InvalidValue> {
        WorkingHours::parse(&self.time_zone, &self.working, &self.late_until, &self.days)
    }

    fn wire(&self, default: bool) -> api::WorkingHours {
        api::WorkingHours {
            time_zone: self.time_zone.clone(),
            working: self.working.clone(),
            late_until: self.late_until.clone(),
            days: self.days.clone(),
            default,
        }
    }
}

impl<S: Communications + Directory> App<S> {
    /// `name`'s working hours, and whether they are the defaults.
    pub async fn working_hours(&self, name: &UserName) -> Result<api::WorkingHours, AppError> {
        self.store.user(name).await?;
        Ok(match self.stored_hours(name).await? {
            Some(stored) => stored.wire(false),
            None => Stored::of(&WorkingHours::default()).wire(true),
        })
    }

    /// Sets `name`'s working hours as `actor` (themselves, or an admin): the fields given
    /// replace the current ones, each checked; nothing is stored unless all are good.
    pub async fn set_working_hours(
        &self,
        actor: &User,
        name: &UserName,
        request: &api::SetWorkingHours,
    ) -> Result<api::WorkingHours, AppError> {
        if &actor.name != name && actor.role != InstallationRole::Admin {
            return Err(AppError::Forbidden(
                "only admins can set someone else's working hours",
            ));
        }
        self.store.user(name).await?;
        let current = self
            .stored_hours(name)
            .await?
            .unwrap_or_else(|| Stored::of(&WorkingHours::default()));
        let pick = |given: &Option<String>, kept: &str| {
            given
                .as_deref()
                .map(str::trim)
                .filter(|text| !text.is_empty())
                .unwrap_or(kept)
                .to_owned()
        };
        let wanted = Stored {
            time_zone: pick(&request.time_zone, &current.time_zone),
            working: pick(&request.working, &current.working),
            late_until: pick(&request.late_until, &current.late_until),
            days: pick(&request.days, &current.days),
        };
        // Stored as the core writes them back, so that what is shown is what is meant.
        let stored = Stored::of(&wanted.hours()?);
        self.store
            .put_setting(&AdminSetting {
                kind: HOURS_KIND.to_owned(),
                name: name.to_string(),
                // A struct of strings always serializes.
                value: serde_json::to_string(&stored).unwrap_or_default(),
                updated_at: Timestamp::now(),
                updated_by: actor.name.clone(),
            })
            .await?;
        Ok(stored.wire(false))
    }

    async fn stored_hours(&self, name: &UserName) -> Result<Option<Stored>, AppError> {
        Ok(self
            .store
            .list_settings(HOURS_KIND)
            .await?
            .into_iter()
            .find(|setting| setting.name == name.as_str())
            .and_then(|setting| serde_json::from_str(&setting.value).ok()))
    }
}

impl<S: Store + Communications> App<S> {
    /// The workload of `incidents` from their timelines: every event a person recorded is an
    /// action, judged by that person's working hours (the defaults for anyone who set none).
    pub(crate) async fn workload_of(
        &self,
        incidents: &[(IncidentNumber, &crate::facts::Facts)],
    ) -> Result<BTreeMap<UserName, PersonWorkload>, AppError> {
        let hours: BTreeMap<String, WorkingHours> = self
            .store
            .list_settings(HOURS_KIND)
            .await?
            .into_iter()
            .filter_map(|setting| {
                let stored: Stored = serde_json::from_str(&setting.value).ok()?;
                Some((setting.name, stored.hours().ok()?))
            })
            .collect();
        // Each incident's parts are kept with its facts: a read only adds them up.
        let parts = incidents
            .iter()
            .flat_map(|(number, facts)| facts.work.iter().map(move |part| (*number, part)));
        Ok(workload_of_work(parts, |person| {
            hours.get(person.as_str()).cloned().unwrap_or_default()
        }))
    }
}

/// A person's workload as the API shows it.
pub fn workload_wire(person: &UserName, figures: &PersonWorkload) -> api::PersonWorkload {
    api::PersonWorkload {
        person: person.to_string(),
        total_seconds: figures.hours.total().as_secs(),
        working_seconds: figures.hours.working.as_secs(),
        late_seconds: figures.hours.late.as_secs(),
        sleeping_seconds: figures.hours.sleeping.as_secs(),
        actions: figures.activities as u64,
        incidents: figures.incidents.len() as u64,
    }
}
