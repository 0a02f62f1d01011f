//! The `xray.v1` wire types, servers and clients, generated from the workspace's `proto/`
//! folder; shared by the transports, the load harness and the tests. The KServe v2 / Triton
//! inference protocol (package `inference`) is generated beside it, in [`inference`].

#![allow(clippy::all, missing_docs)]

pub mod codec;

tonic::include_proto!("xray.v1");

/// The KServe v2 / Triton inference protocol (`inference.GRPCInferenceService`), spoken by
/// NVIDIA's tritonclient and perf_analyzer.
pub mod inference {
    tonic::include_proto!("inference");
}

/// The encoded descriptors of the `xray.v1` and `inference` protos, served by reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/xray_descriptor.bin"));
