//! Users and API tokens: who may use the installation, and with which role.
//!
//! Tokens are random secrets shown once; only their SHA-256 digest is stored, so a copy of
//! the database does not let anyone sign in. (A digest suffices because tokens carry 256 bits
//! of randomness; passwords, which do not, are another matter: the store keeps the slow,
//! salted hash the server made, never a password.) Web sessions and one-time setup links are
//! random secrets like tokens and are stored the same way, by digest.

use std::future::Future;

use hereby_core::types::{InstallationRole, UserName};
use jiff::Timestamp;

use crate::StoreError;

/// A user of the installation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: UserName,
    pub role: InstallationRole,
    /// A disabled user keeps their history but can no longer sign in or use tokens.
    pub disabled: bool,
    pub created_at: Timestamp,
}

/// An API token's record; the secret itself is never stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub id: i64,
    pub user: UserName,
    /// What the token is for, e.g. `laptop` or `ci`.
    pub label: String,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

/// A change to a user; absent fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserChange {
    pub role: Option<InstallationRole>,
    pub disabled: Option<bool>,
}

/// The users, tokens, passwords, web sessions and setup links of an installation. Every write
/// is durable when it returns.
pub trait Directory: Clone + Send + Sync + 'static {
    /// How many users exist (zero means the installation still needs its first admin).
    fn count_users(&self) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Creates a user; [`StoreError::UserExists`] if the name is taken.
    fn create_user(
        &self,
        name: &UserName,
        role: InstallationRole,
        at: Timestamp,
    ) -> impl Future<Output = Result<User, StoreError>> + Send;

    /// Creates the first admin and their token in one transaction, only if there is no user
    /// yet: two servers starting at once on an empty database cannot both create one.
    /// `Ok(None)` if some user already exists.
    fn create_first_admin(
        &self,
        name: &UserName,
        token_label: &str,
        token_hash: [u8; 32],
        at: Timestamp,
    ) -> impl Future<Output = Result<Option<(User, TokenRecord)>, StoreError>> + Send;

    /// One user by name; [`StoreError::UnknownUser`] if there is none.
    fn user(&self, name: &UserName) -> impl Future<Output = Result<User, StoreError>> + Send;

    /// All users, by name.
    fn list_users(&self) -> impl Future<Output = Result<Vec<User>, StoreError>> + Send;

    /// Changes a user's role or disabled flag and returns the user as it is now. Disabling a
    /// user also ends their web sessions.
    fn update_user(
        &self,
        name: &UserName,
        change: UserChange,
    ) -> impl Future<Output = Result<User, StoreError>> + Send;

    /// Stores a new token's digest for `user`.
    fn create_token(
        &self,
        user: &UserName,
        label: &str,
        token_hash: [u8; 32],
        at: Timestamp,
    ) -> impl Future<Output = Result<TokenRecord, StoreError>> + Send;

    /// Revokes a token (idempotent: revoking again keeps the first revocation time).
    fn revoke_token(
        &self,
        id: i64,
        at: Timestamp,
    ) -> impl Future<Output = Result<TokenRecord, StoreError>> + Send;

    /// Tokens, all or one user's, newest first.
    fn list_tokens(
        &self,
        user: Option<&UserName>,
    ) -> impl Future<Output = Result<Vec<TokenRecord>, StoreError>> + Send;

    /// The user a token digest belongs to, if the token is not revoked and the user is not
    /// disabled.
    fn authenticate(
        &self,
        token_hash: [u8; 32],
    ) -> impl Future<Output = Result<Option<User>, StoreError>> + Send;

    /// The user's password hash (argon2id PHC string), `None` when they have none.
    /// [`StoreError::UnknownUser`] if there is no such user.
    fn password_hash(
        &self,
        name: &UserName,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;

    /// Sets or replaces a user's password hash and ends all their web sessions, in one
    /// transaction. [`StoreError::UnknownUser`] if there is no such user.
    fn set_password_hash(
        &self,
        name: &UserName,
        phc: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Whether any user has a password yet.
    fn any_password_set(&self) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Stores a web session (only the digest of its secret) for `user`, valid until
    /// `expires_at`. Also deletes the sessions that expired by `at`.
    /// [`StoreError::UnknownUser`] if there is no such user.
    fn create_web_session(
        &self,
        digest: [u8; 32],
        user: &UserName,
        at: Timestamp,
        expires_at: Timestamp,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The user of a session that has not expired at `now`, if the user is not disabled.
    fn web_session_user(
        &self,
        digest: [u8; 32],
        now: Timestamp,
    ) -> impl Future<Output = Result<Option<User>, StoreError>> + Send;

    /// Ends a session (idempotent).
    fn delete_web_session(
        &self,
        digest: [u8; 32],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Stores a one-time setup link for `user` (only the digest of its secret), valid until
    /// `expires_at`. Also deletes the links that expired by `at`.
    /// [`StoreError::UnknownUser`] if there is no such user.
    fn create_setup_link(
        &self,
        digest: [u8; 32],
        user: &UserName,
        at: Timestamp,
        expires_at: Timestamp,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The (not disabled) user a setup link that is still valid at `now` belongs to.
    fn setup_link_user(
        &self,
        digest: [u8; 32],
        now: Timestamp,
    ) -> impl Future<Output = Result<Option<User>, StoreError>> + Send;

    /// Redeems a link in one transaction: if it is valid at `now` and its user is not
    /// disabled, sets the user's password hash, deletes every setup link and every web
    /// session of that user, and returns the user; `None` (and no change) otherwise. Of two
    /// concurrent redemptions of one link exactly one succeeds.
    fn redeem_setup_link(
        &self,
        digest: [u8; 32],
        phc: &str,
        now: Timestamp,
    ) -> impl Future<Output = Result<Option<User>, StoreError>> + Send;
}
