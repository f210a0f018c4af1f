//! The chat adapter interface on the way out: what a platform must do ([`Platform`]), and
//! the one loop that carries out a chat channel's deliveries through it, in order (a room
//! exists before its lines): make the incident's room, post, pin and edit the state message,
//! invite members, rename, close the room, post lines and answers.

use std::time::Duration;

use hereby_app::chat::{RoomFacts, kind};
use hereby_store::{
    Channel, Chat, ChatRoom, ClaimLimits, Delivery, DeliveryOutcome, Directory, Notifications,
    Store,
};
use jiff::Timestamp;
use sha2::{Digest as _, Sha256};

use crate::AppState;

/// A burst of changes to an incident is shown in one edit of its state message.
const DEBOUNCE: Duration = Duration::from_millis(300);
/// Attempts before a delivery is given up.
const MAX_ATTEMPTS: u32 = 8;
/// Deliveries claimed at once (then sent one after another).
const CLAIM: u32 = 8;

/// A message as a platform shows it: plain text, and the same with markup where the
/// platform has some.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Text<'a> {
    pub(crate) plain: &'a str,
    pub(crate) html: Option<&'a str>,
    /// What the message offers to do (the state message's buttons), on platforms that show
    /// buttons; each runs its verb on `incident`.
    pub(crate) buttons: &'a [hereby_app::chat::Button],
    pub(crate) incident: &'a str,
    /// The message this one answers in a thread, on platforms with threads: timeline lines
    /// go under the pinned state message, so the room's own talk is not buried by them.
    pub(crate) thread: Option<&'a str>,
}

/// Why a room could not be made.
#[derive(Debug)]
pub(crate) enum RoomError {
    /// The name is taken, by this room (when the platform can tell: an earlier attempt made
    /// it and stopped before it was recorded).
    NameTaken {
        existing: Option<String>,
    },
    Failed(String),
}

/// What a chat platform does for the outbox. `key` is the delivery's idempotency key:
/// platforms that take one (Matrix's transaction ids) send it, so a retry is not repeated.
pub(crate) trait Platform: Send + Sync {
    /// The name of accounts in chat links (`matrix`, `slack:T123`).
    fn accounts(&self) -> &str;
    /// The platform's id of hereby's own account, never invited nor answered.
    fn me(&self) -> &str;
    /// Makes a room named `name` for the incident (private when the incident is restricted;
    /// its members are invited afterwards); its id.
    async fn create_room(&self, facts: &RoomFacts, name: &str) -> Result<String, RoomError>;
    /// Posts a message; its id.
    async fn post(&self, room: &str, text: Text<'_>, key: &str) -> Result<String, String>;
    /// Pins a posted message.
    async fn pin(&self, room: &str, message: &str) -> Result<(), String>;
    /// Replaces a posted message's text.
    async fn edit(
        &self,
        room: &str,
        message: &str,
        text: Text<'_>,
        key: &str,
    ) -> Result<(), String>;
    /// Invites a person; inviting someone already in the room succeeds.
    async fn invite(&self, room: &str, person: &str) -> Result<(), String>;
    /// Removes a person from a room (someone no longer a member of a restricted incident).
    async fn remove(&self, room: &str, person: &str) -> Result<(), String>;
    async fn rename(&self, room: &str, name: &str) -> Result<(), String>;
    /// Makes the room read-only (archived), its history kept.
    async fn archive(&self, room: &str) -> Result<(), String>;
    /// Opens an archived room again (a reopened incident).
    async fn unarchive(&self, room: &str) -> Result<(), String>;
    /// Answers a message in the room it was said in (`answer` is the delivery's payload:
    /// the room, and the platform's address for answers if it gave one).
    async fn reply(
        &self,
        room: &str,
        to: &str,
        text: &str,
        answer: &serde_json::Value,
        key: &str,
    ) -> Result<(), String>;
    /// Answers a person alone.
    async fn private(
        &self,
        person: &str,
        text: &str,
        answer: &serde_json::Value,
        key: &str,
    ) -> Result<(), String>;
}

/// Sends the channel's due deliveries, oldest first, one at a time. `true` if there may be
/// more.
pub(crate) async fn send_due<S, P>(
    state: &AppState<S>,
    channel: &Channel,
    platform: &P,
) -> Result<bool, String>
where
    S: Store + Directory + Chat + Notifications,
    P: Platform,
{
    let now = Timestamp::now();
    let lease = now
        .checked_add(jiff::SignedDuration::from_secs(120))
        .unwrap_or(now);
    let claimed = state
        .store
        .claim_deliveries(now, lease, &ClaimLimits::one_channel(channel.id, CLAIM))
        .await
        .map_err(|e| e.to_string())?;
    let more = claimed.len() == CLAIM as usize;
    for claimed in claimed {
        let delivery = &claimed.delivery;
        let result = deliver(state, channel, platform, delivery).await;
        if let Err(error) = &result {
            tracing::warn!(channel = %channel.name, delivery = delivery.id, %error, "chat delivery failed");
        }
        let outcome = match result {
            Ok(()) => DeliveryOutcome::Delivered,
            Err(error) if delivery.attempts + 1 >= MAX_ATTEMPTS => DeliveryOutcome::Dead { error },
            Err(error) => {
                let wait = hereby_app::deliveries::backoff(
                    delivery.attempts + 1,
                    Duration::from_secs(1),
                    Duration::from_secs(300),
                );
                let at = Timestamp::now()
                    .checked_add(jiff::SignedDuration::try_from(wait).unwrap_or_default())
                    .unwrap_or(Timestamp::MAX);
                DeliveryOutcome::Retry { at, error }
            }
        };
        state
            .store
            .finish_delivery(claimed.claim(), &outcome, Timestamp::now())
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(more)
}

/// Carries out the channel's deliveries as they come due, until `stop` changes: woken by
/// this process's outbox, and every half second for other nodes' and retries.
pub(crate) async fn carry_out<S, P>(
    state: &AppState<S>,
    channel: &Channel,
    platform: &P,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Result<(), String>
where
    S: Store + Directory + Chat + Notifications,
    P: Platform,
{
    loop {
        match send_due(state, channel, platform).await {
            Ok(true) => continue,
            Ok(false) => {}
            Err(error) => {
                tracing::warn!(channel = %channel.name, %error, "cannot send chat deliveries")
            }
        }
        tokio::select! {
            () = state.outbox.notified() => {}
            () = tokio::time::sleep(Duration::from_millis(500)) => {}
            _ = stop.changed() => return Ok(()),
        }
    }
}

/// A transaction id from an idempotency key: the same key, the same transaction.
pub(crate) fn txn(key: &str) -> String {
    key.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// Carries out one delivery.
async fn deliver<S, P>(
    state: &AppState<S>,
    channel: &Channel,
    platform: &P,
    delivery: &Delivery,
) -> Result<(), String>
where
    S: Store + Directory + Chat + Notifications,
    P: Platform,
{
    let key = txn(&delivery.key);
    let answer: serde_json::Value =
        serde_json::from_str(&delivery.payload).unwrap_or(serde_json::Value::Null);
    match delivery.kind.as_str() {
        kind::ROOM | kind::STATE => {
            let Some(number) = delivery.incident else {
                return Ok(());
            };
            // A burst of changes is one edit: wait a moment, then show the state as it is.
            let age = Duration::try_from(Timestamp::now().duration_since(delivery.created_at))
                .unwrap_or_default();
            if let Some(left) = DEBOUNCE.checked_sub(age) {
                tokio::time::sleep(left).await;
            }
            let covered = state
                .store
                .newest_delivery(channel.id, number, kind::STATE)
                .await
                .map_err(|e| e.to_string())?;
            bring_up_to_date(state, channel, platform, number, &key).await?;
            if let Some(covered) = covered {
                state
                    .store
                    .settle_deliveries(channel.id, number, kind::STATE, covered, Timestamp::now())
                    .await
                    .map_err(|e| e.to_string())?;
            }
            Ok(())
        }
        kind::LINE => {
            let Some(number) = delivery.incident else {
                return Ok(());
            };
            let Some(room) = room_for_line(state, channel, platform, number, &key).await? else {
                // An incident closed without a room, or whose room is archived: nothing to
                // show any more.
                return Ok(());
            };
            let text = Text {
                plain: &delivery.body,
                html: None,
                buttons: &[],
                incident: "",
                thread: room.state_message.as_deref(),
            };
            platform.post(&room.room, text, &key).await.map(drop)
        }
        kind::REPLY => {
            let room = delivery.recipient.as_deref().unwrap_or_default();
            platform
                .reply(room, &delivery.subject, &delivery.body, &answer, &key)
                .await
        }
        kind::PRIVATE => {
            let person = delivery.recipient.as_deref().unwrap_or_default();
            platform
                .private(person, &delivery.body, &answer, &key)
                .await
        }
        other => Err(format!("a chat channel cannot send `{other}`")),
    }
}

/// The room a line of `number` goes to: made first if the incident has none yet, or moved
/// to a private one first if the incident became restricted; `None` when there is nowhere to
/// post (the incident is closed without a room, or its room is archived).
async fn room_for_line<S, P>(
    state: &AppState<S>,
    channel: &Channel,
    platform: &P,
    number: u64,
    key: &str,
) -> Result<Option<ChatRoom>, String>
where
    S: Store + Directory + Chat + Notifications,
    P: Platform,
{
    let loaded = state
        .store
        .load(hereby_core::types::IncidentNumber(number))
        .await
        .map_err(|e| e.to_string())?;
    let hereby_core::State::Declared(incident) = loaded.state else {
        return Ok(None);
    };
    let restricted = incident.visibility == hereby_core::types::Visibility::Restricted;
    let room = state
        .store
        .chat_room(channel.id, number)
        .await
        .map_err(|e| e.to_string())?;
    let behind = match &room {
        None => incident.status != hereby_core::types::Status::Closed,
        Some(room) => restricted && !room.private,
    };
    let room = if behind {
        bring_up_to_date(state, channel, platform, number, key).await?;
        state
            .store
            .chat_room(channel.id, number)
            .await
            .map_err(|e| e.to_string())?
    } else {
        room
    };
    Ok(room.filter(|room| !room.archived && (room.private || !restricted)))
}

/// Makes the incident's room if it has none (a private one, if it became restricted while
/// its room was open: the open room is told so and left), then brings it up to date: the
/// state message (posted and pinned once, then edited in place), members invited (and, in a
/// private room, people no longer members removed), its name, read-only once the incident is
/// closed and open again if it is reopened.
async fn bring_up_to_date<S, P>(
    state: &AppState<S>,
    channel: &Channel,
    platform: &P,
    number: u64,
    key: &str,
) -> Result<(), String>
where
    S: Store + Directory + Chat + Notifications,
    P: Platform,
{
    let incident = hereby_core::types::IncidentNumber(number);
    let Some(facts) = state
        .app
        .chat_room_facts(platform.accounts(), incident)
        .await
        .map_err(|e| e.to_string())?
    else {
        return Ok(());
    };
    let known = state
        .store
        .chat_room(channel.id, number)
        .await
        .map_err(|e| e.to_string())?;
    let mut room = match known {
        Some(open) if facts.private && !open.private => {
            // Everyone in the open room could read on: the incident continues in a private
            // room with its members, and the open one hears nothing more of it.
            let notice = Text {
                plain: "This incident is now restricted: it continues in a private room with its members. Nothing more of it is posted here.",
                html: None,
                buttons: &[],
                incident: "",
                thread: None,
            };
            platform
                .post(&open.room, notice, &format!("{key}_moved"))
                .await?;
            create_room(state, channel, platform, &facts).await?
        }
        Some(room) => room,
        None if facts.closed => return Ok(()),
        None => create_room(state, channel, platform, &facts).await?,
    };
    if room.archived {
        if facts.closed {
            return Ok(());
        }
        platform.unarchive(&room.room).await?;
        room.archived = false;
    }
    let incident_id = facts.incident.to_string();
    let text = Text {
        plain: &facts.message.plain,
        html: Some(&facts.message.html),
        buttons: &facts.buttons,
        incident: &incident_id,
        thread: None,
    };
    match &room.state_message {
        None => {
            let message = platform
                .post(&room.room, text, &format!("{key}_state"))
                .await?;
            platform.pin(&room.room, &message).await?;
            room.state_message = Some(message);
            // Recorded at once: a failure further on must not post a second state message.
            state
                .store
                .put_chat_room(&room)
                .await
                .map_err(|e| e.to_string())?;
        }
        Some(message) => {
            // The edit's idempotency key holds what it shows: a retry of the same edit is
            // the same transaction, but an edit showing newer state is a new one.
            let shown: [u8; 32] = Sha256::digest(facts.message.plain.as_bytes()).into();
            let edit = format!("{key}_{}", hex::encode(&shown[..8]));
            platform.edit(&room.room, message, text, &edit).await?;
        }
    }
    for person in &facts.members {
        if room.invited.contains(person) || person == platform.me() {
            continue;
        }
        // One person who cannot be invited (a deactivated account) keeps nobody else out;
        // they are tried again with the next change.
        match platform.invite(&room.room, person).await {
            Ok(()) => room.invited.push(person.clone()),
            Err(error) => {
                tracing::warn!(channel = %channel.name, person, %error, "cannot invite to an incident's room")
            }
        }
    }
    if room.private {
        let gone: Vec<String> = room
            .invited
            .iter()
            .filter(|person| !facts.members.contains(person))
            .cloned()
            .collect();
        for person in gone {
            platform.remove(&room.room, &person).await?;
            room.invited.retain(|invited| invited != &person);
        }
    }
    if room.name != facts.name {
        platform.rename(&room.room, &facts.name).await?;
        room.name = facts.name.clone();
    }
    if facts.closed && !room.archived {
        platform.archive(&room.room).await?;
        room.archived = true;
    }
    state
        .store
        .put_chat_room(&room)
        .await
        .map_err(|e| e.to_string())
}

/// Creates the incident's room under its readable name, or adopts the one an interrupted
/// earlier attempt created; another room already holding the name makes the next name tried.
async fn create_room<S, P>(
    state: &AppState<S>,
    channel: &Channel,
    platform: &P,
    facts: &RoomFacts,
) -> Result<ChatRoom, String>
where
    S: Store + Directory + Chat + Notifications,
    P: Platform,
{
    let mut name = facts.name.clone();
    for attempt in 0..5 {
        let room = match platform.create_room(facts, &name).await {
            Ok(room) => room,
            Err(RoomError::NameTaken { existing }) => {
                let adopt = match &existing {
                    Some(found) if attempt == 0 => state
                        .store
                        .chat_room_at(channel.id, found)
                        .await
                        .map_err(|e| e.to_string())?
                        .is_none(),
                    _ => false,
                };
                match existing {
                    Some(found) if adopt => found,
                    _ => {
                        name =
                            hereby_app::chat::room_name_after_collision(&facts.name, attempt + 1);
                        continue;
                    }
                }
            }
            Err(RoomError::Failed(error)) => return Err(error),
        };
        let room = ChatRoom {
            channel_id: channel.id,
            incident: facts.incident.0,
            room,
            name: name.clone(),
            private: facts.private,
            state_message: None,
            invited: Vec::new(),
            archived: false,
            created_at: Timestamp::now(),
        };
        state
            .store
            .put_chat_room(&room)
            .await
            .map_err(|e| e.to_string())?;
        return Ok(room);
    }
    Err(format!(
        "every name tried for the room of {} is taken",
        facts.incident
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transaction_ids_are_safe_in_a_path() {
        assert_eq!(txn("17:c2:line"), "17_c2_line");
    }
}
