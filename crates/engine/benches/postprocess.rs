//! Postprocessing of one image's raw output per layout (decode candidates, thresholds,
//! class-aware NMS, undo the letterbox), at the default model's size: 7 classes, 3549
//! anchors (416x416 input) for the YOLO layouts, 300 rows for end-to-end.

use std::{hint::black_box, path::Path};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use xray_engine::{
    detect::{ScoreCut, postprocess},
    imaging::Letterbox,
    model::{ModelSpec, OutputLayout},
};

const CLASSES: usize = 7;
const ANCHORS: usize = 3549;
const END2END_ROWS: usize = 300;
const INPUT: f32 = 416.0;

/// A card like the default model's, in the given layout.
fn spec(layout: &str) -> ModelSpec {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join("tests/fixtures/models/yolov8-fixture");
    let mut spec = ModelSpec::load(&dir).expect("fixture card");
    spec.layout = match layout {
        "yolov8" => OutputLayout::Yolov8,
        "yolov5" => OutputLayout::Yolov5,
        _ => OutputLayout::End2end,
    };
    let template = spec.classes[0].clone();
    spec.classes = (0..CLASSES)
        .map(|i| {
            let mut class = template.clone();
            class.name = format!("class-{i}");
            class.threshold = 0.35;
            class
        })
        .collect();
    spec
}

/// Deterministic pseudo-random values in 0..1.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f32 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        (self.0 >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// A plausible raw output: mostly low scores, a few hundred candidates over the
/// threshold, clustered so that NMS has work.
fn output(layout: OutputLayout) -> (Vec<f32>, [usize; 2]) {
    let mut rng = Lcg(42);
    let row = |rng: &mut Lcg| {
        let cluster = (rng.next() * 12.0).floor();
        let cx = 30.0 + cluster * 30.0 + rng.next() * 8.0;
        let cy = 40.0 + cluster * 25.0 + rng.next() * 8.0;
        let (w, h) = (20.0 + rng.next() * 40.0, 20.0 + rng.next() * 40.0);
        let hot = rng.next() < 0.08;
        let scores: Vec<f32> = (0..CLASSES)
            .map(|c| {
                if hot && c == cluster as usize % CLASSES {
                    0.35 + rng.next() * 0.6
                } else {
                    rng.next() * 0.05
                }
            })
            .collect();
        (cx, cy, w, h, scores)
    };
    match layout {
        OutputLayout::Yolov8 => {
            let mut data = vec![0f32; (4 + CLASSES) * ANCHORS];
            for a in 0..ANCHORS {
                let (cx, cy, w, h, scores) = row(&mut rng);
                for (r, v) in [cx, cy, w, h].into_iter().chain(scores).enumerate() {
                    data[r * ANCHORS + a] = v;
                }
            }
            (data, [4 + CLASSES, ANCHORS])
        }
        OutputLayout::Yolov5 => {
            let mut data = Vec::with_capacity(ANCHORS * (5 + CLASSES));
            for _ in 0..ANCHORS {
                let (cx, cy, w, h, scores) = row(&mut rng);
                let best = scores.iter().copied().fold(0.0f32, f32::max);
                data.extend([cx, cy, w, h, best.max(0.01)]);
                data.extend(scores.iter().map(|s| s / best.max(0.01)));
            }
            (data, [ANCHORS, 5 + CLASSES])
        }
        OutputLayout::End2end => {
            let mut data = Vec::with_capacity(END2END_ROWS * 6);
            for _ in 0..END2END_ROWS {
                let (cx, cy, w, h, scores) = row(&mut rng);
                let (class, score) =
                    scores
                        .iter()
                        .enumerate()
                        .fold(
                            (0, 0.0f32),
                            |best, (i, &s)| if s > best.1 { (i, s) } else { best },
                        );
                data.extend([
                    cx - w / 2.0,
                    cy - h / 2.0,
                    cx + w / 2.0,
                    cy + h / 2.0,
                    score,
                    class as f32,
                ]);
            }
            (data, [END2END_ROWS, 6])
        }
    }
}

fn postprocess_per_layout(c: &mut Criterion) {
    let letterbox = Letterbox::fit(1024, 768, INPUT as u32, INPUT as u32);
    let mut group = c.benchmark_group("postprocess");
    for layout in ["yolov8", "yolov5", "end2end"] {
        let spec = spec(layout);
        let (data, dims) = output(spec.layout);
        group.bench_with_input(BenchmarkId::from_parameter(layout), &data, |b, data| {
            b.iter(|| {
                black_box(
                    postprocess(
                        &spec,
                        data,
                        dims,
                        &letterbox,
                        ScoreCut::from_min_confidence(None),
                    )
                    .expect("shape fits"),
                )
            })
        });
    }
    group.finish();
}

criterion_group!(benches, postprocess_per_layout);
criterion_main!(benches);
