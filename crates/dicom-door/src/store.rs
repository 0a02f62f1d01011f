//! A C-STORE of a DX, screened: its data set becomes a Part 10 file, checked against what
//! its command and presentation context said, and handed to the screening use case as the
//! association's principal, for that principal's first portal. Every outcome is a status
//! and, for a failure, a sentence: a broken object never ends the association.

use std::sync::Arc;

use bytes::Bytes;
use xray_dicos::tags::DX_SOP_CLASSES;
use xray_engine::pipeline::ScanRequest;
use xray_service::{Caller, ErrorKind, screening::Scan};
use xray_types::Encoding;

use crate::{association::Door, dimse::Command, dimse::status, part10};

/// What arrived for one C-STORE.
pub struct Received<'a> {
    pub command: &'a Command,
    /// The accepted presentation context it came on (None: it named no accepted one).
    pub abstract_syntax: Option<&'a str>,
    pub transfer_syntax: Option<&'a str>,
    pub data_set: &'a [u8],
    /// Bytes past `max_object_bytes`, dropped.
    pub dropped_bytes: usize,
}

/// How a C-STORE is answered, and the TDR to send on.
#[derive(Debug)]
pub struct Outcome {
    pub status: u16,
    pub comment: Option<String>,
    pub tdr: Option<Vec<u8>>,
}

impl Outcome {
    fn failed(status: u16, sentence: String) -> Self {
        Self {
            status,
            comment: Some(sentence),
            tdr: None,
        }
    }
}

/// Screens one received DX; the outcome says how to answer.
pub fn screen(door: &Arc<Door>, caller: &Caller, client: &str, received: &Received<'_>) -> Outcome {
    let outcome = screen_inner(door, caller, client, received);
    if let Some(sentence) = &outcome.comment {
        tracing::info!(
            status = format_args!("{:#06x}", outcome.status),
            sop_instance_uid = received
                .command
                .affected_sop_instance_uid
                .as_deref()
                .unwrap_or(""),
            "C-STORE refused: {sentence}"
        );
    }
    outcome
}

fn screen_inner(
    door: &Arc<Door>,
    caller: &Caller,
    client: &str,
    received: &Received<'_>,
) -> Outcome {
    let limit = door.settings.max_object_bytes;
    if received.dropped_bytes > 0 {
        return Outcome::failed(
            status::OUT_OF_RESOURCES,
            format!(
                "the object is {} bytes, over this door's limit of {limit}",
                received.data_set.len() + received.dropped_bytes
            ),
        );
    }
    let (Some(abstract_syntax), Some(transfer_syntax)) =
        (received.abstract_syntax, received.transfer_syntax)
    else {
        return Outcome::failed(
            status::CANNOT_UNDERSTAND,
            "the data set came on a presentation context that was not accepted".into(),
        );
    };
    let command = received.command;
    let class = command
        .affected_sop_class_uid
        .as_deref()
        .unwrap_or(abstract_syntax);
    let Some(instance) = command.affected_sop_instance_uid.as_deref() else {
        return Outcome::failed(
            status::CANNOT_UNDERSTAND,
            "the C-STORE-RQ has no Affected SOP Instance UID".into(),
        );
    };
    if class != abstract_syntax || !DX_SOP_CLASSES.contains(&class) {
        return Outcome::failed(
            status::DATASET_MISMATCH,
            format!("SOP class {class} is not the presentation context's DX class"),
        );
    }
    let file = match part10::file_of(class, instance, transfer_syntax, received.data_set) {
        Ok(f) => f,
        Err(e) => {
            return Outcome::failed(
                status::CANNOT_UNDERSTAND,
                format!("the object cannot be framed as a file: {e}"),
            );
        }
    };
    // The data set must be the instance its command announced.
    match xray_dicos::read_dx_ids(&file) {
        Err(e) => {
            return Outcome::failed(
                status::CANNOT_UNDERSTAND,
                format!("the DX cannot be read: {e}"),
            );
        }
        Ok(ids) if ids.sop_class_uid != class || ids.sop_instance_uid != instance => {
            return Outcome::failed(
                status::DATASET_MISMATCH,
                format!(
                    "the data set is {} {}, not the announced {class} {instance}",
                    ids.sop_class_uid, ids.sop_instance_uid
                ),
            );
        }
        Ok(_) => {}
    }
    let portal_id = match caller {
        Caller::Principal(p) => p.portals.first().cloned().unwrap_or_default(),
        _ => String::new(),
    };
    let scan = Scan {
        request: ScanRequest {
            image: Bytes::from(file),
            encoding: Some(Encoding::Dicos),
            portal_id,
            model: None,
            client: client.to_string(),
            ..Default::default()
        },
        view: Default::default(),
        channels: 0,
    };
    match door.runtime.block_on(door.service.screen(caller, scan)) {
        Ok(answer) => Outcome {
            status: status::SUCCESS,
            comment: None,
            tdr: answer.tdr,
        },
        Err(e) => Outcome::failed(status_of(e.kind()), e.to_string()),
    }
}

/// The C-STORE status of a use case's failure: the one place the door maps error kinds.
pub fn status_of(kind: ErrorKind) -> u16 {
    match kind {
        ErrorKind::Invalid
        | ErrorKind::NotFound
        | ErrorKind::Conflict
        | ErrorKind::Unauthenticated
        | ErrorKind::PermissionDenied => status::CANNOT_UNDERSTAND,
        // Retry later: the scan itself is fine.
        ErrorKind::Exhausted | ErrorKind::DeadlineExceeded | ErrorKind::Unavailable => {
            status::OUT_OF_RESOURCES
        }
        ErrorKind::Internal => status::PROCESSING_FAILURE,
    }
}
