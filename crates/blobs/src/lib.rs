//! Where kept scan images live: out of the transactional database, which only records each
//! image's key. A blob is content-addressed (its key is the lower-case hex SHA-256 of its
//! bytes), so storing the same image twice is harmless, and it is durable when [`Blobs::put`]
//! returns: the service puts an image before the transaction that refers to it commits. Blobs
//! that no scan refers to (a transaction rolled back, a node killed between the two) are
//! swept later by the service, past a grace period.
//!
//! Two kinds: [`LocalBlobs`] (files under `--data-dir`, the default, for one machine) and
//! [`S3Blobs`] (an S3-compatible bucket, shared by every node).

mod local;
mod s3;

use std::{sync::Arc, time::SystemTime};

use sha2::{Digest, Sha256};

pub use local::LocalBlobs;
pub use s3::S3Blobs;

/// A blob store failure.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("{0:?} is not a blob key (64 lower-case hex digits)")]
    BadKey(String),
    #[error("the image store at {location} cannot be used: {reason}")]
    Unavailable { location: String, reason: String },
    #[error("blob {key} is corrupt: its bytes hash to {actual}")]
    Corrupt { key: String, actual: String },
    #[error("{0}")]
    Config(String),
}

/// Kept images by key. Calls block: the service runs them on blocking threads.
pub trait Blobs: Send + Sync {
    /// Stores `bytes` durably and answers their key. Storing bytes that are stored already
    /// refreshes the blob's age, so that a sweep running at the same moment spares it.
    fn put(&self, bytes: &[u8]) -> Result<String, BlobError>;

    /// The bytes stored under `key`, checked against it; None when there is no such blob.
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, BlobError>;

    /// Removes the blob (nothing when there is none).
    fn delete(&self, key: &str) -> Result<(), BlobError>;

    /// The keys of blobs last stored before `before`: what a sweep may consider.
    fn stored_before(&self, before: SystemTime) -> Result<Vec<String>, BlobError>;

    /// Where the blobs are, for logs (no secrets).
    fn location(&self) -> String;
}

/// The key of `bytes`.
pub fn key_of(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Refuses anything but a key: a key becomes a file name or an object path.
pub fn check_key(key: &str) -> Result<(), BlobError> {
    let ok = key.len() == 64
        && key
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if ok {
        Ok(())
    } else {
        Err(BlobError::BadKey(key.to_string()))
    }
}

/// Checks fetched bytes against their key: a truncated or altered blob is an error, never an
/// image shown to an inspector as if it were the scan.
fn verified(key: &str, bytes: Vec<u8>) -> Result<Vec<u8>, BlobError> {
    let actual = key_of(&bytes);
    if actual == key {
        Ok(bytes)
    } else {
        Err(BlobError::Corrupt {
            key: key.to_string(),
            actual,
        })
    }
}

/// The blob store a `--image-store` value names: `s3://BUCKET[/PREFIX]` is a bucket (configured
/// from the usual `AWS_*` environment variables), anything else a folder.
pub fn open(location: &str) -> Result<Arc<dyn Blobs>, BlobError> {
    if location.starts_with("s3://") {
        Ok(Arc::new(S3Blobs::from_env(location)?))
    } else {
        Ok(Arc::new(LocalBlobs::open(location)?))
    }
}
