//! Between the Inspection service's wire types and the use case's.

use std::time::Instant;

use xray_engine::{
    detect::Detection,
    imaging::RawLayout,
    pipeline::{Inspection, ScanRequest},
};
use xray_metrics::Protocol;
use xray_proto as proto;
use xray_service::{
    Error,
    screening::{Scan, ScanAnswer, Screening},
};
use xray_types::{BoxXyxy, Category, Encoding, Priority, View};

use super::convert_customs::{risk, stored_detection};

/// A `Scan` as the use case takes it, from `client`, answered by `deadline`; refuses enum
/// values this server does not know.
pub fn scan(scan: proto::Scan, deadline: Option<Instant>, client: String) -> Result<Scan, Error> {
    let priority = match proto::Priority::try_from(scan.priority) {
        Ok(proto::Priority::Unspecified | proto::Priority::Live) => Priority::Live,
        Ok(proto::Priority::Backoffice) => Priority::Backoffice,
        Err(_) => {
            return Err(Error::Invalid(format!(
                "priority {} is not a known Priority (LIVE=1, BACKOFFICE=2)",
                scan.priority
            )));
        }
    };
    let encoding = image_encoding(scan.encoding)?;
    let view = view(scan.view)?;
    let raw = (encoding == Some(Encoding::RawU16)).then_some(RawLayout {
        width: scan.width,
        height: scan.height,
        channels: scan.channels,
    });
    Ok(Scan {
        request: ScanRequest {
            scan_id: scan.scan_id,
            declaration_id: scan.declaration_id,
            portal_id: scan.portal_id,
            image: scan.image,
            encoding,
            raw,
            model: scan.model.filter(|m| !m.is_empty()),
            min_confidence: scan.min_confidence,
            eval_floor: None,
            priority,
            deadline,
            client,
            protocol: Protocol::XrayV1,
        },
        view,
        channels: scan.channels,
    })
}

/// An `xray.v1.ImageEncoding` value: None for ENCODING_UNSPECIFIED (sniff the bytes).
fn image_encoding(value: i32) -> Result<Option<Encoding>, Error> {
    match proto::ImageEncoding::try_from(value) {
        Ok(proto::ImageEncoding::EncodingUnspecified) => Ok(None),
        Ok(proto::ImageEncoding::Png) => Ok(Some(Encoding::Png)),
        Ok(proto::ImageEncoding::Jpeg) => Ok(Some(Encoding::Jpeg)),
        Ok(proto::ImageEncoding::Tiff) => Ok(Some(Encoding::Tiff)),
        Ok(proto::ImageEncoding::RawU16) => Ok(Some(Encoding::RawU16)),
        Ok(proto::ImageEncoding::Dicos) => Ok(Some(Encoding::Dicos)),
        Err(_) => Err(Error::Invalid(format!(
            "encoding {value} is not a known ImageEncoding (PNG=1, JPEG=2, TIFF=3, RAW_U16=4, DICOS=5)"
        ))),
    }
}

/// An `xray.v1.ImageEncoding` value of a domain encoding (None: unspecified).
pub fn encoding_value(encoding: Option<Encoding>) -> i32 {
    (match encoding {
        None => proto::ImageEncoding::EncodingUnspecified,
        Some(Encoding::Png) => proto::ImageEncoding::Png,
        Some(Encoding::Jpeg) => proto::ImageEncoding::Jpeg,
        Some(Encoding::Tiff) => proto::ImageEncoding::Tiff,
        Some(Encoding::RawU16) => proto::ImageEncoding::RawU16,
        Some(Encoding::Dicos) => proto::ImageEncoding::Dicos,
    }) as i32
}

fn view(value: i32) -> Result<View, Error> {
    match proto::View::try_from(value) {
        Ok(proto::View::Unspecified) => Ok(View::Unspecified),
        Ok(proto::View::Single) => Ok(View::Single),
        Ok(proto::View::Top) => Ok(View::Top),
        Ok(proto::View::Side) => Ok(View::Side),
        Err(_) => Err(Error::Invalid(format!(
            "view {value} is not a known View (SINGLE=1, TOP=2, SIDE=3)"
        ))),
    }
}

/// An `xray.v1.View` value.
pub fn view_value(view: View) -> i32 {
    (match view {
        View::Unspecified => proto::View::Unspecified,
        View::Single => proto::View::Single,
        View::Top => proto::View::Top,
        View::Side => proto::View::Side,
    }) as i32
}

pub(super) fn bounding_box(b: BoxXyxy) -> proto::BoundingBox {
    proto::BoundingBox {
        x1: b.x1,
        y1: b.y1,
        x2: b.x2,
        y2: b.y2,
    }
}

pub(super) fn category(c: Category) -> proto::Category {
    match c {
        Category::Weapon => proto::Category::Weapon,
        Category::Drugs => proto::Category::Drugs,
        Category::UndeclaredGoods => proto::Category::UndeclaredGoods,
        Category::Other => proto::Category::Other,
    }
}

fn detection(id: usize, d: Detection) -> proto::Detection {
    proto::Detection {
        class_name: d.class_name,
        category: category(d.category) as i32,
        confidence: d.confidence,
        r#box: Some(bounding_box(d.bbox)),
        alarm: d.alarm,
        detection_id: u32::try_from(id).unwrap_or(u32::MAX),
    }
}

fn micros(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

fn screened(i: Inspection) -> proto::InspectionResult {
    proto::InspectionResult {
        scan_id: i.scan_id,
        model: i.model,
        model_version: i.model_version,
        detections: i
            .detections
            .into_iter()
            .enumerate()
            .map(|(id, d)| detection(id, d))
            .collect(),
        alarm: i.alarm,
        image_width: i.width,
        image_height: i.height,
        timings: Some(proto::Timings {
            decode_us: micros(i.timings.decode),
            preprocess_us: micros(i.timings.preprocess),
            queue_us: micros(i.timings.queue),
            inference_us: micros(i.timings.inference),
            postprocess_us: micros(i.timings.postprocess),
            total_us: micros(i.timings.total),
        }),
        error: None,
        batch_size: u32::try_from(i.batch_size).unwrap_or(u32::MAX),
        declaration_id: String::new(),
        risk: None,
        tdr: Default::default(),
    }
}

/// The wire answer to a scan: a fresh screening with its timings, or the stored one (no
/// timings, batch size 0), with the declaration's risk when the scan has a declaration.
pub fn inspection_result(answer: ScanAnswer) -> proto::InspectionResult {
    let mut result = match answer.screening {
        Screening::Screened(inspection) => screened(inspection),
        Screening::Replayed(stored) => proto::InspectionResult {
            scan_id: stored.scan_id,
            model: stored.model,
            model_version: stored.model_version,
            detections: stored.detections.iter().map(stored_detection).collect(),
            alarm: stored.alarm,
            image_width: stored.width,
            image_height: stored.height,
            ..Default::default()
        },
    };
    if let Some((declaration_id, current)) = answer.declaration {
        result.declaration_id = declaration_id;
        result.risk = Some(risk(&current));
    }
    if let Some(tdr) = answer.tdr {
        result.tdr = tdr;
    }
    result
}

/// The result of a failed scan inside a stream.
pub fn failed_result(scan_id: String, status: &tonic::Status) -> proto::InspectionResult {
    proto::InspectionResult {
        scan_id,
        error: Some(proto::ScanError {
            code: status.code() as i32,
            message: status.message().to_string(),
        }),
        ..Default::default()
    }
}
