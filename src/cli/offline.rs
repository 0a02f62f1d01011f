//! `inspect` and `eval`: the engine without a server, on image files.

use std::{path::Path, process::ExitCode};

use anyhow::Context;
use xray_engine::{
    draw::draw_detections,
    pipeline::{MAX_SCAN_ID_BYTES, Pipeline, ScanRequest},
};
use xray_types::Encoding;

use super::{EvalArgs, InspectArgs, build_pipeline};

pub async fn eval_command(args: EvalArgs) -> anyhow::Result<ExitCode> {
    if !(0.0..=1.0).contains(&args.score_floor) {
        anyhow::bail!("--score-floor {} is outside 0..1", args.score_floor);
    }
    let set = xray_eval::load(&args.set, &args.split)?;
    let pipeline = build_pipeline(&args.models, &args.images)?;
    let options = xray_eval::EvalOptions {
        model: args.model.clone(),
        score_floor: args.score_floor,
        concurrency: args.concurrency,
        progress: true,
    };
    let report = xray_eval::evaluate(&pipeline, &set, &options).await?;
    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(&report)?;
        std::fs::write(path, json).with_context(|| format!("cannot write {}", path.display()))?;
    }
    println!("{report}");
    Ok(if report.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

pub async fn inspect_command(args: InspectArgs) -> anyhow::Result<ExitCode> {
    let pipeline = build_pipeline(&args.models, &args.images)?;
    if let Some(dir) = &args.draw {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create --draw folder {}", dir.display()))?;
    }
    let mut failures = 0;
    for file in &args.files {
        let line = match inspect_file(&pipeline, &args, file).await {
            Ok(line) => line,
            Err(e) => {
                failures += 1;
                serde_json::json!({ "file": file, "error": format!("{e:#}") })
            }
        };
        println!("{line}");
    }
    Ok(if failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

async fn inspect_file(
    pipeline: &Pipeline,
    args: &InspectArgs,
    file: &Path,
) -> anyhow::Result<serde_json::Value> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let encoding = file
        .extension()
        .and_then(|e| e.to_str())
        .and_then(Encoding::from_extension)
        .filter(|e| *e == Encoding::RawU16);
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| file.display().to_string());
    let request = ScanRequest {
        scan_id: name.chars().take(MAX_SCAN_ID_BYTES / 4).collect(),
        image: bytes.into(),
        encoding,
        raw: encoding.and(args.raw_size),
        model: args.model.clone(),
        min_confidence: args.min_confidence,
        ..Default::default()
    };
    let (inspection, scan) = pipeline.inspect_with_pixels(request).await?;
    let mut line = serde_json::to_value(&inspection)?;
    line["file"] = serde_json::json!(file);
    if let Some(dir) = &args.draw {
        let stem = file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "scan".into());
        let out = dir.join(format!("{stem}.png"));
        let drawn = draw_detections(&scan, &inspection.detections)
            .context("decoded pixels do not match their size")?;
        drawn
            .save(&out)
            .with_context(|| format!("cannot write {}", out.display()))?;
        line["drawn"] = serde_json::json!(out);
    }
    Ok(line)
}
