//! The Account page: a person's own chat links, a one-time code that links a chat account
//! (shown once, sent from chat as `inc link CODE`), unlinking, and their working hours.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hereby_store::{Chat, Communications, Directory, Notifications, Store};
use serde::Serialize;

use super::PageError;
use super::render::data;
use super::session::{SignedForm, Viewer};
use super::show;
use crate::AppState;
use crate::error::ApiError;

#[derive(Debug, Serialize)]
struct LinkRow {
    platform: String,
    chat_user: String,
    linked_at: String,
    linked_by: String,
}

/// A code to show once.
#[derive(Debug, Serialize)]
struct Code {
    code: String,
    expires: String,
}

async fn account_view<S: Store + Directory + Chat + Notifications + Communications>(
    state: &AppState<S>,
    viewer: &Viewer,
    status: StatusCode,
    code: Option<Code>,
    error: Option<&str>,
) -> Result<Response, PageError> {
    let links = state
        .app
        .chat_links(viewer.user())
        .await
        .map_err(ApiError::from)?;
    let rows: Vec<LinkRow> = links
        .into_iter()
        .filter(|link| link.user == viewer.user().name)
        .map(|link| LinkRow {
            platform: link.platform,
            chat_user: link.chat_user,
            linked_at: super::render::clock(link.linked_at),
            linked_by: link.linked_by,
        })
        .collect();
    let hours = state
        .app
        .working_hours(&viewer.user().name)
        .await
        .map_err(ApiError::from)?;
    show(
        status,
        "account.html",
        minijinja::context! {
            viewer => viewer.context(),
            hours => data(&hours),
            links => data(&rows),
            code => code.as_ref().map(data),
            error => error,
        },
    )
}

/// `GET /account`
pub(crate) async fn account_page<S: Store + Directory + Chat + Notifications + Communications>(
    State(state): State<AppState<S>>,
    viewer: Viewer,
) -> Result<Response, PageError> {
    account_view(&state, &viewer, StatusCode::OK, None, None).await
}

/// `POST /account/chat`: `op` is `code` (a new one-time link code, shown once) or `unlink`
/// (with `platform` and `chat_user`).
pub(crate) async fn change<S: Store + Directory + Chat + Notifications + Communications>(
    State(state): State<AppState<S>>,
    SignedForm { viewer, fields }: SignedForm,
) -> Response {
    let result = async {
        match fields.get("op").unwrap_or_default() {
            "code" => {
                let (code, expires) = state.app.chat_link_code(viewer.user()).await?;
                Ok::<_, ApiError>(Some(Code {
                    code,
                    expires: super::render::clock(expires),
                }))
            }
            "unlink" => {
                state
                    .app
                    .unlink_chat_account(
                        viewer.user(),
                        fields.get("platform").unwrap_or_default(),
                        fields.get("chat_user").unwrap_or_default(),
                    )
                    .await?;
                Ok(None)
            }
            other => Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_value",
                format!("op: `{other}` is neither code nor unlink"),
            )),
        }
    }
    .await;
    let outcome = match result {
        Ok(code) => account_view(&state, &viewer, StatusCode::OK, code, None).await,
        Err(error) => account_view(&state, &viewer, error.status, None, Some(&error.message)).await,
    };
    outcome.unwrap_or_else(IntoResponse::into_response)
}

/// `POST /account/hours`: the viewer's own working hours.
pub(crate) async fn hours<S: Store + Directory + Chat + Notifications + Communications>(
    State(state): State<AppState<S>>,
    SignedForm { viewer, fields }: SignedForm,
) -> Response {
    let field = |name: &str| fields.get(name).map(str::to_owned);
    let request = hereby_api::SetWorkingHours {
        time_zone: field("time_zone"),
        working: field("working"),
        late_until: field("late_until"),
        days: field("days"),
    };
    let saved = state
        .app
        .set_working_hours(viewer.user(), &viewer.user().name, &request)
        .await
        .map_err(ApiError::from);
    let outcome = match saved {
        Ok(_) => account_view(&state, &viewer, StatusCode::OK, None, None).await,
        Err(error) => account_view(&state, &viewer, error.status, None, Some(&error.message)).await,
    };
    outcome.unwrap_or_else(IntoResponse::into_response)
}
