//! NEMA DICOS (DICOM for security, NEMA IIC 1) for xray-screen: read a scanner's DX
//! (digital X-ray projection) object into 16-bit transmission frames, write DX objects for
//! the synthetic generator and the tests, and write the TDR (threat detection report) that
//! answers one.
//!
//! Everything rests on dicom-rs; this crate only knows which attributes DICOS wants and what
//! they mean. Every tag it uses is named once, in [`tags`].

mod dt;
mod dx;
mod error;
mod object;
pub mod tags;
mod tdr;

pub use dx::{DxIds, DxScan, DxSpec, Photometric, Window, read_dx, read_dx_ids, write_dx};
pub use error::DicosError;
pub use tdr::{
    TdrSpec, TdrSummary, TdrType, ThreatCategory, ThreatSpec, ThreatSummary, read_tdr, write_tdr,
};
