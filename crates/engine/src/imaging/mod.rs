//! Turning scan bytes into the pixels a model sees: validation, decoding, pseudo-colour
//! rendering of raw dual-energy data, and letterboxing to the model's input tensor.

mod decode;
mod error;
mod letterbox;
mod palette;
mod tiff_out;

pub use decode::{DecodedScan, RawLayout, ScanSource, decode_scan, is_dual_energy};
pub use error::ImagingError;
pub use letterbox::{Letterbox, letterbox_into};
pub use palette::{Palette, PaletteName};
pub use tiff_out::encode_dual_energy_tiff;

/// Limits checked before a scan is decoded; both come from the server's settings.
#[derive(Debug, Clone, Copy)]
pub struct ImageLimits {
    /// Largest accepted encoded image, in bytes (`--max-image-bytes`).
    pub max_bytes: usize,
    /// Largest accepted width x height, in pixels (`--max-image-pixels`).
    pub max_pixels: u64,
}

impl Default for ImageLimits {
    fn default() -> Self {
        Self {
            max_bytes: 64 * 1024 * 1024,
            max_pixels: 64_000_000,
        }
    }
}
