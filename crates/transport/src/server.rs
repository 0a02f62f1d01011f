//! The server: the gRPC door (Inspection, Declarations, Review, health, reflection) on one
//! port, the HTTP door (the review screen and `/metrics`) on another. Both ports are bound
//! before the models load; health says NOT_SERVING until every model is loaded and warmed
//! up.

use std::{future::Future, net::SocketAddr, time::Duration};

use anyhow::Context;
use tokio::sync::watch;
use tokio_stream::{StreamExt, wrappers::TcpListenerStream};
use tonic::transport::Server;
use tonic_health::ServingStatus;

use xray_engine::{imaging::ImageLimits, pipeline::Pipeline};
use xray_metrics::metrics;
use xray_proto::{
    FILE_DESCRIPTOR_SET, declarations_server::DeclarationsServer,
    inspection_server::InspectionServer, review_server::ReviewServer,
};
use xray_service::Service;

use crate::{
    grpc::{DeclarationsService, InspectionService, OversizeLayer, ReviewService},
    http::{review_router, serve_http},
};

/// Settings of the network edge.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub grpc_addr: SocketAddr,
    pub stream_in_flight: usize,
    /// Where `/metrics` is served; none: not served.
    pub http_addr: Option<SocketAddr>,
    /// The limits the pipeline will enforce (sizes the largest gRPC message).
    pub limits: ImageLimits,
    /// Longest wait, once shutdown begins, for calls in flight to finish and connections to
    /// close, before the server stops anyway (`--shutdown-grace`).
    pub shutdown_grace: Duration,
}

/// The services health reports on (besides the server as a whole, "").
const SERVICES: [&str; 3] = [
    "xray.v1.Inspection",
    "xray.v1.Declarations",
    "xray.v1.Review",
];

/// Binds the ports, loads the models with `load` (on a blocking thread) and hands them to
/// `service`, then serves until `shutdown` resolves. Then it stops accepting, health turns
/// NOT_SERVING, new scans are refused, the calls in flight finish and every long-lived
/// stream ends (WatchRisk and StreamScans with UNAVAILABLE and what to resume, the review
/// screen's events cleanly); after `config.shutdown_grace` it returns whatever is still
/// open. Prints on stdout `metrics on http://ADDR/metrics` when the HTTP port
/// is bound, `bound grpc://ADDR (loading models)` when the gRPC port is, and
/// `listening on grpc://ADDR` once every model is ready (with port 0, ADDR has the port the
/// system chose).
pub async fn serve(
    load: impl FnOnce() -> anyhow::Result<Pipeline> + Send + 'static,
    service: Service,
    config: ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let stopper = service.clone();
    tokio::spawn(async move {
        shutdown.await;
        stopper.shut_down();
        let _ = stop_tx.send(true);
    });
    let stopped = move || {
        let mut stop = stop_rx.clone();
        async move {
            let _ = stop.wait_for(|s| *s).await;
        }
    };

    let http = match config.http_addr {
        Some(addr) => {
            let routes = review_router(service.clone());
            let server = serve_http(addr, routes, stopped())
                .await
                .with_context(|| format!("cannot serve HTTP on {addr} (--http-addr)"))?;
            Some(tokio::spawn(server))
        }
        None => None,
    };

    // A message may carry one image at the byte limit plus its metadata; a larger image is
    // refused by the pipeline with a clear INVALID_ARGUMENT, up to twice the limit.
    let max_message = config.limits.max_bytes.saturating_mul(2) + (1 << 20);
    let inspection = InspectionServer::new(InspectionService::new(
        service.clone(),
        config.stream_in_flight,
    ))
    .max_decoding_message_size(max_message);
    // A stored scan comes back with its image: as large as the largest accepted one.
    let review = ReviewServer::new(ReviewService::new(service.clone()))
        .max_encoding_message_size(max_message);
    let declarations = DeclarationsServer::new(DeclarationsService::new(service.clone()));

    let (health, health_service) = tonic_health::server::health_reporter();
    for name in std::iter::once("").chain(SERVICES) {
        health
            .set_service_status(name, ServingStatus::NotServing)
            .await;
    }

    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;

    let listener = tokio::net::TcpListener::bind(config.grpc_addr)
        .await
        .with_context(|| format!("cannot listen on {} (--grpc-addr)", config.grpc_addr))?;
    let bound = listener.local_addr()?;
    tracing::info!(addr = %bound, "gRPC server bound; loading models");
    println!("bound grpc://{bound} (loading models)");
    // Answers go out in several small HTTP/2 frames (headers, data, trailers); without
    // TCP_NODELAY, Nagle's algorithm holds the later ones until the client's delayed ACK,
    // about 40 ms on Linux.
    let incoming = TcpListenerStream::new(listener).map(|conn| {
        if let Ok(conn) = &conn
            && let Err(e) = conn.set_nodelay(true)
        {
            tracing::warn!(error = %e, "cannot set TCP_NODELAY on a connection");
        }
        conn
    });
    let grpc = tokio::spawn(
        Server::builder()
            .layer(OversizeLayer)
            .add_service(health_service)
            .add_service(reflection_v1)
            .add_service(reflection_v1alpha)
            .add_service(inspection)
            .add_service(declarations)
            .add_service(review)
            .serve_with_incoming_shutdown(incoming, stopped()),
    );

    let draining = health.clone();
    let drained = stopped();
    tokio::spawn(async move {
        drained.await;
        for name in std::iter::once("").chain(SERVICES) {
            draining
                .set_service_status(name, ServingStatus::NotServing)
                .await;
        }
    });

    let pipeline = tokio::task::spawn_blocking(load)
        .await
        .context("model loading panicked")??;
    service.models_ready(pipeline)?;
    metrics().models_ready.set(1);
    for name in std::iter::once("").chain(SERVICES) {
        health
            .set_service_status(name, ServingStatus::Serving)
            .await;
    }
    tracing::info!(addr = %bound, "every model is warmed up: serving");
    println!("listening on grpc://{bound}");

    let finished = async {
        grpc.await.context("the gRPC server task failed")??;
        if let Some(http) = http {
            http.await.context("the HTTP server task failed")??;
        }
        anyhow::Ok(())
    };
    let grace = config.shutdown_grace;
    let out_of_grace = async {
        stopped().await;
        tokio::time::sleep(grace).await;
    };
    tokio::select! {
        result = finished => {
            result?;
            tracing::info!("server stopped");
        }
        _ = out_of_grace => tracing::warn!(
            grace_s = grace.as_secs_f64(),
            "the shutdown grace passed with calls or connections still open: stopping anyway"
        ),
    }
    Ok(())
}
