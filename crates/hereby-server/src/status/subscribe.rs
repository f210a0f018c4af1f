//! The status page's subscription pages, for anyone without signing in: sign up (e-mail or
//! webhook; to everything, components or one incident), confirm, unsubscribe (one click, as
//! RFC 8058 has it), and manage with an e-mailed code. No GET changes anything: mail scanners
//! open every link, so a link opens a page with a button that POSTs. The only POST that acts
//! without a button is the one-click unsubscribe, which mail providers send.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hereby_app::AppError;
use hereby_app::subscribers::{SignUp, SignedUp};
use hereby_store::{Communications, Notifications, Store};
use serde::Deserialize;

use super::Public;
use crate::html::render;

/// The most a subscription form may send.
pub(crate) const FORM_LIMIT: usize = 16 * 1024;

/// A link's token in the query.
#[derive(Debug, Deserialize)]
pub(crate) struct TokenQuery {
    token: Option<String>,
}

/// What the sign-up page starts with.
#[derive(Debug, Deserialize)]
pub(crate) struct SignUpQuery {
    component: Option<String>,
    incident: Option<String>,
}

/// A form's fields, repeated names kept in order.
struct Fields(Vec<(String, String)>);

impl Fields {
    fn read(body: &[u8]) -> Self {
        Self(
            form_urlencoded::parse(body)
                .map(|(name, value)| (name.into_owned(), value.into_owned()))
                .collect(),
        )
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
            .collect()
    }
}

/// Renders the subscription template in one of its modes.
fn page(status: StatusCode, name: &str, context: minijinja::Value) -> Response {
    let html = render::templates()
        .get_template("status_subscribe.html")
        .and_then(|template| template.render(minijinja::context! { name => name, ..context }))
        .unwrap_or_else(|error| {
            tracing::error!(%error, "the subscription template failed");
            format!("<!doctype html><title>{}</title>", render::escape(name))
        });
    let mut response = (
        status,
        [(axum::http::header::CONTENT_TYPE, "text/html; charset=utf-8")],
        html,
    )
        .into_response();
    crate::html::harden(&mut response);
    response
}

/// The page that says why something did not work.
fn refused(name: &str, error: &AppError) -> Response {
    let (status, words) = refusal(error);
    page(
        status,
        name,
        minijinja::context! { mode => "refused", error => words },
    )
}

/// The words and status a refusal is shown with.
fn refusal(error: &AppError) -> (StatusCode, String) {
    let status = match error {
        AppError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
        AppError::Refused { code, .. } if *code == "link_not_valid" => StatusCode::BAD_REQUEST,
        AppError::Refused { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        AppError::Conflict { .. } => StatusCode::CONFLICT,
        AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
        AppError::NotFound(_) => StatusCode::NOT_FOUND,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let words = if status == StatusCode::INTERNAL_SERVER_ERROR {
        tracing::error!(%error, "a subscription page failed");
        "Something went wrong on our side; please try again later.".to_owned()
    } else {
        error.to_string()
    };
    (status, words)
}

async fn page_name<S: Store + Communications>(public: &Public<S>) -> String {
    public
        .app
        .status_page()
        .await
        .map(|settings| settings.name)
        .unwrap_or_else(|_| hereby_app::status_page::DEFAULT_NAME.to_owned())
}

/// The address a request came from (the one a trusted proxy names), which sign-ups and
/// code checks are limited by.
fn client<S>(public: &Public<S>, parts: &axum::http::request::Parts) -> std::net::IpAddr {
    match parts.extensions.get::<ConnectInfo<SocketAddr>>() {
        Some(ConnectInfo(peer)) => {
            crate::listen::client_address(*peer, &parts.headers, &public.trusted_proxies)
        }
        None => std::net::IpAddr::from([0, 0, 0, 0]),
    }
}

/// `GET /status/subscribe`: the sign-up form.
pub(crate) async fn form<S: Store + Communications + Notifications>(
    State(public): State<Arc<Public<S>>>,
    query: Result<Query<SignUpQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let name = page_name(&public).await;
    let components: Vec<String> = public
        .app
        .store
        .list_components()
        .await
        .unwrap_or_default()
        .iter()
        .map(|c| c.name.to_string())
        .collect();
    let (chosen, incident) = match query {
        Ok(Query(query)) => (query.component, query.incident),
        Err(_) => (None, None),
    };
    page(
        StatusCode::OK,
        &name,
        minijinja::context! {
            mode => "form",
            components => components,
            chosen => chosen,
            incident => incident,
        },
    )
}

/// `POST /status/subscribe`: signs up; e-mail always answers the same.
pub(crate) async fn sign_up<S: Store + Communications + Notifications>(
    State(public): State<Arc<Public<S>>>,
    parts: axum::http::request::Parts,
    body: axum::body::Bytes,
) -> Response {
    let name = page_name(&public).await;
    let fields = Fields::read(&body);
    // A field people never see: whatever fills it is a robot, and gets the usual answer.
    if fields.get("website").is_some_and(|value| !value.is_empty()) {
        return page(
            StatusCode::OK,
            &name,
            minijinja::context! { mode => "sent" },
        );
    }
    let request = SignUp {
        kind: fields.get("kind").unwrap_or("email").to_owned(),
        address: fields.get("address").unwrap_or_default().to_owned(),
        components: fields.all("components"),
        incident: fields.get("incident").map(str::to_owned),
    };
    let from = client(&public, &parts);
    match public.app.sign_up(&request, from).await {
        Ok(SignedUp::Email) => page(
            StatusCode::OK,
            &name,
            minijinja::context! { mode => "sent" },
        ),
        Ok(SignedUp::Webhook { id, secret }) => page(
            StatusCode::OK,
            &name,
            minijinja::context! { mode => "webhook", id => id, secret => secret },
        ),
        Err(error) => refused(&name, &error),
    }
}

/// `GET /status/subscriptions/confirm?token=…`: what would be confirmed, with the button.
pub(crate) async fn confirm_form<S: Store + Communications + Notifications>(
    State(public): State<Arc<Public<S>>>,
    query: Result<Query<TokenQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let name = page_name(&public).await;
    let token = query.ok().and_then(|Query(q)| q.token).unwrap_or_default();
    match public.app.subscription_to_confirm(&token).await {
        Ok(subscriber) => page(
            StatusCode::OK,
            &name,
            minijinja::context! { mode => "confirm", token => token, address => subscriber.address },
        ),
        Err(error) => refused(&name, &error),
    }
}

/// `POST /status/subscriptions/confirm`: the button.
pub(crate) async fn confirm<S: Store + Communications + Notifications>(
    State(public): State<Arc<Public<S>>>,
    body: axum::body::Bytes,
) -> Response {
    let name = page_name(&public).await;
    let fields = Fields::read(&body);
    match public
        .app
        .confirm_subscription(fields.get("token").unwrap_or_default())
        .await
    {
        Ok(subscriber) => page(
            StatusCode::OK,
            &name,
            minijinja::context! { mode => "confirmed", address => subscriber.address },
        ),
        Err(error) => refused(&name, &error),
    }
}

/// `GET /status/subscriptions/unsubscribe?token=…`: the button (the link alone changes
/// nothing).
pub(crate) async fn unsubscribe_form<S: Store + Communications + Notifications>(
    State(public): State<Arc<Public<S>>>,
    query: Result<Query<TokenQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let name = page_name(&public).await;
    let token = query.ok().and_then(|Query(q)| q.token).unwrap_or_default();
    match public.app.subscription_by_link(&token).await {
        Ok(subscriber) => page(
            StatusCode::OK,
            &name,
            minijinja::context! {
                mode => "unsubscribe",
                token => token,
                address => subscriber.address,
            },
        ),
        Err(error) => refused(&name, &error),
    }
}

/// `POST /status/subscriptions/unsubscribe?token=…`: the one-click unsubscribe mail
/// providers send (`List-Unsubscribe=One-Click`), or the page's button; no session, and
/// unsubscribing twice is fine.
pub(crate) async fn unsubscribe<S: Store + Communications + Notifications>(
    State(public): State<Arc<Public<S>>>,
    query: Result<Query<TokenQuery>, axum::extract::rejection::QueryRejection>,
    body: axum::body::Bytes,
) -> Response {
    let name = page_name(&public).await;
    let fields = Fields::read(&body);
    let token = query
        .ok()
        .and_then(|Query(q)| q.token)
        .or_else(|| fields.get("token").map(str::to_owned))
        .unwrap_or_default();
    match public.app.unsubscribe(&token).await {
        Ok(subscriber) => page(
            StatusCode::OK,
            &name,
            minijinja::context! { mode => "unsubscribed", address => subscriber.address },
        ),
        Err(error) => refused(&name, &error),
    }
}

/// `GET /status/subscriptions/manage`: asks for the address to send a code to.
pub(crate) async fn manage_form<S: Store + Communications + Notifications>(
    State(public): State<Arc<Public<S>>>,
) -> Response {
    let name = page_name(&public).await;
    page(
        StatusCode::OK,
        &name,
        minijinja::context! { mode => "manage" },
    )
}

/// `POST /status/subscriptions/manage`: e-mails a code if the address is subscribed; the
/// same answer either way.
pub(crate) async fn send_code<S: Store + Communications + Notifications>(
    State(public): State<Arc<Public<S>>>,
    parts: axum::http::request::Parts,
    body: axum::body::Bytes,
) -> Response {
    let name = page_name(&public).await;
    let fields = Fields::read(&body);
    let address = fields.get("address").unwrap_or_default().to_owned();
    let from = client(&public, &parts);
    match public.app.send_manage_code(&address, from).await {
        Ok(()) => page(
            StatusCode::OK,
            &name,
            minijinja::context! { mode => "code", address => address },
        ),
        Err(error) => refused(&name, &error),
    }
}

/// `POST /status/subscriptions/manage/code`: a good code opens the subscription.
pub(crate) async fn open<S: Store + Communications + Notifications>(
    State(public): State<Arc<Public<S>>>,
    parts: axum::http::request::Parts,
    body: axum::body::Bytes,
) -> Response {
    let name = page_name(&public).await;
    let fields = Fields::read(&body);
    let from = client(&public, &parts);
    let opened = public
        .app
        .open_manage(
            fields.get("address").unwrap_or_default(),
            fields.get("code").unwrap_or_default(),
            from,
        )
        .await;
    match opened {
        Ok(session) => managed(&public, &name, &session, StatusCode::OK, false).await,
        Err(error) => refused(&name, &error),
    }
}

/// `POST /status/subscriptions/manage/save`: the components to hear of (none: everything).
pub(crate) async fn save<S: Store + Communications + Notifications>(
    State(public): State<Arc<Public<S>>>,
    body: axum::body::Bytes,
) -> Response {
    let name = page_name(&public).await;
    let fields = Fields::read(&body);
    let session = fields.get("session").unwrap_or_default().to_owned();
    match public
        .app
        .save_managed(&session, &fields.all("components"))
        .await
    {
        Ok(_) => managed(&public, &name, &session, StatusCode::OK, true).await,
        Err(error) => refused(&name, &error),
    }
}

/// The manage page of an open session.
async fn managed<S: Store + Communications + Notifications>(
    public: &Public<S>,
    name: &str,
    session: &str,
    status: StatusCode,
    saved: bool,
) -> Response {
    let subscriber = match public.app.managed(session).await {
        Ok(subscriber) => subscriber,
        Err(error) => return refused(name, &error),
    };
    let components: Vec<String> = public
        .app
        .store
        .list_components()
        .await
        .unwrap_or_default()
        .iter()
        .map(|c| c.name.to_string())
        .collect();
    let chosen: Vec<String> = subscriber
        .components
        .iter()
        .map(ToString::to_string)
        .collect();
    let unsubscribe = public.app.unsubscribe_token(&subscriber).await.ok();
    page(
        status,
        name,
        minijinja::context! {
            mode => "managed",
            session => session,
            address => subscriber.address,
            components => components,
            chosen_all => chosen,
            saved => saved,
            unsubscribe => unsubscribe,
        },
    )
}
