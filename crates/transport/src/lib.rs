//! The front doors: the `xray.v1` gRPC services ([`grpc`]) and the review screen's HTTP API
//! with `/metrics` ([`http`]), and the [`server`] that runs both. Each door decides nothing:
//! it translates its request into a use case of
//! [`xray_service::Service`] and the answer (or the error's kind) back.

pub mod connection;
pub mod grpc;
pub mod http;
pub mod kserve;
pub mod server;

pub use server::{ServerConfig, serve};
