//! The server: the gRPC door (Inspection, Declarations, Review, health, reflection) on one
//! port, the HTTP door (the review screen and `/metrics`) on another, both over TLS when it
//! is configured, every call authenticated. Both ports are bound before the models load;
//! health says NOT_SERVING until every model is loaded and warmed up. SIGHUP re-reads the
//! TLS certificate and key files.

use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};

use anyhow::Context;
use tokio::sync::watch;
use tokio_stream::{StreamExt, wrappers::ReceiverStream};
use tonic::transport::Server;
use tonic_health::ServingStatus;

use xray_engine::{imaging::ImageLimits, pipeline::Pipeline};
use xray_metrics::metrics;
use xray_proto::{
    FILE_DESCRIPTOR_SET, declarations_server::DeclarationsServer,
    inference::grpc_inference_service_server::GrpcInferenceServiceServer,
    inspection_server::InspectionServer, review_server::ReviewServer,
};
use xray_service::Service;
use xray_tls::{ReloadableTls, TlsFiles};

use crate::{
    connection,
    grpc::{
        AuthenticateLayer, DeclarationsService, InspectionService, OversizeLayer, ReviewService,
    },
    http::{HttpState, router, serve_http},
    kserve::InferenceService,
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
    /// The certificate, key and client CA both ports serve TLS with; None: plaintext.
    pub tls: Option<TlsFiles>,
    /// A review screen session ends after this long without a request.
    pub session_idle: Duration,
}

/// Loads the TLS files for both ports (gRPC speaks HTTP/2, the review screen HTTP/1.1).
fn load_tls(files: &TlsFiles) -> anyhow::Result<(Arc<ReloadableTls>, Arc<ReloadableTls>)> {
    let grpc = ReloadableTls::load(files.clone(), vec![b"h2".to_vec()])?;
    let http = ReloadableTls::load(files.clone(), vec![b"http/1.1".to_vec()])?;
    Ok((Arc::new(grpc), Arc::new(http)))
}

/// Re-reads the TLS files on every SIGHUP; a file that cannot be used keeps the old
/// certificate, and the log says why.
fn reload_on_hangup(ports: [Arc<ReloadableTls>; 2]) {
    tokio::spawn(async move {
        let Ok(mut hangups) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        else {
            tracing::warn!("cannot listen for SIGHUP: the TLS files are read only at start");
            return;
        };
        while hangups.recv().await.is_some() {
            let outcome: Result<(), xray_tls::TlsError> =
                ports.iter().try_for_each(|tls| tls.reload());
            match outcome {
                Ok(()) => tracing::info!("SIGHUP: TLS certificate and key read again"),
                Err(e) => {
                    tracing::error!(error = %e, "SIGHUP: the TLS files cannot be used; serving the old certificate")
                }
            }
        }
    });
}

/// The services health reports on (besides the server as a whole, "").
const SERVICES: [&str; 4] = [
    "xray.v1.Inspection",
    "xray.v1.Declarations",
    "xray.v1.Review",
    "inference.GRPCInferenceService",
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

    let tls = config.tls.as_ref().map(load_tls).transpose()?;
    if let Some((grpc_tls, http_tls)) = &tls {
        reload_on_hangup([Arc::clone(grpc_tls), Arc::clone(http_tls)]);
    }
    let (grpc_tls, http_tls) = tls.unzip();

    // A message may carry one image at the byte limit plus its metadata; a larger image is
    // refused by the pipeline with a clear INVALID_ARGUMENT, up to twice the limit. The
    // HTTP door's inference calls take bodies up to the same bound.
    let max_message = config.limits.max_bytes.saturating_mul(2) + (1 << 20);

    let http = match config.http_addr {
        Some(addr) => {
            let state = HttpState::new(service.clone(), config.session_idle, http_tls.is_some())
                .with_max_body(max_message);
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot serve HTTP on {addr} (--http-addr)"))?;
            let server = serve_http(listener, http_tls, router(state), stopped())?;
            Some(tokio::spawn(server))
        }
        None => None,
    };

    let inspection = InspectionServer::new(InspectionService::new(
        service.clone(),
        config.stream_in_flight,
    ))
    .max_decoding_message_size(max_message);
    // A stored scan comes back with its image: as large as the largest accepted one.
    let review = ReviewServer::new(ReviewService::new(service.clone()))
        .max_encoding_message_size(max_message);
    let declarations = DeclarationsServer::new(DeclarationsService::new(service.clone()));
    // The inference protocol carries scans and tensors both ways: the same bound.
    let inference = GrpcInferenceServiceServer::new(InferenceService::new(service.clone()))
        .max_decoding_message_size(max_message)
        .max_encoding_message_size(max_message);

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
    tracing::info!(addr = %bound, tls = grpc_tls.is_some(), "gRPC server bound; loading models");
    println!("bound grpc://{bound} (loading models)");
    let incoming =
        ReceiverStream::new(connection::accept(listener, grpc_tls)).map(Ok::<_, std::io::Error>);
    let grpc = tokio::spawn(
        Server::builder()
            .layer(OversizeLayer)
            .layer(AuthenticateLayer::new(service.clone()))
            .add_service(health_service)
            .add_service(reflection_v1)
            .add_service(reflection_v1alpha)
            .add_service(inspection)
            .add_service(declarations)
            .add_service(review)
            .add_service(inference)
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
