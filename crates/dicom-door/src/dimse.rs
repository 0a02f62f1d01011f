//! DIMSE command sets (PS3.7): the C-ECHO and C-STORE requests and responses this door reads
//! and writes, and the statuses it answers with. Command sets are always Implicit VR Little
//! Endian, whatever the presentation context's transfer syntax.

use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use dicom_transfer_syntax_registry::entries::IMPLICIT_VR_LITTLE_ENDIAN;

use crate::error::DimseError;

/// Command Field (0000,0100) values.
pub const C_STORE_RQ: u16 = 0x0001;
pub const C_STORE_RSP: u16 = 0x8001;
pub const C_ECHO_RQ: u16 = 0x0030;
pub const C_ECHO_RSP: u16 = 0x8030;

/// Command Data Set Type (0000,0800): no data set follows the command.
const NO_DATA_SET: u16 = 0x0101;
/// Any other value says a data set follows; this is the one requests use.
const DATA_SET_PRESENT: u16 = 0x0000;

/// The statuses this door answers (PS3.4 B.2.3 for C-STORE, PS3.7 C for the general ones).
pub mod status {
    pub const SUCCESS: u16 = 0x0000;
    /// The operation is not one this door serves.
    pub const UNRECOGNIZED_OPERATION: u16 = 0x0211;
    /// The server failed while processing (a store or model failure).
    pub const PROCESSING_FAILURE: u16 = 0x0110;
    /// Refused: out of resources (too large, queue full, not ready, shutting down).
    pub const OUT_OF_RESOURCES: u16 = 0xA700;
    /// Error: the data set does not match the SOP class.
    pub const DATASET_MISMATCH: u16 = 0xA900;
    /// Error: cannot understand (a broken or unusable object).
    pub const CANNOT_UNDERSTAND: u16 = 0xC000;
}

/// What a request command set says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    pub field: u16,
    pub message_id: u16,
    pub affected_sop_class_uid: Option<String>,
    pub affected_sop_instance_uid: Option<String>,
    pub has_data_set: bool,
    /// Status (0000,0900), in a response.
    pub status: Option<u16>,
    /// Error Comment (0000,0902), in a response.
    pub error_comment: Option<String>,
}

impl Command {
    /// Reads a command set's bytes.
    pub fn read(bytes: &[u8]) -> Result<Command, DimseError> {
        let ts = IMPLICIT_VR_LITTLE_ENDIAN.erased();
        let obj = InMemDicomObject::read_dataset_with_ts(bytes, &ts)
            .map_err(|e| DimseError::Unreadable(e.to_string()))?;
        let u16_of = |tag, name: &'static str| -> Result<Option<u16>, DimseError> {
            match obj.get(tag) {
                None => Ok(None),
                Some(e) => e
                    .uint16()
                    .map(Some)
                    .map_err(|_| DimseError::BadElement(name)),
            }
        };
        let text_of = |tag| {
            obj.get(tag)
                .and_then(|e| e.to_str().ok())
                .map(|s| s.trim_end_matches(['\0', ' ']).to_string())
        };
        let field = u16_of(tags::COMMAND_FIELD, "Command Field (0000,0100)")?
            .ok_or(DimseError::Missing("Command Field (0000,0100)"))?;
        // A request names its message id, a response the one it answers.
        let message_id = match u16_of(tags::MESSAGE_ID, "Message ID (0000,0110)")? {
            Some(id) => id,
            None => u16_of(
                tags::MESSAGE_ID_BEING_RESPONDED_TO,
                "Message ID Being Responded To (0000,0120)",
            )?
            .unwrap_or(0),
        };
        let data_set_type = u16_of(
            tags::COMMAND_DATA_SET_TYPE,
            "Command Data Set Type (0000,0800)",
        )?
        .unwrap_or(NO_DATA_SET);
        Ok(Command {
            field,
            message_id,
            affected_sop_class_uid: text_of(tags::AFFECTED_SOP_CLASS_UID),
            affected_sop_instance_uid: text_of(tags::AFFECTED_SOP_INSTANCE_UID),
            has_data_set: data_set_type != NO_DATA_SET,
            status: u16_of(tags::STATUS, "Status (0000,0900)")?,
            error_comment: text_of(tags::ERROR_COMMENT),
        })
    }
}

/// The C-ECHO-RSP to message `message_id`: success.
pub fn echo_response(message_id: u16) -> Result<Vec<u8>, DimseError> {
    write(vec![
        us(tags::COMMAND_FIELD, C_ECHO_RSP),
        us(tags::MESSAGE_ID_BEING_RESPONDED_TO, message_id),
        us(tags::COMMAND_DATA_SET_TYPE, NO_DATA_SET),
        us(tags::STATUS, status::SUCCESS),
    ])
}

/// A response to `request` with `status`, and `comment` as its Error Comment: the
/// response's command field is the request's with the response bit set.
pub fn response(
    request: &Command,
    status: u16,
    comment: Option<&str>,
) -> Result<Vec<u8>, DimseError> {
    let mut elements = vec![
        us(tags::COMMAND_FIELD, request.field | 0x8000),
        us(tags::MESSAGE_ID_BEING_RESPONDED_TO, request.message_id),
        us(tags::COMMAND_DATA_SET_TYPE, NO_DATA_SET),
        us(tags::STATUS, status),
    ];
    if let Some(uid) = &request.affected_sop_class_uid {
        elements.push(ui(tags::AFFECTED_SOP_CLASS_UID, uid));
    }
    if let Some(uid) = &request.affected_sop_instance_uid {
        elements.push(ui(tags::AFFECTED_SOP_INSTANCE_UID, uid));
    }
    if let Some(comment) = comment {
        elements.push(DataElement::new(
            tags::ERROR_COMMENT,
            VR::LO,
            PrimitiveValue::from(error_comment(comment)),
        ));
    }
    write(elements)
}

/// A C-STORE-RQ for one instance, whose data set follows.
pub fn store_request(
    message_id: u16,
    sop_class_uid: &str,
    sop_instance_uid: &str,
) -> Result<Vec<u8>, DimseError> {
    write(vec![
        ui(tags::AFFECTED_SOP_CLASS_UID, sop_class_uid),
        us(tags::COMMAND_FIELD, C_STORE_RQ),
        us(tags::MESSAGE_ID, message_id),
        // Priority: medium.
        us(tags::PRIORITY, 0x0000),
        us(tags::COMMAND_DATA_SET_TYPE, DATA_SET_PRESENT),
        ui(tags::AFFECTED_SOP_INSTANCE_UID, sop_instance_uid),
    ])
}

/// Error Comment is an LO: at most 64 characters, and no backslash (the value separator).
/// A longer sentence is cut at a character boundary and marked as cut.
fn error_comment(sentence: &str) -> String {
    const MAX: usize = 64;
    let clean: String = sentence
        .chars()
        .map(|c| if c == '\\' || c.is_control() { '/' } else { c })
        .collect();
    if clean.chars().count() <= MAX {
        return clean;
    }
    let mut cut: String = clean.chars().take(MAX - 3).collect();
    cut.push_str("...");
    cut
}

fn us(tag: dicom_core::Tag, value: u16) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, VR::US, PrimitiveValue::from(value))
}

fn ui(tag: dicom_core::Tag, uid: &str) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, VR::UI, PrimitiveValue::from(uid))
}

fn write(elements: Vec<DataElement<InMemDicomObject>>) -> Result<Vec<u8>, DimseError> {
    let obj = InMemDicomObject::command_from_element_iter(elements);
    let mut out = Vec::new();
    obj.write_dataset_with_ts(&mut out, &IMPLICIT_VR_LITTLE_ENDIAN.erased())
        .map_err(|e| DimseError::Unwritable(e.to_string()))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_request_reads_back_as_written() {
        let bytes = store_request(7, "1.2.3", "1.2.3.4.5").unwrap();
        let command = Command::read(&bytes).unwrap();
        assert_eq!(command.field, C_STORE_RQ);
        assert_eq!(command.message_id, 7);
        assert_eq!(command.affected_sop_class_uid.as_deref(), Some("1.2.3"));
        assert_eq!(
            command.affected_sop_instance_uid.as_deref(),
            Some("1.2.3.4.5")
        );
        assert!(command.has_data_set);
    }

    #[test]
    fn a_failure_response_carries_its_status_and_a_short_comment() {
        let request = Command::read(&store_request(3, "1.2.3", "9.8").unwrap()).unwrap();
        let long =
            "a sentence \\ that is much longer than the sixty-four characters an LO may hold";
        let rsp =
            Command::read(&response(&request, status::CANNOT_UNDERSTAND, Some(long)).unwrap())
                .unwrap();
        assert_eq!(rsp.field, C_STORE_RSP);
        assert_eq!(rsp.message_id, 3);
        assert_eq!(rsp.status, Some(status::CANNOT_UNDERSTAND));
        assert!(!rsp.has_data_set);
        let comment = rsp.error_comment.unwrap();
        assert!(comment.chars().count() <= 64, "{comment}");
        assert!(comment.starts_with("a sentence / that"), "{comment}");
        assert!(comment.ends_with("..."));
    }

    #[test]
    fn garbage_is_an_unreadable_command_not_a_panic() {
        assert!(Command::read(&[0xff; 7]).is_err());
    }
}
