//! The one path a scan takes, shared by the use cases and the offline commands: validate,
//! decode and letterbox on the CPU pool, run on the model's executor, postprocess on the CPU
//! pool. Admission against the model's queue bound comes first, so that an overloaded server
//! refuses at once instead of decoding what it cannot run. The pipeline starts one batcher
//! per model over the instances the model layer loaded.

mod error;
mod models;
mod request;

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use tokio::sync::{Semaphore, oneshot};
use tracing::{Span, instrument};
use xray_metrics::{Metrics, metrics};

pub use error::PipelineError;
pub use models::{BatchingSettings, ServedModel};
pub use request::{Inspection, MAX_SCAN_ID_BYTES, ScanRequest, TensorRequest, Timings, validate};

pub use crate::batching::ModelOutput;
use crate::{
    batching::BatchError,
    detect::{ScoreCut, postprocess},
    imaging::{
        DecodeCost, DecodedScan, ImageLimits, ImagingError, Letterbox, RawLayout, decode_checked,
        decode_cost, letterbox_into,
    },
    model::ModelRegistry,
};
use error::{OutcomeRecorder, UNKNOWN_MODEL};

/// Runs scans through the models; cheap to clone.
#[derive(Clone)]
pub struct Pipeline {
    models: Arc<models::Models>,
    limits: ImageLimits,
    cpu: Arc<rayon::ThreadPool>,
    /// Bytes that decodes in progress may hold together, in KiB permits.
    decode_budget: Arc<Semaphore>,
    decode_budget_kib: u32,
}

/// A scan's share of the decode budget, given back when dropped.
struct DecodeShare {
    _permit: tokio::sync::OwnedSemaphorePermit,
    kib: u32,
}

impl Drop for DecodeShare {
    fn drop(&mut self) {
        metrics()
            .decode_bytes_held
            .dec_by(i64::from(self.kib) * 1024);
    }
}

/// The queue's key of a client name.
fn client_key(client: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    client.hash(&mut hasher);
    hasher.finish()
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

impl Pipeline {
    /// Starts a batcher over each of the registry's models. `cpu_threads` sizes the pool for
    /// decoding, letterboxing and postprocessing (0: one per core); `decode_budget` bounds
    /// the bytes that decodes in progress hold together (each scan's share read from its
    /// header before it is decoded).
    pub fn new(
        registry: ModelRegistry,
        batching: &BatchingSettings,
        limits: ImageLimits,
        cpu_threads: usize,
        decode_budget: u64,
    ) -> Result<Self, PipelineError> {
        let decode_budget_kib = u32::try_from(decode_budget / 1024)
            .unwrap_or(u32::MAX)
            .clamp(1, Semaphore::MAX_PERMITS as u32);
        let cpu = rayon::ThreadPoolBuilder::new()
            .num_threads(cpu_threads)
            .thread_name(|i| format!("cpu-{i}"))
            // A panic in a decoder must not take the server down: the scan fails instead.
            .panic_handler(|_| tracing::error!("a CPU task panicked; its scan failed"))
            .build()
            .map_err(|e| PipelineError::Internal(format!("cannot start the CPU pool: {e}")))?;
        Ok(Self {
            models: Arc::new(models::Models::start(registry, batching)?),
            limits,
            cpu: Arc::new(cpu),
            decode_budget: Arc::new(Semaphore::new(decode_budget_kib as usize)),
            decode_budget_kib,
        })
    }

    /// The named model, or the default one.
    pub fn model(&self, name: Option<&str>) -> Result<Arc<ServedModel>, PipelineError> {
        self.models.get(name)
    }

    /// Every model served, by name.
    pub fn models(&self) -> impl Iterator<Item = &Arc<ServedModel>> {
        self.models.iter()
    }

    /// Screens one scan.
    #[instrument(skip_all, fields(scan_id = %request.scan_id, declaration_id = %request.declaration_id, model))]
    pub async fn inspect(&self, request: ScanRequest) -> Result<Inspection, PipelineError> {
        self.run_until_deadline(request, false)
            .await
            .map(|(inspection, _)| inspection)
    }

    /// Screens one scan and also returns its decoded pixels.
    pub async fn inspect_with_pixels(
        &self,
        request: ScanRequest,
    ) -> Result<(Inspection, DecodedScan), PipelineError> {
        let (inspection, scan) = self.run_until_deadline(request, true).await?;
        let scan = scan.ok_or_else(|| PipelineError::Internal("pixels were not kept".into()))?;
        Ok((inspection, scan))
    }

    /// Runs a ready input tensor (`3 x H x W` floats, letterboxed and normalised by the
    /// caller as the model's `[input]` says) through the model's batcher, with the scans, and
    /// answers the model's raw output for it.
    pub async fn infer_ready(&self, request: TensorRequest) -> Result<ModelOutput, PipelineError> {
        let model = self.models.get(request.model.as_deref());
        let recorder = OutcomeRecorder::new(
            model
                .as_ref()
                .map_or_else(|_| UNKNOWN_MODEL.to_string(), |m| m.spec.name.clone()),
            request.protocol,
        );
        let run = async {
            let model = model?;
            let spec = &model.spec.input;
            let expected = 3 * spec.width as usize * spec.height as usize;
            if request.input.len() != expected {
                return Err(PipelineError::InvalidRequest(format!(
                    "the input tensor holds {} values per image; model {} takes [3, {}, {}] = {expected}",
                    request.input.len(),
                    model.spec.name,
                    spec.height,
                    spec.width
                )));
            }
            let received = Instant::now();
            let client = client_key(&request.client);
            let admission = model.batcher.admit(request.priority, client)?;
            let output = model
                .batcher
                .submit(admission, request.input, request.deadline, client)?
                .await
                .map_err(|_| BatchError::Stopped(model.spec.name.clone()))??;
            let m = metrics();
            Metrics::observe(&m.request_seconds, &model.spec.name, received.elapsed());
            m.model_stats
                .of(&model.spec.name)
                .success
                .add(received.elapsed());
            Ok(output)
        };
        let result = match request.deadline {
            Some(deadline) => {
                tokio::time::timeout_at(tokio::time::Instant::from_std(deadline), run)
                    .await
                    .unwrap_or(Err(PipelineError::DeadlineExceeded(
                        "before the tensor was run",
                    )))
            }
            None => run.await,
        };
        recorder.finish(&result);
        result
    }

    /// Runs a scan, giving up with DEADLINE_EXCEEDED at its deadline, and counts its outcome.
    async fn run_until_deadline(
        &self,
        request: ScanRequest,
        keep_pixels: bool,
    ) -> Result<(Inspection, Option<DecodedScan>), PipelineError> {
        // Unknown model names are not used as labels: clients control them.
        let recorder = OutcomeRecorder::new(
            self.models
                .get(request.model.as_deref())
                .map_or_else(|_| UNKNOWN_MODEL.to_string(), |m| m.spec.name.clone()),
            request.protocol,
        );
        let result = match request.deadline {
            Some(deadline) => tokio::time::timeout_at(
                tokio::time::Instant::from_std(deadline),
                self.run(request, keep_pixels),
            )
            .await
            .unwrap_or(Err(PipelineError::DeadlineExceeded(
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
    ) -> Result<(Inspection, Option<DecodedScan>), PipelineError> {
        let received = Instant::now();
        validate(&request)?;
        let model = self.models.get(request.model.as_deref())?;
        Span::current().record("model", model.spec.name.as_str());
        // A place in the queue bound first: a full queue answers before any decoding.
        let client = client_key(&request.client);
        let admission = model.batcher.admit(request.priority, client)?;

        let limits = self.limits;
        let prep_model = Arc::clone(&model);
        let image = request.image.clone();
        let (encoding, raw) = (request.encoding, request.raw);
        // Its checks and its cost from the header, on the CPU pool (the completeness check
        // reads every byte); then its share of the decode budget, which the scan waits for
        // (up to its deadline) while other decodes hold it, before a pixel is decoded.
        let header = image.clone();
        let cost = self
            .on_cpu(move || decode_cost(&header, encoding, raw, &limits))
            .await??;
        let held = self.reserve_decode(cost.bytes).await?;
        let mut prepared = self
            .on_cpu(move || prepare(&prep_model, &image, &cost, raw, &limits, keep_pixels))
            .await??;
        drop(held);

        if request.deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(PipelineError::DeadlineExceeded(
                "while the scan was decoded",
            ));
        }
        let input = std::mem::take(&mut prepared.input);
        let output = model
            .batcher
            .submit(admission, input, request.deadline, client)?
            .await
            .map_err(|_| BatchError::Stopped(model.spec.name.clone()))??;

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
        let stats = m.model_stats.of(name);
        stats
            .compute_input
            .add(prepared.decode + prepared.preprocess);
        stats.compute_output.add(postprocess_time);
        stats.success.add(received.elapsed());
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

    /// Waits for a scan's share of the decode budget; refuses a scan whose decode alone needs
    /// more than the whole budget.
    async fn reserve_decode(&self, bytes: u64) -> Result<DecodeShare, PipelineError> {
        let kib = u32::try_from(bytes.div_ceil(1024))
            .unwrap_or(u32::MAX)
            .max(1);
        if kib > self.decode_budget_kib {
            return Err(PipelineError::Image(ImagingError::OverDecodeBudget {
                needed_mib: bytes.div_ceil(1 << 20),
                budget_mib: u64::from(self.decode_budget_kib).div_ceil(1024),
            }));
        }
        let permit = Arc::clone(&self.decode_budget)
            .acquire_many_owned(kib)
            .await
            .map_err(|_| PipelineError::Internal("the decode budget is closed".into()))?;
        metrics().decode_bytes_held.inc_by(i64::from(kib) * 1024);
        Ok(DecodeShare {
            _permit: permit,
            kib,
        })
    }

    /// Runs CPU work on the pool, off the async runtime's threads.
    async fn on_cpu<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, PipelineError> {
        let (tx, rx) = oneshot::channel();
        self.cpu.spawn(move || {
            let _ = tx.send(work());
        });
        rx.await
            .map_err(|_| PipelineError::Internal("the scan's CPU task failed".into()))
    }
}

fn prepare(
    model: &ServedModel,
    image: &[u8],
    cost: &DecodeCost,
    raw: Option<RawLayout>,
    limits: &ImageLimits,
    keep_pixels: bool,
) -> Result<Prepared, PipelineError> {
    let started = Instant::now();
    let scan = decode_checked(image, cost, raw, limits, &model.palette)?;
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
