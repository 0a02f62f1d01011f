//! End to end over real gRPC: the server binary with the ONNX fixture models on the real
//! ONNX Runtime, called with a tonic client.

mod common;

use std::collections::HashMap;

use common::*;
use image::ImageFormat;
use tokio_stream::StreamExt;
use tonic::Code;
use xray_proto::{ImageEncoding, Scan};

#[tokio::test]
async fn inspect_returns_each_layouts_expected_boxes() {
    let server = Server::start(&fixtures_dir(), &["--default-model", "yolov8-fixture"]);
    let mut client = server.client().await;
    for model in ["yolov8-fixture", "yolov5-fixture", "end2end-fixture"] {
        let mut request = scan(&format!("s-{model}"), png_128x64());
        request.model = Some(model.to_string());
        request.encoding = ImageEncoding::Png as i32;
        let result = client
            .inspect(request)
            .await
            .expect("inspects")
            .into_inner();
        assert_eq!(result.scan_id, format!("s-{model}"));
        assert_eq!(result.model, model);
        assert_eq!(result.model_version, "fixture-1");
        assert_eq!((result.image_width, result.image_height), (128, 64));
        assert!(result.alarm, "a pistol raises the alarm");
        assert_detections(&result.detections, &EXPECTED_128X64);
        assert!(result.timings.expect("timings").total_us > 0);
        assert!(result.batch_size >= 1);
    }
}

#[tokio::test]
async fn every_format_reaches_the_model() {
    let server = Server::start(&fixtures_dir().join("yolov8-fixture"), &[]);
    let mut client = server.client().await;
    let image = gradient(32, 32);
    let gray16 = image::DynamicImage::ImageLuma16(image.to_luma16());
    let raw_dual: Vec<u8> = (0..32 * 32)
        .flat_map(|i| [(i * 40) as u16, (i * 50) as u16])
        .flat_map(|s| s.to_le_bytes())
        .collect();
    let dual_samples: Vec<u16> = (0..32 * 32 * 2).map(|i| (i * 20) as u16).collect();
    let cases = vec![
        (
            "png",
            encode(&image, ImageFormat::Png),
            ImageEncoding::Png,
            0,
        ),
        (
            "jpeg",
            encode(&image, ImageFormat::Jpeg),
            ImageEncoding::Jpeg,
            0,
        ),
        (
            "tiff8",
            encode(&image, ImageFormat::Tiff),
            ImageEncoding::Tiff,
            0,
        ),
        (
            "tiff16",
            encode(&gray16, ImageFormat::Tiff),
            ImageEncoding::Tiff,
            0,
        ),
        (
            "tiff-dual",
            xray_engine::imaging::encode_dual_energy_tiff(32, 32, &dual_samples).expect("tiff"),
            ImageEncoding::Tiff,
            0,
        ),
        (
            "sniffed",
            encode(&image, ImageFormat::Png),
            ImageEncoding::EncodingUnspecified,
            0,
        ),
        ("raw-dual", raw_dual, ImageEncoding::RawU16, 2),
    ];
    for (id, bytes, encoding, channels) in cases {
        let mut request = scan(id, bytes);
        request.encoding = encoding as i32;
        if channels > 0 {
            (request.width, request.height, request.channels) = (32, 32, channels);
        }
        let result = client
            .inspect(request)
            .await
            .unwrap_or_else(|s| panic!("{id}: {s:?}"))
            .into_inner();
        assert_eq!((result.image_width, result.image_height), (32, 32), "{id}");
        assert_detections(&result.detections, &EXPECTED_32X32);
    }
}

#[tokio::test]
async fn min_confidence_only_raises_thresholds() {
    let server = Server::start(&fixtures_dir().join("yolov8-fixture"), &[]);
    let mut client = server.client().await;
    let mut request = scan("strict", png_128x64());
    request.min_confidence = Some(0.5);
    let result = client
        .inspect(request)
        .await
        .expect("inspects")
        .into_inner();
    assert_detections(&result.detections, &EXPECTED_128X64[..2]);

    // Lower than every class threshold: the thresholds still hold.
    let mut request = scan("lenient", png_128x64());
    request.min_confidence = Some(0.0);
    let result = client
        .inspect(request)
        .await
        .expect("inspects")
        .into_inner();
    assert_detections(&result.detections, &EXPECTED_128X64);
}

#[tokio::test]
async fn bad_input_is_invalid_argument_with_a_reason() {
    let server = Server::start(&fixtures_dir().join("yolov8-fixture"), &[]);
    let mut client = server.client().await;
    let png = png_128x64();

    let mut truncated_raw = scan("raw-short", vec![0; 32 * 32 * 4 - 2]);
    truncated_raw.encoding = ImageEncoding::RawU16 as i32;
    (
        truncated_raw.width,
        truncated_raw.height,
        truncated_raw.channels,
    ) = (32, 32, 2);

    let mut raw_no_size = scan("raw-no-size", vec![0; 64]);
    raw_no_size.encoding = ImageEncoding::RawU16 as i32;

    let mut huge_raw = scan("raw-huge", vec![0; 64]);
    huge_raw.encoding = ImageEncoding::RawU16 as i32;
    (huge_raw.width, huge_raw.height, huge_raw.channels) = (100_000, 100_000, 1);

    let mut wrong_encoding = scan("liar", png.clone());
    wrong_encoding.encoding = ImageEncoding::Jpeg as i32;

    let mut unknown_enum = scan("enum", png.clone());
    unknown_enum.encoding = 42;

    let mut bad_confidence = scan("conf", png.clone());
    bad_confidence.min_confidence = Some(1.5);

    // Lenient decoders fill a cut-short image in; the service must refuse it instead.
    let jpeg = encode(&gradient(128, 64), ImageFormat::Jpeg);
    let tiff = encode(&gradient(128, 64), ImageFormat::Tiff);

    let cases = vec![
        (
            scan("png-half", png[..png.len() / 2].to_vec()),
            "PNG image is cut short",
        ),
        (
            scan("jpeg-10", jpeg[..jpeg.len() / 10].to_vec()),
            "JPEG image is cut short",
        ),
        (
            scan("jpeg-30", jpeg[..jpeg.len() * 3 / 10].to_vec()),
            "JPEG image is cut short",
        ),
        (
            scan("jpeg-99", jpeg[..jpeg.len() - 1].to_vec()),
            "JPEG image is cut short",
        ),
        (
            scan("tiff-half", tiff[..tiff.len() / 2].to_vec()),
            "TIFF data is corrupt or truncated",
        ),
        (
            scan("one-pixel", encode(&gradient(1, 1), ImageFormat::Png)),
            "image is 1x1; each side must be at least 32 pixels (--min-image-side)",
        ),
        (
            scan("garbage", b"definitely not an image".to_vec()),
            "not PNG, JPEG or TIFF",
        ),
        (scan("empty", Vec::new()), "image is empty"),
        (
            truncated_raw,
            "RAW_U16 data is 4094 bytes but 32x32x2 u16 samples need 4096 bytes",
        ),
        (raw_no_size, "RAW_U16 needs width, height and channels"),
        (
            huge_raw,
            "over the limit of 64000000 pixels (--max-image-pixels)",
        ),
        (wrong_encoding, "encoding says JPEG but the bytes are PNG"),
        (unknown_enum, "encoding 42 is not a known ImageEncoding"),
        (bad_confidence, "min_confidence is 1.5"),
        (scan("", png.clone()), "scan_id is empty"),
    ];
    for (request, reason) in cases {
        let id = request.scan_id.clone();
        let status = client.inspect(request).await.expect_err(&id);
        assert_eq!(status.code(), Code::InvalidArgument, "{id}: {status:?}");
        assert!(
            status.message().contains(reason),
            "{id}: {:?} lacks {reason:?}",
            status.message()
        );
    }
    // The server is still there and still right.
    let ok = client
        .inspect(scan("after", png))
        .await
        .expect("serves")
        .into_inner();
    assert_detections(&ok.detections, &EXPECTED_128X64);
}

#[tokio::test]
async fn byte_limit_is_a_setting() {
    let server = Server::start(
        &fixtures_dir().join("yolov8-fixture"),
        &["--max-image-bytes", "1000"],
    );
    let mut client = server.client().await;
    let big = encode(&noise(64, 64), ImageFormat::Png);
    assert!(big.len() > 1000);
    let status = client.inspect(scan("big", big)).await.expect_err("too big");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status
            .message()
            .contains("over the limit of 1000 bytes (--max-image-bytes)"),
        "{status:?}"
    );
    let small = encode(&gradient(32, 32), ImageFormat::Png);
    assert!(small.len() <= 1000);
    client
        .inspect(scan("small", small))
        .await
        .expect("under the limit");

    // A message over the largest the server decodes (twice the image limit plus 1 MiB) is
    // refused before it is read: RESOURCE_EXHAUSTED with the limit, on a call and on a stream.
    let huge = vec![0u8; 3 << 20];
    let status = client
        .inspect(scan("huge", huge.clone()))
        .await
        .expect_err("too large a message");
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(
        status.message().contains(
            "over this call's limit of 1050576 bytes (Inspection: twice --max-image-bytes"
        ),
        "{status:?}"
    );
    let mut results = client
        .stream_scans(tokio_stream::iter(vec![scan("huge-on-a-stream", huge)]))
        .await
        .expect("stream opens")
        .into_inner();
    let status = results.message().await.expect_err("too large a message");
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(status.message().contains("1050576 bytes"), "{status:?}");
}

#[tokio::test]
async fn unknown_model_is_not_found() {
    let server = Server::start(&fixtures_dir().join("yolov8-fixture"), &[]);
    let mut client = server.client().await;
    let mut request = scan("who", png_128x64());
    request.model = Some("no-such-model".into());
    let status = client.inspect(request).await.expect_err("unknown model");
    assert_eq!(status.code(), Code::NotFound);
    assert!(status.message().contains("no-such-model"));
    assert!(
        status.message().contains("yolov8-fixture"),
        "names the models it has"
    );
}

#[tokio::test]
async fn stream_scans_answers_every_scan_once_with_many_in_flight() {
    let server = Server::start(
        &fixtures_dir().join("yolov8-fixture"),
        &["--stream-max-in-flight", "16"],
    );
    let mut client = server.client().await;
    let png = png_128x64();
    let total = 200;
    let scans: Vec<Scan> = (0..total)
        .map(|i| {
            if i % 10 == 7 {
                scan(&format!("scan-{i}"), b"broken".to_vec())
            } else {
                scan(&format!("scan-{i}"), png.clone())
            }
        })
        .collect();
    let mut results = client
        .stream_scans(tokio_stream::iter(scans))
        .await
        .expect("stream opens")
        .into_inner();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut batched = 0;
    while let Some(result) = results.next().await {
        let result = result.expect("stream item");
        *seen.entry(result.scan_id.clone()).or_default() += 1;
        let i: usize = result.scan_id["scan-".len()..].parse().expect("our id");
        if i % 10 == 7 {
            let error = result.error.expect("broken scan reports an error");
            assert_eq!(error.code, Code::InvalidArgument as i32);
            assert!(result.detections.is_empty());
        } else {
            assert!(result.error.is_none(), "{:?}", result.error);
            assert_detections(&result.detections, &EXPECTED_128X64);
            if result.batch_size > 1 {
                batched += 1;
            }
        }
    }
    assert_eq!(seen.len(), total, "every scan answered");
    assert!(seen.values().all(|&n| n == 1), "each exactly once");
    // Many in flight on one stream: the executor had several waiting at once.
    assert!(batched > 0, "no scan shared a batch");
}

#[tokio::test]
async fn health_reports_serving() {
    use tonic_health::pb::{
        HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
    };
    let server = Server::start(&fixtures_dir().join("yolov8-fixture"), &[]);
    let mut health = HealthClient::new(server.channel().await);
    for service in ["", "xray.v1.Inspection"] {
        let response = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .expect("health answers")
            .into_inner();
        assert_eq!(response.status(), ServingStatus::Serving, "{service:?}");
    }
    let unknown = health
        .check(HealthCheckRequest {
            service: "nope.Service".into(),
        })
        .await
        .expect_err("unknown service");
    assert_eq!(unknown.code(), Code::NotFound);
}

#[tokio::test]
async fn reflection_lists_the_services() {
    use tonic_reflection::pb::v1::{
        ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
        server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
    };
    let server = Server::start(&fixtures_dir().join("yolov8-fixture"), &[]);
    let mut reflection = ServerReflectionClient::new(server.channel().await);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = reflection
        .server_reflection_info(tokio_stream::iter(vec![request]))
        .await
        .expect("reflection answers")
        .into_inner();
    let response = responses.next().await.expect("one response").expect("ok");
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("unexpected reflection response: {response:?}");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for want in [
        "xray.v1.Inspection",
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
    ] {
        assert!(
            names.iter().any(|n| n == want),
            "{want} missing from {names:?}"
        );
    }

    // And the Scan message is described, so a reflection client can build requests.
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::FileContainingSymbol("xray.v1.Scan".into())),
    };
    let mut responses = reflection
        .server_reflection_info(tokio_stream::iter(vec![request]))
        .await
        .expect("reflection answers")
        .into_inner();
    let response = responses.next().await.expect("one response").expect("ok");
    assert!(
        matches!(
            response.message_response,
            Some(MessageResponse::FileDescriptorResponse(_))
        ),
        "{response:?}"
    );
}

/// The bytes of a `Scan` as a careless or hostile client may send them: a scan_id that is
/// not UTF-8 (a protobuf `string` must be), beside a valid image.
#[derive(Clone, PartialEq, prost::Message)]
struct RawScan {
    #[prost(bytes = "vec", tag = "1")]
    scan_id: Vec<u8>,
    #[prost(bytes = "vec", tag = "5")]
    image: Vec<u8>,
}

#[tokio::test]
async fn a_message_that_is_not_valid_protobuf_is_invalid_argument() {
    let server = Server::start(&fixtures_dir().join("yolov8-fixture"), &[]);
    let mut grpc = tonic::client::Grpc::new(server.channel().await);
    grpc.ready().await.expect("ready");
    let request = RawScan {
        scan_id: vec![b'b', 0xFF, 0xFE, b'g'],
        image: png_128x64(),
    };
    let answer: Result<tonic::Response<xray_proto::InspectionResult>, tonic::Status> = grpc
        .unary(
            tonic::Request::new(request),
            tonic::codegen::http::uri::PathAndQuery::from_static("/xray.v1.Inspection/Inspect"),
            tonic_prost::ProstCodec::default(),
        )
        .await;
    let status = answer.expect_err("not UTF-8");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(
        status
            .message()
            .contains("not a valid Scan protobuf message"),
        "{status:?}"
    );
    // The same connection still serves.
    let mut client = server.client().await;
    client
        .inspect(scan("after", png_128x64()))
        .await
        .expect("serves");
}
