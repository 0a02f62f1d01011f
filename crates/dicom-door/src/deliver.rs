//! A scan's MACHINE TDR sent to the TDR destination: a short association of our own as an
//! SCU, one C-STORE of the TDR storage SOP class in the TDR file's own transfer syntax (so its
//! bytes go as written), then a release. A failure is logged and counted, never fatal: the
//! scan is stored and answered whether or not its report is delivered.

use std::io::Write;

use dicom_ul::{
    ClientAssociation, ClientAssociationOptions, Pdu,
    pdu::{PDataValue, PDataValueType, PresentationContextResultReason},
};

use crate::{
    Destination, DicomSettings,
    dimse::{self, C_STORE_RSP, Command, status},
    error::DeliveryError,
    part10,
};

/// TDRs delivered and not delivered since the process started (`xray_tdr_deliveries_total`).
pub fn delivery_counts() -> (u64, u64) {
    let m = xray_metrics::metrics();
    (m.tdr_deliveries("delivered"), m.tdr_deliveries("failed"))
}

/// Delivers `tdr`, logging and counting the outcome.
pub fn deliver_logged(settings: &DicomSettings, destination: &Destination, tdr: &[u8]) {
    match deliver(settings, destination, tdr) {
        Ok(uid) => {
            xray_metrics::metrics().tdr_delivery("delivered");
            tracing::info!(tdr = %uid, to = %describe(destination), "TDR delivered");
        }
        Err(e) => {
            xray_metrics::metrics().tdr_delivery("failed");
            tracing::warn!(error = %e, "TDR not delivered");
        }
    }
}

/// Sends one TDR file (Part 10) to `destination`, calling as our AE title; answers its SOP
/// Instance UID.
pub fn deliver(
    settings: &DicomSettings,
    destination: &Destination,
    tdr: &[u8],
) -> Result<String, DeliveryError> {
    let to = describe(destination);
    let split = part10::split(tdr).map_err(DeliveryError::BadReport)?;
    let mut association = ClientAssociationOptions::new()
        .calling_ae_title(settings.ae_title.as_str())
        .called_ae_title(destination.ae_title.as_str())
        .with_presentation_context(
            split.sop_class_uid.as_str(),
            vec![split.transfer_syntax.as_str()],
        )
        .max_pdu_length(settings.max_pdu)
        .connection_timeout(settings.idle_timeout)
        .read_timeout(settings.idle_timeout)
        .write_timeout(settings.idle_timeout)
        .establish((destination.host.as_str(), destination.port))
        .map_err(|e| DeliveryError::Association {
            destination: to.clone(),
            reason: e.to_string(),
        })?;
    let result = exchange(&mut association, &to, &split);
    match &result {
        Ok(()) => {
            let _ = association.release();
        }
        Err(_) => {
            let _ = association.abort();
        }
    }
    result.map(|()| split.sop_instance_uid.clone())
}

fn exchange(
    association: &mut ClientAssociation<std::net::TcpStream>,
    to: &str,
    split: &part10::Split<'_>,
) -> Result<(), DeliveryError> {
    let failed = |e: &dyn std::fmt::Display| DeliveryError::Exchange {
        destination: to.to_string(),
        reason: e.to_string(),
    };
    let context = association
        .presentation_contexts()
        .iter()
        .find(|pc| pc.reason == PresentationContextResultReason::Acceptance)
        .map(|pc| pc.id)
        .ok_or_else(|| DeliveryError::NotAccepted(to.to_string()))?;
    let command = dimse::store_request(1, &split.sop_class_uid, &split.sop_instance_uid)?;
    association
        .send(&Pdu::PData {
            data: vec![PDataValue {
                presentation_context_id: context,
                value_type: PDataValueType::Command,
                is_last: true,
                data: command,
            }],
        })
        .map_err(|e| failed(&e))?;
    // The writer splits the data set into PDUs the destination accepts.
    let mut writer = association.send_pdata(context);
    writer.write_all(split.data_set).map_err(|e| failed(&e))?;
    writer.finish().map_err(|e| failed(&e))?;
    let mut response = Vec::new();
    loop {
        match association.receive().map_err(|e| failed(&e))? {
            Pdu::PData { data } => {
                for value in data {
                    if value.value_type == PDataValueType::Command {
                        response.extend_from_slice(&value.data);
                        if value.is_last {
                            return check(&Command::read(&response)?, to);
                        }
                    }
                }
            }
            other => {
                return Err(failed(&format!(
                    "it answered {} instead of a C-STORE-RSP",
                    other.short_description()
                )));
            }
        }
    }
}

fn check(response: &Command, to: &str) -> Result<(), DeliveryError> {
    let code = response.status.unwrap_or(status::PROCESSING_FAILURE);
    // 0x0000 is success; 0xB000, 0xB007 and 0xB006 are warnings, the TDR was stored.
    if response.field == C_STORE_RSP && (code == status::SUCCESS || code & 0xF000 == 0xB000) {
        Ok(())
    } else {
        Err(DeliveryError::Refused {
            destination: to.to_string(),
            status: code,
            comment: response.error_comment.clone(),
        })
    }
}

fn describe(d: &Destination) -> String {
    format!("{}@{}:{}", d.ae_title, d.host, d.port)
}
