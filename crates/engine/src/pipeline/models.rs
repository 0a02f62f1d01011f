//! The models the pipeline serves: each model the model layer loaded, with the batcher the
//! pipeline started over its instances.

use std::{collections::BTreeMap, path::PathBuf, sync::Arc, time::Duration};

use super::PipelineError;
use crate::{
    batching::{Batcher, BatchingOptions},
    imaging::Palette,
    model::{LoadedModel, ModelRegistry, ModelSpec},
};

/// How every model's scans are queued and batched (server flags).
#[derive(Debug, Clone, Copy)]
pub struct BatchingSettings {
    /// Overrides every model.toml's `max_queue_delay_us`.
    pub max_queue_delay: Option<Duration>,
    /// Scans each priority level may have admitted per model, by `Priority::index`.
    pub queue_bounds: [usize; 2],
    /// Scans one client may have admitted per model and priority level.
    pub client_share: usize,
}

/// A model ready to serve scans.
pub struct ServedModel {
    pub spec: ModelSpec,
    pub dir: PathBuf,
    /// Renders raw dual-energy scans the way this model expects.
    pub palette: Palette,
    /// The model's queue, batching thread and executor threads.
    pub batcher: Batcher,
    /// The per-image output dims (what a client of the raw output gets).
    pub output_dims: [usize; 2],
}

/// Every served model, by name, and the one a scan that names none gets.
pub(super) struct Models {
    by_name: BTreeMap<String, Arc<ServedModel>>,
    default: String,
}

impl Models {
    /// Starts a batcher over each loaded model's instances.
    pub fn start(
        registry: ModelRegistry,
        settings: &BatchingSettings,
    ) -> Result<Self, PipelineError> {
        let (loaded, default) = registry.into_parts();
        let mut by_name = BTreeMap::new();
        for (name, model) in loaded {
            by_name.insert(name, Arc::new(serve(model, settings)?));
        }
        Ok(Self { by_name, default })
    }

    /// The named model, or the default one.
    pub fn get(&self, name: Option<&str>) -> Result<Arc<ServedModel>, PipelineError> {
        let name = name.filter(|n| !n.is_empty()).unwrap_or(&self.default);
        self.by_name
            .get(name)
            .cloned()
            .ok_or_else(|| PipelineError::UnknownModel {
                name: name.to_string(),
                available: self.by_name.keys().cloned().collect::<Vec<_>>().join(", "),
            })
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<ServedModel>> {
        self.by_name.values()
    }
}

fn serve(model: LoadedModel, settings: &BatchingSettings) -> Result<ServedModel, PipelineError> {
    let LoadedModel {
        spec,
        dir,
        palette,
        max_batch,
        output_dims,
        instances,
    } = model;
    let max_queue_delay = settings
        .max_queue_delay
        .unwrap_or(Duration::from_micros(spec.max_queue_delay_us));
    tracing::info!(
        model = %spec.name,
        max_batch,
        max_queue_delay_us = max_queue_delay.as_micros() as u64,
        "batching started"
    );
    let batcher = Batcher::start(
        &spec.name,
        instances,
        BatchingOptions {
            max_batch,
            max_queue_delay,
            bounds: settings.queue_bounds,
            client_share: settings.client_share,
        },
    )
    .map_err(|e| {
        PipelineError::Internal(format!(
            "model {}: cannot start its batching threads: {e}",
            spec.name
        ))
    })?;
    Ok(ServedModel {
        spec,
        dir,
        palette,
        batcher,
        output_dims,
    })
}
