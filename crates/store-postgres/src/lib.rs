//! The shared store: xray-customs' [`Store`](xray_customs::store::Store) on PostgreSQL, so
//! that several service nodes run on one database. What a write records is the domain's
//! (`xray_customs::ledger`); this crate keeps it with the same guarantees as the SQLite store:
//! each write is one transaction committed before it returns; writes to one declaration are
//! serialised across nodes (an advisory lock on its id, taken when the unit of work reads
//! it, before the scan id is checked); risk changes and audit entries are numbered gap-free
//! in commit order (a counter row locked until commit, not a sequence object, which would
//! leave gaps and commit out of order); images are blob keys, never bytes.
//!
//! The client is tokio-postgres with a deadpool pool. The [`Store`] trait is blocking, and
//! its callers are blocking tasks of the service's runtime and plain CLI code; so the store
//! owns a small runtime of its own (two threads) that drives the pool's connections and the
//! LISTEN connection, and a call hands its work to that runtime and waits on a channel. The
//! calling thread never enters a runtime (no `block_on`): nothing can panic with "Cannot
//! start a runtime from within a runtime", and the service's async workers are never the
//! ones doing the I/O. Every wait is bounded (connect timeout plus statement timeout, see
//! [`PgSettings`]): a database that went away answers `StoreError::Unavailable` within it,
//! and the pool makes new connections when it is back, without a restart.
//!
//! [`codec`] maps values, [`read`] the queries, [`write`] a transaction as the domain's
//! unit of work, [`schema`] the migrations, [`listen`] notices from other nodes.
//!
//! [`Store`]: xray_customs::store::Store

mod codec;
mod error;
mod listen;
mod pg;
mod read;
mod schema;
mod write;

pub use pg::{PgSettings, PgStore};
