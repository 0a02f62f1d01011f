use xray_types::Encoding;

/// Why a scan's image was refused. Every variant is the client's fault and its message says
/// what was wrong, so the API maps them all to INVALID_ARGUMENT.
#[derive(Debug, thiserror::Error)]
pub enum ImagingError {
    #[error("image is empty")]
    Empty,
    #[error("image is {size} bytes, over the limit of {limit} bytes (--max-image-bytes)")]
    TooManyBytes { size: usize, limit: usize },
    #[error(
        "image is {width}x{height} = {pixels} pixels, over the limit of {limit} pixels (--max-image-pixels)",
        pixels = *width as u64 * *height as u64
    )]
    TooManyPixels { width: u32, height: u32, limit: u64 },
    #[error("image has a zero dimension ({width}x{height})")]
    ZeroSize { width: u32, height: u32 },
    #[error(
        "image is {width}x{height}; each side must be at least {min} pixels (--min-image-side)"
    )]
    TooSmall { width: u32, height: u32, min: u32 },
    #[error(
        "image bytes are not PNG, JPEG or TIFF (they start with {magic}); raw samples need encoding RAW_U16 with width, height and channels"
    )]
    UnknownFormat { magic: String },
    #[error("encoding says {declared} but the bytes are {found}")]
    EncodingMismatch { declared: Encoding, found: Encoding },
    #[error(
        "RAW_U16 needs width, height and channels; got width={width}, height={height}, channels={channels}"
    )]
    RawLayoutMissing {
        width: u32,
        height: u32,
        channels: u32,
    },
    #[error(
        "RAW_U16 channels must be 1 (one energy), 2 (dual-energy low/high) or 3 (RGB); got {0}"
    )]
    RawChannels(u32),
    #[error(
        "RAW_U16 data is {found} bytes but {width}x{height}x{channels} u16 samples need {expected} bytes"
    )]
    RawSizeMismatch {
        width: u32,
        height: u32,
        channels: u32,
        expected: u64,
        found: usize,
    },
    #[error(
        "{format} image is cut short ({size} bytes received): {reason}; the whole file must be sent"
    )]
    Truncated {
        format: Encoding,
        size: usize,
        reason: String,
    },
    #[error(
        "decoding this image needs about {needed_mib} MiB, more than the whole decode budget of {budget_mib} MiB (--decode-budget-mb)"
    )]
    OverDecodeBudget { needed_mib: u64, budget_mib: u64 },
    #[error("{format} data is corrupt or truncated: {reason}")]
    Corrupt { format: Encoding, reason: String },
    #[error("{format} image of this kind is not supported: {what}")]
    Unsupported { format: Encoding, what: String },
}
