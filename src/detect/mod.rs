//! From a model's raw output to detections in the scan's pixels: layout decoding, per-class
//! thresholds, class-aware NMS, undoing the letterbox.

mod layout;
mod nms;

pub use layout::decode_candidates;
pub use nms::{iou, non_max_suppression};

use crate::{
    imaging::Letterbox,
    model::{Category, ModelSpec},
};

/// An axis-aligned box, corners (x1, y1) top-left and (x2, y2) bottom-right.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BoxXyxy {
    pub x1: f32,
    pub y1: f32,
    pub x2: f32,
    pub y2: f32,
}

impl BoxXyxy {
    pub fn from_centre(cx: f32, cy: f32, w: f32, h: f32) -> Self {
        Self {
            x1: cx - w / 2.0,
            y1: cy - h / 2.0,
            x2: cx + w / 2.0,
            y2: cy + h / 2.0,
        }
    }

    pub fn area(&self) -> f32 {
        (self.x2 - self.x1).max(0.0) * (self.y2 - self.y1).max(0.0)
    }
}

/// A box the model proposes, in the model input's pixels, before NMS.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    pub class_id: usize,
    pub score: f32,
    pub bbox: BoxXyxy,
}

/// A region the model flags, in the scan's pixels.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Detection {
    pub class_id: usize,
    pub class_name: String,
    pub category: Category,
    pub confidence: f32,
    #[serde(flatten)]
    pub bbox: BoxXyxy,
    /// An alarming category at or over its class threshold.
    pub alarm: bool,
}

/// The output did not have the shape the model card promised.
#[derive(Debug, thiserror::Error)]
#[error("model output of shape {dims:?} does not fit layout {layout} with {classes} classes")]
pub struct OutputShapeError {
    pub layout: String,
    pub dims: [usize; 2],
    pub classes: usize,
}

/// Which candidates a scan reports.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum ScoreCut {
    /// The model's per-class thresholds, raised (never lowered) to the request's
    /// `min_confidence`: what the service reports.
    #[default]
    Shipped,
    /// As `Shipped`, with a per-request floor.
    AtLeast(f32),
    /// Everything at or over this score, whatever the class thresholds: for measuring a
    /// model's precision-recall curve (`eval`), never for screening. Alarms still follow the
    /// class thresholds.
    Floor(f32),
}

impl ScoreCut {
    /// The per-request cut of a scan with an optional `min_confidence`.
    pub fn from_min_confidence(min_confidence: Option<f32>) -> Self {
        min_confidence.map_or(ScoreCut::Shipped, ScoreCut::AtLeast)
    }

    fn threshold(self, class_threshold: f32) -> f32 {
        match self {
            ScoreCut::Shipped => class_threshold,
            ScoreCut::AtLeast(floor) => class_threshold.max(floor),
            ScoreCut::Floor(floor) => floor,
        }
    }
}

/// Turns one image's raw output into detections in the scan's pixels, keeping the
/// candidates that pass `cut`.
pub fn postprocess(
    spec: &ModelSpec,
    data: &[f32],
    dims: [usize; 2],
    letterbox: &Letterbox,
    cut: ScoreCut,
) -> Result<Vec<Detection>, OutputShapeError> {
    let thresholds: Vec<f32> = spec
        .classes
        .iter()
        .map(|c| cut.threshold(c.threshold))
        .collect();
    let candidates = decode_candidates(spec.layout, data, dims, &thresholds)?;
    let kept = non_max_suppression(candidates, spec.nms.iou, spec.nms.max_detections);
    Ok(kept
        .into_iter()
        .filter_map(|c| {
            let (x1, y1) = letterbox.to_source(c.bbox.x1, c.bbox.y1);
            let (x2, y2) = letterbox.to_source(c.bbox.x2, c.bbox.y2);
            let bbox = BoxXyxy { x1, y1, x2, y2 };
            // A box entirely in the padding collapses to nothing once clipped.
            if bbox.area() <= 0.0 {
                return None;
            }
            let class = &spec.classes[c.class_id];
            Some(Detection {
                class_id: c.class_id,
                class_name: class.name.clone(),
                category: class.category,
                confidence: c.score,
                bbox,
                alarm: class.category.alarming() && c.score >= class.threshold,
            })
        })
        .collect())
}
