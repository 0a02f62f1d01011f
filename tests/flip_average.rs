//! Flip averaging with the shipped model's real ONNX file: the averaged output of a mirrored
//! scan is the mirror of the averaged output of the scan (each anchor at its mirror position on
//! its grid, centre x reflected). That holds only when the mirrored run is mapped back onto the
//! right anchors; the model alone is not mirror-symmetric, which the test also checks.

use std::path::Path;

use xray_engine::model::{ModelInstance, ModelSpec, OrtRuntime, SessionOptions};

const SIZE: usize = 416;
const STRIDES: [usize; 3] = [8, 16, 32];

/// A real scan from test-images/, stretched to the model's input, as `[3, H, W]` in 0..1.
fn scan_tensor() -> Vec<f32> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("test-images/s5000_000000.png");
    let rgb = image::open(&path)
        .expect("test image decodes")
        .resize_exact(
            SIZE as u32,
            SIZE as u32,
            image::imageops::FilterType::Triangle,
        )
        .to_rgb8();
    let mut out = vec![0f32; 3 * SIZE * SIZE];
    for (x, y, p) in rgb.enumerate_pixels() {
        for c in 0..3 {
            out[c * SIZE * SIZE + y as usize * SIZE + x as usize] = f32::from(p[c]) / 255.0;
        }
    }
    out
}

fn mirror_image(t: &[f32]) -> Vec<f32> {
    t.chunks_exact(SIZE)
        .flat_map(|row| row.iter().rev().copied())
        .collect()
}

/// Output `[rows, A]` with every anchor moved to its mirror position and cx reflected.
fn mirror_output(out: &[f32], rows: usize) -> Vec<f32> {
    let anchors = out.len() / rows;
    let mut m = vec![0f32; out.len()];
    for r in 0..rows {
        let mut offset = r * anchors;
        for s in STRIDES {
            let g = SIZE / s;
            for i in 0..g {
                for j in 0..g {
                    let v = out[offset + i * g + j];
                    m[offset + i * g + (g - 1 - j)] = if r == 0 { SIZE as f32 - v } else { v };
                }
            }
            offset += g * g;
        }
    }
    m
}

/// The largest difference, relative where values exceed 1 (boxes are in pixels).
fn largest_gap(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs() / x.abs().max(1.0))
        .fold(0.0, f32::max)
}

#[test]
fn the_averaged_output_of_a_mirrored_scan_is_the_mirrored_output() {
    let runtime = OrtRuntime::init(None).expect("ONNX Runtime (run make setup)");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/xray-detector");
    let mut spec = ModelSpec::load(&dir).expect("model card");
    assert_eq!(
        (spec.input.width, spec.input.height),
        (SIZE as u32, SIZE as u32)
    );
    let scan = scan_tensor();
    let mirrored = mirror_image(&scan);
    let batch: Vec<f32> = scan.iter().chain(&mirrored).copied().collect();
    let mut run = |flip: bool| {
        spec.output.flip_average = flip;
        let mut opened = ModelInstance::open(
            runtime,
            &spec,
            &dir.join(&spec.file),
            &SessionOptions::default(),
        )
        .expect("model opens");
        assert_eq!(opened.instance.flip_averages(), flip);
        let (dims, data) = opened.instance.infer(2, &batch).expect("runs");
        let per_image = dims[0] * dims[1];
        (
            dims[0],
            data[..per_image].to_vec(),
            data[per_image..].to_vec(),
        )
    };

    let (rows, plain, plain_of_mirror) = run(false);
    // Without averaging the model sees the two differently: scores move by more than a little.
    let scores = 4 * plain.len() / rows;
    let asymmetry = largest_gap(
        &mirror_output(&plain, rows)[scores..],
        &plain_of_mirror[scores..],
    );
    assert!(
        asymmetry > 0.05,
        "the model alone is nearly mirror-symmetric ({asymmetry})"
    );

    let (_, averaged, averaged_of_mirror) = run(true);
    let gap = largest_gap(&mirror_output(&averaged, rows), &averaged_of_mirror);
    assert!(gap < 1e-3, "averaged outputs differ from mirrors by {gap}");
    // And the average is each anchor's mean with its mirror's, the plain run's values included.
    let expected: Vec<f32> = plain
        .iter()
        .zip(mirror_output(&plain_of_mirror, rows))
        .map(|(a, b)| 0.5 * (a + b))
        .collect();
    let gap = largest_gap(&averaged, &expected);
    assert!(
        gap < 1e-3,
        "averaged output is not the mean of the two runs ({gap})"
    );
}
