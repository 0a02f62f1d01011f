//! Shared by the end-to-end tests: the real server binary on an ephemeral port, test images,
//! and the boxes the ONNX fixtures must produce.

#![allow(dead_code)]

pub mod webdriver;

use std::{
    io::{BufRead, BufReader, Cursor},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::Duration,
};

use image::{DynamicImage, ImageBuffer, ImageFormat, Rgb};
use xray_load::Samples;
use xray_proto::{Detection, Scan, inspection_client::InspectionClient};

pub const BIN: &str = env!("CARGO_BIN_EXE_xray-screen");

pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/models")
}

/// The fixtures of the batching tests: `conv-fixture` (outputs depend on the pixels) and
/// `slow-fixture` (the yolov8 fixture's outputs, slowly).
pub fn batching_fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/batching")
}

/// A running `xray-screen serve`, killed (SIGKILL) on drop. Unless the test names a
/// `--data-dir`, its database is in a temporary folder of its own.
pub struct Server {
    child: Child,
    _data: Option<tempfile::TempDir>,
    pub addr: String,
    /// Its `/metrics` URL.
    pub metrics_url: String,
    /// The rest of its stdout lines.
    lines: mpsc::Receiver<String>,
}

impl Server {
    /// Starts the server on 127.0.0.1:0 (gRPC and metrics) and waits until it says that its
    /// models are ready.
    pub fn start(models_dir: &Path, extra: &[&str]) -> Server {
        let mut server = Server::spawn(models_dir, extra);
        let addr = server
            .wait_for_line("listening on grpc://")
            .expect("server printed its address");
        server.addr = addr;
        server
    }

    /// Starts the server and returns as soon as it has bound its ports (models may still be
    /// loading; `addr` is the bound gRPC address).
    pub fn start_loading(models_dir: &Path, extra: &[&str]) -> Server {
        let mut server = Server::spawn(models_dir, extra);
        let line = server
            .wait_for_line("bound grpc://")
            .expect("server printed its bound address");
        server.addr = line
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string();
        server
    }

    fn spawn(models_dir: &Path, extra: &[&str]) -> Server {
        let data = (!extra.contains(&"--data-dir"))
            .then(|| tempfile::tempdir().expect("temporary data folder"));
        let mut command = Command::new(BIN);
        command.arg("serve");
        if let Some(dir) = &data {
            command.arg("--data-dir").arg(dir.path());
        }
        let mut child = command
            .args(["--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0"])
            .arg("--models-dir")
            .arg(models_dir)
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("server binary starts");
        let stdout = child.stdout.take().expect("stdout piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut server = Server {
            child,
            _data: data,
            addr: String::new(),
            metrics_url: String::new(),
            lines: rx,
        };
        let metrics = server
            .wait_for_line("metrics on ")
            .expect("server printed its metrics URL");
        server.metrics_url = metrics;
        server
    }

    /// Waits (at most two minutes) for a stdout line starting with `prefix`; returns the rest.
    pub fn wait_for_line(&mut self, prefix: &str) -> Option<String> {
        let until = std::time::Instant::now() + Duration::from_secs(120);
        loop {
            let left = until.checked_duration_since(std::time::Instant::now())?;
            let line = self.lines.recv_timeout(left).ok()?;
            if let Some(rest) = line.strip_prefix(prefix) {
                return Some(rest.to_string());
            }
        }
    }

    /// The server's metrics now.
    pub async fn metrics(&self) -> Samples {
        Samples::scrape(&self.metrics_url)
            .await
            .expect("metrics page answers")
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub async fn channel(&self) -> tonic::transport::Channel {
        tonic::transport::Endpoint::from_shared(self.url())
            .expect("valid url")
            .connect()
            .await
            .expect("connects")
    }

    pub async fn client(&self) -> InspectionClient<tonic::transport::Channel> {
        InspectionClient::connect(self.url())
            .await
            .expect("connects")
            .max_decoding_message_size(64 << 20)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The HTTP port's address (review screen and metrics), `host:port`.
    pub fn http_addr(&self) -> String {
        self.metrics_url
            .trim_start_matches("http://")
            .trim_end_matches("/metrics")
            .to_string()
    }

    /// Sends SIGTERM, as an orchestrator stopping the service does.
    pub fn terminate(&self) {
        let sent = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "SIGTERM sent");
    }

    /// Waits up to `within` for the process to exit; its status, or None if it is still
    /// running.
    pub fn wait_exit(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let until = std::time::Instant::now() + within;
        while std::time::Instant::now() < until {
            if let Some(status) = self.child.try_wait().expect("waits") {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn gradient(w: u32, h: u32) -> DynamicImage {
    DynamicImage::ImageRgb8(ImageBuffer::from_fn(w, h, |x, y| {
        Rgb([(x % 256) as u8, (y % 256) as u8, 128])
    }))
}

/// Pseudo-random pixels: compresses badly, so its PNG is large.
pub fn noise(w: u32, h: u32) -> DynamicImage {
    DynamicImage::ImageRgb8(ImageBuffer::from_fn(w, h, |x, y| {
        let v =
            (x.wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40_503)).wrapping_mul(2_246_822_519);
        Rgb([(v >> 8) as u8, (v >> 16) as u8, (v >> 24) as u8])
    }))
}

pub fn encode(image: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, format).expect("encodes");
    out.into_inner()
}

/// (class, category name, confidence, x1, y1, x2, y2) in the scan's pixels.
pub type Expected = (&'static str, &'static str, f32, [f32; 4]);

/// What every fixture model must report for a 128x64 scan: the input is 64x64, so the scan is
/// halved and padded 16 rows top and bottom; boxes come back doubled, shifted and clipped.
pub const EXPECTED_128X64: [Expected; 4] = [
    ("pistol", "WEAPON", 0.9, [16.0, 0.0, 48.0, 16.0]),
    (
        "cigarettes",
        "UNDECLARED_GOODS",
        0.7,
        [16.0, 0.0, 48.0, 16.0],
    ),
    (
        "cigarettes",
        "UNDECLARED_GOODS",
        0.45,
        [80.0, 48.0, 120.0, 64.0],
    ),
    ("bag", "OTHER", 0.35, [4.0, 28.0, 60.0, 64.0]),
];

/// For a 32x32 scan: doubled into the 64x64 input, so boxes come back halved.
pub const EXPECTED_32X32: [Expected; 4] = [
    ("pistol", "WEAPON", 0.9, [4.0, 4.0, 12.0, 12.0]),
    (
        "cigarettes",
        "UNDECLARED_GOODS",
        0.7,
        [4.0, 4.0, 12.0, 12.0],
    ),
    (
        "cigarettes",
        "UNDECLARED_GOODS",
        0.45,
        [20.0, 20.0, 30.0, 28.0],
    ),
    ("bag", "OTHER", 0.35, [1.0, 15.0, 15.0, 31.0]),
];

pub fn assert_detections(got: &[Detection], want: &[Expected]) {
    let mut got = got.to_vec();
    got.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
    assert_eq!(got.len(), want.len(), "detections: {got:#?}");
    for (d, (class, category, confidence, bbox)) in got.iter().zip(want) {
        assert_eq!(d.class_name, *class);
        assert_eq!(d.category().as_str_name(), *category);
        assert!((d.confidence - confidence).abs() < 1e-5, "{d:?}");
        let b = d.r#box.expect("box");
        let got_box = [b.x1, b.y1, b.x2, b.y2];
        for (g, w) in got_box.iter().zip(bbox) {
            assert!(
                (g - w).abs() < 1e-3,
                "{class}: box {got_box:?}, want {bbox:?}"
            );
        }
        assert_eq!(d.alarm, *category != "OTHER", "{d:?}");
    }
}

/// A scan with just an id and image bytes (encoding sniffed by the server).
pub fn scan(id: &str, image: Vec<u8>) -> Scan {
    Scan {
        scan_id: id.to_string(),
        image: image.into(),
        ..Default::default()
    }
}

/// The 128x64 gradient PNG whose fixture answers are `EXPECTED_128X64`.
pub fn png_128x64() -> Vec<u8> {
    encode(&gradient(128, 64), ImageFormat::Png)
}
