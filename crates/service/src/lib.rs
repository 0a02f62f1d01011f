//! The use cases: what every front door (gRPC, the review screen's HTTP API, and the doors
//! added later) calls, and the only place where the engine, the customs domain and the store
//! meet. A door translates its request into a call here and the answer back, nothing else.
//!
//! - [`screening`]: screen a scan, with or without a declaration; a stored scan is replayed.
//! - [`declarations`]: register and read declarations; the risk feed ([`feed`]).
//! - [`review`]: the review queue, a stored scan and its image, verdicts, the audit log and
//!   the model's accuracy in service.
//!
//! Store calls block: they run on the runtime's blocking threads. A use case that writes
//! runs in one store transaction (read, assess risk, write, commit) and answers only after
//! the commit; risk changes are announced to the feed after it.

pub mod access;
pub mod authentication;
pub mod declarations;
pub mod dicos;
mod error;
pub mod feed;
pub mod inference;
pub mod principals;
pub mod review;
pub mod screening;
pub mod throttle;

use std::sync::{Arc, OnceLock};

use tokio::sync::{broadcast, watch};
use xray_blobs::Blobs;
use xray_customs::{
    risk::{ModelClasses, RiskPolicy, Taxonomies, Taxonomy, TaxonomyError},
    store::{Notice, Store, StoreError},
};
use xray_engine::{imaging::ImageLimits, pipeline::Pipeline};
use xray_metrics::metrics;

pub use access::{Call, Caller};
pub use authentication::{AccessSettings, Credential};
pub use error::{Error, ErrorKind};
pub use review::ReviewEvent;
pub use screening::KeepImages;

use authentication::Authenticator;
use feed::RiskFeed;

/// Review events buffered per listener before the slowest one is told to reload.
const REVIEW_EVENT_BUFFER: usize = 256;

/// Blob keys checked against the store at a time by the orphan sweep.
const SWEEP_BATCH: usize = 500;

/// The store topic that carries review events between nodes.
const REVIEW_TOPIC: &str = "review";

/// What the models give the use cases once they are loaded and warmed up.
struct Ready {
    pipeline: Pipeline,
    /// Which declared HS headings cover which classes, by model (shared with the assessments
    /// that run inside store transactions).
    taxonomies: Arc<Taxonomies>,
}

/// The use cases over one engine pipeline and one store; cheap to clone.
#[derive(Clone)]
pub struct Service {
    store: Arc<dyn Store>,
    policy: RiskPolicy,
    keep_images: KeepImages,
    /// Where kept images are (the store keeps their keys).
    blobs: Arc<dyn Blobs>,
    /// Whether other processes write to the store too: review events then go through it.
    shared: bool,
    /// The limits of scans (also those of kept images decoded for display).
    limits: ImageLimits,
    /// Set once the models are loaded; scans are refused as not ready until then.
    ready: Arc<OnceLock<Ready>>,
    feed: RiskFeed,
    events: broadcast::Sender<ReviewEvent>,
    /// Turns true when the server begins to shut down.
    stopping: Arc<watch::Sender<bool>>,
    authenticator: Arc<Authenticator>,
    /// Which attribute of a DICOS DX names its declaration.
    declaration_from: dicos::DeclarationFrom,
}

impl Service {
    /// The use cases over `store`, keeping images in `blobs`; scans wait for
    /// [`Service::models_ready`]. When other processes share the store, what they commit
    /// reaches this one's risk feed and review screens.
    pub fn new(
        store: Arc<dyn Store>,
        blobs: Arc<dyn Blobs>,
        policy: RiskPolicy,
        keep_images: KeepImages,
        limits: ImageLimits,
    ) -> Result<Self, Error> {
        let last = store.last_risk_sequence()?;
        for class in store.accuracy(None)? {
            metrics().precision(&class.model, &class.class_name, class.precision());
        }
        let stopping = watch::Sender::new(false);
        let feed = RiskFeed::new(Arc::clone(&store), last, stopping.subscribe());
        let events = broadcast::channel(REVIEW_EVENT_BUFFER).0;
        let shared = {
            let (feed, events) = (feed.clone(), events.clone());
            store.listen(Arc::new(move |notice| match notice {
                Notice::RiskChanged { sequence } => feed.heard(sequence),
                Notice::Resync => feed.resync(),
                Notice::Message { topic, payload } if topic == REVIEW_TOPIC => {
                    match serde_json::from_str::<ReviewEvent>(&payload) {
                        Ok(event) => {
                            let _ = events.send(event);
                        }
                        Err(e) => {
                            tracing::warn!(%e, "a review event from another node is unreadable")
                        }
                    }
                }
                Notice::Message { .. } => {}
            }))?
        };
        Ok(Self {
            feed,
            stopping: Arc::new(stopping),
            store,
            blobs,
            shared,
            policy,
            keep_images,
            limits,
            ready: Arc::default(),
            events,
            authenticator: Arc::default(),
            declaration_from: dicos::DeclarationFrom::default(),
        })
    }

    /// Tells open review screens, on every node, what changed.
    fn announce(&self, event: ReviewEvent) {
        if !self.shared {
            let _ = self.events.send(event);
            return;
        }
        // Through the store: every node (this one too) hears it from its listener.
        let (store, events) = (Arc::clone(&self.store), self.events.clone());
        tokio::task::spawn_blocking(move || {
            let sent = serde_json::to_string(&event)
                .map_err(|e| StoreError::Database(e.to_string()))
                .and_then(|payload| store.publish(REVIEW_TOPIC, &payload));
            if let Err(e) = sent {
                tracing::warn!(%e, "review event not sent to the other nodes");
                let _ = events.send(event);
            }
        });
    }

    /// The same use cases, taking a DICOS scan's declaration from `from`.
    pub fn with_dicos_declarations(self, from: dicos::DeclarationFrom) -> Self {
        Self {
            declaration_from: from,
            ..self
        }
    }

    /// The same use cases, authenticating callers with `settings`.
    pub fn with_access(self, settings: AccessSettings) -> Self {
        Self {
            authenticator: Arc::new(Authenticator::new(settings)),
            ..self
        }
    }

    /// Called once the models are loaded and warmed up: reads each model's taxonomy, then
    /// starts screening.
    pub fn models_ready(&self, pipeline: Pipeline) -> Result<(), TaxonomyError> {
        let taxonomies = pipeline
            .models()
            .map(|m| {
                let classes = ModelClasses {
                    model: m.spec.name.clone(),
                    classes: m
                        .spec
                        .classes
                        .iter()
                        .map(|c| (c.name.clone(), c.category))
                        .collect(),
                };
                Ok((m.spec.name.clone(), Taxonomy::load(&m.dir, &classes)?))
            })
            .collect::<Result<Taxonomies, TaxonomyError>>()?;
        // A second call keeps the first models: they are what is running.
        let _ = self.ready.set(Ready {
            pipeline,
            taxonomies: Arc::new(taxonomies),
        });
        Ok(())
    }

    /// Whether the models are loaded and warmed up.
    pub fn is_ready(&self) -> bool {
        self.ready.get().is_some()
    }

    fn ready(&self) -> Result<&Ready, Error> {
        self.ready.get().ok_or(Error::NotReady)
    }

    /// Runs blocking store work on the runtime's blocking threads.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn Store) -> Result<T, Error> + Send + 'static,
    ) -> Result<T, Error> {
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || f(store.as_ref()))
            .await
            .map_err(|e| Error::Store(StoreError::Database(format!("store task: {e}"))))?
    }

    /// Begins shutting down: new scans are refused (UNAVAILABLE), and every long-lived stream
    /// (the risk feed, review events, scan streams) ends once what it has in flight is sent.
    pub fn shut_down(&self) {
        self.stopping.send_replace(true);
    }

    /// Whether the server is shutting down.
    pub fn is_stopping(&self) -> bool {
        *self.stopping.borrow()
    }

    /// Resolves once the server begins to shut down.
    pub fn stopping(&self) -> impl std::future::Future<Output = ()> + Send + use<> {
        let mut stopping = self.stopping.subscribe();
        async move {
            // An error means the service is gone, which is a shutdown too.
            let _ = stopping.wait_for(|s| *s).await;
        }
    }

    /// Drops the images of scans received more than `days` days ago, and their blobs once no
    /// scan refers to them; answers how many scans lost their image.
    pub async fn purge_images(&self, days: u32) -> Result<usize, Error> {
        let before = xray_customs::declaration::now_ms() - i64::from(days) * 86_400_000;
        let blobs = Arc::clone(&self.blobs);
        self.blocking(move |store| {
            let purged = store.purge_images(before)?;
            // Asked again just before deleting: a scan of the same bytes may have been stored
            // since (content addressing shares one blob between identical images).
            let taken = store.referenced_images(&purged.unreferenced)?;
            for key in purged.unreferenced.iter().filter(|k| !taken.contains(*k)) {
                blobs.delete(key)?;
            }
            Ok(purged.scans)
        })
        .await
    }

    /// Deletes blobs stored more than `grace` ago that no scan refers to: left by a write that
    /// failed or a node killed between storing an image and committing its scan. The grace
    /// spares images whose transaction is still open. Answers how many were deleted.
    pub async fn sweep_images(&self, grace: std::time::Duration) -> Result<usize, Error> {
        let blobs = Arc::clone(&self.blobs);
        self.blocking(move |store| {
            let before = std::time::SystemTime::now() - grace;
            let mut swept = 0;
            for keys in blobs.stored_before(before)?.chunks(SWEEP_BATCH) {
                let referenced = store.referenced_images(keys)?;
                for key in keys.iter().filter(|k| !referenced.contains(*k)) {
                    blobs.delete(key)?;
                    swept += 1;
                }
            }
            Ok(swept)
        })
        .await
    }
}
