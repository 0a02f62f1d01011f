//! The benchmark harness: a load generator that drives a running server over gRPC and
//! reports what it achieved (throughput, latency percentiles, errors by code, the batch size
//! the server formed), and the ceiling: the model's own throughput on ready tensors
//! in-process, against which the server's throughput is judged.

mod args;
mod ceiling;
mod connect;
mod driver;
mod images;
mod report;
mod scrape;

pub use args::{CeilingArgs, LoadArgs, LoadMode, LoadPriority};
pub use ceiling::{Ceiling, CeilingPoint, measure_ceiling};
pub use connect::{Bearer, Target};
pub use driver::run_load;
pub use report::LoadReport;
pub use scrape::{FetchAuth, Samples, fetch};
