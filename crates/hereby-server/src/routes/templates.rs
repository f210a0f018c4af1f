//! Message templates: listing them (everyone signed in), adding and changing them (admins,
//! checked before they are stored), and rendering one for an incident as a preview.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use hereby_api as api;
use hereby_core::types::{InstallationRole, TemplateName};
use hereby_store::{Communications, Directory, Store, StoredTemplate};
use jiff::Timestamp;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{ApiJson, Caller};
use crate::messages::{self, Template, TemplateError};
use crate::routes::incidents::{incident_id, visible};

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
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_template",
            error.to_string(),
        )
    }
}

/// The template of that name in effect, or 404.
pub(crate) async fn find<S: Communications>(
    state: &AppState<S>,
    raw: &str,
) -> Result<Template, ApiError> {
    let not_found = || ApiError::not_found(format!("template `{raw}`"));
    let name = TemplateName::parse(raw).map_err(|_| not_found())?;
    messages::effective(state.store.list_templates().await?)
        .into_iter()
        .find(|template| template.name == name.as_str())
        .ok_or_else(not_found)
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
    let templates = messages::effective(state.store.list_templates().await?);
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
    Ok(Json(wire(find(&state, &name).await?)))
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
    Ok(Json(wire(
        save_template(&state, &caller, &name, body).await?,
    )))
}

/// Checks and stores a template as `caller` (an admin). The API and the web UI both save
/// through here.
pub(crate) async fn save_template<S: Store + Directory + Communications>(
    state: &AppState<S>,
    caller: &Caller,
    name: &str,
    body: api::PutTemplate,
) -> Result<Template, ApiError> {
    caller.require(InstallationRole::Admin)?;
    let name = TemplateName::parse(name)?;
    let description = body.description.trim();
    if description.chars().count() > 200 || description.contains('\n') {
        return Err(ApiError::from(hereby_core::types::InvalidValue {
            field: "description",
            problem: "must be one line of at most 200 characters".into(),
        }));
    }
    messages::check(&body.subject, &body.body)?;
    let stored = StoredTemplate {
        name,
        description: description.to_owned(),
        subject: body.subject,
        body: body.body,
        updated_at: Timestamp::now(),
        updated_by: caller.0.name.clone(),
    };
    state.store.put_template(&stored).await?;
    state.web.template_names.clear();
    // What was stored, as it is now in effect (not read back: a concurrent removal must not
    // turn a successful save into a 404).
    Ok(Template {
        origin: if messages::is_default(&stored.name) {
            "changed"
        } else {
            "custom"
        },
        name: stored.name.to_string(),
        description: stored.description,
        subject: stored.subject,
        body: stored.body,
        updated_at: Some(stored.updated_at),
        updated_by: Some(stored.updated_by.to_string()),
    })
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
    delete_template(&state, &caller, &raw).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Removes a stored template as `caller` (an admin): an added one goes, a changed default
/// returns to the shipped one.
pub(crate) async fn delete_template<S: Store + Directory + Communications>(
    state: &AppState<S>,
    caller: &Caller,
    raw: &str,
) -> Result<(), ApiError> {
    caller.require(InstallationRole::Admin)?;
    let name =
        TemplateName::parse(raw).map_err(|_| ApiError::not_found(format!("template `{raw}`")))?;
    if state.store.remove_template(&name).await? {
        state.web.template_names.clear();
        return Ok(());
    }
    if messages::is_default(&name) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "template_is_default",
            format!("`{name}` is a shipped template; change it instead of removing it"),
        ));
    }
    Err(ApiError::not_found(format!("template `{raw}`")))
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
    let template = find(&state, &template).await?;
    Ok(Json(render_for(
        &state,
        &number.to_string(),
        incident,
        &template,
    )?))
}

/// Renders `template` for an incident, with links under the server's public address.
pub(crate) fn render_for<S>(
    state: &AppState<S>,
    id: &str,
    incident: &hereby_core::Incident,
    template: &Template,
) -> Result<api::Message, TemplateError> {
    let variables = messages::variables(
        id,
        incident,
        &state.cadence,
        state.public_url.as_deref().unwrap_or(""),
        Timestamp::now(),
    );
    let message = messages::render(&template.subject, &template.body, &variables)?;
    Ok(api::Message {
        template: template.name.clone(),
        subject: message.subject,
        body: message.body,
    })
}
