//! The one place where use-case errors become HTTP answers: a status code and
//! `{"error": "..."}`.

use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use xray_service::{Error, ErrorKind};

/// An error answer of the review screen's API.
pub struct WebError(pub StatusCode, pub String);

impl From<Error> for WebError {
    fn from(e: Error) -> Self {
        let status = match e.kind() {
            ErrorKind::Invalid => StatusCode::BAD_REQUEST,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::Conflict => StatusCode::CONFLICT,
            ErrorKind::Exhausted => StatusCode::TOO_MANY_REQUESTS,
            ErrorKind::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
            ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::Unauthenticated => StatusCode::UNAUTHORIZED,
            ErrorKind::PermissionDenied => StatusCode::FORBIDDEN,
            ErrorKind::Internal => {
                tracing::error!(error = %e, "request failed inside the server");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        WebError(status, e.to_string())
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        (self.0, Json(serde_json::json!({ "error": self.1 }))).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_has_its_status_and_keeps_its_sentence() {
        let cases = [
            (Error::Invalid("bad".into()), StatusCode::BAD_REQUEST),
            (Error::ImageNotKept("s".into()), StatusCode::NOT_FOUND),
            (Error::DeclarationConflict("d".into()), StatusCode::CONFLICT),
            (Error::NotReady, StatusCode::SERVICE_UNAVAILABLE),
            (
                Error::Unauthenticated("no session".into()),
                StatusCode::UNAUTHORIZED,
            ),
            (
                Error::PermissionDenied("inspector".into()),
                StatusCode::FORBIDDEN,
            ),
            (
                Error::Internal("x".into()),
                StatusCode::INTERNAL_SERVER_ERROR,
            ),
        ];
        for (error, code) in cases {
            let sentence = error.to_string();
            let WebError(status, message) = WebError::from(error);
            assert_eq!(status, code, "{sentence}");
            assert_eq!(message, sentence);
        }
    }
}
