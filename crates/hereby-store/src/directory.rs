//! Users and API tokens: who may use the installation, and with which role.
//!
//! Tokens are random secrets shown once; only their SHA-256 digest is stored, so a copy of
//! the database does not let anyone sign in. (A digest suffices because tokens carry 256 bits
//! of randomness; passwords, which do not, are another matter.)

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

/// The users and tokens of an installation. Every write is durable when it returns.
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

    /// Changes a user's role or disabled flag and returns the user as it is now.
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
}
