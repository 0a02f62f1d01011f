//! Dynamic batching end to end over real gRPC, against the server binary on the real ONNX
//! Runtime: overload, batch-invariant results, and requests that expire or are cancelled
//! never reaching the model (checked through the server's own /metrics counters).

mod common;

use std::time::Duration;

use common::*;
use image::{DynamicImage, ImageBuffer, ImageFormat, Rgb};
use tonic::{Code, Request};
use xray_proto::{Detection, InspectionResult, Scan};

/// A request that the server must answer within `timeout` (sent as grpc-timeout).
fn with_timeout(scan: Scan, timeout: Duration) -> Request<Scan> {
    let mut request = Request::new(scan);
    request.set_timeout(timeout);
    request
}

/// Polls the server's metrics until `done` holds (at most 600 tries, 50 ms apart).
async fn wait_for_metrics(server: &Server, what: &str, done: impl Fn(&xray_load::Samples) -> bool) {
    for _ in 0..600 {
        if done(&server.metrics().await) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("metrics never showed {what}:\n{}", server.metrics().await);
}

const SLOW: &str = "slow-fixture";

fn slow_server(extra: &[&str]) -> Server {
    let dir = batching_fixtures_dir().join(SLOW);
    let mut args = vec!["--intra-threads", "1", "--cpu-threads", "1"];
    args.extend_from_slice(extra);
    Server::start(&dir, &args)
}

/// Sends `n` scans that keep the slow model's single executor busy for a while; returns
/// once some of them wait in its queue (so the executor is running a batch).
async fn occupy_executor(server: &Server, n: usize) -> tokio::task::JoinSet<InspectionResult> {
    let mut blockers = tokio::task::JoinSet::new();
    for i in 0..n {
        let mut client = server.client().await;
        blockers.spawn(async move {
            client
                .inspect(scan(&format!("blocker-{i}"), png_128x64()))
                .await
                .expect("blocker served")
                .into_inner()
        });
    }
    wait_for_metrics(server, "blockers queued behind a running batch", |m| {
        m.sum("xray_queue_depth", &[("model", SLOW)]) >= 1.0
    })
    .await;
    blockers
}

#[tokio::test]
async fn overload_ends_every_request_with_a_result_or_a_refusal() {
    let server = slow_server(&["--queue-capacity", "8"]);
    let clients = 48;
    let per_client = 6;
    let mut tasks = tokio::task::JoinSet::new();
    for c in 0..clients {
        let mut client = server.client().await;
        tasks.spawn(async move {
            let mut codes = Vec::new();
            for i in 0..per_client {
                let request = with_timeout(
                    scan(&format!("c{c}-{i}"), png_128x64()),
                    Duration::from_secs(2),
                );
                codes.push(match client.inspect(request).await {
                    Ok(result) => {
                        assert_detections(&result.into_inner().detections, &EXPECTED_128X64);
                        Code::Ok
                    }
                    // tonic's client enforces the deadline too; on a starved machine its own
                    // timer may fire before the server's DEADLINE_EXCEEDED arrives.
                    Err(status)
                        if status.code() == Code::Cancelled
                            && status.message() == "Timeout expired" =>
                    {
                        Code::DeadlineExceeded
                    }
                    Err(status) => status.code(),
                });
            }
            codes
        });
    }
    let mut counts = std::collections::BTreeMap::new();
    while let Some(codes) = tasks.join_next().await {
        for code in codes.expect("client task") {
            *counts.entry(format!("{code:?}")).or_insert(0usize) += 1;
        }
    }
    let total: usize = counts.values().sum();
    assert_eq!(
        total,
        clients * per_client,
        "every request ended: {counts:?}"
    );
    for code in counts.keys() {
        assert!(
            ["Ok", "ResourceExhausted", "DeadlineExceeded"].contains(&code.as_str()),
            "unexpected outcome {code}: {counts:?}"
        );
    }
    assert!(
        counts.get("ResourceExhausted").is_some_and(|&n| n > 0),
        "never refused: {counts:?}"
    );
    assert!(
        counts.get("Ok").is_some_and(|&n| n > 0),
        "served nothing: {counts:?}"
    );

    // The server counted the same outcomes, and ran exactly the scans it answered.
    let m = server.metrics().await;
    let count = |outcome: &str| {
        m.sum(
            "xray_requests_total",
            &[("model", SLOW), ("outcome", outcome)],
        ) as usize
    };
    // A scan whose client timer fired while its answer was on the wire is a success for the
    // server and a timeout for the client: count those as either.
    let ok = counts.get("Ok").copied().unwrap_or(0);
    let timed_out = counts.get("DeadlineExceeded").copied().unwrap_or(0);
    let late_successes = count("success").saturating_sub(ok);
    assert!(
        count("success") >= ok && late_successes <= timed_out,
        "server successes {} vs client {counts:?}",
        count("success")
    );
    assert_eq!(
        count("rejected"),
        counts.get("ResourceExhausted").copied().unwrap_or(0)
    );
    assert_eq!(
        count("deadline") + count("cancelled") + late_successes,
        timed_out,
        "every client timeout is a server deadline, cancellation or late success"
    );

    // Memory stayed bounded: the refused scans were not kept.
    let status =
        std::fs::read_to_string(format!("/proc/{}/status", server.pid())).unwrap_or_default();
    if let Some(kib) = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
    {
        assert!(kib < 1024 * 1024, "peak resident memory {kib} KiB");
    }

    // Once the load stops it serves normally.
    wait_for_metrics(&server, "an empty queue", |m| {
        m.sum("xray_queue_depth", &[("model", SLOW)]) == 0.0
    })
    .await;
    let mut client = server.client().await;
    let result = client
        .inspect(scan("after", png_128x64()))
        .await
        .expect("serves after the overload")
        .into_inner();
    assert_detections(&result.detections, &EXPECTED_128X64);
}

#[tokio::test]
async fn expired_requests_are_dropped_before_they_run() {
    let server = slow_server(&["--max-queue-delay-us", "0"]);
    // Sixteen blockers are four batches of the slow model: the expiring scans wait far
    // longer than their 300 ms behind them.
    let mut blockers = occupy_executor(&server, 16).await;
    let mut client = server.client().await;
    let expiring = 6;
    let mut waiting = tokio::task::JoinSet::new();
    for i in 0..expiring {
        let mut client = client.clone();
        waiting.spawn(async move {
            let request = with_timeout(
                scan(&format!("late-{i}"), png_128x64()),
                Duration::from_millis(300),
            );
            client.inspect(request).await
        });
    }
    while let Some(outcome) = waiting.join_next().await {
        let status = outcome
            .expect("task")
            .expect_err("expires behind the blockers");
        // The server answers DEADLINE_EXCEEDED a margin before the deadline; tonic's client
        // also enforces it, and on a starved machine its own timer may report first.
        let client_gave_up =
            status.code() == Code::Cancelled && status.message() == "Timeout expired";
        assert!(
            status.code() == Code::DeadlineExceeded || client_gave_up,
            "{status:?}"
        );
    }
    while let Some(result) = blockers.join_next().await {
        assert_detections(&result.expect("blocker").detections, &EXPECTED_128X64);
    }
    wait_for_metrics(&server, "the expired scans dropped", |m| {
        m.sum(
            "xray_dropped_before_run_total",
            &[("model", SLOW), ("reason", "deadline")],
        ) == expiring as f64
    })
    .await;
    let m = server.metrics().await;
    assert_eq!(
        m.sum("xray_inferred_images_total", &[("model", SLOW)]),
        16.0,
        "only the blockers ran"
    );
    // Counted as expired, or as cancelled where the client's own timer won the race.
    assert_eq!(
        m.sum(
            "xray_requests_total",
            &[("model", SLOW), ("outcome", "deadline")]
        ) + m.sum(
            "xray_requests_total",
            &[("model", SLOW), ("outcome", "cancelled")]
        ),
        expiring as f64
    );
    // And the server still answers within a generous deadline.
    let request = with_timeout(scan("in-time", png_128x64()), Duration::from_secs(30));
    client.inspect(request).await.expect("served in time");
}

#[tokio::test]
async fn cancelled_requests_never_reach_the_model() {
    let server = slow_server(&["--max-queue-delay-us", "0"]);
    let mut blockers = occupy_executor(&server, 8).await;
    let abandoned = 6;
    let mut waiting = tokio::task::JoinSet::new();
    for i in 0..abandoned {
        let mut client = server.client().await;
        // Back-office, so that their queue depth is told apart from the blockers'.
        let mut request = scan(&format!("gone-{i}"), png_128x64());
        request.priority = xray_proto::Priority::Backoffice as i32;
        waiting.spawn(async move { client.inspect(request).await });
    }
    // All of them queued behind the blockers, then their clients go away.
    wait_for_metrics(&server, "the scans to abandon queued", |m| {
        m.sum(
            "xray_queue_depth",
            &[("model", SLOW), ("priority", "backoffice")],
        ) >= abandoned as f64
    })
    .await;
    waiting.abort_all();
    while waiting.join_next().await.is_some() {}
    while let Some(result) = blockers.join_next().await {
        assert_detections(&result.expect("blocker").detections, &EXPECTED_128X64);
    }
    wait_for_metrics(&server, "the abandoned scans dropped", |m| {
        m.sum(
            "xray_dropped_before_run_total",
            &[("model", SLOW), ("reason", "cancelled")],
        ) == abandoned as f64
    })
    .await;
    let m = server.metrics().await;
    assert_eq!(
        m.sum("xray_inferred_images_total", &[("model", SLOW)]),
        8.0,
        "only the blockers ran"
    );
    assert_eq!(
        m.sum(
            "xray_requests_total",
            &[("model", SLOW), ("outcome", "cancelled")]
        ),
        abandoned as f64
    );
}

/// Sixteen different scans: sizes and pixels vary, so letterboxes and outputs differ.
fn varied_scans() -> Vec<Vec<u8>> {
    (0..16u32)
        .map(|i| {
            let (w, h) = (48 + 8 * i, 40 + 5 * (15 - i));
            let image = DynamicImage::ImageRgb8(ImageBuffer::from_fn(w, h, |x, y| {
                let v = (x * (i + 3)).wrapping_mul(2_654_435_761) ^ (y * 40_503 + i * 977);
                Rgb([
                    (v >> 7) as u8,
                    (x * 255 / w) as u8,
                    ((y + i) * 255 / h) as u8,
                ])
            }));
            encode(&image, ImageFormat::Png)
        })
        .collect()
}

fn sorted(mut detections: Vec<Detection>) -> Vec<Detection> {
    detections.sort_by(|a, b| {
        b.confidence
            .total_cmp(&a.confidence)
            .then(a.class_name.cmp(&b.class_name))
    });
    detections
}

#[tokio::test]
async fn results_are_the_same_alone_and_in_a_batch_of_16() {
    let dir = batching_fixtures_dir().join("conv-fixture");
    let images = varied_scans();

    // Alone: one at a time, nothing to wait for.
    let alone_server = Server::start(&dir, &["--max-queue-delay-us", "0"]);
    let mut client = alone_server.client().await;
    let mut alone = Vec::new();
    for (i, image) in images.iter().enumerate() {
        let result = client
            .inspect(scan(&format!("s{i}"), image.clone()))
            .await
            .expect("alone")
            .into_inner();
        assert_eq!(result.batch_size, 1);
        alone.push(result);
    }

    // Together: a long queue delay holds the batch until all 16 are in.
    let batch_server = Server::start(&dir, &["--max-queue-delay-us", "30000000"]);
    let mut tasks = tokio::task::JoinSet::new();
    for (i, image) in images.iter().enumerate() {
        let mut client = batch_server.client().await;
        let image = image.clone();
        tasks.spawn(async move {
            let result = client
                .inspect(scan(&format!("s{i}"), image))
                .await
                .expect("batched")
                .into_inner();
            (i, result)
        });
    }
    let mut batched = vec![None; images.len()];
    while let Some(done) = tasks.join_next().await {
        let (i, result) = done.expect("task");
        assert_eq!(result.batch_size, 16, "scan {i}");
        batched[i] = Some(result);
    }

    let mut compared = 0;
    for (i, (one, many)) in alone.into_iter().zip(batched).enumerate() {
        let many = many.expect("answered");
        let (one, many) = (sorted(one.detections), sorted(many.detections));
        assert_eq!(one.len(), many.len(), "scan {i}: detection counts");
        for (a, b) in one.iter().zip(&many) {
            assert_eq!(a.class_name, b.class_name, "scan {i}");
            assert!(
                (a.confidence - b.confidence).abs() < 1e-5,
                "scan {i}: {a:?} vs {b:?}"
            );
            let (ba, bb) = (a.r#box.expect("box"), b.r#box.expect("box"));
            for (x, y) in [
                (ba.x1, bb.x1),
                (ba.y1, bb.y1),
                (ba.x2, bb.x2),
                (ba.y2, bb.y2),
            ] {
                assert!((x - y).abs() < 1e-2, "scan {i}: {a:?} vs {b:?}");
            }
            compared += 1;
        }
    }
    assert!(
        compared > 16,
        "the fixture found too little to compare ({compared})"
    );
}

#[tokio::test]
async fn health_is_not_serving_until_every_model_is_warm() {
    use tonic_health::pb::{
        HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
    };
    // Six sessions of the slow model, each warmed up with a batch of four: loading takes a
    // while after the ports are bound.
    let dir = batching_fixtures_dir().join(SLOW);
    let mut server = Server::start_loading(&dir, &["--instances", "6", "--intra-threads", "1"]);
    let mut health = HealthClient::new(server.channel().await);
    let check = |service: &str| HealthCheckRequest {
        service: service.into(),
    };
    let status = health
        .check(check(""))
        .await
        .expect("health answers")
        .into_inner();
    assert_eq!(status.status(), ServingStatus::NotServing);
    let mut client = server.client().await;
    let early = client
        .inspect(scan("early", png_128x64()))
        .await
        .expect_err("not ready");
    assert_eq!(early.code(), Code::Unavailable, "{early:?}");
    assert_eq!(server.metrics().await.sum("xray_models_ready", &[]), 0.0);

    server
        .wait_for_line("listening on grpc://")
        .expect("models loaded");
    for service in ["", "xray.v1.Inspection"] {
        let status = health
            .check(check(service))
            .await
            .expect("health answers")
            .into_inner();
        assert_eq!(status.status(), ServingStatus::Serving, "{service:?}");
    }
    let m = server.metrics().await;
    assert_eq!(m.sum("xray_models_ready", &[]), 1.0);
    assert_eq!(
        m.sum(
            "xray_model_instance_info",
            &[("model", SLOW), ("provider", "cpu")]
        ),
        6.0
    );
    client
        .inspect(scan("ready", png_128x64()))
        .await
        .expect("serves once ready");
}

#[tokio::test]
async fn backoffice_scans_have_their_own_bound() {
    use xray_proto::Priority;
    // One back-office place: while a back-office scan waits, a second is refused, but live
    // scans are still admitted.
    let server = slow_server(&[
        "--backoffice-queue-capacity",
        "1",
        "--max-queue-delay-us",
        "0",
    ]);
    let mut blockers = occupy_executor(&server, 8).await;
    let mut client = server.client().await;
    let mut first = scan("bo-1", png_128x64());
    first.priority = Priority::Backoffice as i32;
    let mut waiting_client = client.clone();
    let waiting = tokio::spawn(async move { waiting_client.inspect(first).await });
    wait_for_metrics(&server, "the back-office scan queued", |m| {
        m.sum(
            "xray_queue_depth",
            &[("model", SLOW), ("priority", "backoffice")],
        ) == 1.0
    })
    .await;
    let mut second = scan("bo-2", png_128x64());
    second.priority = Priority::Backoffice as i32;
    let refused = client
        .inspect(second)
        .await
        .expect_err("back-office bound is full");
    assert_eq!(refused.code(), Code::ResourceExhausted);
    assert!(
        refused.message().contains("backoffice queue is full"),
        "{refused:?}"
    );
    let mut live = scan("live", png_128x64());
    live.priority = Priority::Live as i32;
    client
        .inspect(live)
        .await
        .expect("live scans still admitted");
    waiting
        .await
        .expect("task")
        .expect("the waiting back-office scan is served");
    while blockers.join_next().await.is_some() {}

    let mut unknown = scan("bad-priority", png_128x64());
    unknown.priority = 9;
    let status = client.inspect(unknown).await.expect_err("unknown priority");
    assert_eq!(status.code(), Code::InvalidArgument);
}

/// One workstation keeps 40 scans in flight on a stream and never reads its answers; another
/// sends a single scan. Clients take turns in the queue, so the polite scan joins the next
/// batch or the one after (the slow fixture batches 4): fewer than 12 of the greedy scans may
/// finish between the polite scan's arrival and its answer, where first come, first served
/// would make it wait for every greedy scan queued before it (20 or more).
#[tokio::test]
async fn a_greedy_stream_does_not_starve_a_polite_client() {
    let server = slow_server(&["--stream-max-in-flight", "64"]);
    let (greedy, outgoing) = tokio::sync::mpsc::channel(64);
    let mut greedy_client = server.client().await;
    let _unread = greedy_client
        .stream_scans(tokio_stream::wrappers::ReceiverStream::new(outgoing))
        .await
        .expect("greedy stream");
    for i in 0..40 {
        greedy
            .send(scan(&format!("greedy-{i}"), png_128x64()))
            .await
            .expect("queued on the stream");
    }
    wait_for_metrics(&server, "the greedy scans queued", |m| {
        m.sum("xray_queue_depth", &[("model", SLOW)]) >= 20.0
    })
    .await;
    let succeeded = |m: &xray_load::Samples| {
        m.sum(
            "xray_requests_total",
            &[("model", SLOW), ("outcome", "success")],
        )
    };
    let before = succeeded(&server.metrics().await);
    let queued = server
        .metrics()
        .await
        .sum("xray_queue_depth", &[("model", SLOW)]);
    let polite = server
        .client()
        .await
        .inspect(scan("polite", png_128x64()))
        .await
        .expect("polite scan served")
        .into_inner();
    assert_eq!(polite.scan_id, "polite");
    let greedy_done = succeeded(&server.metrics().await) - before - 1.0;
    assert!(
        queued >= 20.0 && greedy_done < 12.0,
        "{greedy_done} greedy scans finished while the polite one waited ({queued} were queued)"
    );
    drop(greedy);
}

/// One client may hold only its share of a queue's places (`--client-queue-share`): while
/// the executor is busy, a stream's scans beyond its share are refused at once with
/// RESOURCE_EXHAUSTED, and another client still finds a place. With one shared bound the
/// stream would take every place and the other client would be refused.
#[tokio::test]
async fn one_client_cannot_take_every_place_in_the_queue() {
    let server = slow_server(&["--queue-capacity", "8", "--client-queue-share", "3"]);
    let blockers = occupy_executor(&server, 4).await;
    let mut greedy = server.client().await;
    let scans: Vec<Scan> = (0..8)
        .map(|i| scan(&format!("greedy-{i}"), png_128x64()))
        .collect();
    let mut results = greedy
        .stream_scans(tokio_stream::iter(scans))
        .await
        .expect("stream")
        .into_inner();
    let mut refused = 0;
    let mut answered = 0;
    while let Some(result) = results.message().await.expect("stream answers") {
        match result.error {
            Some(error) => {
                assert_eq!(error.code, Code::ResourceExhausted as i32, "{error:?}");
                assert!(error.message.contains("--client-queue-share"), "{error:?}");
                refused += 1;
            }
            None => answered += 1,
        }
    }
    assert_eq!(refused + answered, 8);
    assert!(refused >= 4, "{refused} of 8 refused with a share of 3");
    let polite = server
        .client()
        .await
        .inspect(scan("polite", png_128x64()))
        .await
        .expect("another client finds a place");
    assert_eq!(polite.into_inner().scan_id, "polite");
    blockers.join_all().await;
}
