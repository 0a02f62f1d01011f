//! Customs X-ray screening: scanner images in over gRPC, detections of weapons, drugs and
//! undeclared goods out, from batched ONNX object-detection models.
//!
//! The path of a scan: [`api`] (gRPC) -> [`pipeline`] -> [`imaging`] (decode, letterbox) ->
//! [`model`] (executor thread with the ort session) -> [`detect`] (decode outputs, NMS).

pub mod api;
pub mod cli;
pub mod detect;
pub mod draw;
pub mod eval;
pub mod imaging;
pub mod model;
pub mod pipeline;
pub mod synth;
pub mod telemetry;
