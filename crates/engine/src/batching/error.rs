/// How a request fared in a model's queue when it did not come back with an output.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    #[error("model {model}: the {priority} queue is full ({capacity} scans admitted); retry later")]
    QueueFull {
        model: String,
        priority: String,
        capacity: usize,
    },
    #[error(
        "model {model}: this client already has {share} {priority} scans admitted, its share of the queue (--client-queue-share); retry when some are answered"
    )]
    ClientShareFull {
        model: String,
        priority: String,
        share: usize,
    },
    #[error("model {model}: the scan's deadline passed after {waited_ms} ms in the queue")]
    Expired { model: String, waited_ms: u64 },
    #[error("model {0} is shutting down")]
    Stopped(String),
    #[error("model {model}: inference failed: {reason}")]
    Inference { model: String, reason: String },
}
