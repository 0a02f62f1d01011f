//! Any bytes as a Scan or a RegisterDeclarationRequest off the wire: decoding, the door's
//! conversion to the use case's types and the checks before anything is stored answer a
//! request or a clear error, and never panic.
#![no_main]

use std::time::Instant;

use libfuzzer_sys::fuzz_target;
use prost::Message;
use xray_transport::grpc::{convert, convert_customs};

fuzz_target!(|data: &[u8]| {
    if let Ok(scan) = xray_proto::Scan::decode(data) {
        if let Ok(converted) = convert::scan(scan, Some(Instant::now()), "fuzz".into()) {
            let _ = xray_engine::pipeline::validate(&converted.request);
        }
    }
    if let Ok(request) = xray_proto::RegisterDeclarationRequest::decode(data) {
        if let Some(declaration) = request.declaration {
            if let Ok(declaration) = convert_customs::declaration(declaration) {
                let _ = xray_customs::declaration::validate(&declaration);
            }
        }
    }
});
