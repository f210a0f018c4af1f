//! The [`Notifications`](crate::Notifications) of a SQL backend, the same for SQLite and
//! PostgreSQL, written once like `sql.rs`.
//!
//! Reads use the store's `readers`, writes its `write_pool`. Claims are one `UPDATE … WHERE id
//! IN (SELECT … LIMIT n) RETURNING …`: on PostgreSQL the inner select takes `FOR UPDATE SKIP
//! LOCKED`, so several nodes claim disjoint rows without waiting for each other; SQLite has
//! one writer at a time and needs nothing more. A claim moves the row's `claim_token` on, and
//! an outcome is recorded only with the token of the newest claim, so a worker whose lease
//! lapsed cannot overwrite what the worker that claimed the delivery after it records.

/// Expands the shared [`Notifications`](crate::Notifications) implementation. Expanded by
/// `sql_backend_common!`, whose helpers (`db`, `int`) it uses. `begin_dispatch` starts a
/// transaction that holds the dispatcher's cursor against every other dispatcher until it
/// ends; `skip_locked` is appended to the select of rows to claim.
#[doc(hidden)]
#[macro_export]
macro_rules! sql_notify_common {
    (
        store: $store:ty,
        database: $database:ty,
        row: $row:ty,
        begin_write: $begin_write:literal,
        begin_dispatch: $begin_dispatch:literal,
        skip_locked: $skip_locked:literal $(,)?
    ) => {
        const DELIVERY_COLUMNS: &str = "id, idempotency_key, channel_id, recipient, incident, kind, \
             subject, body, payload, attachment_name, attachment_type, attachment_content, state, \
             attempts, next_attempt_at, last_error, created_at, finished_at";

        fn channel_row(row: &$row) -> Result<hereby_store::Channel, hereby_store::StoreError> {
            use sqlx::Row as _;
            let concurrency: i64 = row.try_get("concurrency").map_err(db)?;
            Ok(hereby_store::Channel {
                id: row.try_get("id").map_err(db)?,
                name: row.try_get("name").map_err(db)?,
                kind: row.try_get("kind").map_err(db)?,
                config: row.try_get("config").map_err(db)?,
                personal: row.try_get("personal").map_err(db)?,
                concurrency: u32::try_from(concurrency).unwrap_or(1).max(1),
                created_at: hereby_store::prepare::timestamp(row.try_get("created_at").map_err(db)?)?,
            })
        }

        fn subscription_row(
            row: &$row,
        ) -> Result<hereby_store::Subscription, hereby_store::StoreError> {
            use sqlx::Row as _;
            let id: i64 = row.try_get("id").map_err(db)?;
            let events: String = row.try_get("events").map_err(db)?;
            Ok(hereby_store::Subscription {
                id,
                channel_id: row.try_get("channel_id").map_err(db)?,
                recipient: row.try_get("recipient").map_err(db)?,
                events: serde_json::from_str(&events).map_err(|e| {
                    hereby_store::StoreError::Corrupt(format!("subscription {id}: {e}"))
                })?,
                audience: row.try_get("audience").map_err(db)?,
                scope: row.try_get("scope").map_err(db)?,
                created_at: hereby_store::prepare::timestamp(row.try_get("created_at").map_err(db)?)?,
            })
        }

        /// A `status_subscribers` row.
        fn status_subscriber_row(
            row: &$row,
        ) -> Result<hereby_store::StatusSubscriber, hereby_store::StoreError> {
            use sqlx::Row as _;
            let id: i64 = row.try_get("id").map_err(db)?;
            let corrupt = |problem: String| {
                hereby_store::StoreError::Corrupt(format!("status subscriber {id}: {problem}"))
            };
            let maybe = |column: &str| -> Result<Option<jiff::Timestamp>, hereby_store::StoreError> {
                let raw: Option<i64> = row.try_get(column).map_err(db)?;
                raw.map(hereby_store::prepare::timestamp).transpose()
            };
            let kind: String = row.try_get("kind").map_err(db)?;
            let state: String = row.try_get("state").map_err(db)?;
            let incident: i64 = row.try_get("incident").map_err(db)?;
            let components: String = row.try_get("components").map_err(db)?;
            let components: Vec<String> =
                serde_json::from_str(&components).map_err(|e| corrupt(e.to_string()))?;
            let tries: i64 = row.try_get("code_tries").map_err(db)?;
            Ok(hereby_store::StatusSubscriber {
                id,
                kind: hereby_core::subscribers::SubscriberKind::parse(&kind)
                    .map_err(|e| corrupt(e.to_string()))?,
                address: row.try_get("address").map_err(db)?,
                incident: u64::try_from(incident)
                    .ok()
                    .filter(|n| *n > 0)
                    .map(hereby_core::types::IncidentNumber),
                components: components
                    .iter()
                    .map(|name| hereby_core::types::ServiceName::parse(name))
                    .collect::<Result<_, _>>()
                    .map_err(|e| corrupt(e.to_string()))?,
                state: hereby_core::subscribers::SubscriberState::parse(&state)
                    .ok_or_else(|| corrupt(format!("state `{state}`")))?,
                nonce: row.try_get("nonce").map_err(db)?,
                secret: row.try_get("secret").map_err(db)?,
                confirm_expires_at: maybe("confirm_expires_at")?,
                code_digest: row.try_get("code_digest").map_err(db)?,
                code_expires_at: maybe("code_expires_at")?,
                code_tries: u32::try_from(tries).unwrap_or(u32::MAX),
                created_at: hereby_store::prepare::timestamp(row.try_get("created_at").map_err(db)?)?,
                updated_at: hereby_store::prepare::timestamp(row.try_get("updated_at").map_err(db)?)?,
                confirmed_at: maybe("confirmed_at")?,
            })
        }

        /// A `tracked_follow_ups` row.
        fn tracked_row(
            row: &$row,
        ) -> Result<hereby_store::TrackedFollowUp, hereby_store::StoreError> {
            use sqlx::Row as _;
            let maybe = |column: &str| -> Result<Option<jiff::Timestamp>, hereby_store::StoreError> {
                let raw: Option<i64> = row.try_get(column).map_err(db)?;
                raw.map(hereby_store::prepare::timestamp).transpose()
            };
            let incident: i64 = row.try_get("incident").map_err(db)?;
            let item: i64 = row.try_get("item").map_err(db)?;
            Ok(hereby_store::TrackedFollowUp {
                incident: hereby_core::types::IncidentNumber(u64::try_from(incident).unwrap_or_default()),
                item: u32::try_from(item).unwrap_or_default(),
                tracker: row.try_get("tracker").map_err(db)?,
                external: row.try_get("external").map_err(db)?,
                key: row.try_get("issue_key").map_err(db)?,
                url: row.try_get("url").map_err(db)?,
                state: row.try_get("state").map_err(db)?,
                reason: row.try_get("reason").map_err(db)?,
                remote_updated_at: maybe("remote_updated_at")?,
                synced_at: maybe("synced_at")?,
                sync_error: row.try_get("sync_error").map_err(db)?,
                error_at: maybe("error_at")?,
                created_at: hereby_store::prepare::timestamp(row.try_get("created_at").map_err(db)?)?,
            })
        }

        fn delivery_row(row: &$row) -> Result<hereby_store::Delivery, hereby_store::StoreError> {
            use sqlx::Row as _;
            let id: i64 = row.try_get("id").map_err(db)?;
            let state: String = row.try_get("state").map_err(db)?;
            let attempts: i64 = row.try_get("attempts").map_err(db)?;
            let incident: Option<i64> = row.try_get("incident").map_err(db)?;
            let finished_at: Option<i64> = row.try_get("finished_at").map_err(db)?;
            let attachment_name: Option<String> = row.try_get("attachment_name").map_err(db)?;
            let attachment = match attachment_name {
                Some(file_name) => Some(hereby_store::Attachment {
                    file_name,
                    media_type: row
                        .try_get::<Option<String>, _>("attachment_type")
                        .map_err(db)?
                        .unwrap_or_default(),
                    content: row
                        .try_get::<Option<String>, _>("attachment_content")
                        .map_err(db)?
                        .unwrap_or_default(),
                }),
                None => None,
            };
            Ok(hereby_store::Delivery {
                id,
                key: row.try_get("idempotency_key").map_err(db)?,
                channel_id: row.try_get("channel_id").map_err(db)?,
                recipient: row.try_get("recipient").map_err(db)?,
                incident: incident.map(hereby_store::prepare::count),
                kind: row.try_get("kind").map_err(db)?,
                subject: row.try_get("subject").map_err(db)?,
                body: row.try_get("body").map_err(db)?,
                payload: row.try_get("payload").map_err(db)?,
                attachment,
                state: hereby_store::DeliveryState::parse(&state).ok_or_else(|| {
                    hereby_store::StoreError::Corrupt(format!("delivery {id}: state `{state}`"))
                })?,
                attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
                next_attempt_at: hereby_store::prepare::timestamp(
                    row.try_get("next_attempt_at").map_err(db)?,
                )?,
                last_error: row.try_get("last_error").map_err(db)?,
                created_at: hereby_store::prepare::timestamp(row.try_get("created_at").map_err(db)?)?,
                finished_at: finished_at.map(hereby_store::prepare::timestamp).transpose()?,
            })
        }

        /// Inserts deliveries, skipping keys already queued; returns how many were new.
        async fn insert_deliveries(
            conn: &mut <$database as sqlx::Database>::Connection,
            deliveries: &[hereby_store::NewDelivery],
            at: jiff::Timestamp,
        ) -> Result<u64, hereby_store::StoreError> {
            insert_attached(conn, deliveries.iter().map(|d| (d, None)), at).await
        }

        /// Inserts deliveries, each with its attachment if it has one, skipping keys already
        /// queued; returns how many were new.
        async fn insert_attached<'a>(
            conn: &mut <$database as sqlx::Database>::Connection,
            deliveries: impl Iterator<
                Item = (&'a hereby_store::NewDelivery, Option<&'a hereby_store::Attachment>),
            >,
            at: jiff::Timestamp,
        ) -> Result<u64, hereby_store::StoreError> {
            let mut inserted = 0;
            for (d, attachment) in deliveries {
                let done = sqlx::query(
                    "INSERT INTO notification_deliveries (idempotency_key, channel_id, recipient, \
                     incident, kind, subject, body, payload, attachment_name, attachment_type, \
                     attachment_content, state, attempts, next_attempt_at, created_at) VALUES \
                     ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'pending', 0, $12, $12) \
                     ON CONFLICT (idempotency_key) DO NOTHING",
                )
                .bind(&d.key)
                .bind(d.channel_id)
                .bind(&d.recipient)
                .bind(d.incident.map(int))
                .bind(&d.kind)
                .bind(&d.subject)
                .bind(&d.body)
                .bind(&d.payload)
                .bind(attachment.map(|a| a.file_name.as_str()))
                .bind(attachment.map(|a| a.media_type.as_str()))
                .bind(attachment.map(|a| a.content.as_str()))
                .bind(at.as_microsecond())
                .execute(&mut *conn)
                .await
                .map_err(|error| match &error {
                    // The channel was removed meanwhile: the message has nowhere to go.
                    sqlx::Error::Database(e) if e.is_foreign_key_violation() => {
                        hereby_store::StoreError::Invalid(format!(
                            "channel {} no longer exists",
                            d.channel_id
                        ))
                    }
                    _ => db(error),
                })?;
                inserted += done.rows_affected();
            }
            Ok(inserted)
        }

        impl hereby_store::Notifications for $store {
            async fn create_channel(
                &self,
                channel: &hereby_store::NewChannel,
                at: jiff::Timestamp,
            ) -> Result<hereby_store::Channel, hereby_store::StoreError> {
                let row = sqlx::query(
                    "INSERT INTO notification_channels (name, kind, config, personal, concurrency, \
                     created_at) VALUES ($1, $2, $3, $4, $5, $6) \
                     RETURNING id, name, kind, config, personal, concurrency, created_at",
                )
                .bind(&channel.name)
                .bind(&channel.kind)
                .bind(&channel.config)
                .bind(channel.personal)
                .bind(i64::from(channel.concurrency))
                .bind(at.as_microsecond())
                .fetch_one(&self.write_pool)
                .await
                .map_err(|error| match &error {
                    sqlx::Error::Database(e) if e.is_unique_violation() => {
                        hereby_store::StoreError::Invalid(format!(
                            "a channel named `{}` already exists",
                            channel.name
                        ))
                    }
                    _ => db(error),
                })?;
                channel_row(&row)
            }

            async fn channels(&self) -> Result<Vec<hereby_store::Channel>, hereby_store::StoreError> {
                sqlx::query(
                    "SELECT id, name, kind, config, personal, concurrency, created_at \
                     FROM notification_channels ORDER BY id",
                )
                .fetch_all(&self.readers)
                .await
                .map_err(db)?
                .iter()
                .map(channel_row)
                .collect()
            }

            async fn delete_channel(&self, id: i64) -> Result<bool, hereby_store::StoreError> {
                let done = sqlx::query("DELETE FROM notification_channels WHERE id = $1")
                    .bind(id)
                    .execute(&self.write_pool)
                    .await
                    .map_err(db)?;
                Ok(done.rows_affected() > 0)
            }

            async fn create_subscription(
                &self,
                s: &hereby_store::NewSubscription,
                at: jiff::Timestamp,
            ) -> Result<hereby_store::Subscription, hereby_store::StoreError> {
                let events = serde_json::to_string(&s.events)
                    .map_err(|e| hereby_store::StoreError::Invalid(e.to_string()))?;
                let row = sqlx::query(
                    "INSERT INTO notification_subscriptions (channel_id, recipient, events, \
                     audience, scope, created_at) VALUES ($1, $2, $3, $4, $5, $6) \
                     RETURNING id, channel_id, recipient, events, audience, scope, created_at",
                )
                .bind(s.channel_id)
                .bind(&s.recipient)
                .bind(events)
                .bind(&s.audience)
                .bind(&s.scope)
                .bind(at.as_microsecond())
                .fetch_one(&self.write_pool)
                .await
                .map_err(|error| match &error {
                    sqlx::Error::Database(e) if e.is_foreign_key_violation() => {
                        hereby_store::StoreError::Invalid(format!(
                            "channel {} does not exist",
                            s.channel_id
                        ))
                    }
                    _ => db(error),
                })?;
                subscription_row(&row)
            }

            async fn subscriptions(
                &self,
            ) -> Result<Vec<hereby_store::Subscription>, hereby_store::StoreError> {
                sqlx::query(
                    "SELECT id, channel_id, recipient, events, audience, scope, created_at \
                     FROM notification_subscriptions ORDER BY id",
                )
                .fetch_all(&self.readers)
                .await
                .map_err(db)?
                .iter()
                .map(subscription_row)
                .collect()
            }

            async fn delete_subscription(&self, id: i64) -> Result<bool, hereby_store::StoreError> {
                let done = sqlx::query("DELETE FROM notification_subscriptions WHERE id = $1")
                    .bind(id)
                    .execute(&self.write_pool)
                    .await
                    .map_err(db)?;
                Ok(done.rows_affected() > 0)
            }

            async fn set_user_email(
                &self,
                name: &hereby_core::types::UserName,
                email: Option<&str>,
            ) -> Result<(), hereby_store::StoreError> {
                let done = sqlx::query("UPDATE users SET email = $1 WHERE name = $2")
                    .bind(email)
                    .bind(name.as_str())
                    .execute(&self.write_pool)
                    .await
                    .map_err(db)?;
                if done.rows_affected() == 0 {
                    return Err(hereby_store::StoreError::UnknownUser(name.clone()));
                }
                Ok(())
            }

            async fn user_emails(&self) -> Result<Vec<(String, String)>, hereby_store::StoreError> {
                use sqlx::Row as _;
                sqlx::query(
                    "SELECT name, email FROM users WHERE email IS NOT NULL AND disabled = $1 \
                     ORDER BY name",
                )
                .bind(false)
                .fetch_all(&self.readers)
                .await
                .map_err(db)?
                .iter()
                .map(|row| Ok((row.try_get("name").map_err(db)?, row.try_get("email").map_err(db)?)))
                .collect()
            }

            async fn dispatch_cursor(&self) -> Result<i64, hereby_store::StoreError> {
                sqlx::query_scalar("SELECT position FROM notification_cursor WHERE id = 1")
                    .fetch_one(&self.readers)
                    .await
                    .map_err(db)
            }

            async fn commit_dispatch(
                &self,
                from: i64,
                to: i64,
                deliveries: &[hereby_store::NewDelivery],
                jobs: &[hereby_store::JobChange],
                at: jiff::Timestamp,
            ) -> Result<bool, hereby_store::StoreError> {
                let jobs: Vec<hereby_store::KindedJobChange> = jobs
                    .iter()
                    .map(|change| hereby_store::KindedJobChange {
                        kind: hereby_store::JobKind::Reminder,
                        change: change.clone(),
                    })
                    .collect();
                self.commit_dispatch_jobs(from, to, deliveries, &jobs, at).await
            }

            async fn commit_dispatch_jobs(
                &self,
                from: i64,
                to: i64,
                deliveries: &[hereby_store::NewDelivery],
                jobs: &[hereby_store::KindedJobChange],
                at: jiff::Timestamp,
            ) -> Result<bool, hereby_store::StoreError> {
                let mut tx = self.write_pool.begin_with($begin_dispatch).await.map_err(db)?;
                let current: i64 =
                    sqlx::query_scalar("SELECT position FROM notification_cursor WHERE id = 1")
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(db)?;
                if current != from {
                    return Ok(false);
                }
                insert_deliveries(&mut tx, deliveries, at).await?;
                for job in jobs {
                    match job.change.due {
                        Some(due) => {
                            sqlx::query(
                                "INSERT INTO jobs (kind, incident, due_at, state, attempts) \
                                 VALUES ($1, $2, $3, 'pending', 0) \
                                 ON CONFLICT (kind, incident) DO UPDATE SET due_at = $3, \
                                 state = 'pending', claimed_until = NULL",
                            )
                            .bind(job.kind.as_str())
                            .bind(int(job.change.incident))
                            .bind(due.as_microsecond())
                            .execute(&mut *tx)
                            .await
                            .map_err(db)?;
                        }
                        None => {
                            sqlx::query(
                                "UPDATE jobs SET state = 'done', claimed_until = NULL \
                                 WHERE kind = $1 AND incident = $2",
                            )
                            .bind(job.kind.as_str())
                            .bind(int(job.change.incident))
                            .execute(&mut *tx)
                            .await
                            .map_err(db)?;
                        }
                    }
                }
                sqlx::query("UPDATE notification_cursor SET position = $1 WHERE id = 1")
                    .bind(to)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                tx.commit().await.map_err(db)?;
                Ok(true)
            }

            async fn enqueue(
                &self,
                deliveries: &[hereby_store::NewDelivery],
                at: jiff::Timestamp,
            ) -> Result<u64, hereby_store::StoreError> {
                let mut tx = self.write_pool.begin_with($begin_write).await.map_err(db)?;
                let inserted = insert_deliveries(&mut tx, deliveries, at).await?;
                tx.commit().await.map_err(db)?;
                Ok(inserted)
            }

            async fn claim_deliveries(
                &self,
                now: jiff::Timestamp,
                lease_until: jiff::Timestamp,
                limits: &hereby_store::ClaimLimits,
            ) -> Result<Vec<hereby_store::ClaimedDelivery>, hereby_store::StoreError> {
                use sqlx::Row as _;
                let sql: std::sync::Arc<str> = format!(
                    "UPDATE notification_deliveries SET claimed_until = $1, \
                     claim_token = claim_token + 1 WHERE id IN \
                     (SELECT id FROM notification_deliveries WHERE state = 'pending' \
                     AND channel_id = $3 AND next_attempt_at <= $2 \
                     AND (claimed_until IS NULL OR claimed_until <= $2) \
                     ORDER BY next_attempt_at, id LIMIT $4{}) \
                     RETURNING {DELIVERY_COLUMNS}, claim_token",
                    $skip_locked
                )
                .into();
                let mut claimed = Vec::new();
                let mut left = limits.total;
                if left == 0 || limits.channels.iter().all(|(_, limit)| *limit == 0) {
                    return Ok(claimed);
                }
                // One transaction, one statement per channel: each channel gets no more than
                // its own limit, and the deliveries of all of them are claimed at once.
                let mut tx = self.write_pool.begin_with($begin_write).await.map_err(db)?;
                for &(channel_id, limit) in &limits.channels {
                    let take = limit.min(left);
                    if take == 0 {
                        continue;
                    }
                    let rows = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                        .bind(lease_until.as_microsecond())
                        .bind(now.as_microsecond())
                        .bind(channel_id)
                        .bind(i64::from(take))
                        .fetch_all(&mut *tx)
                        .await
                        .map_err(db)?;
                    left = left.saturating_sub(u32::try_from(rows.len()).unwrap_or(u32::MAX));
                    let mut these = rows
                        .iter()
                        .map(|row| {
                            Ok(hereby_store::ClaimedDelivery {
                                delivery: delivery_row(row)?,
                                token: row.try_get("claim_token").map_err(db)?,
                            })
                        })
                        .collect::<Result<Vec<_>, hereby_store::StoreError>>()?;
                    these.sort_by_key(|c| (c.delivery.next_attempt_at, c.delivery.id));
                    claimed.extend(these);
                    if left == 0 {
                        break;
                    }
                }
                tx.commit().await.map_err(db)?;
                Ok(claimed)
            }

            async fn finish_delivery(
                &self,
                claim: hereby_store::Claim,
                outcome: &hereby_store::DeliveryOutcome,
                at: jiff::Timestamp,
            ) -> Result<bool, hereby_store::StoreError> {
                use hereby_store::DeliveryOutcome as O;
                let (state, next, error, finished) = match outcome {
                    O::Delivered => ("delivered", at, None, Some(at)),
                    O::Retry { at: next, error } => ("pending", *next, Some(error.as_str()), None),
                    O::Dead { error } => ("dead", at, Some(error.as_str()), Some(at)),
                };
                // The token moves on here too, so one claim records one outcome at most.
                let done = sqlx::query(
                    "UPDATE notification_deliveries SET state = $1, attempts = attempts + 1, \
                     next_attempt_at = $2, last_error = $3, finished_at = $4, claimed_until = NULL, \
                     claim_token = claim_token + 1 \
                     WHERE id = $5 AND claim_token = $6 AND state = 'pending'",
                )
                .bind(state)
                .bind(next.as_microsecond())
                .bind(error)
                .bind(finished.map(|t| t.as_microsecond()))
                .bind(claim.delivery)
                .bind(claim.token)
                .execute(&self.write_pool)
                .await
                .map_err(db)?;
                Ok(done.rows_affected() > 0)
            }

            async fn count_deliveries(
                &self,
                state: hereby_store::DeliveryState,
            ) -> Result<u64, hereby_store::StoreError> {
                let count: i64 =
                    sqlx::query_scalar("SELECT COUNT(*) FROM notification_deliveries WHERE state = $1")
                        .bind(state.as_str())
                        .fetch_one(&self.readers)
                        .await
                        .map_err(db)?;
                Ok(u64::try_from(count).unwrap_or(0))
            }

            async fn delivery(
                &self,
                id: i64,
            ) -> Result<Option<hereby_store::Delivery>, hereby_store::StoreError> {
                let sql = format!("SELECT {DELIVERY_COLUMNS} FROM notification_deliveries WHERE id = $1");
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(id)
                    .fetch_optional(&self.readers)
                    .await
                    .map_err(db)?
                    .as_ref()
                    .map(delivery_row)
                    .transpose()
            }

            async fn deliveries(
                &self,
                state: Option<hereby_store::DeliveryState>,
                limit: u32,
            ) -> Result<Vec<hereby_store::Delivery>, hereby_store::StoreError> {
                let sql = format!(
                    "SELECT {DELIVERY_COLUMNS} FROM notification_deliveries \
                     WHERE ($1 IS NULL OR state = $1) ORDER BY id DESC LIMIT $2"
                );
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(state.map(|s| s.as_str()))
                    .bind(i64::from(limit.min(1_000)))
                    .fetch_all(&self.readers)
                    .await
                    .map_err(db)?
                    .iter()
                    .map(delivery_row)
                    .collect()
            }

            async fn retry_delivery(
                &self,
                id: i64,
                now: jiff::Timestamp,
            ) -> Result<Option<hereby_store::Delivery>, hereby_store::StoreError> {
                let sql = format!(
                    "UPDATE notification_deliveries SET \
                     attempts = CASE WHEN state = 'dead' THEN 0 ELSE attempts END, \
                     state = 'pending', next_attempt_at = $1, finished_at = NULL, claimed_until = NULL \
                     WHERE id = $2 AND state <> 'delivered' RETURNING {DELIVERY_COLUMNS}"
                );
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(now.as_microsecond())
                    .bind(id)
                    .fetch_optional(&self.write_pool)
                    .await
                    .map_err(db)?
                    .as_ref()
                    .map(delivery_row)
                    .transpose()
            }

            async fn claim_jobs(
                &self,
                now: jiff::Timestamp,
                lease_until: jiff::Timestamp,
                limit: u32,
            ) -> Result<Vec<hereby_store::Job>, hereby_store::StoreError> {
                use sqlx::Row as _;
                let sql = format!(
                    "UPDATE jobs SET claimed_until = $1, attempts = attempts + 1 WHERE id IN \
                     (SELECT id FROM jobs WHERE state = 'pending' AND due_at <= $2 \
                     AND (claimed_until IS NULL OR claimed_until <= $2) \
                     ORDER BY due_at, id LIMIT $3{}) \
                     RETURNING id, kind, incident, due_at, attempts, last_key",
                    $skip_locked
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(lease_until.as_microsecond())
                    .bind(now.as_microsecond())
                    .bind(i64::from(limit))
                    .fetch_all(&self.write_pool)
                    .await
                    .map_err(db)?;
                let mut jobs = Vec::with_capacity(rows.len());
                for row in &rows {
                    let attempts: i64 = row.try_get("attempts").map_err(db)?;
                    jobs.push(hereby_store::Job {
                        id: row.try_get("id").map_err(db)?,
                        kind: row.try_get("kind").map_err(db)?,
                        incident: hereby_store::prepare::count(row.try_get("incident").map_err(db)?),
                        due_at: hereby_store::prepare::timestamp(row.try_get("due_at").map_err(db)?)?,
                        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
                        last_key: row.try_get("last_key").map_err(db)?,
                    });
                }
                jobs.sort_by_key(|job| (job.due_at, job.id));
                Ok(jobs)
            }

            async fn finish_job(
                &self,
                done: &hereby_store::JobDone,
                at: jiff::Timestamp,
            ) -> Result<(), hereby_store::StoreError> {
                self.finish_job_attached(done, &[], at).await.map(|_| ())
            }

            async fn finish_job_attached(
                &self,
                done: &hereby_store::JobDone,
                attached: &[hereby_store::AttachedDelivery],
                at: jiff::Timestamp,
            ) -> Result<u64, hereby_store::StoreError> {
                let mut tx = self.write_pool.begin_with($begin_write).await.map_err(db)?;
                // The job row first: on PostgreSQL that locks it against a dispatcher
                // re-arming it at the same moment.
                let (state, due) = match done.next {
                    Some(next) => ("pending", next),
                    None => ("done", done.claimed_due),
                };
                sqlx::query(
                    "UPDATE jobs SET state = $1, due_at = $2, last_key = $3, attempts = 0, \
                     claimed_until = NULL WHERE id = $4 AND due_at = $5",
                )
                .bind(state)
                .bind(due.as_microsecond())
                .bind(&done.last_key)
                .bind(done.id)
                .bind(done.claimed_due.as_microsecond())
                .execute(&mut *tx)
                .await
                .map_err(db)?;
                // Keep the period reminded of even when the dispatcher moved the job.
                sqlx::query("UPDATE jobs SET last_key = $1 WHERE id = $2")
                    .bind(&done.last_key)
                    .bind(done.id)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                let plain = done.deliveries.iter().map(|d| (d, None));
                let with_files = attached.iter().map(|a| (&a.delivery, Some(&a.attachment)));
                let inserted = insert_attached(&mut tx, plain.chain(with_files), at).await?;
                tx.commit().await.map_err(db)?;
                Ok(inserted)
            }

            async fn put_status_subscriber(
                &self,
                subscriber: &hereby_store::StatusSubscriber,
                deliveries: &[hereby_store::NewDelivery],
            ) -> Result<hereby_store::StatusSubscriber, hereby_store::StoreError> {
                let mut tx = self.write_pool.begin().await.map_err(db)?;
                let names: Vec<&str> =
                    subscriber.components.iter().map(|name| name.as_str()).collect();
                let components = serde_json::to_string(&names).unwrap_or_else(|_| "[]".into());
                let incident = subscriber.incident.map_or(0, |n| int(n.0));
                let micros = |at: Option<jiff::Timestamp>| at.map(|at| at.as_microsecond());
                let sql = if subscriber.id == 0 {
                    "INSERT INTO status_subscribers (kind, address, incident, components, state, \
                     nonce, secret, confirm_expires_at, code_digest, code_expires_at, code_tries, \
                     created_at, updated_at, confirmed_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
                     ON CONFLICT (kind, address, incident) DO UPDATE SET \
                     components = excluded.components, state = excluded.state, \
                     nonce = excluded.nonce, secret = excluded.secret, \
                     confirm_expires_at = excluded.confirm_expires_at, \
                     code_digest = excluded.code_digest, code_expires_at = excluded.code_expires_at, \
                     code_tries = excluded.code_tries, updated_at = excluded.updated_at, \
                     confirmed_at = excluded.confirmed_at \
                     RETURNING id, kind, address, incident, components, state, nonce, secret, \
                     confirm_expires_at, code_digest, code_expires_at, code_tries, created_at, \
                     updated_at, confirmed_at"
                } else {
                    "UPDATE status_subscribers SET kind = $1, address = $2, incident = $3, \
                     components = $4, state = $5, nonce = $6, secret = $7, \
                     confirm_expires_at = $8, code_digest = $9, code_expires_at = $10, \
                     code_tries = $11, created_at = $12, updated_at = $13, confirmed_at = $14 \
                     WHERE id = $15 \
                     RETURNING id, kind, address, incident, components, state, nonce, secret, \
                     confirm_expires_at, code_digest, code_expires_at, code_tries, created_at, \
                     updated_at, confirmed_at"
                };
                let query = sqlx::query(sql)
                    .bind(subscriber.kind.as_str())
                    .bind(&subscriber.address)
                    .bind(incident)
                    .bind(components)
                    .bind(subscriber.state.as_str())
                    .bind(&subscriber.nonce)
                    .bind(&subscriber.secret)
                    .bind(micros(subscriber.confirm_expires_at))
                    .bind(&subscriber.code_digest)
                    .bind(micros(subscriber.code_expires_at))
                    .bind(i64::from(subscriber.code_tries))
                    .bind(subscriber.created_at.as_microsecond())
                    .bind(subscriber.updated_at.as_microsecond())
                    .bind(micros(subscriber.confirmed_at));
                // The insert names no id: its statement has one parameter fewer.
                let query = if subscriber.id == 0 {
                    query
                } else {
                    query.bind(subscriber.id)
                };
                let row = query
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db)?
                    .ok_or_else(|| {
                        hereby_store::StoreError::Invalid(format!(
                            "status subscriber {} no longer exists",
                            subscriber.id
                        ))
                    })?;
                let stored = status_subscriber_row(&row)?;
                insert_deliveries(&mut tx, deliveries, subscriber.updated_at).await?;
                tx.commit().await.map_err(db)?;
                Ok(stored)
            }

            async fn spend_code_try(
                &self,
                id: i64,
                most: u32,
                now: jiff::Timestamp,
            ) -> Result<Option<String>, hereby_store::StoreError> {
                sqlx::query_scalar(
                    "UPDATE status_subscribers SET code_tries = code_tries + 1 \
                     WHERE id = $1 AND code_digest IS NOT NULL AND code_tries < $2 \
                     AND code_expires_at > $3 RETURNING code_digest",
                )
                .bind(id)
                .bind(i64::from(most))
                .bind(now.as_microsecond())
                .fetch_optional(&self.write_pool)
                .await
                .map_err(db)
                .map(Option::flatten)
            }

            async fn status_subscriber(
                &self,
                id: i64,
            ) -> Result<Option<hereby_store::StatusSubscriber>, hereby_store::StoreError> {
                sqlx::query(
                    "SELECT id, kind, address, incident, components, state, nonce, secret, \
                     confirm_expires_at, code_digest, code_expires_at, code_tries, created_at, \
                     updated_at, confirmed_at \
                     FROM status_subscribers WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(&self.readers)
                .await
                .map_err(db)?
                .as_ref()
                .map(status_subscriber_row)
                .transpose()
            }

            async fn status_subscriber_at(
                &self,
                kind: hereby_core::subscribers::SubscriberKind,
                address: &str,
                incident: Option<hereby_core::types::IncidentNumber>,
            ) -> Result<Option<hereby_store::StatusSubscriber>, hereby_store::StoreError> {
                sqlx::query(
                    "SELECT id, kind, address, incident, components, state, nonce, secret, \
                     confirm_expires_at, code_digest, code_expires_at, code_tries, created_at, \
                     updated_at, confirmed_at \
                     FROM status_subscribers WHERE kind = $1 AND address = $2 AND incident = $3",
                )
                .bind(kind.as_str())
                .bind(address)
                .bind(incident.map_or(0, |n| int(n.0)))
                .fetch_optional(&self.readers)
                .await
                .map_err(db)?
                .as_ref()
                .map(status_subscriber_row)
                .transpose()
            }

            async fn status_subscribers(
                &self,
                state: Option<hereby_core::subscribers::SubscriberState>,
                after: i64,
                limit: u32,
            ) -> Result<Vec<hereby_store::StatusSubscriber>, hereby_store::StoreError> {
                sqlx::query(
                    "SELECT id, kind, address, incident, components, state, nonce, secret, \
                     confirm_expires_at, code_digest, code_expires_at, code_tries, created_at, \
                     updated_at, confirmed_at \
                     FROM status_subscribers WHERE ($1 = '' OR state = $1) AND id > $2 \
                     ORDER BY id LIMIT $3",
                )
                .bind(state.map_or("", |state| state.as_str()))
                .bind(after)
                .bind(i64::from(limit))
                .fetch_all(&self.readers)
                .await
                .map_err(db)?
                .iter()
                .map(status_subscriber_row)
                .collect()
            }

            async fn put_tracked(
                &self,
                tracked: &hereby_store::TrackedFollowUp,
            ) -> Result<(), hereby_store::StoreError> {
                let micros = |at: Option<jiff::Timestamp>| at.map(|at| at.as_microsecond());
                sqlx::query(
                    "INSERT INTO tracked_follow_ups (incident, item, tracker, external, issue_key, \
                     url, state, reason, remote_updated_at, synced_at, sync_error, error_at, \
                     created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
                     ON CONFLICT (incident, item) DO UPDATE SET tracker = excluded.tracker, \
                     external = excluded.external, issue_key = excluded.issue_key, \
                     url = excluded.url, state = excluded.state, reason = excluded.reason, \
                     remote_updated_at = excluded.remote_updated_at, \
                     synced_at = excluded.synced_at, sync_error = excluded.sync_error, \
                     error_at = excluded.error_at",
                )
                .bind(int(tracked.incident.0))
                .bind(i64::from(tracked.item))
                .bind(&tracked.tracker)
                .bind(&tracked.external)
                .bind(&tracked.key)
                .bind(&tracked.url)
                .bind(&tracked.state)
                .bind(&tracked.reason)
                .bind(micros(tracked.remote_updated_at))
                .bind(micros(tracked.synced_at))
                .bind(&tracked.sync_error)
                .bind(micros(tracked.error_at))
                .bind(tracked.created_at.as_microsecond())
                .execute(&self.write_pool)
                .await
                .map_err(db)?;
                Ok(())
            }

            async fn tracked_follow_ups(
                &self,
                query: &hereby_store::TrackedQuery,
            ) -> Result<Vec<hereby_store::TrackedFollowUp>, hereby_store::StoreError> {
                let (tracker, external) = query.issue.clone().unwrap_or_default();
                sqlx::query(
                    "SELECT incident, item, tracker, external, issue_key, url, state, reason, \
                     remote_updated_at, synced_at, sync_error, error_at, created_at \
                     FROM tracked_follow_ups \
                     WHERE ($1 = 0 OR incident = $1) AND ($2 = 0 OR item = $2) \
                     AND ($3 = '' OR (tracker = $3 AND external = $4)) \
                     AND ($5 = 0 OR (external IS NOT NULL AND COALESCE(synced_at, 0) < $5)) \
                     ORDER BY CASE WHEN $5 = 0 THEN 0 ELSE COALESCE(synced_at, 0) END, \
                     incident, item LIMIT $6",
                )
                .bind(query.incident.map_or(0, |n| int(n.0)))
                .bind(i64::from(query.item.unwrap_or(0)))
                .bind(tracker)
                .bind(external)
                .bind(query.synced_before.map_or(0, |at| at.as_microsecond()))
                .bind(i64::from(query.limit))
                .fetch_all(&self.readers)
                .await
                .map_err(db)?
                .iter()
                .map(tracked_row)
                .collect()
            }

            async fn tracker_sync_errors(
                &self,
            ) -> Result<Vec<(String, u64)>, hereby_store::StoreError> {
                let rows: Vec<(String, i64)> = sqlx::query_as(
                    "SELECT tracker, COUNT(*) FROM tracked_follow_ups \
                     WHERE sync_error IS NOT NULL GROUP BY tracker ORDER BY tracker",
                )
                .fetch_all(&self.readers)
                .await
                .map_err(db)?;
                Ok(rows
                    .into_iter()
                    .map(|(tracker, count)| (tracker, u64::try_from(count).unwrap_or_default()))
                    .collect())
            }

            async fn tracker_delivery_seen(
                &self,
                tracker: &str,
                delivery: &str,
            ) -> Result<bool, hereby_store::StoreError> {
                let found: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM tracker_deliveries WHERE tracker = $1 AND delivery = $2",
                )
                .bind(tracker)
                .bind(delivery)
                .fetch_one(&self.readers)
                .await
                .map_err(db)?;
                Ok(found > 0)
            }

            async fn note_tracker_delivery(
                &self,
                tracker: &str,
                delivery: &str,
                at: jiff::Timestamp,
            ) -> Result<bool, hereby_store::StoreError> {
                let week = 7 * 24 * 60 * 60 * 1_000_000_i64;
                let mut tx = self.write_pool.begin().await.map_err(db)?;
                sqlx::query("DELETE FROM tracker_deliveries WHERE received_at < $1")
                    .bind(at.as_microsecond().saturating_sub(week))
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                let done = sqlx::query(
                    "INSERT INTO tracker_deliveries (tracker, delivery, received_at) \
                     VALUES ($1, $2, $3) ON CONFLICT (tracker, delivery) DO NOTHING",
                )
                .bind(tracker)
                .bind(delivery)
                .bind(at.as_microsecond())
                .execute(&mut *tx)
                .await
                .map_err(db)?;
                tx.commit().await.map_err(db)?;
                Ok(done.rows_affected() > 0)
            }

            async fn remove_status_subscriber(
                &self,
                id: i64,
            ) -> Result<bool, hereby_store::StoreError> {
                let done = sqlx::query("DELETE FROM status_subscribers WHERE id = $1")
                    .bind(id)
                    .execute(&self.write_pool)
                    .await
                    .map_err(db)?;
                Ok(done.rows_affected() > 0)
            }
        }
    };
}
