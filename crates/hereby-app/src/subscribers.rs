//! Status page subscriptions as the public makes them: signing up (the same answer for every
//! address, limited per address and per client), confirming by a link that only a button
//! press uses, unsubscribing in one click (RFC 8058), managing with a fresh e-mailed code, a
//! webhook confirmed by answering a test delivery; and what each subscriber is sent, queued
//! through the outbox.
//!
//! No link token is stored: links carry `<id>.<tag>`, the tag an HMAC of the purpose, the id
//! and the subscriber's nonce under a server key kept as a setting, so a new sign-up (a new
//! nonce) voids every older link.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hereby_api as api;
use hereby_core::Incident;
use hereby_core::subscribers::{
    self, CodeRefusal, Interest, Notice, NoticeKind, SubscriberKind, SubscriberState,
};
use hereby_core::types::{IncidentNumber, InstallationRole, InvalidValue, ServiceName};
use hereby_store::{
    AdminSetting, Communications, NewChannel, NewDelivery, Notifications, StatusSubscriber, Store,
    User,
};
use hmac::{Hmac, KeyInit, Mac};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::channels::{ChannelConfig, http_url, mailbox};
use crate::{App, AppError, require};

/// The name of the channel hereby makes for webhook subscribers.
pub const WEBHOOK_CHANNEL: &str = "status-page-webhooks";

/// A delivery kind: a subscriber's notice.
pub const KIND: &str = "status_page";

/// A delivery kind: the test delivery a webhook must answer before it hears anything.
pub const VERIFY_KIND: &str = "status_page_verify";

/// Sign-ups and code requests per address, and per client, within [`WINDOW`].
const PER_ADDRESS: usize = 3;
const PER_CLIENT: usize = 20;
const WINDOW: Duration = Duration::from_secs(3_600);

/// How long a manage session lasts after a code was accepted.
const SESSION: SignedDuration = SignedDuration::from_mins(30);

/// Subscribers read per page when a notice fans out.
const PAGE: u32 = 5_000;

const KEY_KIND: &str = "secret";
const KEY_NAME: &str = "status_subscriber_links";

/// Recent sign-ups and code requests, per address and per client, on this node.
#[derive(Debug, Default)]
pub struct Limits(Mutex<HashMap<String, VecDeque<Instant>>>);

impl Limits {
    /// Counts a request against `key`; `Err` with the seconds to wait when over `most`.
    fn take(&self, key: String, most: usize, now: Instant) -> Result<(), u64> {
        let mut all = self.0.lock().unwrap_or_else(|e| e.into_inner());
        // Old entries go, so the map cannot grow without bound: past 10,000 keys every
        // request sweeps out those whose window has passed (clients are keyed by address, so
        // the map holds about one key per client and address of the last hour).
        if all.len() > 10_000 {
            all.retain(|_, times| {
                times
                    .back()
                    .is_some_and(|t| now.duration_since(*t) < WINDOW)
            });
        }
        let times = all.entry(key).or_default();
        while times
            .front()
            .is_some_and(|first| now.duration_since(*first) >= WINDOW)
        {
            times.pop_front();
        }
        if times.len() >= most {
            let wait = times.front().map_or(WINDOW, |first| {
                WINDOW.saturating_sub(now.duration_since(*first))
            });
            return Err(wait.as_secs().max(1));
        }
        times.push_back(now);
        Ok(())
    }
}

/// What a sign-up asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignUp {
    /// `email` or `webhook`.
    pub kind: String,
    pub address: String,
    pub components: Vec<String>,
    /// `INC-7` or `7`, to follow one open public incident.
    pub incident: Option<String>,
}

/// What a sign-up answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignedUp {
    /// The same for every address: if it can receive mail, a confirmation is on its way.
    Email,
    /// A webhook: its signing secret (shown this once); it hears nothing until it answered
    /// the test delivery with a 2xx.
    Webhook { id: i64, secret: String },
}

/// What the public is told of a notice: a subject, a plain-text body and the Statuspage-style
/// object a webhook receives as `incident`.
#[derive(Debug, Clone, PartialEq)]
pub struct PublicText {
    pub subject: String,
    pub body: String,
    pub incident: Value,
}

fn invalid(field: &'static str, problem: impl Into<String>) -> AppError {
    AppError::Invalid(InvalidValue::new(field, problem))
}

/// A link or code that did not work: always the same words.
fn not_valid() -> AppError {
    AppError::Refused {
        code: "link_not_valid",
        message: "this link or code is not valid (it may have expired or been used); sign up or ask for a new code again".to_owned(),
    }
}

fn random_hex(bytes: usize) -> Result<String, AppError> {
    let mut buffer = vec![0u8; bytes];
    getrandom::fill(&mut buffer).map_err(|e| AppError::Internal(format!("no randomness: {e}")))?;
    Ok(hex::encode(buffer))
}

fn digest(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// Compares two strings in time independent of where they differ.
fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A Standard Webhooks secret: `whsec_` and 24 random bytes in base64.
fn webhook_secret() -> Result<String, AppError> {
    use base64::Engine as _;
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).map_err(|e| AppError::Internal(format!("no randomness: {e}")))?;
    Ok(format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    ))
}

impl<S: Store + Communications + Notifications> App<S> {
    /// Signs up on the status page from `client`. E-mail answers the same for every address.
    pub async fn sign_up(&self, request: &SignUp, client: IpAddr) -> Result<SignedUp, AppError> {
        let kind = SubscriberKind::parse(&request.kind)?;
        let address = match kind {
            SubscriberKind::Email => bare_address(&request.address)?,
            SubscriberKind::Webhook => http_url(request.address.trim().to_owned())?,
        };
        let now = Instant::now();
        self.limit(&format!("client:{client}"), PER_CLIENT, now)?;
        self.limit(&format!("address:{address}"), PER_ADDRESS, now)?;
        let incident = self
            .open_public_incident(request.incident.as_deref())
            .await?;
        let components = self.page_components(&request.components).await?;
        let interest = Interest::of(&components, incident)?;
        let base = self.links_base()?;
        let at = Timestamp::now();
        let existing = self
            .store
            .status_subscriber_at(kind, &address, incident)
            .await?;
        let (incident, components) = match interest {
            Interest::Incident(number) => (Some(number), Vec::new()),
            Interest::Components(components) => (None, components),
            Interest::Everything => (None, Vec::new()),
        };
        match kind {
            SubscriberKind::Email => {
                let channel = self.mail_channel().await?;
                if let Some(active) = existing
                    .as_ref()
                    .filter(|s| s.state == SubscriberState::Active)
                {
                    // Already subscribed: the person at that address hears how to manage it;
                    // whoever asked learns nothing.
                    let unsubscribe = format!(
                        "{base}/status/subscriptions/unsubscribe?token={}",
                        token(&self.link_key().await?, "link", active)
                    );
                    let delivery = mail_to(
                        format!("status-page:again:{}:{}", active.id, at.as_microsecond()),
                        channel,
                        active,
                        format!("{}: you are subscribed already", self.page_name().await),
                        format!(
                            "This address is subscribed already; nothing changed. To choose what you hear of, use the manage link below.\n\nManage: {base}/status/subscriptions/manage\nUnsubscribe: {unsubscribe}\n"
                        ),
                        Some(&unsubscribe),
                    );
                    self.store
                        .put_status_subscriber(active, &[delivery])
                        .await?;
                    self.outbox.wake();
                    return Ok(SignedUp::Email);
                }
                let subscriber = StatusSubscriber {
                    confirm_expires_at: at.checked_add(subscribers::CONFIRM_TTL).ok(),
                    ..pending(existing.as_ref(), kind, address, incident, components, at)?
                };
                // Stored first for its id, then the confirmation with the link the id and
                // nonce make; a crash between leaves a pending subscriber and no mail, which
                // a new sign-up mends.
                let stored = self.store.put_status_subscriber(&subscriber, &[]).await?;
                let key = self.link_key().await?;
                let confirm = format!(
                    "{base}/status/subscriptions/confirm?token={}",
                    token(&key, "confirm", &stored)
                );
                let page = self.page_name().await;
                let what = describe_interest(&stored);
                let delivery = mail_to(
                    format!("status-page:confirm:{}:{}", stored.id, stored.nonce),
                    channel,
                    &stored,
                    format!("{page}: confirm your subscription"),
                    format!(
                        "Someone, probably you, asked to hear of {what} on {page}.\n\nTo confirm, open this link and press the button (within 48 hours):\n{confirm}\n\nIf it was not you, ignore this message: nothing is sent to this address unless it is confirmed.\n"
                    ),
                    None,
                );
                self.store
                    .put_status_subscriber(&stored, &[delivery])
                    .await?;
                self.outbox.wake();
                Ok(SignedUp::Email)
            }
            SubscriberKind::Webhook => {
                self.check_webhook_address(&address).await?;
                if existing
                    .as_ref()
                    .is_some_and(|s| s.state == SubscriberState::Active)
                {
                    return Err(AppError::Conflict {
                        code: "already_subscribed",
                        message: "this address is subscribed already; to start over, unsubscribe it with the link in any delivery's meta.unsubscribe".to_owned(),
                    });
                }
                let channel = self.webhook_channel().await?;
                let secret = webhook_secret()?;
                let subscriber = StatusSubscriber {
                    secret: Some(secret.clone()),
                    ..pending(existing.as_ref(), kind, address, incident, components, at)?
                };
                let stored = self.store.put_status_subscriber(&subscriber, &[]).await?;
                let key = self.link_key().await?;
                let unsubscribe = format!(
                    "{base}/status/subscriptions/unsubscribe?token={}",
                    token(&key, "link", &stored)
                );
                let page = self.page_name().await;
                let test = NewDelivery {
                    key: format!("status-page:verify:{}:{}", stored.id, stored.nonce),
                    channel_id: channel,
                    recipient: Some(stored.id.to_string()),
                    incident: None,
                    kind: VERIFY_KIND.to_owned(),
                    subject: format!("{page}: subscription test"),
                    body: "A test delivery: answer it with a 2xx to start receiving notices."
                        .to_owned(),
                    payload: json!({
                        "meta": { "unsubscribe": unsubscribe, "documentation": format!("{base}/status") },
                        "page": { "id": "hereby", "name": page },
                        "type": "subscription.test",
                    })
                    .to_string(),
                };
                self.store.put_status_subscriber(&stored, &[test]).await?;
                self.outbox.wake();
                Ok(SignedUp::Webhook {
                    id: stored.id,
                    secret,
                })
            }
        }
    }

    /// The subscriber a confirmation link names, if the link is good: for the page that
    /// shows the button (reading it changes nothing).
    pub async fn subscription_to_confirm(&self, token: &str) -> Result<StatusSubscriber, AppError> {
        let subscriber = self.by_token(token, "confirm").await?;
        let usable = subscriber.state == SubscriberState::Pending
            && subscriber
                .confirm_expires_at
                .is_some_and(|until| Timestamp::now() < until);
        if usable {
            Ok(subscriber)
        } else {
            Err(not_valid())
        }
    }

    /// Confirms a subscription by its link (the button's POST).
    pub async fn confirm_subscription(&self, token: &str) -> Result<StatusSubscriber, AppError> {
        let mut subscriber = self.subscription_to_confirm(token).await?;
        let now = Timestamp::now();
        subscriber.state = SubscriberState::Active;
        subscriber.confirm_expires_at = None;
        subscriber.confirmed_at = Some(now);
        subscriber.updated_at = now;
        Ok(self.store.put_status_subscriber(&subscriber, &[]).await?)
    }

    /// The subscriber an unsubscribe link names, for the page that shows the button.
    pub async fn subscription_by_link(&self, token: &str) -> Result<StatusSubscriber, AppError> {
        self.by_token(token, "link").await
    }

    /// Unsubscribes by the link in every message (the one-click POST, or the button's).
    /// Unsubscribing twice is not an error.
    pub async fn unsubscribe(&self, token: &str) -> Result<StatusSubscriber, AppError> {
        let mut subscriber = self.by_token(token, "link").await?;
        if subscriber.state == SubscriberState::Unsubscribed {
            return Ok(subscriber);
        }
        subscriber.state = SubscriberState::Unsubscribed;
        subscriber.code_digest = None;
        subscriber.updated_at = Timestamp::now();
        Ok(self.store.put_status_subscriber(&subscriber, &[]).await?)
    }

    /// E-mails a fresh code to manage the subscription of `address`, if it has one; the
    /// answer is the same either way.
    pub async fn send_manage_code(&self, address: &str, client: IpAddr) -> Result<(), AppError> {
        let address = bare_address(address)?;
        let now = Instant::now();
        self.limit(&format!("client:{client}"), PER_CLIENT, now)?;
        self.limit(&format!("address:{address}"), PER_ADDRESS, now)?;
        // Asked first, so an unset mail channel reads the same for every address.
        let channel = self.mail_channel().await?;
        let Some(mut subscriber) = self
            .store
            .status_subscriber_at(SubscriberKind::Email, &address, None)
            .await?
            .filter(|s| s.state == SubscriberState::Active)
        else {
            return Ok(());
        };
        let code = format!(
            "{:06}",
            getrandom::u32().map_err(|e| AppError::Internal(format!("no randomness: {e}")))?
                % 1_000_000
        );
        let at = Timestamp::now();
        subscriber.code_digest = Some(digest(&format!("{}:{code}", subscriber.id)));
        subscriber.code_expires_at = at.checked_add(subscribers::CODE_TTL).ok();
        subscriber.code_tries = 0;
        subscriber.updated_at = at;
        let page = self.page_name().await;
        let delivery = mail_to(
            format!("status-page:code:{}:{}", subscriber.id, at.as_microsecond()),
            channel,
            &subscriber,
            format!("{page}: your code to manage your subscription"),
            format!(
                "Your code is {code}. It works once, for 15 minutes, to manage your subscription to {page}.\n\nIf you did not ask for it, ignore this message.\n"
            ),
            None,
        );
        self.store
            .put_status_subscriber(&subscriber, &[delivery])
            .await?;
        self.outbox.wake();
        Ok(())
    }

    /// Checks an e-mailed code; a good one opens a manage session (a token that works for 30
    /// minutes). Every refusal reads the same.
    pub async fn open_manage(
        &self,
        address: &str,
        code: &str,
        client: IpAddr,
    ) -> Result<String, AppError> {
        self.limit(&format!("code:{client}"), PER_CLIENT, Instant::now())?;
        let address = bare_address(address).map_err(|_| not_valid())?;
        let Some(mut subscriber) = self
            .store
            .status_subscriber_at(SubscriberKind::Email, &address, None)
            .await?
            .filter(|s| s.state == SubscriberState::Active)
        else {
            return Err(not_valid());
        };
        let now = Timestamp::now();
        if let (Some(expires), tries) = (subscriber.code_expires_at, subscriber.code_tries)
            && let Err(refusal) = subscribers::code_usable(expires, tries, now)
        {
            tracing::info!(
                subscriber = subscriber.id,
                ?refusal,
                "a manage code was refused"
            );
            return Err(not_valid());
        }
        // The try is spent before the comparison, in one statement: guesses sent at once
        // cannot all see the same count.
        let Some(expected) = self
            .store
            .spend_code_try(subscriber.id, subscribers::CODE_ATTEMPTS, now)
            .await?
        else {
            return Err(not_valid());
        };
        let given = digest(&format!("{}:{}", subscriber.id, code.trim()));
        if !same(&given, &expected) {
            tracing::info!(subscriber = subscriber.id, refusal = ?CodeRefusal::Wrong, "a manage code was refused");
            return Err(not_valid());
        }
        subscriber.code_tries = subscriber.code_tries.saturating_add(1);
        subscriber.code_digest = None;
        subscriber.code_expires_at = None;
        subscriber.updated_at = now;
        let stored = self.store.put_status_subscriber(&subscriber, &[]).await?;
        let until = now.checked_add(SESSION).unwrap_or(now).as_second();
        let key = self.link_key().await?;
        Ok(format!(
            "{}.{until}.{}",
            stored.id,
            tag(&key, &format!("manage:{until}"), &stored)
        ))
    }

    /// The subscriber a manage session is for.
    pub async fn managed(&self, session: &str) -> Result<StatusSubscriber, AppError> {
        let mut parts = session.trim().splitn(3, '.');
        let (Some(id), Some(until), Some(given)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(not_valid());
        };
        let (Ok(id), Ok(until)) = (id.parse::<i64>(), until.parse::<i64>()) else {
            return Err(not_valid());
        };
        if Timestamp::now().as_second() >= until {
            return Err(not_valid());
        }
        let subscriber = self
            .store
            .status_subscriber(id)
            .await?
            .filter(|s| s.state == SubscriberState::Active)
            .ok_or_else(not_valid)?;
        let key = self.link_key().await?;
        if same(given, &tag(&key, &format!("manage:{until}"), &subscriber)) {
            Ok(subscriber)
        } else {
            Err(not_valid())
        }
    }

    /// Changes the components a managed subscription hears of (none for everything).
    pub async fn save_managed(
        &self,
        session: &str,
        components: &[String],
    ) -> Result<StatusSubscriber, AppError> {
        let mut subscriber = self.managed(session).await?;
        let components = self.page_components(components).await?;
        subscriber.components = match Interest::of(&components, None)? {
            Interest::Components(components) => components,
            _ => Vec::new(),
        };
        subscriber.updated_at = Timestamp::now();
        Ok(self.store.put_status_subscriber(&subscriber, &[]).await?)
    }

    /// The unsubscribe link's token of a subscriber (for the manage page's button).
    pub async fn unsubscribe_token(
        &self,
        subscriber: &StatusSubscriber,
    ) -> Result<String, AppError> {
        Ok(token(&self.link_key().await?, "link", subscriber))
    }

    /// A webhook answered its test delivery: it hears notices from now on.
    pub async fn webhook_verified(&self, id: i64) -> Result<(), AppError> {
        let Some(mut subscriber) = self.store.status_subscriber(id).await? else {
            return Ok(());
        };
        if subscriber.state != SubscriberState::Pending {
            return Ok(());
        }
        let now = Timestamp::now();
        subscriber.state = SubscriberState::Active;
        subscriber.confirmed_at = Some(now);
        subscriber.updated_at = now;
        self.store.put_status_subscriber(&subscriber, &[]).await?;
        Ok(())
    }

    /// The deliveries a notice owes the page's active subscribers who want it, keys starting
    /// with `key` (unique to the notice). An e-mail carries the RFC 8058 unsubscribe link; a
    /// webhook gets a Statuspage-style body with it in `meta.unsubscribe`.
    pub async fn subscriber_deliveries(
        &self,
        notice: &Notice,
        text: &PublicText,
        key: &str,
    ) -> Result<Vec<NewDelivery>, AppError> {
        let mut wanted = Vec::new();
        let mut after = 0;
        loop {
            let page = self
                .store
                .status_subscribers(Some(SubscriberState::Active), after, PAGE)
                .await?;
            let full = page.len() == PAGE as usize;
            after = page.last().map_or(after, |s| s.id);
            wanted.extend(page.into_iter().filter(|s| interest_of(s).wants(notice)));
            if !full {
                break;
            }
        }
        // One message per address: someone following everything and one incident too gets
        // that incident's notices once (the subscription that matched first, by id).
        let mut seen = std::collections::HashSet::new();
        wanted.retain(|s| seen.insert((s.kind, s.address.clone())));
        if wanted.is_empty() {
            return Ok(Vec::new());
        }
        let Ok(base) = self.links_base() else {
            tracing::warn!(
                "status page subscribers are not told: the server's public address is not set"
            );
            return Ok(Vec::new());
        };
        let secret = self.link_key().await?;
        let page = self.page_name().await;
        let mail = self.mail_channel().await.ok();
        let hooks = self.existing_webhook_channel().await?;
        let mut deliveries = Vec::with_capacity(wanted.len());
        for subscriber in &wanted {
            let unsubscribe = format!(
                "{base}/status/subscriptions/unsubscribe?token={}",
                token(&secret, "link", subscriber)
            );
            match subscriber.kind {
                SubscriberKind::Email => {
                    let Some(channel) = mail else { continue };
                    deliveries.push(NewDelivery {
                        // Listed with the incident it tells of.
                        incident: notice.incident.map(|n| n.0),
                        ..mail_to(
                        format!("{key}:ss{}", subscriber.id),
                        channel,
                        subscriber,
                        text.subject.clone(),
                        format!(
                            "{}\n--\nYou get this because you subscribed to {page} ({}).\nManage: {base}/status/subscriptions/manage\nUnsubscribe: {unsubscribe}\n",
                            text.body,
                            describe_interest(subscriber)
                        ),
                        Some(&unsubscribe),
                    )
                    });
                }
                SubscriberKind::Webhook => {
                    let Some(channel) = hooks else { continue };
                    deliveries.push(NewDelivery {
                        key: format!("{key}:ss{}", subscriber.id),
                        channel_id: channel,
                        recipient: Some(subscriber.id.to_string()),
                        incident: notice.incident.map(|n| n.0),
                        kind: KIND.to_owned(),
                        subject: text.subject.clone(),
                        body: text.body.clone(),
                        payload: json!({
                            "meta": {
                                "unsubscribe": unsubscribe,
                                "documentation": format!("{base}/status"),
                            },
                            "page": {
                                "id": "hereby",
                                "name": page,
                                "url": format!("{base}/status"),
                            },
                            "type": notice.kind.as_str(),
                            "incident": text.incident,
                        })
                        .to_string(),
                    });
                }
            }
        }
        Ok(deliveries)
    }

    /// What subscribers are told of an incident's notice.
    pub async fn incident_text(
        &self,
        notice: &Notice,
        number: IncidentNumber,
        incident: &Incident,
        words: Option<&str>,
        at: Timestamp,
    ) -> PublicText {
        let page = self.page_name().await;
        let title = incident.title.as_str();
        let status = hereby_core::public::incident_status(incident.status);
        let headline = match notice.kind {
            NoticeKind::IncidentPublished => "investigating".to_owned(),
            NoticeKind::Updated => status.to_owned(),
            NoticeKind::Resolved => "resolved".to_owned(),
            NoticeKind::PostmortemPublished => "post-mortem published".to_owned(),
            NoticeKind::Maintenance => "maintenance".to_owned(),
        };
        let words = words
            .map(str::to_owned)
            .unwrap_or_else(|| match notice.kind {
                NoticeKind::IncidentPublished => incident
                    .public_summary
                    .as_ref()
                    .map(|text| text.as_str().to_owned())
                    .unwrap_or_else(|| {
                        "We are investigating and will post updates here.".to_owned()
                    }),
                NoticeKind::Resolved => {
                    "This incident has been resolved. Thank you for your patience.".to_owned()
                }
                NoticeKind::PostmortemPublished => {
                    "The post-mortem of this incident is published.".to_owned()
                }
                _ => String::new(),
            });
        // Only what the page shows: an incident's other services may be internal names.
        let shown = self.store.list_components().await.unwrap_or_default();
        let components: Vec<&str> = notice
            .components
            .iter()
            .filter(|name| shown.iter().any(|c| &c.name == *name))
            .map(ServiceName::as_str)
            .collect();
        let link = self
            .public_url
            .as_deref()
            .map(|base| format!("{}/status#{number}", base.trim_end_matches('/')));
        let mut body = format!("{title}\nStatus: {status}\n");
        if !components.is_empty() {
            body.push_str(&format!("Affects: {}\n", components.join(", ")));
        }
        if !words.is_empty() {
            body.push('\n');
            body.push_str(&words);
            body.push('\n');
        }
        if let Some(link) = &link {
            body.push('\n');
            body.push_str(link);
            body.push('\n');
        }
        let stamp = at.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
        PublicText {
            subject: format!("[{page}] {title}: {headline}"),
            body,
            incident: json!({
                "id": number.to_string(),
                "name": title,
                "status": status,
                "impact": hereby_core::public::impact(incident.severity, incident.potential).as_str(),
                "created_at": incident.declared_at.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
                "updated_at": stamp,
                "shortlink": link,
                "components": components,
                "incident_updates": [{
                    "status": status,
                    "body": words,
                    "created_at": stamp,
                }],
            }),
        }
    }

    /// The page's subscribers (admins).
    pub async fn status_subscribers(
        &self,
        actor: &User,
        after: i64,
        limit: u32,
    ) -> Result<Vec<StatusSubscriber>, AppError> {
        require(actor, InstallationRole::Admin)?;
        Ok(self
            .store
            .status_subscribers(None, after, limit.clamp(1, 1_000))
            .await?)
    }

    /// Removes a subscriber (admins).
    pub async fn remove_status_subscriber(&self, actor: &User, id: i64) -> Result<(), AppError> {
        require(actor, InstallationRole::Admin)?;
        if self.store.remove_status_subscriber(id).await? {
            Ok(())
        } else {
            Err(AppError::not_found(format!("subscriber {id}")))
        }
    }

    /// Whether the page takes this webhook address: sign-ups may be off, and by default only
    /// addresses that resolve to public IP addresses are taken, so nobody can make the server
    /// post to its own network.
    async fn check_webhook_address(&self, address: &str) -> Result<(), AppError> {
        let mode = self.status_page().await?.webhook_signups;
        if mode == "off" {
            return Err(AppError::Refused {
                code: "subscriptions_unavailable",
                message: "this page does not take webhook subscriptions".to_owned(),
            });
        }
        if mode == "any" {
            return Ok(());
        }
        let refused = || {
            invalid(
                "address",
                "must be an address on the internet (this page does not send to private, loopback or link-local addresses)",
            )
        };
        let url = url::Url::parse(address).map_err(|_| refused())?;
        let host = url
            .host_str()
            .ok_or_else(refused)?
            .trim_matches(['[', ']'])
            .to_owned();
        let port = url.port_or_known_default().unwrap_or(443);
        let resolved = tokio::time::timeout(
            Duration::from_secs(3),
            tokio::net::lookup_host((host.as_str(), port)),
        )
        .await
        .map_err(|_| refused())?
        .map_err(|_| refused())?;
        let addresses: Vec<IpAddr> = resolved.map(|socket| socket.ip()).collect();
        if addresses.is_empty() || !addresses.iter().all(|ip| public_ip(*ip)) {
            return Err(refused());
        }
        Ok(())
    }

    fn limit(&self, key: &str, most: usize, now: Instant) -> Result<(), AppError> {
        self.subscribe_limits
            .take(key.to_owned(), most, now)
            .map_err(|retry_after| AppError::TooManyRequests {
                message: "too many sign-ups or codes asked for; try again later".to_owned(),
                retry_after,
            })
    }

    /// The incident a sign-up follows: it must be public and not over. Any other reads as
    /// not found, so nothing about internal incidents is revealed.
    async fn open_public_incident(
        &self,
        raw: Option<&str>,
    ) -> Result<Option<IncidentNumber>, AppError> {
        let Some(raw) = raw.map(str::trim).filter(|raw| !raw.is_empty()) else {
            return Ok(None);
        };
        let number = raw
            .trim_start_matches("INC-")
            .parse::<u64>()
            .ok()
            .map(IncidentNumber)
            .ok_or_else(|| invalid("incident", format!("`{raw}` is not an incident like INC-7")))?;
        let open = match self.store.load(number).await {
            Ok(loaded) => loaded.state.incident().is_some_and(|incident| {
                incident.visibility == hereby_core::types::Visibility::Public
                    && incident.status.is_active()
            }),
            Err(_) => false,
        };
        if open {
            Ok(Some(number))
        } else {
            Err(invalid(
                "incident",
                format!("{number} is not an open public incident"),
            ))
        }
    }

    /// Components a sign-up names, each one the page shows.
    async fn page_components(&self, raw: &[String]) -> Result<Vec<ServiceName>, AppError> {
        let raw: Vec<&str> = raw
            .iter()
            .map(|c| c.trim())
            .filter(|c| !c.is_empty())
            .collect();
        if raw.is_empty() {
            return Ok(Vec::new());
        }
        let known = self.store.list_components().await?;
        raw.iter()
            .map(|name| {
                known
                    .iter()
                    .find(|c| c.name.as_str() == *name)
                    .map(|c| c.name.clone())
                    .ok_or_else(|| {
                        invalid(
                            "components",
                            format!("`{name}` is not a component of this page"),
                        )
                    })
            })
            .collect()
    }

    /// Where links in messages point: the server's public address.
    fn links_base(&self) -> Result<String, AppError> {
        self.public_url
            .as_deref()
            .map(|base| base.trim_end_matches('/').to_owned())
            .ok_or_else(|| AppError::Refused {
                code: "subscriptions_unavailable",
                message: "subscriptions need the server's public address for the links they send (hereby serve --public-url)".to_owned(),
            })
    }

    async fn page_name(&self) -> String {
        self.status_page()
            .await
            .map(|settings| settings.name)
            .unwrap_or_else(|_| crate::status_page::DEFAULT_NAME.to_owned())
    }

    /// The e-mail channel for subscribers, as the page's settings name it.
    async fn mail_channel(&self) -> Result<i64, AppError> {
        let settings = self.status_page().await?;
        let channels = self.store.channels().await?;
        channels
            .iter()
            .find(|c| !settings.mail_channel.is_empty() && c.name == settings.mail_channel && c.kind == "email")
            .map(|c| c.id)
            .ok_or_else(|| AppError::Refused {
                code: "subscriptions_unavailable",
                message: "this page does not take e-mail subscriptions yet (an admin sets its mail channel: hereby status-page set --mail-channel …)".to_owned(),
            })
    }

    async fn existing_webhook_channel(&self) -> Result<Option<i64>, AppError> {
        Ok(self
            .store
            .channels()
            .await?
            .iter()
            .find(|c| c.name == WEBHOOK_CHANNEL && c.kind == "status_page")
            .map(|c| c.id))
    }

    /// The channel webhook subscribers' deliveries go through, made on first use.
    async fn webhook_channel(&self) -> Result<i64, AppError> {
        if let Some(id) = self.existing_webhook_channel().await? {
            return Ok(id);
        }
        let config = serde_json::to_string(&ChannelConfig::StatusPage {})
            .map_err(|e| AppError::Internal(e.to_string()))?;
        match self
            .store
            .create_channel(
                &NewChannel {
                    name: WEBHOOK_CHANNEL.to_owned(),
                    kind: "status_page".to_owned(),
                    config,
                    personal: false,
                    // A few slow receivers must not hold most of the node's 64 delivery slots.
                    concurrency: 16,
                },
                Timestamp::now(),
            )
            .await
        {
            Ok(channel) => Ok(channel.id),
            // Another node made it meanwhile.
            Err(_) => self.existing_webhook_channel().await?.ok_or_else(|| {
                AppError::Internal("cannot make the webhook subscribers' channel".to_owned())
            }),
        }
    }

    /// The server key the links are tagged with, made on first use.
    ///
    /// Kept once read: it never changes, and every link anyone opens needs it, so reading it
    /// each time would put a statement on the writer for a request that changes nothing.
    async fn link_key(&self) -> Result<String, AppError> {
        self.subscriber_link_key
            .get_or_try_init(|| async {
                let setting = AdminSetting {
                    kind: KEY_KIND.to_owned(),
                    name: KEY_NAME.to_owned(),
                    value: random_hex(32)?,
                    updated_at: Timestamp::now(),
                    updated_by: hereby_core::types::UserName::parse(
                        hereby_core::roles::SYSTEM_ACTOR,
                    )
                    .map_err(|e| AppError::Internal(e.to_string()))?,
                };
                Ok::<_, AppError>(self.store.put_setting_if_absent(&setting).await?.value)
            })
            .await
            .cloned()
    }

    async fn by_token(&self, token: &str, purpose: &str) -> Result<StatusSubscriber, AppError> {
        let (id, given) = token.trim().split_once('.').ok_or_else(not_valid)?;
        let id = id.parse::<i64>().map_err(|_| not_valid())?;
        let subscriber = self
            .store
            .status_subscriber(id)
            .await?
            .ok_or_else(not_valid)?;
        let key = self.link_key().await?;
        if same(given, &tag(&key, purpose, &subscriber)) {
            Ok(subscriber)
        } else {
            Err(not_valid())
        }
    }
}

/// An e-mail to a subscriber's address; with an unsubscribe link, the message carries the
/// RFC 8058 headers (the e-mail sender reads `list_unsubscribe` from the payload).
fn mail_to(
    delivery_key: String,
    channel: i64,
    subscriber: &StatusSubscriber,
    subject: String,
    body: String,
    unsubscribe: Option<&str>,
) -> NewDelivery {
    let payload = match unsubscribe {
        Some(link) => json!({ "list_unsubscribe": link }),
        None => json!({}),
    };
    NewDelivery {
        key: delivery_key,
        channel_id: channel,
        recipient: Some(subscriber.address.clone()),
        incident: None,
        kind: KIND.to_owned(),
        subject,
        body,
        payload: payload.to_string(),
    }
}

/// An e-mail address as subscriptions keep it: the bare address (a display name would make
/// one mailbox many subscribers), lowercase.
fn bare_address(raw: &str) -> Result<String, AppError> {
    let checked = mailbox("address", raw)?;
    let bare = match checked
        .strip_suffix('>')
        .and_then(|rest| rest.rsplit_once('<'))
    {
        Some((_name, address)) => address.trim().to_owned(),
        None => checked.trim().to_owned(),
    };
    Ok(bare.to_lowercase())
}

/// A sign-up as it is stored before its address is confirmed: a fresh nonce (older links stop
/// working), the earlier row's id and creation time kept.
fn pending(
    existing: Option<&StatusSubscriber>,
    kind: SubscriberKind,
    address: String,
    incident: Option<IncidentNumber>,
    components: Vec<ServiceName>,
    at: Timestamp,
) -> Result<StatusSubscriber, AppError> {
    Ok(StatusSubscriber {
        id: existing.map_or(0, |s| s.id),
        kind,
        address,
        incident,
        components,
        state: SubscriberState::Pending,
        nonce: random_hex(16)?,
        secret: None,
        confirm_expires_at: None,
        code_digest: None,
        code_expires_at: None,
        code_tries: 0,
        created_at: existing.map_or(at, |s| s.created_at),
        updated_at: at,
        confirmed_at: None,
    })
}

/// Whether an IP address is on the internet: not private, loopback, link-local, shared
/// (100.64/10), unspecified, broadcast, multicast or unique-local.
fn public_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || a == 0
                || (a == 100 && (b & 0xc0) == 64))
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => public_ip(IpAddr::V4(v4)),
            None => {
                let first = v6.segments()[0];
                !(v6.is_loopback()
                    || v6.is_unspecified()
                    || v6.is_multicast()
                    || (first & 0xfe00) == 0xfc00
                    || (first & 0xffc0) == 0xfe80)
            }
        },
    }
}

/// What a subscriber follows.
pub fn interest_of(subscriber: &StatusSubscriber) -> Interest {
    match subscriber.incident {
        Some(number) => Interest::Incident(number),
        None if subscriber.components.is_empty() => Interest::Everything,
        None => Interest::Components(subscriber.components.clone()),
    }
}

/// What a subscriber follows, in words.
fn describe_interest(subscriber: &StatusSubscriber) -> String {
    match interest_of(subscriber) {
        Interest::Everything => "every incident and maintenance".to_owned(),
        Interest::Components(components) => {
            let names: Vec<&str> = components.iter().map(ServiceName::as_str).collect();
            format!("incidents and maintenance of {}", names.join(", "))
        }
        Interest::Incident(number) => format!("{number} until it is over"),
    }
}

/// The tag of a link for `purpose`: hex of an HMAC-SHA256 over the purpose, the id and the
/// nonce, cut to 128 bits.
fn tag(key: &str, purpose: &str, subscriber: &StatusSubscriber) -> String {
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(key.as_bytes()) else {
        // Cannot happen (HMAC takes keys of any length); a tag nobody can give.
        return "-".repeat(32);
    };
    mac.update(format!("{purpose}:{}:{}", subscriber.id, subscriber.nonce).as_bytes());
    hex::encode(&mac.finalize().into_bytes()[..16])
}

/// A link's token: `<id>.<tag>`.
fn token(key: &str, purpose: &str, subscriber: &StatusSubscriber) -> String {
    format!("{}.{}", subscriber.id, tag(key, purpose, subscriber))
}

/// The subscriber shown to admins.
pub fn wire(subscriber: &StatusSubscriber) -> api::StatusSubscriber {
    api::StatusSubscriber {
        id: subscriber.id,
        kind: subscriber.kind.as_str().to_owned(),
        address: subscriber.address.clone(),
        incident: subscriber.incident.map(|n| n.to_string()),
        components: subscriber
            .components
            .iter()
            .map(ToString::to_string)
            .collect(),
        state: subscriber.state.as_str().to_owned(),
        created_at: subscriber.created_at.to_string(),
        confirmed_at: subscriber.confirmed_at.map(|at| at.to_string()),
    }
}
