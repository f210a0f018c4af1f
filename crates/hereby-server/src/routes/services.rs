//! The service catalogue (everyone reads it, admins change it), the release record (pipelines
//! and responders add to it) and the severity rules in force.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use hereby_api as api;
use hereby_core::types::{InstallationRole, ServiceName};
use hereby_store::{Communications, Directory, ReleaseQuery, Store};
use serde::Deserialize;

use crate::AppState;
use crate::convert;
use crate::error::ApiError;
use crate::extract::{ApiJson, Caller};
use hereby_app::catalogue::services;

/// `GET /api/v1/services`
#[utoipa::path(
    get,
    path = "/api/v1/services",
    tag = "services",
    security(("bearer" = [])),
    responses(
        (status = 200, body = api::Services),
        (status = 401, body = api::ErrorBody),
    )
)]
pub(crate) async fn list_services<S: Store + Directory + Communications>(
    State(state): State<AppState<S>>,
    _caller: Caller,
) -> Result<Json<api::Services>, ApiError> {
    let services = services(&state.store).await?;
    Ok(Json(api::Services {
        services: services.into_values().map(|(_, wire)| wire).collect(),
    }))
}

/// `GET /api/v1/services/{name}`
#[utoipa::path(
    get,
    path = "/api/v1/services/{name}",
    tag = "services",
    security(("bearer" = [])),
    params(("name" = String, Path, description = "The service, e.g. api")),
    responses(
        (status = 200, body = api::Service),
        (status = 401, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
    )
)]
pub(crate) async fn show_service<S: Store + Directory + Communications>(
    State(state): State<AppState<S>>,
    _caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<api::Service>, ApiError> {
    let mut services = services(&state.store).await?;
    services
        .remove(&name)
        .map(|(_, wire)| Json(wire))
        .ok_or_else(|| ApiError::not_found(format!("service `{name}`")))
}

/// `PUT /api/v1/services/{name}` (admins): add or change a service.
#[utoipa::path(
    put,
    path = "/api/v1/services/{name}",
    tag = "services",
    security(("bearer" = [])),
    params(("name" = String, Path, description = "The service, e.g. api")),
    request_body = api::PutService,
    responses(
        (status = 200, body = api::Service),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 413, body = api::ErrorBody),
        (status = 422, body = api::ErrorBody),
    )
)]
pub(crate) async fn put_service<S: Store + Directory + Communications>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(name): Path<String>,
    ApiJson(request): ApiJson<api::PutService>,
) -> Result<Json<api::Service>, ApiError> {
    Ok(Json(
        state.app.save_service(&caller.0, &name, &request).await?,
    ))
}

/// `DELETE /api/v1/services/{name}` (admins)
#[utoipa::path(
    delete,
    path = "/api/v1/services/{name}",
    tag = "services",
    security(("bearer" = [])),
    params(("name" = String, Path, description = "The service, e.g. api")),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
    )
)]
pub(crate) async fn remove_service<S: Store + Directory + Communications>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .remove_setting(&caller.0, api::SettingKind::Service, &name)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/services/import` (admins): every service is checked first; all are stored
/// in one transaction, or none.
#[utoipa::path(
    post,
    path = "/api/v1/services/import",
    tag = "services",
    security(("bearer" = [])),
    request_body = api::ImportServices,
    responses(
        (status = 200, description = "The whole catalogue after the import", body = api::Services),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 413, body = api::ErrorBody),
        (status = 422, body = api::ErrorBody),
    )
)]
pub(crate) async fn import_services<S: Store + Directory + Communications>(
    State(state): State<AppState<S>>,
    caller: Caller,
    ApiJson(request): ApiJson<api::ImportServices>,
) -> Result<Json<api::Services>, ApiError> {
    Ok(Json(api::Services {
        services: state
            .app
            .import_services(&caller.0, &request.services)
            .await?,
    }))
}

/// `POST /api/v1/releases`: a deployment, from a release pipeline or a responder. Recording
/// the same deployment again (a retried call) answers 200 and keeps the first record.
#[utoipa::path(
    post,
    path = "/api/v1/releases",
    tag = "services",
    security(("bearer" = [])),
    request_body = api::ReleaseRequest,
    responses(
        (status = 201, description = "Recorded", body = api::Release),
        (status = 200, description = "This deployment was already on record", body = api::Release),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 413, body = api::ErrorBody),
        (status = 422, body = api::ErrorBody),
    )
)]
pub(crate) async fn record_release<S: Store + Directory + Communications>(
    State(state): State<AppState<S>>,
    caller: Caller,
    ApiJson(request): ApiJson<api::ReleaseRequest>,
) -> Result<impl IntoResponse, ApiError> {
    caller.require(InstallationRole::Responder)?;
    let (release, created) = state.app.record_release(&caller.0.name, &request).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(convert::release(&release))))
}

/// Filters of `GET /api/v1/releases`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReleaseParams {
    service: Option<String>,
    limit: Option<u32>,
}

/// `GET /api/v1/releases`
#[utoipa::path(
    get,
    path = "/api/v1/releases",
    tag = "services",
    security(("bearer" = [])),
    params(
        ("service" = Option<String>, Query, description = "Only this service's releases"),
        ("limit" = Option<u32>, Query, description = "At most this many (default 50, at most 500)"),
    ),
    responses(
        (status = 200, body = api::Releases),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
    )
)]
pub(crate) async fn list_releases<S: Store + Directory + Communications>(
    State(state): State<AppState<S>>,
    _caller: Caller,
    Query(params): Query<ReleaseParams>,
) -> Result<Json<api::Releases>, ApiError> {
    let services = params
        .service
        .as_deref()
        .map(ServiceName::parse)
        .transpose()?
        .into_iter()
        .collect();
    let releases = state
        .store
        .list_releases(&ReleaseQuery {
            services,
            from: None,
            to: None,
            limit: params.limit.unwrap_or(50).clamp(1, 500),
        })
        .await?;
    Ok(Json(api::Releases {
        releases: releases.iter().map(convert::release).collect(),
    }))
}

/// `GET /api/v1/severity-rules`
#[utoipa::path(
    get,
    path = "/api/v1/severity-rules",
    tag = "services",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The rules the checklist is evaluated with", body = api::SeverityRules),
        (status = 401, body = api::ErrorBody),
    )
)]
pub(crate) async fn severity_rules<S: Store + Directory>(
    State(state): State<AppState<S>>,
    _caller: Caller,
) -> Json<api::SeverityRules> {
    Json(api::SeverityRules {
        toml: state.policy.severity_rules.to_toml(),
    })
}

/// `GET /api/v1/permissions`
#[utoipa::path(
    get,
    path = "/api/v1/permissions",
    tag = "services",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Who may do what on an incident", body = api::PermissionTable),
        (status = 401, body = api::ErrorBody),
    )
)]
pub(crate) async fn permissions<S: Store + Directory>(
    State(state): State<AppState<S>>,
    _caller: Caller,
) -> Json<api::PermissionTable> {
    let table = &state.policy.permissions;
    Json(api::PermissionTable {
        rows: hereby_core::Capability::ALL
            .into_iter()
            .map(|capability| api::PermissionRow {
                capability: capability.as_str().to_owned(),
                who: table
                    .holders(capability)
                    .iter()
                    .map(|holder| holder.as_str().to_owned())
                    .collect(),
                covers: capability.covers().to_owned(),
            })
            .collect(),
        toml: table.to_toml(),
    })
}
