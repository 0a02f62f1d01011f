//! One model instance: an ort session with what it takes to run a batch of letterboxed images
//! through it. `Session::run` takes `&mut self`, so an instance belongs to one thread.

use std::path::Path;

use ort::{session::Session, value::TensorRef};

use super::{
    ExecutionProvider, ModelError, ModelSpec, OrtRuntime, SessionOptions, registry::check_io,
    session::create_session,
};

/// A session of one model, ready to run batches `[n, 3, H, W]`.
pub struct ModelInstance {
    session: Session,
    model: String,
    input_name: String,
    output_name: String,
    height: usize,
    width: usize,
}

/// An instance opened from a model folder, checked and warmed up.
pub struct OpenedInstance {
    pub instance: ModelInstance,
    pub provider: ExecutionProvider,
    /// The largest batch to form: model.toml's `max_batch`, or 1 when the ONNX file fixes
    /// its batch dimension at 1.
    pub max_batch: usize,
}

impl ModelInstance {
    /// Creates a session for `spec` from `onnx` on the configured provider, checks its inputs
    /// and outputs against the spec, and warms it up with one batch of the largest size.
    pub fn open(
        runtime: &OrtRuntime,
        spec: &ModelSpec,
        onnx: &Path,
        options: &SessionOptions,
    ) -> Result<OpenedInstance, ModelError> {
        let (session, provider) = create_session(runtime, &spec.name, onnx, options)?;
        let max_batch = match check_io(&session, spec)? {
            None => spec.max_batch,
            Some(1) => 1,
            Some(fixed) => {
                return Err(ModelError::Mismatch {
                    model: spec.name.clone(),
                    what: format!(
                        "the ONNX batch dimension is fixed at {fixed}; export it dynamic or fixed at 1"
                    ),
                });
            }
        };
        let mut instance = ModelInstance {
            session,
            model: spec.name.clone(),
            input_name: spec.input.name.clone(),
            output_name: spec.output.name.clone(),
            height: spec.input.height as usize,
            width: spec.input.width as usize,
        };
        let zeros = vec![0f32; instance.input_len() * max_batch];
        instance
            .infer(max_batch, &zeros)
            .map_err(|reason| ModelError::Session {
                model: spec.name.clone(),
                path: onnx.to_path_buf(),
                reason: format!("warm-up run failed: {reason}"),
            })?;
        Ok(OpenedInstance {
            instance,
            provider,
            max_batch,
        })
    }

    /// The model's name.
    pub fn model(&self) -> &str {
        &self.model
    }

    /// Floats in one image's input (`3 x H x W`).
    pub fn input_len(&self) -> usize {
        3 * self.height * self.width
    }

    /// Runs `n` images laid end to end in `input`; returns the per-image output dims and the
    /// whole output (`n` times their product).
    pub fn infer(&mut self, n: usize, input: &[f32]) -> Result<([usize; 2], Vec<f32>), String> {
        if input.len() != n * self.input_len() {
            return Err(format!(
                "batch of {n} needs {} input floats, got {}",
                n * self.input_len(),
                input.len()
            ));
        }
        let tensor = TensorRef::from_array_view(([n, 3, self.height, self.width], input))
            .map_err(|e| e.to_string())?;
        let outputs = self
            .session
            .run(ort::inputs![self.input_name.as_str() => tensor])
            .map_err(|e| e.to_string())?;
        let value = outputs
            .get(&self.output_name)
            .ok_or_else(|| format!("no output named {:?}", self.output_name))?;
        let (shape, data) = value
            .try_extract_tensor::<f32>()
            .map_err(|e| e.to_string())?;
        match **shape {
            [batch, d1, d2] if batch as usize == n && d1 >= 0 && d2 >= 0 => {
                Ok(([d1 as usize, d2 as usize], data.to_vec()))
            }
            _ => Err(format!(
                "output {:?} has shape {shape:?}; expected [{n}, d1, d2]",
                self.output_name
            )),
        }
    }
}
