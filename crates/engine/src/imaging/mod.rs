//! Turning scan bytes into the pixels a model sees: validation, decoding, pseudo-colour
//! rendering of raw dual-energy data, and letterboxing to the model's input tensor.

mod complete;
mod decode;
mod error;
mod letterbox;
mod palette;
mod tiff_out;

pub use decode::{
    DecodeCost, DecodedScan, RawLayout, ScanSource, decode_checked, decode_cost, decode_scan,
    is_dual_energy,
};
pub use error::ImagingError;
pub use letterbox::{Letterbox, letterbox_into};
pub use palette::{Palette, PaletteName};
pub use tiff_out::encode_dual_energy_tiff;

/// Limits checked before a scan is decoded; all come from the server's settings.
#[derive(Debug, Clone, Copy)]
pub struct ImageLimits {
    /// Largest accepted encoded image, in bytes (`--max-image-bytes`).
    pub max_bytes: usize,
    /// Largest accepted width x height, in pixels (`--max-image-pixels`).
    pub max_pixels: u64,
    /// Shortest accepted side, in pixels (`--min-image-side`): no scanner makes a smaller
    /// image, and a model shown a few pixels blown up to its input sees shapes that are not
    /// there.
    pub min_side: u32,
}

impl Default for ImageLimits {
    fn default() -> Self {
        Self {
            max_bytes: 64 * 1024 * 1024,
            max_pixels: 64_000_000,
            min_side: 32,
        }
    }
}
