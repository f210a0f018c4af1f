//! The service catalogue and the release record as the application reads them: services are
//! admin settings of kind `service` (checked here, stored as JSON), releases have their own
//! table.

use std::collections::BTreeMap;

use hereby_api as api;
use hereby_core::Incident;
use hereby_core::duration::Duration;
use hereby_core::ladder::ReleaseFacts;
use hereby_core::severity::AffectedService;
use hereby_core::types::{Criticality, ReleaseVersion, ServiceName, TeamName, Text, UserName};
use hereby_store::{AdminSetting, Communications, Release, ReleaseQuery};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::AppError;

/// The admin-setting kind services are stored under.
pub const SERVICE_KIND: &str = "service";

/// How far ahead of the server's clock a release may be recorded.
pub const CLOCK_SKEW: SignedDuration = SignedDuration::from_mins(5);

/// How far before impact start the incident page looks for releases.
pub const RELEASE_LOOKBACK: SignedDuration = SignedDuration::from_hours(48);

/// A checked catalogue entry, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceEntry {
    pub owner_team: TeamName,
    pub criticality: Criticality,
    /// Duration text as given (`30m`), checked to parse in the one duration grammar.
    pub max_unavailability: Option<String>,
    pub public: bool,
    pub depends_on: Vec<ServiceName>,
    pub incident_definition: Option<Text>,
    pub description: Option<Text>,
}

impl ServiceEntry {
    /// Checks a request's fields; `name` is the service's own name, which it may not depend on.
    pub fn check(name: &ServiceName, request: &api::PutService) -> Result<Self, AppError> {
        let max_unavailability = match request.max_unavailability.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(raw) => {
                let parsed = Duration::parse(raw)
                    .map_err(|error| invalid(format!("max_unavailability: {error}")))?;
                if parsed.is_zero() {
                    return Err(invalid("max_unavailability: must be longer than zero"));
                }
                Some(raw.to_owned())
            }
        };
        let mut depends_on = request
            .depends_on
            .iter()
            .map(|raw| ServiceName::parse(raw))
            .collect::<Result<Vec<_>, _>>()?;
        depends_on.sort();
        depends_on.dedup();
        if depends_on.contains(name) {
            return Err(invalid(format!(
                "depends_on: {name} cannot depend on itself"
            )));
        }
        let optional_text = |raw: &Option<String>| -> Result<Option<Text>, AppError> {
            match raw.as_deref().map(str::trim) {
                None | Some("") => Ok(None),
                Some(text) => Ok(Some(Text::parse(text)?)),
            }
        };
        Ok(Self {
            owner_team: TeamName::parse(&request.owner_team)?,
            criticality: Criticality::parse(&request.criticality)?,
            max_unavailability,
            public: request.public,
            depends_on,
            incident_definition: optional_text(&request.incident_definition)?,
            description: optional_text(&request.description)?,
        })
    }

    pub fn setting(&self, name: &ServiceName, by: &UserName, at: Timestamp) -> AdminSetting {
        AdminSetting {
            kind: SERVICE_KIND.to_owned(),
            name: name.to_string(),
            // A struct of strings, booleans and lists always serializes.
            value: serde_json::to_string(self).unwrap_or_default(),
            updated_at: at,
            updated_by: by.clone(),
        }
    }

    pub fn wire(&self, name: &str, at: Timestamp, by: &UserName) -> api::Service {
        api::Service {
            name: name.to_owned(),
            owner_team: self.owner_team.to_string(),
            criticality: self.criticality.as_str().to_owned(),
            max_unavailability: self.max_unavailability.clone(),
            public: self.public,
            depends_on: self.depends_on.iter().map(ToString::to_string).collect(),
            incident_definition: self.incident_definition.as_ref().map(ToString::to_string),
            description: self.description.as_ref().map(ToString::to_string),
            updated_at: at.to_string(),
            updated_by: by.to_string(),
        }
    }
}

fn invalid(message: impl Into<String>) -> AppError {
    AppError::Refused {
        code: "invalid_value",
        message: message.into(),
    }
}

/// Every service of the catalogue, by name, as the API shows it.
pub async fn services<S: Communications>(
    store: &S,
) -> Result<BTreeMap<String, (ServiceEntry, api::Service)>, AppError> {
    let settings = store.list_settings(SERVICE_KIND).await?;
    let mut services = BTreeMap::new();
    for setting in settings {
        let entry: ServiceEntry = serde_json::from_str(&setting.value).map_err(|e| {
            AppError::Store(hereby_store::StoreError::Corrupt(format!(
                "stored service {} is unreadable: {e}",
                setting.name
            )))
        })?;
        let wire = entry.wire(&setting.name, setting.updated_at, &setting.updated_by);
        services.insert(setting.name, (entry, wire));
    }
    Ok(services)
}

/// Refuses services the catalogue does not have, once it has any (an installation that keeps
/// no catalogue records whatever its pipelines send): `unknown_service`, with the closest
/// catalogued names and how to add the service. `also` are services being added in the same
/// request (an import), which count as catalogued.
pub async fn require_catalogued<S: Communications>(
    store: &S,
    names: &[&ServiceName],
    also: &[ServiceName],
    field: &str,
) -> Result<(), AppError> {
    let stored: Vec<String> = services(store).await?.into_keys().collect();
    if stored.is_empty() {
        return Ok(());
    }
    let catalogued: Vec<String> = stored
        .into_iter()
        .chain(also.iter().map(ToString::to_string))
        .collect();
    for name in names {
        if catalogued.iter().any(|known| known == name.as_str()) {
            continue;
        }
        // The same suggestion as for a misspelt person, starting a sentence here.
        let hint = crate::did_you_mean(&crate::closest(name.as_str(), &catalogued))
            .map(|hint| format!(" D{}", &hint[1..]))
            .unwrap_or_default();
        return Err(AppError::Refused {
            code: "unknown_service",
            message: format!(
                "{field}: no service `{name}` in the catalogue.{hint} An admin adds it with `hereby service add {name} --team … --criticality …` (PUT /api/v1/services/{name})"
            ),
        });
    }
    Ok(())
}

/// The named services with their catalogue criticality (none for a service not catalogued).
pub async fn affected<S: Communications>(
    store: &S,
    names: &[ServiceName],
) -> Result<Vec<AffectedService>, AppError> {
    let catalogue = services(store).await?;
    Ok(names
        .iter()
        .map(|name| AffectedService {
            service: name.clone(),
            criticality: catalogue
                .get(name.as_str())
                .map(|(entry, _)| entry.criticality),
        })
        .collect())
}

/// What the release record says about the incident's suspect release: its service's latest
/// release, and the release of that service deployed before the suspect one.
pub async fn release_facts<S: Communications>(
    store: &S,
    incident: &Incident,
    now: Timestamp,
) -> Result<ReleaseFacts, AppError> {
    let Some(suspect) = &incident.suspect_release else {
        return Ok(ReleaseFacts::default());
    };
    let history = store
        .list_releases(&ReleaseQuery {
            services: vec![suspect.service.clone()],
            from: None,
            // Pipelines' clocks may run a little ahead; `record_release` accepts that much.
            to: Some(now.checked_add(CLOCK_SKEW).unwrap_or(now)),
            limit: 500,
        })
        .await?;
    let latest = history.first().map(|release| release.version.clone());
    let before_suspect = history
        .iter()
        .position(|release| release.version == suspect.version)
        .and_then(|index| {
            history[index..]
                .iter()
                .find(|release| release.version != suspect.version)
        })
        .map(|release| release.version.clone());
    Ok(ReleaseFacts {
        latest,
        before_suspect,
    })
}

/// Whether `version` of `service` is on record.
pub async fn recorded<S: Communications>(
    store: &S,
    service: &ServiceName,
    version: &ReleaseVersion,
) -> Result<bool, AppError> {
    let history = store
        .list_releases(&ReleaseQuery {
            services: vec![service.clone()],
            from: None,
            to: None,
            limit: 10_000,
        })
        .await?;
    Ok(history.iter().any(|release| &release.version == version))
}

/// The releases of the incident's services from 48 hours before impact start (or the
/// declaration, while impact start is unknown) to `now`.
pub async fn around_impact<S: Communications>(
    store: &S,
    incident: &Incident,
    now: Timestamp,
) -> Result<(Timestamp, Vec<Release>), AppError> {
    let start = incident.impact.start.unwrap_or(incident.declared_at);
    let from = start
        .checked_sub(RELEASE_LOOKBACK)
        .unwrap_or(Timestamp::MIN);
    let mut services = incident.services.clone();
    if let Some(suspect) = &incident.suspect_release
        && !services.contains(&suspect.service)
    {
        services.push(suspect.service.clone());
    }
    if services.is_empty() {
        return Ok((from, Vec::new()));
    }
    let releases = store
        .list_releases(&ReleaseQuery {
            services,
            from: Some(from),
            to: Some(now),
            limit: 200,
        })
        .await?;
    Ok((from, releases))
}

impl<S: Communications> crate::App<S> {
    /// Adds or changes a service of the catalogue as `actor` (an admin), checked first.
    pub async fn save_service(
        &self,
        actor: &hereby_store::User,
        name: &str,
        request: &api::PutService,
    ) -> Result<api::Service, AppError> {
        crate::require(actor, hereby_core::types::InstallationRole::Admin)?;
        let name = ServiceName::parse(name)?;
        let entry = ServiceEntry::check(&name, request)?;
        let dependencies: Vec<&ServiceName> = entry.depends_on.iter().collect();
        require_catalogued(
            &self.store,
            &dependencies,
            std::slice::from_ref(&name),
            "depends_on",
        )
        .await?;
        let now = Timestamp::now();
        self.store
            .put_setting(&entry.setting(&name, &actor.name, now))
            .await?;
        Ok(entry.wire(name.as_str(), now, &actor.name))
    }
}

impl<S: Communications> crate::App<S> {
    /// Records a deployment of a catalogued service on behalf of `recorded_by` (a person, or
    /// an integration's name for a pipeline's change event); `false` when the same deployment
    /// was recorded already, which keeps the first record.
    pub async fn record_release(
        &self,
        recorded_by: &UserName,
        request: &api::ReleaseRequest,
    ) -> Result<(Release, bool), AppError> {
        let invalid = |field: &'static str, problem: String| {
            AppError::Invalid(hereby_core::types::InvalidValue::new(field, problem))
        };
        let now = Timestamp::now();
        let deployed_at = match request.at.as_deref() {
            None => now,
            Some(raw) => raw.trim().parse::<Timestamp>().map_err(|_| {
                invalid(
                    "at",
                    format!("`{raw}` is not an RFC 3339 time such as 2026-05-01T10:00:00Z"),
                )
            })?,
        };
        if deployed_at > now + CLOCK_SKEW {
            return Err(invalid(
                "at",
                format!("{deployed_at} is in the future; record a release once it is deployed"),
            ));
        }
        let notes = request.notes.clone().unwrap_or_default();
        if notes.chars().count() > 2_000 || notes.chars().any(|c| c.is_control() && c != '\n') {
            return Err(invalid(
                "notes",
                "at most 2,000 characters, without control characters other than newlines"
                    .to_owned(),
            ));
        }
        let service = ServiceName::parse(&request.service)?;
        require_catalogued(&self.store, &[&service], &[], "service").await?;
        let release = Release {
            service,
            version: ReleaseVersion::parse(&request.version)?,
            deployed_at,
            recorded_at: now,
            recorded_by: recorded_by.clone(),
            notes,
        };
        let created = self.store.record_release(&release).await?;
        Ok((release, created))
    }
}
