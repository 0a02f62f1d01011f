//! Training on your own data, end to end, as the README tells a user to: `synth` scans moved
//! into the common YOLO layout (images/ and labels/ with train and val splits, a data.yaml
//! whose class names are not all the project's), `tools/train/own_data.py` fine-tunes the
//! shipped model on them for two short epochs, and the model folder it writes loads in the
//! service (`inspect`), with the classes mapped as asked and an eval report of the
//! validation split whose counts are the labels'.
//!
//! Needs the training environment (`make .venv-train/installed`, which `make test` runs).

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::{Command, Output},
};

use xray_engine::model::ModelSpec;

const BIN: &str = env!("CARGO_BIN_EXE_xray-screen");

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn python() -> PathBuf {
    let python = repo(".venv-train/bin/python");
    assert!(
        python.exists(),
        "{} is missing: the own-data training test needs the training environment \
         (`make .venv-train/installed`)",
        python.display()
    );
    python
}

fn text(out: &Output) -> String {
    format!(
        "status {}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn synth(seed: u32, count: u32, out: &Path) {
    let done = Command::new(BIN)
        .args([
            "synth",
            "--seed",
            &seed.to_string(),
            "--count",
            &count.to_string(),
        ])
        .args([
            "--min-width",
            "320",
            "--max-width",
            "480",
            "--benign-fraction",
            "0.25",
        ])
        .args(["--no-raw", "--quiet", "--out"])
        .arg(out)
        .env("RUST_LOG", "warn")
        .output()
        .expect("synth runs");
    assert!(done.status.success(), "{}", text(&done));
}

/// The data set's classes as its data.yaml names them: the project's seven, one under
/// another name, two spelled otherwise, one renamed to a class the project does not have.
const NAMES: [&str; 7] = [
    "gun",
    "Knife",
    "ammunition",
    "drug package",
    "cigarettes",
    "phone",
    "banknotes",
];

/// A YOLO-layout data set at `root` from two synth sets: images/{train,val} and
/// labels/{train,val}, and a data.yaml with `names` as a map.
fn yolo_set(root: &Path) {
    for (split, seed, count) in [("train", 71, 24), ("val", 72, 12)] {
        let generated = root.join(format!("synth-{split}"));
        synth(seed, count, &generated);
        for sub in ["images", "labels"] {
            std::fs::create_dir_all(root.join(sub)).expect("mkdir");
            std::fs::rename(generated.join(sub), root.join(sub).join(split)).expect("move");
        }
        std::fs::remove_dir_all(&generated).expect("rm synth folder");
    }
    let names: Vec<String> = NAMES
        .iter()
        .enumerate()
        .map(|(i, n)| format!("{i}: {n}"))
        .collect();
    std::fs::write(
        root.join("data.yaml"),
        format!(
            "# licensed scans, YOLO layout\npath: .\ntrain: images/train\nval: images/val\nnc: 7\nnames: {{{}}}\n",
            names.join(", ")
        ),
    )
    .expect("data.yaml");
}

fn own_data(args: &[&str]) -> Output {
    Command::new(python())
        .arg(repo("tools/train/own_data.py"))
        .args(args)
        .current_dir(repo(""))
        .env("RUST_LOG", "warn")
        .output()
        .expect("own_data.py runs")
}

/// The classes the model should have and, per data-set class id, the model class it
/// becomes (`--map gun=firearm --map banknotes=other --map cigarettes=ignore`).
const MODEL_CLASSES: [(&str, &str); 6] = [
    ("firearm", "weapon"),
    ("knife", "weapon"),
    ("ammunition", "weapon"),
    ("drug_package", "drugs"),
    ("phone", "undeclared_goods"),
    ("banknotes", "other"),
];
const TARGET: [Option<usize>; 7] = [Some(0), Some(1), Some(2), Some(3), None, Some(4), Some(5)];

#[test]
fn own_data_trains_a_model_folder_the_service_loads_with_an_eval_report() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("my-scans");
    yolo_set(&data);
    let out_dir = dir.path().join("my-detector");
    let work = dir.path().join("work");
    let out = own_data(&[
        "--data",
        data.join("data.yaml").to_str().expect("utf-8"),
        "--out",
        out_dir.to_str().expect("utf-8"),
        "--work",
        work.to_str().expect("utf-8"),
        "--map",
        "gun=firearm",
        "--map",
        "banknotes=other",
        "--map",
        "cigarettes=ignore",
        "--imgsz",
        "128",
        "--epochs",
        "2",
        "--batch",
        "8",
        "--xray-screen",
        BIN,
        "--train-arg=--calib=24",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for step in [
        "[1/5] data",
        "[2/5] training",
        "[5/5] xray-screen eval",
        "==== summary ====",
    ] {
        assert!(
            stdout.contains(step),
            "no {step:?} in the output:\n{}",
            text(&out)
        );
    }

    // model.toml, as the service reads it: the mapped classes with their categories, the
    // input size trained at, flip averaging off, thresholds chosen within 0.2..0.95.
    let spec = ModelSpec::load(&out_dir).expect("model.toml loads");
    assert_eq!(spec.name, "my-detector");
    assert_eq!((spec.input.width, spec.input.height), (128, 128));
    assert!(!spec.output.flip_average);
    let classes: Vec<(String, String)> = spec
        .classes
        .iter()
        .map(|c| (c.name.clone(), c.category.to_string()))
        .collect();
    let expected: Vec<(String, String)> = MODEL_CLASSES
        .iter()
        .map(|(n, c)| (n.to_string(), c.to_string()))
        .collect();
    assert_eq!(classes, expected);
    for c in &spec.classes {
        assert!(
            (0.2..=0.95).contains(&c.threshold),
            "{}: threshold {}",
            c.name,
            c.threshold
        );
    }
    // The shipped model's phones keep their own NMS overlap and HS heading.
    assert_eq!(spec.classes[4].nms_iou, Some(0.7));
    let taxonomy = std::fs::read_to_string(out_dir.join("taxonomy.toml")).expect("taxonomy.toml");
    assert!(taxonomy.contains("[classes.phone]"), "{taxonomy}");
    assert!(!taxonomy.contains("cigarettes"), "{taxonomy}");

    // The service loads the folder and screens a scan with it.
    let scan = std::fs::read_dir(data.join("images/val"))
        .expect("val images")
        .next()
        .expect("a val image")
        .expect("entry")
        .path();
    let inspected = Command::new(BIN)
        .args(["inspect", "--models-dir"])
        .arg(&out_dir)
        .arg(&scan)
        .env("RUST_LOG", "warn")
        .output()
        .expect("inspect runs");
    assert!(inspected.status.success(), "{}", text(&inspected));
    let line: serde_json::Value = serde_json::from_slice(&inspected.stdout).expect("one JSON line");
    assert_eq!(line["model"], "my-detector");
    assert_eq!(line["model_version"], "1.0.0");
    for d in line["detections"].as_array().expect("detections") {
        let name = d["class_name"].as_str().expect("class name");
        let class = MODEL_CLASSES
            .iter()
            .find(|(n, _)| *n == name)
            .unwrap_or_else(|| panic!("detection of {name}, not a class of the model"));
        assert_eq!(d["category"], class.1);
    }

    // The eval report of the validation split: its counts are the val labels' after the
    // mapping (cigarettes dropped), scans without a kept label are its benign scans.
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out_dir.join("eval-val.json")).expect("eval-val.json"),
    )
    .expect("JSON");
    let mut objects = BTreeMap::new();
    let mut benign = 0;
    let mut scans = 0;
    for label in std::fs::read_dir(data.join("labels/val")).expect("val labels") {
        let text = std::fs::read_to_string(label.expect("entry").path()).expect("label");
        let kept: Vec<usize> = text
            .lines()
            .filter_map(|l| l.split_whitespace().next())
            .filter_map(|c| TARGET[c.parse::<usize>().expect("class id")])
            .collect();
        scans += 1;
        benign += usize::from(kept.is_empty());
        for k in kept {
            *objects.entry(MODEL_CLASSES[k].0).or_insert(0usize) += 1;
        }
    }
    assert_eq!(scans, 12);
    assert_eq!(report["model"], "my-detector");
    assert_eq!(report["scans"], scans);
    assert_eq!(report["failed"], serde_json::json!([]));
    assert_eq!(report["objects"], objects.values().sum::<usize>());
    assert_eq!(report["benign_false_alarms"]["benign_scans"], benign);
    let reported = report["classes"].as_array().expect("classes");
    assert_eq!(reported.len(), MODEL_CLASSES.len());
    for (c, spec_class) in reported.iter().zip(&spec.classes) {
        let name = c["name"].as_str().expect("name");
        assert_eq!(name, spec_class.name);
        assert_eq!(
            c["objects"],
            objects.get(name).copied().unwrap_or(0),
            "{name}"
        );
        assert_eq!(
            c["threshold"].as_f64().map(|t| t as f32),
            Some(spec_class.threshold)
        );
    }
    let map50 = report["map50"].as_f64().expect("map50");
    assert!((0.0..=1.0).contains(&map50), "mAP@0.5 {map50}");
    assert!(out_dir.join("model.onnx").is_file());
}

#[test]
fn own_data_names_a_class_without_a_category_and_trains_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("set");
    for sub in ["images/train", "images/val", "labels/train", "labels/val"] {
        std::fs::create_dir_all(data.join(sub)).expect("mkdir");
    }
    std::fs::write(
        data.join("data.yaml"),
        "train: images/train\nval: images/val\nnc: 3\nnames:\n  - gun\n  - knife\n  - laptop\n",
    )
    .expect("data.yaml");
    let out_dir = dir.path().join("out");
    let out = own_data(&[
        "--data",
        data.to_str().expect("utf-8"),
        "--out",
        out_dir.to_str().expect("utf-8"),
        "--work",
        dir.path().join("work").to_str().expect("utf-8"),
        "--map",
        "laptop=other",
        "--xray-screen",
        BIN,
    ]);
    assert!(!out.status.success(), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("class 0 'gun' has no category"),
        "{}",
        text(&out)
    );
    assert!(
        stderr.contains("--map NAME=PROJECT_CLASS"),
        "{}",
        text(&out)
    );
    assert!(
        !stderr.contains("'knife'"),
        "knife is a project class: {}",
        text(&out)
    );
    assert!(!out_dir.exists(), "nothing is written");
}
