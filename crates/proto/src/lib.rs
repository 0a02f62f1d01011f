//! The `xray.v1` wire types, servers and clients, generated from the workspace's `proto/`
//! folder; shared by the transports, the load harness and the tests.

#![allow(clippy::all, missing_docs)]

pub mod codec;

tonic::include_proto!("xray.v1");

/// The encoded descriptors of the `xray.v1` protos, served by reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/xray_descriptor.bin"));
