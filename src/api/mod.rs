//! The gRPC edge: generated types, conversions, the one mapping of errors to status codes,
//! the Inspection service, and the server with health and reflection.

mod convert;
mod deadline;
mod inspection;
pub mod proto;
mod server;
mod status;

pub use deadline::DEADLINE_MARGIN;
pub use inspection::{InspectionService, ReadyInspector};
pub use server::{ServerConfig, serve};
