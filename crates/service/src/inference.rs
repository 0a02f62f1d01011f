//! The models as an inference protocol describes them (metadata, configuration, readiness,
//! statistics), and ready tensors run through a model's batcher beside the scans. Scans sent
//! as encoded images through such a protocol take the screening use case, like every scan.

use std::sync::Arc;

use xray_engine::pipeline::{ModelOutput, ServedModel, TensorRequest};
use xray_metrics::{ModelStats, metrics};
use xray_types::Category;

use crate::{
    Error, Service,
    access::{Call, Caller, authorize},
};

/// One served model, as it really runs.
#[derive(Debug, Clone)]
pub struct ModelDescription {
    pub name: String,
    pub version: String,
    /// The ONNX input's name and its per-image size.
    pub input_name: String,
    pub input_height: u32,
    pub input_width: u32,
    /// The ONNX output's name and its per-image dims.
    pub output_name: String,
    pub output_dims: [usize; 2],
    /// The largest batch the batcher forms.
    pub max_batch: usize,
    /// How long the oldest scan waits for its batch to fill, in microseconds.
    pub max_queue_delay_us: u64,
    /// Its classes, by class id.
    pub classes: Vec<(String, Category)>,
}

fn describe(model: &ServedModel) -> ModelDescription {
    let options = model.batcher.options();
    ModelDescription {
        name: model.spec.name.clone(),
        version: model.spec.version.clone(),
        input_name: model.spec.input.name.clone(),
        input_height: model.spec.input.height,
        input_width: model.spec.input.width,
        output_name: model.spec.output.name.clone(),
        output_dims: model.output_dims,
        max_batch: options.max_batch,
        max_queue_delay_us: u64::try_from(options.max_queue_delay.as_micros()).unwrap_or(u64::MAX),
        classes: model
            .spec
            .classes
            .iter()
            .map(|c| (c.name.clone(), c.category))
            .collect(),
    }
}

impl Service {
    /// Every served model (UNAVAILABLE until they are loaded and warmed up).
    pub fn models(&self, caller: &Caller) -> Result<Vec<ModelDescription>, Error> {
        authorize(caller, Call::ReadModels)?;
        Ok(self
            .ready()?
            .pipeline
            .models()
            .map(|m| describe(m))
            .collect())
    }

    /// One served model by name (empty: the default one); NOT_FOUND for another name.
    pub fn model(&self, caller: &Caller, name: &str) -> Result<ModelDescription, Error> {
        authorize(caller, Call::ReadModels)?;
        let name = (!name.is_empty()).then_some(name);
        Ok(describe(self.ready()?.pipeline.model(name)?.as_ref()))
    }

    /// Whether `name` is served and ready (false, not an error, for an unknown name or while
    /// the models load).
    pub fn model_ready(&self, caller: &Caller, name: &str) -> Result<bool, Error> {
        authorize(caller, Call::ReadModels)?;
        let name = (!name.is_empty()).then_some(name);
        Ok(self
            .ready
            .get()
            .is_some_and(|ready| ready.pipeline.model(name).is_ok()))
    }

    /// Each model's cumulative statistics (one model when `name` is given).
    pub fn model_statistics(
        &self,
        caller: &Caller,
        name: Option<&str>,
    ) -> Result<Vec<(ModelDescription, Arc<ModelStats>)>, Error> {
        authorize(caller, Call::Metrics)?;
        let pipeline = &self.ready()?.pipeline;
        let models: Vec<ModelDescription> = match name.filter(|n| !n.is_empty()) {
            Some(name) => vec![describe(pipeline.model(Some(name))?.as_ref())],
            None => pipeline.models().map(|m| describe(m)).collect(),
        };
        Ok(models
            .into_iter()
            .map(|m| {
                let stats = metrics().model_stats.of(&m.name);
                (m, stats)
            })
            .collect())
    }

    /// Runs a ready input tensor through the model's batcher; answers the raw output.
    pub async fn infer_ready(
        &self,
        caller: &Caller,
        request: TensorRequest,
    ) -> Result<ModelOutput, Error> {
        authorize(caller, Call::InferTensors)?;
        if self.is_stopping() {
            return Err(Error::ShuttingDown(
                "send the tensor again once it is back, or to another node".into(),
            ));
        }
        Ok(self.ready()?.pipeline.infer_ready(request).await?)
    }
}
