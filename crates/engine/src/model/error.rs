use std::path::PathBuf;

/// Why models could not be loaded: start-up errors. (How a request fares in a model's queue
/// is `batching::BatchError`.)
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("{}: {reason}", path.display())]
    Config { path: PathBuf, reason: String },
    #[error(
        "no models in {}: each model is a folder with model.toml and its ONNX file; pass --models-dir (the test fixtures in tests/fixtures/models work)",
        dir.display()
    )]
    NoModels { dir: PathBuf },
    #[error(
        "ONNX Runtime library not found (looked in: {searched}); run `make setup` to install onnxruntime 1.31.1 into .ort/, or pass --ort-lib /path/to/libonnxruntime.so (env ORT_DYLIB_PATH)"
    )]
    RuntimeNotFound { searched: String },
    #[error("could not load ONNX Runtime from {}: {reason}", path.display())]
    RuntimeLoad { path: PathBuf, reason: String },
    #[error("model {model}: could not create a session from {}: {reason}", path.display())]
    Session {
        model: String,
        path: PathBuf,
        reason: String,
    },
    #[error("model {model}: model.toml and the ONNX file disagree: {what}")]
    Mismatch { model: String, what: String },
    #[error("a GPU was required but cannot be used: {0}")]
    GpuUnavailable(String),
    #[error("two model folders are both named {0:?}")]
    DuplicateName(String),
    #[error("unknown model {name:?}; this server has: {available}")]
    UnknownModel { name: String, available: String },
}
