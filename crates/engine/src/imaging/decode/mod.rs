//! Validation and decoding of a scan's bytes into 8-bit RGB, checking every limit from the
//! header before the pixels are decoded, so that a decompression bomb costs nothing.

use std::io::Cursor;

use image::{
    DynamicImage, ImageDecoder,
    codecs::{jpeg::JpegDecoder, png::PngDecoder},
};
use tiff::{ColorType, decoder::DecodingResult};

use super::{ImageLimits, ImagingError, Palette, complete::check_complete};
pub use cost::{DecodeCost, decode_cost};
use png_rows::decode_png_rows;
use xray_types::{Encoding, magic_hex};

/// Geometry of raw u16 data, which has no header of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawLayout {
    pub width: u32,
    pub height: u32,
    pub channels: u32,
}

/// What the scanner sent, before it was turned into RGB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanSource {
    Gray8,
    Gray16,
    Rgb8,
    Rgb16,
    /// Two energies (low, high), rendered through the palette.
    DualEnergy,
}

/// A decoded scan: interleaved 8-bit RGB as an operator would see it.
#[derive(Debug, Clone)]
pub struct DecodedScan {
    pub width: u32,
    pub height: u32,
    pub rgb: Vec<u8>,
    pub source: ScanSource,
}

/// The encoding a scan's bytes are read as, after the byte limit: the declared one (raw data
/// has no signature), checked against the signature the bytes carry.
pub(super) fn resolve_encoding(
    bytes: &[u8],
    declared: Option<Encoding>,
    limits: &ImageLimits,
) -> Result<Encoding, ImagingError> {
    if bytes.is_empty() {
        return Err(ImagingError::Empty);
    }
    if bytes.len() > limits.max_bytes {
        return Err(ImagingError::TooManyBytes {
            size: bytes.len(),
            limit: limits.max_bytes,
        });
    }
    let sniffed = Encoding::sniff(bytes);
    Ok(match (declared, sniffed) {
        (Some(Encoding::RawU16), _) => Encoding::RawU16,
        (Some(declared), Some(found)) if declared != found => {
            return Err(ImagingError::EncodingMismatch { declared, found });
        }
        (Some(declared), None) => {
            return Err(ImagingError::Corrupt {
                format: declared,
                reason: format!(
                    "no {declared} signature (bytes start with {})",
                    magic_hex(bytes)
                ),
            });
        }
        (_, Some(found)) => found,
        (None, None) => {
            return Err(ImagingError::UnknownFormat {
                magic: magic_hex(bytes),
            });
        }
    })
}

/// Decodes one scan. `declared` is the client's encoding (None: detect from magic bytes);
/// raw data needs `raw`. Dual-energy data is rendered through `palette`.
pub fn decode_scan(
    bytes: &[u8],
    declared: Option<Encoding>,
    raw: Option<RawLayout>,
    limits: &ImageLimits,
    palette: &Palette,
) -> Result<DecodedScan, ImagingError> {
    let encoding = resolve_encoding(bytes, declared, limits)?;
    // Decoders fill in what is missing; a scan must be seen whole or not at all.
    check_complete(encoding, bytes)?;
    decode_format(bytes, encoding, raw, limits, palette)
}

/// Decodes bytes that [`decode_cost`] has already checked (signature, byte limit,
/// completeness), without walking them again.
pub fn decode_checked(
    bytes: &[u8],
    cost: &DecodeCost,
    raw: Option<RawLayout>,
    limits: &ImageLimits,
    palette: &Palette,
) -> Result<DecodedScan, ImagingError> {
    decode_format(bytes, cost.encoding, raw, limits, palette)
}

/// Decodes bytes known to be whole `encoding` data.
fn decode_format(
    bytes: &[u8],
    encoding: Encoding,
    raw: Option<RawLayout>,
    limits: &ImageLimits,
    palette: &Palette,
) -> Result<DecodedScan, ImagingError> {
    match encoding {
        Encoding::Png => match decode_png_rows(bytes, limits)? {
            Some(scan) => Ok(scan),
            None => decode_with_image_crate(
                PngDecoder::new(Cursor::new(bytes)).map_err(|e| corrupt(Encoding::Png, e))?,
                Encoding::Png,
                limits,
            ),
        },
        Encoding::Jpeg => decode_with_image_crate(
            JpegDecoder::new(Cursor::new(bytes)).map_err(|e| corrupt(Encoding::Jpeg, e))?,
            Encoding::Jpeg,
            limits,
        ),
        Encoding::Tiff => decode_tiff(bytes, limits, palette),
        Encoding::RawU16 => decode_raw(bytes, raw, limits, palette),
        Encoding::Dicos => decode_dicos(bytes, limits, palette),
    }
}

/// A DICOS DX object: one energy as gray, two (low, high) through the palette, as raw
/// dual-energy data is.
fn decode_dicos(
    bytes: &[u8],
    limits: &ImageLimits,
    palette: &Palette,
) -> Result<DecodedScan, ImagingError> {
    let dx =
        xray_dicos::read_dx(bytes, limits.max_pixels).map_err(|e| corrupt(Encoding::Dicos, e))?;
    check_dimensions(dx.width, dx.height, limits)?;
    let pixels = dx.width as usize * dx.height as usize;
    let mut rgb = Vec::with_capacity(pixels * 3);
    let source = match dx.frames.as_slice() {
        [one] => {
            for &v in one {
                let v = (v >> 8) as u8;
                rgb.extend_from_slice(&[v, v, v]);
            }
            ScanSource::Gray16
        }
        [low, high] => {
            let interleaved: Vec<u16> = low.iter().zip(high).flat_map(|(&l, &h)| [l, h]).collect();
            palette.render_dual(&interleaved, &mut rgb);
            ScanSource::DualEnergy
        }
        frames => {
            return Err(corrupt(
                Encoding::Dicos,
                format!("{} frames; a DX scan has one energy or two", frames.len()),
            ));
        }
    };
    Ok(DecodedScan {
        width: dx.width,
        height: dx.height,
        rgb,
        source,
    })
}

pub(super) fn corrupt(format: Encoding, e: impl std::fmt::Display) -> ImagingError {
    ImagingError::Corrupt {
        format,
        reason: e.to_string(),
    }
}

pub(super) fn check_dimensions(
    width: u32,
    height: u32,
    limits: &ImageLimits,
) -> Result<(), ImagingError> {
    if width == 0 || height == 0 {
        return Err(ImagingError::ZeroSize { width, height });
    }
    if width.min(height) < limits.min_side {
        return Err(ImagingError::TooSmall {
            width,
            height,
            min: limits.min_side,
        });
    }
    if width as u64 * height as u64 > limits.max_pixels {
        return Err(ImagingError::TooManyPixels {
            width,
            height,
            limit: limits.max_pixels,
        });
    }
    Ok(())
}

fn decode_with_image_crate(
    mut decoder: impl ImageDecoder,
    format: Encoding,
    limits: &ImageLimits,
) -> Result<DecodedScan, ImagingError> {
    let (width, height) = decoder.dimensions();
    check_dimensions(width, height, limits)?;
    let mut decode_limits = image::Limits::default();
    decode_limits.max_image_width = Some(width);
    decode_limits.max_image_height = Some(height);
    // Decoded size plus an RGB copy: 16-bit RGBA is the largest layout.
    decode_limits.max_alloc = Some(width as u64 * height as u64 * 8 * 2);
    decoder
        .set_limits(decode_limits)
        .map_err(|e| corrupt(format, e))?;
    let image = DynamicImage::from_decoder(decoder).map_err(|e| corrupt(format, e))?;
    let source = match &image {
        DynamicImage::ImageLuma8(_) | DynamicImage::ImageLumaA8(_) => ScanSource::Gray8,
        DynamicImage::ImageLuma16(_) | DynamicImage::ImageLumaA16(_) => ScanSource::Gray16,
        DynamicImage::ImageRgb16(_) | DynamicImage::ImageRgba16(_) => ScanSource::Rgb16,
        _ => ScanSource::Rgb8,
    };
    Ok(DecodedScan {
        width,
        height,
        rgb: image.into_rgb8().into_raw(),
        source,
    })
}

fn decode_tiff(
    bytes: &[u8],
    limits: &ImageLimits,
    palette: &Palette,
) -> Result<DecodedScan, ImagingError> {
    let tiff_err = |e: tiff::TiffError| corrupt(Encoding::Tiff, e);
    let mut tiff_limits = tiff::decoder::Limits::default();
    // Four 16-bit samples a pixel is the most any accepted layout needs.
    tiff_limits.decoding_buffer_size =
        usize::try_from(limits.max_pixels.saturating_mul(8)).unwrap_or(usize::MAX);
    let mut decoder = tiff::decoder::Decoder::new(Cursor::new(bytes))
        .map_err(tiff_err)?
        .with_limits(tiff_limits);
    let (width, height) = decoder.dimensions().map_err(tiff_err)?;
    check_dimensions(width, height, limits)?;
    let colour = decoder.colortype().map_err(tiff_err)?;
    let samples = colour.num_samples();
    let dual_energy = tiff_dual_energy(colour);
    let supported = matches!(
        colour,
        ColorType::Gray(8 | 16) | ColorType::RGB(8 | 16) | ColorType::RGBA(8 | 16)
    ) || (dual_energy && matches!(colour.bit_depth(), 8 | 16));
    if !supported {
        return Err(ImagingError::Unsupported {
            format: Encoding::Tiff,
            what: format!(
                "{colour:?}; accepted: 8- or 16-bit gray, RGB, RGBA, or 2-sample dual-energy"
            ),
        });
    }
    // Strip by strip where the layout allows (chunky strips), so that no full-size copy of
    // the samples is held beside the RGB output; tiles and planar data are read whole.
    let mut rgb = Vec::with_capacity(width as usize * height as usize * 3);
    let mut source = ScanSource::Rgb8;
    match chunky_strips(&mut decoder, width, height) {
        Some(strips) => {
            for (index, rows) in strips.into_iter().enumerate() {
                let chunk = decoder.read_chunk(index as u32).map_err(tiff_err)?;
                let count = width as usize * rows as usize * usize::from(samples);
                source = append_tiff_rgb(&chunk, count, samples, dual_energy, palette, &mut rgb)?;
            }
        }
        None => {
            let pixels = decoder.read_image().map_err(tiff_err)?;
            let count = width as usize * height as usize * usize::from(samples);
            source = append_tiff_rgb(&pixels, count, samples, dual_energy, palette, &mut rgb)?;
        }
    }
    if rgb.len() != width as usize * height as usize * 3 {
        return Err(ImagingError::Corrupt {
            format: Encoding::Tiff,
            reason: format!("pixel data does not match its header ({colour:?})"),
        });
    }
    Ok(DecodedScan {
        width,
        height,
        rgb,
        source,
    })
}

/// The rows of each strip when the image is stored in chunky strips (every sample of a pixel
/// together), read from the tags; None for tiles and planar data.
pub(super) fn chunky_strips(
    decoder: &mut tiff::decoder::Decoder<Cursor<&[u8]>>,
    width: u32,
    height: u32,
) -> Option<Vec<u32>> {
    if decoder.get_chunk_type() != tiff::decoder::ChunkType::Strip || width == 0 {
        return None;
    }
    let rows_per_strip = decoder
        .find_tag_unsigned::<u32>(tiff::tags::Tag::RowsPerStrip)
        .ok()?
        .unwrap_or(height)
        .clamp(1, height.max(1));
    let strips = height.div_ceil(rows_per_strip);
    // Planar data has a set of strips per sample.
    if decoder.strip_count().ok()? != strips {
        return None;
    }
    Some(
        (0..strips)
            .map(|i| rows_per_strip.min(height - i * rows_per_strip))
            .collect(),
    )
}

/// Appends the RGB of the first `count` samples of `pixels` (whole pixels of `samples`
/// samples) to `rgb`: dual-energy through the palette, gray replicated, alpha dropped.
fn append_tiff_rgb(
    pixels: &DecodingResult,
    count: usize,
    samples: u16,
    dual_energy: bool,
    palette: &Palette,
    rgb: &mut Vec<u8>,
) -> Result<ScanSource, ImagingError> {
    let short = || ImagingError::Corrupt {
        format: Encoding::Tiff,
        reason: "a strip holds fewer samples than its header says".into(),
    };
    match pixels {
        DecodingResult::U8(v) => {
            let v = v.get(..count).ok_or_else(short)?;
            if dual_energy {
                let wide: Vec<u16> = v.iter().map(|&s| s as u16 * 257).collect();
                let mut part = Vec::new();
                palette.render_dual(&wide, &mut part);
                rgb.extend_from_slice(&part);
                Ok(ScanSource::DualEnergy)
            } else {
                rgb.extend_from_slice(&to_rgb(v, samples, |s| s));
                Ok(source_of(samples, 8))
            }
        }
        DecodingResult::U16(v) => {
            let v = v.get(..count).ok_or_else(short)?;
            if dual_energy {
                let mut part = Vec::new();
                palette.render_dual(v, &mut part);
                rgb.extend_from_slice(&part);
                Ok(ScanSource::DualEnergy)
            } else {
                rgb.extend_from_slice(&to_rgb(v, samples, |s| (s >> 8) as u8));
                Ok(source_of(samples, 16))
            }
        }
        _ => Err(ImagingError::Corrupt {
            format: Encoding::Tiff,
            reason: "its samples are neither 8- nor 16-bit".into(),
        }),
    }
}

/// Two samples a pixel: low and high energy.
pub(super) fn tiff_dual_energy(colour: ColorType) -> bool {
    matches!(colour, ColorType::GrayA(_))
        || matches!(colour, ColorType::Multiband { num_samples: 2, .. })
}

/// Whether an encoded scan holds dual-energy data (rendered through a palette), from its
/// header alone: raw data with 2 channels, or a TIFF with 2 samples a pixel.
pub fn is_dual_energy(bytes: &[u8], declared: Option<Encoding>, channels: u32) -> bool {
    match declared.or_else(|| Encoding::sniff(bytes)) {
        Some(Encoding::RawU16) => channels == 2,
        Some(Encoding::Tiff) => tiff::decoder::Decoder::new(Cursor::new(bytes))
            .and_then(|mut d| d.colortype())
            .is_ok_and(tiff_dual_energy),
        _ => false,
    }
}

fn source_of(samples: u16, bits: u8) -> ScanSource {
    match (samples, bits) {
        (1, 8) => ScanSource::Gray8,
        (1, _) => ScanSource::Gray16,
        (_, 8) => ScanSource::Rgb8,
        _ => ScanSource::Rgb16,
    }
}

/// Gray is replicated; RGB kept; a fourth sample (alpha) dropped.
fn to_rgb<T: Copy>(samples: &[T], per_pixel: u16, to_u8: impl Fn(T) -> u8) -> Vec<u8> {
    let per_pixel = per_pixel as usize;
    let mut rgb = Vec::with_capacity(samples.len() / per_pixel * 3);
    for px in samples.chunks_exact(per_pixel) {
        if per_pixel < 3 {
            let v = to_u8(px[0]);
            rgb.extend_from_slice(&[v, v, v]);
        } else {
            rgb.extend_from_slice(&[to_u8(px[0]), to_u8(px[1]), to_u8(px[2])]);
        }
    }
    rgb
}

fn decode_raw(
    bytes: &[u8],
    raw: Option<RawLayout>,
    limits: &ImageLimits,
    palette: &Palette,
) -> Result<DecodedScan, ImagingError> {
    let layout = match raw {
        Some(l) if l.width > 0 && l.height > 0 && l.channels > 0 => l,
        other => {
            let l = other.unwrap_or(RawLayout {
                width: 0,
                height: 0,
                channels: 0,
            });
            return Err(ImagingError::RawLayoutMissing {
                width: l.width,
                height: l.height,
                channels: l.channels,
            });
        }
    };
    if !(1..=3).contains(&layout.channels) {
        return Err(ImagingError::RawChannels(layout.channels));
    }
    check_dimensions(layout.width, layout.height, limits)?;
    let expected = layout.width as u64 * layout.height as u64 * layout.channels as u64 * 2;
    if bytes.len() as u64 != expected {
        return Err(ImagingError::RawSizeMismatch {
            width: layout.width,
            height: layout.height,
            channels: layout.channels,
            expected,
            found: bytes.len(),
        });
    }
    let sample = |b: &[u8]| u16::from_le_bytes([b[0], b[1]]);
    let pixels = layout.width as usize * layout.height as usize;
    let mut rgb = Vec::with_capacity(pixels * 3);
    let source = match layout.channels {
        1 => {
            for px in bytes.chunks_exact(2) {
                let v = (sample(px) >> 8) as u8;
                rgb.extend_from_slice(&[v, v, v]);
            }
            ScanSource::Gray16
        }
        2 => {
            // Written in place into a sized buffer: no capacity check per pixel on this hot
            // path (raw scans are the scanners' native output).
            rgb.resize(pixels * 3, 0);
            for (px, out) in bytes.chunks_exact(4).zip(rgb.chunks_exact_mut(3)) {
                out.copy_from_slice(&palette.pixel(sample(&px[0..2]), sample(&px[2..4])));
            }
            ScanSource::DualEnergy
        }
        _ => {
            for s in bytes.chunks_exact(2) {
                rgb.push((sample(s) >> 8) as u8);
            }
            ScanSource::Rgb16
        }
    };
    Ok(DecodedScan {
        width: layout.width,
        height: layout.height,
        rgb,
        source,
    })
}

mod cost;
#[cfg(test)]
mod layout_tests;
mod png_rows;
#[cfg(test)]
mod tests;
