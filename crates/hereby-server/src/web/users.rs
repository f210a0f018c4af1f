//! The Users page for admins: add people, give them a role, disable or enable them, make a
//! one-time setup link for choosing a password, and issue API tokens (shown once).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use hereby_core::types::{InstallationRole, UserName};
use hereby_store::{Directory, Store, UserChange};
use jiff::Timestamp;
use serde::Serialize;

use super::PageError;
use super::render::data;
use super::session::{Fields, SignedForm, Viewer, new_setup_link};
use super::show;
use crate::AppState;
use crate::error::ApiError;
use crate::tokens::NewToken;

#[derive(Debug, Serialize)]
struct UserRow {
    name: String,
    role: &'static str,
    disabled: bool,
    created_at: String,
}

/// A secret to show once on the page, with what it is.
#[derive(Debug, Default, Serialize)]
struct Shown {
    message: String,
    secret: Option<String>,
}

async fn users_view<S: Store + Directory>(
    state: &AppState<S>,
    viewer: &Viewer,
    status: StatusCode,
    shown: Option<Shown>,
    error: Option<&str>,
    form: minijinja::Value,
) -> Result<Response, PageError> {
    viewer.caller.require(InstallationRole::Admin)?;
    let users = state.store.list_users().await.map_err(ApiError::from)?;
    let rows: Vec<UserRow> = users
        .iter()
        .map(|user| UserRow {
            name: user.name.to_string(),
            role: user.role.as_str(),
            disabled: user.disabled,
            created_at: super::render::clock(user.created_at),
        })
        .collect();
    show(
        status,
        "users.html",
        minijinja::context! {
            viewer => viewer.context(),
            users => data(&rows),
            roles => InstallationRole::ALL.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
            shown => shown.as_ref().map(data),
            error => error,
            form => form,
        },
    )
}

/// `GET /users`
pub(crate) async fn users_page<S: Store + Directory>(
    State(state): State<AppState<S>>,
    viewer: Viewer,
) -> Result<Response, PageError> {
    users_view(
        &state,
        &viewer,
        StatusCode::OK,
        None,
        None,
        Fields::default().context(),
    )
    .await
}

/// The address of this server as the browser reached it, for links shown to copy.
fn base_url(headers: &HeaderMap) -> String {
    crate::extract::base_url(None, headers)
}

fn setup_shown(headers: &HeaderMap, user: &UserName, secret: &str) -> Shown {
    Shown {
        message: format!(
            "Send this one-time link to {user}; with it they choose their password (valid for {} hours, shown only now):",
            super::SETUP_LINK_TTL.as_hours()
        ),
        secret: Some(format!("{}/setup/{secret}", base_url(headers))),
    }
}

/// `POST /users`: add a user, and show the link with which they choose a password.
pub(crate) async fn add_user<S: Store + Directory>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    SignedForm { viewer, fields }: SignedForm,
) -> Response {
    let result = async {
        viewer.caller.require(InstallationRole::Admin)?;
        let name = UserName::parse(fields.get("name").unwrap_or_default())?;
        let role = InstallationRole::parse(fields.get("role").unwrap_or("responder"))?;
        state
            .store
            .create_user(&name, role, Timestamp::now())
            .await?;
        let secret = new_setup_link(&state.store, &name).await?;
        Ok::<_, ApiError>(setup_shown(&headers, &name, &secret))
    }
    .await;
    let outcome = match result {
        Ok(shown) => {
            users_view(
                &state,
                &viewer,
                StatusCode::OK,
                Some(shown),
                None,
                Fields::default().context(),
            )
            .await
        }
        Err(error) => {
            users_view(
                &state,
                &viewer,
                error.status,
                None,
                Some(&error.message),
                fields.context(),
            )
            .await
        }
    };
    outcome.unwrap_or_else(IntoResponse::into_response)
}

/// `POST /users/{name}`: `op` is `role` (with `role`), `disable`, `enable`, `setup-link`
/// or `token` (with an optional `label`).
pub(crate) async fn change_user<S: Store + Directory>(
    State(state): State<AppState<S>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    SignedForm { viewer, fields }: SignedForm,
) -> Response {
    let result = async {
        viewer.caller.require(InstallationRole::Admin)?;
        let name =
            UserName::parse(&name).map_err(|_| ApiError::not_found(format!("user {name}")))?;
        let change = |change: UserChange| {
            let state = &state;
            let name = &name;
            async move {
                state.store.update_user(name, change).await?;
                state.sessions.clear();
                state.web.sessions.clear();
                state.feed.revoke_user(name);
                Ok::<_, ApiError>(None)
            }
        };
        match fields.get("op").unwrap_or_default() {
            "role" => {
                let role = InstallationRole::parse(fields.get("role").unwrap_or_default())?;
                change(UserChange {
                    role: Some(role),
                    disabled: None,
                })
                .await
            }
            "disable" => {
                if name == viewer.user().name {
                    return Err(ApiError::forbidden("you cannot disable yourself"));
                }
                change(UserChange {
                    role: None,
                    disabled: Some(true),
                })
                .await
            }
            "enable" => {
                change(UserChange {
                    role: None,
                    disabled: Some(false),
                })
                .await
            }
            "setup-link" => {
                state.store.user(&name).await?;
                let secret = new_setup_link(&state.store, &name).await?;
                Ok(Some(setup_shown(&headers, &name, &secret)))
            }
            "token" => {
                state.store.user(&name).await?;
                let label = fields.get("label").unwrap_or("web");
                let token = NewToken::generate().map_err(|_| {
                    ApiError::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "no_randomness",
                        "no randomness for a token right now",
                    )
                })?;
                state
                    .store
                    .create_token(&name, label, token.digest(), Timestamp::now())
                    .await?;
                Ok(Some(Shown {
                    message: format!("API token `{label}` for {name} (shown only now; store it):"),
                    secret: Some(token.reveal().to_owned()),
                }))
            }
            _ => Err(ApiError::bad_request(
                "unknown_operation",
                "this form asks for something the Users page cannot do",
            )),
        }
    }
    .await;
    let outcome = match result {
        Ok(shown) => {
            users_view(
                &state,
                &viewer,
                StatusCode::OK,
                shown,
                None,
                Fields::default().context(),
            )
            .await
        }
        Err(error) => {
            users_view(
                &state,
                &viewer,
                error.status,
                None,
                Some(&error.message),
                Fields::default().context(),
            )
            .await
        }
    };
    outcome.unwrap_or_else(IntoResponse::into_response)
}
