//! What the protocol says about a served model, in either form (encoded scans or ready
//! tensors), whatever the door: its metadata (inputs and outputs with datatypes and shapes,
//! the batch dimension as -1) and its configuration (what `perf_analyzer` reads to plan its
//! requests: the largest batch, the dimensions without the batch, the queue delay).

use xray_service::{Caller, Error, Service, inference::ModelDescription};

use super::infer::{SCAN_INPUT, SCAN_OUTPUTS, TENSOR_SUFFIX, split_name};

/// The server's name and the protocol extensions it offers.
pub const SERVER_NAME: &str = "xray-screen";
pub const EXTENSIONS: [&str; 4] = [
    "model_configuration",
    "statistics",
    "parameters",
    "binary_tensor_data",
];

/// The version the protocol gives every model. Triton's versions are numbers (a model
/// repository's numbered folders), and its tools read them as numbers: perf_analyzer finds a
/// model's statistics under the number. The model's own version (model.toml's, e.g. 0.12.0)
/// is in the configuration's parameters as `model_version`.
pub const PROTOCOL_VERSION: &str = "1";

/// What the platform field says of each form.
pub const SCANS_PLATFORM: &str = "xray-screen_scans";
pub const TENSORS_PLATFORM: &str = "onnxruntime_onnx";

/// One tensor's name, datatype and dims.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorSpec {
    pub name: String,
    pub datatype: &'static str,
    /// Without the batch dimension (the configuration's dims).
    pub dims: Vec<i64>,
}

impl TensorSpec {
    /// The metadata's shape: the batch dimension, -1, first.
    pub fn shape(&self) -> Vec<i64> {
        std::iter::once(-1)
            .chain(self.dims.iter().copied())
            .collect()
    }
}

/// A model in one of its forms.
#[derive(Debug, Clone)]
pub struct ModelView {
    /// Its protocol name (the model's name, with [`TENSOR_SUFFIX`] for ready tensors).
    pub name: String,
    /// The protocol's version, [`PROTOCOL_VERSION`].
    pub version: String,
    /// The model's own version (model.toml's).
    pub model_version: String,
    pub platform: &'static str,
    pub inputs: Vec<TensorSpec>,
    pub outputs: Vec<TensorSpec>,
    pub max_batch_size: i32,
    pub max_queue_delay_us: u64,
}

/// The model a protocol name means, in the form it asks for.
pub fn view_of(service: &Service, caller: &Caller, name: &str) -> Result<ModelView, Error> {
    let (model, tensors) = split_name(name);
    Ok(view(&service.model(caller, model)?, tensors))
}

/// The form of `model` that `tensors` says.
pub fn view(model: &ModelDescription, tensors: bool) -> ModelView {
    let max_batch_size = i32::try_from(model.max_batch).unwrap_or(i32::MAX);
    if tensors {
        let [d1, d2] = model.output_dims;
        return ModelView {
            name: format!("{}{TENSOR_SUFFIX}", model.name),
            version: PROTOCOL_VERSION.to_string(),
            model_version: model.version.clone(),
            platform: TENSORS_PLATFORM,
            inputs: vec![TensorSpec {
                name: model.input_name.clone(),
                datatype: "FP32",
                dims: vec![
                    3,
                    i64::from(model.input_height),
                    i64::from(model.input_width),
                ],
            }],
            outputs: vec![TensorSpec {
                name: model.output_name.clone(),
                datatype: "FP32",
                dims: vec![d1 as i64, d2 as i64],
            }],
            max_batch_size,
            max_queue_delay_us: model.max_queue_delay_us,
        };
    }
    ModelView {
        name: model.name.clone(),
        version: PROTOCOL_VERSION.to_string(),
        model_version: model.version.clone(),
        platform: SCANS_PLATFORM,
        // One element per scan: a request of N scans has shape [N, 1].
        inputs: vec![TensorSpec {
            name: SCAN_INPUT.to_string(),
            datatype: "BYTES",
            dims: vec![1],
        }],
        // Detections of all the request's scans one after another; per scan, how many and
        // whether it raised the alarm.
        outputs: SCAN_OUTPUTS
            .iter()
            .map(|(name, datatype)| TensorSpec {
                name: name.to_string(),
                datatype,
                dims: if *name == "boxes" { vec![4] } else { vec![1] },
            })
            .collect(),
        max_batch_size,
        max_queue_delay_us: model.max_queue_delay_us,
    }
}
