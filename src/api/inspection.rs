//! The `xray.v1.Inspection` service.

use std::{
    pin::Pin,
    sync::{Arc, OnceLock},
    time::Instant,
};

use tokio::sync::{Semaphore, mpsc};
use tokio_stream::{Stream, wrappers::ReceiverStream};
use tonic::{Request, Response, Status, Streaming};

use super::{
    convert::{failed_result, scan_request},
    deadline::deadline,
    proto::{self, inspection_server::Inspection},
};
use crate::pipeline::{InspectError, Inspector};

/// Where the service finds its `Inspector` once the models are loaded and warmed up.
pub type ReadyInspector = Arc<OnceLock<Inspector>>;

/// Serves Inspect and StreamScans over one shared `Inspector`; UNAVAILABLE until it is set.
pub struct InspectionService {
    inspector: ReadyInspector,
    /// Scans one stream may have in flight at once (`--stream-max-in-flight`).
    stream_in_flight: usize,
}

impl InspectionService {
    pub fn new(inspector: ReadyInspector, stream_in_flight: usize) -> Self {
        Self {
            inspector,
            stream_in_flight: stream_in_flight.max(1),
        }
    }

    fn inspector(&self) -> Result<&Inspector, Status> {
        self.inspector
            .get()
            .ok_or_else(|| InspectError::NotReady.into())
    }
}

type ResultStream = Pin<Box<dyn Stream<Item = Result<proto::InspectionResult, Status>> + Send>>;

#[tonic::async_trait]
impl Inspection for InspectionService {
    async fn inspect(
        &self,
        request: Request<proto::Scan>,
    ) -> Result<Response<proto::InspectionResult>, Status> {
        let deadline = deadline(request.metadata(), Instant::now());
        let inspector = self.inspector()?;
        let scan = scan_request(request.into_inner(), deadline)?;
        let inspection = inspector.inspect(scan).await?;
        Ok(Response::new(inspection.into()))
    }

    type StreamScansStream = ResultStream;

    async fn stream_scans(
        &self,
        request: Request<Streaming<proto::Scan>>,
    ) -> Result<Response<Self::StreamScansStream>, Status> {
        // A stream's deadline bounds each of its scans.
        let deadline = deadline(request.metadata(), Instant::now());
        let inspector = self.inspector()?.clone();
        let mut inbound = request.into_inner();
        let (results, outbound) = mpsc::channel(self.stream_in_flight);
        let in_flight = Arc::new(Semaphore::new(self.stream_in_flight));
        tokio::spawn(async move {
            loop {
                // Read no further than the in-flight bound: back-pressure onto the client.
                let permit = tokio::select! {
                    permit = Arc::clone(&in_flight).acquire_owned() => match permit {
                        Ok(p) => p,
                        Err(_) => break,
                    },
                    _ = results.closed() => break,
                };
                let scan = match inbound.message().await {
                    Ok(Some(scan)) => scan,
                    Ok(None) => break,
                    Err(status) => {
                        tracing::debug!(%status, "scan stream ended with an error");
                        break;
                    }
                };
                let results = results.clone();
                let inspector = inspector.clone();
                tokio::spawn(async move {
                    let scan_id = scan.scan_id.clone();
                    let outcome = async {
                        let request = scan_request(scan, deadline)?;
                        Ok::<_, Status>(inspector.inspect(request).await?.into())
                    };
                    // A client that went away cancels its scans (dropping them skips the model run).
                    let result = tokio::select! {
                        outcome = outcome => outcome,
                        _ = results.closed() => return,
                    };
                    let message = result.unwrap_or_else(|status| failed_result(scan_id, &status));
                    let _ = results.send(Ok(message)).await;
                    drop(permit);
                });
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(outbound))))
    }
}
