//! The `xray.v1.Review` service.

use tonic::{Request, Response, Status};
use xray_proto::{self as proto, review_server::Review};
use xray_service::{
    Error, Service,
    review::{FlaggedFilter, Verdict},
};

use super::{
    authenticate::caller,
    convert::encoding_value,
    convert::view_value,
    convert_customs::{
        audit_entry, category_filter, channel_filter, class_accuracy, decision, declaration_view,
        flagged_scan, judgement, reviewed_detection, risk, scan_decision,
    },
    status::status,
};

/// Page sizes of ListFlagged and ListAudit when the request sets none.
const FLAGGED_PAGE: usize = 50;
const AUDIT_PAGE: usize = 100;

/// Serves the inspectors' review queue, scans, verdicts, the audit log and model accuracy.
pub struct ReviewService {
    service: Service,
}

impl ReviewService {
    pub fn new(service: Service) -> Self {
        Self { service }
    }
}

/// A page size asked for: 0 means the default.
fn page_size(asked: u32, default: usize) -> usize {
    match usize::try_from(asked).unwrap_or(usize::MAX) {
        0 => default,
        n => n,
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
        let caller = caller(&request);
        let r = request.into_inner();
        let offset = if r.page_token.is_empty() {
            0
        } else {
            r.page_token.parse::<usize>().map_err(|_| {
                status(Error::Invalid(format!(
                    "page_token {:?} is not a token this server gave out",
                    r.page_token
                )))
            })?
        };
        let filter = FlaggedFilter {
            channel: channel_filter(r.channel).map_err(status)?,
            portal_id: nonempty(r.portal_id),
            category: category_filter(r.category).map_err(status)?,
            from_ms: nonzero(r.from_unix_ms),
            to_ms: nonzero(r.to_unix_ms),
            include_decided: r.include_decided,
        };
        let page = self
            .service
            .flagged(
                &caller,
                filter,
                offset,
                page_size(r.page_size, FLAGGED_PAGE),
            )
            .await
            .map_err(status)?;
        Ok(Response::new(proto::ListFlaggedResponse {
            next_page_token: page.next_offset.map(|o| o.to_string()).unwrap_or_default(),
            scans: page.scans.into_iter().map(flagged_scan).collect(),
        }))
    }

    async fn get_scan(
        &self,
        request: Request<proto::GetScanRequest>,
    ) -> Result<Response<proto::ScanRecord>, Status> {
        let caller = caller(&request);
        let r = request.into_inner();
        let record = self
            .service
            .scan_record(&caller, &r.scan_id, !r.without_image)
            .await
            .map_err(status)?;
        let reports = record.dicos_reports().map_err(status)?.unwrap_or_default();
        let (scan, image) = (record.scan, record.image);
        Ok(Response::new(proto::ScanRecord {
            scan_id: scan.scan_id,
            portal_id: scan.portal_id,
            view: view_value(scan.view),
            received_unix_ms: scan.received_ms,
            model: scan.model,
            model_version: scan.model_version,
            image_width: scan.width,
            image_height: scan.height,
            alarm: scan.alarm,
            detections: scan.detections.iter().map(reviewed_detection).collect(),
            image_encoding: image.as_ref().map_or(0, |i| encoding_value(i.encoding)),
            image_channels: image.as_ref().map_or(0, |i| i.channels),
            image: image.map(|i| i.bytes.into()).unwrap_or_default(),
            decision: scan_decision(scan.decision) as i32,
            declaration: Some(declaration_view(&record.declaration)),
            tdr: reports.machine,
            operator_tdr: reports.operator.unwrap_or_default(),
        }))
    }

    async fn submit_verdict(
        &self,
        request: Request<proto::SubmitVerdictRequest>,
    ) -> Result<Response<proto::SubmitVerdictResponse>, Status> {
        let caller = caller(&request);
        let r = request.into_inner();
        let detections = r
            .detections
            .iter()
            .map(judgement)
            .collect::<Result<Vec<_>, _>>()
            .map_err(status)?;
        let verdict = Verdict {
            scan_id: r.scan_id,
            detections,
            decision: decision(r.decision).map_err(status)?,
            inspector_id: r.inspector_id,
            comment: r.comment,
        };
        let (state, audit_sequence) = self
            .service
            .submit_verdict(&caller, verdict)
            .await
            .map_err(status)?;
        Ok(Response::new(proto::SubmitVerdictResponse {
            risk: Some(risk(&state.risk)),
            audit_sequence,
        }))
    }

    async fn list_audit(
        &self,
        request: Request<proto::ListAuditRequest>,
    ) -> Result<Response<proto::ListAuditResponse>, Status> {
        let caller = caller(&request);
        let r = request.into_inner();
        let entries = self
            .service
            .audit(
                &caller,
                nonempty(r.declaration_id),
                nonempty(r.scan_id),
                r.after_sequence,
                page_size(r.limit, AUDIT_PAGE),
            )
            .await
            .map_err(status)?;
        Ok(Response::new(proto::ListAuditResponse {
            entries: entries.into_iter().map(audit_entry).collect(),
        }))
    }

    async fn get_model_accuracy(
        &self,
        request: Request<proto::GetModelAccuracyRequest>,
    ) -> Result<Response<proto::GetModelAccuracyResponse>, Status> {
        let caller = caller(&request);
        let classes = self
            .service
            .accuracy(&caller, nonempty(request.into_inner().model))
            .await
            .map_err(status)?;
        Ok(Response::new(proto::GetModelAccuracyResponse {
            classes: classes.into_iter().map(class_accuracy).collect(),
        }))
    }
}
