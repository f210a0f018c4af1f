//! The part of a SQL backend that is the same for SQLite and PostgreSQL, written once.
//!
//! Both databases take `$1`-style placeholders and share the schema's column names and types,
//! so reading events, heads and projection rows, inserting a projection row and its members,
//! filtering lists, and the whole [`Store`](crate::Store) implementation are the same code
//! over different sqlx types. A macro rather than generic functions keeps that code as plain
//! as if it were written in each backend (sqlx's generic bounds would obscure it), and this
//! crate free of sqlx.
//!
//! The expanding crate must depend on `sqlx`, `hereby-core`, `hereby-store` and `jiff`, and its
//! store type must have the fields `readers` (a `sqlx::Pool`), `write_pool` (a pool whose
//! connections may write, for the [`Directory`](crate::Directory) in `sql_directory.rs`) and
//! `writer` (a [`WriterHandle`](crate::writer::WriterHandle)).

/// Expands the shared SQL backend code, the [`Directory`](crate::Directory) included.
/// `head_sql` is the query that reads a stream's head inside a write transaction (PostgreSQL
/// locks the row with `FOR UPDATE`); `services_elements` is the table function listing the
/// elements of the JSON array in `incidents.services` as a column `value`;
/// `ascii_collation` is appended to a text column to make `lower` fold ASCII letters only
/// (SQLite's `lower` does nothing else; PostgreSQL's does under `COLLATE "C"`), so text search
/// matches the same rows on both; `begin_users_exclusive` is passed on to
/// `sql_directory_common!`; `begin_write`, `begin_dispatch` and `skip_locked` to
/// `sql_notify_common!`.
#[macro_export]
macro_rules! sql_backend_common {
    (
        store: $store:ty,
        database: $database:ty,
        row: $row:ty,
        head_sql: $head_sql:literal,
        services_elements: $services_elements:literal,
        ascii_collation: $ascii_collation:literal,
        begin_users_exclusive: $begin_users_exclusive:literal,
        begin_write: $begin_write:literal,
        begin_dispatch: $begin_dispatch:literal,
        skip_locked: $skip_locked:literal,
        lock_key: $lock_key:literal,
        wake_on_commits: $wake_on_commits:path $(,)?
    ) => {
        $crate::sql_directory_common! {
            store: $store,
            database: $database,
            row: $row,
            begin_users_exclusive: $begin_users_exclusive,
        }
        $crate::sql_communications_common! { store: $store, row: $row, database: $database }

        $crate::sql_alerts_common! {
            store: $store,
            row: $row,
            begin_write: $begin_write,
            lock_key: $lock_key,
        }

        $crate::sql_chat_common! { store: $store, row: $row }

        $crate::sql_notify_common! {
            store: $store,
            database: $database,
            row: $row,
            begin_write: $begin_write,
            begin_dispatch: $begin_dispatch,
            skip_locked: $skip_locked,
        }

        fn db(error: sqlx::Error) -> hereby_store::StoreError {
            // PostgreSQL refuses a NUL character in text (22021) and in JSON (22P05): the
            // request was at fault, not the database, and nothing was written.
            let code = error
                .as_database_error()
                .and_then(|database| database.code())
                .map(|code| code.into_owned());
            match code.as_deref() {
                Some("22021" | "22P05") => hereby_store::StoreError::Invalid(
                    "text must not contain NUL characters".to_owned(),
                ),
                _ => hereby_store::StoreError::Database(error.to_string()),
            }
        }

        fn int(value: u64) -> i64 {
            i64::try_from(value).unwrap_or(i64::MAX)
        }

        fn stored_event(row: &$row) -> Result<hereby_store::StoredEvent, hereby_store::StoreError> {
            use sqlx::Row as _;
            let event_version: i64 = row.try_get("event_version").map_err(db)?;
            Ok(hereby_store::StoredEvent {
                position: row.try_get("position").map_err(db)?,
                link: hereby_core::chain::StoredLink {
                    incident: hereby_store::prepare::count(row.try_get("incident").map_err(db)?),
                    sequence: hereby_store::prepare::count(row.try_get("sequence").map_err(db)?),
                    recorded_at_micros: row.try_get("recorded_at").map_err(db)?,
                    actor: row.try_get("actor").map_err(db)?,
                    event_type: row.try_get("event_type").map_err(db)?,
                    event_version: u32::try_from(event_version).unwrap_or(u32::MAX),
                    body: row.try_get("body").map_err(db)?,
                    prev_hash: row.try_get("prev_hash").map_err(db)?,
                    hash: row.try_get("hash").map_err(db)?,
                },
            })
        }

        /// Up to `limit` events of one stream after `after_sequence`.
        async fn stream<'e, E>(
            executor: E,
            incident: hereby_core::types::IncidentNumber,
            after_sequence: u64,
            limit: u32,
        ) -> Result<Vec<hereby_store::StoredEvent>, hereby_store::StoreError>
        where
            E: sqlx::Executor<'e, Database = $database>,
        {
            sqlx::query(
                "SELECT position, incident, sequence, recorded_at, actor, event_type, \
                 event_version, body, prev_hash, hash FROM events \
                 WHERE incident = $1 AND sequence > $2 ORDER BY sequence LIMIT $3",
            )
            .bind(int(incident.0))
            .bind(int(after_sequence))
            .bind(i64::from(limit))
            .fetch_all(executor)
            .await
            .map_err(db)?
            .iter()
            .map(stored_event)
            .collect()
        }

        /// A stream's head inside a write transaction, rebuilding the state from the stream
        /// when the snapshot is unusable.
        async fn read_head(
            conn: &mut <$database as sqlx::Database>::Connection,
            incident: hereby_core::types::IncidentNumber,
        ) -> Result<Option<hereby_store::prepare::CurrentHead>, hereby_store::StoreError> {
            use sqlx::Row as _;
            let Some(row) = sqlx::query($head_sql)
                .bind(int(incident.0))
                .fetch_optional(&mut *conn)
                .await
                .map_err(db)?
            else {
                return Ok(None);
            };
            let last_hash: Vec<u8> = row.try_get("last_hash").map_err(db)?;
            let snapshot: String = row.try_get("state").map_err(db)?;
            let format: i64 = row.try_get("state_format").map_err(db)?;
            let state = match hereby_store::prepare::decode_snapshot(format, &snapshot) {
                Some(state) => state,
                None => hereby_store::prepare::replay(&stream(&mut *conn, incident, 0, u32::MAX).await?)?,
            };
            Ok(Some(hereby_store::prepare::CurrentHead {
                version: hereby_store::prepare::count(row.try_get("version").map_err(db)?),
                last_hash: hereby_store::prepare::stored_hash(incident, &last_hash)?,
                state,
            }))
        }

        /// Replaces an incident's `incident_members` rows if the append changed them. Call
        /// it once the `incidents` row is written, inside the same transaction.
        async fn write_members(
            conn: &mut <$database as sqlx::Database>::Connection,
            p: &hereby_store::prepare::PreparedAppend,
        ) -> Result<(), hereby_store::StoreError> {
            if !p.members_changed {
                return Ok(());
            }
            if !p.starts_stream() {
                sqlx::query("DELETE FROM incident_members WHERE incident = $1")
                    .bind(int(p.incident.0))
                    .execute(&mut *conn)
                    .await
                    .map_err(db)?;
            }
            if p.members.is_empty() {
                return Ok(());
            }
            sqlx::QueryBuilder::<$database>::new("INSERT INTO incident_members (incident, person) ")
                .push_values(&p.members, |mut row, person| {
                    row.push_bind(int(p.incident.0)).push_bind(person.as_str());
                })
                .build()
                .execute(&mut *conn)
                .await
                .map_err(db)?;
            Ok(())
        }

        /// Advances the incident counter inside a write transaction and returns the new
        /// number; a rollback gives it back, so numbers stay gap-free.
        async fn next_incident_number(
            conn: &mut <$database as sqlx::Database>::Connection,
        ) -> Result<u64, hereby_store::StoreError> {
            let number: i64 = sqlx::query_scalar(
                "UPDATE counters SET value = value + 1 WHERE name = 'incident_number' RETURNING value",
            )
            .fetch_one(&mut *conn)
            .await
            .map_err(db)?;
            Ok(hereby_store::prepare::count(number))
        }

        /// Inserts the projection rows of a new incident: its `incidents` row and its members.
        async fn insert_incident(
            conn: &mut <$database as sqlx::Database>::Connection,
            p: &hereby_store::prepare::PreparedAppend,
        ) -> Result<(), hereby_store::StoreError> {
            let s = &p.summary;
            sqlx::query(
                "INSERT INTO incidents (number, title, status, severity, potential, visibility, \
                 services, commander, roles, declared_at, resolved_at, updated_at, version, \
                 last_hash, state, state_format, summary) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
            )
            .bind(int(s.number.0))
            .bind(&s.title)
            .bind(s.status.as_str())
            .bind(s.severity.as_str())
            .bind(s.potential)
            .bind(s.visibility.as_str())
            .bind(&p.services_json)
            .bind(&s.commander)
            .bind(&p.roles_json)
            .bind(s.declared_at.as_microsecond())
            .bind(s.resolved_at.map(|t| t.as_microsecond()))
            .bind(s.updated_at.as_microsecond())
            .bind(int(p.version))
            .bind(p.last_hash.as_slice())
            .bind(&p.snapshot)
            .bind(hereby_store::prepare::STATE_FORMAT)
            .bind(&s.summary)
            .execute(&mut *conn)
            .await
            .map_err(db)?;
            write_members(conn, p).await
        }

        fn raw_summary(row: &$row) -> Result<hereby_store::prepare::RawSummary, hereby_store::StoreError> {
            use sqlx::Row as _;
            Ok(hereby_store::prepare::RawSummary {
                number: row.try_get("number").map_err(db)?,
                title: row.try_get("title").map_err(db)?,
                summary: row.try_get("summary").map_err(db)?,
                status: row.try_get("status").map_err(db)?,
                severity: row.try_get("severity").map_err(db)?,
                potential: row.try_get("potential").map_err(db)?,
                visibility: row.try_get("visibility").map_err(db)?,
                services_json: row.try_get("services").map_err(db)?,
                commander: row.try_get("commander").map_err(db)?,
                roles_json: row.try_get("roles").map_err(db)?,
                declared_at: row.try_get("declared_at").map_err(db)?,
                resolved_at: row.try_get("resolved_at").map_err(db)?,
                updated_at: row.try_get("updated_at").map_err(db)?,
                version: row.try_get("version").map_err(db)?,
            })
        }

        impl hereby_store::Store for $store {
            fn wake_on_commits(&self, wake: std::sync::Arc<tokio::sync::Notify>) -> bool {
                $wake_on_commits(self, wake)
            }

            async fn declare(
                &self,
                batch: hereby_store::NewEvents,
            ) -> Result<hereby_store::Appended, hereby_store::StoreError> {
                self.writer
                    .submit(hereby_store::writer::WriteJob {
                        kind: hereby_store::writer::WriteKind::Declare,
                        batch,
                    })
                    .await
            }

            async fn append(
                &self,
                incident: hereby_core::types::IncidentNumber,
                expected_version: u64,
                batch: hereby_store::NewEvents,
            ) -> Result<hereby_store::Appended, hereby_store::StoreError> {
                self.writer
                    .submit(hereby_store::writer::WriteJob {
                        kind: hereby_store::writer::WriteKind::Append {
                            incident,
                            expected_version,
                        },
                        batch,
                    })
                    .await
            }

            async fn load(
                &self,
                incident: hereby_core::types::IncidentNumber,
            ) -> Result<hereby_store::Loaded, hereby_store::StoreError> {
                use sqlx::Row as _;
                let row = sqlx::query("SELECT version, state, state_format FROM incidents WHERE number = $1")
                    .bind(int(incident.0))
                    .fetch_optional(&self.readers)
                    .await
                    .map_err(db)?
                    .ok_or(hereby_store::StoreError::NotFound(incident))?;
                let snapshot: String = row.try_get("state").map_err(db)?;
                let format: i64 = row.try_get("state_format").map_err(db)?;
                if let Some(state) = hereby_store::prepare::decode_snapshot(format, &snapshot) {
                    return Ok(hereby_store::Loaded {
                        incident,
                        version: hereby_store::prepare::count(row.try_get("version").map_err(db)?),
                        state,
                    });
                }
                // A snapshot in an older format: fold the stream inside one read transaction.
                let mut tx = self.readers.begin().await.map_err(db)?;
                let events = stream(&mut *tx, incident, 0, u32::MAX).await?;
                Ok(hereby_store::Loaded {
                    incident,
                    version: events.len() as u64,
                    state: hereby_store::prepare::replay(&events)?,
                })
            }

            async fn head(
                &self,
                incident: hereby_core::types::IncidentNumber,
            ) -> Result<hereby_store::Head, hereby_store::StoreError> {
                use sqlx::Row as _;
                let row = sqlx::query("SELECT version, last_hash FROM incidents WHERE number = $1")
                    .bind(int(incident.0))
                    .fetch_optional(&self.readers)
                    .await
                    .map_err(db)?
                    .ok_or(hereby_store::StoreError::NotFound(incident))?;
                Ok(hereby_store::Head {
                    version: hereby_store::prepare::count(row.try_get("version").map_err(db)?),
                    last_hash: row.try_get("last_hash").map_err(db)?,
                })
            }

            async fn read_stream(
                &self,
                incident: hereby_core::types::IncidentNumber,
                after_sequence: u64,
                limit: u32,
            ) -> Result<Vec<hereby_store::StoredEvent>, hereby_store::StoreError> {
                stream(&self.readers, incident, after_sequence, limit).await
            }

            async fn read_stream_of_type(
                &self,
                incident: hereby_core::types::IncidentNumber,
                event_type: &str,
                after_sequence: u64,
                limit: u32,
            ) -> Result<Vec<hereby_store::StoredEvent>, hereby_store::StoreError> {
                sqlx::query(
                    "SELECT position, incident, sequence, recorded_at, actor, event_type, \
                     event_version, body, prev_hash, hash FROM events \
                     WHERE incident = $1 AND event_type = $2 AND sequence > $3 \
                     ORDER BY sequence LIMIT $4",
                )
                .bind(int(incident.0))
                .bind(event_type)
                .bind(int(after_sequence))
                .bind(i64::from(limit))
                .fetch_all(&self.readers)
                .await
                .map_err(db)?
                .iter()
                .map(stored_event)
                .collect()
            }

            async fn read_all(
                &self,
                after_position: i64,
                limit: u32,
            ) -> Result<Vec<hereby_store::StoredEvent>, hereby_store::StoreError> {
                sqlx::query(
                    "SELECT position, incident, sequence, recorded_at, actor, event_type, \
                     event_version, body, prev_hash, hash FROM events \
                     WHERE position > $1 ORDER BY position LIMIT $2",
                )
                .bind(after_position)
                .bind(i64::from(limit))
                .fetch_all(&self.readers)
                .await
                .map_err(db)?
                .iter()
                .map(stored_event)
                .collect()
            }

            async fn last_position(&self) -> Result<i64, hereby_store::StoreError> {
                sqlx::query_scalar("SELECT COALESCE(MAX(position), 0) FROM events")
                    .fetch_one(&self.readers)
                    .await
                    .map_err(db)
            }

            async fn count_by_status(
                &self,
            ) -> Result<Vec<(hereby_core::types::Status, u64)>, hereby_store::StoreError> {
                let rows: Vec<(String, i64)> =
                    sqlx::query_as("SELECT status, COUNT(*) FROM incidents GROUP BY status ORDER BY status")
                        .fetch_all(&self.readers)
                        .await
                        .map_err(db)?;
                rows.into_iter()
                    .map(|(status, count)| {
                        hereby_core::types::Status::parse(&status)
                            .map(|status| (status, hereby_store::prepare::count(count)))
                            .map_err(|e| hereby_store::StoreError::Corrupt(format!("incident status: {e}")))
                    })
                    .collect()
            }

            async fn list_incidents(
                &self,
                query: &hereby_store::ListQuery,
            ) -> Result<Vec<hereby_store::IncidentSummary>, hereby_store::StoreError> {
                let mut sql = listing(
                    "number, title, summary, status, severity, potential, visibility, \
                     services, commander, roles, declared_at, resolved_at, updated_at, version",
                    query,
                    1_000,
                );
                sql.build()
                    .persistent(false)
                    .fetch_all(&self.readers)
                    .await
                    .map_err(db)?
                    .iter()
                    .map(|row| raw_summary(row)?.into_summary())
                    .collect()
            }

            async fn list_versions(
                &self,
                query: &hereby_store::ListQuery,
            ) -> Result<Vec<hereby_store::IncidentVersion>, hereby_store::StoreError> {
                let mut sql =
                    listing("number, version, declared_at", query, hereby_store::MOST_VERSIONS);
                sql.build()
                    .persistent(false)
                    .fetch_all(&self.readers)
                    .await
                    .map_err(db)?
                    .iter()
                    .map(|row| {
                        let number: i64 = sqlx::Row::try_get(row, "number").map_err(db)?;
                        let version: i64 = sqlx::Row::try_get(row, "version").map_err(db)?;
                        let declared_at: i64 = sqlx::Row::try_get(row, "declared_at").map_err(db)?;
                        Ok(hereby_store::IncidentVersion {
                            number: hereby_core::types::IncidentNumber(hereby_store::prepare::count(number)),
                            version: hereby_store::prepare::count(version),
                            declared_at: hereby_store::prepare::timestamp(declared_at)?,
                        })
                    })
                    .collect()
            }
        }

        /// The listing `query` asks for, of `columns`, newest first, at most `most` rows.
        /// Built from fixed fragments only; every value is bound. Callers run it with
        /// `persistent(false)`, so it is planned for its own filters each time: a plan kept
        /// for any statuses read every incident's row to find the few still under way.
        fn listing(
            columns: &str,
            query: &hereby_store::ListQuery,
            most: u32,
        ) -> sqlx::QueryBuilder<$database> {
            let mut sql = sqlx::QueryBuilder::<$database>::new(format!(
                "SELECT {columns} FROM incidents WHERE number < "
            ));
            sql.push_bind(query.before.map_or(i64::MAX, |before| int(before.0)));
            let statuses = query.statuses.iter().map(|status| status.as_str()).collect();
            let severities = query.severities.iter().map(|severity| severity.as_str()).collect();
            let visibilities =
                query.visibilities.iter().map(|visibility| visibility.as_str()).collect();
            let any_of: [(&str, Vec<&'static str>); 3] = [
                (" AND status IN (", statuses),
                (" AND severity IN (", severities),
                (" AND visibility IN (", visibilities),
            ];
            for (column_in, values) in any_of {
                if values.is_empty() {
                    continue;
                }
                sql.push(column_in);
                let mut list = sql.separated(", ");
                for value in values {
                    list.push_bind(value);
                }
                sql.push(")");
            }
            if let Some(service) = &query.service {
                // Whole elements of the JSON array: no pattern matching, so `_` is just `_`.
                sql.push(concat!(
                    " AND EXISTS (SELECT 1 FROM ",
                    $services_elements,
                    " WHERE value = "
                ))
                .push_bind(service.as_str().to_owned())
                .push(")");
            }
            if let Some(user) = &query.visible_to {
                sql.push(" AND (visibility <> ")
                    .push_bind(hereby_core::types::Visibility::Restricted.as_str())
                    .push(
                        " OR EXISTS (SELECT 1 FROM incident_members \
                         WHERE incident_members.incident = incidents.number \
                         AND incident_members.person = ",
                    )
                    .push_bind(user.as_str().to_owned())
                    .push("))");
            }
            if let Some(text) = &query.text {
                let pattern = hereby_store::prepare::contains_pattern(text);
                sql.push(concat!(" AND (lower(title", $ascii_collation, ") LIKE "))
                    .push_bind(pattern.clone())
                    .push(concat!(
                        " ESCAPE '\\' OR lower(summary",
                        $ascii_collation,
                        ") LIKE "
                    ))
                    .push_bind(pattern)
                    .push(" ESCAPE '\\')");
            }
            sql.push(" ORDER BY number DESC LIMIT ")
                .push_bind(i64::from(query.limit.min(most)));
            sql
        }

        impl hereby_store::Blobs for $store {
            async fn put_blob(
                &self,
                sha256: [u8; 32],
                content: &[u8],
                at: jiff::Timestamp,
            ) -> Result<(), hereby_store::StoreError> {
                sqlx::query(
                    "INSERT INTO attachments (sha256, size, content, created_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (sha256) DO NOTHING",
                )
                .bind(sha256.as_slice())
                .bind(i64::try_from(content.len()).unwrap_or(i64::MAX))
                .bind(content)
                .bind(at.as_microsecond())
                .execute(&self.write_pool)
                .await
                .map_err(db)?;
                Ok(())
            }

            async fn get_blob(&self, sha256: [u8; 32]) -> Result<Option<Vec<u8>>, hereby_store::StoreError> {
                sqlx::query_scalar("SELECT content FROM attachments WHERE sha256 = $1")
                    .bind(sha256.as_slice())
                    .fetch_optional(&self.readers)
                    .await
                    .map_err(db)
            }
        }
    };
}
