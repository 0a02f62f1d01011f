//! Detection models: their `model.toml` cards, the ONNX Runtime library, sessions on the
//! chosen execution provider, and model instances that each own a session (run by the
//! executor threads of `batching`).

mod args;
mod error;
mod flip;
mod instance;
mod registry;
mod runtime;
mod session;
mod spec;

pub use args::RuntimeArgs;
pub use error::ModelError;
pub use flip::FlipAverage;
pub use instance::{ModelInstance, OpenedInstance};
pub use registry::{LoadedModel, ModelRegistry, RegistryOptions};
pub use runtime::{OrtRuntime, locate_library};
pub use session::{Device, ExecutionProvider, SessionOptions};
pub use spec::{ClassSpec, InputSpec, ModelSpec, NmsSpec, OutputLayout};
