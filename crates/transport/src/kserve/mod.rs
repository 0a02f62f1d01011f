//! The KServe v2 / Triton inference protocol, so that `tritonclient`, `perf_analyzer` and
//! Kubernetes speak to the service as they speak to Triton: `inference.GRPCInferenceService`
//! on the gRPC port ([`grpc`]). A request is translated into the same use cases as
//! `xray.v1` ([`infer`]), with the same batching, limits, metrics and access rules.

pub mod describe;
pub mod grpc;
pub mod infer;
pub mod tensor;

pub use grpc::InferenceService;
