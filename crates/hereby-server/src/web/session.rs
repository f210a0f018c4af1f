//! Signing in to the web UI: the session cookie, CSRF protection of forms, the sign-in
//! throttle, sign-out, and one-time setup links for choosing a password.
//!
//! A session is a random secret in an `HttpOnly`, `SameSite=Lax` cookie; the database keeps
//! only its digest, so sessions survive restarts and work on every server node. The CSRF
//! token of a session is derived from its secret, so it needs no storage, and a page from
//! another site can neither read the cookie nor compute the token.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Form, FromRequest, FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use hereby_core::types::{InstallationRole, UserName};
use hereby_store::{Directory, Store, User};
use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::{PageError, page, render};
use crate::AppState;
use crate::extract::{Caller, token_digest};
use crate::passwords;

/// The session cookie's name.
const COOKIE: &str = "hereby_session";

/// How long a session lasts: long enough for a long incident, then sign in again.
const SESSION_TTL: SignedDuration = SignedDuration::from_hours(7 * 24);

/// How long a setup link stays valid.
pub const SETUP_LINK_TTL: SignedDuration = SignedDuration::from_hours(72);

/// The signed-in person looking at a page.
#[derive(Debug, Clone)]
pub(crate) struct Viewer {
    pub(crate) caller: Caller,
    /// The token every form of this session carries.
    pub(crate) csrf: String,
    /// Hand-offs waiting for this person's answer, which every page shows.
    pub(crate) asked_to_command: Vec<hereby_app::AskedToCommand>,
}

impl Viewer {
    pub(crate) fn user(&self) -> &User {
        &self.caller.0
    }

    /// What templates need to know about the viewer.
    pub(crate) fn context(&self) -> minijinja::Value {
        let user = self.user();
        minijinja::context! {
            name => user.name.as_str(),
            role => user.role.as_str(),
            admin => user.role == InstallationRole::Admin,
            responder => user.role >= InstallationRole::Responder,
            csrf => &self.csrf,
            handoffs => self.asked_to_command.iter().map(|asked| minijinja::context! {
                id => asked.incident.to_string(),
                title => &asked.title,
                from => asked.from.as_str(),
            }).collect::<Vec<_>>(),
        }
    }
}

fn csrf_token(secret: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"hereby csrf\0");
    hasher.update(secret.as_bytes());
    hex::encode(hasher.finalize())
}

fn session_secret(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, secret)| secret)
        .filter(|secret| !secret.is_empty())
}

/// Where to come back to after signing in: the page asked for; for a form sent without a
/// valid session, the page the form was on (the form's own address answers only POST).
fn return_path(parts: &Parts) -> String {
    if parts.method == Method::GET || parts.method == Method::HEAD {
        return parts
            .uri
            .path_and_query()
            .map_or("/", |path| path.as_str())
            .to_owned();
    }
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok());
    parts
        .headers
        .get(header::REFERER)
        .and_then(|value| value.to_str().ok())
        .and_then(|referer| referer.split_once("://"))
        .and_then(|(_, rest)| {
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            (host == Some(authority)).then_some(path)
        })
        .filter(|path| path.starts_with('/'))
        .unwrap_or("/")
        .to_owned()
}

/// Where an anonymous visitor is sent: the sign-in page, coming back here afterwards.
fn to_sign_in(parts: &Parts) -> Response {
    let next = return_path(parts);
    let target = format!("/login?next={}", render::url_encode(&next));
    if parts.headers.contains_key("hx-request") {
        // htmx follows this header with a full navigation instead of swapping a fragment.
        let mut response = StatusCode::UNAUTHORIZED.into_response();
        if let Ok(value) = HeaderValue::from_str(&target) {
            response.headers_mut().insert("hx-redirect", value);
        }
        return response;
    }
    Redirect::to(&target).into_response()
}

impl<S: Store + Directory> FromRequestParts<AppState<S>> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState<S>) -> Result<Self, Response> {
        let Some(secret) = session_secret(&parts.headers) else {
            return Err(to_sign_in(parts));
        };
        let digest = token_digest(secret);
        let user = match state.web.sessions.get(&digest) {
            Some(user) => user,
            None => match state.store.web_session_user(digest, Timestamp::now()).await {
                Ok(Some(user)) => {
                    state.web.sessions.insert(digest, user.clone());
                    user
                }
                Ok(None) => return Err(to_sign_in(parts)),
                Err(error) => {
                    return Err(
                        PageError::from(crate::error::ApiError::from(error)).into_response()
                    );
                }
            },
        };
        let asked_to_command = state.app.handoffs_for(&user).await;
        Ok(Viewer {
            caller: Caller(user, hereby_app::Credential::WebSession(digest)),
            csrf: csrf_token(secret),
            asked_to_command,
        })
    }
}

/// The fields of a submitted form, with blank fields treated as absent.
#[derive(Debug, Clone, Default)]
pub(crate) struct Fields(Vec<(String, String)>);

impl Fields {
    /// Fields as a form sends them, in order.
    #[cfg(test)]
    pub(crate) fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        Self(pairs)
    }

    /// A field's value, trimmed; `None` when missing or blank.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.trim())
            .filter(|value| !value.is_empty())
    }

    /// A field's value as sent, untrimmed (a document's leading spaces may matter).
    pub(crate) fn raw(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// Every non-blank value of a field that may repeat (a multiple select), trimmed.
    pub(crate) fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(key, _)| key == name)
            .map(|(_, value)| value.trim())
            .filter(|value| !value.is_empty())
    }

    /// Every field as sent, in order.
    pub(crate) fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0
            .iter()
            .map(|(key, value)| (key.as_str(), value.as_str()))
    }

    /// Whether a checkbox was ticked.
    pub(crate) fn checked(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Every submitted field, for putting a rejected form back as it was.
    pub(crate) fn context(&self) -> minijinja::Value {
        minijinja::Value::from_pairs(
            self.0
                .iter()
                .filter(|(key, _)| !key.starts_with('_') && key != "password")
                .map(|(key, value)| (key.clone(), value.clone())),
        )
    }
}

/// Refuses a form posted from a page of another origin, when the browser says so.
pub(crate) fn check_origin(headers: &HeaderMap) -> Result<(), crate::error::ApiError> {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return Ok(());
    };
    let origin_host = origin
        .split_once("://")
        .map(|(_, rest)| rest.trim_end_matches('/'));
    // Behind a reverse proxy that rewrites `Host`, the host the browser used arrives as
    // `X-Forwarded-Host`; either may match.
    let same = [header::HOST.as_str(), "x-forwarded-host"]
        .into_iter()
        .filter_map(|name| headers.get(name).and_then(|v| v.to_str().ok()))
        .any(|host| origin_host == Some(host.trim()));
    if same {
        return Ok(());
    }
    Err(crate::error::ApiError::forbidden(
        "this form was sent from another site, so it was refused",
    ))
}

fn same_origin(headers: &HeaderMap) -> Result<(), PageError> {
    check_origin(headers).map_err(PageError::from)
}

/// Whether a form's CSRF token is this session's.
pub(crate) fn csrf_matches(sent: &str, expected: &str) -> bool {
    let (sent, expected) = (sent.trim().as_bytes(), expected.as_bytes());
    sent.len() == expected.len()
        && sent
            .iter()
            .zip(expected)
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A form posted by a signed-in viewer, its CSRF token checked.
#[derive(Debug)]
pub(crate) struct SignedForm {
    pub(crate) viewer: Viewer,
    pub(crate) fields: Fields,
}

impl<S: Store + Directory> FromRequest<AppState<S>> for SignedForm {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState<S>) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let viewer = Viewer::from_request_parts(&mut parts, state).await?;
        same_origin(&parts.headers).map_err(IntoResponse::into_response)?;
        let request = Request::from_parts(parts, body);
        let Form(fields) = Form::<Vec<(String, String)>>::from_request(request, state)
            .await
            .map_err(|rejection| {
                PageError::new(
                    StatusCode::BAD_REQUEST,
                    format!("The form could not be read: {}", rejection.body_text()),
                )
                .into_response()
            })?;
        let fields = Fields(fields);
        let sent = fields.get("_csrf").unwrap_or_default();
        if !csrf_matches(sent, &viewer.csrf) {
            return Err(PageError::new(
                StatusCode::FORBIDDEN,
                "This form has expired (it belongs to another sign-in). Reload the page and send it again.",
            )
            .into_response());
        }
        Ok(SignedForm { viewer, fields })
    }
}

/// The client's address, when the server knows it: the peer's, or for a trusted reverse
/// proxy the address it forwards for.
pub(crate) struct Peer(Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<AppState<S>> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState<S>,
    ) -> Result<Self, Self::Rejection> {
        Ok(Peer(parts.extensions.get::<ConnectInfo<SocketAddr>>().map(
            |ConnectInfo(address)| {
                crate::listen::client_address(*address, &parts.headers, &state.web.trusted_proxies)
            },
        )))
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct LoginParams {
    next: Option<String>,
}

/// Only paths on this server are followed after sign-in, never another site.
fn local_path(next: Option<&str>) -> &str {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.contains('\\')
                && !path.starts_with("/login") =>
        {
            path
        }
        _ => "/",
    }
}

fn login_page(status: StatusCode, next: &str, username: &str, error: Option<&str>) -> Response {
    match render::templates()
        .get_template("login.html")
        .and_then(|template| {
            template.render(minijinja::context! {
                next => next,
                username => username,
                error => error,
            })
        }) {
        Ok(body) => page(status, body),
        Err(error) => PageError::from(error).into_response(),
    }
}

/// `GET /login`
pub(crate) async fn login_form(
    params: Result<axum::extract::Query<LoginParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let next = params.ok().and_then(|p| p.0.next);
    login_page(StatusCode::OK, local_path(next.as_deref()), "", None)
}

/// Whether the request came over https (directly or through a proxy that says so).
fn over_https(headers: &HeaderMap, secure: bool) -> bool {
    secure
        || headers
            .get("x-forwarded-proto")
            .and_then(|value| value.to_str().ok())
            .is_some_and(|proto| proto.eq_ignore_ascii_case("https"))
}

fn session_cookie(secret: &str, max_age: i64, secure: bool) -> Option<HeaderValue> {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE}={secret}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
    ))
    .ok()
}

/// Starts a session for `user` and sends the browser to `next` with its cookie.
async fn start_session<S: Directory>(
    state: &AppState<S>,
    headers: &HeaderMap,
    user: &UserName,
    next: &str,
) -> Result<Response, PageError> {
    let secret = crate::tokens::NewToken::generate().map_err(|_| {
        PageError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "The server has no randomness for a session right now. Try again.",
        )
    })?;
    let now = Timestamp::now();
    let expires = now.saturating_add(SESSION_TTL).unwrap_or(now);
    state
        .store
        .create_web_session(secret.digest(), user, now, expires)
        .await
        .map_err(crate::error::ApiError::from)?;
    let mut response = Redirect::to(next).into_response();
    if let Some(cookie) = session_cookie(
        secret.reveal(),
        SESSION_TTL.as_secs(),
        over_https(headers, state.web.secure_cookies),
    ) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

/// A hash to check passwords of unknown accounts against, so that the answer takes as long
/// as for a real account and does not tell which names exist.
static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// `POST /login`
pub(crate) async fn login<S: Store + Directory>(
    State(state): State<AppState<S>>,
    Peer(peer): Peer,
    headers: HeaderMap,
    form: Result<Form<Vec<(String, String)>>, axum::extract::rejection::FormRejection>,
) -> Response {
    if let Err(error) = same_origin(&headers) {
        return error.into_response();
    }
    let fields = Fields(form.map(|Form(fields)| fields).unwrap_or_default());
    let next = local_path(fields.get("next")).to_owned();
    let username = fields.get("username").unwrap_or_default().to_owned();
    let password = fields
        .0
        .iter()
        .find(|(key, _)| key == "password")
        .map(|(_, value)| value.clone())
        .unwrap_or_default();
    if let Some(wait) = state
        .web
        .throttle
        .wait(&username, peer, std::time::Instant::now())
    {
        let seconds = wait.as_secs_f64().ceil().max(1.0) as u64;
        let mut response = login_page(
            StatusCode::TOO_MANY_REQUESTS,
            &next,
            &username,
            Some(&format!(
                "Too many failed sign-ins from here. Wait {seconds} second{} and try again, or ask an admin for a setup link.",
                if seconds == 1 { "" } else { "s" }
            )),
        );
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        return response;
    }
    let user = match UserName::parse(&username) {
        Ok(name) => match state.store.password_hash(&name).await {
            Ok(hash) => hash.map(|hash| (name, hash)),
            Err(hereby_store::StoreError::UnknownUser(_)) => None,
            Err(error) => {
                return PageError::from(crate::error::ApiError::from(error)).into_response();
            }
        },
        Err(_) => None,
    };
    let accepted = match &user {
        Some((_, hash)) => passwords::verify(&password, hash).await,
        None => {
            let decoy = match DECOY.get() {
                Some(decoy) => decoy.clone(),
                None => {
                    let made = passwords::hash("decoy password for timing")
                        .await
                        .unwrap_or_default();
                    DECOY.get_or_init(|| made).clone()
                }
            };
            let _ = passwords::verify(&password, &decoy).await;
            false
        }
    };
    let signed_in = match (&user, accepted) {
        (Some((name, _)), true) => match state.store.user(name).await {
            Ok(found) if !found.disabled => Some(found.name),
            _ => None,
        },
        _ => None,
    };
    let Some(name) = signed_in else {
        state
            .web
            .throttle
            .fail(&username, peer, std::time::Instant::now());
        tracing::info!(username = %username, "failed web sign-in");
        return login_page(
            StatusCode::UNAUTHORIZED,
            &next,
            &username,
            Some("The username or password is not right (or the account is disabled)."),
        );
    };
    state.web.throttle.succeeded(&username, peer);
    match start_session(&state, &headers, &name, &next).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

/// `POST /logout`: ends the session in the database, so a copied cookie stops working.
pub(crate) async fn logout<S: Store + Directory>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    _form: SignedForm,
) -> Response {
    if let Some(secret) = session_secret(&headers) {
        if let Err(error) = state.store.delete_web_session(token_digest(secret)).await {
            return PageError::from(crate::error::ApiError::from(error)).into_response();
        }
        state.web.sessions.clear();
        // Live pages opened with this session end now, not at their next reconnect.
        state
            .feed
            .revoke(hereby_app::Credential::WebSession(token_digest(secret)));
    }
    let mut response = Redirect::to("/login").into_response();
    if let Some(cookie) = session_cookie("", 0, over_https(&headers, state.web.secure_cookies)) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

/// Makes a one-time link with which `user` chooses their password; returns its secret,
/// to be shown once as `/setup/<secret>`.
pub async fn new_setup_link<S: Directory>(
    store: &S,
    user: &UserName,
) -> Result<String, crate::error::ApiError> {
    let secret = crate::tokens::NewToken::generate().map_err(|_| {
        crate::error::ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "no_randomness",
            "the server has no randomness for a link right now",
        )
    })?;
    let now = Timestamp::now();
    let expires = now.saturating_add(SETUP_LINK_TTL).unwrap_or(now);
    store
        .create_setup_link(secret.digest(), user, now, expires)
        .await?;
    Ok(secret.reveal().to_owned())
}

fn setup_page(status: StatusCode, user: &str, error: Option<&str>) -> Response {
    match render::templates()
        .get_template("setup.html")
        .and_then(|template| {
            template.render(minijinja::context! {
                user => user,
                error => error,
            })
        }) {
        Ok(body) => page(status, body),
        Err(error) => PageError::from(error).into_response(),
    }
}

fn invalid_link() -> PageError {
    PageError::new(
        StatusCode::NOT_FOUND,
        "This setup link is not valid: it was used already, it expired, or it was mistyped. An admin can make a new one on the Users page.",
    )
}

/// `GET /setup/{secret}`
pub(crate) async fn setup_form<S: Store + Directory>(
    State(state): State<AppState<S>>,
    Path(secret): Path<String>,
) -> Result<Response, PageError> {
    match state
        .store
        .setup_link_user(token_digest(&secret), Timestamp::now())
        .await
        .map_err(crate::error::ApiError::from)?
    {
        Some(user) => Ok(setup_page(StatusCode::OK, user.name.as_str(), None)),
        None => Err(invalid_link()),
    }
}

/// `POST /setup/{secret}`: sets the password, uses up the link, and signs in.
pub(crate) async fn setup<S: Store + Directory>(
    State(state): State<AppState<S>>,
    Path(secret): Path<String>,
    headers: HeaderMap,
    form: Result<Form<Vec<(String, String)>>, axum::extract::rejection::FormRejection>,
) -> Result<Response, PageError> {
    same_origin(&headers)?;
    let digest = token_digest(&secret);
    let Some(user) = state
        .store
        .setup_link_user(digest, Timestamp::now())
        .await
        .map_err(crate::error::ApiError::from)?
    else {
        return Err(invalid_link());
    };
    let fields = form.map(|Form(fields)| fields).unwrap_or_default();
    let raw = |name: &str| {
        fields
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
            .unwrap_or_default()
    };
    let (password, confirm) = (raw("password"), raw("confirm"));
    if password != confirm {
        return Ok(setup_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            user.name.as_str(),
            Some("The two passwords are not the same."),
        ));
    }
    if let Err(error) = passwords::check_strength(password) {
        return Ok(setup_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            user.name.as_str(),
            Some(&crate::error::ApiError::from(error).message),
        ));
    }
    let hash = passwords::hash(password).await?;
    let Some(user) = state
        .store
        .redeem_setup_link(digest, &hash, Timestamp::now())
        .await
        .map_err(crate::error::ApiError::from)?
    else {
        return Err(invalid_link());
    };
    state.web.sessions.clear();
    start_session(&state, &headers, &user.name, "/").await
}
