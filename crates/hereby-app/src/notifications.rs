//! Notification settings as admins make them: channels (checked for what their kind needs,
//! secrets kept out of every answer) and subscriptions of a channel to kinds of events. The
//! API and the settings page both go through here.

use hereby_api as api;
use hereby_core::types::{Audience, InstallationRole, UserName};
use hereby_store::{
    Channel, NewChannel, NewSubscription, Notifications, Store, Subscription, User,
};
use jiff::Timestamp;

use crate::channels::{ChannelConfig, ChannelInput, invalid, mailbox};
use crate::message::KINDS;
use crate::{App, AppError, require};

/// Channel names: like user names, lowercase letters, digits and `._-`.
fn channel_name(raw: &str) -> Result<String, AppError> {
    UserName::parse(raw)
        .map(|name| name.to_string())
        .map_err(|_| {
            AppError::Invalid(invalid(
                "name",
                format!(
                    "`{raw}` must be 1 to 64 lowercase letters, digits, `.`, `_` or `-`, starting with a letter or digit"
                ),
            ))
        })
}

impl<S: Store + Notifications> App<S> {
    /// Adds a channel as `actor` (an admin), after checking what its kind needs.
    pub async fn add_channel(
        &self,
        actor: &User,
        request: api::ChannelRequest,
    ) -> Result<Channel, AppError> {
        require(actor, InstallationRole::Admin)?;
        let name = channel_name(&request.name)?;
        let concurrency = request.concurrency.unwrap_or(4);
        if !(1..=64).contains(&concurrency) {
            return Err(invalid("concurrency", "must be between 1 and 64").into());
        }
        let config = ChannelConfig::from_input(ChannelInput {
            kind: request.kind,
            url: request.url,
            secret: request.secret,
            host: request.host,
            port: request.port,
            tls: request.tls,
            username: request.username,
            password: request.password,
            from: request.from,
            rooms: request.rooms,
            phrase: request.phrase,
            emoji: request.emoji,
            capture: request.capture,
            signing_secret: request.signing_secret,
            team: request.team,
            app_token: request.app_token,
            project: request.project,
        })?;
        if request.personal && config.kind() != "email" {
            return Err(invalid(
                "personal",
                "only an e-mail channel can carry notifications to people's own addresses",
            )
            .into());
        }
        let stored = serde_json::to_string(&config).map_err(|e| invalid("kind", e.to_string()))?;
        Ok(self
            .store
            .create_channel(
                &NewChannel {
                    name,
                    kind: config.kind().to_owned(),
                    config: stored,
                    personal: request.personal,
                    concurrency,
                },
                Timestamp::now(),
            )
            .await?)
    }

    /// Subscribes a channel (by id or name) to kinds of events, as `actor` (an admin).
    pub async fn add_subscription(
        &self,
        actor: &User,
        request: api::SubscriptionRequest,
    ) -> Result<Subscription, AppError> {
        require(actor, InstallationRole::Admin)?;
        let channels = self.store.channels().await?;
        let Some(target) = channels
            .iter()
            .find(|c| c.name == request.channel || c.id.to_string() == request.channel)
        else {
            return Err(invalid(
                "channel",
                format!("there is no channel `{}`", request.channel),
            )
            .into());
        };
        if hereby_api::vocabulary::TRACKER_KINDS.contains(&target.kind.as_str()) {
            return Err(invalid(
                "channel",
                format!(
                    "`{}` is an issue tracker: follow-ups are opened there (hereby follow-up export), it hears no notifications",
                    target.name
                ),
            )
            .into());
        }
        if request.events.is_empty() {
            return Err(invalid(
                "events",
                format!("name at least one of: {}", KINDS.join(", ")),
            )
            .into());
        }
        let mut events = Vec::new();
        for event in &request.events {
            let event = event.trim();
            if !KINDS.contains(&event) {
                return Err(invalid(
                    "events",
                    format!(
                        "`{event}` is not a notification kind: use {}",
                        KINDS.join(", ")
                    ),
                )
                .into());
            }
            if !events.iter().any(|known: &String| known == event) {
                events.push(event.to_owned());
            }
        }
        let recipient = match (target.kind.as_str(), request.recipient) {
            ("email", Some(to)) => Some(mailbox("recipient", &to)?),
            ("email", None) => {
                return Err(invalid("recipient", "an e-mail subscription needs an address").into());
            }
            (_, Some(_)) => {
                return Err(invalid("recipient", "only e-mail channels take a recipient").into());
            }
            (_, None) => None,
        };
        let audience = request
            .audience
            .as_deref()
            .map(Audience::parse)
            .transpose()?
            .map(|a| a.to_string());
        let scope = request.scope.unwrap_or_else(|| "all".to_owned());
        if !api::vocabulary::SUBSCRIPTION_SCOPES.contains(&scope.as_str()) {
            return Err(invalid(
                "scope",
                format!("`{scope}` is not a scope: use all or public"),
            )
            .into());
        }
        Ok(self
            .store
            .create_subscription(
                &NewSubscription {
                    channel_id: target.id,
                    recipient,
                    events,
                    audience,
                    scope,
                },
                Timestamp::now(),
            )
            .await?)
    }
}
