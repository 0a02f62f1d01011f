//! Where `serve` and `principals` keep things: the database (SQLite under `--data-dir`, or
//! PostgreSQL with `--database-url`) and the image store (files under `--data-dir/images`, or
//! an S3-compatible bucket with `--image-store s3://…`).

use std::{path::Path, sync::Arc};

use anyhow::Context;
use clap::Args;
use xray_blobs::Blobs;
use xray_customs::store::Store;
use xray_store_sqlite::SqliteStore;

/// The image store's folder inside `--data-dir` when `--image-store` is not given.
pub const IMAGES_DIR: &str = "images";

/// Which database.
#[derive(Debug, Args)]
pub struct DatabaseArgs {}

/// Opens the database that `data_dir` and `db` name.
pub fn open_store(data_dir: &Path, db: &DatabaseArgs) -> anyhow::Result<Arc<dyn Store>> {
    let _ = db;
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
