//! The `xray.v1` gRPC door: the Inspection, Declarations and Review services, each call a
//! translation from the wire to a use case of [`xray_service::Service`] and back; the
//! conversions between wire and domain types; the one mapping of use-case errors to status
//! codes; the call's deadline from `grpc-timeout`.

pub(crate) mod authenticate;
pub mod convert;
pub mod convert_customs;
pub(crate) mod deadline;
mod declarations;
pub(crate) mod inspection;
mod oversize;
mod review;
pub(crate) mod status;

pub use authenticate::AuthenticateLayer;
pub use deadline::DEADLINE_MARGIN;
pub use declarations::DeclarationsService;
pub use inspection::InspectionService;
pub use oversize::OversizeLayer;
pub use review::ReviewService;
