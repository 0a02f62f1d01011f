//! The `xray.v1.Review` service.

use tonic::{Request, Response, Status};

use super::{
    convert_customs::{
        audit_entry, channel_filter, class_accuracy, declaration_view, flagged_scan,
        reviewed_detection, risk, scan_decision,
    },
    proto::{self, review_server::Review},
};
use crate::{
    customs::{Customs, CustomsError, VerdictRequest},
    declaration::{DetectionVerdict, ScanDecision},
    model::Category,
    store::{AuditQuery, FlaggedQuery},
};

/// Page sizes of ListFlagged and ListAudit: (default, most).
const FLAGGED_PAGE: (usize, usize) = (50, 500);
const AUDIT_PAGE: (usize, usize) = (100, 1000);

/// Serves the inspectors' review queue, scans, verdicts, the audit log and model accuracy.
pub struct ReviewService {
    customs: Customs,
}

impl ReviewService {
    pub fn new(customs: Customs) -> Self {
        Self { customs }
    }
}

fn page_size(asked: u32, (default, most): (usize, usize)) -> usize {
    match usize::try_from(asked).unwrap_or(usize::MAX) {
        0 => default,
        n => n.min(most),
    }
}

fn category_filter(value: i32) -> Result<Option<Category>, CustomsError> {
    match proto::Category::try_from(value) {
        Ok(proto::Category::Unspecified) => Ok(None),
        Ok(proto::Category::Weapon) => Ok(Some(Category::Weapon)),
        Ok(proto::Category::Drugs) => Ok(Some(Category::Drugs)),
        Ok(proto::Category::UndeclaredGoods) => Ok(Some(Category::UndeclaredGoods)),
        Ok(proto::Category::Other) => Ok(Some(Category::Other)),
        Err(_) => Err(CustomsError::Invalid(format!(
            "category {value} is not a known Category"
        ))),
    }
}

fn nonzero(v: i64) -> Option<i64> {
    (v != 0).then_some(v)
}

fn nonempty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

#[tonic::async_trait]
impl Review for ReviewService {
    async fn list_flagged(
        &self,
        request: Request<proto::ListFlaggedRequest>,
    ) -> Result<Response<proto::ListFlaggedResponse>, Status> {
        let r = request.into_inner();
        let offset = if r.page_token.is_empty() {
            0
        } else {
            r.page_token.parse::<usize>().map_err(|_| {
                CustomsError::Invalid(format!(
                    "page_token {:?} is not a token this server gave out",
                    r.page_token
                ))
            })?
        };
        let limit = page_size(r.page_size, FLAGGED_PAGE);
        let query = FlaggedQuery {
            channel: channel_filter(r.channel)?,
            portal_id: nonempty(r.portal_id),
            category: category_filter(r.category)?,
            from_ms: nonzero(r.from_unix_ms),
            to_ms: nonzero(r.to_unix_ms),
            include_decided: r.include_decided,
            offset,
            // One more than the page tells whether another page follows.
            limit: limit + 1,
        };
        let mut scans = self.customs.flagged(query).await?;
        let more = scans.len() > limit;
        scans.truncate(limit);
        Ok(Response::new(proto::ListFlaggedResponse {
            next_page_token: if more {
                (offset + limit).to_string()
            } else {
                String::new()
            },
            scans: scans.into_iter().map(flagged_scan).collect(),
        }))
    }

    async fn get_scan(
        &self,
        request: Request<proto::GetScanRequest>,
    ) -> Result<Response<proto::ScanRecord>, Status> {
        let r = request.into_inner();
        let (scan, image, state) = self
            .customs
            .scan_record(&r.scan_id, !r.without_image)
            .await?;
        Ok(Response::new(proto::ScanRecord {
            scan_id: scan.scan_id,
            portal_id: scan.portal_id,
            view: scan.view,
            received_unix_ms: scan.received_ms,
            model: scan.model,
            model_version: scan.model_version,
            image_width: scan.width,
            image_height: scan.height,
            alarm: scan.alarm,
            detections: scan.detections.iter().map(reviewed_detection).collect(),
            image_encoding: image.as_ref().map_or(0, |i| i.encoding),
            image_channels: image.as_ref().map_or(0, |i| i.channels),
            image: image.map(|i| i.bytes.into()).unwrap_or_default(),
            decision: scan_decision(scan.decision) as i32,
            declaration: Some(declaration_view(&state)),
        }))
    }

    async fn submit_verdict(
        &self,
        request: Request<proto::SubmitVerdictRequest>,
    ) -> Result<Response<proto::SubmitVerdictResponse>, Status> {
        let r = request.into_inner();
        let detections = r
            .detections
            .iter()
            .map(|j| match proto::DetectionVerdict::try_from(j.verdict) {
                Ok(proto::DetectionVerdict::Confirmed) => {
                    Ok((j.detection_id, DetectionVerdict::Confirmed))
                }
                Ok(proto::DetectionVerdict::FalseAlarm) => {
                    Ok((j.detection_id, DetectionVerdict::FalseAlarm))
                }
                _ => Err(CustomsError::Invalid(format!(
                    "detection {}: verdict {} is not CONFIRMED (1) or FALSE_ALARM (2)",
                    j.detection_id, j.verdict
                ))),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let decision = match proto::ScanDecision::try_from(r.decision) {
            Ok(proto::ScanDecision::Unspecified) => None,
            Ok(proto::ScanDecision::Cleared) => Some(ScanDecision::Cleared),
            Ok(proto::ScanDecision::Seized) => Some(ScanDecision::Seized),
            Err(_) => {
                return Err(CustomsError::Invalid(format!(
                    "decision {} is not a known ScanDecision (CLEARED=1, SEIZED=2)",
                    r.decision
                ))
                .into());
            }
        };
        let (state, audit_sequence) = self
            .customs
            .submit_verdict(VerdictRequest {
                scan_id: r.scan_id,
                detections,
                decision,
                inspector_id: r.inspector_id,
                comment: r.comment,
            })
            .await?;
        Ok(Response::new(proto::SubmitVerdictResponse {
            risk: Some(risk(&state.risk)),
            audit_sequence,
        }))
    }

    async fn list_audit(
        &self,
        request: Request<proto::ListAuditRequest>,
    ) -> Result<Response<proto::ListAuditResponse>, Status> {
        let r = request.into_inner();
        let entries = self
            .customs
            .audit(AuditQuery {
                declaration_id: nonempty(r.declaration_id),
                scan_id: nonempty(r.scan_id),
                after: r.after_sequence,
                limit: page_size(r.limit, AUDIT_PAGE),
            })
            .await?;
        Ok(Response::new(proto::ListAuditResponse {
            entries: entries.into_iter().map(audit_entry).collect(),
        }))
    }

    async fn get_model_accuracy(
        &self,
        request: Request<proto::GetModelAccuracyRequest>,
    ) -> Result<Response<proto::GetModelAccuracyResponse>, Status> {
        let classes = self
            .customs
            .accuracy(nonempty(request.into_inner().model))
            .await?;
        Ok(Response::new(proto::GetModelAccuracyResponse {
            classes: classes.into_iter().map(class_accuracy).collect(),
        }))
    }
}
