//! The command line as an operator uses it: `inspect` on files, and start-up refusals that
//! say what to do.

mod common;

use std::process::{Command, Output};

use common::*;
use image::ImageFormat;

fn run(args: &[&str]) -> Output {
    // `serve` keeps its database, certificates and first admin token in its data folder: a
    // fresh one for each run, unless the test names one.
    let data = tempfile::tempdir().expect("tempdir");
    Command::new(BIN)
        .args(args)
        .env("XRAY_DATA_DIR", data.path())
        .env("RUST_LOG", "warn")
        // `serve` binds its ports before it loads models: ephemeral ones, so that tests
        // running side by side do not collide.
        .env("XRAY_GRPC_ADDR", "127.0.0.1:0")
        .env("XRAY_HTTP_ADDR", "127.0.0.1:0")
        .output()
        .expect("binary runs")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn inspect_prints_the_fixture_boxes_and_draws_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("bag.png");
    std::fs::write(&file, encode(&gradient(128, 64), ImageFormat::Png)).expect("write");
    let drawn = dir.path().join("drawn");
    let model = fixtures_dir().join("end2end-fixture");
    let out = run(&[
        "inspect",
        "--models-dir",
        model.to_str().expect("utf-8"),
        "--draw",
        drawn.to_str().expect("utf-8"),
        file.to_str().expect("utf-8"),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "one JSON line per image: {stdout}");
    let json: serde_json::Value = serde_json::from_str(lines[0]).expect("JSON");
    assert_eq!(json["model"], "end2end-fixture");
    assert_eq!(json["alarm"], true);
    assert_eq!(json["width"], 128);
    let detections = json["detections"].as_array().expect("detections");
    assert_eq!(detections.len(), EXPECTED_128X64.len());
    for (d, (class, category, confidence, bbox)) in detections.iter().zip(EXPECTED_128X64) {
        assert_eq!(d["class_name"], class);
        assert_eq!(
            d["category"].as_str().map(str::to_uppercase).as_deref(),
            Some(category)
        );
        assert!((d["confidence"].as_f64().expect("number") - confidence as f64).abs() < 1e-5);
        let got = ["x1", "y1", "x2", "y2"].map(|k| d[k].as_f64().expect("coordinate") as f32);
        assert_eq!(got, bbox);
    }

    let picture = image::open(drawn.join("bag.png"))
        .expect("drawn PNG")
        .to_rgb8();
    assert_eq!(picture.dimensions(), (128, 64));
    // The bag's box (4, 28)-(60, 64): its left edge is drawn in the "other" grey.
    let grey = xray_engine::draw::category_colour(xray_types::Category::Other);
    assert_eq!(*picture.get_pixel(4, 45), grey);
}

#[test]
fn inspect_reports_a_bad_file_and_goes_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.png");
    std::fs::write(&bad, b"\x89PNG\r\n\x1a\nnot really").expect("write");
    let good = dir.path().join("good.jpg");
    std::fs::write(&good, encode(&gradient(32, 32), ImageFormat::Jpeg)).expect("write");
    let model = fixtures_dir().join("yolov5-fixture");
    let out = run(&[
        "inspect",
        "--models-dir",
        model.to_str().expect("utf-8"),
        bad.to_str().expect("utf-8"),
        good.to_str().expect("utf-8"),
    ]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a failed file makes the exit status 2"
    );
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect();
    assert_eq!(lines.len(), 2);
    assert!(
        lines[0]["error"]
            .as_str()
            .expect("error")
            .contains("PNG data is corrupt")
    );
    assert_eq!(
        lines[1]["detections"].as_array().expect("detections").len(),
        4
    );
}

#[test]
fn serve_without_models_says_what_to_do() {
    let empty = tempfile::tempdir().expect("tempdir");
    let out = run(&[
        "serve",
        "--grpc-addr",
        "127.0.0.1:0",
        "--models-dir",
        empty.path().to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("error: no models in"), "{err}");
    assert!(err.contains("--models-dir"), "{err}");
}

#[test]
fn model_toml_that_disagrees_with_the_onnx_file_names_both() {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = fixtures_dir().join("yolov8-fixture");
    std::fs::copy(src.join("model.onnx"), dir.path().join("model.onnx")).expect("copy");
    let toml = std::fs::read_to_string(src.join("model.toml")).expect("read");
    std::fs::write(
        dir.path().join("model.toml"),
        toml.replace("name = \"images\"", "name = \"pixels\""),
    )
    .expect("write");
    let out = run(&["serve", "--models-dir", dir.path().to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("model.toml names input \"pixels\""), "{err}");
    assert!(
        err.contains("\"images\""),
        "names the ONNX input too: {err}"
    );

    // One class too many: the YOLOv8 output [N, 7, A] no longer fits 4 + 4 classes.
    let extra_class =
        toml + "\n[[classes]]\nname = \"knife\"\ncategory = \"weapon\"\nthreshold = 0.5\n";
    std::fs::write(dir.path().join("model.toml"), extra_class).expect("write");
    let out = run(&["serve", "--models-dir", dir.path().to_str().expect("utf-8")]);
    let err = stderr(&out);
    assert!(
        err.contains("with 4 classes") && err.contains("[N, 8, ?]"),
        "{err}"
    );
}

#[test]
fn require_gpu_without_a_gpu_refuses_to_start() {
    let model = fixtures_dir().join("yolov8-fixture");
    let out = run(&[
        "serve",
        "--require-gpu",
        "--models-dir",
        model.to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("a GPU was required but cannot be used"),
        "{err}"
    );
}

#[test]
fn listening_beyond_this_machine_needs_a_certificate_or_insecure_plaintext() {
    let model = fixtures_dir().join("yolov8-fixture");
    let model = model.to_str().expect("utf-8");
    let out = run(&["serve", "--grpc-addr", "0.0.0.0:0", "--models-dir", model]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("--grpc-addr 0.0.0.0:0 is not a loopback address")
            && err.contains("the development certificate names only localhost")
            && err.contains("--tls-cert")
            && err.contains("--insecure-plaintext"),
        "{err}"
    );
    // With either it starts; a missing runtime or certificate then stops it, after the
    // address check, each with its own sentence.
    let out = run(&[
        "serve",
        "--grpc-addr",
        "0.0.0.0:0",
        "--insecure-plaintext",
        "--ort-lib",
        "/nonexistent/libonnxruntime.so",
        "--models-dir",
        model,
    ]);
    let (text, err) = (String::from_utf8_lossy(&out.stdout), stderr(&out));
    assert!(!err.contains("is not a loopback address"), "{err}");
    assert!(err.contains("/nonexistent/libonnxruntime.so"), "{err}");
    assert!(text.contains("plaintext on both ports"), "{text}");
    let out = run(&[
        "serve",
        "--grpc-addr",
        "0.0.0.0:0",
        "--tls-cert",
        "/nonexistent/server.pem",
        "--tls-key",
        "/nonexistent/server.key",
        "--models-dir",
        model,
    ]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(!err.contains("is not a loopback address"), "{err}");
    assert!(err.contains("/nonexistent/server.pem"), "{err}");
}

#[test]
fn first_start_makes_a_development_certificate_and_an_admin_token() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().to_str().expect("utf-8");
    let model = fixtures_dir().join("yolov8-fixture");
    // The runtime is missing, so the server stops once its ports are up: after the start-up
    // sentences.
    let serve = || {
        run(&[
            "serve",
            "--data-dir",
            data,
            "--ort-lib",
            "/nonexistent/libonnxruntime.so",
            "--models-dir",
            model.to_str().expect("utf-8"),
        ])
    };
    let out = serve();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        text.contains("TLS on both ports with the development certificate")
            && text.contains("first start: made principal admin")
            && text.contains(&format!("grpcurl -cacert {data}/tls/ca.pem"))
            && text.contains("metrics on https://"),
        "{text}"
    );
    for (file, mode) in [
        ("admin.token", 0o600),
        ("tls/ca.key", 0o600),
        ("tls/server.key", 0o600),
        ("tls/ca.pem", 0o644),
        ("tls/server.pem", 0o644),
    ] {
        let meta = std::fs::metadata(dir.path().join(file)).expect(file);
        assert_eq!(meta.permissions().mode() & 0o777, mode, "{file}");
    }
    let token = std::fs::read_to_string(dir.path().join("admin.token")).expect("token");
    assert!(token.trim().starts_with("xst_"), "{token}");
    let ca = std::fs::read(dir.path().join("tls/ca.pem")).expect("ca");

    // A second start keeps both: no new admin, the same CA.
    let text = String::from_utf8_lossy(&serve().stdout).into_owned();
    assert!(!text.contains("first start"), "{text}");
    assert!(text.contains("grpcurl"), "{text}");
    assert_eq!(
        std::fs::read(dir.path().join("tls/ca.pem")).expect("ca"),
        ca
    );

    // A client certificate from that CA, for a principal.
    let out = run(&[
        "principals",
        "--data-dir",
        data,
        "client-cert",
        "--name",
        "gate-3",
        "--out",
        data,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let cert = std::fs::read_to_string(dir.path().join("gate-3.pem")).expect("cert");
    assert!(cert.starts_with("-----BEGIN CERTIFICATE-----"), "{cert}");
    let key = std::fs::metadata(dir.path().join("gate-3.key")).expect("key");
    assert_eq!(key.permissions().mode() & 0o777, 0o600);
}

#[test]
fn missing_onnx_runtime_says_what_to_run() {
    let model = fixtures_dir().join("yolov8-fixture");
    let out = run(&[
        "serve",
        "--ort-lib",
        "/nonexistent/libonnxruntime.so",
        "--models-dir",
        model.to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("/nonexistent/libonnxruntime.so"), "{err}");
}

#[test]
fn eval_measures_the_fixture_against_known_labels() {
    // The yolov8 fixture answers every 128x64 image with EXPECTED_128X64 (plus candidates
    // under the thresholds). Label the pistol exactly and only the second cigarettes box on
    // one image; a benign copy gets the same boxes, all false. Equal scores rank in file-name
    // order, so the benign copy's boxes come first: pistol AP 0.5 (hit after one miss),
    // cigarettes AP 0.25 (hit after three misses), bag has no objects and is left out.
    let dir = tempfile::tempdir().expect("tempdir");
    for sub in ["images", "labels"] {
        std::fs::create_dir_all(dir.path().join(sub)).expect("mkdir");
    }
    std::fs::write(dir.path().join("classes.txt"), "pistol\ncigarettes\nbag\n").expect("write");
    let png = encode(&gradient(128, 64), ImageFormat::Png);
    std::fs::write(dir.path().join("images/threat.png"), &png).expect("write");
    std::fs::write(
        dir.path().join("labels/threat.txt"),
        "0 0.25 0.125 0.25 0.25\n1 0.78125 0.875 0.3125 0.25\n",
    )
    .expect("write");
    std::fs::write(dir.path().join("images/benign.png"), &png).expect("write");
    std::fs::write(dir.path().join("labels/benign.txt"), "").expect("write");
    let json = dir.path().join("report.json");
    let model = fixtures_dir().join("yolov8-fixture");
    let out = run(&[
        "eval",
        dir.path().to_str().expect("utf-8"),
        "--models-dir",
        model.to_str().expect("utf-8"),
        "--json",
        json.to_str().expect("utf-8"),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    assert_eq!(
        stdout.lines().last(),
        Some("mAP@0.5=0.3750 mAP@0.5:0.95=0.3750"),
        "{stdout}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("report")).expect("JSON");
    let classes = report["classes"].as_array().expect("classes");
    assert_eq!(classes[0]["ap50"], 0.5);
    assert_eq!(classes[1]["ap50"], 0.25);
    assert!(classes[2]["ap50"].is_null(), "no bag objects");
    // At the shipped thresholds cigarettes reports two boxes an image, one of four right.
    assert_eq!(classes[1]["precision"], 0.25);
    assert_eq!(classes[1]["recall"], 1.0);
    assert_eq!(classes[0]["ap50_95"], 0.5, "exact boxes hit at every IoU");
    // Both labelled objects are found, so none is missed or taken for another class.
    for class in &classes[..2] {
        assert_eq!(class["missed"], 0);
        assert_eq!(class["taken_for"], serde_json::json!({}));
    }
    assert!(!stdout.contains("not found by a box"), "{stdout}");
    // The benign copy raises the pistol's alarm: a weapon false alarm on 1 of 1 benign scans.
    let alarms = &report["benign_false_alarms"];
    assert_eq!(alarms["benign_scans"], 1);
    assert_eq!(alarms["weapon"], 1);
    assert_eq!(alarms["drugs"], 0);
}

#[test]
fn synth_writes_the_same_data_set_for_the_same_seed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let write = |name: &str, seed: &str| {
        let out = dir.path().join(name);
        let result = run(&[
            "synth",
            "--seed",
            seed,
            "--count",
            "3",
            "--max-width",
            "720",
            "--quiet",
            "--out",
            out.to_str().expect("utf-8"),
        ]);
        assert!(result.status.success(), "{}", stderr(&result));
        out
    };
    let (a, b, other) = (write("a", "11"), write("b", "11"), write("c", "12"));
    for id in ["s11_000000", "s11_000001", "s11_000002"] {
        for file in [
            format!("images/{id}.png"),
            format!("raw/{id}.tiff"),
            format!("labels/{id}.txt"),
        ] {
            let left = std::fs::read(a.join(&file)).expect("written");
            assert_eq!(
                left,
                std::fs::read(b.join(&file)).expect("written"),
                "{file}"
            );
        }
        // The pseudo-colour PNG and the raw dual-energy TIFF are the same scan.
        let png = image::open(a.join(format!("images/{id}.png"))).expect("PNG");
        let json: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(a.join(format!("annotations/{id}.json"))).expect("JSON"),
        )
        .expect("annotation");
        assert_eq!(json["width"], png.width());
        assert_eq!(json["height"], png.height());
        // Each object says how plainly it shows: its own attenuation, and what covers it.
        for object in json["objects"].as_array().expect("objects") {
            let v = &object["visibility"];
            let contrast = v["contrast"].as_f64().expect("contrast");
            let clutter = v["clutter"].as_f64().expect("clutter");
            assert!(contrast > 0.0 && clutter >= 0.0, "{v}");
            assert!(v["cover"].as_f64().expect("cover") >= 0.0, "{v}");
            let ratio = v["signal_to_clutter"].as_f64().expect("ratio");
            // Written to 4 decimals each, so compare where the clutter is not tiny.
            if clutter >= 0.01 {
                assert!(
                    (ratio - contrast / clutter).abs() < 0.02 * ratio + 1e-3,
                    "{v}"
                );
            }
        }
    }
    let first = std::fs::read(a.join("images/s11_000000.png")).expect("written");
    let other_seed = std::fs::read(other.join("images/s12_000000.png")).expect("written");
    assert_ne!(first, other_seed, "another seed, another scan");
    let classes = std::fs::read_to_string(a.join("classes.txt")).expect("classes");
    assert_eq!(
        classes.lines().collect::<Vec<_>>(),
        [
            "firearm",
            "knife",
            "ammunition",
            "drug_package",
            "cigarettes",
            "phone",
            "currency"
        ]
    );
}

#[test]
fn principals_are_made_listed_and_revoked_with_only_their_token_hash_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().to_str().expect("utf-8");
    let principals = |args: &[&str]| {
        let mut full = vec!["principals", "--data-dir", data];
        full.extend_from_slice(args);
        run(&full)
    };
    let out = principals(&[
        "add", "--name", "gate-3", "--role", "scanner", "--portal", "portal-3",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    let token = stdout
        .lines()
        .nth(1)
        .expect("token line")
        .trim()
        .to_string();
    assert!(
        token.starts_with("xst_") && token.len() == 4 + 64,
        "{token}"
    );

    // Refusals name what was wrong.
    for (args, words) in [
        (
            &[
                "add", "--name", "gate-3", "--role", "scanner", "--portal", "p",
            ][..],
            "exists already",
        ),
        (
            &["add", "--name", "gate-4", "--role", "scanner"],
            "name the portals",
        ),
        (&["add", "--name", "x", "--role", "root"], "is not a role"),
        (
            &[
                "add",
                "--name",
                "x",
                "--role",
                "admin",
                "--expires-in",
                "3w",
            ],
            "is not a duration",
        ),
        (
            &["revoke", "--name", "nobody"],
            "no active principal named nobody",
        ),
    ] {
        let out = principals(args);
        assert_ne!(out.status.code(), Some(0));
        assert!(stderr(&out).contains(words), "{}", stderr(&out));
    }

    let out = principals(&[
        "add",
        "--name",
        "insp-7",
        "--role",
        "inspector",
        "--expires-in",
        "30d",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = principals(&["revoke", "--name", "gate-3"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let listed = String::from_utf8(principals(&["list"]).stdout).expect("utf-8");
    let lines: Vec<&str> = listed.lines().collect();
    assert_eq!(lines.len(), 2, "{listed}");
    assert!(
        lines[0].starts_with("gate-3\tscanner\tportal-3\trevoked at "),
        "{listed}"
    );
    assert!(
        lines[1].starts_with("insp-7\tinspector\t\texpires at "),
        "{listed}"
    );

    // A password for the inspector, from standard input; too short a one is refused.
    let set_password = |password: &str| {
        let mut child = Command::new(BIN)
            .args([
                "principals",
                "--data-dir",
                data,
                "set-password",
                "--name",
                "insp-7",
            ])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("runs");
        {
            use std::io::Write;
            let mut stdin = child.stdin.take().expect("stdin");
            writeln!(stdin, "{password}").expect("password written");
        }
        child.wait_with_output().expect("finishes")
    };
    let out = set_password("short");
    assert!(
        stderr(&out).contains("12 to 1024 bytes"),
        "{}",
        stderr(&out)
    );
    let out = set_password("correct horse battery");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    // The database holds the token's hash, never the token (nor the password).
    let db = std::fs::read(dir.path().join("xray-screen.db")).expect("database");
    let wal = std::fs::read(dir.path().join("xray-screen.db-wal")).unwrap_or_default();
    for bytes in [&db, &wal] {
        assert!(
            !bytes.windows(token.len()).any(|w| w == token.as_bytes()),
            "the token is stored in the clear"
        );
        assert!(
            !bytes.windows(10).any(|w| w == b"horse batt"),
            "the password is stored in the clear"
        );
    }
}
