//! The incident page's forms that need the catalogue or the release record before the core can
//! decide: the severity checklist, the follow-up decision and the suspect release. Each builds
//! the same request the API takes and goes through the same command builder.

use hereby_api as api;
use hereby_core::Command;
use hereby_store::{Communications, Directory, Store};

use super::session::{Fields, Viewer};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::incident_id;

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
pub(crate) async fn command<
    S: Store
        + Directory
        + Communications
        + hereby_store::Alerts
        + hereby_store::Search
        + hereby_store::Notifications,
>(
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
            state
                .app
                .evaluation_command(viewer.user(), incident_id(id)?, &request)
                .await
                .map_err(ApiError::from)
        }
        "decide" => {
            let request = api::DecisionRequest {
                option: fields.get("option").unwrap_or_default().to_owned(),
                motivation: fields.get("motivation").unwrap_or_default().to_owned(),
            };
            state
                .app
                .decision_command(viewer.user(), incident_id(id)?, &request)
                .await
                .map(|(command, _)| command)
                .map_err(ApiError::from)
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
            state
                .app
                .suspect_command(viewer.user(), incident_id(id)?, &request)
                .await
                .map_err(ApiError::from)
        }
    }
}

/// What the incident page shows of judgement: staffing and collision warnings, open intents,
/// the latest evaluation and decision, the ladder, releases around the impact and the
/// affected services' incident definitions.
pub(crate) async fn page_context<S: Communications>(
    state: &AppState<S>,
    incident: &hereby_core::Incident,
    me: &hereby_core::types::UserName,
    now: jiff::Timestamp,
) -> Result<minijinja::Value, ApiError> {
    use crate::html::render;
    // Most incidents on a busy page name no service: they cost no catalogue read.
    let catalogue = if incident.services.is_empty() {
        Default::default()
    } else {
        hereby_app::catalogue::services(&state.store).await?
    };
    let services: Vec<minijinja::Value> = incident
        .services
        .iter()
        .map(|name| match catalogue.get(name.as_str()) {
            Some((entry, _)) => minijinja::context! {
                name => name.as_str(),
                known => true,
                criticality => entry.criticality.as_str(),
                team => entry.owner_team.as_str(),
                definition => entry.incident_definition.as_ref().map(|d| d.as_str()),
                max_unavailability => entry.max_unavailability.as_deref(),
            },
            None => minijinja::context! { name => name.as_str(), known => false },
        })
        .collect();
    let facts = hereby_app::catalogue::release_facts(&state.store, incident, now).await?;
    let rungs: Vec<minijinja::Value> = hereby_core::ladder::ladder(incident, &facts)
        .into_iter()
        .map(|rung| minijinja::context! {
            option => rung.option.as_str(),
            label => rung.option.as_str().replace('_', " "),
            applicable => rung.applicable,
            note => rung.note,
            actions => rung.actions.iter().map(|a| format!("{} — {}", a.text, a.role.replace('_', " "))).collect::<Vec<_>>(),
            template => rung.template,
        })
        .collect();
    let (from, releases) =
        hereby_app::catalogue::around_impact(&state.store, incident, now).await?;
    let suspect = incident.suspect_release.as_ref();
    let releases: Vec<minijinja::Value> = releases
        .iter()
        .map(|release| minijinja::context! {
            service => release.service.as_str(),
            version => release.version.as_str(),
            at => render::clock(release.deployed_at),
            ago => render::ago(release.deployed_at, now),
            notes => &release.notes,
            suspect => suspect.is_some_and(|s| s.service == release.service && s.version == release.version),
        })
        .collect();
    let decision = incident.decisions.last().map(|decision| {
        let template = hereby_core::ladder::rung(incident, decision.option, &facts).template;
        minijinja::context! {
            decision => decision.decision,
            option => decision.option.as_str().replace('_', " "),
            motivation => decision.motivation.as_str(),
            by => decision.by.as_str(),
            ago => render::ago(decision.at, now),
            items => &decision.items,
            roll_back_to => decision.roll_back_to.as_ref().map(ToString::to_string),
            template => template,
        }
    });
    let evaluation = incident.evaluation.as_ref().map(|e| {
        minijinja::context! {
            suggested => e.suggested.as_str(),
            rule => &e.rule,
            chosen => e.chosen.as_str(),
            reason => e.reason.as_ref().map(|r| r.as_str()),
            by => e.by.as_str(),
            ago => render::ago(e.at, now),
        }
    });
    let intents: Vec<minijinja::Value> = incident
        .open_intents()
        .map(|intent| {
            minijinja::context! {
                intent => intent.intent,
                target => intent.target.as_str(),
                action => intent.action.as_str(),
                by => intent.by.as_str(),
                ago => render::ago(intent.at, now),
                witness => intent.witness.as_ref().map(|w| w.as_str()),
                mine => &intent.by == me,
            }
        })
        .collect();
    let collisions: Vec<minijinja::Value> = incident
        .collisions
        .iter()
        .map(|c| {
            minijinja::context! {
                collision => c.collision,
                people => format!("{} and {}", c.people[0], c.people[1]),
                ago => render::ago(c.at, now),
                acknowledged => c.acknowledged,
                unattributed => c.unattributed,
            }
        })
        .collect();
    let unstaffed: Vec<String> =
        hereby_core::changes::unstaffed_roles(incident, &state.policy, now)
            .into_iter()
            .map(|key| key.as_str().replace('_', " "))
            .collect();
    Ok(minijinja::context! {
        services => services,
        guidance => hereby_core::ladder::GUIDANCE,
        rungs => rungs,
        decision => decision,
        evaluation => evaluation,
        releases => releases,
        releases_from => render::clock(from),
        suspect => suspect.map(ToString::to_string),
        intents => intents,
        collisions => collisions,
        open_collisions => incident.open_collisions().count(),
        witness_required => incident.witness_required,
        unstaffed => unstaffed,
        staffing_grace => render::age(now.checked_sub(state.policy.staffing_grace).unwrap_or(now), now),
    })
}

/// The catalogue's services for the declare page, so the declarer sees each one's bar.
pub(crate) async fn declare_context<S: Communications>(
    store: &S,
) -> Result<Vec<minijinja::Value>, ApiError> {
    let catalogue = hereby_app::catalogue::services(store).await?;
    Ok(catalogue
        .into_iter()
        .map(|(name, (entry, _))| {
            minijinja::context! {
                name => name,
                criticality => entry.criticality.as_str(),
                definition => entry.incident_definition.as_ref().map(|d| d.as_str()),
            }
        })
        .collect())
}

/// The services page: the catalogue, and for admins a form that adds or changes a service.
async fn services_view<
    S: Store
        + Directory
        + Communications
        + hereby_store::Alerts
        + hereby_store::Search
        + hereby_store::Notifications,
>(
    state: &AppState<S>,
    viewer: &Viewer,
    status: axum::http::StatusCode,
    error: Option<&str>,
    form: minijinja::Value,
) -> Result<axum::response::Response, super::PageError> {
    let catalogue = hereby_app::catalogue::services(&state.store).await?;
    let services: Vec<api::Service> = catalogue.into_values().map(|(_, wire)| wire).collect();
    let names: Vec<hereby_core::types::ServiceName> = services
        .iter()
        .filter_map(|service| hereby_core::types::ServiceName::parse(&service.name).ok())
        .collect();
    // This quarter's budget of each service with an allowance, over the incidents this
    // viewer may see.
    let budgets: std::collections::BTreeMap<String, minijinja::Value> = state
        .app
        .budgets(viewer.user(), &names)
        .await
        .map_err(crate::error::ApiError::from)?
        .iter()
        .map(|(service, budget)| {
            (
                service.to_string(),
                minijinja::context! {
                    sentence => budget.sentence(service, None),
                    overspent => budget.remaining().is_negative(),
                    percent => budget.used_percent(),
                    incidents => budget.by_incident.len(),
                },
            )
        })
        .collect();
    super::show(
        status,
        "services.html",
        minijinja::context! {
            viewer => viewer.context(),
            services => super::render::data(&services),
            budgets => budgets,
            criticalities => hereby_core::types::Criticality::ALL.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
            admin => viewer.caller.0.role >= hereby_core::types::InstallationRole::Admin,
            error => error,
            form => form,
        },
    )
}

/// `GET /services`
pub(crate) async fn services_page<
    S: Store
        + Directory
        + Communications
        + hereby_store::Alerts
        + hereby_store::Search
        + hereby_store::Notifications,
>(
    axum::extract::State(state): axum::extract::State<AppState<S>>,
    viewer: Viewer,
) -> Result<axum::response::Response, super::PageError> {
    services_view(
        &state,
        &viewer,
        axum::http::StatusCode::OK,
        None,
        Fields::default().context(),
    )
    .await
}

/// `POST /services` (admins): add or change a service.
pub(crate) async fn put_service<
    S: Store
        + Directory
        + Communications
        + hereby_store::Alerts
        + hereby_store::Search
        + hereby_store::Notifications,
>(
    axum::extract::State(state): axum::extract::State<AppState<S>>,
    super::session::SignedForm { viewer, fields }: super::session::SignedForm,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let request = api::PutService {
        owner_team: fields.get("owner_team").unwrap_or_default().to_owned(),
        criticality: fields.get("criticality").unwrap_or_default().to_owned(),
        max_unavailability: fields.get("max_unavailability").map(str::to_owned),
        public: fields.checked("public"),
        depends_on: list(&fields, "depends_on"),
        incident_definition: fields.get("incident_definition").map(str::to_owned),
        description: fields.get("description").map(str::to_owned),
    };
    let name = fields.get("name").unwrap_or_default();
    match state
        .app
        .save_service(viewer.user(), name, &request)
        .await
        .map_err(crate::error::ApiError::from)
    {
        Ok(_) => axum::response::Redirect::to("/services").into_response(),
        Err(error) => services_view(
            &state,
            &viewer,
            error.status,
            Some(&error.message),
            fields.context(),
        )
        .await
        .unwrap_or_else(IntoResponse::into_response),
    }
}
