//! Why a scan could not be screened, and how each failure is counted.

use xray_metrics::{Outcome, Protocol, metrics};

use crate::{batching::BatchError, detect::OutputShapeError, imaging::ImagingError};

/// Why a scan could not be screened.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Image(#[from] ImagingError),
    #[error("{0}")]
    InvalidRequest(String),
    #[error("unknown model {name:?}; this server has: {available}")]
    UnknownModel { name: String, available: String },
    #[error(transparent)]
    Batch(#[from] BatchError),
    #[error(transparent)]
    Output(#[from] OutputShapeError),
    #[error("the scan's deadline passed {0}")]
    DeadlineExceeded(&'static str),
    #[error("the server is still loading and warming up its models; retry shortly")]
    NotReady,
    #[error("internal error: {0}")]
    Internal(String),
}

impl PipelineError {
    /// How a request that failed this way is counted.
    pub fn outcome(&self) -> Outcome {
        match self {
            PipelineError::Image(_)
            | PipelineError::InvalidRequest(_)
            | PipelineError::UnknownModel { .. } => Outcome::Invalid,
            PipelineError::Batch(
                BatchError::QueueFull { .. } | BatchError::ClientShareFull { .. },
            ) => Outcome::Rejected,
            PipelineError::Batch(BatchError::Expired { .. })
            | PipelineError::DeadlineExceeded(_) => Outcome::Deadline,
            _ => Outcome::Failed,
        }
    }
}

/// Counts a request once: with the outcome it reached, or as cancelled when its future is
/// dropped before that (the client went away).
pub(super) struct OutcomeRecorder {
    pub model: String,
    pub protocol: Protocol,
    pub recorded: bool,
    /// When the request was received: a failure's time goes into the model's statistics.
    pub received: std::time::Instant,
}

impl OutcomeRecorder {
    pub fn new(model: String, protocol: Protocol) -> Self {
        Self {
            model,
            protocol,
            recorded: false,
            received: std::time::Instant::now(),
        }
    }

    pub fn finish<T>(mut self, result: &Result<T, PipelineError>) {
        let outcome = match result {
            Ok(_) => Outcome::Success,
            Err(e) => e.outcome(),
        };
        let m = metrics();
        m.request(&self.model, outcome, self.protocol);
        // Unknown models have no statistics: clients control their names.
        if result.is_err() && self.model != UNKNOWN_MODEL {
            m.model_stats
                .of(&self.model)
                .fail
                .add(self.received.elapsed());
        }
        self.recorded = true;
    }
}

/// The label of requests that name a model the server does not have.
pub(super) const UNKNOWN_MODEL: &str = "unknown";

impl Drop for OutcomeRecorder {
    fn drop(&mut self) {
        if !self.recorded {
            metrics().request(&self.model, Outcome::Cancelled, self.protocol);
        }
    }
}
