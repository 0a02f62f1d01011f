//! The gRPC edge: generated types, conversions, the one mapping of errors to status codes,
//! the Inspection, Declarations and Review services, and the server with health and
//! reflection.

mod convert;
mod convert_customs;
mod deadline;
mod declarations;
mod inspection;
pub mod proto;
mod review;
mod server;
mod status;

pub use convert::image_encoding;
pub use deadline::DEADLINE_MARGIN;
pub use declarations::DeclarationsService;
pub use inspection::{InspectionService, ReadyInspector};
pub use review::ReviewService;
pub use server::{ServerConfig, serve};
