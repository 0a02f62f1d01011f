//! Stopping the service as an orchestrator does (SIGTERM) while every kind of long-lived
//! stream is open: a WatchRisk subscriber, a StreamScans stream, and a review screen's event
//! stream. Each ends on its own (UNAVAILABLE with what to resume, or a clean end), and the
//! process exits well before its shutdown grace runs out.

mod common;

use std::time::{Duration, Instant};

use common::*;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};
use tokio_stream::wrappers::ReceiverStream;
use tonic::Code;
use xray_proto::{
    WatchRiskRequest, declarations_client::DeclarationsClient, inspection_client::InspectionClient,
};

/// Long enough that a stream left open would show: the process must not need it.
const GRACE_S: u64 = 60;

#[tokio::test]
async fn sigterm_ends_every_stream_and_the_process_without_waiting_out_the_grace() {
    let grace = GRACE_S.to_string();
    let mut server = Server::start(
        &fixtures_dir().join("yolov8-fixture"),
        &["--shutdown-grace", &grace],
    );
    let channel = server.channel().await;

    let mut watch = DeclarationsClient::new(channel.clone())
        .watch_risk(WatchRiskRequest {
            after_sequence: Some(0),
        })
        .await
        .expect("subscribes")
        .into_inner();

    let (scans, outgoing) = tokio::sync::mpsc::channel(4);
    let mut results = InspectionClient::new(channel.clone())
        .stream_scans(ReceiverStream::new(outgoing))
        .await
        .expect("streams")
        .into_inner();
    scans
        .send(scan("before-stop", png_128x64()))
        .await
        .expect("sent");
    let first = results.message().await.expect("answer").expect("one");
    assert_eq!(first.scan_id, "before-stop");
    assert!(first.error.is_none(), "{first:?}");

    let mut events = TcpStream::connect(server.http_addr())
        .await
        .expect("HTTP port");
    let ask = format!(
        "GET /api/events HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {}\r\nAccept: text/event-stream\r\n\r\n",
        server.token
    );
    events
        .write_all(ask.as_bytes())
        .await
        .expect("asks for events");
    let mut head = vec![0u8; 512];
    let n = events.read(&mut head).await.expect("answers");
    let head = String::from_utf8_lossy(&head[..n]).to_string();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.contains("text/event-stream"), "{head}");

    let stopped_at = Instant::now();
    server.terminate();

    let end = tokio::time::timeout(Duration::from_secs(20), watch.message())
        .await
        .expect("WatchRisk ends");
    let status = end.expect_err("WatchRisk ends with a status");
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert!(
        status
            .message()
            .contains("resume WatchRisk with after_sequence"),
        "{status:?}"
    );

    let end = tokio::time::timeout(Duration::from_secs(20), results.message())
        .await
        .expect("StreamScans ends");
    let status = end.expect_err("StreamScans ends with a status");
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert!(status.message().contains("shutting down"), "{status:?}");
    // As a workstation does on UNAVAILABLE, the client closes its side of the stream and its
    // connection (one that never does is held only until the grace runs out).
    drop((scans, results, watch, channel));

    // The event stream closes: the read reaches the end of the connection.
    let mut rest = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), events.read_to_end(&mut rest))
        .await
        .expect("the event stream closes")
        .expect("reads");

    let exit = server
        .wait_exit(Duration::from_secs(GRACE_S / 2))
        .expect("the process exits well before its grace runs out");
    assert!(exit.success(), "{exit:?}");
    assert!(stopped_at.elapsed() < Duration::from_secs(GRACE_S / 2));
}
