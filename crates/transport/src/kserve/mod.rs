//! The KServe v2 / Triton inference protocol, so that `tritonclient`, `perf_analyzer` and
//! Kubernetes speak to the service as they speak to Triton: `inference.GRPCInferenceService`
//! on the gRPC port ([`grpc`]) and its HTTP/REST binding under `/v2` on the HTTP port
//! ([`http`]). A request is translated into the same use cases as
//! `xray.v1` ([`infer`]), with the same batching, limits, metrics and access rules.

pub mod describe;
pub mod grpc;
pub mod http;
pub mod infer;
pub mod tensor;

pub use grpc::InferenceService;
