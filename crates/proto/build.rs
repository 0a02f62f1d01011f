//! Compiles the gRPC contract in the workspace's `proto/` folder with the pure-Rust `protox`
//! (no `protoc` needed) and keeps the encoded descriptor set for server reflection.

use std::{env, fs, path::PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR")?).join("../../proto");
    let protos = [
        "xray/v1/inspection.proto",
        "xray/v1/risk.proto",
        "xray/v1/declarations.proto",
        "xray/v1/review.proto",
        // The KServe v2 / Triton protocol (package `inference`), for tritonclient and
        // perf_analyzer; compiled into the same descriptor set so reflection lists it too.
        "inference/grpc_service.proto",
        "inference/model_config.proto",
    ];
    for proto in protos {
        println!("cargo:rerun-if-changed={}", root.join(proto).display());
    }
    let descriptors = protox::compile(protos, [&root])?;
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    fs::write(
        out_dir.join("xray_descriptor.bin"),
        prost::Message::encode_to_vec(&descriptors),
    )?;
    tonic_prost_build::configure()
        // Undecodable requests answer INVALID_ARGUMENT (see src/codec.rs).
        .codec_path("crate::codec::WireCodec")
        .bytes(".xray.v1.Scan.image")
        .bytes(".xray.v1.ScanRecord.image")
        .bytes(".inference.ModelInferRequest.raw_input_contents")
        .bytes(".inference.ModelInferResponse.raw_output_contents")
        .compile_fds(descriptors)?;
    Ok(())
}
