//! The incident page's forms that need the catalogue or the release record before the core can
//! decide: the severity checklist, the follow-up decision and the suspect release. Each builds
//! the same request the API takes and goes through the same command builder.

use hereby_api as api;
use hereby_core::Command;
use hereby_store::{Communications, Directory, Store};

use super::session::{Fields, Viewer};
use crate::AppState;
use crate::error::ApiError;
use crate::routes::decisions::{decision_command, evaluation_command, suspect_command};

/// A list typed into one field, separated by commas.
fn list(fields: &Fields, name: &str) -> Vec<String> {
    fields
        .get(name)
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The command of the `evaluate`, `decide` or `suspect` form.
pub(crate) async fn command<S: Store + Directory + Communications>(
    state: &AppState<S>,
    viewer: &Viewer,
    id: &str,
    action: &str,
    fields: &Fields,
) -> Result<Command, ApiError> {
    let text = |name: &str| fields.get(name).map(str::to_owned);
    match action {
        "evaluate" => {
            let users_affected = match fields.get("users_affected") {
                None => None,
                Some(raw) => Some(raw.parse::<u64>().map_err(|_| {
                    ApiError::from(hereby_core::types::InvalidValue {
                        field: "users_affected",
                        problem: "must be a whole number".into(),
                    })
                })?),
            };
            let request = api::EvaluationRequest {
                live: fields.get("live") != Some("potential"),
                users_affected,
                users_estimated: fields.checked("users_estimated"),
                sites: list(fields, "sites"),
                services: list(fields, "services"),
                availability: fields.checked("availability"),
                data_loss_or_security: fields.checked("data_loss_or_security"),
                workaround: fields.checked("workaround"),
                chosen: text("chosen"),
                reason: text("reason"),
            };
            evaluation_command(state, &viewer.caller, id, &request).await
        }
        "decide" => {
            let request = api::DecisionRequest {
                option: fields.get("option").unwrap_or_default().to_owned(),
                motivation: fields.get("motivation").unwrap_or_default().to_owned(),
            };
            decision_command(state, &viewer.caller, id, &request)
                .await
                .map(|(command, _)| command)
        }
        _ => {
            let release = fields.get("release").unwrap_or_default();
            let (service, version) = match release.split_once(' ') {
                Some((service, version)) => (Some(service.to_owned()), Some(version.to_owned())),
                None => (None, None),
            };
            let request = api::SuspectRequest {
                service,
                version,
                reason: text("reason"),
            };
            suspect_command(state, &viewer.caller, id, &request).await
        }
    }
}
