//! One model instance: an ort session with what it takes to run a batch of letterboxed images
//! through it. `Session::run` takes `&mut self`, so an instance belongs to one thread.

use std::path::Path;

use ort::{
    session::Session,
    value::{TensorElementType, TensorRef},
};

use super::{
    ExecutionProvider, FlipAverage, ModelError, ModelSpec, OrtRuntime, SessionOptions,
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
    /// Set when model.toml asks for flip averaging; `doubled` is its reused batch of the
    /// images and their mirrors.
    flip: Option<FlipAverage>,
    doubled: Vec<f32>,
}

/// An instance opened from a model folder, checked and warmed up.
pub struct OpenedInstance {
    pub instance: ModelInstance,
    pub provider: ExecutionProvider,
    /// The largest batch to form: model.toml's `max_batch`, or 1 when the ONNX file fixes
    /// its batch dimension at 1.
    pub max_batch: usize,
    /// The per-image output dims the warm-up run gave (what a client of the raw output
    /// gets).
    pub output_dims: [usize; 2],
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
            Some(1) if spec.output.flip_average => {
                return Err(ModelError::Mismatch {
                    model: spec.name.clone(),
                    what: "output.flip_average runs each batch with its mirrors, but the ONNX \
                           batch dimension is fixed at 1; export it dynamic"
                        .into(),
                });
            }
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
        let (height, width) = (spec.input.height as usize, spec.input.width as usize);
        let mut instance = ModelInstance {
            session,
            model: spec.name.clone(),
            input_name: spec.input.name.clone(),
            output_name: spec.output.name.clone(),
            height,
            width,
            flip: spec
                .output
                .flip_average
                .then(|| FlipAverage::new(&spec.output.strides, height, width)),
            doubled: Vec::new(),
        };
        let zeros = vec![0f32; instance.input_len() * max_batch];
        let (output_dims, _) =
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
            output_dims,
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

    /// Whether each batch also runs mirrored (model.toml's `flip_average`).
    pub fn flip_averages(&self) -> bool {
        self.flip.is_some()
    }

    /// Runs `n` images laid end to end in `input`; returns the per-image output dims and the
    /// whole output (`n` times their product). With flip averaging the session runs the `n`
    /// and their mirrors as one batch of `2n`, and the outputs are averaged back to `n`.
    pub fn infer(&mut self, n: usize, input: &[f32]) -> Result<([usize; 2], Vec<f32>), String> {
        if input.len() != n * self.input_len() {
            return Err(format!(
                "batch of {n} needs {} input floats, got {}",
                n * self.input_len(),
                input.len()
            ));
        }
        // A clone of three grid sizes, so that the session can be borrowed mutably.
        let Some(flip) = self.flip.clone() else {
            return self.run(n, input);
        };
        let mut doubled = std::mem::take(&mut self.doubled);
        doubled.clear();
        doubled.extend_from_slice(input);
        flip.append_mirrored(input, &mut doubled);
        let result = self
            .run(2 * n, &doubled)
            .and_then(|(dims, data)| Ok((dims, flip.average(&data, n, dims)?)));
        self.doubled = doubled;
        result
    }

    fn run(&mut self, n: usize, input: &[f32]) -> Result<([usize; 2], Vec<f32>), String> {
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

/// Checks the ONNX inputs and outputs against model.toml. Returns the batch dimension when
/// the ONNX file fixes it.
fn check_io(session: &Session, spec: &ModelSpec) -> Result<Option<i64>, ModelError> {
    let mismatch = |what: String| ModelError::Mismatch {
        model: spec.name.clone(),
        what,
    };
    let describe = |outlets: &[ort::value::Outlet]| {
        outlets
            .iter()
            .map(|o| format!("{:?} {}", o.name(), o.dtype()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let input = session
        .inputs()
        .iter()
        .find(|o| o.name() == spec.input.name)
        .ok_or_else(|| {
            mismatch(format!(
                "model.toml names input {:?} but the ONNX inputs are: {}",
                spec.input.name,
                describe(session.inputs())
            ))
        })?;
    let want_input = [-1, 3, spec.input.height as i64, spec.input.width as i64];
    let input_dims = tensor_dims(input).filter(|d| d.len() == 4);
    let input_ok = input_dims.as_ref().is_some_and(|dims| {
        dims.iter()
            .zip(want_input)
            .enumerate()
            .all(|(i, (&got, want))| got < 0 || i == 0 || got == want)
    });
    if !input_ok {
        return Err(mismatch(format!(
            "model.toml says input {:?} is float [N, 3, {}, {}] but the ONNX file has {}",
            spec.input.name,
            spec.input.height,
            spec.input.width,
            input.dtype()
        )));
    }
    let output = session
        .outputs()
        .iter()
        .find(|o| o.name() == spec.output.name)
        .ok_or_else(|| {
            mismatch(format!(
                "model.toml names output {:?} but the ONNX outputs are: {}",
                spec.output.name,
                describe(session.outputs())
            ))
        })?;
    let expected = spec.layout.expected_dims(spec.classes.len());
    let output_ok = tensor_dims(output)
        .filter(|d| d.len() == 3)
        .is_some_and(|dims| {
            expected
                .iter()
                .zip(&dims[1..])
                .all(|(want, &got)| got < 0 || want.is_none_or(|w| w as i64 == got))
        });
    if !output_ok {
        let show = |d: Option<usize>| d.map_or("?".to_string(), |v| v.to_string());
        return Err(mismatch(format!(
            "model.toml says layout {:?} with {} classes, so output {:?} should be float [N, {}, {}], but the ONNX file has {}",
            spec.layout,
            spec.classes.len(),
            spec.output.name,
            show(expected[0]),
            show(expected[1]),
            output.dtype()
        )));
    }
    Ok(input_dims.and_then(|d| (d[0] > 0).then_some(d[0])))
}

/// A float tensor's dims (-1 where dynamic); None for anything else.
fn tensor_dims(outlet: &ort::value::Outlet) -> Option<Vec<i64>> {
    if outlet.dtype().tensor_type() != Some(TensorElementType::Float32) {
        return None;
    }
    outlet.dtype().tensor_shape().map(|s| s.to_vec())
}
