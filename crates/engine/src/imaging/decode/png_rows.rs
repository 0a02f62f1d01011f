//! PNG decoded row by row straight into the 8-bit RGB the model sees. A general decoder first
//! makes the whole image in its own layout (8 bytes a pixel for 16-bit RGBA) and then an RGB
//! copy; row by row, a scan costs its RGB output and one row, whatever its layout. Interlaced
//! PNGs (their rows arrive in seven passes) take the general decoder.

use std::io::Cursor;

use png::{BitDepth, ColorType, Transformations};
use xray_types::Encoding;

use super::{DecodedScan, ScanSource, check_dimensions, corrupt};
use crate::imaging::{ImageLimits, ImagingError};

/// The PNG's RGB pixels; None when it is interlaced (decode it with the general decoder).
pub fn decode_png_rows(
    bytes: &[u8],
    limits: &ImageLimits,
) -> Result<Option<DecodedScan>, ImagingError> {
    let png_err = |e: png::DecodingError| corrupt(Encoding::Png, e);
    let mut decoder = png::Decoder::new(Cursor::new(bytes));
    // Palette to RGB(A), gray under 8 bits to 8, a tRNS chunk to alpha: every row comes out
    // as 8- or 16-bit gray, gray-alpha, RGB or RGBA.
    decoder.set_transformations(Transformations::EXPAND);
    let mut reader = decoder.read_info().map_err(png_err)?;
    let info = reader.info();
    let (width, height) = (info.width, info.height);
    check_dimensions(width, height, limits)?;
    if info.interlaced {
        return Ok(None);
    }
    let source = match (info.color_type, info.bit_depth) {
        (ColorType::Grayscale | ColorType::GrayscaleAlpha, BitDepth::Sixteen) => ScanSource::Gray16,
        (ColorType::Grayscale | ColorType::GrayscaleAlpha, _) => ScanSource::Gray8,
        (_, BitDepth::Sixteen) => ScanSource::Rgb16,
        _ => ScanSource::Rgb8,
    };
    let (colour, depth) = reader.output_color_type();
    let samples = colour.samples();
    let sixteen = depth == BitDepth::Sixteen;
    let row_len = width as usize * 3;
    let mut rgb = Vec::with_capacity(row_len * height as usize);
    while let Some(row) = reader.next_row().map_err(png_err)? {
        let data = row.data();
        // The image crate's rounding from 16 to 8 bits, so that both decoders agree.
        let sample = |pixel: usize, channel: usize| -> u8 {
            if sixteen {
                let i = (pixel * samples + channel) * 2;
                let v = u16::from_be_bytes([data[i], data[i + 1]]);
                ((u32::from(v) + 128) / 257) as u8
            } else {
                data[pixel * samples + channel]
            }
        };
        let needed = width as usize * samples * if sixteen { 2 } else { 1 };
        if data.len() < needed {
            return Err(corrupt(
                Encoding::Png,
                "a row is shorter than the image is wide",
            ));
        }
        for x in 0..width as usize {
            if samples < 3 {
                let v = sample(x, 0);
                rgb.extend_from_slice(&[v, v, v]);
            } else {
                rgb.extend_from_slice(&[sample(x, 0), sample(x, 1), sample(x, 2)]);
            }
        }
        if rgb.len() == row_len * height as usize {
            break;
        }
    }
    if rgb.len() != row_len * height as usize {
        return Err(ImagingError::Truncated {
            format: Encoding::Png,
            size: bytes.len(),
            reason: format!(
                "its image data ends after {} of {height} rows",
                rgb.len() / row_len.max(1)
            ),
        });
    }
    Ok(Some(DecodedScan {
        width,
        height,
        rgb,
        source,
    }))
}
