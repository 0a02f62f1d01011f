//! The executor: one thread that owns a model's ort session (`Session::run` needs `&mut`),
//! takes letterboxed inputs from a bounded queue, runs them in batches and hands each scan
//! its slice of the output.

use std::{
    thread::JoinHandle,
    time::{Duration, Instant},
};

use crossbeam_channel::{Receiver, Sender, TrySendError};
use ort::{session::Session, value::TensorRef};
use tokio::sync::oneshot;

use super::{ModelError, ModelSpec};

/// One image's raw model output and how it was produced.
#[derive(Debug, Clone)]
pub struct ModelOutput {
    /// The image's output tensor without the batch dimension, row-major.
    pub data: Vec<f32>,
    /// Its two dimensions (layout-dependent, see `OutputLayout`).
    pub dims: [usize; 2],
    pub queue_time: Duration,
    pub inference_time: Duration,
    pub batch_size: usize,
}

struct Job {
    input: Vec<f32>,
    enqueued: Instant,
    reply: oneshot::Sender<Result<ModelOutput, ModelError>>,
}

/// Handle to a model's executor thread. Dropping every handle stops the thread.
pub struct Executor {
    name: String,
    queue: Sender<Job>,
    capacity: usize,
    input_len: usize,
    thread: Option<JoinHandle<()>>,
}

impl Executor {
    /// Starts the thread that owns `session`. `capacity` bounds the scans waiting to run.
    pub fn start(
        session: Session,
        spec: &ModelSpec,
        max_batch: usize,
        capacity: usize,
    ) -> Result<Self, ModelError> {
        let (queue, jobs) = crossbeam_channel::bounded(capacity);
        let runner = BatchRunner {
            session,
            model: spec.name.clone(),
            input_name: spec.input.name.clone(),
            output_name: spec.output.name.clone(),
            height: spec.input.height as usize,
            width: spec.input.width as usize,
            max_batch,
        };
        let input_len = runner.input_len();
        let thread = std::thread::Builder::new()
            .name(format!("executor-{}", spec.name))
            .spawn(move || runner.serve(jobs))
            .map_err(|e| ModelError::Inference {
                model: spec.name.clone(),
                reason: format!("cannot start executor thread: {e}"),
            })?;
        Ok(Self {
            name: spec.name.clone(),
            queue,
            capacity,
            input_len,
            thread: Some(thread),
        })
    }

    /// Queues one letterboxed image (`3 x H x W` floats). The receiver yields its output; a
    /// receiver dropped before the batch runs means the scan is skipped.
    pub fn submit(
        &self,
        input: Vec<f32>,
    ) -> Result<oneshot::Receiver<Result<ModelOutput, ModelError>>, ModelError> {
        debug_assert_eq!(input.len(), self.input_len);
        let (reply, result) = oneshot::channel();
        let job = Job {
            input,
            enqueued: Instant::now(),
            reply,
        };
        match self.queue.try_send(job) {
            Ok(()) => Ok(result),
            Err(TrySendError::Full(_)) => Err(ModelError::QueueFull {
                model: self.name.clone(),
                capacity: self.capacity,
            }),
            Err(TrySendError::Disconnected(_)) => Err(ModelError::Stopped(self.name.clone())),
        }
    }

    /// Scans waiting in the queue.
    pub fn queue_depth(&self) -> usize {
        self.queue.len()
    }
}

impl Drop for Executor {
    fn drop(&mut self) {
        // Closing the queue ends the thread's loop once queued work is done.
        let (closed, _) = crossbeam_channel::bounded(0);
        drop(std::mem::replace(&mut self.queue, closed));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

struct BatchRunner {
    session: Session,
    model: String,
    input_name: String,
    output_name: String,
    height: usize,
    width: usize,
    max_batch: usize,
}

impl BatchRunner {
    fn input_len(&self) -> usize {
        3 * self.height * self.width
    }

    fn serve(mut self, jobs: Receiver<Job>) {
        let mut batch_input = Vec::new();
        while let Ok(first) = jobs.recv() {
            // Whatever else is already waiting joins this batch, up to the model's limit.
            let mut batch = vec![first];
            while batch.len() < self.max_batch {
                match jobs.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            // A scan whose caller went away is not run.
            batch.retain(|job| !job.reply.is_closed());
            if batch.is_empty() {
                continue;
            }
            self.run(batch, &mut batch_input);
        }
    }

    fn run(&mut self, batch: Vec<Job>, batch_input: &mut Vec<f32>) {
        let started = Instant::now();
        batch_input.clear();
        for job in &batch {
            batch_input.extend_from_slice(&job.input);
        }
        let n = batch.len();
        let result = self.infer(n, batch_input);
        let inference_time = started.elapsed();
        match result {
            Ok((dims, data)) => {
                let per_image = dims[0] * dims[1];
                for (i, job) in batch.into_iter().enumerate() {
                    let output = ModelOutput {
                        data: data[i * per_image..(i + 1) * per_image].to_vec(),
                        dims,
                        queue_time: started.saturating_duration_since(job.enqueued),
                        inference_time,
                        batch_size: n,
                    };
                    let _ = job.reply.send(Ok(output));
                }
            }
            Err(reason) => {
                tracing::error!(model = %self.model, batch = n, %reason, "inference failed");
                for job in batch {
                    let _ = job.reply.send(Err(ModelError::Inference {
                        model: self.model.clone(),
                        reason: reason.clone(),
                    }));
                }
            }
        }
    }

    /// Runs one batch; returns the per-image output dims and the whole output.
    fn infer(&mut self, n: usize, input: &[f32]) -> Result<([usize; 2], Vec<f32>), String> {
        let tensor = TensorRef::from_array_view(([n, 3, self.height, self.width], input))
            .map_err(|e| e.to_string())?;
        let outputs = self
            .session
            .run(ort::inputs![self.input_name.as_str() => tensor])
            .map_err(|e| e.to_string())?;
        let value = outputs
            .get(&self.output_name)
            .ok_or_else(|| format!("no output named {:?}", self.output_name))?;
        let (shape, data) = value
            .try_extract_tensor::<f32>()
            .map_err(|e| e.to_string())?;
        match **shape {
            [batch, d1, d2] if batch as usize == n && d1 >= 0 && d2 >= 0 => {
                Ok(([d1 as usize, d2 as usize], data.to_vec()))
            }
            _ => Err(format!(
                "output {:?} has shape {shape:?}; expected [{n}, d1, d2]",
                self.output_name
            )),
        }
    }
}

/// Runs one batch of zeros through a session before it serves: checks that it really runs,
/// and moves the first-run allocations out of the first scan's latency.
pub(super) fn warm_up(session: &mut Session, spec: &ModelSpec, batch: usize) -> Result<(), String> {
    let len = 3 * spec.input.height as usize * spec.input.width as usize;
    let zeros = vec![0f32; len * batch];
    let tensor = TensorRef::from_array_view((
        [
            batch,
            3,
            spec.input.height as usize,
            spec.input.width as usize,
        ],
        zeros.as_slice(),
    ))
    .map_err(|e| e.to_string())?;
    let outputs = session
        .run(ort::inputs![spec.input.name.as_str() => tensor])
        .map_err(|e| e.to_string())?;
    let value = outputs
        .get(&spec.output.name)
        .ok_or_else(|| format!("no output named {:?}", spec.output.name))?;
    let (shape, _) = value
        .try_extract_tensor::<f32>()
        .map_err(|e| e.to_string())?;
    if shape.len() != 3 || shape[0] as usize != batch {
        return Err(format!("warm-up output has shape {shape:?}"));
    }
    Ok(())
}
