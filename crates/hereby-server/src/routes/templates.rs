//! Message templates: listing them (everyone signed in), adding and changing them (admins,
//! checked before they are stored), and rendering one for an incident as a preview.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use hereby_api as api;
use hereby_store::{Communications, Directory, Store};

use crate::AppState;
use crate::error::ApiError;
use crate::extract::incident_id;
use crate::extract::{ApiJson, Caller};
use crate::routes::incidents::visible;
use hereby_app::messages::{self, Template, TemplateError};

fn wire(template: Template) -> api::Template {
    api::Template {
        name: template.name,
        description: template.description,
        subject: template.subject,
        body: template.body,
        origin: template.origin.to_owned(),
        updated_at: template.updated_at.map(|at| at.to_string()),
        updated_by: template.updated_by,
    }
}

impl From<TemplateError> for ApiError {
    fn from(error: TemplateError) -> Self {
        hereby_app::AppError::from(error).into()
    }
}

/// `GET /api/v1/templates`
#[utoipa::path(
    get,
    path = "/api/v1/templates",
    tag = "templates",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Every template in effect, and the variables templates may use", body = api::Templates),
        (status = 401, body = api::ErrorBody),
    )
)]
pub(crate) async fn list_templates<S: Store + Directory + Communications>(
    State(state): State<AppState<S>>,
    _caller: Caller,
) -> Result<Json<api::Templates>, ApiError> {
    let templates = state.app.templates().await?;
    Ok(Json(api::Templates {
        templates: templates.into_iter().map(wire).collect(),
        variables: messages::VARIABLES
            .iter()
            .map(|(name, description)| api::TemplateVariable {
                name: (*name).to_owned(),
                description: (*description).to_owned(),
            })
            .collect(),
    }))
}

/// `GET /api/v1/templates/{name}`
#[utoipa::path(
    get,
    path = "/api/v1/templates/{name}",
    tag = "templates",
    security(("bearer" = [])),
    params(("name" = String, Path, description = "The template, e.g. first-response")),
    responses(
        (status = 200, body = api::Template),
        (status = 401, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
    )
)]
pub(crate) async fn show_template<S: Store + Directory + Communications>(
    State(state): State<AppState<S>>,
    _caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<api::Template>, ApiError> {
    Ok(Json(wire(state.app.template(&name).await?)))
}

/// `PUT /api/v1/templates/{name}`
#[utoipa::path(
    put,
    path = "/api/v1/templates/{name}",
    tag = "templates",
    security(("bearer" = [])),
    params(("name" = String, Path, description = "The template: lowercase letters, digits, `.`, `_`, `-`")),
    request_body = api::PutTemplate,
    responses(
        (status = 200, description = "Stored", body = api::Template),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 403, description = "Not an admin", body = api::ErrorBody),
        (status = 422, description = "`invalid_template` (syntax error or unknown variable, with its line) or `invalid_value`", body = api::ErrorBody),
    )
)]
pub(crate) async fn put_template<S: Store + Directory + Communications>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<api::PutTemplate>,
) -> Result<Json<api::Template>, ApiError> {
    let template = state
        .app
        .save_template(&caller.0, &name, &body.description, body.subject, body.body)
        .await?;
    Ok(Json(wire(template)))
}

/// `DELETE /api/v1/templates/{name}`
#[utoipa::path(
    delete,
    path = "/api/v1/templates/{name}",
    tag = "templates",
    security(("bearer" = [])),
    params(("name" = String, Path, description = "The template")),
    responses(
        (status = 204, description = "Removed; a changed default is the shipped one again"),
        (status = 401, body = api::ErrorBody),
        (status = 403, description = "Not an admin", body = api::ErrorBody),
        (status = 404, description = "No stored template of that name", body = api::ErrorBody),
        (status = 409, description = "`template_is_default`: shipped templates stay", body = api::ErrorBody),
    )
)]
pub(crate) async fn remove_template<S: Store + Directory + Communications>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.app.delete_template(&caller.0, &raw).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/incidents/{id}/messages/{template}`
#[utoipa::path(
    get,
    path = "/api/v1/incidents/{id}/messages/{template}",
    tag = "templates",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The incident, e.g. INC-7"),
        ("template" = String, Path, description = "The template"),
    ),
    responses(
        (status = 200, description = "The template rendered with the incident's variables: a preview to edit and post as an update", body = api::Message),
        (status = 401, body = api::ErrorBody),
        (status = 404, description = "No such incident (or not visible), or no such template", body = api::ErrorBody),
        (status = 422, description = "The template does not render", body = api::ErrorBody),
    )
)]
pub(crate) async fn preview<S: Store + Directory + Communications>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path((id, template)): Path<(String, String)>,
) -> Result<Json<api::Message>, ApiError> {
    let number = incident_id(&id)?;
    let loaded = visible(&state, &caller, number).await?;
    let Some(incident) = loaded.state.incident() else {
        return Err(ApiError::not_found(number));
    };
    let template = state.app.template(&template).await?;
    let message = state
        .app
        .render_message(number, incident, &template)
        .map_err(hereby_app::AppError::from)?;
    Ok(Json(api::Message {
        template: template.name,
        subject: message.subject,
        body: message.body,
    }))
}
