//! Channel settings: what each kind of channel needs, checked when an admin configures it,
//! and what the API may show of them (never a secret).

use hereby_core::types::InvalidValue;
use serde::{Deserialize, Serialize};

/// A value an admin gave that cannot be used.
pub fn invalid(field: &'static str, problem: impl Into<String>) -> InvalidValue {
    InvalidValue {
        field,
        problem: problem.into(),
    }
}

/// How the connection to an SMTP server is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain SMTP (a relay on the same host or a test server).
    None,
    /// Plain connection upgraded with STARTTLS, which must succeed.
    Starttls,
    /// TLS from the first byte (SMTPS).
    Tls,
}

impl SmtpTls {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        match raw {
            "none" => Ok(SmtpTls::None),
            "starttls" => Ok(SmtpTls::Starttls),
            "tls" => Ok(SmtpTls::Tls),
            _ => Err(invalid(
                "tls",
                format!("`{raw}` is not a TLS mode: use none, starttls or tls"),
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SmtpTls::None => "none",
            SmtpTls::Starttls => "starttls",
            SmtpTls::Tls => "tls",
        }
    }

    /// The usual port for the mode.
    fn default_port(self) -> u16 {
        match self {
            SmtpTls::None => 25,
            SmtpTls::Starttls => 587,
            SmtpTls::Tls => 465,
        }
    }
}

/// A channel's settings as stored (JSON in the channel's `config`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ChannelConfig {
    /// The status page's own channel for its webhook subscribers: each delivery names the
    /// subscriber, whose address and signing secret are read when it is sent. hereby makes it
    /// when the first webhook subscribes; admins do not configure it.
    #[serde(rename = "status_page")]
    StatusPage {},
    /// Signed JSON posted to a URL.
    Webhook { url: String, secret: String },
    /// A Slack or Mattermost incoming webhook: `{"text": …}`. The URL is the secret.
    Slack { url: String },
    /// A Microsoft Teams Workflows (Power Automate) webhook: an Adaptive Card (1.4, the
    /// newest Workflows accept), posted to the URL exactly as given. Notify-only: Teams
    /// sends nothing back without a bot registration. The URL is the secret.
    Teams { url: String },
    /// A Matrix account hereby speaks through: a room per incident with its state message
    /// pinned, commands, reactions. It reads the homeserver's `/sync`, so hereby needs no
    /// address the homeserver can reach.
    Matrix {
        /// The homeserver's client-server API, e.g. `https://matrix.example.org`.
        homeserver: String,
        /// The bot account's access token.
        token: String,
        /// Rooms the team talks in (ids or aliases): the bot joins them, answers commands
        /// there and offers to declare when someone says the phrase.
        #[serde(default)]
        rooms: Vec<String>,
        /// Said in a watched room, it offers to declare an incident.
        #[serde(default = "default_phrase")]
        phrase: String,
        /// A reaction with this emoji copies a message of an incident room into the timeline.
        #[serde(default = "default_pin")]
        pin: String,
        /// Copy every message of an incident room into its timeline.
        #[serde(default)]
        capture: bool,
    },
    /// A Slack app hereby speaks through: `/inc` slash commands, buttons and events come to
    /// hereby (each request signed with the app's signing secret), and it answers through
    /// Slack's Web API with the bot token: a channel per incident with the state message
    /// pinned and kept current.
    #[serde(rename = "slack_app")]
    SlackApp {
        /// The bot token (`xoxb-…`) for the Web API.
        token: String,
        /// The app's signing secret: requests Slack sends are checked against it.
        signing_secret: String,
        /// The workspace (team id, `T…`): requests from another are refused, and accounts
        /// are linked per workspace.
        team: String,
        /// An app-level token (`xapp-…`) for Socket Mode: hereby connects out to Slack and
        /// needs no address Slack can reach. Without it, Slack posts to hereby's endpoints.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        app_token: Option<String>,
        /// The Web API's address (another only for tests against a recorded wire format).
        #[serde(default = "default_slack_api")]
        api: String,
        /// Channels the team talks in (ids, `C…`): the phrase offers to declare there.
        #[serde(default)]
        rooms: Vec<String>,
        #[serde(default = "default_phrase")]
        phrase: String,
        /// The reaction (Slack's name for it, e.g. `pushpin`) that copies a message into the
        /// timeline.
        #[serde(default = "default_slack_pin")]
        pin: String,
        #[serde(default)]
        capture: bool,
    },
    /// A Mattermost server hereby speaks through: an `/inc` slash command comes to hereby
    /// (with the command's token, checked in constant time), and a bot account keeps a
    /// channel per incident through the REST API (v4).
    Mattermost {
        /// The server's address, e.g. `https://chat.example.com`.
        url: String,
        /// The bot account's access token.
        token: String,
        /// The slash command's token, which Mattermost sends with every command.
        command_token: String,
        /// The team (id) incident channels are made in.
        team: String,
        #[serde(default)]
        rooms: Vec<String>,
        #[serde(default = "default_phrase")]
        phrase: String,
    },
    /// GitHub Issues: follow-ups are opened as issues of one repository, and their state
    /// comes back through the repository's `issues` webhook and a reconcile poll.
    Github {
        /// The REST API's address (GitHub Enterprise Server's, or a test listener's).
        #[serde(default = "default_github_api")]
        api: String,
        /// `owner/name`.
        repo: String,
        /// A token that may read and write the repository's issues.
        token: String,
        /// The webhook's secret, which signs what GitHub sends (`X-Hub-Signature-256`).
        webhook_secret: String,
    },
    /// GitLab Issues: follow-ups are opened as issues of one project, and their state comes
    /// back through the project's issue webhook and a reconcile poll.
    Gitlab {
        /// The server's address, e.g. `https://gitlab.com`.
        url: String,
        /// The project's path (`group/name`) or numeric id.
        project: String,
        /// A token with the `api` scope.
        token: String,
        /// The webhook's secret token, which GitLab sends as `X-Gitlab-Token`.
        webhook_token: String,
    },
    /// Any other tracker, through a small documented protocol: hereby posts each follow-up to
    /// the URL and reads the issue back from `<url>/<id>`; the tracker reports changes to
    /// hereby. Both ways are signed with one Standard Webhooks secret.
    Tracker { url: String, secret: String },
    /// E-mail through an SMTP server.
    Email {
        host: String,
        port: u16,
        tls: SmtpTls,
        username: Option<String>,
        password: Option<String>,
        from: String,
    },
}

/// What, said in a watched room, offers to declare an incident.
pub const DEFAULT_PHRASE: &str = "I hereby declare this an incident";
/// The reaction that copies a chat message into the timeline.
pub const DEFAULT_PIN: &str = "📌";

fn default_phrase() -> String {
    DEFAULT_PHRASE.to_owned()
}

fn default_pin() -> String {
    DEFAULT_PIN.to_owned()
}

/// GitHub's REST API.
pub const DEFAULT_GITHUB_API: &str = "https://api.github.com";

fn default_github_api() -> String {
    DEFAULT_GITHUB_API.to_owned()
}

/// GitLab's own server.
pub const DEFAULT_GITLAB: &str = "https://gitlab.com";

/// Slack's Web API.
pub const DEFAULT_SLACK_API: &str = "https://slack.com/api";

fn default_slack_api() -> String {
    DEFAULT_SLACK_API.to_owned()
}

/// Slack names reactions: 📌 is `pushpin`.
fn default_slack_pin() -> String {
    "pushpin".to_owned()
}

/// What an admin asks for, before checking.
#[derive(Debug, Clone, Default)]
pub struct ChannelInput {
    pub kind: String,
    pub url: Option<String>,
    pub secret: Option<String>,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub tls: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub from: Option<String>,
    /// Chat: rooms the team talks in.
    pub rooms: Vec<String>,
    /// Chat: the phrase that offers to declare.
    pub phrase: Option<String>,
    /// Chat: the reaction that copies a message into the timeline.
    pub emoji: Option<String>,
    /// Chat: copy every message of an incident room.
    pub capture: bool,
    /// Slack: the app's signing secret; Mattermost: the slash command's token.
    pub signing_secret: Option<String>,
    /// Slack: the workspace's team id; Mattermost: the team's.
    pub team: Option<String>,
    /// Slack: an app-level token for Socket Mode.
    pub app_token: Option<String>,
    /// Trackers: the GitHub repository or the GitLab project.
    pub project: Option<String>,
}

fn required(field: &'static str, value: Option<String>) -> Result<String, InvalidValue> {
    value
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| invalid(field, "is required for this kind of channel"))
}

/// An access token: required, one word.
fn token(field: &'static str, value: Option<String>) -> Result<String, InvalidValue> {
    let token = required(field, value)?;
    if token.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid(field, "an access token has no spaces"));
    }
    Ok(token)
}

/// A shared secret that signs or authenticates webhooks: at least 16 characters.
fn long_secret(field: &'static str, value: Option<String>) -> Result<String, InvalidValue> {
    let secret = required(field, value)?;
    if secret.len() < 16 {
        return Err(invalid(
            field,
            "must be at least 16 characters: the webhook is checked with it",
        ));
    }
    Ok(secret)
}

/// Whether `secret` is a Standard Webhooks secret: `whsec_` and at least 24 bytes in base64.
pub fn standard_webhooks_secret(secret: &str) -> bool {
    use base64::Engine as _;
    secret
        .strip_prefix("whsec_")
        .and_then(|key| base64::engine::general_purpose::STANDARD.decode(key).ok())
        .is_some_and(|key| key.len() >= 24)
}

/// Checks an http(s) address with a host.
pub fn http_url(raw: String) -> Result<String, InvalidValue> {
    let url =
        url::Url::parse(&raw).map_err(|e| invalid("url", format!("`{raw}` is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(invalid(
            "url",
            format!("`{raw}` must be an http:// or https:// address"),
        ));
    }
    Ok(raw)
}

/// Checks an e-mail address (a bare address or `Name <address>`).
pub fn mailbox(field: &'static str, raw: &str) -> Result<String, InvalidValue> {
    let raw = raw.trim();
    let address = match raw.strip_suffix('>').and_then(|rest| rest.rsplit_once('<')) {
        Some((_name, address)) => address.trim(),
        None => raw,
    };
    if !email_address::EmailAddress::is_valid(address) {
        return Err(invalid(field, format!("`{raw}` is not an e-mail address")));
    }
    Ok(raw.to_owned())
}

impl ChannelConfig {
    /// Checks what an admin gave for a channel of `input.kind`.
    pub fn from_input(input: ChannelInput) -> Result<Self, InvalidValue> {
        match input.kind.as_str() {
            "webhook" => {
                let url = http_url(required("url", input.url)?)?;
                let secret = required("secret", input.secret)?;
                if secret.len() < 16 {
                    return Err(invalid(
                        "secret",
                        "must be at least 16 characters: receivers check signatures with it",
                    ));
                }
                Ok(ChannelConfig::Webhook { url, secret })
            }
            "matrix" => {
                let homeserver = http_url(required("url", input.url)?)?
                    .trim_end_matches('/')
                    .to_owned();
                let token = required("secret", input.secret)?;
                if token.chars().any(|c| c.is_whitespace() || c.is_control()) {
                    return Err(invalid("secret", "an access token has no spaces"));
                }
                let mut rooms = Vec::new();
                for room in input.rooms {
                    let room = room.trim().to_owned();
                    if !(room.starts_with('!') || room.starts_with('#')) || !room.contains(':') {
                        return Err(invalid(
                            "rooms",
                            format!(
                                "`{room}` is not a Matrix room id (!id:server) or alias (#name:server)"
                            ),
                        ));
                    }
                    rooms.push(room);
                }
                let phrase = input
                    .phrase
                    .map(|phrase| phrase.trim().to_owned())
                    .filter(|phrase| !phrase.is_empty())
                    .unwrap_or_else(default_phrase);
                if phrase.chars().count() > 200 {
                    return Err(invalid("phrase", "must be at most 200 characters"));
                }
                let pin = input
                    .emoji
                    .map(|emoji| emoji.trim().to_owned())
                    .filter(|emoji| !emoji.is_empty())
                    .unwrap_or_else(default_pin);
                if pin.chars().count() > 16 {
                    return Err(invalid("emoji", "must be one emoji or a short word"));
                }
                Ok(ChannelConfig::Matrix {
                    homeserver,
                    token,
                    rooms,
                    phrase,
                    pin,
                    capture: input.capture,
                })
            }
            "slack_app" => {
                let token = required("secret", input.secret)?;
                let signing_secret = required("signing_secret", input.signing_secret)?;
                let team = required("team", input.team)?;
                if !team.starts_with('T') || !team.chars().all(|c| c.is_ascii_alphanumeric()) {
                    return Err(invalid(
                        "team",
                        format!("`{team}` is not a Slack team id like T0123ABC"),
                    ));
                }
                let api = match input.url {
                    Some(url) => http_url(url)?.trim_end_matches('/').to_owned(),
                    None => default_slack_api(),
                };
                let rooms = input
                    .rooms
                    .into_iter()
                    .map(|room| room.trim().to_owned())
                    .collect();
                let app_token = input
                    .app_token
                    .map(|token| token.trim().to_owned())
                    .filter(|token| !token.is_empty());
                if app_token
                    .as_ref()
                    .is_some_and(|token| !token.starts_with("xapp-"))
                {
                    return Err(invalid(
                        "app_token",
                        "a Socket Mode token is an app-level token starting with xapp-",
                    ));
                }
                Ok(ChannelConfig::SlackApp {
                    token,
                    signing_secret,
                    team,
                    app_token,
                    api,
                    rooms,
                    phrase: input
                        .phrase
                        .map(|phrase| phrase.trim().to_owned())
                        .filter(|phrase| !phrase.is_empty())
                        .unwrap_or_else(default_phrase),
                    pin: input
                        .emoji
                        .map(|emoji| emoji.trim().trim_matches(':').to_owned())
                        .filter(|emoji| !emoji.is_empty())
                        .unwrap_or_else(default_slack_pin),
                    capture: input.capture,
                })
            }
            "mattermost" => {
                let url = http_url(required("url", input.url)?)?
                    .trim_end_matches('/')
                    .to_owned();
                let token = required("secret", input.secret)?;
                let command_token = required("signing_secret", input.signing_secret)?;
                let team = required("team", input.team)?;
                if !team.chars().all(|c| c.is_ascii_alphanumeric()) {
                    return Err(invalid(
                        "team",
                        format!("`{team}` is not a Mattermost team id"),
                    ));
                }
                Ok(ChannelConfig::Mattermost {
                    url,
                    token,
                    command_token,
                    team,
                    rooms: input
                        .rooms
                        .into_iter()
                        .map(|room| room.trim().to_owned())
                        .collect(),
                    phrase: input
                        .phrase
                        .map(|phrase| phrase.trim().to_owned())
                        .filter(|phrase| !phrase.is_empty())
                        .unwrap_or_else(default_phrase),
                })
            }
            "teams" => Ok(ChannelConfig::Teams {
                url: http_url(required("url", input.url)?)?,
            }),
            "slack" => Ok(ChannelConfig::Slack {
                url: http_url(required("url", input.url)?)?,
            }),
            "email" => {
                let host = required("host", input.host)?;
                let tls = match input.tls.as_deref() {
                    Some(raw) => SmtpTls::parse(raw)?,
                    None => SmtpTls::Starttls,
                };
                let port = input.port.unwrap_or(tls.default_port());
                if port == 0 {
                    return Err(invalid("port", "must be between 1 and 65535"));
                }
                let from = mailbox("from", &required("from", input.from)?)?;
                let (username, password) = match (input.username, input.password) {
                    (Some(user), Some(password)) => (Some(user), Some(password)),
                    (None, None) => (None, None),
                    _ => {
                        return Err(invalid(
                            "username",
                            "give both a user name and a password, or neither",
                        ));
                    }
                };
                Ok(ChannelConfig::Email {
                    host,
                    port,
                    tls,
                    username,
                    password,
                    from,
                })
            }
            "github" => {
                let api = match input.url {
                    Some(url) => http_url(url)?.trim_end_matches('/').to_owned(),
                    None => default_github_api(),
                };
                let repo = required("project", input.project)?;
                let parts: Vec<&str> = repo.split('/').collect();
                let part_ok = |part: &str| {
                    !part.is_empty()
                        && part.len() <= 100
                        && part
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                };
                if parts.len() != 2 || !parts.iter().all(|part| part_ok(part)) {
                    return Err(invalid(
                        "project",
                        format!("`{repo}` is not a GitHub repository like acme/api"),
                    ));
                }
                Ok(ChannelConfig::Github {
                    api,
                    repo,
                    token: token("secret", input.secret)?,
                    webhook_secret: long_secret("signing_secret", input.signing_secret)?,
                })
            }
            "gitlab" => {
                let url = match input.url {
                    Some(url) => http_url(url)?.trim_end_matches('/').to_owned(),
                    None => DEFAULT_GITLAB.to_owned(),
                };
                let project = required("project", input.project)?;
                let path_ok = project.split('/').all(|part| {
                    !part.is_empty()
                        && part
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                });
                if !path_ok || project.len() > 255 {
                    return Err(invalid(
                        "project",
                        format!(
                            "`{project}` is not a GitLab project path like group/api, nor a project id"
                        ),
                    ));
                }
                Ok(ChannelConfig::Gitlab {
                    url,
                    project,
                    token: token("secret", input.secret)?,
                    webhook_token: long_secret("signing_secret", input.signing_secret)?,
                })
            }
            "tracker" => {
                let url = http_url(required("url", input.url)?)?
                    .trim_end_matches('/')
                    .to_owned();
                let secret = required("secret", input.secret)?;
                if !standard_webhooks_secret(&secret) {
                    return Err(invalid(
                        "secret",
                        "must be a Standard Webhooks secret: whsec_ followed by at least 24 random bytes in base64 (e.g. whsec_$(openssl rand -base64 32))",
                    ));
                }
                Ok(ChannelConfig::Tracker { url, secret })
            }
            other => Err(invalid(
                "kind",
                format!(
                    "`{other}` is not a channel kind: use webhook, slack, teams, email, matrix, slack_app, mattermost, github, gitlab or tracker"
                ),
            )),
        }
    }

    /// A channel that is a chat connection: its deliveries are sent by the chat adapters,
    /// which keep rooms and read what people say, not by the notification worker.
    pub fn is_chat(&self) -> bool {
        matches!(
            self,
            ChannelConfig::Matrix { .. }
                | ChannelConfig::SlackApp { .. }
                | ChannelConfig::Mattermost { .. }
        )
    }

    /// A channel that is an issue tracker: its deliveries open follow-ups there, and it is
    /// never subscribed to notifications.
    pub fn is_tracker(&self) -> bool {
        matches!(
            self,
            ChannelConfig::Github { .. }
                | ChannelConfig::Gitlab { .. }
                | ChannelConfig::Tracker { .. }
        )
    }

    pub fn kind(&self) -> &'static str {
        match self {
            ChannelConfig::StatusPage {} => "status_page",
            ChannelConfig::Webhook { .. } => "webhook",
            ChannelConfig::Slack { .. } => "slack",
            ChannelConfig::Teams { .. } => "teams",
            ChannelConfig::Email { .. } => "email",
            ChannelConfig::Matrix { .. } => "matrix",
            ChannelConfig::SlackApp { .. } => "slack_app",
            ChannelConfig::Mattermost { .. } => "mattermost",
            ChannelConfig::Github { .. } => "github",
            ChannelConfig::Gitlab { .. } => "gitlab",
            ChannelConfig::Tracker { .. } => "tracker",
        }
    }

    /// Where messages go, without secrets: a Slack URL's path is its secret, so only its
    /// origin is shown; SMTP passwords and webhook secrets are never shown.
    pub fn target(&self) -> String {
        match self {
            ChannelConfig::StatusPage {} => "the status page's webhook subscribers".to_owned(),
            ChannelConfig::Webhook { url, .. } => url.clone(),
            ChannelConfig::Slack { url } | ChannelConfig::Teams { url } => {
                match url::Url::parse(url) {
                    Ok(parsed) => format!("{}/…", parsed.origin().ascii_serialization()),
                    Err(_) => "…".to_owned(),
                }
            }
            ChannelConfig::Matrix {
                homeserver, rooms, ..
            } => {
                if rooms.is_empty() {
                    homeserver.clone()
                } else {
                    format!("{homeserver} (watching {})", rooms.join(", "))
                }
            }
            ChannelConfig::SlackApp {
                team,
                api,
                app_token,
                ..
            } => format!(
                "{api} (workspace {team}{})",
                if app_token.is_some() {
                    ", Socket Mode"
                } else {
                    ""
                }
            ),
            ChannelConfig::Mattermost { url, team, .. } => format!("{url} (team {team})"),
            ChannelConfig::Github { api, repo, .. } => format!("{api} (repository {repo})"),
            ChannelConfig::Gitlab { url, project, .. } => format!("{url} (project {project})"),
            ChannelConfig::Tracker { url, .. } => url.clone(),
            ChannelConfig::Email {
                host,
                port,
                tls,
                username,
                from,
                ..
            } => {
                let user = username
                    .as_deref()
                    .map(|u| format!("{u}@"))
                    .unwrap_or_default();
                format!("smtp://{user}{host}:{port} ({}), from {from}", tls.as_str())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The API document lists the channel kinds and TLS modes; each listed word must be one
    /// this checker knows, and a word it does not list must be refused as a kind.
    #[test]
    fn the_documented_words_are_the_accepted_ones() {
        for kind in hereby_api::vocabulary::CHANNEL_KINDS {
            let refusal = ChannelConfig::from_input(ChannelInput {
                kind: (*kind).to_owned(),
                url: None,
                secret: None,
                host: None,
                port: None,
                tls: None,
                username: None,
                password: None,
                from: None,
                ..ChannelInput::default()
            })
            .expect_err("nothing but the kind is given");
            assert_ne!(
                refusal.field, "kind",
                "{kind} is documented but not accepted"
            );
        }
        for mode in hereby_api::vocabulary::SMTP_TLS_MODES {
            assert_eq!(SmtpTls::parse(mode).map(SmtpTls::as_str), Ok(*mode));
        }
        assert!(SmtpTls::parse("ssl").is_err());
    }
}
