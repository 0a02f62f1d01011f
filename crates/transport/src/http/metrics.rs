//! The HTTP port: `/metrics` in the OpenMetrics text format that Prometheus scrapes, beside
//! whatever other routes the caller serves there (the review screen).

use std::{future::Future, net::SocketAddr};

use axum::{Router, http::header, response::IntoResponse, routing::get};

const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

async fn metrics_text() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, OPENMETRICS)],
        xray_metrics::metrics().encode(),
    )
}

/// Binds `addr`, prints `metrics on http://ADDR/metrics` and `review screen on http://ADDR/`
/// on stdout (with port 0, ADDR has the chosen port), and serves `/metrics` and `routes` until `shutdown` resolves.
pub async fn serve_http(
    addr: SocketAddr,
    routes: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<impl Future<Output = std::io::Result<()>>> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    tracing::info!(addr = %bound, "metrics served over HTTP");
    println!("metrics on http://{bound}/metrics");
    println!("review screen on http://{bound}/");
    let app = Router::new()
        .route("/metrics", get(metrics_text))
        .merge(routes);
    Ok(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
    })
}
