//! The models a server runs: found in a folder at start, checked against their ONNX files,
//! each with its warmed-up instances (sessions). The pipeline starts a batcher over each
//! model's instances; this layer knows nothing of queues.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use super::{ExecutionProvider, ModelError, ModelInstance, ModelSpec, OrtRuntime, SessionOptions};
use crate::imaging::Palette;

/// A model loaded and warmed up, with its instances.
pub struct LoadedModel {
    pub spec: ModelSpec,
    pub dir: PathBuf,
    /// Renders raw dual-energy scans the way this model expects.
    pub palette: Palette,
    /// Batch size the batcher forms at most (1 for a fixed-batch ONNX file).
    pub max_batch: usize,
    /// The per-image output dims of its warm-up run.
    pub output_dims: [usize; 2],
    /// Its sessions, each with the provider it runs on; the pipeline hands them to the
    /// model's executor threads.
    pub instances: Vec<(ModelInstance, ExecutionProvider)>,
}

/// Settings for loading models.
#[derive(Debug, Clone)]
pub struct RegistryOptions {
    pub session: SessionOptions,
    /// The model used when a scan names none; the only one, or the first by name, if unset.
    pub default_model: Option<String>,
    /// Instances (sessions) per model, each for its own executor thread (at least 1).
    pub instances: usize,
}

/// All loaded models, by name.
pub struct ModelRegistry {
    models: BTreeMap<String, LoadedModel>,
    default: String,
}

impl ModelRegistry {
    /// Loads `dir` (a model folder itself, or a folder of model folders).
    pub fn load(
        runtime: &OrtRuntime,
        dir: &Path,
        options: &RegistryOptions,
    ) -> Result<Self, ModelError> {
        let mut models = BTreeMap::new();
        for folder in model_folders(dir)? {
            let model = load_model(runtime, &folder, options)?;
            let name = model.spec.name.clone();
            if models.insert(name.clone(), model).is_some() {
                return Err(ModelError::DuplicateName(name));
            }
        }
        let default = match &options.default_model {
            Some(name) if models.contains_key(name) => name.clone(),
            Some(name) => return Err(unknown(name, &models)),
            None => models
                .keys()
                .next()
                .cloned()
                .ok_or_else(|| ModelError::NoModels {
                    dir: dir.to_path_buf(),
                })?,
        };
        tracing::info!(default = %default, models = ?models.keys().collect::<Vec<_>>(), "models ready");
        Ok(Self { models, default })
    }

    /// The models by name, and the name of the default one.
    pub fn into_parts(self) -> (BTreeMap<String, LoadedModel>, String) {
        (self.models, self.default)
    }
}

fn unknown(name: &str, models: &BTreeMap<String, LoadedModel>) -> ModelError {
    ModelError::UnknownModel {
        name: name.to_string(),
        available: models.keys().cloned().collect::<Vec<_>>().join(", "),
    }
}

fn model_folders(dir: &Path) -> Result<Vec<PathBuf>, ModelError> {
    if dir.join("model.toml").is_file() {
        return Ok(vec![dir.to_path_buf()]);
    }
    let entries = std::fs::read_dir(dir).map_err(|e| ModelError::Config {
        path: dir.to_path_buf(),
        reason: format!("cannot read the models folder: {e}"),
    })?;
    let mut folders: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("model.toml").is_file())
        .collect();
    folders.sort();
    if folders.is_empty() {
        return Err(ModelError::NoModels {
            dir: dir.to_path_buf(),
        });
    }
    Ok(folders)
}

fn load_model(
    runtime: &OrtRuntime,
    dir: &Path,
    options: &RegistryOptions,
) -> Result<LoadedModel, ModelError> {
    let spec = ModelSpec::load(dir)?;
    let onnx = dir.join(&spec.file);
    let mut instances = Vec::new();
    let mut max_batch = spec.max_batch;
    let mut output_dims = [0, 0];
    for _ in 0..options.instances.max(1) {
        let opened = ModelInstance::open(runtime, &spec, &onnx, &options.session)?;
        max_batch = opened.max_batch;
        output_dims = opened.output_dims;
        instances.push((opened.instance, opened.provider));
    }
    let provider = instances[0].1;
    if max_batch == 1 && spec.max_batch > 1 {
        tracing::info!(model = %spec.name, "ONNX batch dimension is fixed at 1: scans run one at a time");
    }
    tracing::info!(
        model = %spec.name,
        version = %spec.version,
        provider = %provider,
        instances = instances.len(),
        max_batch,
        layout = ?spec.layout,
        input = format!("{}x{}", spec.input.width, spec.input.height),
        flip_average = spec.output.flip_average,
        "model loaded and warmed up"
    );
    Ok(LoadedModel {
        palette: Palette::new(spec.input.palette),
        dir: dir.to_path_buf(),
        max_batch,
        output_dims,
        instances,
        spec,
    })
}
