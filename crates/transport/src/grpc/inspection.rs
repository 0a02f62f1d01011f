//! The `xray.v1.Inspection` service.

use std::{pin::Pin, sync::Arc, time::Instant};

use tokio::sync::{Semaphore, mpsc};
use tokio_stream::{Stream, wrappers::ReceiverStream};
use tonic::{Request, Response, Status, Streaming};
use xray_proto::{self as proto, inspection_server::Inspection};
use xray_service::{Call, Caller, Error, Service, access::authorize};

use super::{
    authenticate::caller,
    convert::{failed_result, inspection_result, scan},
    deadline::deadline,
    oversize::inbound_status,
    status::status,
};
use crate::connection::Peer;

/// Serves Inspect and StreamScans: each scan is the screening use case.
pub struct InspectionService {
    service: Service,
    /// Scans one stream may have in flight at once (`--stream-max-in-flight`).
    stream_in_flight: usize,
}

impl InspectionService {
    pub fn new(service: Service, stream_in_flight: usize) -> Self {
        Self {
            service,
            stream_in_flight: stream_in_flight.max(1),
        }
    }
}

/// One scan off the wire through the use case and back.
async fn screen(
    service: &Service,
    caller: &Caller,
    sent: proto::Scan,
    deadline: Option<Instant>,
    client: String,
) -> Result<proto::InspectionResult, Status> {
    let answer = service
        .screen(caller, scan(sent, deadline, client).map_err(status)?)
        .await
        .map_err(status)?;
    Ok(inspection_result(answer))
}

/// Who a call comes from, for fair queueing: its connection's remote address (each
/// workstation holds its own connection).
pub(crate) fn client_of<T>(request: &Request<T>) -> String {
    request
        .extensions()
        .get::<Peer>()
        .map_or_else(String::new, |peer| peer.addr.to_string())
}

type ResultStream = Pin<Box<dyn Stream<Item = Result<proto::InspectionResult, Status>> + Send>>;

#[tonic::async_trait]
impl Inspection for InspectionService {
    async fn inspect(
        &self,
        request: Request<proto::Scan>,
    ) -> Result<Response<proto::InspectionResult>, Status> {
        let deadline = deadline(request.metadata(), Instant::now());
        let (client, caller) = (client_of(&request), caller(&request));
        let result = screen(
            &self.service,
            &caller,
            request.into_inner(),
            deadline,
            client,
        )
        .await?;
        Ok(Response::new(result))
    }

    type StreamScansStream = ResultStream;

    async fn stream_scans(
        &self,
        request: Request<Streaming<proto::Scan>>,
    ) -> Result<Response<Self::StreamScansStream>, Status> {
        // A stream's deadline bounds each of its scans.
        let deadline = deadline(request.metadata(), Instant::now());
        let (client, caller) = (client_of(&request), caller(&request));
        // A caller that may send no scan at all is told so before the stream begins; each
        // scan's portal is checked as it comes.
        authorize(&caller, Call::SendScans).map_err(status)?;
        if !self.service.is_ready() {
            return Err(status(xray_service::Error::NotReady));
        }
        let service = self.service.clone();
        let mut inbound = request.into_inner();
        let bound = self.stream_in_flight;
        let (results, outbound) = mpsc::channel(bound);
        let in_flight = Arc::new(Semaphore::new(bound));
        tokio::spawn(async move {
            let stopping = service.stopping();
            tokio::pin!(stopping);
            loop {
                // Read no further than the in-flight bound: back-pressure onto the client.
                let permit = tokio::select! {
                    permit = Arc::clone(&in_flight).acquire_owned() => match permit {
                        Ok(p) => p,
                        Err(_) => break,
                    },
                    _ = results.closed() => break,
                };
                let scan = tokio::select! {
                    message = inbound.message() => match message {
                        Ok(Some(scan)) => scan,
                        Ok(None) => break,
                        // A message that cannot be read ends the stream, with why.
                        Err(status) => {
                            tracing::debug!(%status, "scan stream ended with an error");
                            let _ = results.send(Err(inbound_status(status))).await;
                            break;
                        }
                    },
                    // Shutting down: read no more; the scans in flight are answered, then
                    // the stream ends with UNAVAILABLE.
                    _ = &mut stopping => {
                        drop(permit);
                        let all = u32::try_from(bound).unwrap_or(u32::MAX);
                        let _ = in_flight.acquire_many(all).await;
                        let _ = results
                            .send(Err(status(Error::ShuttingDown(
                                "scans not answered on this stream were not read; send them again".into(),
                            ))))
                            .await;
                        break;
                    }
                };
                let results = results.clone();
                let service = service.clone();
                let (client, caller) = (client.clone(), caller.clone());
                tokio::spawn(async move {
                    let scan_id = scan.scan_id.clone();
                    let outcome = screen(&service, &caller, scan, deadline, client);
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
