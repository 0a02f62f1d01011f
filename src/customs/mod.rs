//! The customs side of the service: declarations registered by the risk-management system,
//! scans stored against them with the risk they lead to, inspectors' verdicts, and the risk
//! feed. Store calls run on blocking threads; every risk change is published to
//! [`Customs::watch`] subscribers after it is committed.

mod feed;

use std::sync::{Arc, OnceLock};

use tokio::sync::broadcast;

use crate::{
    declaration::{
        Assessment, Declaration, DeclarationState, DetectionVerdict, ScanDecision, StoredDetection,
        StoredImage, StoredScan, now_ms, validate,
    },
    metrics::metrics,
    pipeline::Inspection,
    risk::{RiskPolicy, Taxonomies},
    store::{
        AuditEntry, AuditQuery, ClassAccuracy, FlaggedQuery, FlaggedScan, NewScan, Registration,
        RiskOutcome, Store, StoreError, VerdictRecord,
    },
};

pub use feed::RiskFeed;

/// Why a customs request failed.
#[derive(Debug, thiserror::Error)]
pub enum CustomsError {
    #[error("{0}")]
    Invalid(String),
    #[error(
        "declaration {0} is not registered; register it with Declarations.RegisterDeclaration first"
    )]
    UnknownDeclaration(String),
    #[error("scan {0} is not stored")]
    UnknownScan(String),
    #[error("declaration {0} is already registered with other content")]
    DeclarationConflict(String),
    #[error(
        "scan_id {scan_id} is already stored for declaration {declaration_id}; scan ids must be unique"
    )]
    ScanConflict {
        scan_id: String,
        declaration_id: String,
    },
    #[error("the server is still loading its models; retry shortly")]
    NotReady,
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for CustomsError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::UnknownDeclaration(id) => CustomsError::UnknownDeclaration(id),
            StoreError::UnknownScan(id) => CustomsError::UnknownScan(id),
            StoreError::DuplicateScan {
                scan_id,
                declaration_id,
            } => CustomsError::ScanConflict {
                scan_id,
                declaration_id,
            },
            e => CustomsError::Store(e),
        }
    }
}

/// Which scan images are kept with their scans (`--keep-images`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum KeepImages {
    /// None: only metadata and detections.
    None,
    /// Scans with an alarm: what inspectors review.
    Flagged,
    /// Every stored scan.
    All,
}

/// How a scan arrived, kept with it.
#[derive(Debug, Clone)]
pub struct ScanArrival {
    pub declaration_id: String,
    pub portal_id: String,
    /// `xray.v1.View` value.
    pub view: i32,
    /// `xray.v1.ImageEncoding` value, as sent.
    pub encoding: i32,
    /// Samples per pixel of a RAW_U16 image.
    pub channels: u32,
    pub image: bytes::Bytes,
    pub received_ms: i64,
}

/// An inspector's verdict as the Review API receives it.
#[derive(Debug, Clone)]
pub struct VerdictRequest {
    pub scan_id: String,
    pub detections: Vec<(u32, DetectionVerdict)>,
    pub decision: Option<ScanDecision>,
    pub inspector_id: String,
    pub comment: String,
}

/// What the review screen is told about as it happens.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ReviewEvent {
    /// A scan with an alarm was stored.
    Flagged {
        scan_id: String,
        declaration_id: String,
    },
    /// A verdict was stored.
    Verdict {
        scan_id: String,
        declaration_id: String,
    },
}

/// Review events buffered per listener before the slowest one is told to reload.
const REVIEW_EVENT_BUFFER: usize = 256;

/// Longest inspector id and comment, in bytes.
const MAX_INSPECTOR_ID_BYTES: usize = 128;
const MAX_COMMENT_BYTES: usize = 4096;

/// Declarations, stored scans, verdicts and the risk feed over one [`Store`]; cheap to clone.
#[derive(Clone)]
pub struct Customs {
    store: Arc<dyn Store>,
    policy: RiskPolicy,
    /// Set once the models are loaded: which declared HS headings cover which classes.
    taxonomies: Arc<OnceLock<Taxonomies>>,
    keep_images: KeepImages,
    feed: RiskFeed,
    events: broadcast::Sender<ReviewEvent>,
}

impl Customs {
    pub fn new(
        store: Arc<dyn Store>,
        policy: RiskPolicy,
        keep_images: KeepImages,
    ) -> Result<Self, CustomsError> {
        let last = store.last_risk_sequence()?;
        for class in store.accuracy(None)? {
            metrics().precision(&class.model, &class.class_name, class.precision());
        }
        Ok(Self {
            feed: RiskFeed::new(Arc::clone(&store), last),
            store,
            policy,
            taxonomies: Arc::default(),
            keep_images,
            events: broadcast::channel(REVIEW_EVENT_BUFFER).0,
        })
    }

    /// Called once the models are loaded.
    pub fn set_taxonomies(&self, taxonomies: Taxonomies) {
        let _ = self.taxonomies.set(taxonomies);
    }

    fn assessor(
        &self,
    ) -> Result<impl Fn(&DeclarationState) -> Assessment + Sync + use<>, CustomsError> {
        let taxonomies = Arc::clone(&self.taxonomies);
        taxonomies.get().ok_or(CustomsError::NotReady)?;
        let policy = self.policy;
        Ok(move |s: &DeclarationState| {
            let empty = Taxonomies::new();
            policy.assess(&s.declaration, &s.scans, taxonomies.get().unwrap_or(&empty))
        })
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn Store) -> Result<T, CustomsError> + Send + 'static,
    ) -> Result<T, CustomsError> {
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || f(store.as_ref()))
            .await
            .map_err(|e| CustomsError::Store(StoreError::Database(format!("store task: {e}"))))?
    }

    /// Registers a declaration; the same one again answers the stored one.
    pub async fn register(
        &self,
        declaration: Declaration,
    ) -> Result<DeclarationState, CustomsError> {
        validate(&declaration).map_err(|e| CustomsError::Invalid(e.0))?;
        let policy = self.policy;
        let id = declaration.id.clone();
        let registration = self
            .blocking(move |store| {
                // A new declaration has no scans: its risk is the prior's, whatever the models.
                let assess = |s: &DeclarationState| {
                    policy.assess(&s.declaration, &s.scans, &Taxonomies::new())
                };
                Ok(store
                    .register(&declaration, now_ms(), &assess)
                    .map(|r| (r, declaration))?)
            })
            .await?;
        match registration {
            (Registration::New { state, change }, _) => {
                self.feed.published(&change);
                Ok(*state)
            }
            (Registration::Existing(state), sent) if state.declaration == sent => Ok(*state),
            (Registration::Existing(_), _) => Err(CustomsError::DeclarationConflict(id)),
        }
    }

    pub async fn declaration(&self, id: &str) -> Result<DeclarationState, CustomsError> {
        let id = id.to_string();
        self.blocking(move |store| {
            store
                .declaration(&id)?
                .ok_or(CustomsError::UnknownDeclaration(id))
        })
        .await
    }

    /// Before a scan of a declaration is run: the declaration must be registered, and a scan
    /// id already stored for it is answered from the store (returned here).
    pub async fn admit_scan(
        &self,
        scan_id: &str,
        declaration_id: &str,
    ) -> Result<Option<(StoredScan, DeclarationState)>, CustomsError> {
        let (scan_id, declaration_id) = (scan_id.to_string(), declaration_id.to_string());
        // On the path of every scan: the whole declaration (all its scans) is read only to
        // answer a repeated scan from the store.
        self.blocking(move |store| {
            if !store.is_registered(&declaration_id)? {
                return Err(CustomsError::UnknownDeclaration(declaration_id));
            }
            match store.scan(&scan_id)? {
                None => Ok(None),
                Some(scan) if scan.declaration_id == declaration_id => {
                    let state = store
                        .declaration(&declaration_id)?
                        .ok_or_else(|| CustomsError::UnknownDeclaration(declaration_id.clone()))?;
                    Ok(Some((scan, state)))
                }
                Some(scan) => Err(CustomsError::ScanConflict {
                    scan_id,
                    declaration_id: scan.declaration_id,
                }),
            }
        })
        .await
    }

    /// Stores a screened scan of a declaration and re-computes the declaration's risk; the
    /// answer may only be sent once this returns.
    pub async fn record_scan(
        &self,
        inspection: &Inspection,
        arrival: ScanArrival,
    ) -> Result<DeclarationState, CustomsError> {
        let keep = match self.keep_images {
            KeepImages::None => false,
            KeepImages::Flagged => inspection.alarm,
            KeepImages::All => true,
        };
        let new = NewScan {
            scan: StoredScan {
                scan_id: inspection.scan_id.clone(),
                declaration_id: arrival.declaration_id,
                portal_id: arrival.portal_id,
                view: arrival.view,
                model: inspection.model.clone(),
                model_version: inspection.model_version.clone(),
                width: inspection.width,
                height: inspection.height,
                alarm: inspection.alarm,
                received_ms: arrival.received_ms,
                decision: None,
                detections: inspection
                    .detections
                    .iter()
                    .enumerate()
                    .map(|(i, d)| StoredDetection {
                        id: u32::try_from(i).unwrap_or(u32::MAX),
                        class_name: d.class_name.clone(),
                        category: d.category,
                        confidence: d.confidence,
                        bbox: d.bbox,
                        alarm: d.alarm,
                        verdict: None,
                        verdict_by: String::new(),
                    })
                    .collect(),
            },
            image: keep.then(|| StoredImage {
                encoding: arrival.encoding,
                channels: arrival.channels,
                bytes: arrival.image.to_vec(),
            }),
        };
        let assess = self.assessor()?;
        let started = std::time::Instant::now();
        let outcome: RiskOutcome = self
            .blocking(move |store| Ok(store.record_scan(&new, &assess)?))
            .await?;
        metrics()
            .store_write_seconds
            .observe(started.elapsed().as_secs_f64());
        if let Some(change) = &outcome.change {
            self.feed.published(change);
        }
        if inspection.alarm {
            let _ = self.events.send(ReviewEvent::Flagged {
                scan_id: inspection.scan_id.clone(),
                declaration_id: outcome.state.declaration.id.clone(),
            });
        }
        Ok(outcome.state)
    }

    /// Records a verdict; answers the declaration after it and the audit entry's number.
    pub async fn submit_verdict(
        &self,
        verdict: VerdictRequest,
    ) -> Result<(DeclarationState, u64), CustomsError> {
        let invalid = |m: String| Err(CustomsError::Invalid(m));
        if verdict.inspector_id.trim().is_empty() {
            return invalid("inspector_id is empty: every verdict names its inspector".into());
        }
        if verdict.inspector_id.len() > MAX_INSPECTOR_ID_BYTES {
            return invalid(format!(
                "inspector_id is {} bytes; the limit is {MAX_INSPECTOR_ID_BYTES}",
                verdict.inspector_id.len()
            ));
        }
        if verdict.comment.len() > MAX_COMMENT_BYTES {
            return invalid(format!(
                "comment is {} bytes; the limit is {MAX_COMMENT_BYTES}",
                verdict.comment.len()
            ));
        }
        if verdict.detections.is_empty() && verdict.decision.is_none() {
            return invalid(
                "the verdict judges no detection and decides nothing about the scan".into(),
            );
        }
        let assess = self.assessor()?;
        let record = VerdictRecord {
            scan_id: verdict.scan_id.clone(),
            detections: verdict.detections.clone(),
            decision: verdict.decision,
            inspector_id: verdict.inspector_id.clone(),
            comment: verdict.comment.clone(),
            at_ms: now_ms(),
        };
        let (scan, (outcome, audit_seq), accuracy) = self
            .blocking(move |store| {
                let scan = store
                    .scan(&record.scan_id)?
                    .ok_or_else(|| CustomsError::UnknownScan(record.scan_id.clone()))?;
                for (id, _) in &record.detections {
                    if !scan.detections.iter().any(|d| d.id == *id) {
                        return Err(CustomsError::Invalid(format!(
                            "scan {} has no detection {id} (it has {})",
                            scan.scan_id,
                            match scan.detections.len() {
                                0 => "none".to_string(),
                                n => format!("detection_id 0 to {}", n - 1),
                            }
                        )));
                    }
                }
                let stored = store.record_verdict(&record, &assess)?;
                let accuracy = store.accuracy(Some(&scan.model))?;
                Ok((scan, stored, accuracy))
            })
            .await?;
        for (id, v) in &verdict.detections {
            if let Some(d) = scan.detections.iter().find(|d| d.id == *id) {
                metrics().verdict(&scan.model, &d.class_name, v.as_str());
            }
        }
        for class in accuracy {
            metrics().precision(&class.model, &class.class_name, class.precision());
        }
        if let Some(change) = &outcome.change {
            self.feed.published(change);
        }
        let _ = self.events.send(ReviewEvent::Verdict {
            scan_id: scan.scan_id.clone(),
            declaration_id: scan.declaration_id.clone(),
        });
        Ok((outcome.state, audit_seq))
    }

    /// A stored scan, its image (when asked for and kept) and its declaration.
    pub async fn scan_record(
        &self,
        scan_id: &str,
        with_image: bool,
    ) -> Result<(StoredScan, Option<StoredImage>, DeclarationState), CustomsError> {
        let scan_id = scan_id.to_string();
        self.blocking(move |store| {
            let scan = store
                .scan(&scan_id)?
                .ok_or_else(|| CustomsError::UnknownScan(scan_id.clone()))?;
            let image = if with_image {
                store.scan_image(&scan_id)?
            } else {
                None
            };
            let state = store
                .declaration(&scan.declaration_id)?
                .ok_or_else(|| CustomsError::UnknownDeclaration(scan.declaration_id.clone()))?;
            Ok((scan, image, state))
        })
        .await
    }

    pub async fn flagged(&self, query: FlaggedQuery) -> Result<Vec<FlaggedScan>, CustomsError> {
        self.blocking(move |store| Ok(store.flagged(&query)?)).await
    }

    pub async fn audit(&self, query: AuditQuery) -> Result<Vec<AuditEntry>, CustomsError> {
        self.blocking(move |store| Ok(store.audit(&query)?)).await
    }

    pub async fn accuracy(
        &self,
        model: Option<String>,
    ) -> Result<Vec<ClassAccuracy>, CustomsError> {
        self.blocking(move |store| Ok(store.accuracy(model.as_deref())?))
            .await
    }

    /// Drops the images of scans received more than `days` days ago.
    pub async fn purge_images(&self, days: u32) -> Result<usize, CustomsError> {
        let before = now_ms() - i64::from(days) * 86_400_000;
        self.blocking(move |store| Ok(store.purge_images(before)?))
            .await
    }

    /// Flagged scans and verdicts as they are stored.
    pub fn review_events(&self) -> broadcast::Receiver<ReviewEvent> {
        self.events.subscribe()
    }

    /// Risk changes from the store, then live ones; see [`RiskFeed::subscribe`].
    pub fn watch(
        &self,
        after: Option<u64>,
    ) -> tokio::sync::mpsc::Receiver<Result<crate::declaration::RiskChange, CustomsError>> {
        self.feed.subscribe(after)
    }
}
