//! The one path a scan takes, shared by the gRPC service and the offline `inspect` command:
//! validate, decode and letterbox on the CPU pool, run on the model's executor, postprocess
//! on the CPU pool. Admission against the model's queue bound comes first, so that an
//! overloaded server refuses at once instead of decoding what it cannot run.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use bytes::Bytes;
use tokio::sync::oneshot;
use tracing::{Span, instrument};

use crate::{
    batching::Priority,
    detect::{Detection, OutputShapeError, ScoreCut, postprocess},
    imaging::{
        DecodedScan, Encoding, ImageLimits, ImagingError, Letterbox, RawLayout, decode_scan,
        letterbox_into,
    },
    metrics::{Metrics, Outcome, metrics},
    model::{LoadedModel, ModelError, ModelRegistry},
};

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

/// Why a scan could not be screened.
#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    #[error(transparent)]
    Image(#[from] ImagingError),
    #[error("{0}")]
    InvalidRequest(String),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Output(#[from] OutputShapeError),
    #[error("the scan's deadline passed {0}")]
    DeadlineExceeded(&'static str),
    #[error("the server is still loading and warming up its models; retry shortly")]
    NotReady,
    #[error("internal error: {0}")]
    Internal(String),
}

impl InspectError {
    /// How a request that failed this way is counted.
    pub fn outcome(&self) -> Outcome {
        match self {
            InspectError::Image(_)
            | InspectError::InvalidRequest(_)
            | InspectError::Model(ModelError::UnknownModel { .. }) => Outcome::Invalid,
            InspectError::Model(ModelError::QueueFull { .. }) => Outcome::Rejected,
            InspectError::Model(ModelError::Expired { .. }) | InspectError::DeadlineExceeded(_) => {
                Outcome::Deadline
            }
            _ => Outcome::Failed,
        }
    }
}

/// Counts a request once: with the outcome it reached, or as cancelled when its future is
/// dropped before that (the client went away).
struct OutcomeRecorder {
    model: String,
    recorded: bool,
}

impl OutcomeRecorder {
    fn finish<T>(mut self, result: &Result<T, InspectError>) {
        let outcome = match result {
            Ok(_) => Outcome::Success,
            Err(e) => e.outcome(),
        };
        metrics().request(&self.model, outcome);
        self.recorded = true;
    }
}

impl Drop for OutcomeRecorder {
    fn drop(&mut self) {
        if !self.recorded {
            metrics().request(&self.model, Outcome::Cancelled);
        }
    }
}

/// Runs scans through the models; cheap to clone.
#[derive(Clone)]
pub struct Inspector {
    registry: Arc<ModelRegistry>,
    limits: ImageLimits,
    cpu: Arc<rayon::ThreadPool>,
}

/// What preprocessing hands to the model and keeps for postprocessing.
struct Prepared {
    input: Vec<f32>,
    letterbox: Letterbox,
    decode: Duration,
    preprocess: Duration,
    /// Kept for callers that want the pixels (the `inspect --draw` command).
    scan: Option<DecodedScan>,
}

impl Inspector {
    /// `cpu_threads` sizes the pool for decoding, letterboxing and postprocessing
    /// (0: one per core).
    pub fn new(
        registry: Arc<ModelRegistry>,
        limits: ImageLimits,
        cpu_threads: usize,
    ) -> Result<Self, InspectError> {
        let cpu = rayon::ThreadPoolBuilder::new()
            .num_threads(cpu_threads)
            .thread_name(|i| format!("cpu-{i}"))
            // A panic in a decoder must not take the server down: the scan fails instead.
            .panic_handler(|_| tracing::error!("a CPU task panicked; its scan failed"))
            .build()
            .map_err(|e| InspectError::Internal(format!("cannot start the CPU pool: {e}")))?;
        Ok(Self {
            registry,
            limits,
            cpu: Arc::new(cpu),
        })
    }

    pub fn registry(&self) -> &Arc<ModelRegistry> {
        &self.registry
    }

    pub fn limits(&self) -> &ImageLimits {
        &self.limits
    }

    /// Screens one scan.
    #[instrument(skip_all, fields(scan_id = %request.scan_id, declaration_id = %request.declaration_id, model))]
    pub async fn inspect(&self, request: ScanRequest) -> Result<Inspection, InspectError> {
        self.run_until_deadline(request, false)
            .await
            .map(|(inspection, _)| inspection)
    }

    /// Screens one scan and also returns its decoded pixels.
    pub async fn inspect_with_pixels(
        &self,
        request: ScanRequest,
    ) -> Result<(Inspection, DecodedScan), InspectError> {
        let (inspection, scan) = self.run_until_deadline(request, true).await?;
        let scan = scan.ok_or_else(|| InspectError::Internal("pixels were not kept".into()))?;
        Ok((inspection, scan))
    }

    /// Runs a scan, giving up with DEADLINE_EXCEEDED at its deadline, and counts its outcome.
    async fn run_until_deadline(
        &self,
        request: ScanRequest,
        keep_pixels: bool,
    ) -> Result<(Inspection, Option<DecodedScan>), InspectError> {
        // Unknown model names are not used as labels: clients control them.
        let recorder = OutcomeRecorder {
            model: self
                .registry
                .get(request.model.as_deref())
                .map_or_else(|_| "unknown".to_string(), |m| m.spec.name.clone()),
            recorded: false,
        };
        let result = match request.deadline {
            Some(deadline) => tokio::time::timeout_at(
                tokio::time::Instant::from_std(deadline),
                self.run(request, keep_pixels),
            )
            .await
            .unwrap_or(Err(InspectError::DeadlineExceeded(
                "before the scan was screened",
            ))),
            None => self.run(request, keep_pixels).await,
        };
        recorder.finish(&result);
        result
    }

    async fn run(
        &self,
        request: ScanRequest,
        keep_pixels: bool,
    ) -> Result<(Inspection, Option<DecodedScan>), InspectError> {
        let received = Instant::now();
        validate(&request)?;
        let model = self.registry.get(request.model.as_deref())?;
        Span::current().record("model", model.spec.name.as_str());
        // A place in the queue bound first: a full queue answers before any decoding.
        let admission = model.batcher.admit(request.priority)?;

        let limits = self.limits;
        let prep_model = Arc::clone(&model);
        let image = request.image.clone();
        let (encoding, raw) = (request.encoding, request.raw);
        let mut prepared = self
            .on_cpu(move || prepare(&prep_model, &image, encoding, raw, &limits, keep_pixels))
            .await??;

        if request.deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(InspectError::DeadlineExceeded("while the scan was decoded"));
        }
        let input = std::mem::take(&mut prepared.input);
        let output = model
            .batcher
            .submit(admission, input, request.deadline)?
            .await
            .map_err(|_| ModelError::Stopped(model.spec.name.clone()))??;

        let post_model = Arc::clone(&model);
        let letterbox = prepared.letterbox;
        let cut = match request.eval_floor {
            Some(floor) => ScoreCut::Floor(floor),
            None => ScoreCut::from_min_confidence(request.min_confidence),
        };
        let (detections, postprocess_time) = self
            .on_cpu(move || {
                let started = Instant::now();
                let detections =
                    postprocess(&post_model.spec, &output.data, output.dims, &letterbox, cut);
                (detections, started.elapsed())
            })
            .await?;
        let detections = detections?;

        let m = metrics();
        let name = model.spec.name.as_str();
        Metrics::observe(&m.decode_seconds, name, prepared.decode);
        Metrics::observe(&m.preprocess_seconds, name, prepared.preprocess);
        Metrics::observe(&m.postprocess_seconds, name, postprocess_time);
        Metrics::observe(&m.request_seconds, name, received.elapsed());
        let inspection = Inspection {
            scan_id: request.scan_id,
            model: model.spec.name.clone(),
            model_version: model.spec.version.clone(),
            alarm: detections.iter().any(|d| d.alarm),
            detections,
            width: letterbox.source_width,
            height: letterbox.source_height,
            timings: Timings {
                decode: prepared.decode,
                preprocess: prepared.preprocess,
                queue: output.queue_time,
                inference: output.inference_time,
                postprocess: postprocess_time,
                total: received.elapsed(),
            },
            batch_size: output.batch_size,
        };
        tracing::debug!(
            detections = inspection.detections.len(),
            alarm = inspection.alarm,
            total_us = inspection.timings.total.as_micros() as u64,
            "scan screened"
        );
        Ok((inspection, prepared.scan))
    }

    /// Runs CPU work on the pool, off the async runtime's threads.
    async fn on_cpu<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, InspectError> {
        let (tx, rx) = oneshot::channel();
        self.cpu.spawn(move || {
            let _ = tx.send(work());
        });
        rx.await
            .map_err(|_| InspectError::Internal("the scan's CPU task failed".into()))
    }
}

/// Checks what a scan says about itself (ids, options) before anything is decoded or stored.
pub fn validate(request: &ScanRequest) -> Result<(), InspectError> {
    if request.scan_id.is_empty() {
        return Err(InspectError::InvalidRequest("scan_id is empty".into()));
    }
    for (field, value) in [
        ("scan_id", &request.scan_id),
        ("declaration_id", &request.declaration_id),
        ("portal_id", &request.portal_id),
    ] {
        if value.len() > MAX_SCAN_ID_BYTES {
            return Err(InspectError::InvalidRequest(format!(
                "{field} is {} bytes; at most {MAX_SCAN_ID_BYTES} are allowed",
                value.len()
            )));
        }
    }
    if let Some(c) = request.min_confidence
        && !(0.0..=1.0).contains(&c)
    {
        return Err(InspectError::InvalidRequest(format!(
            "min_confidence is {c}; it must be between 0 and 1"
        )));
    }
    Ok(())
}

fn prepare(
    model: &LoadedModel,
    image: &[u8],
    encoding: Option<Encoding>,
    raw: Option<RawLayout>,
    limits: &ImageLimits,
    keep_pixels: bool,
) -> Result<Prepared, InspectError> {
    let started = Instant::now();
    let scan = decode_scan(image, encoding, raw, limits, &model.palette)?;
    let decoded = Instant::now();
    let input_spec = &model.spec.input;
    let mut input = vec![0f32; 3 * input_spec.width as usize * input_spec.height as usize];
    let letterbox = letterbox_into(
        &scan.rgb,
        scan.width,
        scan.height,
        input_spec.width,
        input_spec.height,
        input_spec.fill,
        input_spec.mean,
        input_spec.std,
        &mut input,
    );
    Ok(Prepared {
        input,
        letterbox,
        decode: decoded - started,
        preprocess: decoded.elapsed(),
        scan: keep_pixels.then_some(scan),
    })
}
