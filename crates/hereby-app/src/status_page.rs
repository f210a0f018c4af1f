//! The public status page's identity as admins set it (its name, address, time zone and a
//! description), stored as the one setting of kind `status_page`; the page reads it at every
//! rebuild.

use hereby_api as api;
use hereby_core::types::{InstallationRole, InvalidValue, UserName};
use hereby_store::{AdminSetting, Communications, User};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::{App, AppError, require};

/// The setting kind the page's identity is stored under, with its one name.
pub const KIND: &str = "status_page";
const NAME: &str = "page";

/// The page's title until an admin sets one.
pub const DEFAULT_NAME: &str = "Service status";

const NAME_MAX: usize = 100;
const DESCRIPTION_MAX: usize = 1_000;

/// The page's identity, checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageSettings {
    pub name: String,
    /// Empty for this server's `/status`.
    pub url: String,
    pub time_zone: String,
    pub description: String,
    /// The e-mail channel that sends to the page's e-mail subscribers; empty for none (then
    /// nobody can subscribe by e-mail).
    #[serde(default)]
    pub mail_channel: String,
    /// Who may subscribe a webhook from the page: `public` (addresses that resolve to public
    /// IP addresses only, the default), `any` (internal ones too) or `off`.
    #[serde(default = "public_only")]
    pub webhook_signups: String,
}

fn public_only() -> String {
    "public".to_owned()
}

impl Default for PageSettings {
    fn default() -> Self {
        Self {
            name: DEFAULT_NAME.to_owned(),
            url: String::new(),
            time_zone: "UTC".to_owned(),
            description: String::new(),
            mail_channel: String::new(),
            webhook_signups: public_only(),
        }
    }
}

impl PageSettings {
    /// The zone the page shows times in (UTC if the stored name is unknown to this build).
    pub fn zone(&self) -> jiff::tz::TimeZone {
        jiff::tz::TimeZone::get(&self.time_zone).unwrap_or(jiff::tz::TimeZone::UTC)
    }

    pub fn wire(&self) -> api::StatusPageSettings {
        api::StatusPageSettings {
            name: self.name.clone(),
            url: self.url.clone(),
            time_zone: self.time_zone.clone(),
            description: self.description.clone(),
            mail_channel: self.mail_channel.clone(),
            webhook_signups: self.webhook_signups.clone(),
        }
    }

    /// The settings after a change: each given field checked, the others kept.
    fn changed(&self, change: &api::PutStatusPage) -> Result<Self, InvalidValue> {
        let mut next = self.clone();
        if let Some(name) = &change.name {
            let name = name.trim();
            if name.is_empty()
                || name.chars().count() > NAME_MAX
                || name.chars().any(char::is_control)
            {
                return Err(InvalidValue::new(
                    "name",
                    format!("is 1 to {NAME_MAX} characters without control characters"),
                ));
            }
            next.name = name.to_owned();
        }
        if let Some(url) = &change.url {
            let url = url.trim();
            if !url.is_empty() {
                let parsed = url::Url::parse(url).map_err(|_| {
                    InvalidValue::new(
                        "url",
                        format!("`{url}` is not an address like https://status.example.com"),
                    )
                })?;
                if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
                    return Err(InvalidValue::new("url", "must be an http or https address"));
                }
            }
            next.url = url.to_owned();
        }
        if let Some(zone) = &change.time_zone {
            let zone = zone.trim();
            jiff::tz::TimeZone::get(zone).map_err(|_| {
                InvalidValue::new(
                    "time_zone",
                    format!("`{zone}` is not a time zone of the IANA database, e.g. Europe/Berlin or UTC"),
                )
            })?;
            next.time_zone = zone.to_owned();
        }
        if let Some(mode) = &change.webhook_signups {
            let mode = mode.trim();
            if !matches!(mode, "off" | "public" | "any") {
                return Err(InvalidValue::new(
                    "webhook_signups",
                    format!(
                        "`{mode}` is not one of off, public (addresses on the internet only) or any"
                    ),
                ));
            }
            next.webhook_signups = mode.to_owned();
        }
        if let Some(description) = &change.description {
            let description = description.trim();
            if description.chars().count() > DESCRIPTION_MAX {
                return Err(InvalidValue::new(
                    "description",
                    format!("is longer than {DESCRIPTION_MAX} characters"),
                ));
            }
            next.description = description.to_owned();
        }
        Ok(next)
    }
}

/// Reads the page's settings from a store (the defaults when none were set).
pub async fn page_settings<S: Communications>(store: &S) -> Result<PageSettings, AppError> {
    let stored = store.list_settings(KIND).await?;
    Ok(match stored.iter().find(|s| s.name == NAME) {
        Some(setting) => serde_json::from_str(&setting.value).map_err(|e| {
            AppError::Internal(format!("the status page's settings are unreadable: {e}"))
        })?,
        None => PageSettings::default(),
    })
}

impl<S: Communications> App<S> {
    /// The status page's identity.
    pub async fn status_page(&self) -> Result<PageSettings, AppError> {
        page_settings(&self.store).await
    }
}

impl<S: Communications + hereby_store::Notifications> App<S> {
    /// Changes the status page's identity as `actor` (an admin): every given field is
    /// checked before anything is stored.
    pub async fn set_status_page(
        &self,
        actor: &User,
        change: &api::PutStatusPage,
    ) -> Result<PageSettings, AppError> {
        require(actor, InstallationRole::Admin)?;
        let mut next = self.status_page().await?.changed(change)?;
        if let Some(name) = &change.mail_channel {
            let name = name.trim();
            if !name.is_empty() {
                let channels = self.store.channels().await?;
                if !channels.iter().any(|c| c.name == name && c.kind == "email") {
                    return Err(AppError::Invalid(InvalidValue::new(
                        "mail_channel",
                        format!("`{name}` is not an e-mail channel (see `hereby channel list`)"),
                    )));
                }
            }
            next.mail_channel = name.to_owned();
        }
        let value = serde_json::to_string(&next)
            .map_err(|e| AppError::Internal(format!("the status page's settings: {e}")))?;
        self.store
            .put_setting(&AdminSetting {
                kind: KIND.to_owned(),
                name: NAME.to_owned(),
                value,
                updated_at: Timestamp::now(),
                updated_by: UserName::clone(&actor.name),
            })
            .await?;
        self.settings_changed();
        Ok(next)
    }
}
