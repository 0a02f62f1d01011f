//! The DICOM door against pynetdicom, an independent DICOM implementation, as the scanner
//! (C-ECHO, C-STORE) and as the TDR destination (a storage SCP): the door runs in process
//! over a real service (SQLite store, the fixture model through ONNX Runtime).

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};

use serde_json::Value;
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};
use xray_customs::{
    declaration::{Declaration, DeclaredItem, HsCode, TransportMode},
    principal::Role,
    risk::RiskPolicy,
};
use xray_dicom_door::{Destination, DicomSettings, serve_dicom};
use xray_engine::{
    imaging::ImageLimits,
    model::{ModelRegistry, OrtRuntime, RegistryOptions, SessionOptions},
    pipeline::{BatchingSettings, Pipeline},
};
use xray_service::{Caller, KeepImages, Service, principals::NewPrincipal};
use xray_store_sqlite::SqliteStore;

const SCANNER: &str = "SCANNER-1";
const PORTAL: &str = "portal-1";

fn workspace(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

/// The venv's Python with pynetdicom; its absence fails the test (tools/requirements.txt).
fn python() -> PathBuf {
    let python = workspace(".venv/bin/python");
    assert!(
        python.is_file(),
        "{} is missing: make the venv and `pip install -r tools/requirements.txt` (pydicom, pynetdicom)",
        python.display()
    );
    python
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peer.py")
}

/// Runs one peer.py mode to its end (off the runtime's threads); its JSON answer.
async fn peer(args: Vec<String>) -> Value {
    let out = tokio::task::spawn_blocking(move || {
        Command::new(python())
            .arg(script())
            .args(&args)
            .output()
            .expect("python runs")
    })
    .await
    .expect("joined");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "peer.py failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = stdout.lines().last().expect("peer.py answers a line");
    serde_json::from_str(line).unwrap_or_else(|e| panic!("peer.py answered {line:?}: {e}"))
}

struct Door {
    service: Service,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
    _data: tempfile::TempDir,
}

impl Door {
    /// A service with the fixture model and a scanner principal, and the door over it.
    async fn start(configure: impl FnOnce(&mut DicomSettings)) -> Door {
        // The door's log, shown for a failing test (RUST_LOG to change what).
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| "xray_dicom_door=info".into()),
            )
            .with_test_writer()
            .try_init();
        let data = tempfile::tempdir().expect("tmp");
        let store = SqliteStore::open(data.path()).expect("store");
        let images = xray_blobs::LocalBlobs::open(data.path().join("images")).expect("images");
        let service = Service::new(
            Arc::new(store),
            Arc::new(images),
            RiskPolicy::default(),
            KeepImages::All,
            ImageLimits::default(),
        )
        .expect("service");
        let runtime = OrtRuntime::init(None).expect("ONNX Runtime (.ort/)");
        let registry = ModelRegistry::load(
            runtime,
            &workspace("tests/fixtures/risk"),
            &RegistryOptions {
                session: SessionOptions::default(),
                default_model: None,
                instances: 1,
            },
        )
        .expect("the fixture model loads");
        let batching = BatchingSettings {
            max_queue_delay: None,
            queue_bounds: [16, 16],
            client_share: 16,
        };
        let pipeline = Pipeline::new(registry, &batching, ImageLimits::default(), 1, 256 << 20)
            .expect("pipeline");
        service.models_ready(pipeline).expect("ready");
        let operator = Caller::Operator("test".into());
        for (name, roles, portals) in [
            (SCANNER, vec![Role::Scanner], vec![PORTAL.to_string()]),
            ("RISK", vec![Role::RiskSystem], vec![]),
            ("INSPECTOR-1", vec![Role::Supervisor], vec![]),
        ] {
            service
                .add_principal(
                    &operator,
                    NewPrincipal {
                        name: name.into(),
                        roles,
                        portals,
                        expires_after: None,
                    },
                )
                .await
                .expect("principal added");
        }
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let mut settings = DicomSettings {
            addr,
            ..Default::default()
        };
        configure(&mut settings);
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve_dicom(listener, service.clone(), settings, stopped));
        Door {
            service,
            addr,
            stop: Some(stop),
            task,
            _data: data,
        }
    }

    fn args(&self, mode: &str, calling: &str, rest: &[&str]) -> Vec<String> {
        let mut args = vec![
            mode.to_string(),
            "127.0.0.1".to_string(),
            self.addr.port().to_string(),
            calling.to_string(),
        ];
        args.extend(rest.iter().map(|s| s.to_string()));
        args
    }

    async fn caller(&self, name: &str) -> Caller {
        self.service
            .authenticate(
                xray_service::Credential::Certificate(name.into()),
                None,
                "test",
            )
            .await
            .expect("a principal of the test")
    }

    async fn register(&self, id: &str) {
        self.service
            .register_declaration(
                &self.caller("RISK").await,
                Declaration {
                    id: id.into(),
                    declarant: "ACME".into(),
                    origin_country: "CN".into(),
                    destination_country: "DE".into(),
                    transport_mode: TransportMode::Post,
                    items: vec![DeclaredItem {
                        hs_code: HsCode::parse("6109").expect("hs"),
                        description: "shirts".into(),
                        quantity: 1.0,
                        value: 2.0,
                    }],
                    prior_risk: 0.1,
                },
            )
            .await
            .expect("registered");
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(Duration::from_secs(30), self.task)
            .await
            .expect("the door stops")
            .expect("joined")
            .expect("served");
    }
}

/// A dual-energy DX (two 16-bit frames) written by xray_dicos, saved under `dir`.
fn dx_file(dir: &Path, uid: &str, accession: &str) -> PathBuf {
    let (w, h) = (96u32, 64u32);
    let low: Vec<u16> = (0..w * h).map(|i| (i % w * 300) as u16).collect();
    let high: Vec<u16> = (0..w * h).map(|i| (i / w * 500) as u16).collect();
    let dx = xray_dicos::write_dx(&xray_dicos::DxSpec {
        width: w,
        height: h,
        frames: vec![low, high],
        sop_instance_uid: uid.into(),
        study_instance_uid: format!("{uid}.1"),
        series_instance_uid: format!("{uid}.2"),
        accession_number: Some(accession.into()),
        pixel_spacing_mm: None,
    })
    .expect("a DX is written");
    let path = dir.join(format!("{uid}.dcm"));
    std::fs::write(&path, dx).expect("written");
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_known_scanner_echoes_and_an_unknown_ae_is_rejected() {
    let door = Door::start(|_| {}).await;

    let ok = peer(door.args("echo", SCANNER, &[])).await;
    assert_eq!(ok["established"], true, "{ok}");
    assert_eq!(ok["status"], 0, "{ok}");

    // Rejected-permanent (1), by the service user (1): calling AE title not recognized (3).
    let unknown = peer(door.args("echo", "NOBODY", &[])).await;
    assert_eq!(unknown["established"], false, "{unknown}");
    assert_eq!(
        (
            &unknown["result"],
            &unknown["source"],
            &unknown["diagnostic"]
        ),
        (&Value::from(1), &Value::from(1), &Value::from(3)),
        "{unknown}"
    );
    // A principal that is not a scanner is no scanner.
    let inspector = peer(door.args("echo", "INSPECTOR-1", &[])).await;
    assert_eq!(inspector["established"], false, "{inspector}");

    // The door keeps serving.
    let again = peer(door.args("echo", SCANNER, &[])).await;
    assert_eq!(again["status"], 0, "{again}");
    door.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stored_dx_is_screened_and_its_tdr_reaches_the_destination() {
    // The TDR destination: pynetdicom's storage SCP.
    let received = tempfile::tempdir().expect("tmp");
    let scp_port = free_port();
    let scp = TdrScp::start(scp_port, received.path());
    let door = Door::start(|s| {
        s.tdr_destination = Some(Destination {
            host: "127.0.0.1".into(),
            port: scp_port,
            ae_title: "TDR-SINK".into(),
        });
    })
    .await;
    let uid = "1.2.826.0.1.3680043.10.7.41";
    door.register("DECL-DICOM-1").await;
    let files = tempfile::tempdir().expect("tmp");
    let dx = dx_file(files.path(), uid, "DECL-DICOM-1");

    let stored = peer(door.args("store", SCANNER, &[&dx.to_string_lossy()])).await;
    assert_eq!(stored["established"], true, "{stored}");
    assert_eq!(stored["status"], 0, "{stored}");

    // Stored under the DX's SOP Instance UID, for the scanner's portal.
    let record = door
        .service
        .scan_record(&door.caller("INSPECTOR-1").await, uid, false)
        .await
        .expect("the scan is stored");
    assert_eq!(record.scan.scan_id, uid);
    assert_eq!(record.scan.declaration_id, "DECL-DICOM-1");
    assert_eq!(record.scan.portal_id, PORTAL);

    // The TDR arrives, and it is about this DX.
    let tdr = scp.wait_for_one(Duration::from_secs(30));
    let summary = xray_dicos::read_tdr(&tdr).expect("a TDR");
    assert_eq!(summary.referenced_dx_sop_instance_uid.as_deref(), Some(uid));
    door.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_dx_is_refused_with_a_sentence_and_the_door_keeps_serving() {
    // A TDR destination that is not there: delivery fails, is counted, and harms nothing.
    let door = Door::start(|s| {
        s.tdr_destination = Some(Destination {
            host: "127.0.0.1".into(),
            port: free_port(),
            ae_title: "NOWHERE".into(),
        });
    })
    .await;
    door.register("DECL-DICOM-2").await;
    let files = tempfile::tempdir().expect("tmp");
    let dx = dx_file(files.path(), "1.2.826.0.1.3680043.10.7.51", "DECL-DICOM-2");

    let broken = peer(door.args("store", SCANNER, &[&dx.to_string_lossy(), "truncate"])).await;
    assert_eq!(broken["established"], true, "{broken}");
    assert_eq!(broken["status"], 0xC000, "{broken}");
    let comment = broken["comment"].as_str().expect("an error comment");
    assert!(comment.len() > 10, "a sentence: {comment:?}");

    // The same door screens a good one afterwards.
    let good = dx_file(files.path(), "1.2.826.0.1.3680043.10.7.52", "DECL-DICOM-2");
    let stored = peer(door.args("store", SCANNER, &[&good.to_string_lossy()])).await;
    assert_eq!(stored["status"], 0, "{stored}");
    let failed_before = Instant::now();
    while xray_dicom_door::deliver::delivery_counts().1 == 0 {
        assert!(
            failed_before.elapsed() < Duration::from_secs(30),
            "the failed delivery is counted"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    door.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_association_over_the_limit_is_rejected_transiently() {
    let door = Door::start(|s| s.max_associations = 1).await;
    let answer = peer(door.args("limit", SCANNER, &[])).await;
    assert_eq!(answer["first"]["established"], true, "{answer}");
    // Rejected-transient (2), by the service provider's presentation layer (3): local
    // limit exceeded (2).
    let second = &answer["second"];
    assert_eq!(second["established"], false, "{answer}");
    assert_eq!(
        (&second["result"], &second["source"], &second["diagnostic"]),
        (&Value::from(2), &Value::from(3), &Value::from(2)),
        "{answer}"
    );
    assert_eq!(answer["after"]["status"], 0, "a slot frees up: {answer}");
    door.stop().await;
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// pynetdicom's storage SCP for TDRs, killed on drop.
struct TdrScp {
    child: Child,
    dir: PathBuf,
}

impl TdrScp {
    fn start(port: u16, dir: &Path) -> TdrScp {
        use std::io::{BufRead, BufReader};
        let mut child = Command::new(python())
            .arg(script())
            .args(["scp", &port.to_string(), "TDR-SINK"])
            .arg(dir)
            .stdout(Stdio::piped())
            .spawn()
            .expect("python runs");
        let stdout = child.stdout.take().expect("piped");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("a line");
        assert!(line.contains("ready"), "the SCP says it is ready: {line:?}");
        TdrScp {
            child,
            dir: dir.to_path_buf(),
        }
    }

    /// The bytes of the first TDR it stored.
    fn wait_for_one(&self, within: Duration) -> Vec<u8> {
        let start = Instant::now();
        loop {
            let found = std::fs::read_dir(&self.dir)
                .expect("dir")
                .filter_map(Result::ok)
                .map(|e| e.path())
                .find(|p| p.extension().is_some_and(|e| e == "dcm"));
            if let Some(path) = found {
                return std::fs::read(path).expect("read");
            }
            assert!(start.elapsed() < within, "no TDR arrived within {within:?}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for TdrScp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
