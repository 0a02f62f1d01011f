//! The shipped default model through the real server over gRPC: every labelled threat in
//! `test-images/` is found (same class, IoU at least 0.5, at the shipped thresholds), and the
//! benign scans raise no weapon alarm. Pseudo-colour PNGs and raw dual-energy TIFFs alike.
//!
//! Each scan belongs to a declaration of textiles, as at a real portal: what the model flags
//! must move that declaration's risk the way the README's risk formula says.
//!
//! `test-images/KNOWN_MISSES` lists what the shipped model is known to get wrong, so that the
//! list is the truth about the model: a miss that is not listed fails the test, and so does a
//! listed miss the model now gets right (take it off the list).

mod common;

use std::path::{Path, PathBuf};

use common::*;
use xray_engine::detect::iou;
use xray_proto::{
    Category, Channel, Declaration, DeclaredItem, Detection, ImageEncoding,
    RegisterDeclarationRequest, Scan, declarations_client::DeclarationsClient,
};
use xray_types::BoxXyxy;

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// A test image and its ground truth (the annotation JSON that `synth` writes).
struct Case {
    image: PathBuf,
    encoding: ImageEncoding,
    truths: Vec<(String, BoxXyxy)>,
}

fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    let dir = repo("test-images");
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("test-images/ exists")
        .map(|e| e.expect("entry").path())
        .collect();
    entries.sort();
    for image in entries {
        let encoding = match image.extension().and_then(|e| e.to_str()) {
            Some("png") => ImageEncoding::Png,
            Some("tiff") => ImageEncoding::Tiff,
            _ => continue,
        };
        let json = image.with_extension("json");
        let text = std::fs::read_to_string(&json)
            .unwrap_or_else(|e| panic!("{} has no {}: {e}", image.display(), json.display()));
        let annotation: serde_json::Value = serde_json::from_str(&text).expect("annotation JSON");
        let truths = annotation["objects"]
            .as_array()
            .expect("objects")
            .iter()
            .map(|o| {
                let b: Vec<f32> = o["box"]
                    .as_array()
                    .expect("box")
                    .iter()
                    .map(|v| v.as_f64().expect("number") as f32)
                    .collect();
                let bbox = BoxXyxy {
                    x1: b[0],
                    y1: b[1],
                    x2: b[2],
                    y2: b[3],
                };
                (o["class_name"].as_str().expect("class").to_string(), bbox)
            })
            .collect();
        cases.push(Case {
            image,
            encoding,
            truths,
        });
    }
    cases
}

/// `(file, what)` pairs from `test-images/KNOWN_MISSES`: `what` is `<object index>:<class>`
/// for a missed threat, or `weapon-alarm` for a benign scan that raises one.
fn known_misses() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(repo("test-images/KNOWN_MISSES")).unwrap_or_default();
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (file, what) = l.split_once(char::is_whitespace).expect("`file what`");
            (file.to_string(), what.trim().to_string())
        })
        .collect()
}

fn found(truth: &(String, BoxXyxy), detections: &[Detection]) -> Option<f32> {
    detections
        .iter()
        .filter(|d| d.class_name == truth.0)
        .filter_map(|d| {
            let b = d.r#box?;
            let overlap = iou(
                &BoxXyxy {
                    x1: b.x1,
                    y1: b.y1,
                    x2: b.x2,
                    y2: b.y2,
                },
                &truth.1,
            );
            (overlap >= 0.5).then_some(overlap)
        })
        .max_by(f32::total_cmp)
}

#[tokio::test]
async fn the_default_model_finds_every_labelled_threat_and_no_weapon_on_benign_scans() {
    let cases = cases();
    assert!(
        cases.len() >= 12,
        "test-images/ holds a dozen scans or more"
    );
    assert!(
        cases.iter().any(|c| c.truths.is_empty()),
        "some benign scans"
    );
    assert!(
        cases.iter().any(|c| c.encoding == ImageEncoding::Tiff),
        "some raw dual-energy scans"
    );
    // The server as the README starts it: models/ by default.
    let server = Server::start(&repo("models"), &[]);
    let mut client = server.client().await;
    let mut declarations = DeclarationsClient::new(server.channel().await);
    let known = known_misses();
    let mut flagged_declarations = 0;
    let is_known = |file: &str, what: &str| known.iter().any(|(f, w)| f == file && w == what);
    let mut failures = Vec::new();
    let mut confirmed = 0;
    for case in &cases {
        let name = case
            .image
            .file_name()
            .and_then(|n| n.to_str())
            .expect("name")
            .to_string();
        let declaration_id = format!("DECL-{name}");
        declarations
            .register_declaration(RegisterDeclarationRequest {
                declaration: Some(Declaration {
                    id: declaration_id.clone(),
                    declarant: "Test Textiles Ltd".into(),
                    items: vec![DeclaredItem {
                        hs_code: "6109.10".into(),
                        description: "cotton T-shirts".into(),
                        quantity: 200.0,
                        value: 1000.0,
                    }],
                    prior_risk: 0.1,
                    ..Default::default()
                }),
            })
            .await
            .expect("registers");
        let scan = Scan {
            scan_id: name.clone(),
            declaration_id,
            portal_id: "test-portal".into(),
            image: std::fs::read(&case.image).expect("read").into(),
            encoding: case.encoding as i32,
            ..Default::default()
        };
        let result = client
            .inspect(scan)
            .await
            .unwrap_or_else(|s| panic!("{name}: {s:?}"))
            .into_inner();
        assert_eq!(result.scan_id, name);
        let risk = result
            .risk
            .clone()
            .expect("a scan of a declaration carries its risk");
        let alarms = |c: Category| {
            result
                .detections
                .iter()
                .any(|d| d.alarm && d.category == c as i32)
        };
        if alarms(Category::Weapon) || alarms(Category::Drugs) {
            assert_eq!(
                risk.channel,
                Channel::Red as i32,
                "{name}: {:?}",
                risk.reasons
            );
            flagged_declarations += 1;
        } else if alarms(Category::UndeclaredGoods) {
            // Nothing the model reports as goods is covered by a textiles declaration.
            assert!(risk.score > 0.1, "{name}: {:?}", risk.reasons);
            flagged_declarations += 1;
        } else {
            assert_eq!(
                risk.channel,
                Channel::Green as i32,
                "{name}: {:?}",
                risk.reasons
            );
            assert!(
                (risk.score - 0.1).abs() < 1e-9,
                "{name}: {:?}",
                risk.reasons
            );
        }
        for (index, truth) in case.truths.iter().enumerate() {
            let what = format!("{index}:{}", truth.0);
            match (found(truth, &result.detections), is_known(&name, &what)) {
                (None, false) => failures.push(format!(
                    "{name}: {what} at {:?} not found; detections: {:?}",
                    truth.1,
                    summary(&result.detections)
                )),
                (Some(_), true) => failures.push(format!(
                    "{name}: {what} is found now: take it off test-images/KNOWN_MISSES"
                )),
                (None, true) => confirmed += 1,
                (Some(_), false) => {}
            }
        }
        if case.truths.is_empty() {
            let weapons: Vec<_> = result
                .detections
                .iter()
                .filter(|d| d.category == Category::Weapon as i32 && d.alarm)
                .collect();
            match (weapons.is_empty(), is_known(&name, "weapon-alarm")) {
                (false, false) => failures.push(format!(
                    "{name}: benign scan raised a weapon alarm: {:?}",
                    summary(&result.detections)
                )),
                (true, true) => failures.push(format!(
                    "{name}: no weapon alarm now: take it off test-images/KNOWN_MISSES"
                )),
                (false, true) => confirmed += 1,
                (true, false) => {}
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        flagged_declarations > 0,
        "the default model raised no declaration's risk on test-images/"
    );
    assert_eq!(
        confirmed,
        known.len(),
        "every line of test-images/KNOWN_MISSES names a scan and object of test-images/"
    );
}

fn summary(detections: &[Detection]) -> Vec<String> {
    detections
        .iter()
        .map(|d| {
            let b = d.r#box.unwrap_or_default();
            format!(
                "{} {:.2} [{:.0} {:.0} {:.0} {:.0}]",
                d.class_name, d.confidence, b.x1, b.y1, b.x2, b.y2
            )
        })
        .collect()
}
