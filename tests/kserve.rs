//! The KServe v2 / Triton protocol end to end, as its own clients speak it: the real server
//! with the default model, called by the real `tritonclient` (gRPC and HTTP) from the
//! project's Python environment (`tests/kserve/check_grpc.py`, `check_http.py`). This test
//! starts the server, registers a declaration and screens a PNG over `xray.v1` so that the
//! scripts can check that the v2 answer for the same image is the same detections, then
//! runs each script and shows its output when it fails.

mod common;

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use common::*;
use serde_json::{Value, json};
use xray_proto::{
    self as proto, Declaration, DeclaredItem, ImageEncoding, RegisterDeclarationRequest, Scan,
    declarations_client::DeclarationsClient,
};

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// The scan both protocols screen and compare.
const COMPARED: &str = "test-images/s5000_000000.png";

/// The declaration the scripts' scans of a declaration belong to.
const DECLARATION: &str = "D-KSERVE";

async fn register_declaration(server: &Server) {
    DeclarationsClient::new(server.channel().await)
        .register_declaration(RegisterDeclarationRequest {
            declaration: Some(Declaration {
                id: DECLARATION.to_string(),
                declarant: "Nordic Textiles AB".to_string(),
                origin_country: "CN".to_string(),
                destination_country: "SE".to_string(),
                transport_mode: proto::TransportMode::Sea as i32,
                items: vec![DeclaredItem {
                    hs_code: "6109.10".to_string(),
                    description: "cotton T-shirts".to_string(),
                    quantity: 100.0,
                    value: 900.0,
                }],
                prior_risk: 0.1,
            }),
        })
        .await
        .expect("the declaration registers");
}

/// What `xray.v1.Inspection/Inspect` finds on [`COMPARED`], as the scripts read it.
async fn inspected(server: &Server) -> Value {
    let result = server
        .client()
        .await
        .inspect(Scan {
            scan_id: "kserve-compare".to_string(),
            image: std::fs::read(repo(COMPARED)).expect("test image").into(),
            encoding: ImageEncoding::Png as i32,
            ..Default::default()
        })
        .await
        .expect("Inspect answers")
        .into_inner();
    assert!(
        !result.detections.is_empty(),
        "the compared scan shows something to the default model"
    );
    let detections: Vec<Value> = result
        .detections
        .iter()
        .map(|d| {
            let b = d.r#box.expect("a box");
            json!({
                "class_name": d.class_name,
                "confidence": d.confidence,
                "box": [b.x1, b.y1, b.x2, b.y2],
            })
        })
        .collect();
    json!({ "image": COMPARED, "detections": detections, "alarm": result.alarm })
}

/// Runs one script with the server's addresses, token and the expected detections; fails
/// with its output unless it exits 0.
fn run_script(script: &str, server: &Server, expected: &Value) {
    let python = repo(".venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: the kserve tests need the project's Python environment with tritonclient",
        python.display()
    );
    let out = Command::new(python)
        .arg(repo("tests/kserve").join(script))
        .current_dir(repo(""))
        .env("XRAY_GRPC", &server.addr)
        .env("XRAY_HTTP", server.http_addr())
        .env("XRAY_TOKEN", &server.token)
        .env("XRAY_DECLARATION", DECLARATION)
        .env("XRAY_EXPECTED", expected.to_string())
        .output()
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("--- {script} ---\n{stdout}{stderr}");
    assert!(
        out.status.success(),
        "{script} failed ({}):\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}",
        out.status
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn tritonclient_speaks_to_both_doors() {
    let server = Server::start(&repo("models"), &["--keep-images", "flagged"]);
    register_declaration(&server).await;
    let expected = inspected(&server).await;
    // The scripts block; the server is another process, so this thread may wait for them.
    run_script("check_grpc.py", &server, &expected);
    run_script("check_http.py", &server, &expected);
}
