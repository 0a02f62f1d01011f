//! The one place where errors become gRPC status codes.

use tonic::Status;

use crate::{customs::CustomsError, model::ModelError, pipeline::InspectError};

impl From<InspectError> for Status {
    fn from(e: InspectError) -> Self {
        let message = e.to_string();
        match e {
            InspectError::Image(_) | InspectError::InvalidRequest(_) => {
                Status::invalid_argument(message)
            }
            InspectError::Model(ModelError::UnknownModel { .. }) => Status::not_found(message),
            InspectError::Model(ModelError::QueueFull { .. }) => {
                Status::resource_exhausted(message)
            }
            InspectError::Model(ModelError::Expired { .. }) | InspectError::DeadlineExceeded(_) => {
                Status::deadline_exceeded(message)
            }
            InspectError::Model(ModelError::Stopped(_)) | InspectError::NotReady => {
                Status::unavailable(message)
            }
            InspectError::Model(_) | InspectError::Output(_) | InspectError::Internal(_) => {
                tracing::error!(error = %message, "scan failed inside the server");
                Status::internal(message)
            }
        }
    }
}

impl From<CustomsError> for Status {
    fn from(e: CustomsError) -> Self {
        let message = e.to_string();
        match e {
            CustomsError::Invalid(_) => Status::invalid_argument(message),
            CustomsError::UnknownDeclaration(_) | CustomsError::UnknownScan(_) => {
                Status::not_found(message)
            }
            CustomsError::DeclarationConflict(_) | CustomsError::ScanConflict { .. } => {
                Status::already_exists(message)
            }
            CustomsError::NotReady => Status::unavailable(message),
            CustomsError::Store(_) => {
                tracing::error!(error = %message, "storage failed");
                Status::internal(message)
            }
        }
    }
}
