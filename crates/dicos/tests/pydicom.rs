//! An independent reader: pydicom checks what we write (tests/check_with_pydicom.py).

mod common;

use std::path::PathBuf;
use std::process::Command;

use xray_dicos::write_tdr;

#[test]
fn pydicom_reads_our_tdr_and_dx() {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let python = manifest.join("../../.venv/bin/python");
    // The check is the point of this test: without the tools venv it fails, it does not skip.
    assert!(
        python.exists(),
        "no {}: run tools/setup.sh (it installs pydicom from tools/requirements.txt)",
        python.display()
    );
    let dir = tempfile::tempdir().unwrap();
    let spec = common::spec(7, 5, 2);
    let dx_path = dir.path().join("scan.dcm");
    std::fs::write(&dx_path, xray_dicos::write_dx(&spec).unwrap()).unwrap();
    let tdr = common::machine_tdr();
    let tdr_path = dir.path().join("report.dcm");
    std::fs::write(&tdr_path, write_tdr(&tdr).unwrap()).unwrap();
    let expected = serde_json::json!({
        "frames": spec.frames,
        "width": spec.width,
        "height": spec.height,
        "threats": tdr.threats.iter().map(|t| serde_json::json!({
            "id": t.id,
            "box": t.box_xyxy,
            "category": t.category.term(),
            "description": t.description,
            "probability": t.probability,
            "alarm": t.alarm,
        })).collect::<Vec<_>>(),
    });
    let expected_path = dir.path().join("expected.json");
    std::fs::write(&expected_path, expected.to_string()).unwrap();

    let out = Command::new(&python)
        .arg(manifest.join("tests/check_with_pydicom.py"))
        .args([&tdr_path, &dx_path, &expected_path])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pydicom check failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
