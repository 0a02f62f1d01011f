//! The batching thread of one model and its handle: admission against per-priority bounds,
//! the queue it alone owns, and the rule that sends a batch to a free executor.

use std::{
    sync::{Arc, atomic::AtomicUsize},
    thread::JoinHandle,
    time::{Duration, Instant},
};

use crossbeam_channel::{Receiver, Sender, select};
use tokio::sync::oneshot;

use super::BatchError;
use super::{
    Admission, ModelOutput, executor,
    queue::BatchQueue,
    request::{ClientPlaces, DropReason, InferRequest, Job},
};
use crate::model::{ExecutionProvider, ModelInstance};
use xray_metrics::{InstanceLabels, QueueLabels, metrics};
use xray_types::Priority;

/// How a model's requests are batched.
#[derive(Debug, Clone, Copy)]
pub struct BatchingOptions {
    /// Largest batch (the model's `max_batch`, or 1 for a fixed batch dimension).
    pub max_batch: usize,
    /// How long the oldest waiting request may wait for more to join its batch while an
    /// executor is free.
    pub max_queue_delay: Duration,
    /// Requests each priority level may have admitted (decoding or queued), by
    /// `Priority::index`.
    pub bounds: [usize; 2],
    /// Requests one client may have admitted at one priority level.
    pub client_share: usize,
}

/// Handle to one model's batching thread and executor threads. Dropping it lets the queued
/// requests run, then stops the threads.
pub struct Batcher {
    model: String,
    options: BatchingOptions,
    incoming: Option<Sender<InferRequest>>,
    held: [Arc<AtomicUsize>; 2],
    /// Each client's places, by priority.
    clients: [Arc<ClientPlaces>; 2],
    threads: Vec<JoinHandle<()>>,
}

impl Batcher {
    /// Starts the batching thread and one executor thread per instance.
    pub fn start(
        model: &str,
        instances: Vec<(ModelInstance, ExecutionProvider)>,
        options: BatchingOptions,
    ) -> std::io::Result<Self> {
        let (work, batches) = crossbeam_channel::unbounded();
        let (idle_tx, idle_rx) = crossbeam_channel::unbounded();
        let mut threads = Vec::new();
        let mut executors = 0;
        for (index, (instance, provider)) in instances.into_iter().enumerate() {
            metrics()
                .instance_info
                .get_or_create(&InstanceLabels {
                    model: model.to_string(),
                    instance: index.to_string(),
                    provider: provider.to_string(),
                })
                .set(1);
            executors += 1;
            threads.push(executor::spawn(
                instance,
                index,
                batches.clone(),
                idle_tx.clone(),
            )?);
        }
        let (incoming, requests) = crossbeam_channel::unbounded();
        let batch_loop = BatchLoop {
            model: model.to_string(),
            options,
            queue: BatchQueue::default(),
            idle: executors,
            work,
        };
        threads.push(
            std::thread::Builder::new()
                .name(format!("batcher-{model}"))
                .spawn(move || batch_loop.run(requests, idle_rx))?,
        );
        Ok(Self {
            model: model.to_string(),
            options,
            incoming: Some(incoming),
            held: [Arc::default(), Arc::default()],
            clients: [Arc::default(), Arc::default()],
            threads,
        })
    }

    /// How this model batches (the effective settings, flags over model.toml).
    pub fn options(&self) -> &BatchingOptions {
        &self.options
    }

    /// Takes a place in `priority`'s queue bound for `client`, or answers at once that the
    /// level is full or that the client already holds its share of it.
    pub fn admit(&self, priority: Priority, client: u64) -> Result<Admission, BatchError> {
        let level = priority.index();
        let share = self.options.client_share.max(1);
        if !self.clients[level].take(client, share) {
            return Err(BatchError::ClientShareFull {
                model: self.model.clone(),
                priority: priority.to_string(),
                share,
            });
        }
        let bound = self.options.bounds[level];
        match Admission::try_take(priority, &self.held[level], bound) {
            Some(place) => Ok(place.for_client(&self.clients[level], client)),
            None => {
                self.clients[level].give_back(client);
                Err(BatchError::QueueFull {
                    model: self.model.clone(),
                    priority: priority.to_string(),
                    capacity: bound,
                })
            }
        }
    }

    /// Queues one letterboxed image (`3 x H x W` floats) under its admission, for `client`
    /// (clients take turns in the queue). The receiver yields its output; dropping the
    /// receiver before the batch runs skips the image, and after `deadline` it is not run.
    pub fn submit(
        &self,
        admission: Admission,
        input: Vec<f32>,
        deadline: Option<Instant>,
        client: u64,
    ) -> Result<oneshot::Receiver<Result<ModelOutput, BatchError>>, BatchError> {
        let (reply, result) = oneshot::channel();
        let request = InferRequest {
            job: Job {
                input,
                enqueued: Instant::now(),
                deadline,
                reply,
                client,
            },
            admission,
        };
        let sent = self.incoming.as_ref().map(|queue| queue.send(request));
        match sent {
            Some(Ok(())) => Ok(result),
            _ => Err(BatchError::Stopped(self.model.clone())),
        }
    }
}

impl Drop for Batcher {
    fn drop(&mut self) {
        // Closing the incoming channel lets the batcher dispatch what is queued and then
        // close the executors' channel, which ends them.
        self.incoming = None;
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

/// The state the batching thread owns.
struct BatchLoop {
    model: String,
    options: BatchingOptions,
    queue: BatchQueue,
    /// Executors waiting for a batch.
    idle: usize,
    work: Sender<Vec<Job>>,
}

/// Longest sleep while requests wait, so that abandoned ones free their places soon.
const RESCAN: Duration = Duration::from_millis(20);

impl BatchLoop {
    fn run(mut self, requests: Receiver<InferRequest>, idle: Receiver<()>) {
        let mut requests = Some(requests);
        let never = crossbeam_channel::never();
        loop {
            let now = Instant::now();
            for (request, reason) in self.queue.remove_unrunnable(now) {
                self.drop_request(request, reason);
            }
            let closing = requests.is_none();
            if self.idle > 0 && !self.queue.is_empty() {
                let full = self.queue.len() >= self.options.max_batch;
                let waited = self
                    .queue
                    .oldest()
                    .is_some_and(|t| now >= t + self.options.max_queue_delay);
                if full || waited || closing {
                    if !self.dispatch() {
                        break;
                    }
                    continue;
                }
            }
            self.publish_depth();
            if closing && self.queue.is_empty() {
                break;
            }
            let timeout = self.wake_at().map_or(Duration::from_secs(3600), |at| {
                at.saturating_duration_since(now)
            });
            let incoming = requests.as_ref().unwrap_or(&never);
            select! {
                recv(incoming) -> request => match request {
                    Ok(request) => {
                        self.queue.push(request);
                        // Whatever else has arrived joins the queue before the next decision.
                        while let Ok(request) = incoming.try_recv() {
                            self.queue.push(request);
                        }
                    }
                    Err(_) => requests = None,
                },
                recv(idle) -> token => match token {
                    Ok(()) => self.idle += 1,
                    Err(_) => break,
                },
                default(timeout) => {}
            }
        }
        for (request, reason) in self.queue.remove_unrunnable(Instant::now()) {
            self.drop_request(request, reason);
        }
        self.publish_depth();
    }

    /// When the loop must look again without an event: the oldest request's delay (only
    /// while an executor is free), the earliest deadline, and a periodic rescan.
    fn wake_at(&self) -> Option<Instant> {
        let oldest = self.queue.oldest()?;
        let mut at = Instant::now() + RESCAN;
        if self.idle > 0 {
            at = at.min(oldest + self.options.max_queue_delay);
        }
        if let Some(deadline) = self.queue.earliest_deadline() {
            at = at.min(deadline);
        }
        Some(at)
    }

    /// Sends the next batch to a free executor; false when the executors are gone.
    fn dispatch(&mut self) -> bool {
        let jobs: Vec<Job> = self
            .queue
            .take_batch(self.options.max_batch)
            .into_iter()
            // Leaving the queue frees the request's place in its bound.
            .map(|request| request.job)
            .collect();
        self.idle -= 1;
        self.work.send(jobs).is_ok()
    }

    fn drop_request(&self, request: InferRequest, reason: DropReason) {
        executor::drop_job(&self.model, request.job, reason);
    }

    fn publish_depth(&self) {
        for priority in Priority::ALL {
            metrics()
                .queue_depth
                .get_or_create(&QueueLabels {
                    model: self.model.clone(),
                    priority: priority.to_string(),
                })
                .set(self.queue.depth(priority) as i64);
        }
    }
}
