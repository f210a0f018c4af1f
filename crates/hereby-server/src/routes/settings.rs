//! Named admin settings of every kind under one route family: `GET /api/v1/settings` (the
//! kinds), `GET /api/v1/settings/{kind}`, and `GET`, `PUT` and `DELETE`
//! `/api/v1/settings/{kind}/{name}`. Everyone signed in reads them; admins change them.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use hereby_api::{self as api, SettingKind};
use hereby_store::{Communications, Directory, Store};

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{ApiJson, Caller};

/// The kind in a path, or a 404 that lists the kinds there are.
fn kind(raw: &str) -> Result<SettingKind, ApiError> {
    SettingKind::parse(raw).ok_or_else(|| {
        let kinds: Vec<&str> = SettingKind::ALL.iter().map(|kind| kind.as_str()).collect();
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!(
                "there is no kind of setting `{raw}`; the kinds are {}",
                kinds.join(", ")
            ),
        )
    })
}

/// `GET /api/v1/settings`
#[utoipa::path(
    get,
    path = "/api/v1/settings",
    tag = "settings",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The kinds of named setting, with how many are shipped and stored", body = api::SettingKinds),
        (status = 401, body = api::ErrorBody),
    )
)]
pub(crate) async fn list_kinds<S: Store + Directory + Communications>(
    State(state): State<AppState<S>>,
    _caller: Caller,
) -> Result<Json<api::SettingKinds>, ApiError> {
    Ok(Json(api::SettingKinds {
        kinds: state.app.setting_kinds().await?,
    }))
}

/// `GET /api/v1/settings/{kind}`
#[utoipa::path(
    get,
    path = "/api/v1/settings/{kind}",
    tag = "settings",
    security(("bearer" = [])),
    params(("kind" = SettingKind, Path, description = "The kind of setting")),
    responses(
        (status = 200, description = "Every setting of the kind in effect: shipped, changed and added", body = api::Settings),
        (status = 401, body = api::ErrorBody),
        (status = 404, description = "No such kind", body = api::ErrorBody),
    )
)]
pub(crate) async fn list_settings<S: Store + Directory + Communications>(
    State(state): State<AppState<S>>,
    _caller: Caller,
    Path(raw): Path<String>,
) -> Result<Json<api::Settings>, ApiError> {
    let kind = kind(&raw)?;
    Ok(Json(api::Settings {
        kind,
        settings: state.app.settings(kind).await?,
    }))
}

/// `GET /api/v1/settings/{kind}/{name}`
#[utoipa::path(
    get,
    path = "/api/v1/settings/{kind}/{name}",
    tag = "settings",
    security(("bearer" = [])),
    params(
        ("kind" = SettingKind, Path, description = "The kind of setting"),
        ("name" = String, Path, description = "The setting's name within its kind"),
    ),
    responses(
        (status = 200, body = api::Setting),
        (status = 401, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
    )
)]
pub(crate) async fn show_setting<S: Store + Directory + Communications>(
    State(state): State<AppState<S>>,
    _caller: Caller,
    Path((raw, name)): Path<(String, String)>,
) -> Result<Json<api::Setting>, ApiError> {
    Ok(Json(state.app.setting(kind(&raw)?, &name).await?))
}

/// `PUT /api/v1/settings/{kind}/{name}` (admins)
#[utoipa::path(
    put,
    path = "/api/v1/settings/{kind}/{name}",
    tag = "settings",
    security(("bearer" = [])),
    params(
        ("kind" = SettingKind, Path, description = "The kind of setting"),
        ("name" = String, Path, description = "The setting's name within its kind"),
    ),
    request_body(content = api::SettingValue, description = "The value, in the shape of the kind in the path"),
    responses(
        (status = 200, description = "Stored; the setting as it is now in effect", body = api::Setting),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 403, description = "Not an admin", body = api::ErrorBody),
        (status = 404, description = "No such kind", body = api::ErrorBody),
        (status = 413, body = api::ErrorBody),
        (status = 422, description = "`invalid_value` (a value not of the kind's shape, or a field out of bounds), `invalid_template`, `invalid_rule`", body = api::ErrorBody),
    )
)]
pub(crate) async fn put_setting<S: Store + Directory + Communications>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path((raw, name)): Path<(String, String)>,
    ApiJson(value): ApiJson<serde_json::Value>,
) -> Result<Json<api::Setting>, ApiError> {
    let kind = kind(&raw)?;
    Ok(Json(
        state.app.put_setting(&caller.0, kind, &name, value).await?,
    ))
}

/// `DELETE /api/v1/settings/{kind}/{name}` (admins)
#[utoipa::path(
    delete,
    path = "/api/v1/settings/{kind}/{name}",
    tag = "settings",
    security(("bearer" = [])),
    params(
        ("kind" = SettingKind, Path, description = "The kind of setting"),
        ("name" = String, Path, description = "The setting's name within its kind"),
    ),
    responses(
        (status = 204, description = "Removed; a changed default is the shipped one again"),
        (status = 401, body = api::ErrorBody),
        (status = 403, description = "Not an admin", body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
        (status = 409, description = "`setting_is_default`: shipped defaults stay", body = api::ErrorBody),
    )
)]
pub(crate) async fn remove_setting<S: Store + Directory + Communications>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path((raw, name)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let kind = kind(&raw)?;
    state.app.remove_setting(&caller.0, kind, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}
