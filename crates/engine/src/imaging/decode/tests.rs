//! Decoding every accepted format, and refusing what breaks a limit or is not an image.

use super::*;
use crate::imaging::PaletteName;
use image::{ImageBuffer, ImageFormat, Luma, Rgb};

/// The default limits but for the smallest side, so that tiny test images decode.
pub(super) fn any_size() -> ImageLimits {
    ImageLimits {
        min_side: 1,
        ..ImageLimits::default()
    }
}

pub(super) fn palette() -> Palette {
    Palette::new(PaletteName::Classic)
}

pub(super) fn encode(image: DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, format).expect("encode test image");
    out.into_inner()
}

pub(super) fn gradient_rgb(w: u32, h: u32) -> DynamicImage {
    DynamicImage::ImageRgb8(ImageBuffer::from_fn(w, h, |x, y| {
        Rgb([(x * 7) as u8, (y * 5) as u8, 200])
    }))
}

pub(super) fn decode(bytes: &[u8], enc: Option<Encoding>) -> Result<DecodedScan, ImagingError> {
    decode_scan(bytes, enc, None, &any_size(), &palette())
}

#[test]
fn png_rgb8_round_trips_exactly() {
    let img = gradient_rgb(31, 17);
    let scan = decode(&encode(img.clone(), ImageFormat::Png), None).expect("decodes");
    assert_eq!((scan.width, scan.height), (31, 17));
    assert_eq!(scan.rgb, img.into_rgb8().into_raw());
    assert_eq!(scan.source, ScanSource::Rgb8);
}

#[test]
fn png_gray16_is_scaled_to_8_bits() {
    let img =
        DynamicImage::ImageLuma16(ImageBuffer::from_fn(4, 2, |x, _| Luma([x as u16 * 20000])));
    let scan = decode(&encode(img, ImageFormat::Png), Some(Encoding::Png)).expect("decodes");
    assert_eq!(scan.source, ScanSource::Gray16);
    // 60000 / 257 = 233.4: gray replicated into three channels.
    assert_eq!(&scan.rgb[9..12], &[233, 233, 233]);
    assert_eq!(&scan.rgb[0..3], &[0, 0, 0]);
}

#[test]
fn jpeg_decodes_close_to_source() {
    let img = DynamicImage::ImageRgb8(ImageBuffer::from_pixel(32, 24, Rgb([200, 120, 40])));
    let scan = decode(&encode(img, ImageFormat::Jpeg), Some(Encoding::Jpeg)).expect("decodes");
    assert_eq!((scan.width, scan.height), (32, 24));
    let px = &scan.rgb[(12 * 32 + 16) * 3..][..3];
    for (got, want) in px.iter().zip([200u8, 120, 40]) {
        assert!((*got as i32 - want as i32).abs() <= 4, "{px:?}");
    }
}

#[test]
fn tiff_gray8_and_gray16() {
    let g8 = DynamicImage::ImageLuma8(ImageBuffer::from_fn(5, 3, |x, _| Luma([x as u8 * 50])));
    let scan = decode(&encode(g8, ImageFormat::Tiff), Some(Encoding::Tiff)).expect("gray8");
    assert_eq!(scan.source, ScanSource::Gray8);
    assert_eq!(&scan.rgb[12..15], &[200, 200, 200]);

    let g16 =
        DynamicImage::ImageLuma16(ImageBuffer::from_fn(5, 3, |x, _| Luma([x as u16 * 0x1000])));
    let scan = decode(&encode(g16, ImageFormat::Tiff), None).expect("gray16");
    assert_eq!(scan.source, ScanSource::Gray16);
    assert_eq!(&scan.rgb[12..15], &[0x40, 0x40, 0x40]);
}

#[test]
fn tiff_rgb8() {
    let img = gradient_rgb(9, 4);
    let scan = decode(&encode(img.clone(), ImageFormat::Tiff), None).expect("rgb8");
    assert_eq!(scan.rgb, img.into_rgb8().into_raw());
}

#[test]
fn tiff_two_channel_16_bit_is_dual_energy() {
    // Left half air, right half an organic slab (low energy attenuated 1.3x the high).
    let low = (-1.3f32).exp() * 65535.0;
    let high = (-1.0f32).exp() * 65535.0;
    let samples: Vec<u16> = (0..2)
        .flat_map(|_| {
            (0..8).flat_map(|x| {
                if x < 4 {
                    [65535, 65535]
                } else {
                    [low as u16, high as u16]
                }
            })
        })
        .collect();
    let tiff = crate::imaging::encode_dual_energy_tiff(8, 2, &samples).expect("encode");
    let scan = decode(&tiff, Some(Encoding::Tiff)).expect("dual");
    assert_eq!(scan.source, ScanSource::DualEnergy);
    assert_eq!(&scan.rgb[0..3], &palette().pixel(65535, 65535));
    assert_eq!(&scan.rgb[15..18], &palette().pixel(low as u16, high as u16));
    assert!(
        scan.rgb[15] > scan.rgb[17],
        "organic is orange, not blue: {:?}",
        &scan.rgb[15..18]
    );
}

pub(super) fn raw_bytes(samples: &[u16]) -> Vec<u8> {
    samples.iter().flat_map(|s| s.to_le_bytes()).collect()
}

#[test]
fn raw_dual_energy_uses_the_palette() {
    let samples = [65535, 65535, 20000, 30000, 1000, 9000];
    let layout = RawLayout {
        width: 3,
        height: 1,
        channels: 2,
    };
    let scan = decode_scan(
        &raw_bytes(&samples),
        Some(Encoding::RawU16),
        Some(layout),
        &any_size(),
        &palette(),
    )
    .expect("raw");
    assert_eq!(scan.source, ScanSource::DualEnergy);
    assert_eq!(&scan.rgb[3..6], &palette().pixel(20000, 30000));
    assert_eq!(&scan.rgb[6..9], &palette().pixel(1000, 9000));
}

#[test]
fn raw_single_channel_and_rgb() {
    let layout = RawLayout {
        width: 2,
        height: 1,
        channels: 1,
    };
    let scan = decode_scan(
        &raw_bytes(&[0x1234, 0xFF00]),
        Some(Encoding::RawU16),
        Some(layout),
        &any_size(),
        &palette(),
    )
    .expect("gray");
    assert_eq!(scan.rgb, vec![0x12, 0x12, 0x12, 0xFF, 0xFF, 0xFF]);
    let layout = RawLayout {
        width: 1,
        height: 1,
        channels: 3,
    };
    let scan = decode_scan(
        &raw_bytes(&[0x0100, 0x0200, 0x0300]),
        Some(Encoding::RawU16),
        Some(layout),
        &any_size(),
        &palette(),
    )
    .expect("rgb");
    assert_eq!(scan.rgb, vec![1, 2, 3]);
}

#[test]
fn raw_refusals_name_the_problem() {
    let limits = any_size();
    let p = palette();
    let err = decode_scan(&[0; 8], Some(Encoding::RawU16), None, &limits, &p).unwrap_err();
    assert!(
        matches!(err, ImagingError::RawLayoutMissing { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("width, height and channels"));

    let layout = RawLayout {
        width: 4,
        height: 4,
        channels: 2,
    };
    let err = decode_scan(&[0; 63], Some(Encoding::RawU16), Some(layout), &limits, &p).unwrap_err();
    assert!(
        matches!(
            err,
            ImagingError::RawSizeMismatch {
                expected: 64,
                found: 63,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "RAW_U16 data is 63 bytes but 4x4x2 u16 samples need 64 bytes"
    );

    let layout = RawLayout {
        width: 1,
        height: 1,
        channels: 4,
    };
    let err = decode_scan(&[0; 8], Some(Encoding::RawU16), Some(layout), &limits, &p).unwrap_err();
    assert!(matches!(err, ImagingError::RawChannels(4)), "{err}");
}

#[test]
fn corrupt_and_truncated_png_are_refused() {
    let png = encode(gradient_rgb(64, 64), ImageFormat::Png);
    let err = decode(&png[..png.len() / 2], None).unwrap_err();
    assert!(
        matches!(
            err,
            ImagingError::Truncated {
                format: Encoding::Png,
                ..
            }
        ),
        "{err}"
    );

    let mut garbled = png.clone();
    for b in garbled[40..120].iter_mut() {
        *b ^= 0x5A;
    }
    let err = decode(&garbled, None).unwrap_err();
    assert!(matches!(err, ImagingError::Corrupt { .. }), "{err}");
}

#[test]
fn unknown_bytes_and_mismatched_encoding_are_refused() {
    let err = decode(b"GIF89a......", None).unwrap_err();
    assert!(matches!(err, ImagingError::UnknownFormat { .. }), "{err}");
    assert!(err.to_string().contains("47 49 46"));

    let png = encode(gradient_rgb(4, 4), ImageFormat::Png);
    let err = decode(&png, Some(Encoding::Jpeg)).unwrap_err();
    assert_eq!(err.to_string(), "encoding says JPEG but the bytes are PNG");

    let err = decode(b"not a png", Some(Encoding::Png)).unwrap_err();
    assert!(err.to_string().starts_with("PNG data is corrupt"), "{err}");
    assert!(matches!(
        decode(&[], None).unwrap_err(),
        ImagingError::Empty
    ));
}

#[test]
fn byte_limit_is_checked_first() {
    let png = encode(gradient_rgb(16, 16), ImageFormat::Png);
    let limits = ImageLimits {
        max_bytes: 100,
        max_pixels: 1_000_000,
        min_side: 1,
    };
    let err = decode_scan(&png, None, None, &limits, &palette()).unwrap_err();
    assert!(
        matches!(err, ImagingError::TooManyBytes { limit: 100, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("--max-image-bytes"));
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A PNG whose header claims 20000x20000 (400 M pixels, 1.2 GB decoded) must be refused
/// from the header alone: its pixel data is a single row, so any attempt to decode it
/// would end in a "corrupt" error instead.
#[test]
fn pixel_limit_refuses_a_decompression_bomb_from_the_header() {
    let mut png = encode(gradient_rgb(1, 1), ImageFormat::Png);
    // IHDR data starts at byte 16: width, height (big-endian), then its CRC at 29..33.
    png[16..20].copy_from_slice(&20_000u32.to_be_bytes());
    png[20..24].copy_from_slice(&20_000u32.to_be_bytes());
    let crc = crc32(&png[12..29]);
    png[29..33].copy_from_slice(&crc.to_be_bytes());
    let limits = ImageLimits {
        max_bytes: 64 << 20,
        max_pixels: 50_000_000,
        min_side: 1,
    };
    let err = decode_scan(&png, None, None, &limits, &palette()).unwrap_err();
    assert!(
        matches!(
            err,
            ImagingError::TooManyPixels {
                width: 20_000,
                height: 20_000,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("400000000 pixels"), "{err}");
    assert!(err.to_string().contains("--max-image-pixels"), "{err}");
    // Under a generous limit the same bytes reach the decoder, which finds them corrupt.
    let roomy = ImageLimits {
        max_bytes: 64 << 20,
        max_pixels: 1 << 40,
        min_side: 1,
    };
    let err = decode_scan(&png, None, None, &roomy, &palette()).unwrap_err();
    assert!(matches!(err, ImagingError::Corrupt { .. }), "{err}");
}

#[test]
fn raw_pixel_limit() {
    let limits = ImageLimits {
        max_bytes: 1 << 20,
        max_pixels: 10,
        min_side: 1,
    };
    let layout = RawLayout {
        width: 4,
        height: 4,
        channels: 1,
    };
    let err = decode_scan(
        &[0; 32],
        Some(Encoding::RawU16),
        Some(layout),
        &limits,
        &palette(),
    )
    .unwrap_err();
    assert!(matches!(err, ImagingError::TooManyPixels { .. }), "{err}");
}

#[test]
fn an_image_under_the_smallest_side_is_refused_from_its_header() {
    let limits = ImageLimits::default();
    let err = decode_scan(
        &encode(gradient_rgb(1, 1), ImageFormat::Png),
        None,
        None,
        &limits,
        &palette(),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            ImagingError::TooSmall {
                width: 1,
                height: 1,
                min: 32
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("--min-image-side"), "{err}");
    let raw = RawLayout {
        width: 200,
        height: 8,
        channels: 1,
    };
    let err = decode_scan(
        &[0; 3200],
        Some(Encoding::RawU16),
        Some(raw),
        &limits,
        &palette(),
    )
    .unwrap_err();
    assert!(matches!(err, ImagingError::TooSmall { .. }), "{err}");
    decode_scan(
        &encode(gradient_rgb(32, 40), ImageFormat::Png),
        None,
        None,
        &limits,
        &palette(),
    )
    .expect("32 pixels a side is enough");
}

/// A DICOS DX of `frames` energies of `w` x `h`, from the project's own writer.
fn dicos(w: u32, h: u32, frames: &[Vec<u16>]) -> Vec<u8> {
    xray_dicos::write_dx(&xray_dicos::DxSpec {
        width: w,
        height: h,
        frames: frames.to_vec(),
        sop_instance_uid: "1.2.826.0.1.3680043.10.1.1".into(),
        study_instance_uid: "1.2.826.0.1.3680043.10.1.2".into(),
        series_instance_uid: "1.2.826.0.1.3680043.10.1.3".into(),
        accession_number: Some("D-1".into()),
        pixel_spacing_mm: Some([1.0, 1.0]),
    })
    .expect("a DX is written")
}

#[test]
fn a_dual_energy_dicos_scan_renders_as_the_same_raw_samples_do() {
    let (w, h) = (23u32, 11u32);
    let low: Vec<u16> = (0..w * h).map(|i| (i * 2711 % 65536) as u16).collect();
    let high: Vec<u16> = (0..w * h).map(|i| (i * 4099 % 65536) as u16).collect();
    let bytes = dicos(w, h, &[low.clone(), high.clone()]);
    assert_eq!(Encoding::sniff(&bytes), Some(Encoding::Dicos));
    let from_dicos = decode(&bytes, None).expect("decodes");
    let raw: Vec<u8> = low
        .iter()
        .zip(&high)
        .flat_map(|(l, h)| [l.to_le_bytes(), h.to_le_bytes()].concat())
        .collect();
    let layout = RawLayout {
        width: w,
        height: h,
        channels: 2,
    };
    let from_raw = decode_scan(
        &raw,
        Some(Encoding::RawU16),
        Some(layout),
        &any_size(),
        &palette(),
    )
    .expect("decodes");
    assert_eq!(from_dicos.source, ScanSource::DualEnergy);
    assert_eq!((from_dicos.width, from_dicos.height), (w, h));
    assert_eq!(from_dicos.rgb, from_raw.rgb);
    // Its cost is known before decoding, and covers what decoding holds.
    let cost = decode_cost(&bytes, None, None, &any_size()).expect("a cost");
    assert!(cost.bytes >= (w * h * 3 + w * h * 4) as u64, "{cost:?}");
}

#[test]
fn dicos_scans_that_break_a_limit_or_are_not_dx_are_refused_with_a_sentence() {
    let one = dicos(40, 30, &[vec![30_000; 40 * 30]]);
    let scan = decode(&one, Some(Encoding::Dicos)).expect("one energy decodes");
    assert_eq!(scan.source, ScanSource::Gray16);
    assert_eq!(&scan.rgb[..3], &[(30_000u16 >> 8) as u8; 3]);

    let small = ImageLimits {
        max_pixels: 1000,
        ..any_size()
    };
    let e = decode_scan(&one, None, None, &small, &palette()).expect_err("over the pixels");
    assert!(e.to_string().contains("DICOS"), "{e}");
    assert!(e.to_string().contains("1000"), "{e}");

    let mut cut = one.clone();
    cut.truncate(cut.len() - 100);
    let e = decode(&cut, None).expect_err("cut short");
    assert!(
        matches!(
            e,
            ImagingError::Corrupt {
                format: Encoding::Dicos,
                ..
            }
        ),
        "{e}"
    );

    let e = decode(
        &encode(gradient_rgb(8, 8), ImageFormat::Png),
        Some(Encoding::Dicos),
    )
    .expect_err("a PNG declared DICOS");
    assert!(matches!(e, ImagingError::EncodingMismatch { .. }), "{e}");
}
