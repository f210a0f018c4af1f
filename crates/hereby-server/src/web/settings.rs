//! The Status page and templates page for admins: the public status page's components and
//! the message templates, changed through the same functions as the API.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use hereby_api as api;
use hereby_core::types::{ComponentStatus, InstallationRole};
use hereby_store::{Communications, DeliveryState, Directory, Notifications, Store};
use serde::Serialize;

use super::PageError;
use super::render::data;
use super::session::{Fields, SignedForm, Viewer};
use super::show;
use crate::AppState;
use crate::error::ApiError;

/// How many dead and how many pending deliveries the page lists.
const UNDELIVERED_SHOWN: u32 = 50;

#[derive(Debug, Serialize)]
struct ComponentRow {
    name: String,
    description: String,
    position: i64,
    status: &'static str,
    group: String,
}

async fn settings_view<S: Store + Directory + Communications + Notifications>(
    state: &AppState<S>,
    viewer: &Viewer,
    status: StatusCode,
    error: Option<&str>,
    form: minijinja::Value,
) -> Result<Response, PageError> {
    viewer.caller.require(InstallationRole::Admin)?;
    let components: Vec<ComponentRow> = state
        .store
        .list_components()
        .await
        .map_err(ApiError::from)?
        .into_iter()
        .map(|component| ComponentRow {
            name: component.name.to_string(),
            description: component.description,
            position: component.position,
            status: component.status.map_or("auto", ComponentStatus::as_str),
            group: component.group.unwrap_or_default(),
        })
        .collect();
    let templates = state.app.templates().await.map_err(ApiError::from)?;
    let channels = state.store.channels().await.map_err(ApiError::from)?;
    let subscriptions: Vec<api::Subscription> = state
        .store
        .subscriptions()
        .await
        .map_err(ApiError::from)?
        .iter()
        .map(|s| crate::convert::subscription(s, &channels))
        .collect();
    // What needs an admin's eye: dead letters first, then what is still waiting.
    let mut undelivered = Vec::new();
    for wanted in [DeliveryState::Dead, DeliveryState::Pending] {
        undelivered.extend(
            state
                .store
                .deliveries(Some(wanted), UNDELIVERED_SHOWN)
                .await
                .map_err(ApiError::from)?
                .iter()
                .map(crate::convert::delivery)
                .map(|mut delivery| {
                    delivery.next_attempt_at = super::render::when(&delivery.next_attempt_at);
                    delivery
                }),
        );
    }
    let channels: Vec<api::Channel> = channels.iter().map(crate::convert::channel).collect();
    let page = state.app.status_page().await.map_err(ApiError::from)?;
    let statuses: Vec<&str> = std::iter::once("auto")
        .chain(ComponentStatus::ALL.iter().map(|status| status.as_str()))
        .collect();
    show(
        status,
        "settings.html",
        minijinja::context! {
            viewer => viewer.context(),
            components => data(&components),
            page => data(page.wire()),
            templates => data(&templates),
            variables => hereby_app::messages::VARIABLES.iter().map(|(name, _)| *name).collect::<Vec<_>>(),
            statuses => statuses,
            channels => data(&channels),
            subscriptions => data(&subscriptions),
            channel_kinds => api::vocabulary::CHANNEL_KINDS.to_vec(),
            tls_modes => api::vocabulary::SMTP_TLS_MODES.to_vec(),
            notification_events => api::vocabulary::NOTIFICATION_EVENTS.to_vec(),
            scopes => api::vocabulary::SUBSCRIPTION_SCOPES.to_vec(),
            undelivered => data(&undelivered),
            error => error,
            form => form,
        },
    )
}

/// `GET /settings`
pub(crate) async fn settings_page<S: Store + Directory + Communications + Notifications>(
    State(state): State<AppState<S>>,
    viewer: Viewer,
) -> Result<Response, PageError> {
    settings_view(
        &state,
        &viewer,
        StatusCode::OK,
        None,
        Fields::default().context(),
    )
    .await
}

/// `POST /settings/{kind}/{name}`: `kind` is `components` or `templates`, with `op` `save`
/// (the default) or `remove`; `channels` or `subscriptions`, posted to `/settings/{kind}/new`
/// to add one; or `deliveries`, which retries delivery `name` now. A new component or
/// template is posted with its name in the form, to `/settings/{kind}/new`.
pub(crate) async fn change<S: Store + Directory + Communications + Notifications>(
    State(state): State<AppState<S>>,
    Path((kind, name)): Path<(String, String)>,
    SignedForm { viewer, fields }: SignedForm,
) -> Response {
    let name = if name == "new" {
        fields.get("name").unwrap_or_default().to_owned()
    } else {
        name
    };
    let caller = &viewer.caller;
    let remove = fields.get("op") == Some("remove");
    let position = fields
        .get("position")
        .map(|raw| {
            raw.parse::<i64>().map_err(|_| {
                ApiError::from(hereby_core::types::InvalidValue {
                    field: "position",
                    problem: format!("`{raw}` is not a whole number"),
                })
            })
        })
        .transpose();
    let result = match (kind.as_str(), remove) {
        ("components", false) => match position {
            Ok(position) => state
                .app
                .save_component(
                    &caller.0,
                    &name,
                    hereby_app::ComponentChange {
                        description: Some(fields.get("description").unwrap_or_default().to_owned()),
                        position,
                        status: Some(fields.get("status").unwrap_or("auto").to_owned()),
                        group: Some(fields.get("group").unwrap_or_default().to_owned()),
                    },
                )
                .await
                .map(drop)
                .map_err(ApiError::from),
            Err(error) => Err(error),
        },
        ("components", true) => state
            .app
            .delete_component(&caller.0, &name)
            .await
            .map_err(ApiError::from),
        ("templates", false) => state
            .app
            .save_template(
                &caller.0,
                &name,
                fields.get("description").unwrap_or_default(),
                fields.get("subject").unwrap_or_default().to_owned(),
                // Browsers send CRLF line ends; templates keep plain newlines.
                fields.get("body").unwrap_or_default().replace("\r\n", "\n"),
            )
            .await
            .map(drop)
            .map_err(ApiError::from),
        ("templates", true) => state
            .app
            .delete_template(&caller.0, &name)
            .await
            .map_err(ApiError::from),
        // The page's identity: `/settings/status-page/page`; every field is sent, so a blank
        // one clears it (a blank name is refused).
        ("status-page", false) => state
            .app
            .set_status_page(
                &caller.0,
                &api::PutStatusPage {
                    name: Some(fields.get("page_name").unwrap_or_default().to_owned()),
                    url: Some(fields.get("url").unwrap_or_default().to_owned()),
                    time_zone: Some(fields.get("time_zone").unwrap_or("UTC").to_owned()),
                    description: Some(
                        fields
                            .get("description")
                            .unwrap_or_default()
                            .replace("\r\n", "\n"),
                    ),
                    mail_channel: Some(fields.get("mail_channel").unwrap_or_default().to_owned()),
                    webhook_signups: fields.get("webhook_signups").map(str::to_owned),
                },
            )
            .await
            .map(drop)
            .map_err(ApiError::from),
        ("channels", false) => {
            match super::form::request::<api::ChannelRequest>(&fields, &["op"]) {
                Ok(request) => state
                    .app
                    .add_channel(&caller.0, request)
                    .await
                    .map(drop)
                    .map_err(ApiError::from),
                Err(error) => Err(error),
            }
        }
        ("subscriptions", false) => {
            match super::form::request::<api::SubscriptionRequest>(&fields, &["op", "name"]) {
                Ok(request) => state
                    .app
                    .add_subscription(&caller.0, request)
                    .await
                    .map(drop)
                    .map_err(ApiError::from),
                Err(error) => Err(error),
            }
        }
        ("deliveries", _) => match name.parse::<i64>() {
            Ok(id) => state
                .app
                .retry_delivery(&caller.0, id)
                .await
                .map(drop)
                .map_err(ApiError::from),
            Err(_) => Err(ApiError::not_found(format!("delivery `{name}`"))),
        },
        _ => Err(ApiError::not_found("this setting")),
    };
    match result {
        Ok(()) => Redirect::to(&format!("/settings#{kind}")).into_response(),
        Err(error) => settings_view(
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
