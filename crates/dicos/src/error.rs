//! The ways reading or writing a DICOS object can fail, each a sentence a person can act on.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum DicosError {
    #[error("the bytes are not a DICOM Part 10 object: {0}")]
    NotDicom(String),
    #[error("the DICOM object is a {sop_class} ({name}), not a DX image")]
    NotDx { sop_class: String, name: String },
    #[error("the DICOM object is a {0}, not a DICOS threat detection report")]
    NotTdr(String),
    #[error(
        "transfer syntax {0} is not supported; only uncompressed Implicit VR Little Endian \
         (1.2.840.10008.1.2) and Explicit VR Little Endian (1.2.840.10008.1.2.1) are"
    )]
    UnsupportedTransferSyntax(String),
    #[error("the DX object has no {0}")]
    Missing(&'static str),
    #[error("the DX object's {name} is {value}, and only {supported} is supported")]
    Unsupported {
        name: &'static str,
        value: String,
        supported: &'static str,
    },
    #[error("the {name} attribute cannot be read: {reason}")]
    BadAttribute { name: &'static str, reason: String },
    #[error(
        "the image is {rows} rows x {columns} columns x {frames} frames = {pixels} pixels, \
         more than the {max_pixels} allowed"
    )]
    TooLarge {
        rows: u32,
        columns: u32,
        frames: u32,
        pixels: u64,
        max_pixels: u64,
    },
    #[error(
        "the pixel data holds {actual} bytes but {rows} rows x {columns} columns x {frames} \
         frames x {bytes_per_pixel} bytes needs {expected}"
    )]
    PixelLength {
        rows: u32,
        columns: u32,
        frames: u32,
        bytes_per_pixel: u32,
        expected: u64,
        actual: u64,
    },
    #[error("the pixel data is encapsulated (compressed), which is not supported")]
    Encapsulated,
    #[error("cannot write the DICOS object: {0}")]
    Invalid(String),
    #[error("cannot encode the DICOS object: {0}")]
    Encode(String),
}
