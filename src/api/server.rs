//! The gRPC server: Inspection, health and reflection on one port.

use std::{future::Future, net::SocketAddr};

use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::Server;

use super::{
    InspectionService,
    proto::{FILE_DESCRIPTOR_SET, inspection_server::InspectionServer},
};
use crate::pipeline::Inspector;

/// Settings of the gRPC edge.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub grpc_addr: SocketAddr,
    pub stream_in_flight: usize,
}

/// Serves until `shutdown` resolves. Prints `listening on grpc://ADDR` on stdout once the
/// port is bound (with port 0, ADDR has the port the system chose).
pub async fn serve(
    inspector: Inspector,
    config: ServerConfig,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    // A message may carry one image at the byte limit plus its metadata; a larger image is
    // refused by the pipeline with a clear INVALID_ARGUMENT, up to twice the limit.
    let max_message = inspector.limits().max_bytes.saturating_mul(2) + (1 << 20);
    let service = InspectionServer::new(InspectionService::new(inspector, config.stream_in_flight))
        .max_decoding_message_size(max_message);

    let (health, health_service) = tonic_health::server::health_reporter();
    health
        .set_serving::<InspectionServer<InspectionService>>()
        .await;

    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;

    let listener = tokio::net::TcpListener::bind(config.grpc_addr).await?;
    let bound = listener.local_addr()?;
    tracing::info!(addr = %bound, "gRPC server listening");
    println!("listening on grpc://{bound}");

    Server::builder()
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(service)
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), shutdown)
        .await?;
    tracing::info!("gRPC server stopped");
    Ok(())
}
