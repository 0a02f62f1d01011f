//! Screening a scan: validate, admit, run it through the engine, and, for a scan of a
//! declaration, store it with the declaration's new risk before answering. A scan id
//! already stored for the same declaration with the same digest is a retry of the same scan
//! and is answered from the store without running the model again; the same id with another
//! image or other metadata, or for another declaration, is refused, audited and counted.

use std::sync::Arc;

use sha2::{Digest, Sha256};
use tracing::instrument;
use xray_customs::{
    declaration::{
        Assessment, CurrentRisk, DeclarationState, ImageAt, KeptImage, StoredDetection, StoredScan,
        now_ms,
    },
    ledger::{self, ScanIdConflict},
    store::{NewScan, RiskOutcome},
};
use xray_engine::pipeline::{Inspection, ScanRequest, validate};
use xray_metrics::metrics;
use xray_types::View;

use crate::{
    Error, ReviewEvent, Service,
    access::{Call, Caller, authorize, authorize_portal},
    dicos,
};

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

/// One detection of a screening, made now or replayed from the store, as the answers that
/// list detections (a TDR, the inference protocol's outputs) carry it.
#[derive(Debug, Clone)]
pub struct Found {
    /// The class's id in the model; None for a stored detection, which names its class.
    pub class_id: Option<usize>,
    pub class_name: String,
    pub category: xray_types::Category,
    pub confidence: f32,
    pub bbox: xray_types::BoxXyxy,
    pub alarm: bool,
}

impl Found {
    /// The detections of a stored scan.
    pub fn of_stored(s: &StoredScan) -> Vec<Found> {
        s.detections
            .iter()
            .map(|d| Found {
                class_id: None,
                class_name: d.class_name.clone(),
                category: d.category,
                confidence: d.confidence,
                bbox: d.bbox,
                alarm: d.alarm,
            })
            .collect()
    }
}

impl Screening {
    /// Its detections, and whether the scan raised the alarm.
    pub fn found(&self) -> (Vec<Found>, bool) {
        match self {
            Screening::Screened(i) => (
                i.detections
                    .iter()
                    .map(|d| Found {
                        class_id: Some(d.class_id),
                        class_name: d.class_name.clone(),
                        category: d.category,
                        confidence: d.confidence,
                        bbox: d.bbox,
                        alarm: d.alarm,
                    })
                    .collect(),
                i.alarm,
            ),
            Screening::Replayed(s) => (Found::of_stored(s), s.alarm),
        }
    }
}

/// The answer to a scan: its screening and, for a scan of a declaration, that declaration's
/// risk once the scan is stored.
#[derive(Debug, Clone)]
pub struct ScanAnswer {
    pub screening: Screening,
    pub declaration: Option<(String, CurrentRisk)>,
    /// For a scan that came as a DICOS DX object: the MACHINE Threat Detection Report.
    pub tdr: Option<Vec<u8>>,
}

impl Service {
    /// Screens one scan; one of a declaration is stored (or, already stored, answered from
    /// the store) and its answer carries the declaration's risk.
    /// The caller must be a scanner, and a scan that names a portal (as every scan of a
    /// declaration must) must name one of the scanner's.
    #[instrument(skip_all, fields(scan_id = %scan.request.scan_id))]
    pub async fn screen(&self, caller: &Caller, mut scan: Scan) -> Result<ScanAnswer, Error> {
        let sender = authorize(caller, Call::SendScans)?.to_string();
        // A DICOS object names itself: its ids fill what the request left empty.
        let dx = dicos::take_ids(&mut scan, self.declaration_from)?;
        let answer = self.screen_scan(caller, &sender, scan).await?;
        match dx {
            None => Ok(answer),
            Some(ids) => {
                let (found, _) = answer.screening.found();
                let (model, version, ms) = match &answer.screening {
                    Screening::Screened(i) => (
                        i.model.clone(),
                        i.model_version.clone(),
                        i.timings.total.as_secs_f64() * 1000.0,
                    ),
                    Screening::Replayed(s) => (s.model.clone(), s.model_version.clone(), 0.0),
                };
                let tdr = dicos::machine_tdr(&ids, &found, &version, &model, now_ms(), ms)?;
                Ok(ScanAnswer {
                    tdr: Some(tdr),
                    ..answer
                })
            }
        }
    }

    /// Screens a scan whose caller may send it (as `sender`).
    async fn screen_scan(
        &self,
        caller: &Caller,
        sender: &str,
        scan: Scan,
    ) -> Result<ScanAnswer, Error> {
        let sender = sender.to_string();
        // A malformed scan is refused before the store is asked anything.
        validate(&scan.request)?;
        if !scan.request.declaration_id.is_empty() || !scan.request.portal_id.is_empty() {
            authorize_portal(caller, &scan.request.portal_id)?;
        }
        if self.is_stopping() {
            return Err(Error::ShuttingDown(
                "send the scan again once it is back, or to another node".into(),
            ));
        }
        let pipeline = &self.ready()?.pipeline;
        if scan.request.declaration_id.is_empty() {
            let inspection = pipeline.inspect(scan.request).await?;
            return Ok(ScanAnswer {
                screening: Screening::Screened(inspection),
                declaration: None,
                tdr: None,
            });
        }
        let digest = scan_digest(&scan);
        let received_ms = now_ms();
        // What is kept of the scan; the model's findings are filled in once it has run.
        let sent = StoredScan {
            scan_id: scan.request.scan_id.clone(),
            declaration_id: scan.request.declaration_id.clone(),
            portal_id: scan.request.portal_id.clone(),
            view: scan.view,
            model: String::new(),
            model_version: String::new(),
            width: 0,
            height: 0,
            alarm: false,
            received_ms,
            decision: None,
            detections: Vec::new(),
            digest,
        };
        if let Some(answer) = self.replay(&sent, &sender).await? {
            return Ok(answer);
        }
        let image = scan.request.image.clone();
        let encoding = scan.request.encoding;
        let inspection = pipeline.inspect(scan.request).await?;
        let keep = match self.keep_images {
            KeepImages::None => false,
            KeepImages::Flagged => inspection.alarm,
            KeepImages::All => true,
        };
        let new = NewScan {
            scan: screened(&inspection, sent.clone()),
            // Until the blob store is wired in, the bytes stay in the database (SQLite only).
            image: keep.then(|| KeptImage {
                encoding,
                channels: scan.channels,
                size: image.len() as u64,
                at: ImageAt::Inline(image.to_vec()),
            }),
        };
        match self.record_scan(new, sender.clone()).await {
            Ok(state) => Ok(ScanAnswer {
                declaration: Some((state.declaration.id.clone(), state.risk)),
                screening: Screening::Screened(inspection),
                tdr: None,
            }),
            // The same id was stored while this scan was screened: the same scan sent twice
            // at once is answered like a retry, anything else is refused like one.
            Err(Error::ScanConflict { .. }) => match self.replay(&sent, &sender).await? {
                Some(answer) => Ok(answer),
                None => Err(Error::Internal(format!(
                    "scan {} was refused as taken but is not stored",
                    sent.scan_id
                ))),
            },
            Err(e) => Err(e),
        }
    }

    /// Before a scan of a declaration is run: the declaration must be registered, and a scan
    /// id already stored is either this scan again (answered from the store) or a conflict.
    async fn replay(&self, sent: &StoredScan, sender: &str) -> Result<Option<ScanAnswer>, Error> {
        let (sent, sender) = (sent.clone(), sender.to_string());
        // On the path of every scan: the whole declaration (all its scans) is read only to
        // answer a repeated scan from the store.
        let found = self
            .blocking(move |store| {
                if !store.is_registered(&sent.declaration_id)? {
                    return Err(Error::UnknownDeclaration(sent.declaration_id));
                }
                let Some(stored) = store.scan(&sent.scan_id)? else {
                    return Ok(Ok(None));
                };
                let conflict = if stored.declaration_id != sent.declaration_id {
                    ScanIdConflict::OtherDeclaration
                } else if !stored.digest.is_empty() && stored.digest != sent.digest {
                    ScanIdConflict::OtherContent
                } else {
                    let state = store
                        .declaration(&sent.declaration_id)?
                        .ok_or_else(|| Error::UnknownDeclaration(sent.declaration_id.clone()))?;
                    return Ok(Ok(Some((stored, state))));
                };
                store.transaction(|uow| {
                    Ok::<_, Error>(ledger::refuse_scan(uow, &sent, &sender, &stored, conflict)?)
                })?;
                Ok(Err((conflict, sent, stored)))
            })
            .await?;
        match found {
            Ok(None) => Ok(None),
            Ok(Some((stored, state))) => Ok(Some(ScanAnswer {
                declaration: Some((stored.declaration_id.clone(), state.risk)),
                screening: Screening::Replayed(stored),
                tdr: None,
            })),
            Err((conflict, sent, stored)) => {
                metrics().scan_conflict(conflict.as_str());
                Err(match conflict {
                    ScanIdConflict::OtherDeclaration => Error::ScanConflict {
                        scan_id: sent.scan_id,
                        declaration_id: stored.declaration_id,
                    },
                    ScanIdConflict::OtherContent => Error::ScanReused {
                        scan_id: sent.scan_id,
                        declaration_id: sent.declaration_id,
                    },
                })
            }
        }
    }

    /// Stores a screened scan and re-computes its declaration's risk in one transaction; the
    /// answer may only be sent once this returns.
    async fn record_scan(&self, new: NewScan, sender: String) -> Result<DeclarationState, Error> {
        let assess = self.assessor()?;
        let started = std::time::Instant::now();
        let alarm = new.scan.alarm;
        let scan_id = new.scan.scan_id.clone();
        let outcome: RiskOutcome = self
            .blocking(move |store| {
                store.transaction(|uow| Ok(ledger::record_scan(uow, &new, &sender, &assess)?))
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
        let taxonomies = Arc::clone(&self.ready()?.taxonomies);
        let policy = self.policy;
        Ok(move |s: &DeclarationState| policy.assess(&s.declaration, &s.scans, &taxonomies))
    }
}

/// What makes a scan the same scan when its id comes again: the image bytes, how they are
/// to be read (encoding, raw width, height and channels), and where the scan comes from
/// (declaration, portal, view). The model, the confidence floor and the priority are how it
/// is processed, not what it is, and are left out. Hex SHA-256, each part length-prefixed.
pub fn scan_digest(scan: &Scan) -> String {
    let request = &scan.request;
    let mut hash = Sha256::new();
    let mut part = |bytes: &[u8]| {
        hash.update((bytes.len() as u64).to_le_bytes());
        hash.update(bytes);
    };
    part(b"xray-screen scan digest 1");
    part(request.declaration_id.as_bytes());
    part(request.portal_id.as_bytes());
    part(format!("{:?}", scan.view).as_bytes());
    part(
        request
            .encoding
            .map_or(String::new(), |e| e.to_string())
            .as_bytes(),
    );
    let raw = request
        .raw
        .map_or([0; 3], |r| [r.width, r.height, r.channels]);
    part(&raw.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<_>>());
    part(&request.image);
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The stored form of a screened scan: what was sent, with the model's findings.
fn screened(inspection: &Inspection, sent: StoredScan) -> StoredScan {
    StoredScan {
        model: inspection.model.clone(),
        model_version: inspection.model_version.clone(),
        width: inspection.width,
        height: inspection.height,
        alarm: inspection.alarm,
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
        ..sent
    }
}
