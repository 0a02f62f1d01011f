//! The one error of the use cases, and its classification: each front door maps an
//! [`ErrorKind`] to its own codes in one place (gRPC status, HTTP status).

use xray_customs::store::StoreError;
use xray_engine::{batching::BatchError, pipeline::PipelineError};

/// Why a use case failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The engine could not screen the scan.
    #[error(transparent)]
    Scan(#[from] PipelineError),
    /// The request is wrong; the sentence says how.
    #[error("{0}")]
    Invalid(String),
    #[error(
        "declaration {0} is not registered; register it with Declarations.RegisterDeclaration first"
    )]
    UnknownDeclaration(String),
    #[error("scan {0} is not stored")]
    UnknownScan(String),
    #[error("the image of scan {0} was not kept (--keep-images) or is past its retention")]
    ImageNotKept(String),
    #[error("declaration {0} is already registered with other content")]
    DeclarationConflict(String),
    #[error(
        "scan_id {scan_id} is already stored for declaration {declaration_id}; scan ids must be unique"
    )]
    ScanConflict {
        scan_id: String,
        declaration_id: String,
    },
    #[error(
        "scan_id {scan_id} is already stored for declaration {declaration_id} with another image or other metadata; a retry must send the same scan, a new scan needs a new scan_id"
    )]
    ScanReused {
        scan_id: String,
        declaration_id: String,
    },
    #[error("a principal named {0} exists already")]
    PrincipalConflict(String),
    #[error("there is no active principal named {0}")]
    UnknownPrincipal(String),
    /// The caller did not prove who it is (no token, or an unknown, expired or revoked one).
    #[error("{0}")]
    Unauthenticated(String),
    /// The caller is known but its roles do not allow the call; the sentence names the roles
    /// that would.
    #[error("{0}")]
    PermissionDenied(String),
    #[error("the server is still loading its models; retry shortly")]
    NotReady,
    /// The server is shutting down; the sentence says how to resume.
    #[error("the server is shutting down; {0}")]
    ShuttingDown(String),
    #[error(transparent)]
    Store(StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

/// What kind of failure an [`Error`] is, whatever the front door.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The request is wrong (bad image, bad field, limit broken).
    Invalid,
    /// What the request names does not exist (model, declaration, scan, kept image).
    NotFound,
    /// It exists already with other content.
    Conflict,
    /// The queue is full: retry later.
    Exhausted,
    /// The request's deadline passed.
    DeadlineExceeded,
    /// The server is starting or stopping: retry shortly.
    Unavailable,
    /// The caller did not prove who it is.
    Unauthenticated,
    /// The caller's roles do not allow the call.
    PermissionDenied,
    /// The server failed.
    Internal,
}

impl Error {
    /// The kind of this failure.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Scan(e) => match e {
                PipelineError::Image(_) | PipelineError::InvalidRequest(_) => ErrorKind::Invalid,
                PipelineError::UnknownModel { .. } => ErrorKind::NotFound,
                PipelineError::Batch(
                    BatchError::QueueFull { .. } | BatchError::ClientShareFull { .. },
                ) => ErrorKind::Exhausted,
                PipelineError::Batch(BatchError::Expired { .. })
                | PipelineError::DeadlineExceeded(_) => ErrorKind::DeadlineExceeded,
                PipelineError::Batch(BatchError::Stopped(_)) | PipelineError::NotReady => {
                    ErrorKind::Unavailable
                }
                PipelineError::Batch(BatchError::Inference { .. })
                | PipelineError::Output(_)
                | PipelineError::Internal(_) => ErrorKind::Internal,
            },
            Error::Invalid(_) => ErrorKind::Invalid,
            Error::UnknownDeclaration(_)
            | Error::UnknownScan(_)
            | Error::ImageNotKept(_)
            | Error::UnknownPrincipal(_) => ErrorKind::NotFound,
            Error::DeclarationConflict(_)
            | Error::ScanConflict { .. }
            | Error::ScanReused { .. }
            | Error::PrincipalConflict(_) => ErrorKind::Conflict,
            Error::NotReady | Error::ShuttingDown(_) | Error::Store(StoreError::Unavailable(_)) => {
                ErrorKind::Unavailable
            }
            Error::Unauthenticated(_) => ErrorKind::Unauthenticated,
            Error::PermissionDenied(_) => ErrorKind::PermissionDenied,
            Error::Store(_) | Error::Internal(_) => ErrorKind::Internal,
        }
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::UnknownDeclaration(id) => Error::UnknownDeclaration(id),
            StoreError::UnknownScan(id) => Error::UnknownScan(id),
            StoreError::DuplicateScan {
                scan_id,
                declaration_id,
            } => Error::ScanConflict {
                scan_id,
                declaration_id,
            },
            StoreError::DuplicatePrincipal(name) => Error::PrincipalConflict(name),
            e => Error::Store(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use xray_engine::imaging::ImagingError;

    use super::*;

    #[test]
    fn every_error_has_the_kind_a_client_can_act_on() {
        let batch = |e| Error::Scan(PipelineError::Batch(e));
        let cases = [
            (Error::Invalid("x".into()), ErrorKind::Invalid),
            (
                Error::Scan(PipelineError::InvalidRequest("x".into())),
                ErrorKind::Invalid,
            ),
            (
                Error::Scan(PipelineError::Image(ImagingError::Empty)),
                ErrorKind::Invalid,
            ),
            (
                Error::Scan(PipelineError::UnknownModel {
                    name: "m".into(),
                    available: String::new(),
                }),
                ErrorKind::NotFound,
            ),
            (Error::UnknownDeclaration("d".into()), ErrorKind::NotFound),
            (Error::UnknownScan("s".into()), ErrorKind::NotFound),
            (Error::ImageNotKept("s".into()), ErrorKind::NotFound),
            (Error::DeclarationConflict("d".into()), ErrorKind::Conflict),
            (
                Error::from(StoreError::DuplicateScan {
                    scan_id: "s".into(),
                    declaration_id: "d".into(),
                }),
                ErrorKind::Conflict,
            ),
            (
                batch(BatchError::QueueFull {
                    model: "m".into(),
                    priority: "live".into(),
                    capacity: 1,
                }),
                ErrorKind::Exhausted,
            ),
            (
                batch(BatchError::Expired {
                    model: "m".into(),
                    waited_ms: 1,
                }),
                ErrorKind::DeadlineExceeded,
            ),
            (
                Error::Scan(PipelineError::DeadlineExceeded("now")),
                ErrorKind::DeadlineExceeded,
            ),
            (
                batch(BatchError::Stopped("m".into())),
                ErrorKind::Unavailable,
            ),
            (Error::Scan(PipelineError::NotReady), ErrorKind::Unavailable),
            (Error::NotReady, ErrorKind::Unavailable),
            (
                Error::Unauthenticated("x".into()),
                ErrorKind::Unauthenticated,
            ),
            (
                Error::PermissionDenied("x".into()),
                ErrorKind::PermissionDenied,
            ),
            (Error::ShuttingDown("x".into()), ErrorKind::Unavailable),
            (
                batch(BatchError::Inference {
                    model: "m".into(),
                    reason: "r".into(),
                }),
                ErrorKind::Internal,
            ),
            (
                Error::from(StoreError::Database("d".into())),
                ErrorKind::Internal,
            ),
            (
                Error::from(StoreError::Unavailable(
                    "the database at 127.0.0.1:5432 cannot be reached: refused".into(),
                )),
                ErrorKind::Unavailable,
            ),
        ];
        for (error, kind) in cases {
            assert_eq!(error.kind(), kind, "{error}");
        }
        assert!(matches!(
            Error::from(StoreError::UnknownScan("s".into())),
            Error::UnknownScan(s) if s == "s"
        ));
    }
}
