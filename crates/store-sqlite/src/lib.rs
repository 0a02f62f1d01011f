//! The embedded store: xray-customs' [`Store`](xray_customs::store::Store) on one SQLite file
//! under `--data-dir`. What a write records is the domain's (`xray_customs::ledger`); this
//! crate keeps it: [`codec`] between SQLite values and the domain's, [`read`] the queries,
//! [`write`] a transaction as the domain's unit of work, [`schema`] the migrations.

mod codec;
mod group;
mod read;
mod schema;
mod sqlite;
#[cfg(test)]
mod tests;
mod write;

pub use sqlite::{DATABASE_FILE, SqliteStore};
