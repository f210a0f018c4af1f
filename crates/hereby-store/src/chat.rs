//! Chat as the store keeps it: chat accounts linked to hereby users (and the one-time codes
//! that link them), the room a chat channel keeps per incident with its pinned state message,
//! direct rooms for private answers, and what a pull transport has read (its position, and
//! the events it handled, so that a restart runs no command twice).

use std::future::Future;

use hereby_core::types::UserName;
use jiff::Timestamp;

use crate::StoreError;

/// A chat account linked to a hereby user: what that account says in chat is said by them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatLink {
    /// `matrix`, or `slack:<team>` where accounts are per workspace.
    pub platform: String,
    /// The platform's own id of the account, e.g. `@anna:example.org`.
    pub chat_user: String,
    pub user: UserName,
    pub linked_at: Timestamp,
    /// Who made the link: the user (by a code) or an admin.
    pub linked_by: String,
}

/// The room a chat channel keeps for an incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatRoom {
    pub channel_id: i64,
    pub incident: u64,
    /// The platform's id of the room.
    pub room: String,
    /// Its readable name, e.g. `inc-42-checkout-dead`.
    pub name: String,
    /// Only invited members may join.
    pub private: bool,
    /// The pinned message holding the state document, once posted.
    pub state_message: Option<String>,
    /// The chat accounts invited so far.
    pub invited: Vec<String>,
    /// Read-only since the incident closed.
    pub archived: bool,
    pub created_at: Timestamp,
}

/// What chat needs the store to keep.
pub trait Chat: Send + Sync {
    /// Keeps a one-time link code (by its digest) for `user` until `expires`.
    fn put_link_code(
        &self,
        digest: &[u8],
        user: &UserName,
        expires: Timestamp,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Uses a link code: if it is known and not expired at `at`, it is spent and the chat
    /// account is linked to its user (replacing an earlier link of that account), in one
    /// transaction. The user, or `None` for an unknown or expired code.
    fn redeem_link_code(
        &self,
        digest: &[u8],
        platform: &str,
        chat_user: &str,
        at: Timestamp,
    ) -> impl Future<Output = Result<Option<UserName>, StoreError>> + Send;

    /// Links a chat account, replacing an earlier link of it.
    fn set_chat_link(&self, link: &ChatLink)
    -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Unlinks a chat account; `false` if it was not linked.
    fn remove_chat_link(
        &self,
        platform: &str,
        chat_user: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Every link, by platform and account.
    fn chat_links(&self) -> impl Future<Output = Result<Vec<ChatLink>, StoreError>> + Send;

    /// The hereby user a chat account is linked to.
    fn chat_link(
        &self,
        platform: &str,
        chat_user: &str,
    ) -> impl Future<Output = Result<Option<ChatLink>, StoreError>> + Send;

    /// The room of `channel` for `incident`.
    fn chat_room(
        &self,
        channel: i64,
        incident: u64,
    ) -> impl Future<Output = Result<Option<ChatRoom>, StoreError>> + Send;

    /// The rooms of `channel` not archived yet, oldest first.
    fn open_chat_rooms(
        &self,
        channel: i64,
    ) -> impl Future<Output = Result<Vec<ChatRoom>, StoreError>> + Send;

    /// The incident room of `channel` with the platform's room id `room`.
    fn chat_room_at(
        &self,
        channel: i64,
        room: &str,
    ) -> impl Future<Output = Result<Option<ChatRoom>, StoreError>> + Send;

    /// Records a room or what changed of it.
    fn put_chat_room(&self, room: &ChatRoom)
    -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The direct room of `channel` with a chat account, for private answers.
    fn direct_room(
        &self,
        channel: i64,
        chat_user: &str,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;

    fn put_direct_room(
        &self,
        channel: i64,
        chat_user: &str,
        room: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Notes that `channel` handled the platform's event `event_id`: `true` the first time,
    /// `false` when it was handled before (a transport reading it again after a restart).
    fn first_sight(
        &self,
        channel: i64,
        event_id: &str,
        at: Timestamp,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Where a pull transport of `channel` reads on from.
    fn chat_cursor(
        &self,
        channel: i64,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;

    fn set_chat_cursor(
        &self,
        channel: i64,
        position: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Takes or renews the lease on running `channel`'s adapter for `holder` (a node) until
    /// `until`: `true` if `holder` holds it now (it was free, expired at `now`, or its own).
    fn take_chat_lease(
        &self,
        channel: i64,
        holder: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The newest delivery of `kind` queued on `channel` for `incident`.
    fn newest_delivery(
        &self,
        channel: i64,
        incident: u64,
        kind: &str,
    ) -> impl Future<Output = Result<Option<i64>, StoreError>> + Send;

    /// Marks the pending deliveries of `kind` on `channel` for `incident` up to the id
    /// `up_to` as delivered: a newer one already did their work (an edit of the state message
    /// shows the whole state, so earlier edits waiting behind it have nothing left to say).
    fn settle_deliveries(
        &self,
        channel: i64,
        incident: u64,
        kind: &str,
        up_to: i64,
        at: Timestamp,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
}
