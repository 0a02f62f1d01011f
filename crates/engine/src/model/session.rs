//! Creating an ort session on the execution provider the operator asked for, with a logged
//! fallback to CPU (or a start-up error under `--require-gpu`).

use std::{fmt, path::Path};

use ort::session::Session;

use super::{ModelError, OrtRuntime};

/// `--device`: where models run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Device {
    /// CUDA when this build has it and a GPU registers, CPU otherwise.
    #[default]
    Auto,
    Cpu,
    Cuda,
}

/// The execution provider a session really runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecutionProvider {
    Cpu,
    Cuda { device_id: i32 },
}

impl fmt::Display for ExecutionProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExecutionProvider::Cpu => f.write_str("cpu"),
            ExecutionProvider::Cuda { device_id } => write!(f, "cuda:{device_id}"),
        }
    }
}

/// Execution settings shared by every model.
#[derive(Debug, Clone)]
pub struct SessionOptions {
    pub device: Device,
    /// With `Auto`, a missing GPU is an error instead of a CPU fallback.
    pub require_gpu: bool,
    pub gpu_device_id: i32,
    /// ONNX Runtime intra-op threads per session (0: ONNX Runtime's default, all cores).
    pub intra_threads: usize,
    /// Whether idle intra-op threads spin-wait for work (ONNX Runtime's default) instead of
    /// sleeping: faster between operators on an idle machine, but it takes the cores that
    /// decode scans, so the service turns it off unless asked.
    pub intra_spinning: bool,
}

impl Default for SessionOptions {
    fn default() -> Self {
        Self {
            device: Device::Auto,
            require_gpu: false,
            gpu_device_id: 0,
            intra_threads: 0,
            intra_spinning: false,
        }
    }
}

/// Builds a session for `model` from `path`, on CUDA when asked and possible.
pub fn create_session(
    runtime: &OrtRuntime,
    model: &str,
    path: &Path,
    options: &SessionOptions,
) -> Result<(Session, ExecutionProvider), ModelError> {
    let wants_gpu = options.require_gpu || options.device == Device::Cuda;
    if options.device == Device::Cpu {
        if options.require_gpu {
            return Err(ModelError::GpuUnavailable(
                "--require-gpu contradicts --device cpu".into(),
            ));
        }
        return Ok((
            cpu_session(runtime, model, path, options)?,
            ExecutionProvider::Cpu,
        ));
    }
    match cuda_session(runtime, model, path, options) {
        Ok(session) => Ok((
            session,
            ExecutionProvider::Cuda {
                device_id: options.gpu_device_id,
            },
        )),
        Err(reason) if wants_gpu => Err(ModelError::GpuUnavailable(format!(
            "model {model}: {reason}"
        ))),
        Err(reason) if cfg!(feature = "cuda") => {
            tracing::warn!(model, %reason, "CUDA execution provider unavailable; falling back to CPU");
            Ok((
                cpu_session(runtime, model, path, options)?,
                ExecutionProvider::Cpu,
            ))
        }
        Err(reason) => {
            tracing::info!(model, %reason, "running on CPU");
            Ok((
                cpu_session(runtime, model, path, options)?,
                ExecutionProvider::Cpu,
            ))
        }
    }
}

fn base_builder(
    runtime: &OrtRuntime,
    options: &SessionOptions,
) -> Result<ort::session::builder::SessionBuilder, String> {
    let builder = Session::builder(&runtime.environment)
        .map_err(|e| e.to_string())?
        .with_intra_op_spinning(options.intra_spinning)
        .map_err(|e| e.to_string())?;
    if options.intra_threads > 0 {
        builder
            .with_intra_threads(options.intra_threads)
            .map_err(|e| e.to_string())
    } else {
        Ok(builder)
    }
}

fn cpu_session(
    runtime: &OrtRuntime,
    model: &str,
    path: &Path,
    options: &SessionOptions,
) -> Result<Session, ModelError> {
    let session_err = |reason: String| ModelError::Session {
        model: model.to_string(),
        path: path.to_path_buf(),
        reason,
    };
    base_builder(runtime, options)
        .map_err(session_err)?
        .commit_from_file(path)
        .map_err(|e| session_err(e.to_string()))
}

#[cfg(feature = "cuda")]
fn cuda_session(
    runtime: &OrtRuntime,
    _model: &str,
    path: &Path,
    options: &SessionOptions,
) -> Result<Session, String> {
    use ort::ep::ExecutionProvider as _;
    if !ort::ep::CUDA::is_available().unwrap_or(false) {
        return Err(format!(
            "the ONNX Runtime library at {} has no CUDA execution provider (install the GPU build: make setup GPU=1)",
            runtime.library.display()
        ));
    }
    let cuda = ort::ep::CUDA::default()
        .with_device_id(options.gpu_device_id)
        .build()
        .error_on_failure();
    base_builder(runtime, options)?
        .with_execution_providers([cuda])
        .map_err(|e| format!("CUDA execution provider did not register: {e}"))?
        .commit_from_file(path)
        .map_err(|e| format!("session on CUDA failed: {e}"))
}

#[cfg(not(feature = "cuda"))]
fn cuda_session(
    _runtime: &OrtRuntime,
    _model: &str,
    _path: &Path,
    _options: &SessionOptions,
) -> Result<Session, String> {
    Err("this binary was built without CUDA support (build with --features cuda)".into())
}
