//! DICOS DX scans over the real gRPC door with the default model: a dual-energy scan sent as
//! a DICOS DX object (`Scan.encoding = DICOS`, or sniffed) is screened exactly as the same
//! low and high energies sent as a TIFF are; the answer carries a MACHINE TDR that pydicom
//! reads (its tags, its polygons over the detections' boxes, the DX it refers to); a DX
//! without a scan id takes its SOP Instance UID, and its Accession Number names its
//! declaration; a broken DX is refused with a sentence.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use tonic::Code;
use xray_proto::{
    Declaration, DeclaredItem, DetectionJudgement, DetectionVerdict, GetScanRequest, ImageEncoding,
    RegisterDeclarationRequest, Scan, ScanDecision, SubmitVerdictRequest,
    declarations_client::DeclarationsClient, review_client::ReviewClient,
};

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// A DICOS DX of the two energies, as the scanner `sop_instance_uid` names it, of the
/// declaration `accession` names.
fn dx_of(
    w: u32,
    h: u32,
    [low, high]: [Vec<u16>; 2],
    sop_instance_uid: &str,
    accession: Option<&str>,
) -> Vec<u8> {
    xray_dicos::write_dx(&xray_dicos::DxSpec {
        width: w,
        height: h,
        frames: vec![low, high],
        sop_instance_uid: sop_instance_uid.into(),
        study_instance_uid: "1.2.826.0.1.3680043.10.0.2".into(),
        series_instance_uid: "1.2.826.0.1.3680043.10.0.3".into(),
        accession_number: accession.map(String::from),
        pixel_spacing_mm: None,
    })
    .expect("a DX is written")
}

/// Registers a declaration of T-shirts under `id`.
async fn register(server: &Server, id: &str) {
    DeclarationsClient::new(server.channel().await)
        .register_declaration(RegisterDeclarationRequest {
            declaration: Some(Declaration {
                id: id.into(),
                declarant: "Nordic Textiles AB".into(),
                origin_country: "CN".into(),
                destination_country: "SE".into(),
                items: vec![DeclaredItem {
                    hs_code: "6109".into(),
                    description: "T-shirts".into(),
                    quantity: 10.0,
                    value: 100.0,
                }],
                prior_risk: 0.1,
                ..Default::default()
            }),
        })
        .await
        .expect("registers");
}

/// The first dual-energy test scan: its TIFF bytes and its (low, high) samples.
fn dual_energy_scan() -> (Vec<u8>, u32, u32, Vec<u16>, Vec<u16>) {
    dual_energy_scan_named("s5000_000000.tiff")
}

/// A dual-energy test scan of test-images/: its TIFF bytes and its (low, high) samples.
fn dual_energy_scan_named(name: &str) -> (Vec<u8>, u32, u32, Vec<u16>, Vec<u16>) {
    let path = &repo("test-images").join(name);
    let bytes = std::fs::read(path).expect("read");
    let mut decoder = tiff::decoder::Decoder::new(std::io::Cursor::new(&bytes)).expect("a TIFF");
    let (w, h) = decoder.dimensions().expect("dimensions");
    let tiff::decoder::DecodingResult::U16(samples) = decoder.read_image().expect("decodes") else {
        panic!("the dual-energy test scan has 16-bit samples");
    };
    let (low, high) = samples.chunks_exact(2).map(|s| (s[0], s[1])).unzip();
    (bytes, w, h, low, high)
}

#[tokio::test]
async fn a_dicos_dx_is_screened_as_the_same_energies_in_a_tiff_are() {
    let (tiff, w, h, low, high) = dual_energy_scan();
    let dx = dx_of(
        w,
        h,
        [low.clone(), high.clone()],
        "1.2.826.0.1.3680043.10.7.1",
        None,
    );
    let server = Server::start(&repo("models"), &[]);
    let mut client = server.client().await;
    let as_tiff = client
        .inspect(scan("as-tiff", tiff))
        .await
        .expect("the TIFF is screened")
        .into_inner();
    for (id, declared) in [
        ("sniffed", ImageEncoding::EncodingUnspecified),
        ("declared", ImageEncoding::Dicos),
    ] {
        let as_dicos = client
            .inspect(Scan {
                encoding: declared as i32,
                ..scan(id, dx.clone())
            })
            .await
            .expect("the DX is screened")
            .into_inner();
        assert_eq!((as_dicos.image_width, as_dicos.image_height), (w, h));
        assert_eq!(as_dicos.alarm, as_tiff.alarm);
        assert_eq!(as_dicos.detections, as_tiff.detections, "{id}");
    }
    assert!(
        !as_tiff.detections.is_empty(),
        "the test scan shows something"
    );

    // The TDR of a DX's answer, read by pydicom.
    let as_dicos = client
        .inspect(scan("with-tdr", dx.clone()))
        .await
        .expect("screened")
        .into_inner();
    assert!(as_tiff.tdr.is_empty(), "a TIFF gets no TDR");
    let dir = tempfile::tempdir().expect("tmp");
    let tdr_path = dir.path().join("tdr.dcm");
    std::fs::write(&tdr_path, &as_dicos.tdr).expect("written");
    let boxes: Vec<[f32; 4]> = as_dicos
        .detections
        .iter()
        .map(|d| {
            let b = d.r#box.expect("box");
            [b.x1, b.y1, b.x2, b.y2]
        })
        .collect();
    let expected = serde_json::json!({
        "alarm": as_dicos.alarm,
        "dx_uid": "1.2.826.0.1.3680043.10.7.1",
        "boxes": boxes,
        "names": as_dicos.detections.iter().map(|d| d.class_name.clone()).collect::<Vec<_>>(),
    });
    let out = std::process::Command::new(repo(".venv/bin/python"))
        .arg(repo("tests/dicos/check_tdr.py"))
        .arg(&tdr_path)
        .arg(expected.to_string())
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "pydicom: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    // Without a scan id the DX's SOP Instance UID is the scan's; its Accession Number names
    // its declaration (here one that is not registered: refused, naming it).
    let unnamed = client
        .inspect(scan("", dx.clone()))
        .await
        .expect("screened")
        .into_inner();
    assert_eq!(unnamed.scan_id, "1.2.826.0.1.3680043.10.7.1");
    let with_accession = dx_of(
        w,
        h,
        [low, high],
        "1.2.826.0.1.3680043.10.7.9",
        Some("D-UNREGISTERED"),
    );
    let e = client
        .inspect(Scan {
            portal_id: "portal-1".into(),
            ..scan("", with_accession)
        })
        .await
        .expect_err("its declaration is not registered");
    assert_eq!(e.code(), Code::NotFound, "{}", e.message());
    assert!(e.message().contains("D-UNREGISTERED"), "{}", e.message());

    // A DX cut short, and a DX declared for bytes that are not one.
    let mut cut = dx.clone();
    cut.truncate(dx.len() / 2);
    let e = client
        .inspect(scan("cut", cut))
        .await
        .expect_err("cut short");
    assert_eq!(e.code(), Code::InvalidArgument, "{}", e.message());
    assert!(e.message().contains("DICOS"), "{}", e.message());
    let e = client
        .inspect(Scan {
            encoding: ImageEncoding::Dicos as i32,
            ..scan("png", png_128x64())
        })
        .await
        .expect_err("not a DX");
    assert_eq!(e.code(), Code::InvalidArgument, "{}", e.message());
}

/// A DX of a declaration is stored with its image; GetScan answers its MACHINE TDR under the
/// UID its screening's had and, once an inspector cleared it, an OPERATOR TDR naming the
/// inspector and referring to the MACHINE TDR.
#[tokio::test]
async fn a_stored_dx_has_its_machine_and_operator_reports() {
    let (_, w, h, low, high) = dual_energy_scan();
    let dx = dx_of(
        w,
        h,
        [low, high],
        "1.2.826.0.1.3680043.10.8.1",
        Some("D-DICOS"),
    );
    let server = Server::start(&repo("models"), &["--keep-images", "all"]);
    register(&server, "D-DICOS").await;
    // No scan id, no declaration id: both come from the object.
    let screened = server
        .client()
        .await
        .inspect(Scan {
            portal_id: "portal-1".into(),
            ..scan("", dx)
        })
        .await
        .expect("screened")
        .into_inner();
    assert_eq!(screened.scan_id, "1.2.826.0.1.3680043.10.8.1");
    assert_eq!(screened.declaration_id, "D-DICOS");
    let machine = xray_dicos::read_tdr(&screened.tdr).expect("a TDR");

    let get = |review: ReviewClient<Authed>| async move {
        let mut review = review;
        review
            .get_scan(GetScanRequest {
                scan_id: "1.2.826.0.1.3680043.10.8.1".into(),
                without_image: false,
            })
            .await
            .expect("stored")
            .into_inner()
    };
    let record = get(ReviewClient::new(server.channel().await)).await;
    let stored = xray_dicos::read_tdr(&record.tdr).expect("the stored scan's TDR");
    assert_eq!(stored.sop_instance_uid, machine.sop_instance_uid);
    assert_eq!(stored.threats.len(), screened.detections.len());
    assert!(record.operator_tdr.is_empty(), "no verdict yet");

    let inspector = add_principal(&server.data_dir, "insp-dicos", &["inspector"], &[]);
    ReviewClient::new(server.channel_as(&inspector).await)
        .submit_verdict(SubmitVerdictRequest {
            scan_id: screened.scan_id.clone(),
            detections: screened
                .detections
                .iter()
                .map(|d| DetectionJudgement {
                    detection_id: d.detection_id,
                    verdict: DetectionVerdict::FalseAlarm as i32,
                })
                .collect(),
            decision: ScanDecision::Cleared as i32,
            ..Default::default()
        })
        .await
        .expect("verdict");
    let record = get(ReviewClient::new(server.channel().await)).await;
    let operator = xray_dicos::read_tdr(&record.operator_tdr).expect("an OPERATOR TDR");
    assert_eq!(operator.kind, Some(xray_dicos::TdrType::Operator));
    assert_eq!(operator.operator.as_deref(), Some("insp-dicos"));
    assert_eq!(
        operator.referenced_tdr_uid.as_deref(),
        Some(machine.sop_instance_uid.as_str())
    );
    assert!(
        !operator.alarm,
        "every detection was a false alarm and the scan cleared"
    );
    assert_eq!(
        operator.referenced_dx_sop_instance_uid.as_deref(),
        Some("1.2.826.0.1.3680043.10.8.1")
    );
}

/// `synth --dicos` writes each scan as a DICOS DX and its labels as a GROUND_TRUTH TDR that
/// pydicom reads: two frames of the scan's size, and one potential threat object per label
/// over its box, referring to the DX.
#[test]
fn synth_writes_dicos_objects_that_pydicom_reads() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("set");
    let status = std::process::Command::new(BIN)
        .args([
            "synth", "--seed", "5", "--count", "2", "--no-raw", "--dicos", "--quiet",
        ])
        .args([
            "--min-width",
            "300",
            "--max-width",
            "340",
            "--benign-fraction",
            "0",
        ])
        .arg("--out")
        .arg(&out)
        .status()
        .expect("synth runs");
    assert!(status.success());
    let script = r#"
import json, pathlib, sys
import pydicom
root = pathlib.Path(sys.argv[1])
for dx_path in sorted(root.glob("dicos/*[0-9].dcm")):
    dx = pydicom.dcmread(dx_path)
    tdr = pydicom.dcmread(dx_path.with_name(dx_path.stem + ".tdr.dcm"))
    truth = json.loads((root / "annotations" / (dx_path.stem + ".json")).read_text())
    assert dx.pixel_array.shape == (2, truth["height"], truth["width"]), dx.pixel_array.shape
    assert tdr[0x4010, 0x1027].value == "GROUND_TRUTH", tdr[0x4010, 0x1027].value
    assert dx.SOPInstanceUID in str(tdr), "the TDR names its DX"
    threats = tdr[0x4010, 0x1011].value
    assert len(threats) == len(truth["objects"]), (len(threats), truth["objects"])
    for item, obj in zip(threats, truth["objects"]):
        x1, y1, x2, y2 = obj["box"]
        (representation,) = item[0x4010, 0x1037].value
        polygon = [float(v) for v in representation[0x4010, 0x101D].value]
        assert polygon == [x1, y1, x2, y1, x2, y2, x1, y2], (polygon, obj["box"])
        (assessment,) = item[0x4010, 0x1038].value
        assert assessment[0x4010, 0x1013].value == obj["class_name"]
    print(dx_path.name, "checked")
"#;
    let output = std::process::Command::new(repo(".venv/bin/python"))
        .arg("-c")
        .arg(script)
        .arg(&out)
        .output()
        .expect("python runs");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && text.matches("checked").count() == 2,
        "pydicom: {text}{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `eval` reads a DICOS set as it reads the same set's PNGs: the same scans, and the same
/// objects per class, the ground truth coming from each DX's GROUND_TRUTH TDR.
#[test]
fn eval_reads_a_dicos_set_with_its_ground_truth_from_the_tdrs() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("set");
    let status = std::process::Command::new(BIN)
        .args([
            "synth", "--seed", "6", "--count", "3", "--no-raw", "--dicos", "--quiet",
        ])
        .args([
            "--min-width",
            "300",
            "--max-width",
            "340",
            "--benign-fraction",
            "0",
        ])
        .arg("--out")
        .arg(&out)
        .status()
        .expect("synth runs");
    assert!(status.success());
    let report = |set: &Path, json: &Path| {
        let output = std::process::Command::new(BIN)
            .arg("eval")
            .arg(set)
            .args(["--models-dir", "models", "--json"])
            .arg(json)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("eval runs");
        assert!(
            output.status.success(),
            "eval {}: {}",
            set.display(),
            String::from_utf8_lossy(&output.stderr)
        );
        let text = std::fs::read_to_string(json).expect("report");
        serde_json::from_str::<serde_json::Value>(&text).expect("JSON")
    };
    let pngs = report(&out, &dir.path().join("png.json"));
    let dicos = report(&out.join("dicos"), &dir.path().join("dicos.json"));
    assert_eq!(dicos["scans"], 3);
    assert_eq!(dicos["scans"], pngs["scans"]);
    assert_eq!(dicos["objects"], pngs["objects"]);
    assert!(dicos["objects"].as_u64().unwrap_or(0) >= 3, "{dicos}");
    assert_eq!(dicos["unlabelled"], 0);
    let per_class = |r: &serde_json::Value| -> Vec<(String, u64)> {
        r["classes"]
            .as_array()
            .expect("classes")
            .iter()
            .map(|c| {
                (
                    c["name"].as_str().unwrap_or_default().to_string(),
                    c["objects"].as_u64().unwrap_or(0),
                )
            })
            .collect()
    };
    assert_eq!(per_class(&dicos), per_class(&pngs));
}

/// The DICOM door of `serve` (`--dicom-addr`), with pynetdicom as the scanner and as the TDR
/// destination: an unknown calling AE is refused; the scanner's C-STORE of a DX of a
/// declaration (a bag with a knife) is screened and stored under the DX's UID for the
/// scanner's portal, flagged in the review queue; the destination receives its TDR with an
/// ALARM and a prohibited item over the knife.
#[tokio::test]
async fn a_scanner_stores_a_dx_through_the_dicom_door_of_serve() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let addr = format!("127.0.0.1:{port}");
    let sink_port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let received = tempfile::tempdir().expect("tmp");
    let mut sink = KillOnDrop(
        std::process::Command::new(repo(".venv/bin/python"))
            .arg(repo("crates/dicom-door/tests/peer.py"))
            .args(["scp", &sink_port.to_string(), "TDR-SINK"])
            .arg(received.path())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("the TDR destination starts"),
    );
    {
        use std::io::BufRead;
        let mut ready = String::new();
        std::io::BufReader::new(sink.0.stdout.as_mut().expect("stdout"))
            .read_line(&mut ready)
            .expect("the destination says it is ready");
        assert!(ready.contains("ready"), "{ready}");
    }
    let destination = format!("127.0.0.1:{sink_port}:TDR-SINK");
    let server = Server::start(
        &repo("models"),
        &[
            "--dicom-addr",
            &addr,
            "--dicom-tdr-destination",
            &destination,
            "--keep-images",
            "all",
        ],
    );
    add_principal(&server.data_dir, "GATE-DICOS", &["scanner"], &["portal-1"]);
    register(&server, "D-DOOR").await;
    // A bag with a knife the model finds (test-images/KNOWN_MISSES lists only its drugs).
    let (_, w, h, low, high) = dual_energy_scan_named("s5000_000010.tiff");
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("scan.dcm");
    std::fs::write(
        &path,
        dx_of(
            w,
            h,
            [low, high],
            "1.2.826.0.1.3680043.10.9.1",
            Some("D-DOOR"),
        ),
    )
    .expect("written");
    let peer = |args: &[&str]| -> serde_json::Value {
        let out = std::process::Command::new(repo(".venv/bin/python"))
            .arg(repo("crates/dicom-door/tests/peer.py"))
            .args(args)
            .output()
            .expect("python runs");
        let text = String::from_utf8_lossy(&out.stdout);
        serde_json::from_str(text.lines().last().unwrap_or_default()).unwrap_or_else(|e| {
            panic!(
                "peer.py {args:?}: {e}: {text}{}",
                String::from_utf8_lossy(&out.stderr)
            )
        })
    };
    let port = port.to_string();
    let refused = peer(&["echo", "127.0.0.1", &port, "NOBODY"]);
    assert!(
        refused.get("status").is_none(),
        "an unknown AE is refused: {refused}"
    );
    let stored = peer(&[
        "store",
        "127.0.0.1",
        &port,
        "GATE-DICOS",
        path.to_str().expect("utf-8"),
    ]);
    assert_eq!(stored["status"], 0, "{stored}");

    let record = xray_proto::review_client::ReviewClient::new(server.channel().await)
        .get_scan(GetScanRequest {
            scan_id: "1.2.826.0.1.3680043.10.9.1".into(),
            without_image: false,
        })
        .await
        .expect("stored through the DICOM door")
        .into_inner();
    assert_eq!(record.portal_id, "portal-1");
    let tdr = xray_dicos::read_tdr(&record.tdr).expect("its TDR");
    assert_eq!(
        tdr.referenced_dx_sop_instance_uid.as_deref(),
        Some("1.2.826.0.1.3680043.10.9.1")
    );
    let queue = xray_proto::review_client::ReviewClient::new(server.channel().await)
        .list_flagged(xray_proto::ListFlaggedRequest::default())
        .await
        .expect("the queue")
        .into_inner();
    assert!(
        queue
            .scans
            .iter()
            .any(|s| s.scan_id == "1.2.826.0.1.3680043.10.9.1"),
        "the DX is in the review queue"
    );

    // The destination received the TDR: an ALARM, a prohibited item over the knife.
    let until = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let delivered = loop {
        let found = std::fs::read_dir(received.path())
            .expect("the destination's folder")
            .flatten()
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|e| e == "dcm"));
        if let Some(path) = found {
            break std::fs::read(path).expect("the delivered TDR");
        }
        assert!(std::time::Instant::now() < until, "no TDR was delivered");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    drop(sink);
    let delivered = xray_dicos::read_tdr(&delivered).expect("a TDR");
    assert!(delivered.alarm, "{delivered:?}");
    let knife = [238.0f32, 166.0, 482.0, 224.0];
    let over_the_knife = delivered.threats.iter().any(|t| {
        let xs: Vec<f32> = t.polygon.iter().step_by(2).copied().collect();
        let ys: Vec<f32> = t.polygon.iter().skip(1).step_by(2).copied().collect();
        let (x1, x2) = (
            xs.iter().copied().fold(f32::MAX, f32::min),
            xs.iter().copied().fold(f32::MIN, f32::max),
        );
        let (y1, y2) = (
            ys.iter().copied().fold(f32::MAX, f32::min),
            ys.iter().copied().fold(f32::MIN, f32::max),
        );
        let overlap = (x2.min(knife[2]) - x1.max(knife[0])).max(0.0)
            * (y2.min(knife[3]) - y1.max(knife[1])).max(0.0);
        let union = (x2 - x1) * (y2 - y1) + (knife[2] - knife[0]) * (knife[3] - knife[1]) - overlap;
        t.category == Some(xray_dicos::ThreatCategory::ProhibitedItem) && overlap / union >= 0.5
    });
    assert!(over_the_knife, "{:?}", delivered.threats);
}

/// A helper process that ends with the test, passed or failed.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// With `--dicos-declaration-from none`, a DX's Accession Number names no declaration: the
/// scan of a DX that carries one is screened, not refused for an unregistered declaration.
#[tokio::test]
async fn the_declaration_attribute_is_a_setting() {
    let (_, w, h, low, high) = dual_energy_scan();
    let dx = dx_of(
        w,
        h,
        [low, high],
        "1.2.826.0.1.3680043.10.11.1",
        Some("D-UNREGISTERED"),
    );
    let server = Server::start(&repo("models"), &["--dicos-declaration-from", "none"]);
    let answer = server
        .client()
        .await
        .inspect(scan("", dx))
        .await
        .expect("screened, not refused")
        .into_inner();
    assert_eq!(answer.scan_id, "1.2.826.0.1.3680043.10.11.1");
    assert!(answer.declaration_id.is_empty(), "{answer:?}");
    assert!(!answer.tdr.is_empty());
}
