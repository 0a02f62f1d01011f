//! What decoding may hold at once is bounded by bytes, not by count: a burst of large 16-bit
//! RGBA PNGs (small on the wire, large decoded) keeps the server's peak memory within its
//! decode budget, and a scan whose decode alone needs more than the budget is refused.

mod common;

use common::*;
use tonic::Code;

/// A flat 16-bit RGBA PNG of `side` x `side`, written row by row (it compresses to almost
/// nothing on the wire; decoded it is 8 bytes a pixel).
fn flat_rgba16_png(side: u32) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, side, side);
        encoder.set_color(png::ColorType::Rgba);
        encoder.set_depth(png::BitDepth::Sixteen);
        let mut writer = encoder.write_header().expect("header");
        let mut stream = writer.stream_writer().expect("stream");
        let row: Vec<u8> = (0..side)
            .flat_map(|x| {
                let v = ((x % 251) as u16 * 200).to_be_bytes();
                [v[0], v[1], 0x80, 0x00, 0x40, 0x00, 0xFF, 0xFF]
            })
            .collect();
        for _ in 0..side {
            std::io::Write::write_all(&mut stream, &row).expect("row");
        }
        stream.finish().expect("finish");
    }
    out
}

/// A line of /proc/PID/status in KiB (VmRSS, VmHWM).
fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("{field} in {status}"))
}

const SIDE: u32 = 4096;
const BUDGET_MB: u64 = 128;
const BURST: usize = 8;

#[tokio::test]
async fn a_burst_of_large_16_bit_scans_stays_within_the_decode_budget() {
    let budget = BUDGET_MB.to_string();
    let server = Server::start(
        &fixtures_dir().join("yolov8-fixture"),
        &["--decode-budget-mb", &budget, "--cpu-threads", "2"],
    );
    let png = flat_rgba16_png(SIDE);
    // Warm up: the first scan brings in what any scan needs.
    server
        .client()
        .await
        .inspect(scan("warm-up", png_128x64()))
        .await
        .expect("warm-up");
    let base_kib = status_kib(server.pid(), "VmRSS:");

    let mut burst = tokio::task::JoinSet::new();
    for i in 0..BURST {
        let mut client = server.client().await;
        let request = scan(&format!("big-{i}"), png.clone());
        burst.spawn(async move { client.inspect(request).await });
    }
    while let Some(answer) = burst.join_next().await {
        let result = answer
            .expect("joined")
            .expect("each large scan is screened")
            .into_inner();
        assert_eq!((result.image_width, result.image_height), (SIDE, SIDE));
    }

    // Decoded, each scan is its RGB output (3 bytes a pixel, 48 MiB); a general decoder
    // would first hold 8 bytes a pixel beside it (176 MiB a scan, two at once on two
    // threads). The budget allows two at 48 MiB; what the burst holds besides is its
    // messages and model inputs, and allocator slack.
    let peak_kib = status_kib(server.pid(), "VmHWM:");
    let on_the_wire = (png.len() as u64 + 3 * 416 * 416 * 4) * BURST as u64 / 1024;
    let bound_kib = base_kib + BUDGET_MB * 1024 + on_the_wire + 96 * 1024;
    assert!(
        peak_kib < bound_kib,
        "peak {peak_kib} KiB over the bound {bound_kib} KiB (base {base_kib} KiB)"
    );

    // One scan whose decode alone needs more than the budget is refused, not decoded.
    let over = flat_rgba16_png(8000);
    let status = server
        .client()
        .await
        .inspect(scan("too-big-to-decode", over))
        .await
        .expect_err("over the budget");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(
        status
            .message()
            .contains("more than the whole decode budget of 128 MiB"),
        "{status:?}"
    );
}
