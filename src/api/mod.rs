//! The gRPC edge: generated types, conversions, the one mapping of errors to status codes,
//! the Inspection service, and the server with health and reflection.

mod convert;
mod inspection;
pub mod proto;
mod server;
mod status;

pub use inspection::InspectionService;
pub use server::{ServerConfig, serve};
