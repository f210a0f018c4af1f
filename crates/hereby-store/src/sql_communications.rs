//! The [`Communications`](crate::Communications) of a SQL backend (status page components and
//! message templates), the same for SQLite and PostgreSQL.
//!
//! Written once with `$1`-style placeholders, like the rest of the shared SQL; reads use the
//! store's `readers`, writes its `write_pool`.

/// Expands the shared [`Communications`](crate::Communications) implementation. Expanded by
/// `sql_backend_common!`, whose helper `db` it uses.
#[doc(hidden)]
#[macro_export]
macro_rules! sql_communications_common {
    (store: $store:ty, row: $row:ty, database: $database:ty $(,)?) => {
        /// A `status_components` row.
        fn component_row(row: &$row) -> Result<hereby_store::Component, hereby_store::StoreError> {
            use sqlx::Row as _;
            let name: String = row.try_get("name").map_err(db)?;
            let corrupt = |problem: String| {
                hereby_store::StoreError::Corrupt(format!("component {name}: {problem}"))
            };
            let status: Option<String> = row.try_get("status").map_err(db)?;
            Ok(hereby_store::Component {
                name: hereby_core::types::ServiceName::parse(&name)
                    .map_err(|e| corrupt(e.to_string()))?,
                description: row.try_get("description").map_err(db)?,
                position: row.try_get("position").map_err(db)?,
                status: status
                    .map(|status| hereby_core::types::ComponentStatus::parse(&status))
                    .transpose()
                    .map_err(|e| corrupt(e.to_string()))?,
                group: row.try_get("group_name").map_err(db)?,
                created_at: hereby_store::prepare::timestamp(
                    row.try_get("created_at").map_err(db)?,
                )?,
                updated_at: hereby_store::prepare::timestamp(
                    row.try_get("updated_at").map_err(db)?,
                )?,
            })
        }

        /// A `message_templates` row.
        fn template_row(
            row: &$row,
        ) -> Result<hereby_store::StoredTemplate, hereby_store::StoreError> {
            use sqlx::Row as _;
            let name: String = row.try_get("name").map_err(db)?;
            let updated_by: String = row.try_get("updated_by").map_err(db)?;
            let corrupt = |problem: String| {
                hereby_store::StoreError::Corrupt(format!("template {name}: {problem}"))
            };
            Ok(hereby_store::StoredTemplate {
                name: hereby_core::types::TemplateName::parse(&name)
                    .map_err(|e| corrupt(e.to_string()))?,
                description: row.try_get("description").map_err(db)?,
                subject: row.try_get("subject").map_err(db)?,
                body: row.try_get("body").map_err(db)?,
                updated_at: hereby_store::prepare::timestamp(
                    row.try_get("updated_at").map_err(db)?,
                )?,
                updated_by: hereby_core::types::UserName::parse(&updated_by)
                    .map_err(|e| corrupt(e.to_string()))?,
            })
        }

        /// A `maintenances` row, without its updates.
        fn maintenance_row(
            row: &$row,
        ) -> Result<hereby_store::Maintenance, hereby_store::StoreError> {
            use sqlx::Row as _;
            let id: i64 = row.try_get("id").map_err(db)?;
            let corrupt = |problem: String| {
                hereby_store::StoreError::Corrupt(format!("maintenance {id}: {problem}"))
            };
            let time = |column: &str| -> Result<jiff::Timestamp, hereby_store::StoreError> {
                hereby_store::prepare::timestamp(row.try_get(column).map_err(db)?)
            };
            let maybe = |column: &str| -> Result<Option<jiff::Timestamp>, hereby_store::StoreError> {
                let raw: Option<i64> = row.try_get(column).map_err(db)?;
                raw.map(hereby_store::prepare::timestamp).transpose()
            };
            let components: String = row.try_get("components").map_err(db)?;
            let components: Vec<String> =
                serde_json::from_str(&components).map_err(|e| corrupt(e.to_string()))?;
            let status: String = row.try_get("status").map_err(db)?;
            let created_by: String = row.try_get("created_by").map_err(db)?;
            Ok(hereby_store::Maintenance {
                id,
                title: row.try_get("title").map_err(db)?,
                components: components
                    .iter()
                    .map(|name| hereby_core::types::ServiceName::parse(name))
                    .collect::<Result<_, _>>()
                    .map_err(|e| corrupt(e.to_string()))?,
                schedule: hereby_core::maintenance::Schedule {
                    status: hereby_core::maintenance::MaintenanceStatus::parse(&status)
                        .map_err(|e| corrupt(e.to_string()))?,
                    starts_at: time("starts_at")?,
                    ends_at: time("ends_at")?,
                    started_at: maybe("started_at")?,
                    completed_at: maybe("completed_at")?,
                    auto_start: row.try_get("auto_start").map_err(db)?,
                    auto_complete: row.try_get("auto_complete").map_err(db)?,
                    reminded_at: maybe("reminded_at")?,
                },
                created_by: hereby_core::types::UserName::parse(&created_by)
                    .map_err(|e| corrupt(e.to_string()))?,
                created_at: time("created_at")?,
                updated_at: time("updated_at")?,
                version: row.try_get("version").map_err(db)?,
                updates: Vec::new(),
            })
        }

        /// Reads the updates of each maintenance into it, newest first.
        async fn with_updates<'e, E>(
            executor: E,
            maintenances: &mut [hereby_store::Maintenance],
        ) -> Result<(), hereby_store::StoreError>
        where
            E: sqlx::Executor<'e, Database = $database> + Copy,
        {
            use sqlx::Row as _;
            for maintenance in maintenances.iter_mut() {
                let rows = sqlx::query(
                    "SELECT id, status, body, author, at FROM maintenance_updates \
                     WHERE maintenance_id = $1 ORDER BY id DESC",
                )
                .bind(maintenance.id)
                .fetch_all(executor)
                .await
                .map_err(db)?;
                let corrupt = |problem: String| {
                    hereby_store::StoreError::Corrupt(format!(
                        "maintenance {}: {problem}",
                        maintenance.id
                    ))
                };
                let mut updates = Vec::with_capacity(rows.len());
                for row in &rows {
                    let status: String = row.try_get("status").map_err(db)?;
                    let author: String = row.try_get("author").map_err(db)?;
                    updates.push(hereby_store::MaintenanceUpdate {
                        id: row.try_get("id").map_err(db)?,
                        status: hereby_core::maintenance::MaintenanceStatus::parse(&status)
                            .map_err(|e| corrupt(e.to_string()))?,
                        body: row.try_get("body").map_err(db)?,
                        author: hereby_core::types::UserName::parse(&author)
                            .map_err(|e| corrupt(e.to_string()))?,
                        at: hereby_store::prepare::timestamp(row.try_get("at").map_err(db)?)?,
                    });
                }
                maintenance.updates = updates;
            }
            Ok(())
        }

        /// Writes a maintenance's update and notifications, inside the change's transaction.
        async fn write_maintenance_extras(
            conn: &mut <$database as sqlx::Database>::Connection,
            id: i64,
            write: &hereby_store::MaintenanceWrite,
        ) -> Result<(), hereby_store::StoreError> {
            if let Some((status, body)) = &write.update {
                sqlx::query(
                    "INSERT INTO maintenance_updates (maintenance_id, status, body, author, at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(id)
                .bind(status.as_str())
                .bind(body.as_str())
                .bind(write.author.as_str())
                .bind(write.at.as_microsecond())
                .execute(&mut *conn)
                .await
                .map_err(db)?;
            }
            insert_deliveries(conn, &write.deliveries, write.at).await?;
            Ok(())
        }

        fn components_json(components: &[hereby_core::types::ServiceName]) -> String {
            let names: Vec<&str> = components.iter().map(|name| name.as_str()).collect();
            serde_json::to_string(&names).unwrap_or_else(|_| "[]".to_owned())
        }

        impl hereby_store::Communications for $store {
            async fn list_components(
                &self,
            ) -> Result<Vec<hereby_store::Component>, hereby_store::StoreError> {
                sqlx::query(
                    "SELECT name, description, position, status, group_name, created_at, updated_at \
                     FROM status_components ORDER BY position, name",
                )
                .fetch_all(&self.readers)
                .await
                .map_err(db)?
                .iter()
                .map(component_row)
                .collect()
            }

            async fn put_component(
                &self,
                component: &hereby_store::Component,
            ) -> Result<hereby_store::Component, hereby_store::StoreError> {
                let row = sqlx::query(
                    "INSERT INTO status_components \
                     (name, description, position, status, group_name, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) \
                     ON CONFLICT (name) DO UPDATE SET description = excluded.description, \
                     position = excluded.position, status = excluded.status, \
                     group_name = excluded.group_name, updated_at = excluded.updated_at \
                     RETURNING name, description, position, status, group_name, created_at, \
                     updated_at",
                )
                .bind(component.name.as_str())
                .bind(component.description.as_str())
                .bind(component.position)
                .bind(component.status.map(|status| status.as_str()))
                .bind(component.group.as_deref())
                .bind(component.created_at.as_microsecond())
                .bind(component.updated_at.as_microsecond())
                .fetch_one(&self.write_pool)
                .await
                .map_err(db)?;
                component_row(&row)
            }

            async fn remove_component(
                &self,
                name: &hereby_core::types::ServiceName,
            ) -> Result<bool, hereby_store::StoreError> {
                let done = sqlx::query("DELETE FROM status_components WHERE name = $1")
                    .bind(name.as_str())
                    .execute(&self.write_pool)
                    .await
                    .map_err(db)?;
                Ok(done.rows_affected() > 0)
            }

            async fn list_templates(
                &self,
            ) -> Result<Vec<hereby_store::StoredTemplate>, hereby_store::StoreError> {
                sqlx::query(
                    "SELECT name, description, subject, body, updated_at, updated_by \
                     FROM message_templates ORDER BY name",
                )
                .fetch_all(&self.readers)
                .await
                .map_err(db)?
                .iter()
                .map(template_row)
                .collect()
            }

            async fn put_template(
                &self,
                template: &hereby_store::StoredTemplate,
            ) -> Result<(), hereby_store::StoreError> {
                sqlx::query(
                    "INSERT INTO message_templates \
                     (name, description, subject, body, updated_at, updated_by) \
                     VALUES ($1, $2, $3, $4, $5, $6) \
                     ON CONFLICT (name) DO UPDATE SET description = excluded.description, \
                     subject = excluded.subject, body = excluded.body, \
                     updated_at = excluded.updated_at, updated_by = excluded.updated_by",
                )
                .bind(template.name.as_str())
                .bind(template.description.as_str())
                .bind(template.subject.as_str())
                .bind(template.body.as_str())
                .bind(template.updated_at.as_microsecond())
                .bind(template.updated_by.as_str())
                .execute(&self.write_pool)
                .await
                .map_err(db)?;
                Ok(())
            }

            async fn remove_template(
                &self,
                name: &hereby_core::types::TemplateName,
            ) -> Result<bool, hereby_store::StoreError> {
                let done = sqlx::query("DELETE FROM message_templates WHERE name = $1")
                    .bind(name.as_str())
                    .execute(&self.write_pool)
                    .await
                    .map_err(db)?;
                Ok(done.rows_affected() > 0)
            }

            async fn list_settings(
                &self,
                kind: &str,
            ) -> Result<Vec<hereby_store::AdminSetting>, hereby_store::StoreError> {
                use sqlx::Row as _;
                let rows = sqlx::query(
                    "SELECT kind, name, value, updated_at, updated_by \
                     FROM admin_settings WHERE kind = $1 ORDER BY name",
                )
                .bind(kind)
                .fetch_all(&self.readers)
                .await
                .map_err(db)?;
                rows.iter()
                    .map(|row| {
                        let name: String = row.try_get("name").map_err(db)?;
                        let updated_by: String = row.try_get("updated_by").map_err(db)?;
                        Ok(hereby_store::AdminSetting {
                            kind: row.try_get("kind").map_err(db)?,
                            value: row.try_get("value").map_err(db)?,
                            updated_at: hereby_store::prepare::timestamp(
                                row.try_get("updated_at").map_err(db)?,
                            )?,
                            updated_by: hereby_core::types::UserName::parse(&updated_by).map_err(
                                |e| {
                                    hereby_store::StoreError::Corrupt(format!(
                                        "setting {kind}/{name}: {e}"
                                    ))
                                },
                            )?,
                            name,
                        })
                    })
                    .collect()
            }

            async fn put_setting(
                &self,
                setting: &hereby_store::AdminSetting,
            ) -> Result<(), hereby_store::StoreError> {
                self.put_settings(std::slice::from_ref(setting)).await
            }

            async fn put_settings(
                &self,
                settings: &[hereby_store::AdminSetting],
            ) -> Result<(), hereby_store::StoreError> {
                let mut tx = self.write_pool.begin().await.map_err(db)?;
                for setting in settings {
                    sqlx::query(
                        "INSERT INTO admin_settings (kind, name, value, updated_at, updated_by) \
                         VALUES ($1, $2, $3, $4, $5) \
                         ON CONFLICT (kind, name) DO UPDATE SET value = excluded.value, \
                         updated_at = excluded.updated_at, updated_by = excluded.updated_by",
                    )
                    .bind(setting.kind.as_str())
                    .bind(setting.name.as_str())
                    .bind(setting.value.as_str())
                    .bind(setting.updated_at.as_microsecond())
                    .bind(setting.updated_by.as_str())
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                }
                tx.commit().await.map_err(db)
            }

            async fn put_setting_if_absent(
                &self,
                setting: &hereby_store::AdminSetting,
            ) -> Result<hereby_store::AdminSetting, hereby_store::StoreError> {
                use sqlx::Row as _;
                sqlx::query(
                    "INSERT INTO admin_settings (kind, name, value, updated_at, updated_by) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (kind, name) DO NOTHING",
                )
                .bind(setting.kind.as_str())
                .bind(setting.name.as_str())
                .bind(setting.value.as_str())
                .bind(setting.updated_at.as_microsecond())
                .bind(setting.updated_by.as_str())
                .execute(&self.write_pool)
                .await
                .map_err(db)?;
                // Read from the writer: a reader might not see the row just written yet.
                let row = sqlx::query(
                    "SELECT value, updated_at, updated_by FROM admin_settings \
                     WHERE kind = $1 AND name = $2",
                )
                .bind(setting.kind.as_str())
                .bind(setting.name.as_str())
                .fetch_one(&self.write_pool)
                .await
                .map_err(db)?;
                let updated_by: String = row.try_get("updated_by").map_err(db)?;
                Ok(hereby_store::AdminSetting {
                    kind: setting.kind.clone(),
                    name: setting.name.clone(),
                    value: row.try_get("value").map_err(db)?,
                    updated_at: hereby_store::prepare::timestamp(
                        row.try_get("updated_at").map_err(db)?,
                    )?,
                    updated_by: hereby_core::types::UserName::parse(&updated_by).map_err(|e| {
                        hereby_store::StoreError::Corrupt(format!("setting {}: {e}", setting.name))
                    })?,
                })
            }

            async fn record_release(
                &self,
                release: &hereby_store::Release,
            ) -> Result<bool, hereby_store::StoreError> {
                let done = sqlx::query(
                    "INSERT INTO releases \
                     (service, version, deployed_at, recorded_at, recorded_by, notes) \
                     VALUES ($1, $2, $3, $4, $5, $6) \
                     ON CONFLICT (service, deployed_at, version) DO NOTHING",
                )
                .bind(release.service.as_str())
                .bind(release.version.as_str())
                .bind(release.deployed_at.as_microsecond())
                .bind(release.recorded_at.as_microsecond())
                .bind(release.recorded_by.as_str())
                .bind(release.notes.as_str())
                .execute(&self.write_pool)
                .await
                .map_err(db)?;
                Ok(done.rows_affected() > 0)
            }

            async fn list_releases(
                &self,
                query: &hereby_store::ReleaseQuery,
            ) -> Result<Vec<hereby_store::Release>, hereby_store::StoreError> {
                use sqlx::Row as _;
                // One query per service keeps the SQL the same on both backends (no array
                // binding); the page asks for a handful of services at most.
                let services: Vec<Option<&str>> = if query.services.is_empty() {
                    vec![None]
                } else {
                    query.services.iter().map(|s| Some(s.as_str())).collect()
                };
                let mut releases = Vec::new();
                for service in services {
                    let rows = sqlx::query(
                        "SELECT service, version, deployed_at, recorded_at, recorded_by, notes \
                         FROM releases \
                         WHERE ($1 IS NULL OR service = $1) AND deployed_at >= $2 AND deployed_at <= $3 \
                         ORDER BY deployed_at DESC, recorded_at DESC LIMIT $4",
                    )
                    .bind(service)
                    .bind(query.from.map_or(i64::MIN, |t| t.as_microsecond()))
                    .bind(query.to.map_or(i64::MAX, |t| t.as_microsecond()))
                    .bind(i64::from(query.limit))
                    .fetch_all(&self.readers)
                    .await
                    .map_err(db)?;
                    for row in &rows {
                        let service: String = row.try_get("service").map_err(db)?;
                        let version: String = row.try_get("version").map_err(db)?;
                        let recorded_by: String = row.try_get("recorded_by").map_err(db)?;
                        let corrupt = |problem: String| {
                            hereby_store::StoreError::Corrupt(format!(
                                "release {service} {version}: {problem}"
                            ))
                        };
                        releases.push(hereby_store::Release {
                            service: hereby_core::types::ServiceName::parse(&service)
                                .map_err(|e| corrupt(e.to_string()))?,
                            version: hereby_core::types::ReleaseVersion::parse(&version)
                                .map_err(|e| corrupt(e.to_string()))?,
                            deployed_at: hereby_store::prepare::timestamp(
                                row.try_get("deployed_at").map_err(db)?,
                            )?,
                            recorded_at: hereby_store::prepare::timestamp(
                                row.try_get("recorded_at").map_err(db)?,
                            )?,
                            recorded_by: hereby_core::types::UserName::parse(&recorded_by)
                                .map_err(|e| corrupt(e.to_string()))?,
                            notes: row.try_get("notes").map_err(db)?,
                        });
                    }
                }
                releases.sort_by(|a, b| {
                    (b.deployed_at, b.recorded_at).cmp(&(a.deployed_at, a.recorded_at))
                });
                releases.truncate(usize::try_from(query.limit).unwrap_or(usize::MAX));
                Ok(releases)
            }

            async fn remove_setting(
                &self,
                kind: &str,
                name: &str,
            ) -> Result<bool, hereby_store::StoreError> {
                let done = sqlx::query("DELETE FROM admin_settings WHERE kind = $1 AND name = $2")
                    .bind(kind)
                    .bind(name)
                    .execute(&self.write_pool)
                    .await
                    .map_err(db)?;
                Ok(done.rows_affected() > 0)
            }

            async fn maintenances(
                &self,
                query: &hereby_store::MaintenanceQuery,
            ) -> Result<Vec<hereby_store::Maintenance>, hereby_store::StoreError> {
                let rows = sqlx::query(
                    "SELECT id, title, components, status, starts_at, ends_at, started_at, \
                     completed_at, auto_start, auto_complete, reminded_at, created_by, created_at, \
                     updated_at, version \
                     FROM maintenances \
                     WHERE (status <> 'completed' OR ends_at >= $1) AND starts_at < $2 \
                     ORDER BY starts_at DESC, id DESC LIMIT $3",
                )
                .bind(query.completed_since.map_or(i64::MIN, |t| t.as_microsecond()))
                .bind(query.before.map_or(i64::MAX, |t| t.as_microsecond()))
                .bind(i64::from(query.limit))
                .fetch_all(&self.readers)
                .await
                .map_err(db)?;
                let mut maintenances = rows
                    .iter()
                    .map(maintenance_row)
                    .collect::<Result<Vec<_>, _>>()?;
                if query.updates {
                    with_updates(&self.readers, &mut maintenances).await?;
                }
                Ok(maintenances)
            }

            async fn maintenance(
                &self,
                id: i64,
            ) -> Result<Option<hereby_store::Maintenance>, hereby_store::StoreError> {
                let row = sqlx::query(
                    "SELECT id, title, components, status, starts_at, ends_at, started_at, \
                     completed_at, auto_start, auto_complete, reminded_at, created_by, created_at, \
                     updated_at, version \
                     FROM maintenances WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(&self.readers)
                .await
                .map_err(db)?;
                let Some(row) = row else { return Ok(None) };
                let mut maintenance = [maintenance_row(&row)?];
                with_updates(&self.readers, &mut maintenance).await?;
                let [maintenance] = maintenance;
                Ok(Some(maintenance))
            }

            async fn create_maintenance(
                &self,
                write: &hereby_store::MaintenanceWrite,
                notices: &(dyn Fn(i64) -> Vec<hereby_store::NewDelivery> + Sync),
            ) -> Result<hereby_store::Maintenance, hereby_store::StoreError> {
                use sqlx::Row as _;
                let mut tx = self.write_pool.begin().await.map_err(db)?;
                let schedule = &write.schedule;
                let row = sqlx::query(
                    "INSERT INTO maintenances (title, components, status, starts_at, ends_at, \
                     started_at, completed_at, auto_start, auto_complete, reminded_at, created_by, \
                     created_at, updated_at, version) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, 1) RETURNING id",
                )
                .bind(write.title.as_str())
                .bind(components_json(&write.components))
                .bind(schedule.status.as_str())
                .bind(schedule.starts_at.as_microsecond())
                .bind(schedule.ends_at.as_microsecond())
                .bind(schedule.started_at.map(|t| t.as_microsecond()))
                .bind(schedule.completed_at.map(|t| t.as_microsecond()))
                .bind(schedule.auto_start)
                .bind(schedule.auto_complete)
                .bind(schedule.reminded_at.map(|t| t.as_microsecond()))
                .bind(write.author.as_str())
                .bind(write.at.as_microsecond())
                .fetch_one(&mut *tx)
                .await
                .map_err(db)?;
                let id: i64 = row.try_get("id").map_err(db)?;
                write_maintenance_extras(&mut tx, id, write).await?;
                insert_deliveries(&mut tx, &notices(id), write.at).await?;
                tx.commit().await.map_err(db)?;
                self.maintenance(id).await?.ok_or_else(|| {
                    hereby_store::StoreError::Corrupt(format!("maintenance {id} vanished"))
                })
            }

            async fn change_maintenance(
                &self,
                id: i64,
                version: i64,
                write: &hereby_store::MaintenanceWrite,
            ) -> Result<Option<hereby_store::Maintenance>, hereby_store::StoreError> {
                let mut tx = self.write_pool.begin().await.map_err(db)?;
                let schedule = &write.schedule;
                let done = sqlx::query(
                    "UPDATE maintenances SET title = $1, components = $2, status = $3, \
                     starts_at = $4, ends_at = $5, started_at = $6, completed_at = $7, \
                     auto_start = $8, auto_complete = $9, reminded_at = $10, updated_at = $11, \
                     version = version + 1 WHERE id = $12 AND version = $13",
                )
                .bind(write.title.as_str())
                .bind(components_json(&write.components))
                .bind(schedule.status.as_str())
                .bind(schedule.starts_at.as_microsecond())
                .bind(schedule.ends_at.as_microsecond())
                .bind(schedule.started_at.map(|t| t.as_microsecond()))
                .bind(schedule.completed_at.map(|t| t.as_microsecond()))
                .bind(schedule.auto_start)
                .bind(schedule.auto_complete)
                .bind(schedule.reminded_at.map(|t| t.as_microsecond()))
                .bind(write.at.as_microsecond())
                .bind(id)
                .bind(version)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
                if done.rows_affected() == 0 {
                    return Ok(None);
                }
                write_maintenance_extras(&mut tx, id, write).await?;
                tx.commit().await.map_err(db)?;
                self.maintenance(id).await
            }

            async fn remove_maintenance(
                &self,
                id: i64,
                version: i64,
                deliveries: &[hereby_store::NewDelivery],
            ) -> Result<bool, hereby_store::StoreError> {
                let mut tx = self.write_pool.begin().await.map_err(db)?;
                let done = sqlx::query("DELETE FROM maintenances WHERE id = $1 AND version = $2")
                    .bind(id)
                    .bind(version)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                if done.rows_affected() == 0 {
                    return Ok(false);
                }
                sqlx::query("DELETE FROM maintenance_updates WHERE maintenance_id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                insert_deliveries(&mut tx, deliveries, jiff::Timestamp::now()).await?;
                tx.commit().await.map_err(db)?;
                Ok(true)
            }
        }
    };
}
