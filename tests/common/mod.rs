//! Shared by the end-to-end tests: the real server binary on an ephemeral port, test images,
//! and the boxes the ONNX fixtures must produce.

#![allow(dead_code)]

pub mod webdriver;

use std::{
    io::{BufRead, BufReader, Cursor},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{
        atomic::{AtomicUsize, Ordering},
        mpsc,
    },
    time::Duration,
};

use image::{DynamicImage, ImageBuffer, ImageFormat, Rgb};
use tonic::{service::interceptor::InterceptedService, transport::Channel};
use xray_load::{Bearer, FetchAuth, Samples, Target};
use xray_proto::{Detection, Scan, inspection_client::InspectionClient};

/// A channel whose calls carry a bearer token.
pub type Authed = InterceptedService<Channel, Bearer>;

/// The roles of the principal the tests' clients call as (all but admin).
pub const TEST_ROLES: [&str; 5] = [
    "scanner",
    "inspector",
    "risk-system",
    "supervisor",
    "observer",
];

/// The portals its scans may name.
pub const TEST_PORTALS: [&str; 11] = [
    "portal-1",
    "portal-2",
    "portal-3",
    "portal-4",
    "portal-5",
    "portal-6",
    "portal-7",
    "portal-8",
    "portal-9",
    "test-portal",
    "load",
];

/// Makes a principal in the database of `data_dir` with `xray-screen principals add`;
/// answers its token.
pub fn add_principal(data_dir: &Path, name: &str, roles: &[&str], portals: &[&str]) -> String {
    add_principal_in(data_dir, None, name, roles, portals)
}

/// As [`add_principal`], in the PostgreSQL database of `database_url` when one is given.
pub fn add_principal_in(
    data_dir: &Path,
    database_url: Option<&str>,
    name: &str,
    roles: &[&str],
    portals: &[&str],
) -> String {
    let mut command = Command::new(BIN);
    command.args(["principals", "--data-dir"]).arg(data_dir);
    if let Some(url) = database_url {
        command.args(["--database-url", url]);
    }
    command.args(["add", "--name", name]);
    for role in roles {
        command.args(["--role", role]);
    }
    for portal in portals {
        command.args(["--portal", portal]);
    }
    let out = command.output().expect("principals add runs");
    assert!(
        out.status.success(),
        "principals add: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .expect("the token is printed")
        .trim()
        .to_string()
}

/// A principal name no other server of this test process uses.
fn unique_name(prefix: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

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
/// `--data-dir`, its database is in a temporary folder of its own. Its clients call as a
/// principal with every role but admin ([`TEST_ROLES`], [`TEST_PORTALS`]).
pub struct Server {
    child: Child,
    _data: Option<tempfile::TempDir>,
    pub data_dir: PathBuf,
    pub addr: String,
    /// Its `/metrics` URL.
    pub metrics_url: String,
    /// The principal the clients call as, and its token.
    pub principal: String,
    pub token: String,
    /// Both ports serve TLS with the development certificate in `data_dir/tls`.
    pub tls: bool,
    /// The rest of its stdout lines.
    lines: mpsc::Receiver<String>,
}

impl Server {
    /// Starts the server on 127.0.0.1:0 (gRPC and metrics, plaintext) and waits until it
    /// says that its models are ready.
    pub fn start(models_dir: &Path, extra: &[&str]) -> Server {
        Server::start_with(models_dir, extra, false)
    }

    /// As [`Server::start`], with TLS on both ports (the development certificate).
    pub fn start_tls(models_dir: &Path, extra: &[&str]) -> Server {
        Server::start_with(models_dir, extra, true)
    }

    fn start_with(models_dir: &Path, extra: &[&str], tls: bool) -> Server {
        let mut server = Server::spawn(models_dir, extra, tls);
        let addr = server
            .wait_for_line("listening on grpc://")
            .expect("server printed its address");
        server.addr = addr;
        server
    }

    /// Starts the server and returns as soon as it has bound its ports (models may still be
    /// loading; `addr` is the bound gRPC address).
    pub fn start_loading(models_dir: &Path, extra: &[&str]) -> Server {
        let mut server = Server::spawn(models_dir, extra, false);
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

    fn spawn(models_dir: &Path, extra: &[&str], tls: bool) -> Server {
        let data = (!extra.contains(&"--data-dir"))
            .then(|| tempfile::tempdir().expect("temporary data folder"));
        let data_dir = match &data {
            Some(dir) => dir.path().to_path_buf(),
            None => extra
                .iter()
                .skip_while(|a| **a != "--data-dir")
                .nth(1)
                .map(PathBuf::from)
                .expect("--data-dir has a value"),
        };
        let database_url = extra
            .iter()
            .skip_while(|a| **a != "--database-url")
            .nth(1)
            .copied();
        let principal = unique_name("tester");
        let token = add_principal_in(
            &data_dir,
            database_url,
            &principal,
            &TEST_ROLES,
            &TEST_PORTALS,
        );
        let mut command = Command::new(BIN);
        command.arg("serve");
        if let Some(dir) = &data {
            command.arg("--data-dir").arg(dir.path());
        }
        if !tls {
            command.arg("--insecure-plaintext");
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
            data_dir,
            addr: String::new(),
            metrics_url: String::new(),
            principal,
            token,
            tls,
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

    /// The development CA that signed the server's certificate.
    pub fn ca_cert(&self) -> PathBuf {
        self.data_dir.join("tls/ca.pem")
    }

    /// The server, called with `token` (None: anonymously).
    pub fn target(&self, token: Option<&str>) -> Target {
        Target {
            address: self.url(),
            token: token.map(str::to_string),
            ca_cert: self.tls.then(|| self.ca_cert()),
        }
    }

    /// The server's metrics now.
    pub async fn metrics(&self) -> Samples {
        let target = self.target(Some(&self.token));
        let auth = FetchAuth {
            token: target.token.clone(),
            tls: self
                .tls
                .then(|| target.metrics_tls().expect("the development CA")),
        };
        Samples::scrape(&self.metrics_url, &auth)
            .await
            .expect("metrics page answers")
    }

    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// A connection that sends no credential.
    pub async fn raw_channel(&self) -> Channel {
        self.target(None).channel().await.expect("connects")
    }

    /// A connection whose calls carry `token`.
    pub async fn channel_as(&self, token: &str) -> Authed {
        let target = self.target(Some(token));
        InterceptedService::new(
            target.channel().await.expect("connects"),
            target.bearer().expect("a token"),
        )
    }

    /// A connection whose calls carry the test principal's token.
    pub async fn channel(&self) -> Authed {
        self.channel_as(&self.token).await
    }

    pub async fn client(&self) -> InspectionClient<Authed> {
        InspectionClient::new(self.channel().await).max_decoding_message_size(64 << 20)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL, as a machine losing power or an OOM kill does; waits for the process to go.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The HTTP port's address (review screen and metrics), `host:port`.
    pub fn http_addr(&self) -> String {
        self.metrics_url
            .trim_start_matches("http://")
            .trim_start_matches("https://")
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
