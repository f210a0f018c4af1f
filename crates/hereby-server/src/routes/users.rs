//! Users (managed by admins), their passwords and API tokens (each user manages their own;
//! admins anyone's).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use hereby_api as api;
use hereby_core::types::{InstallationRole, UserName};
use hereby_store::{Directory, Store, TokenRecord, User, UserChange};
use jiff::Timestamp;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{ApiJson, Caller};
use crate::passwords;
use crate::tokens::NewToken;

fn user(user: &User) -> api::User {
    api::User {
        name: user.name.to_string(),
        role: user.role.as_str().to_owned(),
        disabled: user.disabled,
        created_at: user.created_at.to_string(),
    }
}

fn token(record: &TokenRecord) -> api::Token {
    api::Token {
        id: record.id,
        user: record.user.to_string(),
        label: record.label.clone(),
        created_at: record.created_at.to_string(),
        revoked_at: record.revoked_at.map(|at| at.to_string()),
    }
}

/// Token labels: one line, 1 to 100 characters.
fn label(raw: &str) -> Result<String, ApiError> {
    let label = raw.trim();
    if label.is_empty() || label.chars().count() > 100 || label.chars().any(char::is_control) {
        return Err(ApiError::from(hereby_core::types::InvalidValue {
            field: "label",
            problem: "must be one line of 1 to 100 characters".into(),
        }));
    }
    Ok(label.to_owned())
}

/// `GET /api/v1/me`
#[utoipa::path(
    get,
    path = "/api/v1/me",
    tag = "users",
    security(("bearer" = [])),
    responses(
        (status = 200, body = api::User),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
    )
)]
pub(crate) async fn me(caller: Caller) -> Json<api::User> {
    Json(user(&caller.0))
}

/// `GET /api/v1/users` (admins)
#[utoipa::path(
    get,
    path = "/api/v1/users",
    tag = "users",
    security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<api::User>),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
    )
)]
pub(crate) async fn list_users<S: Store + Directory>(
    State(state): State<AppState<S>>,
    caller: Caller,
) -> Result<Json<Vec<api::User>>, ApiError> {
    caller.require(InstallationRole::Admin)?;
    let users = state.store.list_users().await?;
    Ok(Json(users.iter().map(user).collect()))
}

/// `POST /api/v1/users` (admins)
#[utoipa::path(
    post,
    path = "/api/v1/users",
    tag = "users",
    security(("bearer" = [])),
    request_body = api::NewUserRequest,
    responses(
        (status = 201, body = api::User),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
        (status = 409, body = api::ErrorBody),
        (status = 413, body = api::ErrorBody),
        (status = 422, body = api::ErrorBody),
    )
)]
pub(crate) async fn create_user<S: Store + Directory>(
    State(state): State<AppState<S>>,
    caller: Caller,
    ApiJson(request): ApiJson<api::NewUserRequest>,
) -> Result<impl IntoResponse, ApiError> {
    caller.require(InstallationRole::Admin)?;
    let name = UserName::parse(&request.name)?;
    let role = request
        .role
        .as_deref()
        .map(InstallationRole::parse)
        .transpose()?
        .unwrap_or(InstallationRole::Responder);
    let created = state
        .store
        .create_user(&name, role, Timestamp::now())
        .await?;
    Ok((StatusCode::CREATED, Json(user(&created))))
}

/// `PATCH /api/v1/users/{name}` (admins)
#[utoipa::path(
    patch,
    path = "/api/v1/users/{name}",
    tag = "users",
    security(("bearer" = [])),
    params(
        ("name" = String, Path),
    ),
    request_body = api::UserChangeRequest,
    responses(
        (status = 200, body = api::User),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
        (status = 409, body = api::ErrorBody),
        (status = 413, body = api::ErrorBody),
        (status = 422, body = api::ErrorBody),
    )
)]
pub(crate) async fn update_user<S: Store + Directory>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(name): Path<String>,
    ApiJson(request): ApiJson<api::UserChangeRequest>,
) -> Result<Json<api::User>, ApiError> {
    caller.require(InstallationRole::Admin)?;
    let name = UserName::parse(&name).map_err(|_| ApiError::not_found(format!("user `{name}`")))?;
    let change = UserChange {
        role: request
            .role
            .as_deref()
            .map(InstallationRole::parse)
            .transpose()?,
        disabled: request.disabled,
    };
    if name == caller.0.name
        && (change.disabled == Some(true)
            || change.role.is_some_and(|r| r != InstallationRole::Admin))
    {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "cannot_demote_self",
            "an admin cannot disable or demote themselves; ask another admin",
        ));
    }
    let updated = state.store.update_user(&name, change).await?;
    state.sessions.clear();
    // Open live streams were authorised for the old role (or an enabled user): end them.
    state.web.sessions.clear();
    state.feed.revoke_user(&name);
    Ok(Json(user(&updated)))
}

/// `PUT /api/v1/users/{name}/password`: sets your own password (admins: anyone's), for signing
/// in to the web UI. Ends that user's web sessions; API tokens keep working.
#[utoipa::path(
    put,
    path = "/api/v1/users/{name}/password",
    tag = "users",
    security(("bearer" = [])),
    params(
        ("name" = String, Path),
    ),
    request_body = api::SetPassword,
    responses(
        (status = 204, description = "The password is set"),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
        (status = 413, body = api::ErrorBody),
        (status = 422, body = api::ErrorBody),
    )
)]
pub(crate) async fn set_password<S: Store + Directory>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(name): Path<String>,
    ApiJson(request): ApiJson<api::SetPassword>,
) -> Result<StatusCode, ApiError> {
    // Who may, before anything about the user or the password is revealed.
    if name != caller.0.name.as_str() && !caller.is_admin() {
        return Err(ApiError::forbidden(
            "you can set only your own password; an admin can set anyone's",
        ));
    }
    let name = UserName::parse(&name).map_err(|_| ApiError::not_found(format!("user `{name}`")))?;
    state.store.user(&name).await?;
    passwords::check_strength(&request.password)?;
    let phc = passwords::hash(&request.password).await?;
    state.store.set_password_hash(&name, &phc).await?;
    // The user's web sessions ended with the new password: so do the pages they had open.
    state.web.sessions.clear();
    state.feed.revoke_user(&name);
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/tokens`: your tokens; admins see everyone's.
#[utoipa::path(
    get,
    path = "/api/v1/tokens",
    tag = "users",
    security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<api::Token>),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
    )
)]
pub(crate) async fn list_tokens<S: Store + Directory>(
    State(state): State<AppState<S>>,
    caller: Caller,
) -> Result<Json<Vec<api::Token>>, ApiError> {
    let owner = (!caller.is_admin()).then_some(&caller.0.name);
    let tokens = state.store.list_tokens(owner).await?;
    Ok(Json(tokens.iter().map(token).collect()))
}

/// `POST /api/v1/tokens`
#[utoipa::path(
    post,
    path = "/api/v1/tokens",
    tag = "users",
    security(("bearer" = [])),
    request_body = api::TokenRequest,
    responses(
        (status = 201, body = api::CreatedToken),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
        (status = 409, body = api::ErrorBody),
        (status = 413, body = api::ErrorBody),
        (status = 422, body = api::ErrorBody),
    )
)]
pub(crate) async fn create_token<S: Store + Directory>(
    State(state): State<AppState<S>>,
    caller: Caller,
    ApiJson(request): ApiJson<api::TokenRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let label = label(&request.label)?;
    let owner = match request.user.as_deref() {
        None => caller.0.name.clone(),
        Some(raw) => {
            let owner = UserName::parse(raw)?;
            if owner != caller.0.name {
                caller.require(InstallationRole::Admin)?;
            }
            state.store.user(&owner).await?;
            owner
        }
    };
    let secret = NewToken::generate().map_err(|_| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "no_randomness",
            "the operating system's random source is unavailable",
        )
    })?;
    let record = state
        .store
        .create_token(&owner, &label, secret.digest(), Timestamp::now())
        .await?;
    let created = api::CreatedToken {
        token: secret.reveal().to_owned(),
        record: token(&record),
    };
    Ok((StatusCode::CREATED, Json(created)))
}

/// `DELETE /api/v1/tokens/{id}`: revoke one of your tokens (admins: any).
#[utoipa::path(
    delete,
    path = "/api/v1/tokens/{id}",
    tag = "users",
    security(("bearer" = [])),
    params(
        ("id" = i64, Path, description = "The token id"),
    ),
    responses(
        (status = 200, body = api::Token),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
        (status = 409, body = api::ErrorBody),
        (status = 413, body = api::ErrorBody),
        (status = 422, body = api::ErrorBody),
    )
)]
pub(crate) async fn revoke_token<S: Store + Directory>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<api::Token>, ApiError> {
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::not_found(format!("token `{id}`")))?;
    let mine = state
        .store
        .list_tokens(Some(&caller.0.name))
        .await?
        .iter()
        .any(|record| record.id == id);
    if !mine && !caller.is_admin() {
        // Other people's tokens do not exist for you.
        return Err(ApiError::not_found(format!("token {id}")));
    }
    let revoked = state.store.revoke_token(id, Timestamp::now()).await?;
    state.sessions.clear();
    // A stream does not know which of its user's tokens opened it: all of theirs end, and the
    // clients with a valid token reconnect.
    state.feed.revoke_user(&revoked.user);
    Ok(Json(token(&revoked)))
}

/// `GET /api/v1/users/{name}/working-hours`: the hours a person's incident work is judged by
/// in the workload figures (the defaults when they set none): your own, or (admins) anyone's.
#[utoipa::path(
    get,
    path = "/api/v1/users/{name}/working-hours",
    tag = "users",
    security(("bearer" = [])),
    params(("name" = String, Path)),
    responses(
        (status = 200, body = api::WorkingHours),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
    )
)]
pub(crate) async fn working_hours<S: Store + Directory + hereby_store::Communications>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<api::WorkingHours>, ApiError> {
    if caller.0.name.as_str() != name && !caller.is_admin() {
        return Err(ApiError::forbidden(
            "only admins can read someone else's working hours",
        ));
    }
    let user = UserName::parse(&name).map_err(|_| ApiError::not_found(format!("user {name}")))?;
    Ok(Json(state.app.working_hours(&user).await?))
}

/// `PUT /api/v1/users/{name}/working-hours`: your own working hours, or (admins) anyone's;
/// fields left out keep their value.
#[utoipa::path(
    put,
    path = "/api/v1/users/{name}/working-hours",
    tag = "users",
    security(("bearer" = [])),
    params(("name" = String, Path)),
    request_body = api::SetWorkingHours,
    responses(
        (status = 200, body = api::WorkingHours),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
        (status = 413, body = api::ErrorBody),
        (status = 422, body = api::ErrorBody),
    )
)]
pub(crate) async fn set_working_hours<S: Store + Directory + hereby_store::Communications>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(name): Path<String>,
    ApiJson(request): ApiJson<api::SetWorkingHours>,
) -> Result<Json<api::WorkingHours>, ApiError> {
    let user = UserName::parse(&name).map_err(|_| ApiError::not_found(format!("user {name}")))?;
    Ok(Json(
        state
            .app
            .set_working_hours(&caller.0, &user, &request)
            .await?,
    ))
}
