//! The one place where use-case errors become gRPC status codes.

use tonic::Status;
use xray_service::{Error, ErrorKind};

/// The status a failed use case answers: the code from its kind, its sentence as the message.
pub fn status(e: Error) -> Status {
    let message = e.to_string();
    match e.kind() {
        ErrorKind::Invalid => Status::invalid_argument(message),
        ErrorKind::NotFound => Status::not_found(message),
        ErrorKind::Conflict => Status::already_exists(message),
        ErrorKind::Exhausted => Status::resource_exhausted(message),
        ErrorKind::DeadlineExceeded => Status::deadline_exceeded(message),
        ErrorKind::Unavailable => Status::unavailable(message),
        ErrorKind::Internal => {
            tracing::error!(error = %message, "request failed inside the server");
            Status::internal(message)
        }
    }
}
