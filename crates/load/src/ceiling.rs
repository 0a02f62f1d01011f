//! The ceiling: how many images per second the model itself runs on this machine, measured
//! on ready input tensors in-process (no gRPC, no decoding, no queue) at several batch sizes.

use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use anyhow::{Context, bail};

use super::CeilingArgs;
use xray_engine::model::{ModelInstance, ModelSpec, OrtRuntime};

/// The throughput at one batch size.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CeilingPoint {
    pub batch_size: usize,
    pub runs: usize,
    pub images_per_second: f64,
    /// Mean time of one run of the whole batch, in milliseconds.
    pub batch_ms: f64,
}

/// The model's ceiling at each measured batch size.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Ceiling {
    pub model: String,
    pub provider: String,
    pub points: Vec<CeilingPoint>,
}

impl Ceiling {
    /// The batch size with the most images per second.
    pub fn best(&self) -> Option<&CeilingPoint> {
        self.points
            .iter()
            .max_by(|a, b| a.images_per_second.total_cmp(&b.images_per_second))
    }
}

/// Measures `model` (or the first model by name) from `args.models_dir`; `progress` is told
/// each point as it is measured.
pub fn measure_ceiling(
    args: &CeilingArgs,
    model: Option<&str>,
    mut progress: impl FnMut(&CeilingPoint),
) -> anyhow::Result<Ceiling> {
    let (dir, spec) = find_model(&args.models_dir, model)?;
    let runtime = OrtRuntime::init(args.runtime.ort_lib.as_deref())?;
    let options = args.runtime.session_options(false);
    let opened = ModelInstance::open(runtime, &spec, &dir.join(&spec.file), &options)?;
    let mut instance = opened.instance;
    let per_image = instance.input_len();
    let largest = args.batch_sizes.iter().copied().max().unwrap_or(1);
    let input = ready_tensor(per_image * largest);
    let budget = Duration::from_secs_f64(args.ceiling_seconds.max(0.1));
    let mut points = Vec::new();
    for &batch in &args.batch_sizes {
        if batch == 0 || batch > opened.max_batch {
            tracing::warn!(
                batch,
                max_batch = opened.max_batch,
                "batch size skipped: over the model's max_batch"
            );
            continue;
        }
        let tensor = &input[..per_image * batch];
        // One run outside the timing: the first run at a new shape allocates.
        instance
            .infer(batch, tensor)
            .map_err(|e| anyhow::anyhow!("model run at batch {batch} failed: {e}"))?;
        let started = Instant::now();
        let mut runs = 0;
        while runs < 2 || started.elapsed() < budget {
            instance
                .infer(batch, tensor)
                .map_err(|e| anyhow::anyhow!("model run at batch {batch} failed: {e}"))?;
            runs += 1;
        }
        let seconds = started.elapsed().as_secs_f64();
        let point = CeilingPoint {
            batch_size: batch,
            runs,
            images_per_second: (runs * batch) as f64 / seconds,
            batch_ms: seconds * 1000.0 / runs as f64,
        };
        progress(&point);
        points.push(point);
    }
    if points.is_empty() {
        bail!(
            "no batch size measured: --batch-sizes {:?} are all over the model's max_batch {}",
            args.batch_sizes,
            opened.max_batch
        );
    }
    Ok(Ceiling {
        model: spec.name,
        provider: opened.provider.to_string(),
        points,
    })
}

/// Letterboxed-looking input: values in 0..1 from a fixed pseudo-random sequence.
fn ready_tensor(len: usize) -> Vec<f32> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 40) as f32 / (1u64 << 24) as f32
        })
        .collect()
}

/// The model folder and card of `name` (or the first model by name) under `dir`.
fn find_model(dir: &Path, name: Option<&str>) -> anyhow::Result<(PathBuf, ModelSpec)> {
    let folders: Vec<PathBuf> = if dir.join("model.toml").is_file() {
        vec![dir.to_path_buf()]
    } else {
        let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
            .with_context(|| format!("cannot read the models folder {}", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.join("model.toml").is_file())
            .collect();
        found.sort();
        found
    };
    let mut names = Vec::new();
    for folder in folders {
        let spec = ModelSpec::load(&folder)?;
        if name.is_none_or(|n| n == spec.name) {
            return Ok((folder, spec));
        }
        names.push(spec.name);
    }
    match name {
        Some(n) => bail!(
            "no model {n:?} in {} (found: {})",
            dir.display(),
            names.join(", ")
        ),
        None => bail!("no models in {} (pass --models-dir)", dir.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_tensor_is_in_unit_range_and_varied() {
        let t = ready_tensor(10_000);
        assert!(t.iter().all(|v| (0.0..1.0).contains(v)));
        let mean = t.iter().sum::<f32>() / t.len() as f32;
        assert!((mean - 0.5).abs() < 0.05, "{mean}");
    }
}
