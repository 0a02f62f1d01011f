//! What a scan asks of the pipeline, what it answers, and the checks made before anything is
//! decoded.

use std::time::{Duration, Instant};

use bytes::Bytes;
use xray_metrics::Protocol;
use xray_types::{Encoding, Priority};

use super::PipelineError;
use crate::{detect::Detection, imaging::RawLayout};

/// Longest accepted `scan_id` (and `declaration_id`, `portal_id`), in bytes.
pub const MAX_SCAN_ID_BYTES: usize = 128;

/// One scan to screen, as the API layer hands it over.
#[derive(Debug, Clone, Default)]
pub struct ScanRequest {
    pub scan_id: String,
    pub declaration_id: String,
    pub portal_id: String,
    pub image: Bytes,
    /// None: detect from the magic bytes.
    pub encoding: Option<Encoding>,
    pub raw: Option<RawLayout>,
    /// None: the server's default model.
    pub model: Option<String>,
    pub min_confidence: Option<f32>,
    /// Evaluation only (not reachable from the API): report every candidate at or over this
    /// score, below the class thresholds, to trace the precision-recall curve.
    pub eval_floor: Option<f32>,
    /// Live scans go ahead of back-office ones; each level has its own queue bound.
    pub priority: Priority,
    /// After this instant nobody waits for the answer: the scan is dropped with
    /// DEADLINE_EXCEEDED, before it is run where it has not started.
    pub deadline: Option<Instant>,
    /// Who sent it (a connection, a principal); clients take turns in the model's queue, so
    /// one that sends many scans at once does not hold back the others. Empty: one shared
    /// client.
    pub client: String,
    /// The protocol it came in by, for the metrics.
    pub protocol: Protocol,
}

/// Where a scan's time went.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Timings {
    pub decode: Duration,
    pub preprocess: Duration,
    pub queue: Duration,
    pub inference: Duration,
    pub postprocess: Duration,
    pub total: Duration,
}

/// The screening result of one scan.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Inspection {
    pub scan_id: String,
    pub model: String,
    pub model_version: String,
    pub detections: Vec<Detection>,
    pub alarm: bool,
    pub width: u32,
    pub height: u32,
    #[serde(skip)]
    pub timings: Timings,
    pub batch_size: usize,
}

/// A ready input tensor for one image, from a client that preprocesses itself.
#[derive(Debug, Clone, Default)]
pub struct TensorRequest {
    /// The model to run [default: the default model].
    pub model: Option<String>,
    /// `3 x H x W` floats, the model's input without the batch dimension.
    pub input: Vec<f32>,
    pub priority: Priority,
    /// Who sent it, for fair queueing (as [`ScanRequest::client`]).
    pub client: String,
    pub deadline: Option<Instant>,
    /// The protocol it came in by, for the metrics.
    pub protocol: Protocol,
}

/// Checks what a scan says about itself (ids, options) before anything is decoded or stored.
pub fn validate(request: &ScanRequest) -> Result<(), PipelineError> {
    if request.scan_id.is_empty() {
        return Err(PipelineError::InvalidRequest("scan_id is empty".into()));
    }
    for (field, value) in [
        ("scan_id", &request.scan_id),
        ("declaration_id", &request.declaration_id),
        ("portal_id", &request.portal_id),
    ] {
        if value.len() > MAX_SCAN_ID_BYTES {
            return Err(PipelineError::InvalidRequest(format!(
                "{field} is {} bytes; at most {MAX_SCAN_ID_BYTES} are allowed",
                value.len()
            )));
        }
    }
    if let Some(c) = request.min_confidence
        && !(0.0..=1.0).contains(&c)
    {
        return Err(PipelineError::InvalidRequest(format!(
            "min_confidence is {c}; it must be between 0 and 1"
        )));
    }
    Ok(())
}
