//! Where `serve` and `principals` keep things: the database (SQLite under `--data-dir`, or
//! PostgreSQL with `--database-url`) and the image store (files under `--data-dir/images`, or
//! an S3-compatible bucket with `--image-store s3://…`).

use std::{path::Path, sync::Arc, time::Duration};

use anyhow::Context;
use clap::Args;
use xray_blobs::Blobs;
use xray_customs::store::Store;
use xray_store_postgres::{PgSettings, PgStore};
use xray_store_sqlite::SqliteStore;

/// The image store's folder inside `--data-dir` when `--image-store` is not given.
pub const IMAGES_DIR: &str = "images";

/// Which database: PostgreSQL when a URL is given, else SQLite under `--data-dir`.
#[derive(Debug, Args)]
pub struct DatabaseArgs {
    /// A PostgreSQL database that several nodes share, e.g.
    /// postgres://xray@db.example:5432/xray (a password is better in PGPASSWORD or
    /// ~/.pgpass than in the URL) [default: SQLite in --data-dir].
    #[arg(long, env = "XRAY_DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// PostgreSQL connections per node: writes and reads in flight at once.
    #[arg(long, env = "XRAY_DATABASE_POOL", default_value_t = 16, global = true)]
    pub database_pool: usize,
    /// Seconds connecting to PostgreSQL, or waiting for a pooled connection, may take before
    /// a call answers UNAVAILABLE.
    #[arg(
        long,
        env = "XRAY_DATABASE_CONNECT_TIMEOUT_SECS",
        default_value_t = 5,
        global = true
    )]
    pub database_connect_timeout_secs: u64,
    /// Seconds one PostgreSQL statement may run (a lock wait included) before it is cancelled
    /// and the call answers UNAVAILABLE.
    #[arg(
        long,
        env = "XRAY_DATABASE_STATEMENT_TIMEOUT_SECS",
        default_value_t = 10,
        global = true
    )]
    pub database_statement_timeout_secs: u64,
}

/// Opens the database that `data_dir` and `db` name.
pub fn open_store(data_dir: &Path, db: &DatabaseArgs) -> anyhow::Result<Arc<dyn Store>> {
    if let Some(url) = &db.database_url {
        let settings = PgSettings {
            pool_size: db.database_pool.max(1),
            connect_timeout: Duration::from_secs(db.database_connect_timeout_secs.max(1)),
            statement_timeout: Duration::from_secs(db.database_statement_timeout_secs.max(1)),
        };
        // Not the URL: it may hold a password.
        let store = PgStore::connect(url, settings)
            .context("cannot open the PostgreSQL database (--database-url)")?;
        tracing::info!(database = %store.target(), "storage opened (PostgreSQL)");
        return Ok(Arc::new(store));
    }
    let store = SqliteStore::open(data_dir).with_context(|| {
        format!(
            "cannot open the database in {} (--data-dir)",
            data_dir.display()
        )
    })?;
    tracing::info!(database = %store.path().display(), "storage opened");
    Ok(Arc::new(store))
}

/// Opens the image store: `location` (a folder, or `s3://BUCKET[/PREFIX]`), else
/// `data_dir/images`.
pub fn open_images(data_dir: &Path, location: Option<&str>) -> anyhow::Result<Arc<dyn Blobs>> {
    let location = match location {
        Some(location) => location.to_string(),
        None => data_dir.join(IMAGES_DIR).display().to_string(),
    };
    let blobs = xray_blobs::open(&location)
        .with_context(|| format!("cannot open the image store {location} (--image-store)"))?;
    tracing::info!(images = %blobs.location(), "image store opened");
    Ok(blobs)
}
