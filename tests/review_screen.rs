//! The inspectors' review screen in a real browser: the server with the default model gets
//! the test images over gRPC as scans of registered declarations, then headless Chromium
//! (driven through chromedriver) logs in as an inspector, loads the queue, opens the top scan, checks that each drawn
//! box sits where the detection is, gives a verdict by keyboard, and sees a new flagged scan
//! arrive live; gRPC then shows the verdict stored and the risk changed.
//!
//! The screenshot it takes is the README's (`target/review-screen.png`; set
//! `XRAY_REVIEW_SCREENSHOT` to write it elsewhere, e.g. docs/images/review-screen.png).

mod common;

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    time::Duration,
};

use common::{webdriver::*, *};
use serde_json::{Value, json};
use xray_proto::{
    Declaration, DeclaredItem, DetectionVerdict, GetDeclarationRequest, GetScanRequest,
    InspectionResult, ListAuditRequest, RegisterDeclarationRequest, Scan, ScanDecision,
    declarations_client::DeclarationsClient, review_client::ReviewClient,
};

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

const WAIT: Duration = Duration::from_secs(30);

fn declaration(id: &str, hs: &str, what: &str, prior: f64) -> Declaration {
    Declaration {
        id: id.into(),
        declarant: "Baltic Freight Forwarding".into(),
        origin_country: "TR".into(),
        destination_country: "DE".into(),
        transport_mode: xray_proto::TransportMode::Road as i32,
        items: vec![DeclaredItem {
            hs_code: hs.into(),
            description: what.into(),
            quantity: 120.0,
            value: 5400.0,
        }],
        prior_risk: prior,
    }
}

#[test]
fn an_inspector_reviews_a_flagged_scan_by_keyboard() {
    // The whole flow is one large future: a thread with room for it in debug builds.
    std::thread::Builder::new()
        .stack_size(32 << 20)
        .spawn(|| {
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .expect("runtime")
                .block_on(Box::pin(review_flow()))
        })
        .expect("test thread")
        .join()
        .expect("the review flow passes");
}

async fn review_flow() {
    let server = Server::start(&repo("models"), &["--keep-images", "all"]);
    let base = server
        .metrics_url
        .strip_suffix("metrics")
        .expect("the metrics URL ends in /metrics")
        .to_string();
    let channel = server.channel().await;
    let mut declarations = DeclarationsClient::new(channel.clone());
    let mut review = ReviewClient::new(channel);
    let mut inspection = server.client().await;
    for d in [
        declaration("DE-2026-0417", "6109.10", "cotton T-shirts", 0.15),
        declaration("DE-2026-0418", "8471.30", "laptops", 0.35),
    ] {
        declarations
            .register_declaration(RegisterDeclarationRequest {
                declaration: Some(d),
            })
            .await
            .expect("registers");
    }

    // Every test image, as scans of the two declarations.
    let mut images: Vec<PathBuf> = std::fs::read_dir(repo("test-images"))
        .expect("test-images/")
        .map(|e| e.expect("entry").path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("png" | "tiff")))
        .collect();
    images.sort();
    let mut results: HashMap<String, InspectionResult> = HashMap::new();
    let mut dual_energy = None;
    for (i, path) in images.iter().enumerate() {
        let name = path.file_name().and_then(|n| n.to_str()).expect("name");
        let declaration_id = if i % 2 == 0 {
            "DE-2026-0417"
        } else {
            "DE-2026-0418"
        };
        let result = inspection
            .inspect(Scan {
                scan_id: name.to_string(),
                declaration_id: declaration_id.into(),
                portal_id: format!("portal-{}", 1 + i % 3),
                image: std::fs::read(path).expect("read").into(),
                ..Default::default()
            })
            .await
            .expect("inspects")
            .into_inner();
        if name.ends_with(".tiff") {
            dual_energy = Some(name.to_string());
        }
        results.insert(name.to_string(), result);
    }
    let flagged = results.values().filter(|r| r.alarm).count();
    assert!(
        flagged > 0,
        "the default model flags nothing in test-images/"
    );

    // The inspector is a principal of its own: the verdicts are recorded under its name.
    let inspector = add_principal(&server.data_dir, "insp-42", &["inspector"], &[]);
    let driver = Driver::start();
    let browser = Browser::open(&driver, 1500, 900).await;
    log_in(&browser, &base, &inspector).await;
    browser
        .wait_for(
            "the screen to say who is logged in",
            "return document.getElementById('principal').textContent === 'insp-42 (inspector)'",
            WAIT,
        )
        .await;
    browser
        .wait_for(
            "the queue of flagged scans",
            &format!("return document.querySelectorAll('#queue li').length === {flagged}"),
            WAIT,
        )
        .await;
    browser
        .wait_for(
            "live updates",
            "return document.getElementById('live').textContent.startsWith('live')",
            WAIT,
        )
        .await;
    // The top of the queue opens by itself.
    let top = browser
        .eval(
            "return document.querySelector('#queue li').dataset.scanId",
            json!([]),
        )
        .await;
    let scan_id = top.as_str().expect("a scan id").to_string();
    let result = results.get(&scan_id).expect("a scan we sent");
    let alarms: Vec<_> = result.detections.iter().filter(|d| d.alarm).collect();
    browser
        .wait_for(
            "the scan with its boxes",
            &format!(
                "const img = document.getElementById('scan-image');
                 return document.getElementById('scan-title').textContent === 'Scan ' + {scan:?}
                   && img.complete && img.naturalWidth > 0
                   && document.querySelectorAll('#overlay rect').length === {n}",
                scan = scan_id,
                n = alarms.len()
            ),
            WAIT,
        )
        .await;

    // Each drawn box, measured on screen and taken back to the image's pixels, is the
    // detection's box.
    let drawn = browser
        .eval(
            "const img = document.getElementById('scan-image').getBoundingClientRect();
             const natural = document.getElementById('scan-image').naturalWidth;
             const k = natural / img.width;
             return [...document.querySelectorAll('#overlay rect')].map(r => {
               const b = r.getBoundingClientRect();
               return { id: Number(r.dataset.detectionId),
                        box: [(b.left - img.left) * k, (b.top - img.top) * k,
                              (b.right - img.left) * k, (b.bottom - img.top) * k] };
             });",
            json!([]),
        )
        .await;
    let drawn = drawn.as_array().expect("boxes");
    assert_eq!(drawn.len(), alarms.len());
    for d in drawn {
        let id = d["id"].as_u64().expect("id") as u32;
        let detection = result
            .detections
            .iter()
            .find(|x| x.detection_id == id)
            .expect("a drawn box is a detection");
        let b = detection.r#box.expect("box");
        let want = [b.x1, b.y1, b.x2, b.y2];
        let got: Vec<f64> = d["box"]
            .as_array()
            .expect("box")
            .iter()
            .map(|v| v.as_f64().expect("number"))
            .collect();
        for (g, w) in got.iter().zip(want) {
            // Within two image pixels (the stroke is drawn centred on the edge).
            assert!(
                (g - f64::from(w)).abs() <= 2.0,
                "{scan_id} box {id}: drawn {got:?}, detection {want:?}"
            );
        }
    }

    let shot = browser.screenshot().await;
    assert!(shot.starts_with(b"\x89PNG"), "a PNG screenshot");
    let out = std::env::var("XRAY_REVIEW_SCREENSHOT")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo("target/review-screen.png"));
    std::fs::write(&out, &shot).expect("screenshot written");

    // A raw dual-energy scan is drawn through the palette the inspector picks.
    if let Some(tiff) = &dual_energy {
        let sizes = browser
            .eval(
                "const get = (p) => fetch('/api/scans/' + encodeURIComponent(arguments[0]) + '/image?palette=' + p)
                   .then(r => r.ok && r.headers.get('content-type') === 'image/png' ? r.arrayBuffer() : null)
                   .then(b => b ? new Uint8Array(b).reduce((h, v) => (h * 31 + v) >>> 0, 7) : null);
                 return Promise.all([get('classic'), get('gray')]);",
                json!([tiff]),
            )
            .await;
        let sizes = sizes.as_array().expect("two answers");
        assert!(
            sizes.iter().all(Value::is_u64),
            "{tiff}: both palettes render a PNG: {sizes:?}"
        );
        assert_ne!(sizes[0], sizes[1], "{tiff}: classic and gray differ");
    }

    let before = declarations
        .get_declaration(GetDeclarationRequest {
            id: result.declaration_id.clone(),
        })
        .await
        .expect("declaration")
        .into_inner()
        .risk
        .expect("risk");

    // Detection 1 is a false alarm (1, f); then the scan is cleared (x).
    browser.keys("1f").await;
    browser
        .wait_for(
            "the false alarm saved",
            "return [...document.querySelectorAll('#detections .verdict')].some(v => v.textContent === 'false alarm by insp-42')",
            WAIT,
        )
        .await;
    let first_id = alarms[0].detection_id;
    browser.keys("mhair dryer, checked\u{E00C}x").await;
    browser
        .wait_for(
            "the cleared scan to leave the queue",
            &format!(
                "return document.querySelectorAll('#queue li').length === {}
                   && ![...document.querySelectorAll('#queue li')].some(li => li.dataset.scanId === {scan_id:?})",
                flagged - 1
            ),
            WAIT,
        )
        .await;

    // Through gRPC: the verdicts are stored, the risk moved, the audit log has both.
    let record = review
        .get_scan(GetScanRequest {
            scan_id: scan_id.clone(),
            without_image: true,
        })
        .await
        .expect("scan")
        .into_inner();
    assert_eq!(record.decision, ScanDecision::Cleared as i32);
    let judged = record
        .detections
        .iter()
        .find(|d| {
            d.detection
                .as_ref()
                .is_some_and(|x| x.detection_id == first_id)
        })
        .expect("the judged detection");
    assert_eq!(judged.verdict, DetectionVerdict::FalseAlarm as i32);
    assert_eq!(judged.inspector_id, "insp-42");
    let after = record.declaration.and_then(|d| d.risk).expect("risk after");
    assert!(
        after.score < before.score,
        "risk {} -> {}",
        before.score,
        after.score
    );
    assert!(after.sequence > before.sequence);
    let audit = review
        .list_audit(ListAuditRequest {
            scan_id: scan_id.clone(),
            ..Default::default()
        })
        .await
        .expect("audit")
        .into_inner()
        .entries;
    let verdicts: Vec<_> = audit.iter().filter(|e| e.action == "verdict").collect();
    assert_eq!(verdicts.len(), 2);
    assert!(verdicts.iter().all(|e| e.actor == "insp-42"));
    assert!(
        verdicts[1].details.contains("hair dryer, checked")
            && verdicts[1].details.contains("cleared")
    );

    // A new flagged scan appears without a reload.
    let (flagged_name, _) = results
        .iter()
        .find(|(_, r)| r.alarm)
        .expect("a flagged image");
    let image = std::fs::read(repo(&format!("test-images/{flagged_name}"))).expect("read");
    inspection
        .inspect(Scan {
            scan_id: "live-arrival-1".into(),
            declaration_id: "DE-2026-0417".into(),
            portal_id: "portal-9".into(),
            image: image.into(),
            ..Default::default()
        })
        .await
        .expect("inspects");
    browser
        .wait_for(
            "the new scan in the queue",
            "return [...document.querySelectorAll('#queue li')].some(li => li.dataset.scanId === 'live-arrival-1')",
            WAIT,
        )
        .await;
    browser.close().await;
}

/// The review screen's API refuses what it cannot do with a status and a sentence; a
/// verdict is its caller's, and naming another inspector is refused.
#[tokio::test]
async fn the_review_api_answers_bad_requests_with_a_reason() {
    let server = Server::start(&repo("tests/fixtures/risk"), &[]);
    let port: u16 = server
        .metrics_url
        .trim_start_matches("http://")
        .split(['/', ':'])
        .nth(1)
        .and_then(|p| p.parse().ok())
        .expect("the HTTP port");
    let channel = server.channel().await;
    DeclarationsClient::new(channel)
        .register_declaration(RegisterDeclarationRequest {
            declaration: Some(declaration("D-API", "6109", "shirts", 0.1)),
        })
        .await
        .expect("registers");
    let red = image::DynamicImage::ImageRgb8(image::ImageBuffer::from_pixel(
        64,
        64,
        image::Rgb([255, 0, 0]),
    ));
    server
        .client()
        .await
        .inspect(Scan {
            scan_id: "api-1".into(),
            declaration_id: "D-API".into(),
            portal_id: "test-portal".into(),
            image: encode(&red, image::ImageFormat::Png).into(),
            ..Default::default()
        })
        .await
        .expect("inspects");

    // The API is called as a program would: with the test principal's bearer token.
    let authorization = format!("Bearer {}", server.token);
    let bearer = [("Authorization", authorization.as_str())];
    let (status, _, page) = http_with(port, "GET", "/login", &[], None).await;
    assert_eq!(status, 200);
    assert!(page.contains("<script src=\"/assets/login.js\">"));
    let (status, _, queue) =
        http_with(port, "GET", "/api/flagged?channel=red", &bearer, None).await;
    assert_eq!(status, 200, "{queue}");
    let queue: Value = serde_json::from_str(&queue).expect("JSON");
    assert_eq!(queue[0]["scan_id"], "api-1");

    let impersonation = format!(
        "inspector_id is \"insp-1\" but the call is authenticated as {}",
        server.principal
    );
    let cases = [
        (
            "GET",
            "/api/flagged?channel=purple",
            None,
            400,
            "channel \"purple\" is not green, yellow or red",
        ),
        (
            "GET",
            "/api/scans/nope",
            None,
            404,
            "scan nope is not stored",
        ),
        (
            "GET",
            "/api/scans/api-1/image?palette=neon",
            None,
            400,
            "unknown palette \"neon\"",
        ),
        (
            "POST",
            "/api/scans/api-1/verdict",
            Some(json!({"inspector_id": "insp-1", "decision": "cleared"})),
            400,
            impersonation.as_str(),
        ),
        (
            "POST",
            "/api/scans/api-1/verdict",
            Some(json!({"detections": [{"detection_id": 7, "verdict": "confirmed"}]})),
            400,
            "scan api-1 has no detection 7",
        ),
    ];
    for (method, path, body, want, words) in cases {
        let (status, _, answer) = http_with(port, method, path, &bearer, body.as_ref()).await;
        assert_eq!(status, want, "{method} {path}: {answer}");
        let error: Value = serde_json::from_str(&answer).expect("a JSON error");
        let message = error["error"].as_str().expect("an error sentence");
        assert!(
            message.contains(words),
            "{method} {path}: {answer} lacks {words:?}"
        );
    }
    // Naming oneself is allowed (older clients send their name).
    let (status, _, answer) = http_with(
        port,
        "POST",
        "/api/scans/api-1/verdict",
        &bearer,
        Some(&json!({
            "inspector_id": server.principal,
            "decision": "seized",
            "comment": "pistol held"
        })),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let answer: Value = serde_json::from_str(&answer).expect("JSON");
    assert_eq!(answer["channel"], "red");
    assert!(
        answer["score"].as_f64().expect("score") > 0.8,
        "seized: the pistol counts as confirmed"
    );
}
