//! The flags that say where ONNX Runtime comes from and how a model's session runs, shared by
//! every command that opens sessions (`serve`, `inspect`, `eval`, `ceiling`) so that they run
//! models alike.

use std::path::PathBuf;

use clap::Args;

use super::{Device, SessionOptions};

/// Where ONNX Runtime comes from and how a model's session runs.
#[derive(Debug, Clone, Args)]
pub struct RuntimeArgs {
    /// ONNX Runtime library [default: .ort/ of the project, then python3's onnxruntime].
    #[arg(long, env = "ORT_DYLIB_PATH")]
    pub ort_lib: Option<PathBuf>,
    /// Execution provider: auto uses CUDA when it registers, CPU otherwise.
    #[arg(long, env = "XRAY_DEVICE", value_enum, default_value_t = Device::Auto)]
    pub device: Device,
    /// CUDA device id.
    #[arg(long, env = "XRAY_GPU_DEVICE_ID", default_value_t = 0)]
    pub gpu_device_id: i32,
    /// ONNX Runtime intra-op threads per model (0: one per core).
    #[arg(long, env = "XRAY_INTRA_THREADS", default_value_t = 0)]
    pub intra_threads: usize,
    /// Whether idle ONNX Runtime threads spin-wait for work (true) or sleep (false). Off by
    /// default: spinning threads take the cores that decode scans (on 2 CPU cores, turning it
    /// off raised the served images/s by half; see BENCHMARKS.md).
    #[arg(long, env = "XRAY_INTRA_SPINNING", default_value_t = false, action = clap::ArgAction::Set)]
    pub intra_spinning: bool,
}

impl RuntimeArgs {
    /// The session settings these flags ask for.
    pub fn session_options(&self, require_gpu: bool) -> SessionOptions {
        SessionOptions {
            device: self.device,
            require_gpu,
            gpu_device_id: self.gpu_device_id,
            intra_threads: self.intra_threads,
            intra_spinning: self.intra_spinning,
        }
    }
}
