//! Chat, whatever the platform: what a message said in chat does (a command run with the
//! linked person's identity and permissions, the phrase that offers to declare, a quote
//! copied into the timeline), linking chat accounts to hereby users, and what chat owes each
//! event (a room for a new incident, the pinned state message brought up to date, a compact
//! timeline line), queued in the durable outbox for the platform's adapter to carry out.

pub mod grammar;

use hereby_api as api;
use hereby_core::Cadence;
use hereby_core::Command;
use hereby_core::Incident;
use hereby_core::State;
use hereby_core::event::Event;
use hereby_core::types::{
    ActionState, InstallationRole, InvalidValue, Status, UserName, Visibility,
};
use hereby_store::{
    Channel, Chat, ChatLink, Directory, NewDelivery, Notifications, RecordedEvent, Store, User,
};
use jiff::Timestamp;
use sha2::{Digest as _, Sha256};

use crate::{App, AppError, require};
use grammar::{Line, Parsed, Verb};

/// The kinds of deliveries a chat channel carries out.
pub mod kind {
    /// Make the incident's room (and post and pin its state message).
    pub const ROOM: &str = "chat_room";
    /// Bring the room up to date with the incident: the pinned state message, members,
    /// name, privacy, read-only once closed.
    pub const STATE: &str = "chat_state";
    /// One timeline entry, in a line.
    pub const LINE: &str = "chat_line";
    /// An answer in the room a message was said in.
    pub const REPLY: &str = "chat_reply";
    /// An answer only the person who asked sees.
    pub const PRIVATE: &str = "chat_private";
}

/// The channel kinds that are chat connections (their deliveries are the chat adapters' to
/// send, not the notification worker's).
pub const CHAT_KINDS: &[&str] = &["matrix", "slack_app", "mattermost"];

/// Whether a channel of `kind` is a chat connection.
pub fn is_chat_kind(kind: &str) -> bool {
    CHAT_KINDS.contains(&kind)
}

/// How long a link code works.
const LINK_CODE_LIFETIME: jiff::SignedDuration = jiff::SignedDuration::from_mins(15);

/// The longest room name (Slack allows 80; shorter reads better in a sidebar).
const ROOM_NAME_MAX: usize = 60;

/// How long an offer to declare waits for `inc yes`.
const OFFER_LIFETIME: std::time::Duration = std::time::Duration::from_secs(10 * 60);

/// Who was offered, where: (channel, room, person).
type OfferKey = (i64, String, String);

/// Offers to declare made on the phrase, by (channel, room, person): what was said, and when.
/// Kept in memory: an offer is a moment's question, and one lost to a restart is asked again.
#[derive(Debug, Default)]
pub struct Offers(
    std::sync::Mutex<std::collections::HashMap<OfferKey, (String, std::time::Instant)>>,
);

impl Offers {
    fn put(&self, key: OfferKey, said: String) {
        let mut offers = self.0.lock().unwrap_or_else(|e| e.into_inner());
        offers.retain(|_, (_, at)| at.elapsed() < OFFER_LIFETIME);
        offers.insert(key, (said, std::time::Instant::now()));
    }

    fn take(&self, key: &OfferKey) -> Option<String> {
        let mut offers = self.0.lock().unwrap_or_else(|e| e.into_inner());
        offers
            .remove(key)
            .filter(|(_, at)| at.elapsed() < OFFER_LIFETIME)
            .map(|(said, _)| said)
    }
}

/// The title an incident declared on the phrase gets: what was said besides the phrase.
fn offered_title(said: &str, phrase: &str) -> String {
    let lower = said.to_lowercase();
    let without = match lower.find(&phrase.to_lowercase()) {
        Some(at) => format!("{}{}", &said[..at], &said[at + phrase.len()..]),
        None => said.to_owned(),
    };
    let title = without
        .trim_matches(|c: char| c.is_whitespace() || matches!(c, '.' | '!' | ',' | ':' | ';' | '-'))
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if title.is_empty() {
        "Declared from chat".to_owned()
    } else {
        title.chars().take(200).collect()
    }
}

/// A note copied from chat starts with this, so chat does not echo it back as a line.
pub const FROM_CHAT: &str = "💬 ";

/// The readable name of an incident's room: `inc-42-checkout-dead`, lowercase ASCII letters,
/// digits and single dashes, at most 60 characters, cut at a word.
pub fn room_name(number: hereby_core::types::IncidentNumber, title: &str) -> String {
    let mut slug = String::new();
    for c in title.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    let mut name = format!("inc-{}", number.0);
    for word in slug.split('-').filter(|word| !word.is_empty()) {
        if name.len() + 1 + word.len() > ROOM_NAME_MAX {
            break;
        }
        name.push('-');
        name.push_str(word);
    }
    name
}

/// The name to use when `name` is taken by a room that is not this incident's: a number
/// after it, within the length limit.
pub fn room_name_after_collision(name: &str, attempt: u32) -> String {
    let suffix = format!("-{}", attempt + 1);
    let mut base = name.to_owned();
    while base.len() + suffix.len() > ROOM_NAME_MAX {
        base.pop();
    }
    format!("{}{suffix}", base.trim_end_matches('-'))
}

/// The state document as a chat message shows it: plain text and HTML (Matrix shows the
/// second, keeps the first for clients without markup).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateMessage {
    pub plain: String,
    pub html: String,
}

/// The incident's state in one message: status, severity, commander, roles, next update due,
/// open actions.
pub fn state_message(
    number: hereby_core::types::IncidentNumber,
    incident: &Incident,
    cadence: &Cadence,
    now: Timestamp,
    link: Option<&str>,
) -> StateMessage {
    let mut lines: Vec<(String, String)> = Vec::new();
    let severity = format!(
        "{}{}",
        incident.severity,
        if incident.potential {
            " (potential)"
        } else {
            ""
        }
    );
    lines.push((
        format!("{number}: {}", incident.title),
        format!(
            "<strong>{number}: {}</strong>",
            escape(incident.title.as_str())
        ),
    ));
    let status = format!("Status: {} · Severity: {severity}", incident.status);
    lines.push((status.clone(), escape(&status)));
    let commander = match incident.commander() {
        Some(person) => person.to_string(),
        None => "nobody yet (inc accept, or take command on the web page)".to_owned(),
    };
    let commander = format!("Incident Commander: {commander}");
    lines.push((commander.clone(), escape(&commander)));
    for (role, holders) in &incident.roles {
        if role.as_str() == hereby_core::roles::INCIDENT_COMMANDER || holders.is_empty() {
            continue;
        }
        let names = holders
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        let line = format!("{}: {names}", role.as_str());
        lines.push((line.clone(), escape(&line)));
    }
    if let Some(pending) = &incident.pending_handoff {
        let line = format!("Asked to take command: {}", pending.to);
        lines.push((line.clone(), escape(&line)));
    }
    if incident.status.is_active()
        && let Some(due) = incident.next_update_due(cadence)
    {
        let line = format!(
            "Next stakeholder update due: {}{}",
            hereby_core::when::stamp(due, now),
            if due < now { " (overdue)" } else { "" }
        );
        lines.push((line.clone(), escape(&line)));
    }
    let open: Vec<_> = incident
        .action_items
        .values()
        .filter(|item| item.state == ActionState::Open)
        .collect();
    if !open.is_empty() {
        let line = format!("Open actions: {}", open.len());
        lines.push((line.clone(), escape(&line)));
        for item in open.iter().take(5) {
            let line = format!("  #{} {} ({})", item.item, item.text, item.owner);
            lines.push((line.clone(), escape(line.trim())));
        }
    }
    if let Some(link) = link {
        lines.push((
            link.to_owned(),
            format!("<a href=\"{0}\">{0}</a>", escape(link)),
        ));
    }
    StateMessage {
        plain: lines
            .iter()
            .map(|(plain, _)| plain.as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        html: lines
            .iter()
            .map(|(_, html)| html.as_str())
            .collect::<Vec<_>>()
            .join("<br>"),
    }
}

/// Text made safe to put in HTML.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// What chat owes one event, on each chat channel: a room for a new incident, the state
/// message brought up to date, and the entry as a line (a note copied from chat is not said
/// back to the room it came from).
pub fn plan(recorded: &RecordedEvent, channels: &[Channel]) -> Vec<NewDelivery> {
    let event_type = recorded.event.event_type();
    let body =
        serde_json::from_str(&recorded.event.canonical_body()).unwrap_or(serde_json::Value::Null);
    let sentence = crate::describe::sentence(event_type, &body, recorded.actor.as_str());
    let from_chat = matches!(&recorded.event, Event::NoteAdded(note) if note.text.as_str().starts_with(FROM_CHAT));
    let mut deliveries = Vec::new();
    for channel in channels
        .iter()
        .filter(|channel| is_chat_kind(&channel.kind))
    {
        let delivery = |suffix: &str, kind: &str, body: String| NewDelivery {
            key: format!("{}:c{}:{suffix}", recorded.position, channel.id),
            channel_id: channel.id,
            recipient: None,
            incident: Some(recorded.incident.0),
            kind: kind.to_owned(),
            subject: String::new(),
            body,
            payload: String::new(),
        };
        if matches!(recorded.event, Event::IncidentDeclared(_)) {
            deliveries.push(delivery("room", kind::ROOM, String::new()));
        } else {
            if !from_chat {
                deliveries.push(delivery("line", kind::LINE, sentence.clone()));
            }
            deliveries.push(delivery("state", kind::STATE, String::new()));
        }
    }
    deliveries
}

/// Who said something in chat, where.
#[derive(Debug, Clone)]
pub struct Said<'a> {
    /// The chat channel (connection) it came through.
    pub channel: &'a Channel,
    /// The platform's name of accounts (see [`ChatLink::platform`]).
    pub platform: &'a str,
    /// The platform's id of the person.
    pub sender: &'a str,
    /// The platform's id of the room.
    pub room: &'a str,
    /// The platform's id of the message (answers are keyed by it, so an answer is queued
    /// once however often the message is read).
    pub message: &'a str,
    /// Whether the room is one the team watches (the phrase offers to declare there).
    pub watched: bool,
    /// The phrase that offers to declare.
    pub phrase: &'a str,
    /// Copy every message of an incident room into its timeline.
    pub capture: bool,
    /// A slash command: the text is the command's arguments, without `inc`.
    pub slash: bool,
    /// Where the platform takes the answer to this message, when it has such an address
    /// (Slack's and Mattermost's `response_url`).
    pub response_url: Option<&'a str>,
}

/// What the room, the incident and the person are for one chat command.
#[derive(Debug, Clone)]
pub struct RoomFacts {
    pub incident: hereby_core::types::IncidentNumber,
    /// The readable name the room should have now.
    pub name: String,
    /// Only members may be in it.
    pub private: bool,
    /// Closed: the room is archived (read-only).
    pub closed: bool,
    /// The chat accounts of the incident's members, where linked.
    pub members: Vec<String>,
    pub message: StateMessage,
    /// What the state message offers to do now, on platforms with buttons.
    pub buttons: Vec<Button>,
}

/// A button under the state message: the chat command it runs, and its label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Button {
    /// The verb of [`grammar::Verb`] it runs on the incident, e.g. `accept`.
    pub verb: &'static str,
    pub label: &'static str,
}

impl<S: Store + Directory + Chat + Notifications> App<S> {
    /// A fresh one-time code that links a chat account to `actor`: shown once, kept as a
    /// digest, good for 15 minutes.
    pub async fn chat_link_code(&self, actor: &User) -> Result<(String, Timestamp), AppError> {
        require(actor, InstallationRole::Viewer)?;
        let mut bytes = [0u8; 8];
        getrandom::fill(&mut bytes)
            .map_err(|_| AppError::Internal("no randomness for a link code".to_owned()))?;
        // 40 bits in Crockford's base32 (no I, L, O, U): easy to read aloud and to type.
        const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
        let mut value = u64::from_le_bytes(bytes);
        let mut code = String::new();
        for n in 0..8 {
            if n == 4 {
                code.push('-');
            }
            code.push(char::from(ALPHABET[(value % 32) as usize]));
            value /= 32;
        }
        let expires = Timestamp::now()
            .checked_add(LINK_CODE_LIFETIME)
            .map_err(|_| AppError::Internal("a link code's expiry".to_owned()))?;
        self.store
            .put_link_code(&code_digest(&code), &actor.name, expires)
            .await?;
        Ok((code, expires))
    }

    /// Links a chat account to a user, as an admin.
    pub async fn link_chat_account(
        &self,
        actor: &User,
        platform: &str,
        chat_user: &str,
        user: &str,
    ) -> Result<ChatLink, AppError> {
        require(actor, InstallationRole::Admin)?;
        let platform = platform_name(platform)?;
        let chat_user = chat_account(chat_user)?;
        let user = UserName::parse(user)?;
        self.check_people(&[&user]).await?;
        let link = ChatLink {
            platform,
            chat_user,
            user,
            linked_at: Timestamp::now(),
            linked_by: actor.name.to_string(),
        };
        self.store.set_chat_link(&link).await?;
        Ok(link)
    }

    /// Unlinks a chat account: an admin any, a user their own.
    pub async fn unlink_chat_account(
        &self,
        actor: &User,
        platform: &str,
        chat_user: &str,
    ) -> Result<(), AppError> {
        require(actor, InstallationRole::Viewer)?;
        let found = self.store.chat_link(platform, chat_user).await?;
        match found {
            Some(link) if link.user == actor.name || actor.role == InstallationRole::Admin => {
                self.store.remove_chat_link(platform, chat_user).await?;
                Ok(())
            }
            _ => Err(AppError::not_found(format!(
                "a link of {platform} account `{chat_user}`"
            ))),
        }
    }

    /// The chat links `actor` may see: an admin every one, anyone else their own.
    pub async fn chat_links(&self, actor: &User) -> Result<Vec<ChatLink>, AppError> {
        require(actor, InstallationRole::Viewer)?;
        let links = self.store.chat_links().await?;
        Ok(links
            .into_iter()
            .filter(|link| actor.role == InstallationRole::Admin || link.user == actor.name)
            .collect())
    }

    /// The hereby user a chat account speaks for, if it is linked to an enabled one.
    async fn chat_user(&self, platform: &str, sender: &str) -> Result<Option<User>, AppError> {
        let Some(link) = self.store.chat_link(platform, sender).await? else {
            return Ok(None);
        };
        match self.store.user(&link.user).await {
            Ok(user) if !user.disabled => Ok(Some(user)),
            Ok(_) | Err(hereby_store::StoreError::UnknownUser(_)) => Ok(None),
            Err(error) => Err(error.into()),
        }
    }

    /// What the room of `incident` on `channel` should be now: its name, privacy, members'
    /// chat accounts and the state message.
    pub async fn chat_room_facts(
        &self,
        platform: &str,
        incident: hereby_core::types::IncidentNumber,
    ) -> Result<Option<RoomFacts>, AppError> {
        let loaded = self.store.load(incident).await?;
        let State::Declared(state) = loaded.state else {
            return Ok(None);
        };
        let links = self.store.chat_links().await?;
        // Disabled people are no longer invited (and are removed from private rooms).
        let disabled: std::collections::BTreeSet<UserName> = self
            .store
            .list_users()
            .await?
            .into_iter()
            .filter(|user| user.disabled)
            .map(|user| user.name)
            .collect();
        let members: Vec<String> = links
            .iter()
            .filter(|link| link.platform == platform && !disabled.contains(&link.user))
            .filter(|link| state.is_member(&link.user))
            .map(|link| link.chat_user.clone())
            .collect();
        let link = self
            .public_url
            .as_deref()
            .map(|base| format!("{}/incidents/{incident}", base.trim_end_matches('/')));
        let mut buttons = Vec::new();
        if state.pending_handoff.is_some() {
            buttons.push(Button {
                verb: "accept",
                label: "Accept command",
            });
        }
        if state.open_collisions().next().is_some() {
            buttons.push(Button {
                verb: "ack",
                label: "Acknowledge collision",
            });
        }
        Ok(Some(RoomFacts {
            buttons,
            incident,
            name: room_name(incident, state.title.as_str()),
            private: state.visibility == Visibility::Restricted,
            closed: state.status == Status::Closed,
            members,
            message: state_message(
                incident,
                &state,
                &self.cadence,
                Timestamp::now(),
                link.as_deref(),
            ),
        }))
    }

    /// Reminds the rooms of `channel` of what is overdue that no event announces: roles of a
    /// SEV1 or SEV2 still unstaffed after the grace period (once per incident and set of
    /// roles; the stakeholder-update reminders are timeline notes, so they reach the rooms as
    /// lines already). Queued in the outbox; the number queued.
    pub async fn chat_reminders(&self, channel: &Channel) -> Result<u64, AppError> {
        let now = Timestamp::now();
        let mut deliveries = Vec::new();
        for room in self.store.open_chat_rooms(channel.id).await? {
            let incident = hereby_core::types::IncidentNumber(room.incident);
            let State::Declared(state) = self.store.load(incident).await?.state else {
                continue;
            };
            let unstaffed = hereby_core::changes::unstaffed_roles(&state, &self.policy, now);
            if unstaffed.is_empty() {
                continue;
            }
            let roles: Vec<&str> = unstaffed.iter().map(|role| role.as_str()).collect();
            deliveries.push(NewDelivery {
                key: format!("chat:c{}:{}:unstaffed:{}", channel.id, room.incident, roles.join(",")),
                channel_id: channel.id,
                recipient: None,
                incident: Some(room.incident),
                kind: kind::LINE.to_owned(),
                subject: String::new(),
                body: format!(
                    "Reminder: {incident} ({}) still has nobody in {}. Take it with `inc role {} <person>`.",
                    state.severity,
                    roles.join(" or "),
                    roles[0]
                ),
                payload: String::new(),
            });
        }
        if deliveries.is_empty() {
            return Ok(0);
        }
        let queued = self.store.enqueue(&deliveries, now).await?;
        if queued > 0 {
            self.outbox.wake();
        }
        Ok(queued)
    }

    /// Handles a message said in chat: runs it if it is a command (as the linked person),
    /// offers to declare on the phrase in a watched room, copies it into the timeline where
    /// the room captures everything. Answers are queued in the outbox; what was done is on
    /// the incident's timeline (and so, as a line, in its room).
    pub async fn chat_said(&self, said: &Said<'_>, text: &str) -> Result<(), AppError> {
        let answers = match grammar::parse(text, !said.slash) {
            Parsed::NotACommand => self.chat_talk(said, text).await?,
            Parsed::Answer(answer) => vec![Answer::Room(answer)],
            Parsed::Command(line) => self.chat_command(said, line).await?,
        };
        self.queue_answers(said, answers).await
    }

    /// Copies a message of an incident room into its timeline, as its author where the
    /// author's account is linked, else as the person who asked for it with the author
    /// named: one click for the scribe.
    pub async fn chat_quote(
        &self,
        said: &Said<'_>,
        author: &str,
        quoted: &str,
        at: Timestamp,
    ) -> Result<(), AppError> {
        let Some(room) = self.store.chat_room_at(said.channel.id, said.room).await? else {
            return Ok(());
        };
        let incident = hereby_core::types::IncidentNumber(room.incident);
        let answers = match self.chat_user(said.platform, said.sender).await? {
            None => vec![self.how_to_link()],
            Some(asker) => {
                // The person who asks must be able to write on the incident themselves.
                if let Err(error) = require(&asker, InstallationRole::Responder) {
                    return self
                        .queue_answers(said, vec![Answer::Private(refusal(&error))])
                        .await;
                }
                if let Err(error) = self.visible(&asker, incident).await {
                    return self
                        .queue_answers(said, vec![Answer::Private(refusal(&error))])
                        .await;
                }
                let author_user = self.chat_user(said.platform, author).await?;
                let (actor, text) = match author_user {
                    Some(user) => (
                        user,
                        format!("{FROM_CHAT}{quoted} ({})", hereby_core::when::clock(at)),
                    ),
                    None => (
                        asker,
                        format!(
                            "{FROM_CHAT}{author} said: {quoted} ({})",
                            hereby_core::when::clock(at)
                        ),
                    ),
                };
                match self.chat_note(&actor, incident, &text).await {
                    Ok(()) => Vec::new(),
                    Err(error) => vec![Answer::Private(refusal(&error))],
                }
            }
        };
        self.queue_answers(said, answers).await
    }

    async fn chat_note(
        &self,
        actor: &User,
        incident: hereby_core::types::IncidentNumber,
        text: &str,
    ) -> Result<(), AppError> {
        let text: String = text.chars().take(4_000).collect();
        let command = Command::try_from(api::NoteRequest { text }).map_err(AppError::from)?;
        self.act(actor, incident, None, command).await?;
        Ok(())
    }

    /// Ordinary talk: the phrase in a watched room offers to declare; in an incident room
    /// that captures everything, a linked person's message goes on the timeline.
    async fn chat_talk(&self, said: &Said<'_>, text: &str) -> Result<Vec<Answer>, AppError> {
        if said.watched
            && !said.phrase.is_empty()
            && text.to_lowercase().contains(&said.phrase.to_lowercase())
        {
            let title = offered_title(text, said.phrase);
            self.chat_offers.put(
                (
                    said.channel.id,
                    said.room.to_owned(),
                    said.sender.to_owned(),
                ),
                title.clone(),
            );
            return Ok(vec![Answer::Room(format!(
                "Declare an incident \"{title}\"? Answer `inc yes` within 10 minutes (SEV3; you \
                 become Incident Commander and it gets a room of its own), or \
                 `inc declare <what is happening> --sev <1-4>` for another title or severity."
            ))]);
        }
        if said.capture
            && let Some(room) = self.store.chat_room_at(said.channel.id, said.room).await?
            && let Some(user) = self.chat_user(said.platform, said.sender).await?
        {
            let incident = hereby_core::types::IncidentNumber(room.incident);
            let text = format!("{FROM_CHAT}{text}");
            if let Err(error) = self.chat_note(&user, incident, &text).await {
                tracing::debug!(%error, "a captured chat message was not noted");
            }
        }
        Ok(Vec::new())
    }

    async fn chat_command(&self, said: &Said<'_>, line: Line) -> Result<Vec<Answer>, AppError> {
        if let Verb::Link { code } = &line.verb {
            let digest = code_digest(&normal_code(code));
            return Ok(
                match self
                    .store
                    .redeem_link_code(&digest, said.platform, said.sender, Timestamp::now())
                    .await?
                {
                    Some(user) => vec![Answer::Private(format!(
                        "Linked: what you do here is done as {user} in hereby."
                    ))],
                    None => vec![Answer::Private(
                        "That code is unknown or expired. Get a new one on your hereby page \
                         (Account → Chat) or with `hereby chat code`."
                            .to_owned(),
                    )],
                },
            );
        }
        let Some(actor) = self.chat_user(said.platform, said.sender).await? else {
            return Ok(vec![self.how_to_link()]);
        };
        // `inc yes` answers the offer to declare made to this person in this room.
        let line = match line.verb {
            Verb::Yes => {
                let key = (
                    said.channel.id,
                    said.room.to_owned(),
                    said.sender.to_owned(),
                );
                match self.chat_offers.take(&key) {
                    Some(title) => Line {
                        incident: None,
                        verb: Verb::Declare {
                            sev: None,
                            services: Vec::new(),
                            restricted: false,
                            title: vec![title],
                        },
                    },
                    None => {
                        return Ok(vec![Answer::Private(
                            "There is no offer to declare waiting for you here (offers last 10 \
                             minutes); declare with `inc declare <what is happening>`."
                                .to_owned(),
                        )]);
                    }
                }
            }
            _ => line,
        };
        let room = self.store.chat_room_at(said.channel.id, said.room).await?;
        let incident = match (&line.incident, &room) {
            (Some(raw), _) => match hereby_core::types::IncidentNumber::parse(raw) {
                Ok(number) => Some(number),
                Err(_) => {
                    return Ok(vec![Answer::Room(format!(
                        "`{raw}` is not an incident id like INC-7"
                    ))]);
                }
            },
            (None, Some(room)) => Some(hereby_core::types::IncidentNumber(room.incident)),
            (None, None) => None,
        };
        let in_its_room = room.as_ref().map(|room| room.incident) == incident.map(|n| n.0);
        // What is said of a restricted incident outside its own (private) room goes to the
        // person alone: the room it was asked in may hold anyone.
        let answer = |restricted: bool, text: String| {
            if restricted && !in_its_room {
                Answer::Private(text)
            } else {
                Answer::Room(text)
            }
        };
        match self
            .run_chat_verb(said.platform, &actor, incident, line.verb)
            .await
        {
            Ok(Done::Said { text, restricted }) => Ok(vec![answer(restricted, text)]),
            Ok(Done::Recorded(outcome)) if !in_its_room => {
                let restricted = matches!(&outcome.state, State::Declared(state)
                    if state.visibility == Visibility::Restricted);
                let said = outcome
                    .events
                    .iter()
                    .map(|event| {
                        let body = serde_json::from_str(&event.event.canonical_body())
                            .unwrap_or(serde_json::Value::Null);
                        crate::describe::sentence(
                            event.event.event_type(),
                            &body,
                            event.actor.as_str(),
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n");
                Ok(vec![answer(
                    restricted,
                    format!("{}: {said}", outcome.incident),
                )])
            }
            // In the incident's own room the timeline line says it.
            Ok(Done::Recorded(_)) => Ok(Vec::new()),
            // A refusal names nothing the asker may not see (not found is not found), but it
            // is theirs alone.
            Err(error) => Ok(vec![answer(true, refusal(&error))]),
        }
    }

    async fn run_chat_verb(
        &self,
        platform: &str,
        actor: &User,
        incident: Option<hereby_core::types::IncidentNumber>,
        verb: Verb,
    ) -> Result<Done, AppError> {
        if let Verb::Declare {
            sev,
            services,
            restricted,
            title,
        } = verb
        {
            let request = api::DeclareRequest {
                title: title.join(" "),
                summary: None,
                public_summary: None,
                severity: sev.as_deref().map(grammar::severity_word),
                potential: false,
                services,
                visibility: restricted.then(|| "restricted".to_owned()),
            };
            let command = Command::try_from(request).map_err(AppError::from)?;
            let outcome = self.declare(actor, command).await?;
            return Ok(Done::Said {
                text: format!(
                    "Declared {}: you are Incident Commander. Its room is on its way; its \
                     members are invited as their chat accounts are linked.",
                    outcome.incident
                ),
                restricted,
            });
        }
        let Some(incident) = incident else {
            return Err(AppError::Invalid(InvalidValue::new(
                "incident",
                "this room belongs to no incident: name one with --incident INC-7",
            )));
        };
        let person = |raw: &str| -> String { raw.trim_start_matches('@').to_owned() };
        let command = match verb {
            Verb::Pin => {
                return Ok(Done::Said {
                    text: "To copy a message into the timeline, reply to it with `inc pin`, or \
                           react to it with 📌."
                        .to_owned(),
                    restricted: false,
                });
            }
            Verb::Declare { .. } | Verb::Link { .. } | Verb::Yes => {
                return Err(AppError::Internal("handled above".to_owned()));
            }
            Verb::Show => {
                let loaded = self.visible(actor, incident).await?;
                let State::Declared(state) = loaded.state else {
                    return Err(AppError::not_found(incident));
                };
                let message =
                    state_message(incident, &state, &self.cadence, Timestamp::now(), None);
                return Ok(Done::Said {
                    text: message.plain,
                    restricted: state.visibility == Visibility::Restricted,
                });
            }
            Verb::Note { text } => Command::try_from(api::NoteRequest {
                text: text.join(" "),
            }),
            Verb::Role { role, person: who } => Command::try_from(api::RoleRequest {
                role,
                person: self
                    .chat_person(platform, &who)
                    .await?
                    .unwrap_or_else(|| person(&who)),
            }),
            Verb::Handoff { to } => Command::try_from(api::HandoffRequest {
                to: self
                    .chat_person(platform, &to)
                    .await?
                    .unwrap_or_else(|| person(&to)),
            }),
            Verb::Accept => Ok(Command::AcceptHandoff),
            Verb::Ack => Ok(Command::AcknowledgeChanges),
            Verb::Update {
                audience,
                public,
                text,
            } => Command::try_from(api::UpdateRequest {
                audience,
                body: text.join(" "),
                public,
                quiet: false,
            }),
            Verb::Severity {
                severity,
                reason,
                because,
            } => Command::try_from(api::SeverityRequest {
                severity: grammar::severity_word(&severity),
                potential: None,
                reason: reason.unwrap_or_else(|| because.join(" ")),
            }),
            Verb::Status {
                status,
                reason,
                because,
            } => Command::try_from(api::StatusRequest {
                status: status.to_lowercase(),
                reason: reason.or_else(|| (!because.is_empty()).then(|| because.join(" "))),
                override_close_checks: false,
            }),
            Verb::Resolve { because } => api::ReasonRequest {
                reason: (!because.is_empty()).then(|| because.join(" ")),
            }
            .change_status(Status::Resolved),
        }
        .map_err(AppError::from)?;
        Ok(Done::Recorded(
            self.act(actor, incident, None, command).await?,
        ))
    }

    /// The hereby user a chat mention names, when it is a linked chat account
    /// (`@anna:example.org`).
    async fn chat_person(&self, platform: &str, raw: &str) -> Result<Option<String>, AppError> {
        // Slack writes a mention as <@U123> or <@U123|name>.
        let raw = raw
            .strip_prefix("<@")
            .and_then(|rest| rest.strip_suffix('>'))
            .map(|inner| inner.split('|').next().unwrap_or(inner))
            .unwrap_or(raw);
        Ok(self
            .store
            .chat_link(platform, raw)
            .await?
            .map(|link| link.user.to_string()))
    }

    fn how_to_link(&self) -> Answer {
        let page = match &self.public_url {
            Some(base) => format!("{}/account", base.trim_end_matches('/')),
            None => "your hereby account page".to_owned(),
        };
        Answer::Private(format!(
            "Your chat account is not linked to a hereby user yet, so nothing was done. Get a \
             code on {page} (or run `hereby chat code`), then send `inc link <code>` here."
        ))
    }

    async fn queue_answers(&self, said: &Said<'_>, answers: Vec<Answer>) -> Result<(), AppError> {
        if answers.is_empty() {
            return Ok(());
        }
        let deliveries: Vec<NewDelivery> = answers
            .into_iter()
            .enumerate()
            .map(|(n, answer)| {
                let (kind, recipient, body) = match answer {
                    Answer::Room(body) => (kind::REPLY, said.room.to_owned(), body),
                    Answer::Private(body) => (kind::PRIVATE, said.sender.to_owned(), body),
                };
                NewDelivery {
                    key: format!("chat:c{}:{}:{n}", said.channel.id, said.message),
                    channel_id: said.channel.id,
                    recipient: Some(recipient),
                    incident: None,
                    kind: kind.to_owned(),
                    subject: said.message.to_owned(),
                    body,
                    payload: serde_json::json!({
                        "room": said.room,
                        "response_url": said.response_url,
                    })
                    .to_string(),
                }
            })
            .collect();
        self.store.enqueue(&deliveries, Timestamp::now()).await?;
        self.outbox.wake();
        Ok(())
    }
}

/// What a chat command did.
enum Done {
    /// Nothing recorded; this is the answer, about a restricted incident or not.
    Said { text: String, restricted: bool },
    /// Recorded on the incident.
    Recorded(hereby_store::Outcome),
}

/// An answer to something said in chat.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Answer {
    /// In the room, for everyone there.
    Room(String),
    /// To the person alone.
    Private(String),
}

/// A refusal in chat's words: the same sentence the API and CLI give.
fn refusal(error: &AppError) -> String {
    match error {
        AppError::Store(_) | AppError::Internal(_) => {
            "Something went wrong on hereby's side; nothing was recorded. Try again, or use \
             the web page."
                .to_owned()
        }
        other => format!("Not done: {other}"),
    }
}

fn code_digest(code: &str) -> Vec<u8> {
    Sha256::digest(code.as_bytes()).to_vec()
}

/// A link code as typed, read as it was shown: case and the hyphen do not matter, and the
/// letters people mistake for digits are the digits (Crockford's base32).
fn normal_code(raw: &str) -> String {
    let symbols: String = raw
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            c => c,
        })
        .collect();
    if symbols.len() == 8 {
        format!("{}-{}", &symbols[..4], &symbols[4..])
    } else {
        symbols
    }
}

fn platform_name(raw: &str) -> Result<String, InvalidValue> {
    let raw = raw.trim();
    if raw.is_empty()
        || raw.len() > 64
        || !raw
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '-' | '_' | '.'))
    {
        return Err(InvalidValue::new(
            "platform",
            format!("`{raw}` is not a chat platform like matrix"),
        ));
    }
    // The platform's word is case-blind; a workspace id after it is the platform's own.
    Ok(match raw.split_once(':') {
        Some((platform, workspace)) => format!("{}:{workspace}", platform.to_lowercase()),
        None => raw.to_lowercase(),
    })
}

fn chat_account(raw: &str) -> Result<String, InvalidValue> {
    let raw = raw.trim();
    if raw.is_empty() || raw.len() > 255 || raw.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(InvalidValue::new(
            "chat_user",
            format!("`{raw}` is not a chat account id (e.g. @anna:example.org)"),
        ));
    }
    Ok(raw.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hereby_core::types::IncidentNumber;

    #[test]
    fn room_names_are_readable_short_and_safe() {
        assert_eq!(
            room_name(IncidentNumber(42), "Checkout is DEAD!"),
            "inc-42-checkout-is-dead"
        );
        assert_eq!(
            room_name(IncidentNumber(7), "Ünïcode & émoji 🔥"),
            "inc-7-n-code-moji"
        );
        let long = room_name(
            IncidentNumber(1),
            "a very long title that goes on and on about the database being slow again today",
        );
        assert!(long.len() <= ROOM_NAME_MAX, "{long}");
        assert!(!long.ends_with('-'));
        assert_eq!(room_name(IncidentNumber(3), "   "), "inc-3");
        let taken = room_name_after_collision(&long, 1);
        assert!(
            taken.len() <= ROOM_NAME_MAX && taken.ends_with("-2"),
            "{taken}"
        );
    }

    #[test]
    fn an_offered_title_is_what_was_said_besides_the_phrase() {
        let phrase = "I hereby declare this an incident";
        assert_eq!(
            offered_title(
                "Checkout is down. I hereby declare this an incident!",
                phrase
            ),
            "Checkout is down"
        );
        assert_eq!(
            offered_title("i HEREBY declare this an incident", phrase),
            "Declared from chat"
        );
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            escape("<b>\"x\" & 'y'</b>"),
            "&lt;b&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/b&gt;"
        );
    }
}
