//! The [`Chat`](crate::Chat) of a SQL backend, the same for SQLite and PostgreSQL, written
//! once like `sql.rs`.

/// Expands the shared [`Chat`](crate::Chat) implementation. Expanded by
/// `sql_backend_common!`, whose helpers (`db`, `int`) it uses.
#[doc(hidden)]
#[macro_export]
macro_rules! sql_chat_common {
    (store: $store:ty, row: $row:ty $(,)?) => {
        const CHAT_ROOM_COLUMNS: &str = "channel_id, incident, room, name, private, \
             state_message, invited, archived, created_at";

        fn chat_room_row(row: &$row) -> Result<hereby_store::ChatRoom, hereby_store::StoreError> {
            use sqlx::Row as _;
            let invited: String = row.try_get("invited").map_err(db)?;
            Ok(hereby_store::ChatRoom {
                channel_id: row.try_get("channel_id").map_err(db)?,
                incident: u64::try_from(row.try_get::<i64, _>("incident").map_err(db)?)
                    .unwrap_or_default(),
                room: row.try_get("room").map_err(db)?,
                name: row.try_get("name").map_err(db)?,
                private: row.try_get("private").map_err(db)?,
                state_message: row.try_get("state_message").map_err(db)?,
                invited: serde_json::from_str(&invited).unwrap_or_default(),
                archived: row.try_get("archived").map_err(db)?,
                created_at: jiff::Timestamp::from_microsecond(
                    row.try_get("created_at").map_err(db)?,
                )
                .unwrap_or_default(),
            })
        }

        fn chat_link_row(row: &$row) -> Result<hereby_store::ChatLink, hereby_store::StoreError> {
            use sqlx::Row as _;
            let user: String = row.try_get("user_name").map_err(db)?;
            Ok(hereby_store::ChatLink {
                platform: row.try_get("platform").map_err(db)?,
                chat_user: row.try_get("chat_user").map_err(db)?,
                user: hereby_core::types::UserName::parse(&user)
                    .map_err(|e| hereby_store::StoreError::Database(e.to_string()))?,
                linked_at: jiff::Timestamp::from_microsecond(row.try_get("linked_at").map_err(db)?)
                    .unwrap_or_default(),
                linked_by: row.try_get("linked_by").map_err(db)?,
            })
        }

        const LINK_UPSERT: &str = "INSERT INTO chat_links \
             (platform, chat_user, user_name, linked_at, linked_by) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (platform, chat_user) DO UPDATE SET user_name = excluded.user_name, \
             linked_at = excluded.linked_at, linked_by = excluded.linked_by";

        impl hereby_store::Chat for $store {
            async fn put_link_code(
                &self,
                digest: &[u8],
                user: &hereby_core::types::UserName,
                expires: jiff::Timestamp,
            ) -> Result<(), hereby_store::StoreError> {
                sqlx::query(
                    "INSERT INTO chat_link_codes (digest, user_name, expires_at) VALUES ($1, $2, $3)",
                )
                .bind(digest)
                .bind(user.as_str())
                .bind(expires.as_microsecond())
                .execute(&self.write_pool)
                .await
                .map_err(db)?;
                Ok(())
            }

            async fn redeem_link_code(
                &self,
                digest: &[u8],
                platform: &str,
                chat_user: &str,
                at: jiff::Timestamp,
            ) -> Result<Option<hereby_core::types::UserName>, hereby_store::StoreError> {
                let mut tx = self.write_pool.begin().await.map_err(db)?;
                let user: Option<String> = sqlx::query_scalar(
                    "DELETE FROM chat_link_codes WHERE digest = $1 AND expires_at > $2 \
                     RETURNING user_name",
                )
                .bind(digest)
                .bind(at.as_microsecond())
                .fetch_optional(&mut *tx)
                .await
                .map_err(db)?;
                let Some(user) = user else {
                    return Ok(None);
                };
                sqlx::query(LINK_UPSERT)
                    .bind(platform)
                    .bind(chat_user)
                    .bind(&user)
                    .bind(at.as_microsecond())
                    .bind(&user)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                // Expired codes go with any redemption; nobody can use them any more.
                sqlx::query("DELETE FROM chat_link_codes WHERE expires_at <= $1")
                    .bind(at.as_microsecond())
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                tx.commit().await.map_err(db)?;
                hereby_core::types::UserName::parse(&user)
                    .map(Some)
                    .map_err(|e| hereby_store::StoreError::Database(e.to_string()))
            }

            async fn set_chat_link(
                &self,
                link: &hereby_store::ChatLink,
            ) -> Result<(), hereby_store::StoreError> {
                sqlx::query(LINK_UPSERT)
                    .bind(&link.platform)
                    .bind(&link.chat_user)
                    .bind(link.user.as_str())
                    .bind(link.linked_at.as_microsecond())
                    .bind(&link.linked_by)
                    .execute(&self.write_pool)
                    .await
                    .map_err(db)?;
                Ok(())
            }

            async fn remove_chat_link(
                &self,
                platform: &str,
                chat_user: &str,
            ) -> Result<bool, hereby_store::StoreError> {
                let done =
                    sqlx::query("DELETE FROM chat_links WHERE platform = $1 AND chat_user = $2")
                        .bind(platform)
                        .bind(chat_user)
                        .execute(&self.write_pool)
                        .await
                        .map_err(db)?;
                Ok(done.rows_affected() > 0)
            }

            async fn chat_links(
                &self,
            ) -> Result<Vec<hereby_store::ChatLink>, hereby_store::StoreError> {
                sqlx::query(
                    "SELECT platform, chat_user, user_name, linked_at, linked_by FROM chat_links \
                     ORDER BY platform, chat_user",
                )
                .fetch_all(&self.readers)
                .await
                .map_err(db)?
                .iter()
                .map(chat_link_row)
                .collect()
            }

            async fn chat_link(
                &self,
                platform: &str,
                chat_user: &str,
            ) -> Result<Option<hereby_store::ChatLink>, hereby_store::StoreError> {
                sqlx::query(
                    "SELECT platform, chat_user, user_name, linked_at, linked_by FROM chat_links \
                     WHERE platform = $1 AND chat_user = $2",
                )
                .bind(platform)
                .bind(chat_user)
                .fetch_optional(&self.readers)
                .await
                .map_err(db)?
                .as_ref()
                .map(chat_link_row)
                .transpose()
            }

            async fn chat_room(
                &self,
                channel: i64,
                incident: u64,
            ) -> Result<Option<hereby_store::ChatRoom>, hereby_store::StoreError> {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {CHAT_ROOM_COLUMNS} FROM chat_rooms WHERE channel_id = $1 AND incident = $2"
                )))
                .bind(channel)
                .bind(int(incident))
                .fetch_optional(&self.readers)
                .await
                .map_err(db)?
                .as_ref()
                .map(chat_room_row)
                .transpose()
            }

            async fn open_chat_rooms(
                &self,
                channel: i64,
            ) -> Result<Vec<hereby_store::ChatRoom>, hereby_store::StoreError> {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {CHAT_ROOM_COLUMNS} FROM chat_rooms WHERE channel_id = $1 \
                     AND NOT archived ORDER BY created_at, incident"
                )))
                .bind(channel)
                .fetch_all(&self.readers)
                .await
                .map_err(db)?
                .iter()
                .map(chat_room_row)
                .collect()
            }

            async fn chat_room_at(
                &self,
                channel: i64,
                room: &str,
            ) -> Result<Option<hereby_store::ChatRoom>, hereby_store::StoreError> {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {CHAT_ROOM_COLUMNS} FROM chat_rooms WHERE channel_id = $1 AND room = $2"
                )))
                .bind(channel)
                .bind(room)
                .fetch_optional(&self.readers)
                .await
                .map_err(db)?
                .as_ref()
                .map(chat_room_row)
                .transpose()
            }

            async fn put_chat_room(
                &self,
                room: &hereby_store::ChatRoom,
            ) -> Result<(), hereby_store::StoreError> {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "INSERT INTO chat_rooms ({CHAT_ROOM_COLUMNS}) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                     ON CONFLICT (channel_id, incident) DO UPDATE SET room = excluded.room, \
                     name = excluded.name, private = excluded.private, \
                     state_message = excluded.state_message, invited = excluded.invited, \
                     archived = excluded.archived"
                )))
                .bind(room.channel_id)
                .bind(int(room.incident))
                .bind(&room.room)
                .bind(&room.name)
                .bind(room.private)
                .bind(&room.state_message)
                .bind(serde_json::to_string(&room.invited).unwrap_or_else(|_| "[]".to_owned()))
                .bind(room.archived)
                .bind(room.created_at.as_microsecond())
                .execute(&self.write_pool)
                .await
                .map_err(db)?;
                Ok(())
            }

            async fn direct_room(
                &self,
                channel: i64,
                chat_user: &str,
            ) -> Result<Option<String>, hereby_store::StoreError> {
                sqlx::query_scalar(
                    "SELECT room FROM chat_direct_rooms WHERE channel_id = $1 AND chat_user = $2",
                )
                .bind(channel)
                .bind(chat_user)
                .fetch_optional(&self.readers)
                .await
                .map_err(db)
            }

            async fn put_direct_room(
                &self,
                channel: i64,
                chat_user: &str,
                room: &str,
            ) -> Result<(), hereby_store::StoreError> {
                sqlx::query(
                    "INSERT INTO chat_direct_rooms (channel_id, chat_user, room) VALUES ($1, $2, $3) \
                     ON CONFLICT (channel_id, chat_user) DO UPDATE SET room = excluded.room",
                )
                .bind(channel)
                .bind(chat_user)
                .bind(room)
                .execute(&self.write_pool)
                .await
                .map_err(db)?;
                Ok(())
            }

            async fn first_sight(
                &self,
                channel: i64,
                event_id: &str,
                at: jiff::Timestamp,
            ) -> Result<bool, hereby_store::StoreError> {
                let done = sqlx::query(
                    "INSERT INTO chat_inbound (channel_id, event_id, received_at) \
                     VALUES ($1, $2, $3) ON CONFLICT (channel_id, event_id) DO NOTHING",
                )
                .bind(channel)
                .bind(event_id)
                .bind(at.as_microsecond())
                .execute(&self.write_pool)
                .await
                .map_err(db)?;
                Ok(done.rows_affected() > 0)
            }

            async fn chat_cursor(
                &self,
                channel: i64,
            ) -> Result<Option<String>, hereby_store::StoreError> {
                sqlx::query_scalar("SELECT position FROM chat_cursors WHERE channel_id = $1")
                    .bind(channel)
                    .fetch_optional(&self.readers)
                    .await
                    .map_err(db)
            }

            async fn set_chat_cursor(
                &self,
                channel: i64,
                position: &str,
            ) -> Result<(), hereby_store::StoreError> {
                sqlx::query(
                    "INSERT INTO chat_cursors (channel_id, position) VALUES ($1, $2) \
                     ON CONFLICT (channel_id) DO UPDATE SET position = excluded.position",
                )
                .bind(channel)
                .bind(position)
                .execute(&self.write_pool)
                .await
                .map_err(db)?;
                Ok(())
            }

            async fn take_chat_lease(
                &self,
                channel: i64,
                holder: &str,
                now: jiff::Timestamp,
                until: jiff::Timestamp,
            ) -> Result<bool, hereby_store::StoreError> {
                let done = sqlx::query(
                    "INSERT INTO chat_leases (channel_id, holder, until) VALUES ($1, $2, $3) \
                     ON CONFLICT (channel_id) DO UPDATE SET holder = excluded.holder, \
                     until = excluded.until \
                     WHERE chat_leases.holder = excluded.holder OR chat_leases.until < $4",
                )
                .bind(channel)
                .bind(holder)
                .bind(until.as_microsecond())
                .bind(now.as_microsecond())
                .execute(&self.write_pool)
                .await
                .map_err(db)?;
                Ok(done.rows_affected() > 0)
            }

            async fn newest_delivery(
                &self,
                channel: i64,
                incident: u64,
                kind: &str,
            ) -> Result<Option<i64>, hereby_store::StoreError> {
                sqlx::query_scalar(
                    "SELECT MAX(id) FROM notification_deliveries WHERE channel_id = $1 \
                     AND incident = $2 AND kind = $3",
                )
                .bind(channel)
                .bind(int(incident))
                .bind(kind)
                .fetch_one(&self.readers)
                .await
                .map_err(db)
            }

            async fn settle_deliveries(
                &self,
                channel: i64,
                incident: u64,
                kind: &str,
                up_to: i64,
                at: jiff::Timestamp,
            ) -> Result<u64, hereby_store::StoreError> {
                let done = sqlx::query(
                    "UPDATE notification_deliveries SET state = 'delivered', finished_at = $1, \
                     last_error = NULL WHERE channel_id = $2 AND incident = $3 AND kind = $4 \
                     AND state = 'pending' AND id <= $5",
                )
                .bind(at.as_microsecond())
                .bind(channel)
                .bind(int(incident))
                .bind(kind)
                .bind(up_to)
                .execute(&self.write_pool)
                .await
                .map_err(db)?;
                Ok(done.rows_affected())
            }
        }
    };
}
