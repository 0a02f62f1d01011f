//! One executor's throughput per batch size: a model instance behind its batcher, fed exactly
//! one batch of ready inputs at a time (the batch goes when it is full), through to every
//! image's output. Criterion's elements/s is images/s.
//!
//! The model: `XRAY_BENCH_MODEL` (a model folder) if set, else the default model
//! (`models/xray-detector`) once its ONNX file is there, else the conv test fixture.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use xray_engine::{
    batching::{Batcher, BatchingOptions},
    model::{ModelInstance, ModelSpec, OrtRuntime, SessionOptions},
};
use xray_types::Priority;

fn model_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("XRAY_BENCH_MODEL") {
        return PathBuf::from(dir);
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let default = root.join("models/xray-detector");
    if default.join("model.onnx").is_file() {
        default
    } else {
        root.join("tests/fixtures/batching/conv-fixture")
    }
}

fn executor_throughput(c: &mut Criterion) {
    let dir = model_dir();
    let runtime = OrtRuntime::init(None).expect("ONNX Runtime (run make setup)");
    let spec = ModelSpec::load(&dir).expect("model card");
    let onnx = dir.join(&spec.file);
    let mut group = c.benchmark_group(format!("executor/{}", spec.name));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    for batch in [1usize, 2, 4, 8, 16] {
        let opened = ModelInstance::open(runtime, &spec, &onnx, &SessionOptions::default())
            .expect("model opens");
        if batch > opened.max_batch {
            continue;
        }
        let input = vec![0.5f32; opened.instance.input_len()];
        let batcher = Batcher::start(
            &spec.name,
            vec![(opened.instance, opened.provider)],
            BatchingOptions {
                client_share: usize::MAX,
                max_batch: batch,
                // Long: the batch goes when it is full, never on the delay.
                max_queue_delay: Duration::from_secs(60),
                bounds: [batch, batch],
            },
        )
        .expect("batcher starts");
        group.throughput(Throughput::Elements(batch as u64));
        group.bench_function(BenchmarkId::from_parameter(batch), |b| {
            b.iter(|| {
                let receivers: Vec<_> = (0..batch)
                    .map(|_| {
                        let admission = batcher.admit(Priority::Live, 0).expect("room");
                        batcher
                            .submit(admission, input.clone(), None, 0)
                            .expect("queued")
                    })
                    .collect();
                for receiver in receivers {
                    let output = receiver.blocking_recv().expect("answered").expect("ran");
                    assert_eq!(output.batch_size, batch);
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, executor_throughput);
criterion_main!(benches);
