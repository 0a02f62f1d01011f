//! Customs errors as HTTP answers: a status code and `{"error": "..."}`.

use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};

use crate::customs::CustomsError;

/// An error answer of the review screen's API.
pub struct WebError(pub StatusCode, pub String);

impl From<CustomsError> for WebError {
    fn from(e: CustomsError) -> Self {
        let status = match &e {
            CustomsError::Invalid(_) => StatusCode::BAD_REQUEST,
            CustomsError::UnknownDeclaration(_) | CustomsError::UnknownScan(_) => {
                StatusCode::NOT_FOUND
            }
            CustomsError::DeclarationConflict(_) | CustomsError::ScanConflict { .. } => {
                StatusCode::CONFLICT
            }
            CustomsError::NotReady => StatusCode::SERVICE_UNAVAILABLE,
            CustomsError::Store(_) => {
                tracing::error!(error = %e, "storage failed");
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
