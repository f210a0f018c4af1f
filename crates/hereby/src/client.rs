//! The HTTP side of the command-line client: one request at a time to a hereby server, with
//! the server's errors turned into messages and exit codes.

use std::process::ExitCode;

use hereby_api::ErrorBody;
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Why a client command failed, and with which exit code.
#[derive(Debug)]
pub(crate) enum Failure {
    /// A rule refused the command, or the thing does not exist (exit 1).
    Rejected(String),
    /// The command line or a value in it is wrong (exit 2).
    Usage(String),
    /// The server cannot be reached, or refused our credentials (exit 3).
    Unreachable(String),
}

impl Failure {
    /// The same failure, its message followed by another line (where the user's text was
    /// kept, say), with the same exit code.
    pub(crate) fn followed_by(self, line: &str) -> Self {
        match self {
            Failure::Rejected(message) => Failure::Rejected(format!("{message}\n{line}")),
            Failure::Usage(message) => Failure::Usage(format!("{message}\n{line}")),
            Failure::Unreachable(message) => Failure::Unreachable(format!("{message}\n{line}")),
        }
    }

    pub(crate) fn report(&self) -> ExitCode {
        let (message, code) = match self {
            Failure::Rejected(message) => (message, 1),
            Failure::Usage(message) => (message, 2),
            Failure::Unreachable(message) => (message, 3),
        };
        eprintln!("hereby: {message}");
        ExitCode::from(code)
    }
}

/// A connection to one server, authenticated by one token.
pub(crate) struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Client {
    pub(crate) fn new(server: &str, token: Option<&str>) -> Result<Self, Failure> {
        let Some(token) = token.filter(|token| !token.trim().is_empty()) else {
            return Err(Failure::Usage(
                "no API token: pass --token, set HEREBY_TOKEN, or put `token = \"…\"` in the config file".into(),
            ));
        };
        // TLS uses ring; installing the provider twice is harmless, so the result is ignored.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .user_agent(concat!("hereby/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Failure::Unreachable(format!("cannot set up HTTP: {e}")))?;
        Ok(Self {
            http,
            base: server.trim_end_matches('/').to_owned(),
            token: token.trim().to_owned(),
        })
    }

    /// Sends a request whose answer is not JSON (an export, a backup) and returns the response
    /// once its status is known to be a success.
    pub(crate) async fn raw(
        &self,
        method: Method,
        path: &str,
    ) -> Result<reqwest::Response, Failure> {
        let url = format!("{}/api/v1{path}", self.base);
        let response = self
            .http
            .request(method, &url)
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(|e| {
                Failure::Unreachable(format!("cannot reach {}: {}", self.base, root_cause(&e)))
            })?;
        if response.status().is_success() {
            return Ok(response);
        }
        let status = response.status();
        let body = response.bytes().await.unwrap_or_default();
        let error = serde_json::from_slice::<ErrorBody>(&body).ok();
        let code = error.as_ref().map(|body| body.error.code.clone());
        let message = error.map_or_else(
            || format!("{} answered {status}", self.base),
            |body| body.error.message,
        );
        Err(match status {
            // The permission table refused: a rule about who may act, like any other rule.
            StatusCode::FORBIDDEN if code.as_deref() == Some("not_permitted") => {
                Failure::Rejected(message)
            }
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Failure::Unreachable(message),
            status if status.is_server_error() => Failure::Unreachable(message),
            _ => Failure::Rejected(message),
        })
    }

    /// Uploads `content` as the raw body of a POST and decodes the JSON answer.
    pub(crate) async fn upload<T: DeserializeOwned>(
        &self,
        path: &str,
        media_type: &str,
        content: Vec<u8>,
    ) -> Result<T, Failure> {
        let url = format!("{}/api/v1{path}", self.base);
        let response = self
            .http
            .post(&url)
            .bearer_auth(&self.token)
            .header(reqwest::header::CONTENT_TYPE, media_type)
            .body(content)
            .send()
            .await
            .map_err(|e| {
                Failure::Unreachable(format!("cannot reach {}: {}", self.base, root_cause(&e)))
            })?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(|e| {
            Failure::Unreachable(format!("the answer from {} broke off: {e}", self.base))
        })?;
        decode(&self.base, status, &bytes)
    }

    /// Sends a request to `path` under `/api/v1` and decodes the JSON answer.
    pub(crate) async fn send<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&(impl Serialize + Sync)>,
        if_match: Option<u64>,
    ) -> Result<T, Failure> {
        let url = format!("{}/api/v1{path}", self.base);
        let mut request = self.http.request(method, &url).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(body);
        }
        if let Some(version) = if_match {
            request = request.header(reqwest::header::IF_MATCH, version.to_string());
        }
        let response = request.send().await.map_err(|e| {
            Failure::Unreachable(format!("cannot reach {}: {}", self.base, root_cause(&e)))
        })?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(|e| {
            Failure::Unreachable(format!("the answer from {} broke off: {e}", self.base))
        })?;
        decode(&self.base, status, &bytes)
    }
}

/// The innermost error, which names the actual problem (connection refused, DNS …).
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// Turns an answer into the expected JSON, or into a failure with the right exit code.
fn decode<T: DeserializeOwned>(base: &str, status: StatusCode, bytes: &[u8]) -> Result<T, Failure> {
    if status.is_success() {
        // An empty answer (204 No Content) reads as JSON `null`, which `()` accepts.
        let bytes = if bytes.is_empty() { b"null" } else { bytes };
        return serde_json::from_slice(bytes).map_err(|e| {
            Failure::Unreachable(format!(
                "{base} answered with something that is not hereby's API: {e}"
            ))
        });
    }
    let error = serde_json::from_slice::<ErrorBody>(bytes).ok();
    let message = error.as_ref().map_or_else(
        || format!("{base} answered {status}"),
        |body| body.error.message.clone(),
    );
    let code = error.map(|body| body.error.code).unwrap_or_default();
    Err(match status {
        StatusCode::FORBIDDEN if code == "not_permitted" => Failure::Rejected(message),
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Failure::Unreachable(message),
        StatusCode::BAD_REQUEST | StatusCode::PAYLOAD_TOO_LARGE => Failure::Usage(message),
        StatusCode::UNPROCESSABLE_ENTITY if code == "invalid_value" => Failure::Usage(message),
        status if status.is_server_error() => Failure::Unreachable(message),
        _ => Failure::Rejected(message),
    })
}
