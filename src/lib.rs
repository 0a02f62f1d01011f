//! Customs X-ray screening: scanner images in over gRPC, detections of weapons, drugs and
//! undeclared goods out, from batched ONNX object-detection models.
//!
//! The path of a scan: [`api`] (gRPC) -> [`pipeline`] -> [`imaging`] (decode, letterbox) ->
//! [`batching`] (queue, batches, executor threads) -> [`model`] (ort sessions) -> [`detect`]
//! (decode outputs, NMS) -> [`customs`] (a scan of a [`declaration`] is stored in the
//! [`store`] with the [`risk`] it leads to). [`metrics`] are served over HTTP; [`load`] is
//! the benchmark harness.

pub mod api;
pub mod batching;
pub mod cli;
pub mod customs;
pub mod declaration;
pub mod detect;
pub mod draw;
pub mod eval;
pub mod imaging;
pub mod load;
pub mod metrics;
pub mod model;
pub mod pipeline;
pub mod risk;
pub mod store;
pub mod synth;
pub mod telemetry;
pub mod web;
