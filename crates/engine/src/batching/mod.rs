//! Dynamic batching with Triton's semantics in TEI's shape: per model, one queue owned by one
//! batching thread, and one or more executor threads that each own an ort session.
//!
//! A request is admitted against its priority's bound before it is decoded (a full bound
//! answers at once), waits in the queue, and leaves it in a batch that goes when it reaches
//! the model's max batch size or when its oldest request has waited `max_queue_delay`, and an
//! executor is free. Requests past their deadline or whose caller went away are dropped
//! before they are run.

mod batcher;
mod error;
mod executor;
mod queue;
mod request;

pub use batcher::{Batcher, BatchingOptions};
pub use error::BatchError;
pub use request::{Admission, ModelOutput};
