//! Detection models: their `model.toml` cards, the ONNX Runtime library, sessions on the
//! chosen execution provider, and one executor thread per model that owns its session.

mod error;
mod executor;
mod registry;
mod runtime;
mod session;
mod spec;

pub use error::ModelError;
pub use executor::{Executor, ModelOutput};
pub use registry::{LoadedModel, ModelRegistry, RegistryOptions};
pub use runtime::{OrtRuntime, locate_library};
pub use session::{Device, ExecutionProvider, SessionOptions};
pub use spec::{Category, ClassSpec, InputSpec, ModelSpec, NmsSpec, OutputLayout};
