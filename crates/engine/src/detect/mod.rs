//! From a model's raw output to detections in the scan's pixels: layout decoding, per-class
//! thresholds, class-aware NMS, undoing the letterbox.

mod layout;
mod nms;

pub use layout::decode_candidates;
pub use nms::{iou, non_max_suppression};

use crate::{
    imaging::Letterbox,
    model::{ModelSpec, OutputLayout},
};
use xray_types::{BoxXyxy, Category};

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
    // An end2end model did its own NMS: no overlap exceeds an infinite limit, so its boxes
    // are only sorted and capped.
    let end2end = spec.layout == OutputLayout::End2end;
    let kept = non_max_suppression(
        candidates,
        |class_id| {
            if end2end {
                f32::INFINITY
            } else {
                spec.class_nms_iou(class_id)
            }
        },
        spec.nms.max_detections,
    );
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Two classes, knife and phone; the phone may set its own NMS overlap.
    fn spec(layout: &str, phone_nms: &str) -> ModelSpec {
        let text = format!(
            r#"
            name = "m"
            version = "1"
            layout = "{layout}"
            [input]
            name = "images"
            width = 100
            height = 100
            [output]
            name = "out"
            [[classes]]
            name = "knife"
            category = "weapon"
            threshold = 0.3
            [[classes]]
            name = "phone"
            category = "undeclared_goods"
            threshold = 0.3
            {phone_nms}
            "#
        );
        toml::from_str(&text).expect("a valid spec")
    }

    /// Per class id, how many detections survive.
    fn counts(spec: &ModelSpec, data: &[f32], dims: [usize; 2]) -> [usize; 2] {
        let lb = Letterbox::fit(100, 100, 100, 100);
        let found = postprocess(spec, data, dims, &lb, ScoreCut::Shipped).expect("fits");
        [0, 1].map(|c| found.iter().filter(|d| d.class_id == c).count())
    }

    /// A yolov8 output `[4 + 2, 4]`: two knife boxes and two phone boxes, each pair
    /// overlapping by IoU 0.6 (10x10 boxes 2.5 px apart).
    fn overlapping_pairs() -> Vec<f32> {
        let cx = [20.0, 22.5, 60.0, 62.5];
        let rows: [[f32; 4]; 6] = [
            cx,
            [20.0; 4],
            [10.0; 4],
            [10.0; 4],
            [0.9, 0.8, 0.0, 0.0],
            [0.0, 0.0, 0.9, 0.8],
        ];
        rows.concat()
    }

    #[test]
    fn the_class_overlap_limit_decides_what_nms_keeps() {
        let data = overlapping_pairs();
        assert_eq!(counts(&spec("yolov8", ""), &data, [6, 4]), [1, 1]);
        let phones_apart = spec("yolov8", "nms_iou = 0.7");
        assert_eq!(counts(&phones_apart, &data, [6, 4]), [1, 2]);
    }

    #[test]
    fn end2end_boxes_are_not_suppressed_again() {
        // Rows x1, y1, x2, y2, score, class: two knives overlapping by IoU 0.6.
        let data = [
            15.0, 15.0, 25.0, 25.0, 0.9, 0.0, //
            17.5, 15.0, 27.5, 25.0, 0.8, 0.0,
        ];
        assert_eq!(counts(&spec("end2end", ""), &data, [2, 6]), [2, 0]);
    }
}
