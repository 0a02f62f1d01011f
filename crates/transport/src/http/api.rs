//! The review screen's JSON API and event stream.

use std::{convert::Infallible, time::Duration};

use axum::{
    Extension, Json,
    extract::{Path, Query, State},
    http::{StatusCode, header},
    response::{
        IntoResponse, Response,
        sse::{Event, KeepAlive, Sse},
    },
};
use serde::{Deserialize, Serialize};
use tokio_stream::{Stream, StreamExt, wrappers::BroadcastStream};

use xray_customs::declaration::{
    Channel, Declaration, DeclarationState, DetectionVerdict, Finding, ScanDecision,
};
use xray_engine::imaging::PaletteName;
use xray_service::{
    Caller, Service,
    review::{FlaggedFilter, Verdict},
};
use xray_types::Category;

use super::error::WebError;

/// The palettes a dual-energy scan can be shown in.
const PALETTES: [PaletteName; 5] = [
    PaletteName::Classic,
    PaletteName::HighContrast,
    PaletteName::Amber,
    PaletteName::Teal,
    PaletteName::Gray,
];

/// Queue entries one request returns when it sets no limit.
const QUEUE_PAGE: usize = 200;

fn bad(m: String) -> WebError {
    WebError(StatusCode::BAD_REQUEST, m)
}

#[derive(Debug, Deserialize)]
pub struct QueueParams {
    channel: Option<String>,
    portal: Option<String>,
    category: Option<String>,
    #[serde(default)]
    include_decided: bool,
    limit: Option<usize>,
}

#[derive(Debug, Serialize)]
pub struct QueueItem {
    scan_id: String,
    declaration_id: String,
    portal_id: String,
    received_ms: i64,
    risk_score: f64,
    channel: Channel,
    categories: Vec<Category>,
    alarms: u32,
    decision: Option<ScanDecision>,
}

/// The review queue: flagged scans, highest risk and newest first.
pub async fn flagged(
    State(service): State<Service>,
    Extension(caller): Extension<Caller>,
    Query(p): Query<QueueParams>,
) -> Result<Json<Vec<QueueItem>>, WebError> {
    let channel = match p.channel.as_deref().filter(|c| !c.is_empty()) {
        None => None,
        Some(c) => Some(
            Channel::parse(c)
                .ok_or_else(|| bad(format!("channel {c:?} is not green, yellow or red")))?,
        ),
    };
    let category = match p.category.as_deref().filter(|c| !c.is_empty()) {
        None => None,
        Some(c) => Some(c.parse::<Category>().map_err(bad)?),
    };
    let filter = FlaggedFilter {
        channel,
        portal_id: p.portal.filter(|p| !p.is_empty()),
        category,
        from_ms: None,
        to_ms: None,
        include_decided: p.include_decided,
    };
    let page = service
        .flagged(&caller, filter, 0, p.limit.unwrap_or(QUEUE_PAGE))
        .await?;
    Ok(Json(
        page.scans
            .into_iter()
            .map(|f| QueueItem {
                scan_id: f.scan_id,
                declaration_id: f.declaration_id,
                portal_id: f.portal_id,
                received_ms: f.received_ms,
                risk_score: f.risk_score,
                channel: f.channel,
                categories: f.categories,
                alarms: f.alarms,
                decision: f.decision,
            })
            .collect(),
    ))
}

#[derive(Debug, Serialize)]
pub struct DetectionView {
    id: u32,
    class_name: String,
    category: Category,
    confidence: f32,
    /// x1, y1, x2, y2 in the image's pixels.
    #[serde(rename = "box")]
    bbox: [f32; 4],
    alarm: bool,
    verdict: Option<DetectionVerdict>,
    verdict_by: String,
}

#[derive(Debug, Serialize)]
pub struct DeclarationPanel {
    #[serde(flatten)]
    declaration: Declaration,
    registered_ms: i64,
    score: f64,
    channel: Channel,
    reasons: Vec<String>,
    findings: Vec<Finding>,
}

#[derive(Debug, Serialize)]
pub struct ScanView {
    scan_id: String,
    portal_id: String,
    received_ms: i64,
    model: String,
    model_version: String,
    width: u32,
    height: u32,
    alarm: bool,
    decision: Option<ScanDecision>,
    image_kept: bool,
    /// A raw dual-energy scan: it can be shown in any of `palettes`.
    dual_energy: bool,
    palettes: Vec<String>,
    detections: Vec<DetectionView>,
    declaration: DeclarationPanel,
}

fn panel(s: DeclarationState) -> DeclarationPanel {
    DeclarationPanel {
        declaration: s.declaration,
        registered_ms: s.registered_ms,
        score: s.risk.assessment.score,
        channel: s.risk.assessment.channel,
        reasons: s.risk.assessment.reasons,
        findings: s.risk.assessment.findings,
    }
}

/// One flagged scan with its detections and declaration.
pub async fn scan(
    State(service): State<Service>,
    Extension(caller): Extension<Caller>,
    Path(scan_id): Path<String>,
) -> Result<Json<ScanView>, WebError> {
    let record = service.scan_record(&caller, &scan_id, true).await?;
    let dual_energy = record.dual_energy();
    let (scan, image_kept, declaration) = (record.scan, record.image.is_some(), record.declaration);
    Ok(Json(ScanView {
        scan_id: scan.scan_id,
        portal_id: scan.portal_id,
        received_ms: scan.received_ms,
        model: scan.model,
        model_version: scan.model_version,
        width: scan.width,
        height: scan.height,
        alarm: scan.alarm,
        decision: scan.decision,
        image_kept,
        dual_energy,
        palettes: PALETTES.iter().map(|p| p.to_string()).collect(),
        detections: scan
            .detections
            .into_iter()
            .map(|d| DetectionView {
                id: d.id,
                class_name: d.class_name,
                category: d.category,
                confidence: d.confidence,
                bbox: [d.bbox.x1, d.bbox.y1, d.bbox.x2, d.bbox.y2],
                alarm: d.alarm,
                verdict: d.verdict,
                verdict_by: d.verdict_by,
            })
            .collect(),
        declaration: panel(declaration),
    }))
}

#[derive(Debug, Deserialize)]
pub struct ImageParams {
    palette: Option<String>,
}

/// The scan's image as a browser shows it: PNG and JPEG as sent, anything else (TIFF, raw,
/// 16-bit) rendered to PNG, dual-energy data through the chosen palette.
pub async fn image(
    State(service): State<Service>,
    Extension(caller): Extension<Caller>,
    Path(scan_id): Path<String>,
    Query(p): Query<ImageParams>,
) -> Result<Response, WebError> {
    let palette: PaletteName = match p.palette.as_deref() {
        None | Some("") => PaletteName::Classic,
        Some(name) => name.parse().map_err(bad)?,
    };
    let image = service.display_image(&caller, &scan_id, palette).await?;
    Ok(([(header::CONTENT_TYPE, image.content_type)], image.bytes).into_response())
}

#[derive(Debug, Deserialize)]
pub struct Judgement {
    detection_id: u32,
    verdict: DetectionVerdict,
}

#[derive(Debug, Deserialize)]
pub struct VerdictBody {
    /// The caller's own name or nothing: a verdict is the authenticated principal's.
    #[serde(default)]
    inspector_id: String,
    #[serde(default)]
    comment: String,
    #[serde(default)]
    detections: Vec<Judgement>,
    decision: Option<ScanDecision>,
}

#[derive(Debug, Serialize)]
pub struct VerdictAnswer {
    score: f64,
    channel: Channel,
    reasons: Vec<String>,
    audit_sequence: u64,
}

/// Stores a verdict through the same path as `xray.v1.Review/SubmitVerdict`.
pub async fn verdict(
    State(service): State<Service>,
    Extension(caller): Extension<Caller>,
    Path(scan_id): Path<String>,
    Json(body): Json<VerdictBody>,
) -> Result<Json<VerdictAnswer>, WebError> {
    let (declaration, audit_sequence) = service
        .submit_verdict(
            &caller,
            Verdict {
                scan_id,
                detections: body
                    .detections
                    .iter()
                    .map(|j| (j.detection_id, j.verdict))
                    .collect(),
                decision: body.decision,
                inspector_id: body.inspector_id,
                comment: body.comment,
            },
        )
        .await?;
    let risk = declaration.risk.assessment;
    Ok(Json(VerdictAnswer {
        score: risk.score,
        channel: risk.channel,
        reasons: risk.reasons,
        audit_sequence,
    }))
}

/// Server-sent events: `flagged` and `verdict` as they are stored, `resync` when this
/// listener fell behind (reload everything).
pub async fn events(
    State(service): State<Service>,
    Extension(caller): Extension<Caller>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, WebError> {
    // The stream ends when the server shuts down; the page reconnects on its own.
    let events = BroadcastStream::new(service.review_events(&caller)?);
    let stream = futures_util::StreamExt::take_until(events, service.stopping()).map(|event| {
        Ok(match event {
            Ok(event) => Event::default()
                .event(event.kind())
                .data(serde_json::to_string(&event).unwrap_or_default()),
            Err(_) => Event::default().event("resync").data("{}"),
        })
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
