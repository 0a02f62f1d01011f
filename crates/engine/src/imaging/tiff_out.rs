//! Writing raw dual-energy scans as TIFF: two 16-bit samples a pixel (low, high energy),
//! the layout `decode_scan` reads back as dual-energy.

use std::io::Cursor;

use tiff::{
    encoder::{TiffEncoder, colortype::ColorType},
    tags::{PhotometricInterpretation, SampleFormat},
};

/// Interleaved low/high 16-bit transmissions.
struct DualEnergy16;

impl ColorType for DualEnergy16 {
    type Inner = u16;
    const TIFF_VALUE: PhotometricInterpretation = PhotometricInterpretation::BlackIsZero;
    const BITS_PER_SAMPLE: &'static [u16] = &[16, 16];
    const SAMPLE_FORMAT: &'static [SampleFormat] = &[SampleFormat::Uint, SampleFormat::Uint];

    fn horizontal_predict(row: &[u16], result: &mut Vec<u16>) {
        // Each sample minus the same sample of the previous pixel.
        result.extend_from_slice(&row[..row.len().min(2)]);
        result.extend(
            row.iter()
                .zip(row.iter().skip(2))
                .map(|(prev, cur)| cur.wrapping_sub(*prev)),
        );
    }
}

/// Encodes `samples` (low, high, low, high, ... row by row) as a 2-sample 16-bit TIFF.
pub fn encode_dual_energy_tiff(
    width: u32,
    height: u32,
    samples: &[u16],
) -> Result<Vec<u8>, tiff::TiffError> {
    let mut out = Cursor::new(Vec::new());
    TiffEncoder::new(&mut out)?.write_image::<DualEnergy16>(width, height, samples)?;
    Ok(out.into_inner())
}
