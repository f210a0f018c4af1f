//! Request extractors that answer in our error shape: the JSON body, the caller behind the
//! bearer token, and the `If-Match` version.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use hereby_core::types::InstallationRole;
use hereby_store::{Directory, Store, User};
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::error::ApiError;

/// A JSON body; malformed JSON, wrong types and oversize bodies become our errors.
#[derive(Debug, Clone)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        // Read as a JSON value first, to refuse a NUL character anywhere in it: SQLite would
        // store it and PostgreSQL refuse it, and neither is what anybody meant.
        match axum::Json::<serde_json::Value>::from_request(request, state).await {
            Ok(axum::Json(value)) => {
                if let Some(path) = nul_in(&value, String::new()) {
                    return Err(ApiError::from(hereby_core::types::InvalidValue::new(
                        "body",
                        format!(
                            "`{path}` contains a NUL character (\\u0000), which no text may hold"
                        ),
                    )));
                }
                serde_path_to_error::deserialize(value)
                    .map(Self)
                    .map_err(|error| {
                        ApiError::bad_request(
                            "invalid_body",
                            format!(
                                "the body does not have the expected fields and types: {}: {}",
                                error.path(),
                                error.inner()
                            ),
                        )
                    })
            }
            Err(JsonRejection::JsonSyntaxError(error)) => Err(ApiError::bad_request(
                "malformed_json",
                format!("the body is not valid JSON: {}", error.body_text()),
            )),
            Err(JsonRejection::JsonDataError(error)) => Err(ApiError::bad_request(
                "invalid_body",
                format!(
                    "the body does not have the expected fields and types: {}",
                    error.body_text()
                ),
            )),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as JSON with `Content-Type: application/json`",
            )),
            Err(JsonRejection::BytesRejection(error))
                if error.status() == StatusCode::PAYLOAD_TOO_LARGE =>
            {
                Err(ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "body_too_large",
                    "the body is larger than this server accepts",
                ))
            }
            Err(other) => Err(ApiError::bad_request("unreadable_body", other.body_text())),
        }
    }
}

/// Where in `value` a string (or an object's key) holds a NUL character, as a path like
/// `body` or `items[2].text`; `None` when nowhere.
fn nul_in(value: &serde_json::Value, path: String) -> Option<String> {
    use serde_json::Value;
    let named = |path: &str| {
        if path.is_empty() {
            ".".to_owned()
        } else {
            path.to_owned()
        }
    };
    match value {
        Value::String(text) => text.contains('\0').then(|| named(&path)),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(index, item)| nul_in(item, format!("{path}[{index}]"))),
        Value::Object(fields) => fields.iter().find_map(|(key, item)| {
            let inner = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            if key.contains('\0') {
                Some(named(&path))
            } else {
                nul_in(item, inner)
            }
        }),
        _ => None,
    }
}

/// The authenticated user making the request, and the sign-in they made it with.
#[derive(Debug, Clone)]
pub struct Caller(pub User, pub hereby_app::Credential);

impl Caller {
    /// Refuses callers whose installation role is below `needed`.
    pub fn require(&self, needed: InstallationRole) -> Result<(), ApiError> {
        Ok(hereby_app::require(&self.0, needed)?)
    }

    pub fn is_admin(&self) -> bool {
        self.0.role == InstallationRole::Admin
    }

    /// The visibility rule: an internal or public incident is visible to every user; a
    /// restricted one only to admins and its members (role holders or explicitly added).
    /// Every read, write, stream and export asks this.
    pub fn sees(&self, incident: &hereby_core::Incident) -> bool {
        incident.visible_to(&self.0.name, self.0.role)
    }
}

/// Parses an incident id from a path (`INC-7` or `7`); an unparsable id is simply not found.
pub fn incident_id(raw: &str) -> Result<hereby_core::types::IncidentNumber, ApiError> {
    hereby_core::types::IncidentNumber::parse(raw)
        .map_err(|_| ApiError::not_found(format!("incident `{raw}`")))
}

/// The digest under which a token is stored.
pub fn token_digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl<S: Store + Directory> FromRequestParts<AppState<S>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState<S>) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|token| !token.is_empty())
            .ok_or_else(ApiError::unauthorized)?;
        let digest = token_digest(token);
        if let Some(user) = state.sessions.get(&digest) {
            return Ok(Caller(user, hereby_app::Credential::Token(digest)));
        }
        match state.store.authenticate(digest).await? {
            Some(user) => {
                state.sessions.insert(digest, user.clone());
                Ok(Caller(user, hereby_app::Credential::Token(digest)))
            }
            None => Err(ApiError::unauthorized()),
        }
    }
}

/// The version a write is conditional on, from `If-Match: <version>` (quotes allowed).
#[derive(Debug, Clone, Copy)]
pub struct IfMatch(pub Option<u64>);

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let Some(value) = parts.headers.get(header::IF_MATCH) else {
            return Ok(IfMatch(None));
        };
        value
            .to_str()
            .ok()
            .map(|raw| raw.trim().trim_start_matches("W/").trim_matches('"'))
            .and_then(|raw| raw.parse::<u64>().ok())
            .map(|version| IfMatch(Some(version)))
            .ok_or_else(|| {
                ApiError::bad_request(
                    "invalid_if_match",
                    "If-Match must carry an incident version, e.g. `If-Match: 12`",
                )
            })
    }
}

/// A JSON body that may be left out entirely (then `T::default()`), for routes whose body
/// carries only optional fields, such as a reason.
#[derive(Debug, Clone)]
pub struct OptionalJson<T>(pub T);

impl<T, S> FromRequest<S> for OptionalJson<T>
where
    T: DeserializeOwned + Default,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let has_body = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|length| length.to_str().ok())
            .is_none_or(|length| length.trim() != "0")
            && request.headers().contains_key(header::CONTENT_TYPE);
        if !has_body {
            return Ok(Self(T::default()));
        }
        ApiJson::<T>::from_request(request, state)
            .await
            .map(|ApiJson(value)| Self(value))
    }
}

/// How long an authenticated token is trusted without asking the database again.
const SESSION_TTL: std::time::Duration = std::time::Duration::from_secs(1);

/// The most tokens remembered; beyond that the cache starts over.
const SESSION_CAPACITY: usize = 10_000;

/// A short-lived memory of which token belongs to which user, so that a burst of requests
/// does not query the database for each one. Any change to users or tokens made through this
/// server clears it at once; a change made through another server node takes effect here
/// within [`SESSION_TTL`].
#[derive(Debug, Clone, Default)]
pub struct SessionCache(std::sync::Arc<std::sync::Mutex<Sessions>>);

/// Token digest → the user and when the database last vouched for them.
type Sessions = std::collections::HashMap<[u8; 32], (User, std::time::Instant)>;

impl SessionCache {
    pub(crate) fn get(&self, digest: &[u8; 32]) -> Option<User> {
        let sessions = self.0.lock().ok()?;
        sessions
            .get(digest)
            .filter(|(_, at)| at.elapsed() < SESSION_TTL)
            .map(|(user, _)| user.clone())
    }

    pub(crate) fn insert(&self, digest: [u8; 32], user: User) {
        if let Ok(mut sessions) = self.0.lock() {
            if sessions.len() >= SESSION_CAPACITY {
                sessions.clear();
            }
            sessions.insert(digest, (user, std::time::Instant::now()));
        }
    }

    /// Forgets every remembered token: after any change to users or tokens.
    pub(crate) fn clear(&self) {
        if let Ok(mut sessions) = self.0.lock() {
            sessions.clear();
        }
    }
}

/// The address of this server for addresses shown to copy: the configured public URL, else
/// the address the client reached it at (`X-Forwarded-Proto` says whether by https).
pub(crate) fn base_url(public_url: Option<&str>, headers: &axum::http::HeaderMap) -> String {
    if let Some(public) = public_url {
        return public.trim_end_matches('/').to_owned();
    }
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("localhost");
    let scheme = match headers
        .get("x-forwarded-proto")
        .and_then(|value| value.to_str().ok())
    {
        Some(proto) if proto.eq_ignore_ascii_case("https") => "https",
        _ => "http",
    };
    format!("{scheme}://{host}")
}
