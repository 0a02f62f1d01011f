//! The default model's card says what the shipped files say: the version in its title and in
//! README is the one in `model.toml` and in the `eval` reports, its threshold table is the
//! thresholds `model.toml` ships, and its held-out figures are the ones `xray-screen eval`
//! wrote to `eval-heldout.json` and `eval-benign.json` at those thresholds. A model shipped
//! without re-running the evaluation, or a card left describing the model before, fails here.

use std::path::{Path, PathBuf};

use serde_json::Value;
use xray_engine::model::ModelSpec;

fn model_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("models/xray-detector")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn spec() -> ModelSpec {
    ModelSpec::load(&model_dir()).expect("model.toml loads")
}

fn card() -> String {
    read(&model_dir().join("MODEL_CARD.md"))
}

fn report(name: &str) -> Value {
    let path = model_dir().join(name);
    serde_json::from_str(&read(&path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The body rows of the Markdown table whose header line is `header`, cells trimmed.
fn table(text: &str, header: &str) -> Vec<Vec<String>> {
    let mut lines = text.lines().skip_while(|l| l.trim() != header);
    assert!(lines.next().is_some(), "no table with header {header:?}");
    lines
        .skip(1) // the |---| line
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            l.trim()
                .trim_matches('|')
                .split('|')
                .map(|c| c.trim().to_string())
                .collect()
        })
        .collect()
}

/// A threshold as the card's table writes it.
fn two_places(threshold: f64) -> String {
    format!("{threshold:.2}")
}

fn percent(count: &Value, of: &Value) -> String {
    let (count, of) = (count.as_f64().expect("count"), of.as_f64().expect("scans"));
    format!("{:.1}%", 100.0 * count / of)
}

#[test]
fn the_versions_agree() {
    let (spec, card) = (spec(), card());
    let title = card.lines().next().unwrap_or_default();
    assert_eq!(
        title.split_whitespace().nth(2),
        Some(spec.version.as_str()),
        "card title {title:?}"
    );
    for name in ["eval-heldout.json", "eval-benign.json"] {
        assert_eq!(
            report(name)["model_version"].as_str(),
            Some(spec.version.as_str()),
            "{name} was written by another version of the model; re-run `make model-eval`"
        );
    }
    let readme = read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"));
    let stated = readme
        .split("**Version ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next());
    assert_eq!(
        stated,
        Some(spec.version.as_str()),
        "README's model version"
    );
}

#[test]
fn the_threshold_table_is_the_shipped_thresholds() {
    let (spec, card) = (spec(), card());
    let rows = table(&card, "| id | class | category | shipped threshold |");
    let shipped: Vec<Vec<String>> = spec
        .classes
        .iter()
        .enumerate()
        .map(|(id, c)| {
            vec![
                id.to_string(),
                c.name.clone(),
                c.category.to_string(),
                two_places(c.threshold.into()),
            ]
        })
        .collect();
    assert_eq!(rows, shipped);
    let thresholds: Vec<(String, String)> = spec
        .classes
        .iter()
        .map(|c| (c.name.clone(), two_places(c.threshold.into())))
        .collect();

    // The evaluation reports were made at these same thresholds.
    for name in ["eval-heldout.json", "eval-benign.json"] {
        let report = report(name);
        let used: Vec<(String, String)> = report["classes"]
            .as_array()
            .expect("classes")
            .iter()
            .map(|c| {
                (
                    c["name"].as_str().unwrap_or_default().to_string(),
                    two_places(c["threshold"].as_f64().expect("threshold")),
                )
            })
            .collect();
        assert_eq!(used, thresholds, "{name} was made at other thresholds");
    }
}

#[test]
fn the_held_out_figures_are_the_eval_reports() {
    let card = card();
    let heldout = report("eval-heldout.json");
    let rows = table(
        &card,
        "| class | objects | AP@0.5 | AP@0.5:0.95 | precision at threshold | recall at threshold |",
    );
    let mut want: Vec<Vec<String>> = heldout["classes"]
        .as_array()
        .expect("classes")
        .iter()
        .map(|c| {
            let f = |k: &str| format!("{:.3}", c[k].as_f64().expect(k));
            vec![
                c["name"].as_str().unwrap_or_default().to_string(),
                c["objects"].to_string(),
                f("ap50"),
                f("ap50_95"),
                f("precision"),
                f("recall"),
            ]
        })
        .collect();
    want.push(vec![
        "**mean**".to_string(),
        heldout["objects"].to_string(),
        format!(
            "**mAP@0.5 {:.3}**",
            heldout["map50"].as_f64().expect("map50")
        ),
        format!(
            "**mAP@0.5:0.95 {:.3}**",
            heldout["map50_95"].as_f64().expect("map50_95")
        ),
        String::new(),
        String::new(),
    ]);
    assert_eq!(rows, want);

    // The false-alarm sentences: the benign-only set, then the benign scans of the held-out set.
    let fa = |report: &Value, any: &str| {
        let a = &report["benign_false_alarms"];
        let n = &a["benign_scans"];
        format!(
            "weapon {}, drugs {}, undeclared goods {}, {any} {}",
            percent(&a["weapon"], n),
            percent(&a["drugs"], n),
            percent(&a["undeclared_goods"], n),
            percent(&a["any"], n)
        )
    };
    let card = card.split_whitespace().collect::<Vec<_>>().join(" ");
    let benign = fa(&report("eval-benign.json"), "any alarm");
    let benign = benign
        .replacen("weapon ", "**weapon ", 1)
        .replacen(", drugs", "**, drugs", 1);
    assert!(card.contains(&benign), "card lacks {benign:?}");
    let inside = fa(&heldout, "any");
    assert!(card.contains(&inside), "card lacks {inside:?}");
}
