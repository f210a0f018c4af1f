//! The [`Directory`](crate::Directory) of a SQL backend, the same for SQLite and PostgreSQL.
//!
//! Like [`sql_backend_common!`](crate::sql_backend_common), which expands this macro, it is
//! written once with `$1`-style placeholders. Reads use the store's `readers`; writes use its
//! `write_pool`. On SQLite that is the writer's single connection, so a directory write waits
//! its turn between group commits; on PostgreSQL any connection may write.
//!
//! A write transaction here always starts with a write: SQLite then takes its write lock at
//! the first statement (waiting its busy timeout for another process), instead of failing
//! when a transaction that began by reading tries to write; and on PostgreSQL the first
//! statement locks the rows the rest of the transaction depends on (a setup link being
//! redeemed, the user whose password changes).

/// Expands the shared [`Directory`](crate::Directory) implementation. Expanded by
/// `sql_backend_common!`, whose helpers (`db`, `int`) it uses. `begin_users_exclusive` starts
/// a transaction in which no other transaction can add a user until it ends: it makes
/// `create_first_admin` atomic across connections, processes and server nodes.
#[doc(hidden)]
#[macro_export]
macro_rules! sql_directory_common {
    (
        store: $store:ty,
        database: $database:ty,
        row: $row:ty,
        begin_users_exclusive: $begin_users_exclusive:literal $(,)?
    ) => {
        /// A `users` row.
        fn user_row(row: &$row) -> Result<hereby_store::User, hereby_store::StoreError> {
            use sqlx::Row as _;
            let name: String = row.try_get("name").map_err(db)?;
            let corrupt = |problem: String| {
                hereby_store::StoreError::Corrupt(format!("user {name}: {problem}"))
            };
            let role: String = row.try_get("role").map_err(db)?;
            Ok(hereby_store::User {
                name: hereby_core::types::UserName::parse(&name)
                    .map_err(|e| corrupt(e.to_string()))?,
                role: hereby_core::types::InstallationRole::parse(&role)
                    .map_err(|e| corrupt(e.to_string()))?,
                disabled: row.try_get("disabled").map_err(db)?,
                created_at: hereby_store::prepare::timestamp(
                    row.try_get("created_at").map_err(db)?,
                )?,
            })
        }

        /// An `api_tokens` row.
        fn token_row(row: &$row) -> Result<hereby_store::TokenRecord, hereby_store::StoreError> {
            use sqlx::Row as _;
            let id: i64 = row.try_get("id").map_err(db)?;
            let user: String = row.try_get("user_name").map_err(db)?;
            let revoked_at: Option<i64> = row.try_get("revoked_at").map_err(db)?;
            Ok(hereby_store::TokenRecord {
                id,
                user: hereby_core::types::UserName::parse(&user)
                    .map_err(|e| hereby_store::StoreError::Corrupt(format!("token {id}: {e}")))?,
                label: row.try_get("label").map_err(db)?,
                created_at: hereby_store::prepare::timestamp(
                    row.try_get("created_at").map_err(db)?,
                )?,
                revoked_at: revoked_at
                    .map(hereby_store::prepare::timestamp)
                    .transpose()?,
            })
        }

        /// Inserts a user; a taken name is [`StoreError::UserExists`](hereby_store::StoreError).
        async fn insert_user(
            conn: &mut <$database as sqlx::Database>::Connection,
            name: &hereby_core::types::UserName,
            role: hereby_core::types::InstallationRole,
            at: jiff::Timestamp,
        ) -> Result<hereby_store::User, hereby_store::StoreError> {
            let row = sqlx::query(
                "INSERT INTO users (name, role, disabled, created_at) VALUES ($1, $2, $3, $4) \
                 RETURNING name, role, disabled, created_at",
            )
            .bind(name.as_str())
            .bind(role.as_str())
            .bind(false)
            .bind(at.as_microsecond())
            .fetch_one(&mut *conn)
            .await
            .map_err(|error| match &error {
                sqlx::Error::Database(e) if e.is_unique_violation() => {
                    hereby_store::StoreError::UserExists(name.clone())
                }
                _ => db(error),
            })?;
            user_row(&row)
        }

        /// Inserts a web session's or setup link's digest into `table` (`web_sessions` or
        /// `setup_links`, fixed by the caller), deleting the rows of that table that expired
        /// by `at` first. An unknown user is
        /// [`StoreError::UnknownUser`](hereby_store::StoreError).
        async fn insert_expiring(
            pool: &sqlx::Pool<$database>,
            table: Expiring,
            digest: [u8; 32],
            user: &hereby_core::types::UserName,
            at: jiff::Timestamp,
            expires_at: jiff::Timestamp,
        ) -> Result<(), hereby_store::StoreError> {
            let (delete_expired, insert) = match table {
                Expiring::WebSessions => (
                    "DELETE FROM web_sessions WHERE expires_at <= $1",
                    "INSERT INTO web_sessions (digest, user_name, created_at, expires_at) \
                     VALUES ($1, $2, $3, $4)",
                ),
                Expiring::SetupLinks => (
                    "DELETE FROM setup_links WHERE expires_at <= $1",
                    "INSERT INTO setup_links (digest, user_name, created_at, expires_at) \
                     VALUES ($1, $2, $3, $4)",
                ),
            };
            let mut tx = pool.begin().await.map_err(db)?;
            sqlx::query(delete_expired)
                .bind(at.as_microsecond())
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            sqlx::query(insert)
                .bind(digest.as_slice())
                .bind(user.as_str())
                .bind(at.as_microsecond())
                .bind(expires_at.as_microsecond())
                .execute(&mut *tx)
                .await
                .map_err(|error| match &error {
                    sqlx::Error::Database(e) if e.is_foreign_key_violation() => {
                        hereby_store::StoreError::UnknownUser(user.clone())
                    }
                    sqlx::Error::Database(e) if e.is_unique_violation() => {
                        hereby_store::StoreError::Invalid("this secret is stored already".into())
                    }
                    _ => db(error),
                })?;
            tx.commit().await.map_err(db)
        }

        /// The tables of secrets that expire, for [`insert_expiring`].
        #[derive(Clone, Copy)]
        enum Expiring {
            WebSessions,
            SetupLinks,
        }

        /// Ends every web session of `user`, inside the caller's transaction.
        async fn end_web_sessions(
            conn: &mut <$database as sqlx::Database>::Connection,
            user: &str,
        ) -> Result<(), hereby_store::StoreError> {
            sqlx::query("DELETE FROM web_sessions WHERE user_name = $1")
                .bind(user)
                .execute(&mut *conn)
                .await
                .map_err(db)?;
            Ok(())
        }

        /// Inserts a token's digest; an unknown user is
        /// [`StoreError::UnknownUser`](hereby_store::StoreError).
        async fn insert_token(
            conn: &mut <$database as sqlx::Database>::Connection,
            user: &hereby_core::types::UserName,
            label: &str,
            token_hash: [u8; 32],
            at: jiff::Timestamp,
        ) -> Result<hereby_store::TokenRecord, hereby_store::StoreError> {
            let row = sqlx::query(
                "INSERT INTO api_tokens (user_name, label, token_hash, created_at) \
                 VALUES ($1, $2, $3, $4) \
                 RETURNING id, user_name, label, created_at, revoked_at",
            )
            .bind(user.as_str())
            .bind(label)
            .bind(token_hash.as_slice())
            .bind(at.as_microsecond())
            .fetch_one(&mut *conn)
            .await
            .map_err(|error| match &error {
                sqlx::Error::Database(e) if e.is_foreign_key_violation() => {
                    hereby_store::StoreError::UnknownUser(user.clone())
                }
                sqlx::Error::Database(e) if e.is_unique_violation() => {
                    hereby_store::StoreError::Invalid("this token is stored already".into())
                }
                _ => db(error),
            })?;
            token_row(&row)
        }

        impl hereby_store::Directory for $store {
            async fn count_users(&self) -> Result<u64, hereby_store::StoreError> {
                let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
                    .fetch_one(&self.readers)
                    .await
                    .map_err(db)?;
                Ok(hereby_store::prepare::count(users))
            }

            async fn create_user(
                &self,
                name: &hereby_core::types::UserName,
                role: hereby_core::types::InstallationRole,
                at: jiff::Timestamp,
            ) -> Result<hereby_store::User, hereby_store::StoreError> {
                let mut conn = self.write_pool.acquire().await.map_err(db)?;
                insert_user(&mut conn, name, role, at).await
            }

            async fn create_first_admin(
                &self,
                name: &hereby_core::types::UserName,
                token_label: &str,
                token_hash: [u8; 32],
                at: jiff::Timestamp,
            ) -> Result<
                Option<(hereby_store::User, hereby_store::TokenRecord)>,
                hereby_store::StoreError,
            > {
                let mut tx = self
                    .write_pool
                    .begin_with($begin_users_exclusive)
                    .await
                    .map_err(db)?;
                let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users)")
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(db)?;
                if exists {
                    // Dropping the transaction rolls it back.
                    return Ok(None);
                }
                let user = insert_user(
                    &mut tx,
                    name,
                    hereby_core::types::InstallationRole::Admin,
                    at,
                )
                .await?;
                let token = insert_token(&mut tx, name, token_label, token_hash, at).await?;
                tx.commit().await.map_err(db)?;
                Ok(Some((user, token)))
            }

            async fn user(
                &self,
                name: &hereby_core::types::UserName,
            ) -> Result<hereby_store::User, hereby_store::StoreError> {
                let row = sqlx::query(
                    "SELECT name, role, disabled, created_at FROM users WHERE name = $1",
                )
                .bind(name.as_str())
                .fetch_optional(&self.readers)
                .await
                .map_err(db)?
                .ok_or_else(|| hereby_store::StoreError::UnknownUser(name.clone()))?;
                user_row(&row)
            }

            async fn list_users(
                &self,
            ) -> Result<Vec<hereby_store::User>, hereby_store::StoreError> {
                sqlx::query("SELECT name, role, disabled, created_at FROM users ORDER BY name")
                    .fetch_all(&self.readers)
                    .await
                    .map_err(db)?
                    .iter()
                    .map(user_row)
                    .collect()
            }

            async fn update_user(
                &self,
                name: &hereby_core::types::UserName,
                change: hereby_store::UserChange,
            ) -> Result<hereby_store::User, hereby_store::StoreError> {
                let mut tx = self.write_pool.begin().await.map_err(db)?;
                let row = sqlx::query(
                    "UPDATE users SET role = COALESCE($2, role), disabled = COALESCE($3, disabled) \
                     WHERE name = $1 RETURNING name, role, disabled, created_at",
                )
                .bind(name.as_str())
                .bind(change.role.map(|role| role.as_str()))
                .bind(change.disabled)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db)?
                .ok_or_else(|| hereby_store::StoreError::UnknownUser(name.clone()))?;
                if change.disabled == Some(true) {
                    end_web_sessions(&mut tx, name.as_str()).await?;
                }
                tx.commit().await.map_err(db)?;
                user_row(&row)
            }

            async fn create_token(
                &self,
                user: &hereby_core::types::UserName,
                label: &str,
                token_hash: [u8; 32],
                at: jiff::Timestamp,
            ) -> Result<hereby_store::TokenRecord, hereby_store::StoreError> {
                let mut conn = self.write_pool.acquire().await.map_err(db)?;
                insert_token(&mut conn, user, label, token_hash, at).await
            }

            async fn revoke_token(
                &self,
                id: i64,
                at: jiff::Timestamp,
            ) -> Result<hereby_store::TokenRecord, hereby_store::StoreError> {
                let row = sqlx::query(
                    "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1 \
                     RETURNING id, user_name, label, created_at, revoked_at",
                )
                .bind(id)
                .bind(at.as_microsecond())
                .fetch_optional(&self.write_pool)
                .await
                .map_err(db)?
                .ok_or(hereby_store::StoreError::UnknownToken(id))?;
                token_row(&row)
            }

            async fn list_tokens(
                &self,
                user: Option<&hereby_core::types::UserName>,
            ) -> Result<Vec<hereby_store::TokenRecord>, hereby_store::StoreError> {
                sqlx::query(
                    "SELECT id, user_name, label, created_at, revoked_at FROM api_tokens \
                     WHERE $1 IS NULL OR user_name = $1 ORDER BY id DESC",
                )
                .bind(user.map(|user| user.as_str()))
                .fetch_all(&self.readers)
                .await
                .map_err(db)?
                .iter()
                .map(token_row)
                .collect()
            }

            async fn authenticate(
                &self,
                token_hash: [u8; 32],
            ) -> Result<Option<hereby_store::User>, hereby_store::StoreError> {
                sqlx::query(
                    "SELECT users.name, users.role, users.disabled, users.created_at \
                     FROM api_tokens JOIN users ON users.name = api_tokens.user_name \
                     WHERE api_tokens.token_hash = $1 AND api_tokens.revoked_at IS NULL \
                     AND NOT users.disabled",
                )
                .bind(token_hash.as_slice())
                .fetch_optional(&self.readers)
                .await
                .map_err(db)?
                .as_ref()
                .map(user_row)
                .transpose()
            }

            async fn password_hash(
                &self,
                name: &hereby_core::types::UserName,
            ) -> Result<Option<String>, hereby_store::StoreError> {
                let row: Option<(Option<String>,)> =
                    sqlx::query_as("SELECT password_hash FROM users WHERE name = $1")
                        .bind(name.as_str())
                        .fetch_optional(&self.readers)
                        .await
                        .map_err(db)?;
                row.map(|(hash,)| hash)
                    .ok_or_else(|| hereby_store::StoreError::UnknownUser(name.clone()))
            }

            async fn set_password_hash(
                &self,
                name: &hereby_core::types::UserName,
                phc: &str,
            ) -> Result<(), hereby_store::StoreError> {
                let mut tx = self.write_pool.begin().await.map_err(db)?;
                let updated = sqlx::query("UPDATE users SET password_hash = $2 WHERE name = $1")
                    .bind(name.as_str())
                    .bind(phc)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                if updated.rows_affected() == 0 {
                    return Err(hereby_store::StoreError::UnknownUser(name.clone()));
                }
                end_web_sessions(&mut tx, name.as_str()).await?;
                tx.commit().await.map_err(db)
            }

            async fn any_password_set(&self) -> Result<bool, hereby_store::StoreError> {
                sqlx::query_scalar(
                    "SELECT EXISTS (SELECT 1 FROM users WHERE password_hash IS NOT NULL)",
                )
                .fetch_one(&self.readers)
                .await
                .map_err(db)
            }

            async fn create_web_session(
                &self,
                digest: [u8; 32],
                user: &hereby_core::types::UserName,
                at: jiff::Timestamp,
                expires_at: jiff::Timestamp,
            ) -> Result<(), hereby_store::StoreError> {
                insert_expiring(
                    &self.write_pool,
                    Expiring::WebSessions,
                    digest,
                    user,
                    at,
                    expires_at,
                )
                .await
            }

            async fn web_session_user(
                &self,
                digest: [u8; 32],
                now: jiff::Timestamp,
            ) -> Result<Option<hereby_store::User>, hereby_store::StoreError> {
                sqlx::query(
                    "SELECT users.name, users.role, users.disabled, users.created_at \
                     FROM web_sessions JOIN users ON users.name = web_sessions.user_name \
                     WHERE web_sessions.digest = $1 AND web_sessions.expires_at > $2 \
                     AND NOT users.disabled",
                )
                .bind(digest.as_slice())
                .bind(now.as_microsecond())
                .fetch_optional(&self.readers)
                .await
                .map_err(db)?
                .as_ref()
                .map(user_row)
                .transpose()
            }

            async fn delete_web_session(
                &self,
                digest: [u8; 32],
            ) -> Result<(), hereby_store::StoreError> {
                sqlx::query("DELETE FROM web_sessions WHERE digest = $1")
                    .bind(digest.as_slice())
                    .execute(&self.write_pool)
                    .await
                    .map_err(db)?;
                Ok(())
            }

            async fn create_setup_link(
                &self,
                digest: [u8; 32],
                user: &hereby_core::types::UserName,
                at: jiff::Timestamp,
                expires_at: jiff::Timestamp,
            ) -> Result<(), hereby_store::StoreError> {
                insert_expiring(
                    &self.write_pool,
                    Expiring::SetupLinks,
                    digest,
                    user,
                    at,
                    expires_at,
                )
                .await
            }

            async fn setup_link_user(
                &self,
                digest: [u8; 32],
                now: jiff::Timestamp,
            ) -> Result<Option<hereby_store::User>, hereby_store::StoreError> {
                sqlx::query(
                    "SELECT users.name, users.role, users.disabled, users.created_at \
                     FROM setup_links JOIN users ON users.name = setup_links.user_name \
                     WHERE setup_links.digest = $1 AND setup_links.expires_at > $2 \
                     AND NOT users.disabled",
                )
                .bind(digest.as_slice())
                .bind(now.as_microsecond())
                .fetch_optional(&self.readers)
                .await
                .map_err(db)?
                .as_ref()
                .map(user_row)
                .transpose()
            }

            async fn redeem_setup_link(
                &self,
                digest: [u8; 32],
                phc: &str,
                now: jiff::Timestamp,
            ) -> Result<Option<hereby_store::User>, hereby_store::StoreError> {
                let mut tx = self.write_pool.begin().await.map_err(db)?;
                // Taking the link first: a second redemption of the same link waits for this
                // transaction (PostgreSQL's row lock, SQLite's write lock) and then finds no
                // link. Returning early drops the transaction, which rolls it back.
                let owner: Option<String> = sqlx::query_scalar(
                    "DELETE FROM setup_links WHERE digest = $1 AND expires_at > $2 \
                     AND EXISTS (SELECT 1 FROM users \
                     WHERE users.name = setup_links.user_name AND NOT users.disabled) \
                     RETURNING user_name",
                )
                .bind(digest.as_slice())
                .bind(now.as_microsecond())
                .fetch_optional(&mut *tx)
                .await
                .map_err(db)?;
                let Some(owner) = owner else {
                    return Ok(None);
                };
                // The user may have been disabled since the link was checked (PostgreSQL).
                let Some(row) = sqlx::query(
                    "UPDATE users SET password_hash = $2 WHERE name = $1 AND NOT disabled \
                     RETURNING name, role, disabled, created_at",
                )
                .bind(&owner)
                .bind(phc)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db)?
                else {
                    return Ok(None);
                };
                sqlx::query("DELETE FROM setup_links WHERE user_name = $1")
                    .bind(&owner)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                end_web_sessions(&mut tx, &owner).await?;
                let user = user_row(&row)?;
                tx.commit().await.map_err(db)?;
                Ok(Some(user))
            }
        }
    };
}
