//! Chat accounts linked to hereby users: a one-time code a person sends from chat
//! (`inc link CODE`), or an admin's mapping.

use axum::Json;
use axum::extract::{Path, State};
use hereby_api as api;
use hereby_store::{Chat, Directory, Notifications, Store};

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{ApiJson, Caller};

fn link_view(link: hereby_store::ChatLink) -> api::ChatLink {
    api::ChatLink {
        platform: link.platform,
        chat_user: link.chat_user,
        user: link.user.to_string(),
        linked_at: link.linked_at.to_string(),
        linked_by: link.linked_by,
    }
}

/// `POST /api/v1/chat/link-code`: a one-time code that links the chat account it is sent
/// from (`inc link CODE`) to the caller; good for 15 minutes.
#[utoipa::path(
    post,
    path = "/api/v1/chat/link-code",
    tag = "chat",
    security(("bearer" = [])),
    responses(
        (status = 200, body = api::ChatLinkCode),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
    )
)]
pub(crate) async fn link_code<S: Store + Directory + Chat + Notifications>(
    State(state): State<AppState<S>>,
    caller: Caller,
) -> Result<Json<api::ChatLinkCode>, ApiError> {
    let (code, expires) = state.app.chat_link_code(&caller.0).await?;
    Ok(Json(api::ChatLinkCode {
        code,
        expires_at: expires.to_string(),
    }))
}

/// `GET /api/v1/chat/links`: the chat links the caller may see (an admin every one).
#[utoipa::path(
    get,
    path = "/api/v1/chat/links",
    tag = "chat",
    security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<api::ChatLink>),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
    )
)]
pub(crate) async fn list_links<S: Store + Directory + Chat + Notifications>(
    State(state): State<AppState<S>>,
    caller: Caller,
) -> Result<Json<Vec<api::ChatLink>>, ApiError> {
    let links = state.app.chat_links(&caller.0).await?;
    Ok(Json(links.into_iter().map(link_view).collect()))
}

/// `PUT /api/v1/chat/links`: an admin links a chat account to a user (replacing an earlier
/// link of that account).
#[utoipa::path(
    put,
    path = "/api/v1/chat/links",
    tag = "chat",
    security(("bearer" = [])),
    request_body = api::ChatLinkRequest,
    responses(
        (status = 200, body = api::ChatLink),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 413, body = api::ErrorBody),
        (status = 422, body = api::ErrorBody),
    )
)]
pub(crate) async fn put_link<S: Store + Directory + Chat + Notifications>(
    State(state): State<AppState<S>>,
    caller: Caller,
    ApiJson(request): ApiJson<api::ChatLinkRequest>,
) -> Result<Json<api::ChatLink>, ApiError> {
    let link = state
        .app
        .link_chat_account(
            &caller.0,
            &request.platform,
            &request.chat_user,
            &request.user,
        )
        .await?;
    Ok(Json(link_view(link)))
}

/// `DELETE /api/v1/chat/links/{platform}/{chat_user}`: unlinks a chat account (an admin any,
/// a user their own).
#[utoipa::path(
    delete,
    path = "/api/v1/chat/links/{platform}/{chat_user}",
    tag = "chat",
    security(("bearer" = [])),
    params(
        ("platform" = String, Path, description = "e.g. matrix"),
        ("chat_user" = String, Path, description = "e.g. @anna:example.org"),
    ),
    responses(
        (status = 204, description = "Unlinked"),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
    )
)]
pub(crate) async fn remove_link<S: Store + Directory + Chat + Notifications>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path((platform, chat_user)): Path<(String, String)>,
) -> Result<axum::http::StatusCode, ApiError> {
    state
        .app
        .unlink_chat_account(&caller.0, &platform, &chat_user)
        .await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}
