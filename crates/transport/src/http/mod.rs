//! The HTTP door: the inspectors' review screen (a login page and the screen itself, with
//! their script and style embedded in the binary, a small JSON API over the review use
//! cases, the same ones the gRPC Review service calls, and a server-sent event stream that
//! tells open screens about new flagged scans and verdicts), `/metrics` for Prometheus, and
//! the KServe v2 REST routes under `/v2` (`crate::kserve::http`). Every route but the login
//! page, its assets and the login itself needs a caller ([`guard`]).

mod api;
mod assets;
mod error;
mod guard;
mod metrics;
mod session;

use axum::{
    Router, middleware,
    routing::{get, post},
};

pub(crate) use error::WebError;
pub use guard::{CSRF_HEADER, HttpState};
pub use metrics::serve_http;
pub use session::{COOKIE as SESSION_COOKIE, MAX_SESSION_AGE};

/// Every HTTP route: `/login`, `/` (the page), `/assets/*`, `/api/*`, `/metrics` and `/v2/*`.
pub fn router(state: HttpState) -> Router {
    let open = Router::new()
        .route("/login", get(assets::login))
        .route("/assets/{file}", get(assets::asset))
        .route("/api/login", post(guard::login));
    let page =
        Router::new()
            .route("/", get(assets::index))
            .route_layer(middleware::from_fn_with_state(
                state.clone(),
                guard::page_needs_session,
            ));
    let authenticated = Router::new()
        .route("/api/session", get(guard::current))
        .route("/api/logout", post(guard::logout))
        .route("/api/flagged", get(api::flagged))
        .route("/api/scans/{scan_id}", get(api::scan))
        .route("/api/scans/{scan_id}/image", get(api::image))
        .route("/api/scans/{scan_id}/verdict", post(api::verdict))
        .route("/api/events", get(api::events))
        .route("/metrics", get(metrics::metrics_text))
        .merge(crate::kserve::http::routes())
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            guard::authenticate,
        ));
    Router::new()
        .merge(open)
        .merge(page)
        .merge(authenticated)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            guard::security_headers,
        ))
        .with_state(state)
}
