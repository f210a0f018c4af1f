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
    (store: $store:ty, row: $row:ty $(,)?) => {
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

        impl hereby_store::Communications for $store {
            async fn list_components(
                &self,
            ) -> Result<Vec<hereby_store::Component>, hereby_store::StoreError> {
                sqlx::query(
                    "SELECT name, description, position, status, created_at, updated_at \
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
                     (name, description, position, status, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6) \
                     ON CONFLICT (name) DO UPDATE SET description = excluded.description, \
                     position = excluded.position, status = excluded.status, \
                     updated_at = excluded.updated_at \
                     RETURNING name, description, position, status, created_at, updated_at",
                )
                .bind(component.name.as_str())
                .bind(component.description.as_str())
                .bind(component.position)
                .bind(component.status.map(|status| status.as_str()))
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
        }
    };
}
