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
use xray_customs::{
    risk::{ModelClasses, RiskPolicy, Taxonomies, Taxonomy, TaxonomyError},
    store::{Purged, Store, StoreError},
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
    /// The use cases over `store`; scans wait for [`Service::models_ready`].
    pub fn new(
        store: Arc<dyn Store>,
        policy: RiskPolicy,
        keep_images: KeepImages,
        limits: ImageLimits,
    ) -> Result<Self, Error> {
        let last = store.last_risk_sequence()?;
        for class in store.accuracy(None)? {
            metrics().precision(&class.model, &class.class_name, class.precision());
        }
        let stopping = watch::Sender::new(false);
        Ok(Self {
            feed: RiskFeed::new(Arc::clone(&store), last, stopping.subscribe()),
            stopping: Arc::new(stopping),
            store,
            policy,
            keep_images,
            limits,
            ready: Arc::default(),
            events: broadcast::channel(REVIEW_EVENT_BUFFER).0,
            authenticator: Arc::default(),
            declaration_from: dicos::DeclarationFrom::default(),
        })
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

    /// Drops the images of scans received more than `days` days ago; answers how many scans
    /// lost theirs and the blobs no scan refers to any more.
    pub async fn purge_images(&self, days: u32) -> Result<Purged, Error> {
        let before = xray_customs::declaration::now_ms() - i64::from(days) * 86_400_000;
        self.blocking(move |store| Ok(store.purge_images(before)?))
            .await
    }
}
