//! The [`Tables`](crate::copy::Tables) of a SQL backend, the same for SQLite and PostgreSQL,
//! written once like `sql.rs`.
//!
//! Statements are built from the table descriptions in [`TABLES`](crate::copy::TABLES), never
//! from input: names are the schema's own, values are always bound. Rows are read in key order
//! with a row-value comparison (`(a, b) > ($1, $2)`) after the last key read, which both
//! databases answer from the primary key's index, and written with one multi-row `INSERT` per
//! batch.

/// Expands a [`Tables`](crate::copy::Tables) implementation for `$tables`, a type with a
/// field `pool` (a `sqlx::Pool` of `$database`), and defines `$tx`, its transaction. Uses the
/// backend's `db` helper. `migrator` is the backend's `sqlx::migrate::Migrator`;
/// `before_migrate` lists statements run before its migrations; `begin_snapshot` starts a read-only
/// transaction that sees one state of the whole database; `begin_load` a write transaction;
/// `overriding` goes between an `INSERT`'s column list and its values (PostgreSQL refuses
/// explicit values for identity columns without `OVERRIDING SYSTEM VALUE`); `after_load` lists
/// statements run before the load commits; `list_tables` names the tables other than the migrations' own;
/// `list_columns` names a table's columns (`$1`); `migrations_table` counts the migrations'
/// own table (0 when the database was never migrated); `identity` is an async function of
/// `&$tables` naming the database.
#[doc(hidden)]
#[macro_export]
macro_rules! sql_copy_common {
    (
        tables: $tables:ty,
        tx: $tx:ident,
        database: $database:ty,
        row: $row:ty,
        migrator: $migrator:path,
        before_migrate: [$($before_migrate:literal),* $(,)?],
        begin_snapshot: $begin_snapshot:literal,
        begin_load: $begin_load:literal,
        overriding: $overriding:literal,
        after_load: [$($after_load:literal),* $(,)?],
        list_tables: $list_tables:literal,
        list_columns: $list_columns:literal,
        migrations_table: $migrations_table:literal,
        identity: $identity:path $(,)?
    ) => {
        /// A transaction over the tables of a database being copied from or into.
        pub struct $tx(sqlx::Transaction<'static, $database>);

        /// Binds `value`, a value of a column of `kind`: a `NULL` is bound with the column's
        /// type, which PostgreSQL needs to place it.
        fn bind_copied(
            values: &mut sqlx::query_builder::Separated<'_, $database, &'static str>,
            value: &hereby_store::copy::Value,
            kind: hereby_store::copy::Kind,
        ) {
            use hereby_store::copy::{Kind, Value};
            match (value, kind) {
                (Value::Int(value), _) => values.push_bind(*value),
                (Value::Bool(value), _) => values.push_bind(*value),
                (Value::Text(value), _) => values.push_bind(value.as_str()),
                (Value::Bytes(value), _) => values.push_bind(value.as_slice()),
                (Value::Null, Kind::Int) => values.push_bind(None::<i64>),
                (Value::Null, Kind::Bool) => values.push_bind(None::<bool>),
                (Value::Null, Kind::Text) => values.push_bind(None::<String>),
                (Value::Null, Kind::Bytes) => values.push_bind(None::<Vec<u8>>),
            };
        }

        /// The value of column `index`, a column of `kind`.
        fn copied_value(
            row: &$row,
            index: usize,
            kind: hereby_store::copy::Kind,
        ) -> Result<hereby_store::copy::Value, hereby_store::StoreError> {
            use hereby_store::copy::{Kind, Value};
            use sqlx::Row as _;
            Ok(match kind {
                Kind::Int => row
                    .try_get::<Option<i64>, _>(index)
                    .map_err(db)?
                    .map_or(Value::Null, Value::Int),
                Kind::Bool => row
                    .try_get::<Option<bool>, _>(index)
                    .map_err(db)?
                    .map_or(Value::Null, Value::Bool),
                Kind::Text => row
                    .try_get::<Option<String>, _>(index)
                    .map_err(db)?
                    .map_or(Value::Null, Value::Text),
                Kind::Bytes => row
                    .try_get::<Option<Vec<u8>>, _>(index)
                    .map_err(db)?
                    .map_or(Value::Null, Value::Bytes),
            })
        }

        /// `"name"`: a table name as an identifier, whatever it contains.
        fn quoted(name: &str) -> String {
            format!("\"{}\"", name.replace('"', "\"\""))
        }

        fn column_list(columns: impl Iterator<Item = hereby_store::copy::Column>) -> String {
            columns.map(|column| column.name).collect::<Vec<_>>().join(", ")
        }

        impl hereby_store::copy::TablesTx for $tx {
            async fn count(
                &mut self,
                table: &hereby_store::copy::Table,
            ) -> Result<u64, hereby_store::StoreError> {
                let mut query = sqlx::QueryBuilder::<$database>::new(format!(
                    "SELECT COUNT(*) FROM {}",
                    table.name
                ));
                if let Some(only) = table.only {
                    query.push(" WHERE ").push(only);
                }
                let rows: i64 = query
                    .build_query_scalar()
                    .fetch_one(&mut *self.0)
                    .await
                    .map_err(db)?;
                Ok(hereby_store::prepare::count(rows))
            }

            async fn read(
                &mut self,
                table: &hereby_store::copy::Table,
                after: Option<&[hereby_store::copy::Value]>,
                limit: u32,
            ) -> Result<Vec<hereby_store::copy::Row>, hereby_store::StoreError> {
                let key = column_list(table.key_columns());
                let mut query = sqlx::QueryBuilder::<$database>::new(format!(
                    "SELECT {} FROM {}",
                    column_list(table.columns.iter().copied()),
                    table.name
                ));
                let mut joiner = " WHERE ";
                if let Some(only) = table.only {
                    query.push(joiner).push(only);
                    joiner = " AND ";
                }
                if let Some(after) = after {
                    query.push(joiner).push("(").push(&key).push(") > (");
                    let mut values = query.separated(", ");
                    for (value, column) in after.iter().zip(table.key_columns()) {
                        bind_copied(&mut values, value, column.kind);
                    }
                    query.push(")");
                }
                query.push(format!(" ORDER BY {key} LIMIT {limit}"));
                let rows = query.build().fetch_all(&mut *self.0).await.map_err(db)?;
                rows.iter()
                    .map(|row| {
                        table
                            .columns
                            .iter()
                            .enumerate()
                            .map(|(index, column)| copied_value(row, index, column.kind))
                            .collect()
                    })
                    .collect()
            }

            async fn write(
                &mut self,
                table: &hereby_store::copy::Table,
                rows: &[hereby_store::copy::Row],
            ) -> Result<(), hereby_store::StoreError> {
                if rows.is_empty() {
                    return Ok(());
                }
                for row in rows {
                    table.check_row(row)?;
                }
                let mut query = sqlx::QueryBuilder::<$database>::new(format!(
                    "INSERT INTO {} ({}){} ",
                    table.name,
                    column_list(table.columns.iter().copied()),
                    $overriding
                ));
                query.push_values(rows, |mut values, row| {
                    for (value, column) in row.iter().zip(table.columns) {
                        bind_copied(&mut values, value, column.kind);
                    }
                });
                if table.seeded {
                    // The migrations inserted this table's rows: the copied ones take their
                    // place.
                    let updates: Vec<String> = table
                        .columns
                        .iter()
                        .filter(|column| !table.key.contains(&column.name))
                        .map(|column| format!("{0} = excluded.{0}", column.name))
                        .collect();
                    query.push(format!(
                        " ON CONFLICT ({}) DO UPDATE SET {}",
                        column_list(table.key_columns()),
                        updates.join(", ")
                    ));
                }
                query.build().execute(&mut *self.0).await.map_err(db)?;
                Ok(())
            }

            async fn commit(mut self) -> Result<(), hereby_store::StoreError> {
                let statements: &[&'static str] = &[$($after_load),*];
                for statement in statements {
                    sqlx::raw_sql(*statement)
                        .execute(&mut *self.0)
                        .await
                        .map_err(db)?;
                }
                self.0.commit().await.map_err(db)
            }
        }

        impl $tables {
            async fn table_names(&self) -> Result<Vec<String>, hereby_store::StoreError> {
                sqlx::query_scalar($list_tables)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db)
            }
        }

        impl hereby_store::copy::Tables for $tables {
            type Tx = $tx;

            async fn identity(&self) -> Result<String, hereby_store::StoreError> {
                $identity(self).await
            }

            async fn schema_version(
                &self,
            ) -> Result<hereby_store::copy::SchemaVersion, hereby_store::StoreError> {
                let known = $migrator.iter().map(|migration| migration.version).max().unwrap_or(0);
                let migrated: i64 = sqlx::query_scalar($migrations_table)
                    .fetch_one(&self.pool)
                    .await
                    .map_err(db)?;
                let applied = if migrated == 0 {
                    None
                } else {
                    sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
                        .fetch_one(&self.pool)
                        .await
                        .map_err(db)?
                };
                Ok(hereby_store::copy::SchemaVersion { applied, known })
            }

            async fn columns(
                &self,
            ) -> Result<
                std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
                hereby_store::StoreError,
            > {
                let mut all = std::collections::BTreeMap::new();
                for name in self.table_names().await? {
                    let columns: Vec<String> = sqlx::query_scalar($list_columns)
                        .bind(&name)
                        .fetch_all(&self.pool)
                        .await
                        .map_err(db)?;
                    all.insert(name, columns.into_iter().collect());
                }
                Ok(all)
            }

            async fn contents(&self) -> Result<Vec<(String, u64)>, hereby_store::StoreError> {
                let mut all = Vec::new();
                for name in self.table_names().await? {
                    let rows: i64 = sqlx::QueryBuilder::<$database>::new(format!(
                        "SELECT COUNT(*) FROM {}",
                        quoted(&name)
                    ))
                    .build_query_scalar()
                    .fetch_one(&self.pool)
                    .await
                    .map_err(db)?;
                    all.push((name, hereby_store::prepare::count(rows)));
                }
                Ok(all)
            }

            async fn migrate(&self) -> Result<(), hereby_store::StoreError> {
                let statements: &[&'static str] = &[$($before_migrate),*];
                for statement in statements {
                    sqlx::raw_sql(*statement)
                        .execute(&self.pool)
                        .await
                        .map_err(db)?;
                }
                $migrator.run(&self.pool).await.map_err(|e| {
                    hereby_store::StoreError::Database(format!("migration failed: {e}"))
                })
            }

            async fn snapshot(&self) -> Result<$tx, hereby_store::StoreError> {
                Ok($tx(self.pool.begin_with($begin_snapshot).await.map_err(db)?))
            }

            async fn load(&self) -> Result<$tx, hereby_store::StoreError> {
                Ok($tx(self.pool.begin_with($begin_load).await.map_err(db)?))
            }
        }
    };
}
