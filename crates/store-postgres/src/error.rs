//! The one error of this crate's internals, and how a PostgreSQL failure becomes a
//! [`StoreError`]: a database that cannot be reached or does not answer is `Unavailable`,
//! a conflict the database resolved by aborting a transaction may be retried, the rest is a
//! `Database` failure.

use std::time::Duration;

use tokio_postgres::error::SqlState;
use xray_customs::store::StoreError;

/// A failure inside the store.
#[derive(Debug)]
pub enum Failure {
    Pg(tokio_postgres::Error),
    Pool(deadpool_postgres::PoolError),
    /// No answer within the call's time limit.
    Timeout(Duration),
    Store(StoreError),
}

/// The result of this crate's internals.
pub type Result<T> = std::result::Result<T, Failure>;

impl From<tokio_postgres::Error> for Failure {
    fn from(e: tokio_postgres::Error) -> Self {
        Failure::Pg(e)
    }
}

impl From<deadpool_postgres::PoolError> for Failure {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        Failure::Pool(e)
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Failure::Store(e)
    }
}

/// What a PostgreSQL error means for the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// The database aborted the transaction to resolve a conflict: run it again.
    Retry,
    /// The server cannot be reached, went away, is starting or stopping, or did not answer.
    Unavailable,
    /// A unique constraint refused a row (the constraint's name).
    Unique(String),
    Other,
}

impl Failure {
    pub fn kind(&self) -> Kind {
        match self {
            Failure::Pg(e) => kind_of(e),
            Failure::Pool(deadpool_postgres::PoolError::Backend(e)) => kind_of(e),
            Failure::Pool(_) | Failure::Timeout(_) => Kind::Unavailable,
            Failure::Store(StoreError::Unavailable(_)) => Kind::Unavailable,
            Failure::Store(_) => Kind::Other,
        }
    }

    /// The store's error, naming the database at `target` (HOST:PORT) when it is unavailable.
    pub fn into_store_error(self, target: &str) -> StoreError {
        match self.kind() {
            Kind::Unavailable => match self {
                Failure::Store(e) => e,
                Failure::Timeout(limit) => StoreError::Unavailable(format!(
                    "the database at {target} cannot be reached: no answer within {} ms",
                    limit.as_millis()
                )),
                other => StoreError::Unavailable(format!(
                    "the database at {target} cannot be reached: {}",
                    other.describe()
                )),
            },
            _ => match self {
                Failure::Store(e) => e,
                other => StoreError::Database(other.describe()),
            },
        }
    }

    /// The error with its causes (tokio-postgres puts the server's message in a source).
    fn describe(&self) -> String {
        let mut out = match self {
            Failure::Pg(e) => e.to_string(),
            Failure::Pool(e) => e.to_string(),
            Failure::Timeout(limit) => format!("no answer within {} ms", limit.as_millis()),
            Failure::Store(e) => e.to_string(),
        };
        let mut source = match self {
            Failure::Pg(e) => std::error::Error::source(e),
            Failure::Pool(e) => std::error::Error::source(e),
            _ => None,
        };
        while let Some(s) = source {
            let text = s.to_string();
            if !out.contains(&text) {
                out.push_str(": ");
                out.push_str(&text);
            }
            source = s.source();
        }
        out
    }
}

fn kind_of(e: &tokio_postgres::Error) -> Kind {
    if let Some(code) = e.code() {
        let class = &code.code()[..2.min(code.code().len())];
        return if *code == SqlState::T_R_SERIALIZATION_FAILURE
            || *code == SqlState::T_R_DEADLOCK_DETECTED
        {
            Kind::Retry
        } else if *code == SqlState::UNIQUE_VIOLATION {
            Kind::Unique(
                e.as_db_error()
                    .and_then(|d| d.constraint())
                    .unwrap_or_default()
                    .to_string(),
            )
        } else if class == "08" // connection exception
            || class == "57" // operator intervention: shutdown, cannot connect now, cancelled
            || class == "53"
        // insufficient resources: too many connections, out of memory or disk
        {
            Kind::Unavailable
        } else {
            Kind::Other
        };
    }
    // No SQLSTATE: the connection itself failed (refused, reset, closed, timed out).
    let io = std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>());
    if e.is_closed() || io {
        Kind::Unavailable
    } else {
        Kind::Other
    }
}
