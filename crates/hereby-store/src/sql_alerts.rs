//! The [`Alerts`](crate::Alerts) of a SQL backend, the same for SQLite and PostgreSQL,
//! written once like `sql.rs`.
//!
//! Recording a payload is one write transaction. Before it reads anything, it takes a lock on
//! every alert key and group key the payload touches, in sorted order so that two payloads
//! never wait for each other in a circle: on PostgreSQL transaction-scoped advisory locks
//! (several nodes may record at once), on SQLite nothing, as the transaction already holds
//! the database's one write lock.

/// Expands the shared [`Alerts`](crate::Alerts) implementation. Expanded by
/// `sql_backend_common!`, whose helpers (`db`, `int`) it uses. `lock_key` is a statement
/// taking a text key that locks it until the transaction ends, or empty for none.
#[doc(hidden)]
#[macro_export]
macro_rules! sql_alerts_common {
    (
        store: $store:ty,
        row: $row:ty,
        begin_write: $begin_write:literal,
        lock_key: $lock_key:literal $(,)?
    ) => {
        const INTEGRATION_COLUMNS: &str =
            "id, name, kind, created_at, revoked_at, previous_until, last_event_at";
        const GROUP_COLUMNS: &str = "id, route, group_key, label, title, severity, service, \
             opened_at, last_alert_at, resolved_at, previous_id, firing, alerts, events, reopened, \
             wants_incident, incident";
        const ALERT_COLUMNS: &str = "id, integration_id, dedup_key, group_id, firing, summary, \
             labels, first_seen, last_seen, resolved_at, count";

        fn optional_time(
            micros: Option<i64>,
        ) -> Result<Option<jiff::Timestamp>, hereby_store::StoreError> {
            micros.map(hereby_store::prepare::timestamp).transpose()
        }

        fn integration_row(
            row: &$row,
        ) -> Result<hereby_store::Integration, hereby_store::StoreError> {
            use sqlx::Row as _;
            Ok(hereby_store::Integration {
                id: row.try_get("id").map_err(db)?,
                name: row.try_get("name").map_err(db)?,
                kind: row.try_get("kind").map_err(db)?,
                created_at: hereby_store::prepare::timestamp(row.try_get("created_at").map_err(db)?)?,
                revoked_at: optional_time(row.try_get("revoked_at").map_err(db)?)?,
                previous_until: optional_time(row.try_get("previous_until").map_err(db)?)?,
                last_event_at: optional_time(row.try_get("last_event_at").map_err(db)?)?,
            })
        }

        fn count(value: i64) -> u64 {
            u64::try_from(value).unwrap_or(0)
        }

        fn group_row(row: &$row) -> Result<hereby_store::AlertGroup, hereby_store::StoreError> {
            use sqlx::Row as _;
            let id: i64 = row.try_get("id").map_err(db)?;
            let severity: String = row.try_get("severity").map_err(db)?;
            let incident: Option<i64> = row.try_get("incident").map_err(db)?;
            Ok(hereby_store::AlertGroup {
                id,
                route: row.try_get("route").map_err(db)?,
                group_key: row.try_get("group_key").map_err(db)?,
                label: row.try_get("label").map_err(db)?,
                title: row.try_get("title").map_err(db)?,
                severity: hereby_core::types::Severity::parse(&severity).map_err(|e| {
                    hereby_store::StoreError::Corrupt(format!("alert group {id}: {e}"))
                })?,
                service: row.try_get("service").map_err(db)?,
                opened_at: hereby_store::prepare::timestamp(row.try_get("opened_at").map_err(db)?)?,
                last_alert_at: hereby_store::prepare::timestamp(
                    row.try_get("last_alert_at").map_err(db)?,
                )?,
                resolved_at: optional_time(row.try_get("resolved_at").map_err(db)?)?,
                previous: row.try_get("previous_id").map_err(db)?,
                firing: count(row.try_get("firing").map_err(db)?),
                alerts: count(row.try_get("alerts").map_err(db)?),
                events: count(row.try_get("events").map_err(db)?),
                reopened: count(row.try_get("reopened").map_err(db)?),
                wants_incident: row.try_get("wants_incident").map_err(db)?,
                incident: incident
                    .map(|number| u64::try_from(number).map(hereby_core::types::IncidentNumber))
                    .transpose()
                    .map_err(|_| {
                        hereby_store::StoreError::Corrupt(format!("alert group {id}: incident"))
                    })?,
            })
        }

        fn alert_row(row: &$row) -> Result<hereby_store::AlertRecord, hereby_store::StoreError> {
            use sqlx::Row as _;
            let id: i64 = row.try_get("id").map_err(db)?;
            let labels: String = row.try_get("labels").map_err(db)?;
            Ok(hereby_store::AlertRecord {
                id,
                integration: row.try_get("integration_id").map_err(db)?,
                dedup_key: row.try_get("dedup_key").map_err(db)?,
                group: row.try_get("group_id").map_err(db)?,
                firing: row.try_get("firing").map_err(db)?,
                summary: row.try_get("summary").map_err(db)?,
                labels: serde_json::from_str(&labels).map_err(|e| {
                    hereby_store::StoreError::Corrupt(format!("alert {id}: labels: {e}"))
                })?,
                first_seen: hereby_store::prepare::timestamp(row.try_get("first_seen").map_err(db)?)?,
                last_seen: hereby_store::prepare::timestamp(row.try_get("last_seen").map_err(db)?)?,
                resolved_at: optional_time(row.try_get("resolved_at").map_err(db)?)?,
                count: count(row.try_get("count").map_err(db)?),
            })
        }

        fn taken(what: &str) -> impl Fn(sqlx::Error) -> hereby_store::StoreError + '_ {
            move |error| match &error {
                sqlx::Error::Database(e) if e.is_unique_violation() => {
                    hereby_store::StoreError::Invalid(format!("{what} is taken"))
                }
                _ => db(error),
            }
        }

        /// Records one signal inside the payload's transaction.
        async fn record_signal(
            tx: &mut sqlx::Transaction<'static, <$row as sqlx::Row>::Database>,
            integration: i64,
            payload: i64,
            signal: &hereby_core::alerts::Signal,
            routes: &hereby_core::alerts::Routes,
            at: jiff::Timestamp,
        ) -> Result<hereby_store::AlertOutcome, hereby_store::StoreError> {
            use hereby_core::alerts::Placement;
            use hereby_store::{AlertChange, AlertOutcome};
            use sqlx::Row as _;
            let now = at.as_microsecond();
            let latest = sqlx::query(
                "SELECT id, group_id, firing FROM alerts WHERE integration_id = $1 \
                 AND dedup_key = $2 ORDER BY id DESC LIMIT 1",
            )
            .bind(integration)
            .bind(&signal.dedup_key)
            .fetch_optional(&mut **tx)
            .await
            .map_err(db)?;
            let latest: Option<(i64, i64, bool)> = match latest {
                Some(row) => Some((
                    row.try_get("id").map_err(db)?,
                    row.try_get("group_id").map_err(db)?,
                    row.try_get("firing").map_err(db)?,
                )),
                None => None,
            };
            if !signal.firing {
                // A resolve ends a firing alert and never creates anything.
                let Some((alert, group, true)) = latest else {
                    return Ok(AlertOutcome {
                        change: AlertChange::Orphan,
                        alert: latest.map(|(alert, _, _)| alert),
                        group: latest.map(|(_, group, _)| group),
                        route: None,
                        placement: None,
                    waits: false,
                    });
                };
                sqlx::query(
                    "UPDATE alerts SET firing = $1, resolved_at = $2, last_seen = $2, \
                     count = count + 1 WHERE id = $3",
                )
                .bind(false)
                .bind(now)
                .bind(alert)
                .execute(&mut **tx)
                .await
                .map_err(db)?;
                let route: String = sqlx::query_scalar(
                    "UPDATE alert_groups SET firing = firing - 1, events = events + 1, \
                     resolved_at = CASE WHEN firing = 1 THEN $1 ELSE resolved_at END, \
                     wants_incident = CASE WHEN firing = 1 THEN $3 ELSE wants_incident END \
                     WHERE id = $2 RETURNING route",
                )
                .bind(now)
                .bind(group)
                .bind(false)
                .fetch_one(&mut **tx)
                .await
                .map_err(db)?;
                return Ok(AlertOutcome {
                    change: AlertChange::Resolved,
                    alert: Some(alert),
                    group: Some(group),
                    route: Some(route),
                    placement: None,
                    waits: false,
                });
            }
            if let Some((alert, group, true)) = latest {
                // The same alert again: a duplicate only bumps the count and last-seen time.
                sqlx::query("UPDATE alerts SET count = count + 1, last_seen = $1 WHERE id = $2")
                    .bind(now)
                    .bind(alert)
                    .execute(&mut **tx)
                    .await
                    .map_err(db)?;
                let route: String = sqlx::query_scalar(
                    "UPDATE alert_groups SET events = events + 1 WHERE id = $1 RETURNING route",
                )
                .bind(group)
                .fetch_one(&mut **tx)
                .await
                .map_err(db)?;
                return Ok(AlertOutcome {
                    change: AlertChange::Duplicate,
                    alert: Some(alert),
                    group: Some(group),
                    route: Some(route),
                    placement: None,
                    waits: false,
                });
            }
            let Some(route) = routes.route_for(&signal.labels) else {
                return Ok(AlertOutcome {
                    change: AlertChange::Unrouted,
                    alert: None,
                    group: None,
                    route: None,
                    placement: None,
                    waits: false,
                });
            };
            let key = route.group_key(signal);
            let current = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {GROUP_COLUMNS} FROM alert_groups WHERE route = $1 AND group_key = $2 \
                 ORDER BY id DESC LIMIT 1"
            )))
            .bind(&route.name)
            .bind(&key)
            .fetch_optional(&mut **tx)
            .await
            .map_err(db)?
            .as_ref()
            .map(group_row)
            .transpose()?;
            let facts = current.as_ref().map(|group| hereby_core::alerts::GroupFacts {
                opened_at: group.opened_at,
                last_alert_at: group.last_alert_at,
                resolved_at: group.resolved_at,
            });
            let placement = hereby_core::alerts::place(route, facts.as_ref(), at);
            let group = match (placement, &current) {
                (Placement::Join, Some(current)) => {
                    sqlx::query(
                        "UPDATE alert_groups SET firing = firing + 1, alerts = alerts + 1, \
                         events = events + 1, last_alert_at = $1 WHERE id = $2",
                    )
                    .bind(now)
                    .bind(current.id)
                    .execute(&mut **tx)
                    .await
                    .map_err(db)?;
                    current.id
                }
                (Placement::Reopen, Some(current)) => {
                    sqlx::query(
                        "UPDATE alert_groups SET firing = firing + 1, alerts = alerts + 1, \
                         events = events + 1, last_alert_at = $1, resolved_at = NULL, \
                         reopened = reopened + 1 WHERE id = $2",
                    )
                    .bind(now)
                    .bind(current.id)
                    .execute(&mut **tx)
                    .await
                    .map_err(db)?;
                    current.id
                }
                _ => sqlx::query_scalar(
                    "INSERT INTO alert_groups (route, group_key, label, title, severity, service, \
                     opened_at, last_alert_at, resolved_at, previous_id, firing, alerts, events, \
                     reopened, wants_incident, incident) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $7, NULL, $8, 1, 1, 1, 0, $9, NULL) \
                     RETURNING id",
                )
                .bind(&route.name)
                .bind(&key)
                .bind(route.group_label(signal))
                .bind(&signal.summary)
                .bind(route.severity_of(signal).as_str())
                .bind(route.service_of(signal).map(|s| s.to_string()))
                .bind(now)
                .bind(current.as_ref().map(|group| group.id))
                .bind(false)
                .fetch_one(&mut **tx)
                .await
                .map_err(db)?,
            };
            let labels = serde_json::to_string(&signal.labels)
                .map_err(|e| hereby_store::StoreError::Invalid(e.to_string()))?;
            let alert: i64 = sqlx::query_scalar(
                "INSERT INTO alerts (integration_id, dedup_key, group_id, firing, summary, labels, \
                 first_seen, last_seen, resolved_at, count, payload_id) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7, NULL, 1, $8) RETURNING id",
            )
            .bind(integration)
            .bind(&signal.dedup_key)
            .bind(group)
            .bind(true)
            .bind(&signal.summary)
            .bind(labels)
            .bind(now)
            .bind(payload)
            .fetch_one(&mut **tx)
            .await
            .map_err(db)?;
            // Whether the route's policy now asks for an incident, for a group without one.
            let waiting: Option<bool> = sqlx::query_scalar(
                "SELECT wants_incident FROM alert_groups WHERE id = $1 AND incident IS NULL",
            )
            .bind(group)
            .fetch_optional(&mut **tx)
            .await
            .map_err(db)?;
            let mut waits = waiting == Some(true);
            if waiting == Some(false) {
                let first_fired: Vec<i64> = match route.create {
                    hereby_core::alerts::Creation::Threshold { .. } => {
                        sqlx::query_scalar("SELECT first_seen FROM alerts WHERE group_id = $1")
                            .bind(group)
                            .fetch_all(&mut **tx)
                            .await
                            .map_err(db)?
                    }
                    _ => vec![now],
                };
                let first_fired = first_fired
                    .into_iter()
                    .map(hereby_store::prepare::timestamp)
                    .collect::<Result<Vec<_>, _>>()?;
                if hereby_core::alerts::wants_incident(route, &first_fired, true, at) {
                    sqlx::query("UPDATE alert_groups SET wants_incident = $1 WHERE id = $2")
                        .bind(true)
                        .bind(group)
                        .execute(&mut **tx)
                        .await
                        .map_err(db)?;
                    waits = true;
                }
            }
            Ok(AlertOutcome {
                change: if latest.is_some() {
                    AlertChange::Refired
                } else {
                    AlertChange::New
                },
                alert: Some(alert),
                group: Some(group),
                route: Some(route.name.clone()),
                placement: Some(placement),
                waits,
            })
        }

        impl hereby_store::Alerts for $store {
            async fn create_integration(
                &self,
                integration: &hereby_store::NewIntegration,
                at: jiff::Timestamp,
            ) -> Result<hereby_store::Integration, hereby_store::StoreError> {
                let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "INSERT INTO integrations (name, kind, key_digest, created_at) \
                     VALUES ($1, $2, $3, $4) RETURNING {INTEGRATION_COLUMNS}"
                )))
                .bind(&integration.name)
                .bind(&integration.kind)
                .bind(&integration.key_digest)
                .bind(at.as_microsecond())
                .fetch_one(&self.write_pool)
                .await
                .map_err(|error| {
                    taken(&format!("the integration name `{}` or its key", integration.name))(error)
                })?;
                integration_row(&row)
            }

            async fn integrations(
                &self,
            ) -> Result<Vec<hereby_store::Integration>, hereby_store::StoreError> {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {INTEGRATION_COLUMNS} FROM integrations ORDER BY id"
                )))
                .fetch_all(&self.readers)
                .await
                .map_err(db)?
                .iter()
                .map(integration_row)
                .collect()
            }

            async fn integration_for_key(
                &self,
                digest: &[u8],
                at: jiff::Timestamp,
            ) -> Result<Option<hereby_store::Integration>, hereby_store::StoreError> {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {INTEGRATION_COLUMNS} FROM integrations WHERE revoked_at IS NULL \
                     AND (key_digest = $1 OR (previous_digest = $1 AND previous_until > $2))"
                )))
                .bind(digest)
                .bind(at.as_microsecond())
                .fetch_optional(&self.readers)
                .await
                .map_err(db)?
                .as_ref()
                .map(integration_row)
                .transpose()
            }

            async fn revoke_integration(
                &self,
                name: &str,
                at: jiff::Timestamp,
            ) -> Result<bool, hereby_store::StoreError> {
                let done = sqlx::query(
                    "UPDATE integrations SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL",
                )
                .bind(at.as_microsecond())
                .bind(name)
                .execute(&self.write_pool)
                .await
                .map_err(db)?;
                Ok(done.rows_affected() > 0)
            }

            async fn rotate_integration(
                &self,
                name: &str,
                key_digest: &[u8],
                overlap_until: jiff::Timestamp,
            ) -> Result<Option<hereby_store::Integration>, hereby_store::StoreError> {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "UPDATE integrations SET previous_digest = key_digest, key_digest = $1, \
                     previous_until = $2 WHERE name = $3 AND revoked_at IS NULL \
                     RETURNING {INTEGRATION_COLUMNS}"
                )))
                .bind(key_digest)
                .bind(overlap_until.as_microsecond())
                .bind(name)
                .fetch_optional(&self.write_pool)
                .await
                .map_err(taken("the new key"))?
                .as_ref()
                .map(integration_row)
                .transpose()
            }

            async fn record_alerts(
                &self,
                payloads: &[hereby_store::AlertPayload],
                routes: &hereby_core::alerts::Routes,
                at: jiff::Timestamp,
            ) -> Result<Vec<hereby_store::Recorded>, hereby_store::StoreError> {
                let mut tx = self.write_pool.begin_with($begin_write).await.map_err(db)?;
                if !$lock_key.is_empty() {
                    // Every key these payloads may read or write, locked in one order.
                    let mut keys = std::collections::BTreeSet::new();
                    for payload in payloads {
                        for signal in &payload.signals {
                            keys.insert(format!(
                                "alert:{}:{}",
                                payload.integration, signal.dedup_key
                            ));
                            if let Some(route) = routes.route_for(&signal.labels) {
                                keys.insert(format!("group:{}", route.group_key(signal)));
                            }
                        }
                    }
                    for key in keys {
                        sqlx::query($lock_key)
                            .bind(key)
                            .execute(&mut *tx)
                            .await
                            .map_err(db)?;
                    }
                }
                let mut recorded = Vec::with_capacity(payloads.len());
                for payload in payloads {
                    let id: i64 = sqlx::query_scalar(
                        "INSERT INTO alert_payloads (integration_id, received_at, body) \
                         VALUES ($1, $2, $3) RETURNING id",
                    )
                    .bind(payload.integration)
                    .bind(at.as_microsecond())
                    .bind(&payload.body)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(db)?;
                    let mut outcomes = Vec::with_capacity(payload.signals.len());
                    for signal in &payload.signals {
                        outcomes.push(
                            record_signal(&mut tx, payload.integration, id, signal, routes, at)
                                .await?,
                        );
                    }
                    recorded.push(hereby_store::Recorded {
                        payload: id,
                        outcomes,
                    });
                }
                // Once per integration, in one order: two nodes' batches never wait for each
                // other's rows in a circle.
                let integrations: std::collections::BTreeSet<i64> =
                    payloads.iter().map(|payload| payload.integration).collect();
                for integration in integrations {
                    sqlx::query("UPDATE integrations SET last_event_at = $1 WHERE id = $2")
                        .bind(at.as_microsecond())
                        .bind(integration)
                        .execute(&mut *tx)
                        .await
                        .map_err(db)?;
                }
                tx.commit().await.map_err(db)?;
                Ok(recorded)
            }

            async fn alert_groups(
                &self,
                incident: Option<hereby_core::types::IncidentNumber>,
                limit: u32,
            ) -> Result<Vec<hereby_store::AlertGroup>, hereby_store::StoreError> {
                let rows = match incident {
                    Some(number) => sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT {GROUP_COLUMNS} FROM alert_groups WHERE incident = $1 \
                         ORDER BY id DESC LIMIT $2"
                    )))
                    .bind(int(number.0))
                    .bind(i64::from(limit)),
                    None => sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT {GROUP_COLUMNS} FROM alert_groups ORDER BY id DESC LIMIT $1"
                    )))
                    .bind(i64::from(limit)),
                }
                .fetch_all(&self.readers)
                .await
                .map_err(db)?;
                rows.iter().map(group_row).collect()
            }

            async fn alert_group(
                &self,
                id: i64,
            ) -> Result<Option<hereby_store::AlertGroup>, hereby_store::StoreError> {
                sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {GROUP_COLUMNS} FROM alert_groups WHERE id = $1")))
                    .bind(id)
                    .fetch_optional(&self.readers)
                    .await
                    .map_err(db)?
                    .as_ref()
                    .map(group_row)
                    .transpose()
            }

            async fn alerts_of_group(
                &self,
                group: i64,
                limit: u32,
            ) -> Result<Vec<hereby_store::AlertRecord>, hereby_store::StoreError> {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {ALERT_COLUMNS} FROM alerts WHERE group_id = $1 ORDER BY id DESC LIMIT $2"
                )))
                .bind(group)
                .bind(i64::from(limit))
                .fetch_all(&self.readers)
                .await
                .map_err(db)?
                .iter()
                .map(alert_row)
                .collect()
            }

            async fn waiting_groups(
                &self,
                limit: u32,
            ) -> Result<Vec<hereby_store::AlertGroup>, hereby_store::StoreError> {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {GROUP_COLUMNS} FROM alert_groups WHERE wants_incident \
                     AND incident IS NULL ORDER BY id LIMIT $1"
                )))
                .bind(i64::from(limit))
                .fetch_all(&self.readers)
                .await
                .map_err(db)?
                .iter()
                .map(group_row)
                .collect()
            }

            async fn claim_group(&self, group: i64) -> Result<bool, hereby_store::StoreError> {
                let done = sqlx::query(
                    "UPDATE alert_groups SET wants_incident = $1 WHERE id = $2 \
                     AND wants_incident AND incident IS NULL",
                )
                .bind(false)
                .bind(group)
                .execute(&self.write_pool)
                .await
                .map_err(db)?;
                Ok(done.rows_affected() > 0)
            }

            async fn link_group(
                &self,
                group: i64,
                incident: hereby_core::types::IncidentNumber,
            ) -> Result<bool, hereby_store::StoreError> {
                let done = sqlx::query(
                    "UPDATE alert_groups SET incident = $1 WHERE id = $2 AND incident IS NULL",
                )
                .bind(int(incident.0))
                .bind(group)
                .execute(&self.write_pool)
                .await
                .map_err(db)?;
                Ok(done.rows_affected() > 0)
            }
        }
    };
}
