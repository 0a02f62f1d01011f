//! The engine: scan bytes in, detections out, fast. It knows nothing of customs, transports
//! or storage.
//!
//! The path of a scan: [`pipeline`] validates it, takes a place in its model's queue bound,
//! decodes and letterboxes it on the CPU pool ([`imaging`]), queues it for a batch
//! ([`batching`]: one queue and batching thread per model, one executor thread per model
//! instance, each owning its ONNX Runtime session from [`model`]), and decodes the model's
//! output into detections in the scan's pixels ([`detect`]). [`draw`] draws detections for a
//! person to look at.

pub mod batching;
pub mod detect;
pub mod draw;
pub mod imaging;
pub mod model;
pub mod pipeline;
