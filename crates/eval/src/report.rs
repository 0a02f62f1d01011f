//! The evaluation report: per-class figures, mAP, false alarms on benign scans; printed as a
//! table whose last line is `mAP@0.5=<v> mAP@0.5:0.95=<v>`, or written as JSON.

use std::{collections::BTreeMap, fmt};

use super::{
    EvalSet, alarmed_categories,
    metrics::{self, ImageOutcome},
    outcome,
    visibility::{self, Band},
};
use xray_engine::{model::ModelSpec, pipeline::Inspection};
use xray_types::Category;

/// One class's figures.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ClassReport {
    pub name: String,
    pub category: Category,
    pub threshold: f32,
    /// Labelled objects of the class in the set.
    pub objects: usize,
    /// None when the set has no object of the class.
    pub ap50: Option<f64>,
    pub ap50_95: Option<f64>,
    /// At the shipped threshold, IoU 0.5.
    pub precision: Option<f64>,
    pub recall: Option<f64>,
    /// Labelled objects not found by a box of their class but covered by one of another
    /// class, by that class (only classes that took some).
    pub taken_for: BTreeMap<String, usize>,
    /// Labelled objects with no box of any class over them.
    pub missed: usize,
    /// Objects found (a box of the class, IoU 0.5, at the threshold) by how plainly they
    /// show; empty when the set's annotations do not say.
    pub by_visibility: Vec<BandRecall>,
}

/// How many of a class's objects in one visibility band were found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BandRecall {
    pub band: Band,
    pub objects: usize,
    pub found: usize,
}

impl BandRecall {
    pub fn recall(&self) -> Option<f64> {
        (self.objects > 0).then(|| self.found as f64 / self.objects as f64)
    }
}

impl ClassReport {
    /// Labelled objects no box of their class found (no box, or taken for another class).
    pub fn not_found(&self) -> usize {
        self.missed + self.taken_for.values().sum::<usize>()
    }
}

/// False alarms on scans with no labelled object, at the shipped thresholds.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CategoryAlarms {
    pub benign_scans: usize,
    /// Benign scans with any alarm.
    pub any: usize,
    pub weapon: usize,
    pub drugs: usize,
    pub undeclared_goods: usize,
}

impl CategoryAlarms {
    pub fn rate(&self, count: usize) -> Option<f64> {
        (self.benign_scans > 0).then(|| count as f64 / self.benign_scans as f64)
    }
}

/// Everything `eval` measured.
#[derive(Debug, Clone, serde::Serialize)]
pub struct EvalReport {
    pub model: String,
    pub model_version: String,
    pub scans: usize,
    pub objects: usize,
    /// Images without a label file (counted as benign).
    pub unlabelled: usize,
    /// (file, reason) of the images that could not be screened.
    pub failed: Vec<(String, String)>,
    pub classes: Vec<ClassReport>,
    /// Means over the classes that have objects in the set.
    pub map50: f64,
    pub map50_95: f64,
    pub benign_false_alarms: CategoryAlarms,
    pub seconds: f64,
}

pub(super) fn build(
    spec: &ModelSpec,
    set: &EvalSet,
    mapping: &BTreeMap<usize, usize>,
    results: Vec<(usize, Result<Inspection, String>)>,
    seconds: f64,
) -> EvalReport {
    let mut outcomes: Vec<ImageOutcome> = Vec::with_capacity(results.len());
    let mut failed = Vec::new();
    let mut alarms = CategoryAlarms {
        benign_scans: 0,
        any: 0,
        weapon: 0,
        drugs: 0,
        undeclared_goods: 0,
    };
    for (index, result) in results {
        let item = &set.images[index];
        match result {
            Ok(inspection) => {
                let image = outcome(item, mapping, &inspection);
                // Benign: the set labels nothing in it (not merely nothing the model knows).
                if item.truths.is_empty() {
                    alarms.benign_scans += 1;
                    let raised = alarmed_categories(&inspection);
                    alarms.any += usize::from(!raised.is_empty());
                    for category in raised {
                        match category {
                            Category::Weapon => alarms.weapon += 1,
                            Category::Drugs => alarms.drugs += 1,
                            Category::UndeclaredGoods => alarms.undeclared_goods += 1,
                            Category::Other => {}
                        }
                    }
                }
                outcomes.push(image);
            }
            Err(reason) => failed.push((item.image.display().to_string(), reason)),
        }
    }
    let thresholds: Vec<f32> = spec.classes.iter().map(|c| c.threshold).collect();
    let fates = metrics::fates(&outcomes, &thresholds);
    let banded = outcomes
        .iter()
        .any(|o| o.truths.iter().any(|t| t.band.is_some()));
    let band_fates: Vec<(Band, Vec<metrics::Fate>)> = if banded {
        Band::ALL
            .iter()
            .map(|&band| {
                let f = metrics::fates_where(&outcomes, &thresholds, |t| t.band == Some(band));
                (band, f)
            })
            .collect()
    } else {
        Vec::new()
    };
    let classes: Vec<ClassReport> = spec
        .classes
        .iter()
        .enumerate()
        .map(|(id, class)| {
            let at = metrics::at_threshold(&outcomes, id, class.threshold);
            let fate = &fates[id];
            ClassReport {
                name: class.name.clone(),
                category: class.category,
                threshold: class.threshold,
                objects: at.objects,
                ap50: metrics::average_precision(&outcomes, id, 0.5),
                ap50_95: metrics::average_precision_50_95(&outcomes, id),
                precision: at.precision,
                recall: at.recall,
                taken_for: fate
                    .taken_for
                    .iter()
                    .enumerate()
                    .filter(|(_, n)| **n > 0)
                    .map(|(other, n)| (spec.classes[other].name.clone(), *n))
                    .collect(),
                missed: fate.missed,
                by_visibility: band_fates
                    .iter()
                    .map(|(band, f)| BandRecall {
                        band: *band,
                        objects: f[id].objects(),
                        found: f[id].found,
                    })
                    .collect(),
            }
        })
        .collect();
    let mean = |values: Vec<f64>| {
        if values.is_empty() {
            0.0
        } else {
            values.iter().sum::<f64>() / values.len() as f64
        }
    };
    EvalReport {
        model: spec.name.clone(),
        model_version: spec.version.clone(),
        scans: outcomes.len() + failed.len(),
        objects: outcomes.iter().map(|o| o.truths.len()).sum(),
        unlabelled: set.images.iter().filter(|i| !i.has_label_file).count(),
        failed,
        map50: mean(classes.iter().filter_map(|c| c.ap50).collect()),
        map50_95: mean(classes.iter().filter_map(|c| c.ap50_95).collect()),
        classes,
        benign_false_alarms: alarms,
        seconds,
    }
}

fn cell(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_string(), |v| format!("{v:.3}"))
}

fn rate(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_string(), |v| format!("{:.1}%", v * 100.0))
}

impl EvalReport {
    /// Found objects by visibility band, when the set's annotations give bands.
    fn write_by_visibility(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.classes.iter().all(|c| c.by_visibility.is_empty()) {
            return Ok(());
        }
        writeln!(
            f,
            "found by visibility (signal to clutter: plain >= {}, faint {}-{}, hidden < {}):",
            visibility::PLAIN_FROM,
            visibility::HIDDEN_UNDER,
            visibility::PLAIN_FROM,
            visibility::HIDDEN_UNDER
        )?;
        for c in self.classes.iter().filter(|c| c.objects > 0) {
            let cells: Vec<String> = c
                .by_visibility
                .iter()
                .map(|b| {
                    format!(
                        "{} {}/{} {:>6}",
                        b.band.name(),
                        b.found,
                        b.objects,
                        rate(b.recall())
                    )
                })
                .collect();
            writeln!(f, "  {:<14} {}", c.name, cells.join("   "))?;
        }
        Ok(())
    }
}

impl fmt::Display for EvalReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "model {} {}: {} scans, {} labelled objects, {:.1} s ({:.1} scans/s)",
            self.model,
            self.model_version,
            self.scans,
            self.objects,
            self.seconds,
            self.scans as f64 / self.seconds.max(1e-9)
        )?;
        writeln!(
            f,
            "{:<16} {:<17} {:>7} {:>7} {:>8} {:>12} {:>9} {:>7}",
            "class",
            "category",
            "objects",
            "AP@0.5",
            "AP@.5:.95",
            "threshold",
            "precision",
            "recall"
        )?;
        for c in &self.classes {
            writeln!(
                f,
                "{:<16} {:<17} {:>7} {:>7} {:>8} {:>12.2} {:>9} {:>7}",
                c.name,
                c.category.to_string(),
                c.objects,
                cell(c.ap50),
                cell(c.ap50_95),
                c.threshold,
                cell(c.precision),
                cell(c.recall)
            )?;
        }
        let unfound: Vec<&ClassReport> =
            self.classes.iter().filter(|c| c.not_found() > 0).collect();
        if !unfound.is_empty() {
            writeln!(
                f,
                "not found by a box of their class (IoU 0.5, shipped thresholds):"
            )?;
        }
        for c in unfound {
            let mut parts = vec![format!("{} with no box", c.missed)];
            parts.extend(
                c.taken_for
                    .iter()
                    .map(|(other, n)| format!("{n} taken for {other}")),
            );
            writeln!(
                f,
                "  {}: {} of {} ({})",
                c.name,
                c.not_found(),
                c.objects,
                parts.join(", ")
            )?;
        }
        self.write_by_visibility(f)?;
        let a = &self.benign_false_alarms;
        writeln!(
            f,
            "false alarms on {} benign scans: any {}, weapon {}, drugs {}, undeclared goods {}",
            a.benign_scans,
            rate(a.rate(a.any)),
            rate(a.rate(a.weapon)),
            rate(a.rate(a.drugs)),
            rate(a.rate(a.undeclared_goods))
        )?;
        if self.unlabelled > 0 {
            writeln!(
                f,
                "{} images had no label file and were counted as benign",
                self.unlabelled
            )?;
        }
        for (file, reason) in &self.failed {
            writeln!(f, "failed: {file}: {reason}")?;
        }
        write!(
            f,
            "mAP@0.5={:.4} mAP@0.5:0.95={:.4}",
            self.map50, self.map50_95
        )
    }
}
