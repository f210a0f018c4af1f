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
            "id, name, kind, created_at, revoked_at, previous_until, last_event_at, \
             heartbeat_timeout";
        const GROUP_COLUMNS: &str = "id, route, group_key, label, title, severity, service, \
             opened_at, last_alert_at, resolved_at, previous_id, firing, alerts, events, reopened, \
             wants_incident, incident, wants_from, acknowledged_by, acknowledged_at, \
             silenced_until, silenced_by, silence_reason, flips, flips_since, last_flip, \
             flapping_since";
        const ALERT_COLUMNS: &str = "id, integration_id, dedup_key, group_id, firing, summary, \
             labels, first_seen, last_seen, resolved_at, count, suppressed";

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
                heartbeat_timeout: row
                    .try_get::<Option<i64>, _>("heartbeat_timeout")
                    .map_err(db)?
                    .map(jiff::SignedDuration::from_micros),
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
                wants_from: optional_time(row.try_get("wants_from").map_err(db)?)?,
                acknowledged_by: row.try_get("acknowledged_by").map_err(db)?,
                acknowledged_at: optional_time(row.try_get("acknowledged_at").map_err(db)?)?,
                silenced_until: optional_time(row.try_get("silenced_until").map_err(db)?)?,
                silenced_by: row.try_get("silenced_by").map_err(db)?,
                silence_reason: row.try_get("silence_reason").map_err(db)?,
                flaps: hereby_core::alerts::Flaps {
                    count: u32::try_from(row.try_get::<i64, _>("flips").map_err(db)?)
                        .unwrap_or(u32::MAX),
                    since: optional_time(row.try_get("flips_since").map_err(db)?)?,
                    last: optional_time(row.try_get("last_flip").map_err(db)?)?,
                    flapping_since: optional_time(row.try_get("flapping_since").map_err(db)?)?,
                },
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
                suppressed: row.try_get("suppressed").map_err(db)?,
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

        /// Stores a group's flip counters.
        async fn put_flaps(
            tx: &mut sqlx::Transaction<'static, <$row as sqlx::Row>::Database>,
            group: i64,
            flaps: &hereby_core::alerts::Flaps,
        ) -> Result<(), hereby_store::StoreError> {
            sqlx::query(
                "UPDATE alert_groups SET flips = $1, flips_since = $2, last_flip = $3, \
                 flapping_since = $4 WHERE id = $5",
            )
            .bind(i64::from(flaps.count))
            .bind(flaps.since.map(|at| at.as_microsecond()))
            .bind(flaps.last.map(|at| at.as_microsecond()))
            .bind(flaps.flapping_since.map(|at| at.as_microsecond()))
            .bind(group)
            .execute(&mut **tx)
            .await
            .map_err(db)?;
            Ok(())
        }

        async fn group_in(
            tx: &mut sqlx::Transaction<'static, <$row as sqlx::Row>::Database>,
            group: i64,
        ) -> Result<hereby_store::AlertGroup, hereby_store::StoreError> {
            let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {GROUP_COLUMNS} FROM alert_groups WHERE id = $1"
            )))
            .bind(group)
            .fetch_one(&mut **tx)
            .await
            .map_err(db)?;
            group_row(&row)
        }

        /// Takes the lock recording an alert of the group takes (PostgreSQL; nothing on
        /// SQLite, whose write transaction holds the database's one write lock), so that an
        /// acknowledgement or a silence is never lost between a recording's read of the group
        /// and its write.
        async fn lock_group(
            tx: &mut sqlx::Transaction<'static, <$row as sqlx::Row>::Database>,
            group: i64,
        ) -> Result<(), hereby_store::StoreError> {
            if $lock_key.is_empty() {
                return Ok(());
            }
            let key: Option<String> =
                sqlx::query_scalar("SELECT group_key FROM alert_groups WHERE id = $1")
                    .bind(group)
                    .fetch_optional(&mut **tx)
                    .await
                    .map_err(db)?;
            if let Some(key) = key {
                sqlx::query($lock_key)
                    .bind(format!("group:{key}"))
                    .execute(&mut **tx)
                    .await
                    .map_err(db)?;
            }
            Ok(())
        }

        /// What a person set on a group, as the core's quiet rule reads it.
        fn holds_of(group: &hereby_store::AlertGroup) -> hereby_core::alerts::GroupHolds {
            hereby_core::alerts::GroupHolds {
                silenced_until: group.silenced_until,
                silenced_by: group.silenced_by.clone(),
                acknowledged_by: group.acknowledged_by.clone(),
            }
        }

        /// Asks the route's policy whether `group` (without an incident, with nothing quiet
        /// about the alert that just fired) now wants one, and marks it so: at once, or held
        /// by the route's pause. Answers (waits now, held until).
        async fn ask_for_incident(
            tx: &mut sqlx::Transaction<'static, <$row as sqlx::Row>::Database>,
            route: &hereby_core::alerts::Route,
            group: i64,
            at: jiff::Timestamp,
        ) -> Result<(bool, Option<jiff::Timestamp>), hereby_store::StoreError> {
            use sqlx::Row as _;
            let waiting = sqlx::query(
                "SELECT wants_incident, wants_from FROM alert_groups WHERE id = $1 \
                 AND incident IS NULL",
            )
            .bind(group)
            .fetch_optional(&mut **tx)
            .await
            .map_err(db)?;
            let Some(waiting) = waiting else {
                return Ok((false, None));
            };
            let wants: bool = waiting.try_get("wants_incident").map_err(db)?;
            if wants {
                let from = optional_time(waiting.try_get("wants_from").map_err(db)?)?;
                return Ok(match from {
                    Some(from) if from > at => (false, Some(from)),
                    _ => (true, None),
                });
            }
            // Distinct alerts count once however often they flipped; suppressed ones not at all.
            let first_fired: Vec<i64> = match route.create {
                hereby_core::alerts::Creation::Threshold { .. } => sqlx::query_scalar(
                    "SELECT MAX(first_seen) FROM alerts WHERE group_id = $1 \
                     AND suppressed IS NULL GROUP BY integration_id, dedup_key",
                )
                .bind(group)
                .fetch_all(&mut **tx)
                .await
                .map_err(db)?,
                _ => vec![at.as_microsecond()],
            };
            let first_fired = first_fired
                .into_iter()
                .map(hereby_store::prepare::timestamp)
                .collect::<Result<Vec<_>, _>>()?;
            if !hereby_core::alerts::wants_incident(route, &first_fired, true, at) {
                return Ok((false, None));
            }
            let from = at
                .checked_add(route.pause.signed())
                .map_err(|e| hereby_store::StoreError::Invalid(e.to_string()))?;
            sqlx::query("UPDATE alert_groups SET wants_incident = $1, wants_from = $2 WHERE id = $3")
                .bind(true)
                .bind(from.as_microsecond())
                .bind(group)
                .execute(&mut **tx)
                .await
                .map_err(db)?;
            Ok(if route.pause.is_zero() {
                (true, None)
            } else {
                (false, Some(from))
            })
        }

        /// Records one signal inside the payload's transaction.
        /// Locks every alert key and group key the signals may read or write, in one order, so
        /// that two recorders never wait for each other in a circle (PostgreSQL; on SQLite the
        /// write transaction holds the database's one write lock already).
        async fn lock_alert_keys<'a>(
            tx: &mut sqlx::Transaction<'static, <$row as sqlx::Row>::Database>,
            payloads: impl Iterator<Item = (i64, &'a [hereby_core::alerts::Signal])>,
            routes: &hereby_core::alerts::Routes,
        ) -> Result<(), hereby_store::StoreError> {
            if $lock_key.is_empty() {
                return Ok(());
            }
            let mut keys = std::collections::BTreeSet::new();
            for (integration, signals) in payloads {
                for signal in signals {
                    keys.insert(format!("alert:{integration}:{}", signal.dedup_key));
                    if let Some(route) = routes.route_for(&signal.labels) {
                        keys.insert(format!("group:{}", route.group_key(signal)));
                    }
                }
            }
            for key in keys {
                sqlx::query($lock_key)
                    .bind(key)
                    .execute(&mut **tx)
                    .await
                    .map_err(db)?;
            }
            Ok(())
        }

        /// Moves the last-event time of the payloads' integrations to `at`: once per
        /// integration, in one order, so two nodes' batches never wait for each other's rows in
        /// a circle.
        async fn heard_from(
            tx: &mut sqlx::Transaction<'static, <$row as sqlx::Row>::Database>,
            payloads: &[hereby_store::AlertPayload],
            at: jiff::Timestamp,
        ) -> Result<(), hereby_store::StoreError> {
            let integrations: std::collections::BTreeSet<i64> =
                payloads.iter().map(|payload| payload.integration).collect();
            for integration in integrations {
                sqlx::query("UPDATE integrations SET last_event_at = $1 WHERE id = $2")
                    .bind(at.as_microsecond())
                    .bind(integration)
                    .execute(&mut **tx)
                    .await
                    .map_err(db)?;
            }
            Ok(())
        }

        /// Inserts the payloads' rows, each with its signals to record later when `queued`;
        /// their ids, in the payloads' order. One statement for a writer's whole batch: on
        /// SQLite every statement is a round trip to the connection's thread, and the batch
        /// holds the one write lock meanwhile.
        async fn insert_payloads(
            tx: &mut sqlx::Transaction<'static, <$row as sqlx::Row>::Database>,
            payloads: &[hereby_store::AlertPayload],
            at: jiff::Timestamp,
            queued: bool,
        ) -> Result<Vec<i64>, hereby_store::StoreError> {
            let mut ids = Vec::with_capacity(payloads.len());
            for chunk in payloads.chunks(500) {
                let mut values = Vec::with_capacity(chunk.len());
                for payload in chunk {
                    let signals = if queued {
                        Some(serde_json::to_string(&payload.signals).map_err(|e| {
                            hereby_store::StoreError::Corrupt(format!("queued signals: {e}"))
                        })?)
                    } else {
                        None
                    };
                    values.push((payload, signals));
                }
                let mut insert = sqlx::QueryBuilder::<<$row as sqlx::Row>::Database>::new(
                    "INSERT INTO alert_payloads \
                     (integration_id, received_at, body, queued, queued_signals) ",
                );
                insert.push_values(&values, |mut row, (payload, signals)| {
                    row.push_bind(payload.integration)
                        .push_bind(at.as_microsecond())
                        .push_bind(payload.body.as_str())
                        .push_bind(signals.as_deref())
                        .push_bind(
                            signals.as_ref().map(|_| {
                                i64::try_from(payload.signals.len()).unwrap_or(i64::MAX)
                            }),
                        );
                });
                insert.push(" RETURNING id");
                // Not kept prepared: each batch size is a statement of its own, and the
                // connection's cache would fill with them.
                let mut numbered: Vec<i64> = insert
                    .build_query_scalar()
                    .persistent(false)
                    .fetch_all(&mut **tx)
                    .await
                    .map_err(db)?;
                // One statement numbers its rows in the order they are given, though it may
                // return them in any order.
                numbered.sort_unstable();
                ids.extend(numbered);
            }
            Ok(ids)
        }

        /// Counts one more event in a group (a duplicate's); the group's route.
        async fn count_group_event(
            tx: &mut sqlx::Transaction<'static, <$row as sqlx::Row>::Database>,
            group: i64,
        ) -> Result<String, hereby_store::StoreError> {
            sqlx::query_scalar(
                "UPDATE alert_groups SET events = events + 1 WHERE id = $1 RETURNING route",
            )
            .bind(group)
            .fetch_one(&mut **tx)
            .await
            .map_err(db)
        }

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
            if signal.firing {
                // The same alert again, firing and not suppressed, is most of a storm: a
                // duplicate only bumps the count and last-seen time, found and bumped in one
                // statement (the general path below reads the alert first).
                let bumped = sqlx::query(
                    "UPDATE alerts SET count = count + 1, last_seen = $1 WHERE id = \
                     (SELECT id FROM alerts WHERE integration_id = $2 AND dedup_key = $3 \
                     ORDER BY id DESC LIMIT 1) AND firing AND suppressed IS NULL \
                     RETURNING id, group_id",
                )
                .bind(now)
                .bind(integration)
                .bind(&signal.dedup_key)
                .fetch_optional(&mut **tx)
                .await
                .map_err(db)?;
                if let Some(row) = bumped {
                    let alert: i64 = row.try_get("id").map_err(db)?;
                    let group: i64 = row.try_get("group_id").map_err(db)?;
                    let route = count_group_event(tx, group).await?;
                    return Ok(AlertOutcome {
                        route: Some(route),
                        ..AlertOutcome::untouched(AlertChange::Duplicate, Some(alert), Some(group))
                    });
                }
            }
            let latest = sqlx::query(
                "SELECT id, group_id, firing, suppressed FROM alerts WHERE integration_id = $1 \
                 AND dedup_key = $2 ORDER BY id DESC LIMIT 1",
            )
            .bind(integration)
            .bind(&signal.dedup_key)
            .fetch_optional(&mut **tx)
            .await
            .map_err(db)?;
            let latest: Option<(i64, i64, bool, Option<String>)> = match latest {
                Some(row) => Some((
                    row.try_get("id").map_err(db)?,
                    row.try_get("group_id").map_err(db)?,
                    row.try_get("firing").map_err(db)?,
                    row.try_get("suppressed").map_err(db)?,
                )),
                None => None,
            };
            let route_named = |name: &str| routes.all().iter().find(|route| route.name == name);
            if !signal.firing {
                // A resolve ends a firing alert and never creates anything; maintenance
                // windows and silences always let it through.
                let Some((alert, group, true, _)) = latest else {
                    return Ok(AlertOutcome::untouched(
                        AlertChange::Orphan,
                        latest.as_ref().map(|latest| latest.0),
                        latest.as_ref().map(|latest| latest.1),
                    ));
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
                // A group stops waiting for an incident once none of its alerts that may ask
                // for one still fires: suppressed alerts alone never open one.
                let route: String = sqlx::query_scalar(
                    "UPDATE alert_groups SET firing = firing - 1, events = events + 1, \
                     resolved_at = CASE WHEN firing = 1 THEN $1 ELSE resolved_at END, \
                     wants_incident = CASE WHEN NOT EXISTS (SELECT 1 FROM alerts \
                     WHERE alerts.group_id = $2 AND alerts.firing AND alerts.suppressed IS NULL) \
                     THEN $3 ELSE wants_incident END \
                     WHERE id = $2 RETURNING route",
                )
                .bind(now)
                .bind(group)
                .bind(false)
                .fetch_one(&mut **tx)
                .await
                .map_err(db)?;
                return Ok(AlertOutcome {
                    route: Some(route),
                    ..AlertOutcome::untouched(AlertChange::Resolved, Some(alert), Some(group))
                });
            }
            if let Some((alert, group, true, suppressed)) = latest {
                // The same alert again: a duplicate only bumps the count and last-seen time.
                sqlx::query("UPDATE alerts SET count = count + 1, last_seen = $1 WHERE id = $2")
                    .bind(now)
                    .bind(alert)
                    .execute(&mut **tx)
                    .await
                    .map_err(db)?;
                let route = count_group_event(tx, group).await?;
                let mut outcome = AlertOutcome {
                    route: Some(route.clone()),
                    ..AlertOutcome::untouched(AlertChange::Duplicate, Some(alert), Some(group))
                };
                // A suppressed alert still firing once its window or silence is over (the
                // source sends it again) counts from now on, as if it had just fired.
                if suppressed.is_some()
                    && let Some(found) = route_named(&route)
                {
                    let current = group_in(tx, group).await?;
                    let quiet = hereby_core::alerts::quiet(
                        routes,
                        &signal.labels,
                        &holds_of(&current),
                        current.flaps.flapping(found, at),
                        at,
                    );
                    match quiet {
                        Some(quiet) if quiet.suppresses() => outcome.quiet = Some(quiet),
                        quiet => {
                            sqlx::query("UPDATE alerts SET suppressed = NULL WHERE id = $1")
                                .bind(alert)
                                .execute(&mut **tx)
                                .await
                                .map_err(db)?;
                            if quiet.is_none() {
                                let (waits, held_until) =
                                    ask_for_incident(tx, found, group, at).await?;
                                outcome.waits = waits;
                                outcome.held_until = held_until;
                            }
                            outcome.quiet = quiet;
                        }
                    }
                }
                return Ok(outcome);
            }
            let Some(route) = routes.route_for(&signal.labels) else {
                return Ok(AlertOutcome::untouched(AlertChange::Unrouted, None, None));
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
            // Whether the incident the group is attached to has ended.
            let incident_ended = match current.as_ref().and_then(|group| group.incident) {
                Some(number) => {
                    let status: Option<String> =
                        sqlx::query_scalar("SELECT status FROM incidents WHERE number = $1")
                            .bind(int(number.0))
                            .fetch_optional(&mut **tx)
                            .await
                            .map_err(db)?;
                    status
                        .as_deref()
                        .and_then(|raw| hereby_core::types::Status::parse(raw).ok())
                        .is_some_and(|status| !status.takes_alerts())
                }
                None => false,
            };
            // An alert firing again after it resolved is a flip of the group it fires in (a
            // resolve alone is not: many alerts that fire once and clear are not flapping).
            let refired = latest.is_some();
            let flaps = current.as_ref().map(|group| {
                if refired {
                    group.flaps.flip(route, at)
                } else {
                    group.flaps
                }
            });
            let flapping = flaps.is_some_and(|flaps| flaps.flapping(route, at));
            let facts = current.as_ref().map(|group| hereby_core::alerts::GroupFacts {
                opened_at: group.opened_at,
                last_alert_at: group.last_alert_at,
                resolved_at: group.resolved_at,
                incident_ended,
                flapping,
            });
            let placement = hereby_core::alerts::place(route, facts.as_ref(), at);
            // What people set on the group stays with it through a resolve and a re-fire; a
            // silence in force also covers the next group under the same key.
            let holds = match (placement, &current) {
                (Placement::Join | Placement::Reopen, Some(current)) => holds_of(current),
                (_, Some(current)) => hereby_core::alerts::GroupHolds {
                    acknowledged_by: None,
                    ..holds_of(current)
                },
                (_, None) => hereby_core::alerts::GroupHolds::default(),
            };
            let same_group = matches!(placement, Placement::Join | Placement::Reopen);
            let quiet = hereby_core::alerts::quiet(
                routes,
                &signal.labels,
                &holds,
                flapping && same_group,
                at,
            );
            let group = match (placement, &current) {
                (Placement::Join, Some(current)) => {
                    sqlx::query(
                        "UPDATE alert_groups SET firing = firing + 1, alerts = alerts + 1, \
                         events = events + 1, last_alert_at = $1, resolved_at = NULL WHERE id = $2",
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
                     reopened, wants_incident, incident, silenced_until, silenced_by, \
                     silence_reason, flips) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $7, NULL, $8, 1, 1, 1, 0, $9, NULL, \
                     $10, $11, $12, 0) RETURNING id",
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
                .bind(
                    holds
                        .silenced_until
                        .filter(|until| *until > at)
                        .map(|until| until.as_microsecond()),
                )
                .bind(
                    holds
                        .silenced_until
                        .filter(|until| *until > at)
                        .and(holds.silenced_by.clone()),
                )
                .bind(
                    current
                        .as_ref()
                        .filter(|_| holds.silenced_until.is_some_and(|until| until > at))
                        .and_then(|current| current.silence_reason.clone()),
                )
                .fetch_one(&mut **tx)
                .await
                .map_err(db)?,
            };
            if same_group && let Some(flaps) = &flaps {
                put_flaps(tx, group, flaps).await?;
            }
            let labels = serde_json::to_string(&signal.labels)
                .map_err(|e| hereby_store::StoreError::Invalid(e.to_string()))?;
            let suppressed = quiet
                .as_ref()
                .filter(|quiet| quiet.suppresses())
                .map(ToString::to_string);
            let alert: i64 = sqlx::query_scalar(
                "INSERT INTO alerts (integration_id, dedup_key, group_id, firing, summary, labels, \
                 first_seen, last_seen, resolved_at, count, payload_id, suppressed) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7, NULL, 1, $8, $9) RETURNING id",
            )
            .bind(integration)
            .bind(&signal.dedup_key)
            .bind(group)
            .bind(true)
            .bind(&signal.summary)
            .bind(labels)
            .bind(now)
            .bind(payload)
            .bind(suppressed)
            .fetch_one(&mut **tx)
            .await
            .map_err(db)?;
            // Only an alert nothing quietens asks the route's policy for an incident.
            let (waits, held_until) = if quiet.is_none() {
                ask_for_incident(tx, route, group, at).await?
            } else {
                (false, None)
            };
            Ok(AlertOutcome {
                change: if refired {
                    AlertChange::Refired
                } else {
                    AlertChange::New
                },
                alert: Some(alert),
                group: Some(group),
                route: Some(route.name.clone()),
                placement: Some(placement),
                waits,
                quiet,
                held_until,
            })
        }

        impl hereby_store::Alerts for $store {
            async fn create_integration(
                &self,
                integration: &hereby_store::NewIntegration,
                at: jiff::Timestamp,
            ) -> Result<hereby_store::Integration, hereby_store::StoreError> {
                let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "INSERT INTO integrations (name, kind, key_digest, created_at, \
                     heartbeat_timeout) VALUES ($1, $2, $3, $4, $5) RETURNING {INTEGRATION_COLUMNS}"
                )))
                .bind(&integration.name)
                .bind(&integration.kind)
                .bind(&integration.key_digest)
                .bind(at.as_microsecond())
                .bind(integration.heartbeat_timeout.map(|timeout| {
                    i64::try_from(timeout.as_micros()).unwrap_or(i64::MAX)
                }))
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
                lock_alert_keys(
                    &mut tx,
                    payloads
                        .iter()
                        .map(|payload| (payload.integration, payload.signals.as_slice())),
                    routes,
                )
                .await?;
                let ids = insert_payloads(&mut tx, payloads, at, false).await?;
                let mut recorded = Vec::with_capacity(payloads.len());
                for (payload, id) in payloads.iter().zip(ids) {
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
                heard_from(&mut tx, payloads, at).await?;
                tx.commit().await.map_err(db)?;
                Ok(recorded)
            }

            async fn queue_alerts(
                &self,
                payloads: &[hereby_store::AlertPayload],
                at: jiff::Timestamp,
            ) -> Result<Vec<i64>, hereby_store::StoreError> {
                let mut tx = self.write_pool.begin_with($begin_write).await.map_err(db)?;
                let ids = insert_payloads(&mut tx, payloads, at, true).await?;
                heard_from(&mut tx, payloads, at).await?;
                tx.commit().await.map_err(db)?;
                Ok(ids)
            }

            async fn record_queued_alerts(
                &self,
                routes: &hereby_core::alerts::Routes,
                signals: usize,
            ) -> Result<Vec<hereby_store::QueuedRecorded>, hereby_store::StoreError> {
                use sqlx::Row as _;
                let mut tx = self.write_pool.begin_with($begin_write).await.map_err(db)?;
                if !$lock_key.is_empty() {
                    // One recorder at a time across the nodes: queued payloads are recorded
                    // in the order they were accepted.
                    sqlx::query($lock_key)
                        .bind("alert-recorder")
                        .execute(&mut *tx)
                        .await
                        .map_err(db)?;
                }
                // Sizes first, so that only the payloads taken are read whole.
                let waiting = sqlx::query(
                    "SELECT id, integration_id, received_at, queued_signals FROM alert_payloads \
                     WHERE queued IS NOT NULL ORDER BY id LIMIT 64",
                )
                .fetch_all(&mut *tx)
                .await
                .map_err(db)?;
                let mut taken = Vec::new();
                let mut total = 0usize;
                for row in &waiting {
                    let size = usize::try_from(
                        row.try_get::<Option<i64>, _>("queued_signals")
                            .map_err(db)?
                            .unwrap_or(0),
                    )
                    .unwrap_or(usize::MAX);
                    if !taken.is_empty() && total.saturating_add(size) > signals {
                        break;
                    }
                    total = total.saturating_add(size);
                    let id: i64 = row.try_get("id").map_err(db)?;
                    let integration: i64 = row.try_get("integration_id").map_err(db)?;
                    let received: i64 = row.try_get("received_at").map_err(db)?;
                    taken.push((id, integration, hereby_store::prepare::timestamp(received)?));
                }
                // The taken payloads' signals in one statement, and cleared in one at the end
                // (by their ids: on PostgreSQL another node's payload may commit meanwhile
                // with an id among them).
                let in_taken = |sql: &'static str| {
                    let mut query = sqlx::QueryBuilder::<<$row as sqlx::Row>::Database>::new(sql);
                    query.push(" WHERE id IN (");
                    let mut ids = query.separated(", ");
                    for (id, _, _) in &taken {
                        ids.push_bind(*id);
                    }
                    query.push(")");
                    query
                };
                let mut stored: std::collections::HashMap<i64, Option<String>> =
                    std::collections::HashMap::new();
                if !taken.is_empty() {
                    for row in in_taken("SELECT id, queued FROM alert_payloads")
                        .build()
                        .persistent(false)
                        .fetch_all(&mut *tx)
                        .await
                        .map_err(db)?
                    {
                        stored.insert(
                            row.try_get("id").map_err(db)?,
                            row.try_get("queued").map_err(db)?,
                        );
                    }
                }
                let mut payloads = Vec::with_capacity(taken.len());
                for &(id, integration, received) in &taken {
                    let queued = stored.remove(&id).flatten();
                    let signals: Vec<hereby_core::alerts::Signal> =
                        serde_json::from_str(queued.as_deref().unwrap_or("[]")).map_err(|e| {
                            hereby_store::StoreError::Corrupt(format!(
                                "alert payload {id}: queued signals: {e}"
                            ))
                        })?;
                    payloads.push((id, integration, received, signals));
                }
                lock_alert_keys(
                    &mut tx,
                    payloads
                        .iter()
                        .map(|(_, integration, _, signals)| (*integration, signals.as_slice())),
                    routes,
                )
                .await?;
                let mut recorded = Vec::with_capacity(payloads.len());
                for (id, integration, received, signals) in payloads {
                    let mut outcomes = Vec::with_capacity(signals.len());
                    for signal in &signals {
                        outcomes.push(
                            record_signal(&mut tx, integration, id, signal, routes, received)
                                .await?,
                        );
                    }
                    recorded.push(hereby_store::QueuedRecorded {
                        integration,
                        signals,
                        recorded: hereby_store::Recorded {
                            payload: id,
                            outcomes,
                        },
                    });
                }
                if !taken.is_empty() {
                    in_taken("UPDATE alert_payloads SET queued = NULL, queued_signals = NULL")
                        .build()
                        .persistent(false)
                        .execute(&mut *tx)
                        .await
                        .map_err(db)?;
                }
                tx.commit().await.map_err(db)?;
                Ok(recorded)
            }

            fn shared_by_nodes(&self) -> bool {
                // The backend that takes advisory locks is the one several nodes share.
                !$lock_key.is_empty()
            }

            async fn set_aside_queued_alert(
                &self,
            ) -> Result<Option<i64>, hereby_store::StoreError> {
                sqlx::query_scalar(
                    "UPDATE alert_payloads SET queued = NULL, queued_signals = NULL \
                     WHERE id = (SELECT MIN(id) FROM alert_payloads WHERE queued IS NOT NULL) \
                     RETURNING id",
                )
                .fetch_optional(&self.write_pool)
                .await
                .map_err(db)
            }

            async fn queued_alerts(
                &self,
            ) -> Result<Vec<hereby_store::QueuedAlerts>, hereby_store::StoreError> {
                use sqlx::Row as _;
                sqlx::query(
                    "SELECT integration_id, COUNT(*) AS payloads, \
                     CAST(COALESCE(SUM(queued_signals), 0) AS BIGINT) AS signals FROM alert_payloads \
                     WHERE queued IS NOT NULL GROUP BY integration_id ORDER BY integration_id",
                )
                .fetch_all(&self.readers)
                .await
                .map_err(db)?
                .iter()
                .map(|row| {
                    Ok(hereby_store::QueuedAlerts {
                        integration: row.try_get("integration_id").map_err(db)?,
                        payloads: count(row.try_get("payloads").map_err(db)?),
                        signals: count(row.try_get("signals").map_err(db)?),
                    })
                })
                .collect()
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
                at: jiff::Timestamp,
            ) -> Result<Vec<hereby_store::AlertGroup>, hereby_store::StoreError> {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {GROUP_COLUMNS} FROM alert_groups WHERE wants_incident \
                     AND incident IS NULL AND (wants_from IS NULL OR wants_from <= $2) \
                     ORDER BY id LIMIT $1"
                )))
                .bind(i64::from(limit))
                .bind(at.as_microsecond())
                .fetch_all(&self.readers)
                .await
                .map_err(db)?
                .iter()
                .map(group_row)
                .collect()
            }

            async fn acknowledge_group(
                &self,
                group: i64,
                by: &str,
                at: jiff::Timestamp,
            ) -> Result<bool, hereby_store::StoreError> {
                let mut tx = self.write_pool.begin_with($begin_write).await.map_err(db)?;
                lock_group(&mut tx, group).await?;
                let done = sqlx::query(
                    "UPDATE alert_groups SET acknowledged_by = $1, acknowledged_at = $2, \
                     wants_incident = CASE WHEN incident IS NULL THEN $3 ELSE wants_incident END \
                     WHERE id = $4",
                )
                .bind(by)
                .bind(at.as_microsecond())
                .bind(false)
                .bind(group)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
                tx.commit().await.map_err(db)?;
                Ok(done.rows_affected() > 0)
            }

            async fn silence_group(
                &self,
                group: i64,
                until: Option<jiff::Timestamp>,
                by: &str,
                reason: &str,
            ) -> Result<bool, hereby_store::StoreError> {
                let mut tx = self.write_pool.begin_with($begin_write).await.map_err(db)?;
                lock_group(&mut tx, group).await?;
                let done = match until {
                    Some(until) => sqlx::query(
                        "UPDATE alert_groups SET silenced_until = $1, silenced_by = $2, \
                         silence_reason = $3, \
                         wants_incident = CASE WHEN incident IS NULL THEN $4 ELSE wants_incident END \
                         WHERE id = $5",
                    )
                    .bind(until.as_microsecond())
                    .bind(by)
                    .bind(reason)
                    .bind(false)
                    .bind(group),
                    None => sqlx::query(
                        "UPDATE alert_groups SET silenced_until = NULL, silenced_by = NULL, \
                         silence_reason = NULL WHERE id = $1",
                    )
                    .bind(group),
                }
                .execute(&mut *tx)
                .await
                .map_err(db)?;
                tx.commit().await.map_err(db)?;
                Ok(done.rows_affected() > 0)
            }

            async fn group_of_alert(
                &self,
                integration: i64,
                dedup_key: &str,
            ) -> Result<Option<i64>, hereby_store::StoreError> {
                sqlx::query_scalar(
                    "SELECT group_id FROM alerts WHERE integration_id = $1 AND dedup_key = $2 \
                     ORDER BY id DESC LIMIT 1",
                )
                .bind(integration)
                .bind(dedup_key)
                .fetch_optional(&self.readers)
                .await
                .map_err(db)
            }

            async fn newest_alert_payload(
                &self,
            ) -> Result<Option<i64>, hereby_store::StoreError> {
                sqlx::query_scalar("SELECT MAX(id) FROM alert_payloads")
                    .fetch_one(&self.readers)
                    .await
                    .map_err(db)
            }

            async fn alert_fires(
                &self,
                integration: i64,
                dedup_key: &str,
            ) -> Result<bool, hereby_store::StoreError> {
                let firing: Option<bool> = sqlx::query_scalar(
                    "SELECT firing FROM alerts WHERE integration_id = $1 AND dedup_key = $2 \
                     ORDER BY id DESC LIMIT 1",
                )
                .bind(integration)
                .bind(dedup_key)
                .fetch_optional(&self.readers)
                .await
                .map_err(db)?;
                Ok(firing == Some(true))
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

            async fn move_group(
                &self,
                group: i64,
                from: hereby_core::types::IncidentNumber,
                to: hereby_core::types::IncidentNumber,
            ) -> Result<bool, hereby_store::StoreError> {
                let done = sqlx::query(
                    "UPDATE alert_groups SET incident = $1 WHERE id = $2 AND incident = $3",
                )
                .bind(int(to.0))
                .bind(group)
                .bind(int(from.0))
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
