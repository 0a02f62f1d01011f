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
    convert_customs::{risk, stored_detection},
    deadline::deadline,
    proto::{self, inspection_server::Inspection},
};
use crate::{
    customs::{Customs, ScanArrival},
    declaration::now_ms,
    pipeline::{InspectError, Inspector, validate},
};

/// Where the service finds its `Inspector` once the models are loaded and warmed up.
pub type ReadyInspector = Arc<OnceLock<Inspector>>;

/// Serves Inspect and StreamScans over one shared `Inspector`; UNAVAILABLE until it is set.
/// Scans with a declaration are stored, with their declaration's new risk, through `customs`.
pub struct InspectionService {
    inspector: ReadyInspector,
    customs: Customs,
    /// Scans one stream may have in flight at once (`--stream-max-in-flight`).
    stream_in_flight: usize,
}

/// Screens one scan; one of a declaration is stored (or, already stored, answered from the
/// store) and its result carries the declaration's risk.
async fn screen(
    inspector: &Inspector,
    customs: &Customs,
    scan: proto::Scan,
    deadline: Option<Instant>,
) -> Result<proto::InspectionResult, Status> {
    if scan.declaration_id.is_empty() {
        let request = scan_request(scan, deadline)?;
        return Ok(inspector.inspect(request).await?.into());
    }
    let arrival = ScanArrival {
        declaration_id: scan.declaration_id.clone(),
        portal_id: scan.portal_id.clone(),
        view: scan.view,
        encoding: scan.encoding,
        channels: scan.channels,
        image: scan.image.clone(),
        received_ms: now_ms(),
    };
    // A malformed scan is refused before the store is asked anything.
    let request = scan_request(scan, deadline)?;
    validate(&request)?;
    if let Some((stored, state)) = customs
        .admit_scan(&request.scan_id, &request.declaration_id)
        .await?
    {
        return Ok(proto::InspectionResult {
            scan_id: stored.scan_id,
            model: stored.model,
            model_version: stored.model_version,
            detections: stored.detections.iter().map(stored_detection).collect(),
            alarm: stored.alarm,
            image_width: stored.width,
            image_height: stored.height,
            declaration_id: stored.declaration_id,
            risk: Some(risk(&state.risk)),
            ..Default::default()
        });
    }
    let inspection = inspector.inspect(request).await?;
    let state = customs.record_scan(&inspection, arrival).await?;
    let mut result = proto::InspectionResult::from(inspection);
    result.declaration_id = state.declaration.id.clone();
    result.risk = Some(risk(&state.risk));
    Ok(result)
}

impl InspectionService {
    pub fn new(inspector: ReadyInspector, customs: Customs, stream_in_flight: usize) -> Self {
        Self {
            inspector,
            customs,
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
        let result = screen(inspector, &self.customs, request.into_inner(), deadline).await?;
        Ok(Response::new(result))
    }

    type StreamScansStream = ResultStream;

    async fn stream_scans(
        &self,
        request: Request<Streaming<proto::Scan>>,
    ) -> Result<Response<Self::StreamScansStream>, Status> {
        // A stream's deadline bounds each of its scans.
        let deadline = deadline(request.metadata(), Instant::now());
        let inspector = self.inspector()?.clone();
        let customs = self.customs.clone();
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
                let customs = customs.clone();
                tokio::spawn(async move {
                    let scan_id = scan.scan_id.clone();
                    let outcome = screen(&inspector, &customs, scan, deadline);
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
