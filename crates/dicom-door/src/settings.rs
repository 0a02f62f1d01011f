//! What the DICOM door is told at start: where it listens, who it is, its limits, and where
//! Threat Detection Reports go.

use std::{net::SocketAddr, time::Duration};

/// The AE title the door answers as when none is given.
pub const DEFAULT_AE_TITLE: &str = "XRAY-SCREEN";

/// The DICOM door's settings.
#[derive(Debug, Clone)]
pub struct DicomSettings {
    /// Where it listens (the caller binds the listener; this is what it reports).
    pub addr: SocketAddr,
    /// Our AE title: the one we answer as, and the calling AE title of TDR deliveries.
    pub ae_title: String,
    /// The largest PDU we accept, announced at association (dicom-ul's default).
    pub max_pdu: u32,
    /// Associations served at once; one more is rejected (transient, local limit exceeded)
    /// rather than queued, so a scanner learns at once that it should retry.
    pub max_associations: usize,
    /// The largest data set one C-STORE may carry; a larger one is read to its end and
    /// discarded, and answered "out of resources" (0xA700), so a peer cannot make us hold
    /// more than this per association.
    pub max_object_bytes: usize,
    /// How long an association may stay silent (and how long one PDU may take to arrive or
    /// leave) before it is closed.
    pub idle_timeout: Duration,
    /// Where each scan's MACHINE TDR is sent, as a C-STORE; None: not sent.
    pub tdr_destination: Option<Destination>,
}

impl Default for DicomSettings {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([0, 0, 0, 0], 11112)),
            ae_title: DEFAULT_AE_TITLE.to_string(),
            max_pdu: dicom_ul::pdu::DEFAULT_MAX_PDU,
            max_associations: 8,
            max_object_bytes: 256 << 20,
            idle_timeout: Duration::from_secs(60),
            tdr_destination: None,
        }
    }
}

/// A storage SCP that receives TDRs (a scanner's workstation, a review system).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    pub host: String,
    pub port: u16,
    pub ae_title: String,
}
