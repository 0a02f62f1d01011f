//! An executor thread: owns one model instance (its ort session), takes batches from the
//! batcher, skips requests that may no longer run, runs the rest and answers each caller.

use std::{thread::JoinHandle, time::Instant};

use crossbeam_channel::{Receiver, Sender};

use super::BatchError;
use super::{
    ModelOutput,
    request::{DropReason, Job},
};
use crate::model::ModelInstance;
use xray_metrics::{DropLabels, Metrics, ModelLabels, metrics};

/// Starts the thread of instance `index`. It sends one token on `idle` after each batch, and
/// ends when `batches` closes.
pub(super) fn spawn(
    instance: ModelInstance,
    index: usize,
    batches: Receiver<Vec<Job>>,
    idle: Sender<()>,
) -> std::io::Result<JoinHandle<()>> {
    let name = format!("executor-{}-{index}", instance.model());
    std::thread::Builder::new()
        .name(name)
        .spawn(move || Executor::new(instance).serve(batches, idle))
}

struct Executor {
    instance: ModelInstance,
    model: ModelLabels,
    /// The batch tensor, reused between batches.
    input: Vec<f32>,
}

impl Executor {
    fn new(instance: ModelInstance) -> Self {
        let model = ModelLabels {
            model: instance.model().to_string(),
        };
        Self {
            instance,
            model,
            input: Vec::new(),
        }
    }

    fn serve(mut self, batches: Receiver<Vec<Job>>, idle: Sender<()>) {
        for jobs in batches.iter() {
            // The last look before the run: a request that expired or was abandoned while its
            // batch waited for this thread is not run.
            let now = Instant::now();
            let mut batch = Vec::with_capacity(jobs.len());
            for job in jobs {
                match job.unrunnable(now) {
                    Some(reason) => drop_job(&self.model.model, job, reason),
                    None => batch.push(job),
                }
            }
            if !batch.is_empty() {
                self.run(batch);
            }
            if idle.send(()).is_err() {
                break;
            }
        }
    }

    fn run(&mut self, batch: Vec<Job>) {
        let started = Instant::now();
        self.input.clear();
        for job in &batch {
            self.input.extend_from_slice(&job.input);
        }
        let n = batch.len();
        let result = self.instance.infer(n, &self.input);
        let inference_time = started.elapsed();
        let m = metrics();
        m.inference_seconds
            .get_or_create(&self.model)
            .observe(inference_time.as_secs_f64());
        m.batch_size.get_or_create(&self.model).observe(n as f64);
        match result {
            Ok((dims, data)) => {
                m.inferred_images
                    .get_or_create(&self.model)
                    .inc_by(n as u64);
                let stats = m.model_stats.of(&self.model.model);
                stats.batch(n);
                let per_image = dims[0] * dims[1];
                for (job, output) in batch.into_iter().zip(data.chunks_exact(per_image)) {
                    let queue_time = started.saturating_duration_since(job.enqueued);
                    Metrics::observe(&m.queue_seconds, &self.model.model, queue_time);
                    stats.queue.add(queue_time);
                    stats.compute_infer.add(inference_time);
                    let _ = job.reply.send(Ok(ModelOutput {
                        data: output.to_vec(),
                        dims,
                        queue_time,
                        inference_time,
                        batch_size: n,
                    }));
                }
            }
            Err(reason) => {
                tracing::error!(model = %self.model.model, batch = n, %reason, "inference failed");
                for job in batch {
                    let _ = job.reply.send(Err(BatchError::Inference {
                        model: self.model.model.clone(),
                        reason: reason.clone(),
                    }));
                }
            }
        }
    }
}

/// Answers (where anyone still listens) and counts a request dropped before its run.
pub(super) fn drop_job(model: &str, job: Job, reason: DropReason) {
    metrics()
        .dropped_before_run
        .get_or_create(&DropLabels {
            model: model.to_string(),
            reason: reason.as_str().to_string(),
        })
        .inc();
    if reason == DropReason::Deadline {
        let waited = job.enqueued.elapsed();
        let _ = job.reply.send(Err(BatchError::Expired {
            model: model.to_string(),
            waited_ms: u64::try_from(waited.as_millis()).unwrap_or(u64::MAX),
        }));
    }
}
