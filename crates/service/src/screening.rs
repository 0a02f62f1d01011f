//! Screening a scan: validate, admit, run it through the engine, and, for a scan of a
//! declaration, store it with the declaration's new risk before answering. A scan id
//! already stored for the same declaration is answered from the store (a retry of the same
//! scan), without running the model again.

use std::sync::Arc;

use bytes::Bytes;
use tracing::instrument;
use xray_customs::{
    declaration::{
        Assessment, CurrentRisk, DeclarationState, StoredDetection, StoredImage, StoredScan, now_ms,
    },
    ledger,
    store::{NewScan, RiskOutcome},
};
use xray_engine::pipeline::{Inspection, ScanRequest, validate};
use xray_metrics::metrics;
use xray_types::View;

use crate::{Error, ReviewEvent, Service};

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

/// A scan as a front door hands it over: what the engine needs, and what is kept with it.
#[derive(Debug, Clone, Default)]
pub struct Scan {
    pub request: ScanRequest,
    pub view: View,
    /// Samples per pixel of a RAW_U16 image, as sent.
    pub channels: u32,
}

/// What screening a scan answered.
#[derive(Debug, Clone)]
pub enum Screening {
    /// The engine screened it now.
    Screened(Inspection),
    /// Its id was already stored for its declaration: the stored result.
    Replayed(StoredScan),
}

/// The answer to a scan: its screening and, for a scan of a declaration, that declaration's
/// risk once the scan is stored.
#[derive(Debug, Clone)]
pub struct ScanAnswer {
    pub screening: Screening,
    pub declaration: Option<(String, CurrentRisk)>,
}

impl Service {
    /// Screens one scan; one of a declaration is stored (or, already stored, answered from
    /// the store) and its answer carries the declaration's risk.
    #[instrument(skip_all, fields(scan_id = %scan.request.scan_id))]
    pub async fn screen(&self, scan: Scan) -> Result<ScanAnswer, Error> {
        let pipeline = &self.ready()?.pipeline;
        if scan.request.declaration_id.is_empty() {
            let inspection = pipeline.inspect(scan.request).await?;
            return Ok(ScanAnswer {
                screening: Screening::Screened(inspection),
                declaration: None,
            });
        }
        // A malformed scan is refused before the store is asked anything.
        validate(&scan.request)?;
        if let Some((stored, state)) = self
            .stored_scan(&scan.request.scan_id, &scan.request.declaration_id)
            .await?
        {
            return Ok(ScanAnswer {
                declaration: Some((stored.declaration_id.clone(), state.risk)),
                screening: Screening::Replayed(stored),
            });
        }
        let received_ms = now_ms();
        let image = scan.request.image.clone();
        let encoding = scan.request.encoding;
        let (declaration_id, portal_id) = (
            scan.request.declaration_id.clone(),
            scan.request.portal_id.clone(),
        );
        let inspection = pipeline.inspect(scan.request).await?;
        let keep = match self.keep_images {
            KeepImages::None => false,
            KeepImages::Flagged => inspection.alarm,
            KeepImages::All => true,
        };
        let new = NewScan {
            scan: stored_scan(
                &inspection,
                declaration_id,
                portal_id,
                scan.view,
                received_ms,
            ),
            image: keep.then(|| StoredImage {
                encoding,
                channels: scan.channels,
                bytes: image_bytes(image),
            }),
        };
        let state = self.record_scan(new).await?;
        Ok(ScanAnswer {
            declaration: Some((state.declaration.id.clone(), state.risk)),
            screening: Screening::Screened(inspection),
        })
    }

    /// Before a scan of a declaration is run: the declaration must be registered, and a scan
    /// id already stored for it is answered from the store (returned here).
    async fn stored_scan(
        &self,
        scan_id: &str,
        declaration_id: &str,
    ) -> Result<Option<(StoredScan, DeclarationState)>, Error> {
        let (scan_id, declaration_id) = (scan_id.to_string(), declaration_id.to_string());
        // On the path of every scan: the whole declaration (all its scans) is read only to
        // answer a repeated scan from the store.
        self.blocking(move |store| {
            if !store.is_registered(&declaration_id)? {
                return Err(Error::UnknownDeclaration(declaration_id));
            }
            match store.scan(&scan_id)? {
                None => Ok(None),
                Some(scan) if scan.declaration_id == declaration_id => {
                    let state = store
                        .declaration(&declaration_id)?
                        .ok_or_else(|| Error::UnknownDeclaration(declaration_id.clone()))?;
                    Ok(Some((scan, state)))
                }
                Some(scan) => Err(Error::ScanConflict {
                    scan_id,
                    declaration_id: scan.declaration_id,
                }),
            }
        })
        .await
    }

    /// Stores a screened scan and re-computes its declaration's risk in one transaction; the
    /// answer may only be sent once this returns.
    async fn record_scan(&self, new: NewScan) -> Result<DeclarationState, Error> {
        let assess = self.assessor()?;
        let started = std::time::Instant::now();
        let alarm = new.scan.alarm;
        let scan_id = new.scan.scan_id.clone();
        let outcome: RiskOutcome = self
            .blocking(move |store| {
                store.transaction(|uow| Ok(ledger::record_scan(uow, &new, &assess)?))
            })
            .await?;
        metrics()
            .store_write_seconds
            .observe(started.elapsed().as_secs_f64());
        if let Some(change) = &outcome.change {
            self.feed.published(change);
        }
        if alarm {
            let _ = self.events.send(ReviewEvent::Flagged {
                scan_id,
                declaration_id: outcome.state.declaration.id.clone(),
            });
        }
        Ok(outcome.state)
    }

    /// The risk policy with the loaded models' taxonomies, to run inside a transaction.
    pub(crate) fn assessor(
        &self,
    ) -> Result<impl Fn(&DeclarationState) -> Assessment + Send + 'static, Error> {
        let ready = Arc::clone(&self.ready);
        ready.get().ok_or(Error::NotReady)?;
        let policy = self.policy;
        Ok(move |s: &DeclarationState| match ready.get() {
            Some(ready) => policy.assess(&s.declaration, &s.scans, &ready.taxonomies),
            None => policy.assess(&s.declaration, &s.scans, &Default::default()),
        })
    }
}

/// The stored form of a screened scan.
fn stored_scan(
    inspection: &Inspection,
    declaration_id: String,
    portal_id: String,
    view: View,
    received_ms: i64,
) -> StoredScan {
    StoredScan {
        scan_id: inspection.scan_id.clone(),
        declaration_id,
        portal_id,
        view,
        model: inspection.model.clone(),
        model_version: inspection.model_version.clone(),
        width: inspection.width,
        height: inspection.height,
        alarm: inspection.alarm,
        received_ms,
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
    }
}

fn image_bytes(image: Bytes) -> Vec<u8> {
    image.to_vec()
}
