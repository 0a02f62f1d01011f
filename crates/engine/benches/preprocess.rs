//! Decode + letterbox of one scan per format and size, on one thread: what the CPU pool
//! spends per scan before the model. Target (issue 4): a 1024x768 pseudo-colour PNG in at
//! most 8 ms, a raw u16 dual-energy scan in at most 2 ms.

use std::{hint::black_box, io::Cursor};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use image::{DynamicImage, ImageBuffer, ImageFormat, Rgb};
use xray_engine::imaging::{
    ImageLimits, Palette, PaletteName, RawLayout, decode_scan, letterbox_into,
};
use xray_types::Encoding;

/// The default model's input side.
const INPUT: u32 = 416;

/// A pseudo-colour scan: orange organic background, blue metal blocks, thickness banding.
fn pseudo_colour(width: u32, height: u32) -> DynamicImage {
    DynamicImage::ImageRgb8(ImageBuffer::from_fn(width, height, |x, y| {
        let metal = ((x / 80) * 7 + (y / 60) * 3) % 9 == 0;
        let shade = ((x * 3 + y * 5) % 64) as u8;
        if metal {
            Rgb([40 + shade / 2, 70, 170 + shade])
        } else {
            Rgb([235 - shade, 160 - shade / 2, 60 + shade / 4])
        }
    }))
}

fn encoded(image: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, format).expect("encodes");
    out.into_inner()
}

/// Little-endian u16 low/high energy pairs with smooth transmission and dense blocks.
fn raw_dual_energy(width: u32, height: u32) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(width as usize * height as usize * 4);
    for y in 0..height {
        for x in 0..width {
            let dense = ((x / 90) + (y / 70)) % 5 == 0;
            let low: u16 = if dense {
                9_000
            } else {
                30_000 + ((x * 7 + y * 3) % 20_000) as u16
            };
            let high = low.saturating_add(if dense { 6_000 } else { 9_000 });
            bytes.extend_from_slice(&low.to_le_bytes());
            bytes.extend_from_slice(&high.to_le_bytes());
        }
    }
    bytes
}

fn decode_and_letterbox(c: &mut Criterion) {
    let limits = ImageLimits::default();
    let palette = Palette::new(PaletteName::Classic);
    let mut group = c.benchmark_group("decode+letterbox");
    group.sample_size(20);
    for (width, height) in [(1024u32, 768u32), (2048, 1536)] {
        let image = pseudo_colour(width, height);
        let cases = [
            ("png", encoded(&image, ImageFormat::Png), None),
            ("jpeg", encoded(&image, ImageFormat::Jpeg), None),
            (
                "raw-u16-dual",
                raw_dual_energy(width, height),
                Some(RawLayout {
                    width,
                    height,
                    channels: 2,
                }),
            ),
        ];
        for (format, bytes, raw) in cases {
            let encoding = raw.map(|_| Encoding::RawU16);
            let mut input = vec![0f32; 3 * (INPUT * INPUT) as usize];
            group.throughput(Throughput::Elements(1));
            group.bench_with_input(
                BenchmarkId::new(format, format!("{width}x{height}")),
                &bytes,
                |b, bytes| {
                    b.iter(|| {
                        let scan =
                            decode_scan(bytes, encoding, raw, &limits, &palette).expect("decodes");
                        black_box(letterbox_into(
                            &scan.rgb,
                            scan.width,
                            scan.height,
                            INPUT,
                            INPUT,
                            114,
                            [0.0; 3],
                            [1.0; 3],
                            &mut input,
                        ))
                    })
                },
            );
        }
    }
    group.finish();
}

criterion_group!(benches, decode_and_letterbox);
criterion_main!(benches);
