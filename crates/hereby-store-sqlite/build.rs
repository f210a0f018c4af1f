//! Rebuilds the crate when a migration is added or changed: `sqlx::migrate!` embeds the
//! migrations (the database's and its search index's) at compile time, and Cargo does not
//! otherwise look at those directories.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
    println!("cargo:rerun-if-changed=search_migrations");
}
