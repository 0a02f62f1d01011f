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
        ErrorKind::Unauthenticated => Status::unauthenticated(message),
        ErrorKind::PermissionDenied => Status::permission_denied(message),
        ErrorKind::Internal => {
            tracing::error!(error = %message, "request failed inside the server");
            Status::internal(message)
        }
    }
}

#[cfg(test)]
mod tests {
    use tonic::Code;

    use super::*;

    #[test]
    fn each_kind_has_its_code_and_keeps_its_sentence() {
        let cases = [
            (
                Error::Invalid("scan_id is empty".into()),
                Code::InvalidArgument,
            ),
            (Error::UnknownScan("s".into()), Code::NotFound),
            (Error::DeclarationConflict("d".into()), Code::AlreadyExists),
            (Error::NotReady, Code::Unavailable),
            (
                Error::Unauthenticated("no token".into()),
                Code::Unauthenticated,
            ),
            (
                Error::PermissionDenied("inspector".into()),
                Code::PermissionDenied,
            ),
            (
                Error::Scan(xray_engine::pipeline::PipelineError::DeadlineExceeded(
                    "now",
                )),
                Code::DeadlineExceeded,
            ),
            (Error::Internal("x".into()), Code::Internal),
        ];
        for (error, code) in cases {
            let sentence = error.to_string();
            let status = status(error);
            assert_eq!(status.code(), code, "{sentence}");
            assert_eq!(status.message(), sentence);
        }
    }
}
