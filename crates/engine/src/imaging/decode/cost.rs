//! What decoding a scan will hold in memory at its peak, read from its header alone, so that
//! the pipeline can admit decodes against a budget of bytes before any pixel is decoded.

use std::io::Cursor;

use image::{ImageDecoder, codecs::jpeg::JpegDecoder};
use xray_types::Encoding;

use super::{
    RawLayout, check_dimensions, chunky_strips, corrupt, resolve_encoding, tiff_dual_energy,
};
use crate::imaging::{ImageLimits, ImagingError, complete::check_complete};

/// Bytes a pixel of the RGB output takes.
const RGB: u64 = 3;

/// What decoding a scan will hold at its peak, and the encoding its bytes were checked as
/// (signature, limits, completeness), so that [`decode_checked`](super::decode_checked)
/// decodes them without checking again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeCost {
    /// The most memory, in bytes, that decoding holds at once.
    pub bytes: u64,
    pub(super) encoding: Encoding,
}

/// The most memory that decoding these bytes holds at once: the RGB output plus what the
/// format's decoder needs beside it. Refuses what the limits refuse from the header, and
/// bytes that end before their format's end marker.
pub fn decode_cost(
    bytes: &[u8],
    declared: Option<Encoding>,
    raw: Option<RawLayout>,
    limits: &ImageLimits,
) -> Result<DecodeCost, ImagingError> {
    let encoding = resolve_encoding(bytes, declared, limits)?;
    check_complete(encoding, bytes)?;
    // Per format: the image's size, bytes a pixel held, and bytes held beside the pixels.
    let (width, height, per_pixel, beside) = match encoding {
        Encoding::Png => {
            let decoder = png::Decoder::new(Cursor::new(bytes));
            let reader = decoder.read_info().map_err(|e| corrupt(Encoding::Png, e))?;
            let info = reader.info();
            // Row by row: the output and one row. Interlaced: the whole image in its own
            // layout first, then the output.
            let own = if info.interlaced {
                info.bytes_per_pixel() as u64
            } else {
                0
            };
            (info.width, info.height, RGB + own, 0)
        }
        Encoding::Jpeg => {
            let decoder =
                JpegDecoder::new(Cursor::new(bytes)).map_err(|e| corrupt(Encoding::Jpeg, e))?;
            let (width, height) = decoder.dimensions();
            let own = u64::from(decoder.color_type().bytes_per_pixel());
            (width, height, RGB + own, 0)
        }
        Encoding::Tiff => {
            let tiff_err = |e: tiff::TiffError| corrupt(Encoding::Tiff, e);
            let mut decoder = tiff::decoder::Decoder::new(Cursor::new(bytes)).map_err(tiff_err)?;
            let (width, height) = decoder.dimensions().map_err(tiff_err)?;
            let colour = decoder.colortype().map_err(tiff_err)?;
            let samples = u64::from(colour.num_samples());
            let sample_bytes = u64::from(colour.bit_depth()).div_ceil(8);
            // 8-bit dual-energy samples are widened to 16 bits for the palette.
            let widened = if tiff_dual_energy(colour) && sample_bytes == 1 {
                samples * 2
            } else {
                0
            };
            let own = samples * sample_bytes + widened;
            check_dimensions(width, height, limits)?;
            // Chunky strips are converted one at a time: the output plus the largest strip.
            // Anything else is read whole first.
            match chunky_strips(&mut decoder, width, height) {
                Some(strips) => {
                    let rows = u64::from(strips.into_iter().max().unwrap_or(0));
                    (width, height, RGB, rows * u64::from(width) * own)
                }
                None => (width, height, RGB + own, 0),
            }
        }
        // The samples are the request's own bytes: only the output is new. Without a usable
        // layout the decoder refuses it, saying what is missing.
        Encoding::RawU16 => match raw {
            Some(l) if l.width > 0 && l.height > 0 => (l.width, l.height, RGB, 0),
            _ => (0, 0, 0, 0),
        },
        // Uncompressed pixel data is most of the object: each stored byte becomes at most
        // two (16-bit samples) and, a pixel being at least one byte, at most three of RGB.
        // The reader checks the pixel limit from the header before it reads a pixel.
        Encoding::Dicos => (0, 0, 0, (bytes.len() as u64).saturating_mul(5)),
    };
    if per_pixel > 0 {
        check_dimensions(width, height, limits)?;
    }
    Ok(DecodeCost {
        bytes: u64::from(width) * u64::from(height) * per_pixel + beside,
        encoding,
    })
}
