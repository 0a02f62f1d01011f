//! The inspectors' side: the review queue of flagged scans, a stored scan with its image
//! (as sent, or rendered for a screen), verdicts, the audit log and the model's accuracy in
//! service, and the events that tell open review screens what changed.

use tokio::sync::broadcast;
use xray_customs::{
    declaration::{
        DeclarationState, DetectionVerdict, ImageAt, KeptImage, ScanDecision, StoredImage,
        StoredScan, now_ms,
    },
    ledger,
    store::{AuditQuery, FlaggedQuery, VerdictRecord},
};
use xray_engine::imaging::{Palette, PaletteName, RawLayout, decode_scan, is_dual_energy};
use xray_metrics::metrics;
use xray_types::{Category, Encoding};

pub use xray_customs::{
    declaration::Channel,
    store::{AuditEntry, ClassAccuracy, FlaggedScan},
};

use crate::{
    Error, Service,
    access::{Call, Caller, authorize},
};

/// Longest comment, in bytes.
const MAX_COMMENT_BYTES: usize = 4096;

/// Most flagged scans one page lists.
pub const MAX_FLAGGED_PAGE: usize = 500;

/// Most audit entries one request lists.
pub const MAX_AUDIT_PAGE: usize = 1000;

/// Which flagged scans to list (None: any).
#[derive(Debug, Clone, Default)]
pub struct FlaggedFilter {
    pub channel: Option<Channel>,
    pub portal_id: Option<String>,
    pub category: Option<Category>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    /// Also scans an inspector has decided.
    pub include_decided: bool,
}

/// One page of the review queue.
#[derive(Debug, Clone)]
pub struct FlaggedPage {
    pub scans: Vec<FlaggedScan>,
    /// Where the next page starts, when there is one.
    pub next_offset: Option<usize>,
}

/// An inspector's verdict on one stored scan.
#[derive(Debug, Clone)]
pub struct Verdict {
    pub scan_id: String,
    pub detections: Vec<(u32, DetectionVerdict)>,
    pub decision: Option<ScanDecision>,
    /// Who the caller says it is: empty, or the authenticated principal's name.
    pub inspector_id: String,
    pub comment: String,
}

/// A stored scan with its declaration and, when asked for and kept, its image.
#[derive(Debug, Clone)]
pub struct ScanRecord {
    pub scan: StoredScan,
    pub image: Option<StoredImage>,
    pub declaration: DeclarationState,
}

/// The DICOS reports of a stored scan that came as a DX.
#[derive(Debug, Clone, Default)]
pub struct DicosReports {
    /// The MACHINE TDR of the stored result (the UID its screening's had).
    pub machine: Vec<u8>,
    /// The OPERATOR TDR, once an inspector has judged it.
    pub operator: Option<Vec<u8>>,
}

impl ScanRecord {
    /// Its TDRs, when its kept image is a DICOS DX (None for any other image, or none).
    pub fn dicos_reports(&self) -> Result<Option<DicosReports>, Error> {
        let Some(image) = &self.image else {
            return Ok(None);
        };
        if Encoding::sniff(&image.bytes) != Some(Encoding::Dicos) {
            return Ok(None);
        }
        let ids = xray_dicos::read_dx_ids(&image.bytes)
            .map_err(|e| Error::Internal(format!("the kept DX cannot be read: {e}")))?;
        let s = &self.scan;
        Ok(Some(DicosReports {
            machine: crate::dicos::machine_tdr(
                &ids,
                &crate::screening::Found::of_stored(s),
                &s.model_version,
                &s.model,
                s.received_ms,
                0.0,
            )?,
            operator: crate::dicos::operator_tdr(&ids, s)?,
        }))
    }

    /// Whether the kept image is raw dual-energy data (it can be shown in any palette).
    pub fn dual_energy(&self) -> bool {
        self.image
            .as_ref()
            .is_some_and(|i| is_dual_energy(&i.bytes, i.encoding, i.channels))
    }
}

/// A kept image as a browser shows it.
#[derive(Debug, Clone)]
pub struct DisplayImage {
    /// `image/png` or `image/jpeg`.
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
}

/// What open review screens are told as it happens.
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

impl ReviewEvent {
    /// The event's name on the wire (`flagged`, `verdict`).
    pub fn kind(&self) -> &'static str {
        match self {
            ReviewEvent::Flagged { .. } => "flagged",
            ReviewEvent::Verdict { .. } => "verdict",
        }
    }
}

impl Service {
    /// One page of flagged scans, highest risk and newest first; `limit` is at most
    /// [`MAX_FLAGGED_PAGE`].
    pub async fn flagged(
        &self,
        caller: &Caller,
        filter: FlaggedFilter,
        offset: usize,
        limit: usize,
    ) -> Result<FlaggedPage, Error> {
        authorize(caller, Call::ListFlagged)?;
        let limit = limit.clamp(1, MAX_FLAGGED_PAGE);
        let query = FlaggedQuery {
            channel: filter.channel,
            portal_id: filter.portal_id,
            category: filter.category,
            from_ms: filter.from_ms,
            to_ms: filter.to_ms,
            include_decided: filter.include_decided,
            offset,
            // One more than the page tells whether another page follows.
            limit: limit + 1,
        };
        let mut scans = self
            .blocking(move |store| Ok(store.flagged(&query)?))
            .await?;
        let more = scans.len() > limit;
        scans.truncate(limit);
        Ok(FlaggedPage {
            scans,
            next_offset: more.then_some(offset + limit),
        })
    }

    /// A stored scan, its image (when asked for and kept) and its declaration.
    pub async fn scan_record(
        &self,
        caller: &Caller,
        scan_id: &str,
        with_image: bool,
    ) -> Result<ScanRecord, Error> {
        authorize(caller, Call::ReadScan)?;
        let scan_id = scan_id.to_string();
        self.blocking(move |store| {
            let scan = store
                .scan(&scan_id)?
                .ok_or_else(|| Error::UnknownScan(scan_id.clone()))?;
            let image = if with_image {
                store
                    .scan_image(&scan_id)?
                    .map(|kept| image_bytes(&scan_id, kept))
                    .transpose()?
            } else {
                None
            };
            let declaration = store
                .declaration(&scan.declaration_id)?
                .ok_or_else(|| Error::UnknownDeclaration(scan.declaration_id.clone()))?;
            Ok(ScanRecord {
                scan,
                image,
                declaration,
            })
        })
        .await
    }

    /// A stored scan's kept image as a browser shows it: PNG and JPEG as sent, anything
    /// else (TIFF, raw, 16-bit) rendered to PNG, dual-energy data through `palette`.
    pub async fn display_image(
        &self,
        caller: &Caller,
        scan_id: &str,
        palette: PaletteName,
    ) -> Result<DisplayImage, Error> {
        let record = self.scan_record(caller, scan_id, true).await?;
        let image = record
            .image
            .ok_or_else(|| Error::ImageNotKept(scan_id.to_string()))?;
        // What a browser shows as it is goes as it was sent.
        let as_sent = match Encoding::sniff(&image.bytes) {
            Some(Encoding::Png) => Some("image/png"),
            Some(Encoding::Jpeg) => Some("image/jpeg"),
            _ => None,
        };
        if let Some(content_type) = as_sent {
            return Ok(DisplayImage {
                content_type,
                bytes: image.bytes,
            });
        }
        let (width, height) = (record.scan.width, record.scan.height);
        let limits = self.limits;
        let png = tokio::task::spawn_blocking(move || {
            let raw = (image.encoding == Some(Encoding::RawU16)).then_some(RawLayout {
                width,
                height,
                channels: image.channels,
            });
            let decoded = decode_scan(
                &image.bytes,
                image.encoding,
                raw,
                &limits,
                &Palette::new(palette),
            )
            .map_err(|e| Error::Internal(format!("the kept image cannot be decoded: {e}")))?;
            let mut png = Vec::new();
            let encoder = image::codecs::png::PngEncoder::new_with_quality(
                &mut png,
                image::codecs::png::CompressionType::Fast,
                image::codecs::png::FilterType::Adaptive,
            );
            image::ImageEncoder::write_image(
                encoder,
                &decoded.rgb,
                decoded.width,
                decoded.height,
                image::ExtendedColorType::Rgb8,
            )
            .map_err(|e| Error::Internal(e.to_string()))?;
            Ok::<_, Error>(png)
        })
        .await
        .map_err(|e| Error::Internal(e.to_string()))??;
        Ok(DisplayImage {
            content_type: "image/png",
            bytes: png,
        })
    }

    /// Records a verdict; answers the declaration after it and the audit entry's number.
    /// The verdict is the authenticated principal's: `inspector_id` may be left empty, and
    /// one that names anybody else is refused.
    pub async fn submit_verdict(
        &self,
        caller: &Caller,
        verdict: Verdict,
    ) -> Result<(DeclarationState, u64), Error> {
        let inspector = authorize(caller, Call::SubmitVerdict)?.to_string();
        if !verdict.inspector_id.is_empty() && verdict.inspector_id != inspector {
            return Err(Error::Invalid(format!(
                "inspector_id is {:?} but the call is authenticated as {inspector}: a verdict is recorded under its caller; leave inspector_id empty",
                verdict.inspector_id
            )));
        }
        check_verdict(&verdict)?;
        let assess = self.assessor()?;
        let record = VerdictRecord {
            scan_id: verdict.scan_id.clone(),
            detections: verdict.detections.clone(),
            decision: verdict.decision,
            inspector_id: inspector,
            comment: verdict.comment.clone(),
            at_ms: now_ms(),
        };
        let (scan, (outcome, audit_seq), accuracy) = self
            .blocking(move |store| {
                let scan = store
                    .scan(&record.scan_id)?
                    .ok_or_else(|| Error::UnknownScan(record.scan_id.clone()))?;
                for (id, _) in &record.detections {
                    if !scan.detections.iter().any(|d| d.id == *id) {
                        return Err(Error::Invalid(format!(
                            "scan {} has no detection {id} (it has {})",
                            scan.scan_id,
                            match scan.detections.len() {
                                0 => "none".to_string(),
                                n => format!("detection_id 0 to {}", n - 1),
                            }
                        )));
                    }
                }
                let stored = store.transaction(|uow| {
                    Ok::<_, Error>(ledger::record_verdict(uow, &record, &assess)?)
                })?;
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

    /// Audit entries after sequence number `after` (of one declaration or scan, when given);
    /// `limit` is at most [`MAX_AUDIT_PAGE`].
    pub async fn audit(
        &self,
        caller: &Caller,
        declaration_id: Option<String>,
        scan_id: Option<String>,
        after: u64,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, Error> {
        authorize(caller, Call::ReadAudit)?;
        let query = AuditQuery {
            declaration_id,
            scan_id,
            after,
            limit: limit.min(MAX_AUDIT_PAGE),
        };
        self.blocking(move |store| Ok(store.audit(&query)?)).await
    }

    /// Inspectors' verdicts per class of one model (None: every model).
    pub async fn accuracy(
        &self,
        caller: &Caller,
        model: Option<String>,
    ) -> Result<Vec<ClassAccuracy>, Error> {
        authorize(caller, Call::ReadAccuracy)?;
        self.blocking(move |store| Ok(store.accuracy(model.as_deref())?))
            .await
    }

    /// Flagged scans and verdicts as they are stored.
    pub fn review_events(
        &self,
        caller: &Caller,
    ) -> Result<broadcast::Receiver<ReviewEvent>, Error> {
        authorize(caller, Call::ListFlagged)?;
        Ok(self.events.subscribe())
    }
}

/// What a verdict says about itself, checked before the store is asked anything.
fn check_verdict(verdict: &Verdict) -> Result<(), Error> {
    let invalid = |m: String| Err(Error::Invalid(m));
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
    Ok(())
}

/// The bytes of a kept image. Only images kept in the database can be read until the blob
/// store is wired in.
fn image_bytes(scan_id: &str, kept: KeptImage) -> Result<StoredImage, Error> {
    match kept.at {
        ImageAt::Inline(bytes) => Ok(StoredImage {
            encoding: kept.encoding,
            channels: kept.channels,
            bytes,
        }),
        ImageAt::Blob(key) => Err(Error::Internal(format!(
            "the image of scan {scan_id} is blob {key}, and this server has no blob store to read it from"
        ))),
    }
}
