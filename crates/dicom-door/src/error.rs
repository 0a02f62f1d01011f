//! The door's errors: a command set it cannot read or write, and a TDR it could not deliver.
//! Neither ends the server: the first ends one association, the second is logged and
//! counted.

/// A DIMSE command set could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum DimseError {
    #[error("the command set cannot be read as Implicit VR Little Endian: {0}")]
    Unreadable(String),
    #[error("the command set has no {0}")]
    Missing(&'static str),
    #[error("the command set's {0} is not a 16-bit unsigned integer")]
    BadElement(&'static str),
    #[error("the command set cannot be written: {0}")]
    Unwritable(String),
}

/// A Threat Detection Report was not delivered to the TDR destination.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("the TDR written by the service cannot be read as a Part 10 file: {0}")]
    BadReport(String),
    #[error("no association with the TDR destination {destination}: {reason}")]
    Association { destination: String, reason: String },
    #[error(
        "the TDR destination {0} accepted no presentation context for TDR storage in the TDR's transfer syntax"
    )]
    NotAccepted(String),
    #[error("the exchange with the TDR destination {destination} failed: {reason}")]
    Exchange { destination: String, reason: String },
    #[error("the TDR destination {destination} answered the C-STORE with status {status:#06x}{}", comment.as_deref().map(|c| format!(" ({c})")).unwrap_or_default())]
    Refused {
        destination: String,
        status: u16,
        comment: Option<String>,
    },
    #[error(transparent)]
    Dimse(#[from] DimseError),
}
