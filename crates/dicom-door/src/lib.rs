//! The DICOM door: a DICOM storage SCP through which a DICOS scanner sends a DX object
//! (C-STORE) and has it screened, as it would over the gRPC door, and checks the link
//! (C-ECHO). Each scan's MACHINE Threat Detection Report can be sent on, as a C-STORE of our
//! own, to a TDR destination.
//!
//! - [`access`]: who may associate (the calling AE title names a scanner principal).
//! - [`association`]: one association's negotiation and messages.
//! - [`store`]: a received DX, checked and screened; the status it is answered with.
//! - [`deliver`]: the TDR sent to the destination.
//! - [`busy`]: an association over the limit, rejected.
//! - [`dimse`] and [`part10`]: command sets, and a data set framed as a file and back.
//!
//! Like every door it decides nothing: the rules of a scan are the screening use case's.

pub mod access;
pub mod association;
mod busy;
pub mod deliver;
pub mod dimse;
mod error;
pub mod part10;
mod settings;
pub mod store;

use std::{future::Future, sync::Arc, time::Duration};

use tokio::{net::TcpListener, sync::Semaphore, task::JoinSet};
use xray_service::Service;

pub use error::{DeliveryError, DimseError};
pub use settings::{DEFAULT_AE_TITLE, Destination, DicomSettings};

use association::Door;

/// Serves DICOM associations on `listener` until `shutdown` completes: at most
/// `max_associations` at once (one more is rejected, transient), each on its own blocking
/// thread. At shutdown it stops accepting; each association finishes the message in hand
/// and is aborted before it reads another (one idle in a read ends at its idle timeout), and
/// this answers once all have ended.
pub async fn serve_dicom(
    listener: TcpListener,
    service: Service,
    settings: DicomSettings,
    shutdown: impl Future,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(settings.max_associations.max(1)));
    let door = Arc::new(Door {
        service,
        settings,
        runtime: tokio::runtime::Handle::current(),
    });
    let mut tasks = JoinSet::new();
    tokio::pin!(shutdown);
    tracing::info!(addr = ?listener.local_addr().ok(), ae_title = %door.settings.ae_title, "DICOM door listening");
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => {
                let (socket, peer) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // Out of descriptors or a connection reset before accept: the
                        // listener itself is fine; a pause keeps this from spinning.
                        tracing::warn!(error = %e, "DICOM accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                match Arc::clone(&slots).try_acquire_owned() {
                    Ok(slot) => {
                        let socket = socket.into_std()?;
                        let door = Arc::clone(&door);
                        tasks.spawn_blocking(move || {
                            association::serve(socket, peer, &door);
                            drop(slot);
                        });
                    }
                    Err(_) => {
                        tasks.spawn(busy::refuse(socket));
                    }
                }
            }
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
        }
    }
    while tasks.join_next().await.is_some() {}
    Ok(())
}
