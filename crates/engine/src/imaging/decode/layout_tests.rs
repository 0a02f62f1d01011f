//! Decoding layout by layout: nothing of a scan cut short is decoded, PNG rows and TIFF
//! strips are converted one at a time to the same pixels as a whole-image decode.

use super::{tests::*, *};
use image::{ImageBuffer, ImageFormat, Luma, Rgb};

/// A scan cut short must never be screened as if it were whole, whatever its format: a
/// lenient decoder would fill the missing part in and the model would miss what was there.
#[test]
fn a_scan_cut_short_is_refused_in_every_format() {
    let (w, h) = (64u32, 48u32);
    let rgb = gradient_rgb(w, h);
    let gray16 = DynamicImage::ImageLuma16(ImageBuffer::from_fn(w, h, |x, y| {
        Luma([(x * 997 + y * 331) as u16])
    }));
    let dual: Vec<u16> = (0..w * h * 2).map(|i| (i * 7919 % 65_536) as u16).collect();
    let raw = RawLayout {
        width: w,
        height: h,
        channels: 2,
    };
    let cases = [
        ("PNG", encode(rgb.clone(), ImageFormat::Png), None),
        ("JPEG", encode(rgb.clone(), ImageFormat::Jpeg), None),
        ("TIFF RGB", encode(rgb, ImageFormat::Tiff), None),
        ("TIFF gray16", encode(gray16, ImageFormat::Tiff), None),
        (
            "TIFF dual-energy",
            crate::imaging::encode_dual_energy_tiff(w, h, &dual).expect("tiff"),
            None,
        ),
        ("RAW_U16", raw_bytes(&dual), Some(raw)),
    ];
    for (name, bytes, layout) in cases {
        let encoding = layout.map(|_| Encoding::RawU16);
        let run = |b: &[u8]| decode_scan(b, encoding, layout, &any_size(), &palette());
        run(&bytes).unwrap_or_else(|e| panic!("{name}: whole: {e}"));
        let mut cuts: Vec<usize> = [10, 30, 50, 70, 90, 99]
            .iter()
            .map(|p| bytes.len() * p / 100)
            .collect();
        cuts.push(bytes.len() - 1);
        for cut in cuts {
            let Err(err) = run(&bytes[..cut]) else {
                panic!("{name} cut to {cut} of {} bytes was decoded", bytes.len());
            };
            assert!(
                matches!(
                    err,
                    ImagingError::Truncated { .. }
                        | ImagingError::Corrupt { .. }
                        | ImagingError::RawSizeMismatch { .. }
                ),
                "{name} cut to {cut}: {err}"
            );
        }
    }
}

/// PNGs decoded row by row give exactly what the general decoder gives, in every layout.
#[test]
fn png_rows_match_the_general_decoder_in_every_layout() {
    use image::{LumaA, Rgba};
    let (w, h) = (37u32, 23u32);
    let images = [
        DynamicImage::ImageLuma8(ImageBuffer::from_fn(w, h, |x, y| Luma([(x * 7 + y) as u8]))),
        DynamicImage::ImageLumaA8(ImageBuffer::from_fn(w, h, |x, y| {
            LumaA([(x * 5) as u8, (y * 9) as u8])
        })),
        DynamicImage::ImageLuma16(ImageBuffer::from_fn(w, h, |x, y| {
            Luma([(x * 1771 + y * 13) as u16])
        })),
        DynamicImage::ImageLumaA16(ImageBuffer::from_fn(w, h, |x, y| {
            LumaA([(x * 1500 + y) as u16, 7])
        })),
        gradient_rgb(w, h),
        DynamicImage::ImageRgba8(ImageBuffer::from_fn(w, h, |x, y| {
            Rgba([(x * 3) as u8, (y * 11) as u8, 40, (x + y) as u8])
        })),
        DynamicImage::ImageRgb16(ImageBuffer::from_fn(w, h, |x, y| {
            Rgb([(x * 1700) as u16, (y * 2800) as u16, 51_000])
        })),
        DynamicImage::ImageRgba16(ImageBuffer::from_fn(w, h, |x, y| {
            Rgba([(x * 1700 + 129) as u16, (y * 2800) as u16, 255, 65_535])
        })),
    ];
    for image in images {
        let layout = format!("{:?}", image.color());
        let png = encode(image.clone(), ImageFormat::Png);
        let rows = png_rows::decode_png_rows(&png, &any_size())
            .expect("decodes")
            .expect("not interlaced");
        assert_eq!((rows.width, rows.height), (w, h), "{layout}");
        assert_eq!(rows.rgb, image.into_rgb8().into_raw(), "{layout}");
    }
}

/// TIFFs of many strips are converted strip by strip, with the same pixels as read whole.
#[test]
fn tiff_strips_are_converted_one_at_a_time_to_the_same_pixels() {
    use tiff::encoder::{TiffEncoder, colortype};
    let (w, h) = (300u32, 203u32);
    let rgb = gradient_rgb(w, h).into_rgb8().into_raw();
    let gray: Vec<u16> = (0..w * h).map(|i| (i * 977 % 65_536) as u16).collect();
    let mut rgb_tiff = Cursor::new(Vec::new());
    let mut encoder = TiffEncoder::new(&mut rgb_tiff).expect("encoder");
    let mut image = encoder.new_image::<colortype::RGB8>(w, h).expect("image");
    image.rows_per_strip(16).expect("strips");
    image.write_data(&rgb).expect("data");
    let mut gray_tiff = Cursor::new(Vec::new());
    let mut encoder = TiffEncoder::new(&mut gray_tiff).expect("encoder");
    let mut image = encoder.new_image::<colortype::Gray16>(w, h).expect("image");
    image.rows_per_strip(10).expect("strips");
    image.write_data(&gray).expect("data");
    let (rgb_tiff, gray_tiff) = (rgb_tiff.into_inner(), gray_tiff.into_inner());

    let mut decoder = tiff::decoder::Decoder::new(Cursor::new(rgb_tiff.as_slice())).expect("tiff");
    let strips = chunky_strips(&mut decoder, w, h).expect("chunky strips");
    assert_eq!(strips.len(), 13, "{strips:?}");
    assert_eq!(strips.iter().sum::<u32>(), h);
    assert_eq!(decode(&rgb_tiff, None).expect("rgb").rgb, rgb);

    let scan = decode(&gray_tiff, None).expect("gray16");
    let want: Vec<u8> = gray
        .iter()
        .flat_map(|&g| {
            let v = (g >> 8) as u8;
            [v, v, v]
        })
        .collect();
    assert_eq!(scan.source, ScanSource::Gray16);
    assert_eq!(scan.rgb, want);
    // Cut inside its strips, it is refused.
    assert!(decode(&gray_tiff[..gray_tiff.len() * 2 / 3], None).is_err());
}
