//! Cumulative statistics per model in the shape the KServe v2 statistics extension reports
//! them (counts and nanoseconds of successes, failures, queueing, input preparation,
//! inference and output processing; images and batches run). They are fed from the same
//! measurements, at the same places, as the Prometheus series.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

/// A count of events and the time they took together.
#[derive(Debug, Default)]
pub struct StatDuration {
    count: AtomicU64,
    ns: AtomicU64,
}

impl StatDuration {
    /// Adds one event that took `d`.
    pub fn add(&self, d: Duration) {
        self.count.fetch_add(1, Ordering::Relaxed);
        self.ns.fetch_add(
            u64::try_from(d.as_nanos()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    /// (events, nanoseconds) so far.
    pub fn get(&self) -> (u64, u64) {
        (
            self.count.load(Ordering::Relaxed),
            self.ns.load(Ordering::Relaxed),
        )
    }
}

/// One model's statistics since the server started.
#[derive(Debug, Default)]
pub struct ModelStats {
    /// Requests answered with a result, from receipt to answer.
    pub success: StatDuration,
    /// Requests that failed, from receipt to failure.
    pub fail: StatDuration,
    /// Time each request waited in the batching queue.
    pub queue: StatDuration,
    /// Decoding and letterboxing each request's input.
    pub compute_input: StatDuration,
    /// The model run of each request's batch (a batch's time counts once per request in it).
    pub compute_infer: StatDuration,
    /// Output decoding, thresholds and NMS of each request.
    pub compute_output: StatDuration,
    /// Images the model ran.
    pub inference_count: AtomicU64,
    /// Batches the model ran.
    pub execution_count: AtomicU64,
    /// When the model last ran a batch, in milliseconds since the Unix epoch (0: never).
    pub last_inference_ms: AtomicU64,
}

impl ModelStats {
    /// Counts one batch of `images` run now.
    pub fn batch(&self, images: usize) {
        self.execution_count.fetch_add(1, Ordering::Relaxed);
        self.inference_count
            .fetch_add(images as u64, Ordering::Relaxed);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        self.last_inference_ms.store(now, Ordering::Relaxed);
    }
}

/// Every model's statistics, by model name.
#[derive(Debug, Default)]
pub struct ModelStatsTable(Mutex<HashMap<String, Arc<ModelStats>>>);

impl ModelStatsTable {
    /// The statistics of `model` (made empty on first use).
    pub fn of(&self, model: &str) -> Arc<ModelStats> {
        let mut table = self.0.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(table.entry(model.to_string()).or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_batches_add_up() {
        let table = ModelStatsTable::default();
        let stats = table.of("m");
        stats.queue.add(Duration::from_micros(3));
        stats.queue.add(Duration::from_micros(4));
        stats.batch(8);
        assert_eq!(table.of("m").queue.get(), (2, 7_000));
        assert_eq!(stats.inference_count.load(Ordering::Relaxed), 8);
        assert_eq!(stats.execution_count.load(Ordering::Relaxed), 1);
        assert!(stats.last_inference_ms.load(Ordering::Relaxed) > 0);
        assert_eq!(table.of("other").success.get(), (0, 0));
    }
}
