//! The synthetic scan generator: time to compose one scan (materials, objects, Beer-Lambert
//! stacking, detector effects) at the default scene options, which bounds how fast `synth`
//! makes training data (it runs one scan per worker thread).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use xray_synth::{SceneOptions, generate_scan};

fn generate(c: &mut Criterion) {
    let options = SceneOptions::default();
    let mut index = 0u64;
    let mut group = c.benchmark_group("synth");
    group.sample_size(20);
    // A new index each iteration: scans differ in size and content, as in a data set.
    group.bench_function("generate_scan/default", |b| {
        b.iter(|| {
            index += 1;
            black_box(generate_scan(1, index % 64, &options))
        })
    });
    group.finish();
}

criterion_group!(benches, generate);
criterion_main!(benches);
