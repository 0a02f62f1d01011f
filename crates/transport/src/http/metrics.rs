//! The HTTP port: `/metrics` in the OpenMetrics text format that Prometheus scrapes (with a
//! bearer token of an observer, supervisor or admin), beside the review screen.

use std::{future::Future, sync::Arc};

use axum::{Extension, Router, http::header, response::IntoResponse};
use tokio::net::TcpListener;
use xray_service::{Call, Caller, access::authorize};
use xray_tls::ReloadableTls;

use super::error::WebError;
use crate::connection::{self, Connections, Peer};

const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

pub async fn metrics_text(
    Extension(caller): Extension<Caller>,
) -> Result<impl IntoResponse, WebError> {
    authorize(&caller, Call::Metrics)?;
    Ok((
        [(header::CONTENT_TYPE, OPENMETRICS)],
        xray_metrics::metrics().encode(),
    ))
}

/// Serves `app` on `listener` (over TLS when `tls` is given) until `shutdown` resolves;
/// prints `metrics on SCHEME://ADDR/metrics` and `review screen on SCHEME://ADDR/` on
/// stdout (with port 0, ADDR has the chosen port).
pub fn serve_http(
    listener: TcpListener,
    tls: Option<Arc<ReloadableTls>>,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<impl Future<Output = std::io::Result<()>>> {
    let local = listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(addr = %local, scheme, "review screen and metrics served");
    println!("metrics on {scheme}://{local}/metrics");
    println!("review screen on {scheme}://{local}/");
    let connections = Connections {
        accepted: connection::accept(listener, tls),
        local,
    };
    Ok(async move {
        axum::serve(
            connections,
            app.into_make_service_with_connect_info::<Peer>(),
        )
        .with_graceful_shutdown(shutdown)
        .await
    })
}
