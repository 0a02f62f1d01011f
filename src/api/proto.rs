//! Code generated from `proto/xray/v1/inspection.proto`.

#![allow(clippy::all, missing_docs)]

tonic::include_proto!("xray.v1");

/// The encoded descriptors of the `xray.v1` protos, served by reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/xray_descriptor.bin"));
