//! Requests of judgement under pressure, made into core commands with what the core cannot
//! know: the catalogue's criticalities for the severity checklist, the release record for the
//! suspect release (it must be on record) and for the decision ladder. The API's JSON bodies
//! and the web UI's forms arrive as the same request types and are parsed here only.

use hereby_api as api;
use hereby_core::Command;
use hereby_core::ladder::{self, ReleaseRef};
use hereby_core::severity::Checklist;
use hereby_core::types::{
    FollowUpOption, IncidentNumber, InvalidValue, Reason, ReleaseVersion, ServiceName, Severity,
    Site,
};
use hereby_store::{Communications, Store, User};
use jiff::Timestamp;

use crate::{App, AppError, catalogue};

/// A field left out or blank is `None`; otherwise it must parse.
fn optional<T>(
    raw: Option<&str>,
    parse: impl Fn(&str) -> Result<T, InvalidValue>,
) -> Result<Option<T>, AppError> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => Ok(Some(parse(text)?)),
    }
}

impl<S: Store + Communications> App<S> {
    /// The evaluation command for a checklist: each affected service (the incident's own when
    /// none is named) with its criticality from the catalogue.
    pub async fn evaluation_command(
        &self,
        actor: &User,
        number: IncidentNumber,
        request: &api::EvaluationRequest,
    ) -> Result<Command, AppError> {
        let loaded = self.visible(actor, number).await?;
        let Some(incident) = loaded.state.incident() else {
            return Err(AppError::not_found(number));
        };
        let names = if request.services.is_empty() {
            incident.services.clone()
        } else {
            ServiceName::parse_list(request.services.iter().map(String::as_str))?
        };
        if request.sites.len() > ServiceName::MAX_PER_INCIDENT {
            return Err(hereby_core::types::InvalidValue::new(
                "sites",
                format!("name at most {} sites", ServiceName::MAX_PER_INCIDENT),
            )
            .into());
        }
        let sites = request
            .sites
            .iter()
            .map(|raw| Site::parse(raw))
            .collect::<Result<Vec<_>, _>>()?;
        let checklist = Checklist {
            live: request.live,
            users_affected: request.users_affected,
            users_estimated: request.users_estimated,
            sites,
            services: catalogue::affected(&self.store, &names).await?,
            availability: request.availability,
            data_loss_or_security: request.data_loss_or_security,
            workaround: request.workaround,
        };
        Ok(Command::EvaluateSeverity {
            checklist,
            chosen: optional(request.chosen.as_deref(), Severity::parse)?,
            reason: optional(request.reason.as_deref(), Reason::parse)?,
        })
    }

    /// The command naming a recorded release as suspect, or clearing it. A release that is not
    /// on record is refused: the roll-back rung needs the release before it.
    pub async fn suspect_command(
        &self,
        actor: &User,
        number: IncidentNumber,
        request: &api::SuspectRequest,
    ) -> Result<Command, AppError> {
        let service = optional(request.service.as_deref(), ServiceName::parse)?;
        let version = optional(request.version.as_deref(), ReleaseVersion::parse)?;
        let release = match (service, version) {
            (None, None) => None,
            (Some(service), Some(version)) => Some(ReleaseRef { service, version }),
            _ => {
                return Err(AppError::Refused {
                    code: "invalid_value",
                    message: "name the suspect release with both service and version, or neither to clear it".to_owned(),
                });
            }
        };
        if let Some(release) = &release {
            // Visibility before anything about the release record is revealed.
            self.visible(actor, number).await?;
            if !catalogue::recorded(&self.store, &release.service, &release.version).await? {
                return Err(AppError::Refused {
                    code: "unknown_release",
                    message: format!(
                        "{release} is not on record; record it first (hereby release record --service {} --version {})",
                        release.service, release.version
                    ),
                });
            }
        }
        Ok(Command::SetSuspectRelease {
            release,
            reason: optional(request.reason.as_deref(), Reason::parse)?,
        })
    }

    /// The decision command, with what the release record says, and the name of the message
    /// template whose draft goes with the chosen rung.
    pub async fn decision_command(
        &self,
        actor: &User,
        number: IncidentNumber,
        request: &api::DecisionRequest,
    ) -> Result<(Command, Option<&'static str>), AppError> {
        let option = FollowUpOption::parse(&request.option)?;
        let motivation = Reason::parse(&request.motivation).map_err(|e| InvalidValue {
            field: "motivation",
            problem: format!("{} (say why this rung is the right one)", e.problem),
        })?;
        let loaded = self.visible(actor, number).await?;
        let Some(incident) = loaded.state.incident() else {
            return Err(AppError::not_found(number));
        };
        let facts = catalogue::release_facts(&self.store, incident, Timestamp::now()).await?;
        let template = ladder::rung(incident, option, &facts).template;
        Ok((
            Command::RecordDecision {
                option,
                motivation,
                facts,
            },
            template,
        ))
    }
}
