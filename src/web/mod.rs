//! The inspectors' review screen on the HTTP port: a page (HTML, script and style embedded in
//! the binary), a small JSON API over [`Customs`] (the same code paths as the gRPC Review
//! service) and a server-sent event stream that tells open screens about new flagged scans
//! and verdicts.

mod api;
mod assets;
mod error;

use axum::{
    Router,
    routing::{get, post},
};

use crate::{customs::Customs, imaging::ImageLimits};

/// What the handlers share.
#[derive(Clone)]
struct WebState {
    customs: Customs,
    limits: ImageLimits,
}

/// The review screen's routes: `/` (the page), `/assets/*`, `/api/*`.
pub fn review_router(customs: Customs, limits: ImageLimits) -> Router {
    Router::new()
        .route("/", get(assets::index))
        .route("/assets/{file}", get(assets::asset))
        .route("/api/flagged", get(api::flagged))
        .route("/api/scans/{scan_id}", get(api::scan))
        .route("/api/scans/{scan_id}/image", get(api::image))
        .route("/api/scans/{scan_id}/verdict", post(api::verdict))
        .route("/api/events", get(api::events))
        .with_state(WebState { customs, limits })
}
