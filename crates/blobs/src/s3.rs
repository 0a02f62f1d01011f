//! Blobs in an S3-compatible bucket (AWS S3, MinIO, Ceph RGW, …), shared by every node:
//! `--image-store s3://BUCKET[/PREFIX]`, with the endpoint, region and credentials taken from
//! the usual environment variables (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
//! `AWS_REGION`, `AWS_ENDPOINT` for a server other than AWS, `AWS_ALLOW_HTTP=true` for one
//! without TLS), as other S3 tools read them.

use std::{future::Future, sync::Arc, time::SystemTime};

use futures_util::StreamExt;
use object_store::{
    ObjectStore, ObjectStoreExt, PutPayload, aws::AmazonS3Builder, path::Path as ObjectPath,
};
use tokio::runtime::Runtime;

use crate::{BlobError, Blobs, check_key, key_of, verified};

pub struct S3Blobs {
    store: Arc<dyn ObjectStore>,
    prefix: String,
    location: String,
    /// Drives the HTTP client. Its own, because callers block (they are on the service's
    /// blocking threads, or on no runtime at all in the command-line tools).
    runtime: Option<Runtime>,
}

impl S3Blobs {
    /// The bucket (and key prefix) of an `s3://BUCKET[/PREFIX]` URL, configured from the
    /// `AWS_*` environment.
    pub fn from_env(url: &str) -> Result<Self, BlobError> {
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| BlobError::Config(format!("{url} is not an s3:// URL")))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(BlobError::Config(format!("{url} names no bucket")));
        }
        install_ring();
        let store = AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .build()
            .map_err(|e| BlobError::Config(format!("image store {url}: {e}")))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("xray-blobs-s3")
            .enable_all()
            .build()
            .map_err(|e| BlobError::Config(format!("image store {url}: {e}")))?;
        Ok(Self {
            store: Arc::new(store),
            prefix: prefix.trim_matches('/').to_string(),
            location: url.to_string(),
            runtime: Some(runtime),
        })
    }

    fn path_of(&self, key: &str) -> ObjectPath {
        if self.prefix.is_empty() {
            ObjectPath::from(format!("{}/{key}", &key[..2]))
        } else {
            ObjectPath::from(format!("{}/{}/{key}", self.prefix, &key[..2]))
        }
    }

    /// Runs `work` on the store's runtime and waits for it on this thread (never inside the
    /// caller's runtime, so it cannot stall or panic there).
    fn run<T: Send + 'static>(
        &self,
        work: impl Future<Output = T> + Send + 'static,
    ) -> Result<T, BlobError> {
        let runtime = self
            .runtime
            .as_ref()
            .ok_or_else(|| self.fail("it is closed"))?;
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        runtime.spawn(async move {
            let _ = tx.send(work.await);
        });
        rx.recv().map_err(|_| self.fail("its task ended"))
    }

    fn fail(&self, reason: impl ToString) -> BlobError {
        BlobError::Unavailable {
            location: self.location.clone(),
            reason: reason.to_string(),
        }
    }
}

/// reqwest is built without its own choice of TLS provider: ring, the workspace's (xray-tls
/// says why ring, deprecated for lacking post-quantum key exchange, and not aws-lc-rs).
#[allow(deprecated)]
fn install_ring() {
    // Err: a provider is installed already, which serves as well.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl Drop for S3Blobs {
    fn drop(&mut self) {
        // Dropping a runtime where blocking is not allowed would panic.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl Blobs for S3Blobs {
    fn put(&self, bytes: &[u8]) -> Result<String, BlobError> {
        let key = key_of(bytes);
        let (store, path) = (Arc::clone(&self.store), self.path_of(&key));
        let payload = PutPayload::from(bytes.to_vec());
        // A PUT is atomic and durable when it is answered; the same bytes again rewrite the
        // same object, which also makes it young again.
        self.run(async move { store.put(&path, payload).await })?
            .map_err(|e| self.fail(e))?;
        Ok(key)
    }

    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, BlobError> {
        check_key(key)?;
        let (store, path) = (Arc::clone(&self.store), self.path_of(key));
        let fetched = self.run(async move {
            match store.get(&path).await {
                Ok(got) => got.bytes().await.map(Some),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(e),
            }
        })?;
        match fetched.map_err(|e| self.fail(e))? {
            Some(bytes) => verified(key, bytes.to_vec()).map(Some),
            None => Ok(None),
        }
    }

    fn delete(&self, key: &str) -> Result<(), BlobError> {
        check_key(key)?;
        let (store, path) = (Arc::clone(&self.store), self.path_of(key));
        match self.run(async move { store.delete(&path).await })? {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.fail(e)),
        }
    }

    fn stored_before(&self, before: SystemTime) -> Result<Vec<String>, BlobError> {
        let before_ms = before
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        let store = Arc::clone(&self.store);
        let prefix = (!self.prefix.is_empty()).then(|| ObjectPath::from(self.prefix.as_str()));
        let listed = self.run(async move {
            let mut keys = Vec::new();
            let mut objects = store.list(prefix.as_ref());
            while let Some(object) = objects.next().await {
                let object = object?;
                let name = object.location.filename().unwrap_or_default().to_string();
                if object.last_modified.timestamp_millis() < before_ms && check_key(&name).is_ok() {
                    keys.push(name);
                }
            }
            Ok::<_, object_store::Error>(keys)
        })?;
        listed.map_err(|e| self.fail(e))
    }

    fn location(&self) -> String {
        self.location.clone()
    }
}
