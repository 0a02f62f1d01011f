//! `eval`: measuring a configured model on a labelled set of images, through the same
//! pipeline the service screens with (decode, letterbox, model, NMS), so that the figures are
//! the service's own.

pub mod dataset;
pub mod metrics;
mod report;
pub mod visibility;

use std::{collections::BTreeMap, sync::Arc, time::Instant};

use indicatif::{ProgressBar, ProgressStyle};
use tokio::{sync::Semaphore, task::JoinSet};

pub use dataset::{EvalSet, load};
pub use report::{BandRecall, CategoryAlarms, ClassReport, EvalReport};

use metrics::{ImageOutcome, Predicted, Truth};
use xray_engine::pipeline::{Inspection, MAX_SCAN_ID_BYTES, Pipeline, ScanRequest};
use xray_types::{BoxXyxy, Category};

/// How to run an evaluation.
#[derive(Debug, Clone)]
pub struct EvalOptions {
    /// The model to measure (None: the default one).
    pub model: Option<String>,
    /// Lowest score kept for the precision-recall curve.
    pub score_floor: f32,
    /// Scans in flight at once (so the executor can batch).
    pub concurrency: usize,
    /// Show a progress bar on stderr.
    pub progress: bool,
}

/// Why an evaluation could not run at all (a single bad image is reported, not fatal).
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error(transparent)]
    Model(#[from] xray_engine::pipeline::PipelineError),
    #[error(
        "the set's classes {unknown:?} are not classes of model {model} ({known:?}); their objects are not counted"
    )]
    UnknownClasses {
        model: String,
        unknown: Vec<String>,
        known: Vec<String>,
    },
}

/// Runs every image of `set` through the model and measures it against the labels.
pub async fn evaluate(
    pipeline: &Pipeline,
    set: &EvalSet,
    options: &EvalOptions,
) -> Result<EvalReport, EvalError> {
    let model = pipeline.model(options.model.as_deref())?;
    let class_names: Vec<String> = model.spec.classes.iter().map(|c| c.name.clone()).collect();
    let (mapping, unmapped) = map_classes(set, &class_names);
    if !unmapped.is_empty() {
        // Not fatal: a set may label more than the model knows; say so plainly.
        tracing::warn!(
            "{}",
            EvalError::UnknownClasses {
                model: model.spec.name.clone(),
                unknown: unmapped,
                known: class_names.clone(),
            }
        );
    }

    let started = Instant::now();
    let bar = if options.progress {
        ProgressBar::new(set.images.len() as u64).with_style(
            ProgressStyle::with_template(
                "eval {bar:40} {pos}/{len} scans {per_sec} eta {eta} {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        )
    } else {
        ProgressBar::hidden()
    };
    let gate = Arc::new(Semaphore::new(options.concurrency.max(1)));
    let mut tasks = JoinSet::new();
    let mut results: Vec<(usize, Result<Inspection, String>)> = Vec::new();
    for (index, item) in set.images.iter().enumerate() {
        let permit = Arc::clone(&gate).acquire_owned().await;
        let pipeline = pipeline.clone();
        let image = item.image.clone();
        let request_model = options.model.clone();
        let floor = options.score_floor;
        tasks.spawn(async move {
            let _permit = permit;
            let outcome = match tokio::fs::read(&image).await {
                Ok(bytes) => {
                    let name = image
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    let request = ScanRequest {
                        scan_id: truncate(&name),
                        image: bytes.into(),
                        model: request_model,
                        eval_floor: Some(floor),
                        ..Default::default()
                    };
                    pipeline.inspect(request).await.map_err(|e| e.to_string())
                }
                Err(e) => Err(format!("cannot read: {e}")),
            };
            (index, outcome)
        });
        // Reap finished scans as we go so the bar moves and memory stays flat.
        while let Some(done) = tasks.try_join_next() {
            bar.inc(1);
            collect(done, &mut results);
        }
    }
    while let Some(done) = tasks.join_next().await {
        bar.inc(1);
        collect(done, &mut results);
    }
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    results.sort_by_key(|(i, _)| *i);
    Ok(report::build(&model.spec, set, &mapping, results, seconds))
}

fn collect(
    done: Result<(usize, Result<Inspection, String>), tokio::task::JoinError>,
    out: &mut Vec<(usize, Result<Inspection, String>)>,
) {
    match done {
        Ok(r) => out.push(r),
        Err(e) => tracing::error!("an evaluation task failed: {e}"),
    }
}

fn truncate(name: &str) -> String {
    let mut end = name.len().min(MAX_SCAN_ID_BYTES);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    if end == 0 {
        "eval".to_string()
    } else {
        name[..end].to_string()
    }
}

/// The model class of each of the set's class ids (by name when the set names its classes,
/// by id otherwise), and the set's names the model does not have.
fn map_classes(set: &EvalSet, model_classes: &[String]) -> (BTreeMap<usize, usize>, Vec<String>) {
    let mut mapping = BTreeMap::new();
    let mut unmapped = Vec::new();
    match &set.class_names {
        Some(names) => {
            for (id, name) in names.iter().enumerate() {
                match model_classes.iter().position(|m| m == name) {
                    Some(m) => {
                        mapping.insert(id, m);
                    }
                    None => unmapped.push(name.clone()),
                }
            }
        }
        None => {
            for m in 0..model_classes.len() {
                mapping.insert(m, m);
            }
        }
    }
    (mapping, unmapped)
}

/// The set's labels of one image as model-class boxes in pixels.
fn truths_in_pixels(
    item: &dataset::LabelledImage,
    mapping: &BTreeMap<usize, usize>,
    width: u32,
    height: u32,
) -> Vec<Truth> {
    let (w, h) = (width as f32, height as f32);
    item.truths
        .iter()
        .enumerate()
        .filter_map(|(i, t)| {
            let class = *mapping.get(&t.class)?;
            Some(Truth {
                class,
                bbox: BoxXyxy::from_centre(t.cx * w, t.cy * h, t.w * w, t.h * h),
                band: item.bands.as_ref().and_then(|b| b.get(i).copied()),
            })
        })
        .collect()
}

fn outcome(
    item: &dataset::LabelledImage,
    mapping: &BTreeMap<usize, usize>,
    inspection: &Inspection,
) -> ImageOutcome {
    ImageOutcome {
        truths: truths_in_pixels(item, mapping, inspection.width, inspection.height),
        predictions: inspection
            .detections
            .iter()
            .map(|d| Predicted {
                class: d.class_id,
                score: d.confidence,
                bbox: d.bbox,
            })
            .collect(),
    }
}

/// Which alarming categories a scan's detections raised at the shipped thresholds.
fn alarmed_categories(inspection: &Inspection) -> Vec<Category> {
    let mut categories: Vec<Category> = inspection
        .detections
        .iter()
        .filter(|d| d.alarm)
        .map(|d| d.category)
        .collect();
    categories.sort_by_key(|c| *c as u8);
    categories.dedup();
    categories
}
