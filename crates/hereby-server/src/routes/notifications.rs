//! Notification settings and the outbox (admins): channels, subscriptions, deliveries with
//! "retry now", and each user's notification address (their own, or anyone's for admins).

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use hereby_api as api;
use hereby_core::types::{InstallationRole, UserName};
use hereby_store::{DeliveryState, Directory, NewDelivery, Notifications, Store};
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::json;

use crate::AppState;
use crate::convert::{channel, delivery, subscription};
use crate::error::ApiError;
use crate::extract::{ApiJson, Caller};
use hereby_app::channels::{invalid, mailbox};

/// A numeric id from the path; anything else names nothing.
fn id(raw: &str, what: &str) -> Result<i64, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::not_found(format!("{what} `{raw}`")))
}

/// `POST /api/v1/channels` (admins)
#[utoipa::path(
    post,
    path = "/api/v1/channels",
    tag = "notifications",
    security(("bearer" = [])),
    request_body = api::ChannelRequest,
    responses(
        (status = 201, body = api::Channel),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 413, body = api::ErrorBody),
        (status = 422, body = api::ErrorBody),
    )
)]
pub(crate) async fn create_channel<S: Store + Directory + Notifications>(
    State(state): State<AppState<S>>,
    caller: Caller,
    ApiJson(request): ApiJson<api::ChannelRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let created = state.app.add_channel(&caller.0, request).await?;
    Ok((StatusCode::CREATED, Json(channel(&created))))
}

/// `GET /api/v1/channels` (admins)
#[utoipa::path(
    get,
    path = "/api/v1/channels",
    tag = "notifications",
    security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<api::Channel>),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
    )
)]
pub(crate) async fn list_channels<S: Store + Directory + Notifications>(
    State(state): State<AppState<S>>,
    caller: Caller,
) -> Result<Json<Vec<api::Channel>>, ApiError> {
    caller.require(InstallationRole::Admin)?;
    let channels = state.store.channels().await?;
    Ok(Json(channels.iter().map(channel).collect()))
}

/// `DELETE /api/v1/channels/{id}` (admins): with its subscriptions and deliveries.
#[utoipa::path(
    delete,
    path = "/api/v1/channels/{id}",
    tag = "notifications",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The channel id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
    )
)]
pub(crate) async fn delete_channel<S: Store + Directory + Notifications>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(InstallationRole::Admin)?;
    let id = id(&raw, "channel")?;
    if state.store.delete_channel(id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("channel {id}")))
    }
}

/// Where a test message goes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TestParams {
    /// The address, for e-mail channels.
    recipient: Option<String>,
}

/// `POST /api/v1/channels/{id}/test` (admins): queues a test message.
#[utoipa::path(
    post,
    path = "/api/v1/channels/{id}/test",
    tag = "notifications",
    security(("bearer" = [])),
    params(
        ("id" = i64, Path, description = "The channel id"),
        ("recipient" = Option<String>, Query, description = "The address, for e-mail channels"),
    ),
    responses(
        (status = 202, body = api::Delivery),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
        (status = 422, body = api::ErrorBody),
    )
)]
pub(crate) async fn test_channel<S: Store + Directory + Notifications>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(raw): Path<String>,
    params: Result<Query<TestParams>, axum::extract::rejection::QueryRejection>,
) -> Result<impl IntoResponse, ApiError> {
    caller.require(InstallationRole::Admin)?;
    let Query(params) =
        params.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let id = id(&raw, "channel")?;
    let channels = state.store.channels().await?;
    let Some(found) = channels.iter().find(|c| c.id == id) else {
        return Err(ApiError::not_found(format!("channel {id}")));
    };
    let recipient = match (found.kind.as_str(), params.recipient) {
        ("email", Some(to)) => Some(mailbox("recipient", &to)?),
        ("email", None) => {
            return Err(invalid("recipient", "an e-mail channel's test needs an address").into());
        }
        (_, Some(_)) => {
            return Err(invalid("recipient", "only e-mail channels take a recipient").into());
        }
        (_, None) => None,
    };
    let now = Timestamp::now();
    let subject = format!("[hereby] test of channel {}", found.name);
    let body = format!(
        "This is a test message from hereby, sent by {} through the channel `{}`. No incident changed.\n",
        caller.0.name, found.name
    );
    let payload = json!({
        "kind": "test",
        "at": now.to_string(),
        "subject": subject,
        "text": body,
        "incident": null,
    })
    .to_string();
    let key = format!("test:{id}:{}", now.as_microsecond());
    state
        .store
        .enqueue(
            &[NewDelivery {
                key: key.clone(),
                channel_id: id,
                recipient,
                incident: None,
                kind: "test".to_owned(),
                subject,
                body,
                payload,
            }],
            now,
        )
        .await?;
    state.outbox.wake();
    let queued = state
        .store
        .deliveries(None, 50)
        .await?
        .into_iter()
        .find(|d| d.key == key)
        .ok_or_else(|| ApiError::not_found("the queued test message"))?;
    Ok((StatusCode::ACCEPTED, Json(delivery(&queued))))
}

/// `POST /api/v1/subscriptions` (admins)
#[utoipa::path(
    post,
    path = "/api/v1/subscriptions",
    tag = "notifications",
    security(("bearer" = [])),
    request_body = api::SubscriptionRequest,
    responses(
        (status = 201, body = api::Subscription),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 413, body = api::ErrorBody),
        (status = 422, body = api::ErrorBody),
    )
)]
pub(crate) async fn create_subscription<S: Store + Directory + Notifications>(
    State(state): State<AppState<S>>,
    caller: Caller,
    ApiJson(request): ApiJson<api::SubscriptionRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let created = state.app.add_subscription(&caller.0, request).await?;
    let channels = state.store.channels().await?;
    Ok((StatusCode::CREATED, Json(subscription(&created, &channels))))
}

/// `GET /api/v1/subscriptions` (admins)
#[utoipa::path(
    get,
    path = "/api/v1/subscriptions",
    tag = "notifications",
    security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<api::Subscription>),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
    )
)]
pub(crate) async fn list_subscriptions<S: Store + Directory + Notifications>(
    State(state): State<AppState<S>>,
    caller: Caller,
) -> Result<Json<Vec<api::Subscription>>, ApiError> {
    caller.require(InstallationRole::Admin)?;
    let channels = state.store.channels().await?;
    let subscriptions = state.store.subscriptions().await?;
    Ok(Json(
        subscriptions
            .iter()
            .map(|s| subscription(s, &channels))
            .collect(),
    ))
}

/// `DELETE /api/v1/subscriptions/{id}` (admins)
#[utoipa::path(
    delete,
    path = "/api/v1/subscriptions/{id}",
    tag = "notifications",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The subscription id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
    )
)]
pub(crate) async fn delete_subscription<S: Store + Directory + Notifications>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(InstallationRole::Admin)?;
    let id = id(&raw, "subscription")?;
    if state.store.delete_subscription(id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("subscription {id}")))
    }
}

/// Filters of `GET /api/v1/deliveries`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DeliveryParams {
    state: Option<String>,
    limit: Option<u32>,
}

/// `GET /api/v1/deliveries` (admins): newest first.
#[utoipa::path(
    get,
    path = "/api/v1/deliveries",
    tag = "notifications",
    security(("bearer" = [])),
    params(
        ("state" = Option<api::vocabulary::DeliveryState>, Query, description = "`pending`, `delivered` or `dead`"),
        ("limit" = Option<u32>, Query, description = "1 to 1000; 100 when absent"),
    ),
    responses(
        (status = 200, body = Vec<api::Delivery>),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 422, body = api::ErrorBody),
    )
)]
pub(crate) async fn list_deliveries<S: Store + Directory + Notifications>(
    State(state): State<AppState<S>>,
    caller: Caller,
    params: Result<Query<DeliveryParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<api::Delivery>>, ApiError> {
    caller.require(InstallationRole::Admin)?;
    let Query(params) =
        params.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let wanted = match params.state.as_deref() {
        None => None,
        Some(raw) => Some(DeliveryState::parse(raw).ok_or_else(|| {
            ApiError::from(invalid(
                "state",
                format!("`{raw}` is not a delivery state: use pending, delivered or dead"),
            ))
        })?),
    };
    let limit = params.limit.unwrap_or(100);
    if !(1..=1_000).contains(&limit) {
        return Err(invalid("limit", "must be between 1 and 1000").into());
    }
    let deliveries = state.store.deliveries(wanted, limit).await?;
    Ok(Json(deliveries.iter().map(delivery).collect()))
}

/// `POST /api/v1/deliveries/{id}/retry` (admins): try a pending or dead delivery now.
#[utoipa::path(
    post,
    path = "/api/v1/deliveries/{id}/retry",
    tag = "notifications",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The delivery id")),
    responses(
        (status = 200, body = api::Delivery),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
        (status = 409, body = api::ErrorBody),
    )
)]
pub(crate) async fn retry_delivery<S: Store + Directory + Notifications>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<Json<api::Delivery>, ApiError> {
    let id = id(&raw, "delivery")?;
    Ok(Json(delivery(
        &state.app.retry_delivery(&caller.0, id).await?,
    )))
}

/// `PUT /api/v1/users/{name}/email`: your own notification address, or (admins) anyone's.
#[utoipa::path(
    put,
    path = "/api/v1/users/{name}/email",
    tag = "users",
    security(("bearer" = [])),
    params(("name" = String, Path)),
    request_body = api::SetEmail,
    responses(
        (status = 204, description = "Set"),
        (status = 400, body = api::ErrorBody),
        (status = 401, body = api::ErrorBody),
        (status = 403, body = api::ErrorBody),
        (status = 404, body = api::ErrorBody),
        (status = 413, body = api::ErrorBody),
        (status = 422, body = api::ErrorBody),
    )
)]
pub(crate) async fn set_email<S: Store + Directory + Notifications>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(name): Path<String>,
    ApiJson(request): ApiJson<api::SetEmail>,
) -> Result<StatusCode, ApiError> {
    if caller.0.name.as_str() != name && !caller.is_admin() {
        return Err(ApiError::forbidden(
            "only admins can set someone else's address",
        ));
    }
    let user = UserName::parse(&name).map_err(|_| ApiError::not_found(format!("user {name}")))?;
    let email = request
        .email
        .as_deref()
        .map(|raw| mailbox("email", raw))
        .transpose()?;
    state.store.set_user_email(&user, email.as_deref()).await?;
    Ok(StatusCode::NO_CONTENT)
}
