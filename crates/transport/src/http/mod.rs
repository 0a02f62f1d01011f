//! The HTTP door: the inspectors' review screen (a page with its script and style embedded
//! in the binary, a small JSON API over the review use cases, the same ones the gRPC Review
//! service calls, and a server-sent event stream that tells open screens about new flagged
//! scans and verdicts), and `/metrics` for Prometheus.

mod api;
mod assets;
mod error;
mod metrics;

use axum::{
    Router,
    routing::{get, post},
};
use xray_service::Service;

pub use metrics::serve_http;

/// The review screen's routes: `/` (the page), `/assets/*`, `/api/*`.
pub fn review_router(service: Service) -> Router {
    Router::new()
        .route("/", get(assets::index))
        .route("/assets/{file}", get(assets::asset))
        .route("/api/flagged", get(api::flagged))
        .route("/api/scans/{scan_id}", get(api::scan))
        .route("/api/scans/{scan_id}/image", get(api::image))
        .route("/api/scans/{scan_id}/verdict", post(api::verdict))
        .route("/api/events", get(api::events))
        .with_state(service)
}
