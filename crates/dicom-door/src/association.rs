//! One association, from its A-ASSOCIATE-RQ to its release: negotiation (who may call, which
//! presentation contexts), then its DIMSE messages, one at a time, until the peer releases or
//! aborts it, goes silent past the idle timeout, or the door shuts down.
//!
//! dicom-ul 0.10 offers a blocking and an async (tokio) association; this door uses the
//! blocking one on a runtime blocking thread, because dicom-ul asks its access control
//! synchronously during negotiation, and the calling AE title must be checked with the
//! service's asynchronous `authenticate`: a blocking thread may wait on the runtime for it, a
//! runtime thread may not. Each association holds one blocking thread, and their number is
//! bounded by `max_associations`.

use std::{net::SocketAddr, sync::Arc};

use dicom_ul::{
    Pdu, ServerAssociation, ServerAssociationOptions,
    pdu::{PDataValue, PDataValueType, PresentationContextResultReason},
};
use tokio::runtime::Handle;
use xray_dicos::tags::{DX_SOP_CLASSES, EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN};
use xray_service::{Caller, Service};

use crate::{
    DicomSettings,
    access::ScannerAccess,
    dimse::{self, C_ECHO_RQ, C_STORE_RQ, Command, status},
    error::DimseError,
    store::{self, Received},
};

/// The Verification SOP class (C-ECHO).
pub const VERIFICATION: &str = "1.2.840.10008.1.1";

/// What every association of the door shares.
pub struct Door {
    pub service: Service,
    pub settings: DicomSettings,
    pub runtime: Handle,
}

/// A C-STORE-RQ whose data set is still arriving.
struct Pending {
    command: Command,
    presentation_context_id: u8,
    data: Vec<u8>,
    /// Bytes of the data set that did not fit under `max_object_bytes` (and were dropped).
    over: usize,
}

/// Serves one accepted TCP connection to its end.
pub fn serve(socket: std::net::TcpStream, peer: SocketAddr, door: &Arc<Door>) {
    // The accepted socket came from tokio, non-blocking; dicom-ul reads it blocking.
    if let Err(e) = socket.set_nonblocking(false) {
        tracing::warn!(%peer, error = %e, "cannot make the DICOM connection blocking; closed");
        return;
    }
    let access = ScannerAccess::new(door.service.clone(), door.runtime.clone(), peer.ip());
    let settings = &door.settings;
    let mut options = ServerAssociationOptions::new()
        .ae_access_control(access.clone())
        .ae_title(settings.ae_title.as_str())
        .max_pdu_length(settings.max_pdu)
        .read_timeout(settings.idle_timeout)
        .write_timeout(settings.idle_timeout)
        .with_abstract_syntax(VERIFICATION)
        .with_transfer_syntax(IMPLICIT_VR_LITTLE_ENDIAN)
        .with_transfer_syntax(EXPLICIT_VR_LITTLE_ENDIAN);
    for class in DX_SOP_CLASSES {
        options = options.with_abstract_syntax(class);
    }
    let mut association = match options.establish(socket) {
        Ok(a) => a,
        Err(e) => {
            // A rejection was sent by dicom-ul; either way the connection is over.
            tracing::info!(%peer, error = %e, "DICOM association not established");
            return;
        }
    };
    let Some(principal) = access.principal() else {
        // Cannot happen: dicom-ul accepts only what the access control admitted.
        tracing::error!(%peer, "DICOM association accepted without a principal; aborted");
        let _ = association.abort();
        return;
    };
    let caller = Caller::Principal(principal);
    tracing::info!(%peer, calling_ae = caller.name(), "DICOM association accepted");
    let client = format!("dicom:{peer}");
    let mut pending: Option<Pending> = None;
    let mut command_bytes = Vec::new();
    loop {
        if door.service.is_stopping() && pending.is_none() {
            tracing::info!(%peer, "the server is shutting down; DICOM association aborted");
            let _ = association.abort();
            return;
        }
        let pdu = match association.receive() {
            Ok(pdu) => pdu,
            Err(e) => {
                tracing::info!(%peer, error = %e, "DICOM association ended");
                return;
            }
        };
        let values = match pdu {
            Pdu::PData { data } => data,
            Pdu::ReleaseRQ => {
                let _ = association.send(&Pdu::ReleaseRP);
                tracing::info!(%peer, "DICOM association released");
                return;
            }
            Pdu::AbortRQ { source } => {
                tracing::info!(%peer, ?source, "DICOM association aborted by the peer");
                return;
            }
            other => {
                tracing::warn!(%peer, pdu = %other.short_description(), "unexpected PDU; DICOM association aborted");
                let _ = association.abort();
                return;
            }
        };
        for value in values {
            let step = match value.value_type {
                PDataValueType::Command => {
                    command_bytes.extend_from_slice(&value.data);
                    if !value.is_last {
                        continue;
                    }
                    let bytes = std::mem::take(&mut command_bytes);
                    on_command(
                        &mut association,
                        &bytes,
                        value.presentation_context_id,
                        &mut pending,
                    )
                }
                PDataValueType::Data => {
                    let Some(p) = pending.as_mut() else {
                        tracing::warn!(%peer, "a data set with no C-STORE-RQ before it; DICOM association aborted");
                        let _ = association.abort();
                        return;
                    };
                    let room = settings.max_object_bytes.saturating_sub(p.data.len());
                    if p.over > 0 || value.data.len() > room {
                        p.over += value.data.len();
                    } else {
                        p.data.extend_from_slice(&value.data);
                    }
                    if !value.is_last {
                        continue;
                    }
                    match pending.take() {
                        Some(p) => on_data_set(&mut association, door, &caller, &client, p),
                        None => Ok(()),
                    }
                }
            };
            if let Err(e) = step {
                tracing::warn!(%peer, error = %e, "DICOM association aborted");
                let _ = association.abort();
                return;
            }
        }
    }
}

/// A whole command set arrived: C-ECHO is answered, C-STORE waits for its data set, any
/// other operation is answered as unrecognized.
fn on_command(
    association: &mut ServerAssociation<std::net::TcpStream>,
    bytes: &[u8],
    presentation_context_id: u8,
    pending: &mut Option<Pending>,
) -> Result<(), String> {
    let command = Command::read(bytes).map_err(|e| e.to_string())?;
    match command.field {
        C_ECHO_RQ => {
            let rsp = dimse::echo_response(command.message_id).map_err(|e| e.to_string())?;
            send_command(association, presentation_context_id, rsp)
        }
        C_STORE_RQ if command.has_data_set => {
            *pending = Some(Pending {
                command,
                presentation_context_id,
                data: Vec::new(),
                over: 0,
            });
            Ok(())
        }
        _ => {
            let rsp = dimse::response(
                &command,
                status::UNRECOGNIZED_OPERATION,
                Some("this door serves C-ECHO and C-STORE only"),
            )
            .map_err(|e| e.to_string())?;
            send_command(association, presentation_context_id, rsp)
        }
    }
}

/// A C-STORE's data set arrived whole: it is screened and answered; its TDR is sent on.
fn on_data_set(
    association: &mut ServerAssociation<std::net::TcpStream>,
    door: &Arc<Door>,
    caller: &Caller,
    client: &str,
    pending: Pending,
) -> Result<(), String> {
    let context = association
        .presentation_contexts()
        .iter()
        .find(|pc| {
            pc.id == pending.presentation_context_id
                && pc.reason == PresentationContextResultReason::Acceptance
        })
        .cloned();
    let received = Received {
        command: &pending.command,
        abstract_syntax: context.as_ref().map(|pc| pc.abstract_syntax.as_str()),
        transfer_syntax: context.as_ref().map(|pc| pc.transfer_syntax.as_str()),
        data_set: &pending.data,
        dropped_bytes: pending.over,
    };
    let outcome = store::screen(door, caller, client, &received);
    let rsp = dimse::response(&pending.command, outcome.status, outcome.comment.as_deref())
        .map_err(|e: DimseError| e.to_string())?;
    send_command(association, pending.presentation_context_id, rsp)?;
    if let (Some(tdr), Some(destination)) = (outcome.tdr, door.settings.tdr_destination.clone()) {
        let door = Arc::clone(door);
        // Delivery has its own association and must not hold up the scanner's next scan.
        door.runtime.clone().spawn_blocking(move || {
            crate::deliver::deliver_logged(&door.settings, &destination, &tdr)
        });
    }
    Ok(())
}

fn send_command(
    association: &mut ServerAssociation<std::net::TcpStream>,
    presentation_context_id: u8,
    bytes: Vec<u8>,
) -> Result<(), String> {
    association
        .send(&Pdu::PData {
            data: vec![PDataValue {
                presentation_context_id,
                value_type: PDataValueType::Command,
                is_last: true,
                data: bytes,
            }],
        })
        .map_err(|e| format!("the response cannot be sent: {e}"))
}
