//! `models/<name>/model.toml`: what the service needs to know about a detector that the ONNX
//! file does not say (output layout, class names, categories, thresholds, input rendering).

use std::path::Path;

use serde::Deserialize;
use xray_types::Category;

use crate::imaging::PaletteName;

use super::ModelError;

/// The detector output layouts the service decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputLayout {
    /// YOLOv8/v11: `[N, 4 + C, A]`, rows cx, cy, w, h then one score per class.
    Yolov8,
    /// YOLOv5/v7: `[N, A, 5 + C]`: cx, cy, w, h, objectness, class probabilities.
    Yolov5,
    /// End-to-end (NMS inside the model): `[N, K, 6]`: x1, y1, x2, y2, score, class id.
    End2end,
}

impl OutputLayout {
    /// The per-image output shape `[d1, d2]` this layout gives for `classes` classes, with
    /// `None` where the size depends on the model (anchor or detection count).
    pub fn expected_dims(self, classes: usize) -> [Option<usize>; 2] {
        match self {
            OutputLayout::Yolov8 => [Some(4 + classes), None],
            OutputLayout::Yolov5 => [None, Some(5 + classes)],
            OutputLayout::End2end => [None, Some(6)],
        }
    }
}

/// One class the model reports.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassSpec {
    pub name: String,
    pub category: Category,
    /// Confidence at or above which a detection of this class is reported (and, for an
    /// alarming category, raises the alarm).
    pub threshold: f32,
    /// Overlap (intersection over union) above which two boxes of this class are taken for
    /// one object; default `[nms] iou`. Goods packed in quantity (phones in a carton) lie
    /// over each other, so two real objects can overlap more than one object's duplicates.
    #[serde(default)]
    pub nms_iou: Option<f32>,
}

/// How a scan becomes the model's input tensor.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputSpec {
    /// Name of the ONNX input, a float tensor `[N, 3, height, width]`.
    pub name: String,
    pub width: u32,
    pub height: u32,
    /// Palette that renders raw dual-energy scans into the RGB the model was trained on.
    #[serde(default)]
    pub palette: PaletteName,
    /// Letterbox padding value (0..255).
    #[serde(default = "default_fill")]
    pub fill: u8,
    /// Per-channel normalisation after scaling to 0..1: `(v - mean) / std`.
    #[serde(default = "default_mean")]
    pub mean: [f32; 3],
    #[serde(default = "default_std")]
    pub std: [f32; 3],
}

fn default_fill() -> u8 {
    114
}
fn default_mean() -> [f32; 3] {
    [0.0; 3]
}
fn default_std() -> [f32; 3] {
    [1.0; 3]
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputSpec {
    /// Name of the ONNX output holding the detections.
    pub name: String,
    /// Also run each image mirrored left to right and average the two outputs anchor by
    /// anchor (YOLOv8 layout only): steadier scores and boxes for twice the model's work.
    #[serde(default)]
    pub flip_average: bool,
    /// The strides of the output's anchor grids, in the order their anchors are laid out
    /// (row by row within a grid); `flip_average` finds each anchor's mirror through them.
    #[serde(default = "default_strides")]
    pub strides: Vec<u32>,
}

fn default_strides() -> Vec<u32> {
    vec![8, 16, 32]
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NmsSpec {
    /// Boxes of one class overlapping more than this (intersection over union) are merged.
    #[serde(default = "default_iou")]
    pub iou: f32,
    /// At most this many detections a scan.
    #[serde(default = "default_max_detections")]
    pub max_detections: usize,
}

impl Default for NmsSpec {
    fn default() -> Self {
        Self {
            iou: default_iou(),
            max_detections: default_max_detections(),
        }
    }
}

fn default_iou() -> f32 {
    0.5
}
fn default_max_detections() -> usize {
    300
}

fn default_max_batch() -> usize {
    16
}

fn default_max_queue_delay_us() -> u64 {
    2000
}

/// A model folder's `model.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// The name clients use in `Scan.model`.
    pub name: String,
    pub version: String,
    /// The ONNX file, relative to the folder.
    #[serde(default = "default_file")]
    pub file: String,
    pub layout: OutputLayout,
    /// Largest batch the executor forms (1 when the ONNX batch dimension is fixed at 1).
    #[serde(default = "default_max_batch")]
    pub max_batch: usize,
    /// How long, in microseconds, the oldest queued scan may wait for others to join its
    /// batch (Triton's `max_queue_delay_microseconds`); the serve flag
    /// `--max-queue-delay-us` overrides it.
    #[serde(default = "default_max_queue_delay_us")]
    pub max_queue_delay_us: u64,
    pub input: InputSpec,
    pub output: OutputSpec,
    #[serde(default)]
    pub nms: NmsSpec,
    /// Class index order as the model outputs them.
    pub classes: Vec<ClassSpec>,
}

fn default_file() -> String {
    "model.onnx".to_string()
}

impl ModelSpec {
    /// Reads and checks `dir/model.toml`.
    pub fn load(dir: &Path) -> Result<Self, ModelError> {
        let path = dir.join("model.toml");
        let text = std::fs::read_to_string(&path).map_err(|e| ModelError::Config {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        let spec: ModelSpec = toml::from_str(&text).map_err(|e| ModelError::Config {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        spec.check()
            .map_err(|reason| ModelError::Config { path, reason })?;
        Ok(spec)
    }

    /// The NMS overlap limit of class `class_id`: its own `nms_iou`, else `[nms] iou`.
    pub fn class_nms_iou(&self, class_id: usize) -> f32 {
        self.classes
            .get(class_id)
            .and_then(|c| c.nms_iou)
            .unwrap_or(self.nms.iou)
    }

    fn check(&self) -> Result<(), String> {
        if self.name.trim().is_empty() {
            return Err("name is empty".into());
        }
        if self.classes.is_empty() {
            return Err("no [[classes]]".into());
        }
        for class in &self.classes {
            if !(0.0..=1.0).contains(&class.threshold) {
                return Err(format!(
                    "class {:?} threshold {} is outside 0..1",
                    class.name, class.threshold
                ));
            }
            if let Some(iou) = class.nms_iou
                && !(0.0..=1.0).contains(&iou)
            {
                return Err(format!(
                    "class {:?} nms_iou {iou} is outside 0..1",
                    class.name
                ));
            }
        }
        if self.input.width == 0 || self.input.height == 0 {
            return Err("input width and height must be positive".into());
        }
        if self.input.std.contains(&0.0) {
            return Err("input std must not be zero".into());
        }
        if self.max_batch == 0 {
            return Err("max_batch must be at least 1".into());
        }
        if !(0.0..=1.0).contains(&self.nms.iou) {
            return Err(format!("nms.iou {} is outside 0..1", self.nms.iou));
        }
        if self.output.flip_average {
            self.check_flip_average()?;
        }
        Ok(())
    }

    fn check_flip_average(&self) -> Result<(), String> {
        if self.layout != OutputLayout::Yolov8 {
            return Err(format!(
                "output.flip_average needs layout \"yolov8\" (anchor grids), not {:?}",
                self.layout
            ));
        }
        let strides = &self.output.strides;
        if strides.is_empty() {
            return Err("output.strides is empty; flip_average needs the anchor grids".into());
        }
        let (w, h) = (self.input.width, self.input.height);
        if let Some(s) = strides
            .iter()
            .find(|&&s| s == 0 || w % s != 0 || h % s != 0)
        {
            return Err(format!(
                "output.strides: {s} does not divide the {w}x{h} input into whole grid cells"
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
        name = "m"
        version = "1"
        layout = "yolov8"
        [input]
        name = "images"
        width = 640
        height = 640
        [output]
        name = "output0"
        [[classes]]
        name = "pistol"
        category = "weapon"
        threshold = 0.4
    "#;

    #[test]
    fn minimal_spec_takes_defaults() {
        let spec: ModelSpec = toml::from_str(MINIMAL).expect("parses");
        spec.check().expect("valid");
        assert_eq!(spec.file, "model.onnx");
        assert_eq!(spec.max_batch, 16);
        assert_eq!(spec.max_queue_delay_us, 2000);
        assert_eq!(spec.input.fill, 114);
        assert_eq!(spec.input.palette, PaletteName::Classic);
        assert_eq!(spec.nms.iou, 0.5);
        assert_eq!(spec.classes[0].category, Category::Weapon);
        assert_eq!(spec.class_nms_iou(0), 0.5);
    }

    #[test]
    fn a_class_may_set_its_own_nms_overlap() {
        let two = format!(
            "{MINIMAL}\n[[classes]]\nname = \"phone\"\ncategory = \"undeclared_goods\"\nthreshold = 0.4\nnms_iou = 0.7\n"
        );
        let spec: ModelSpec =
            toml::from_str(&two.replace("[output]", "[nms]\niou = 0.45\n[output]"))
                .expect("parses");
        spec.check().expect("valid");
        assert_eq!(spec.class_nms_iou(0), 0.45);
        assert_eq!(spec.class_nms_iou(1), 0.7);
        let bad: ModelSpec =
            toml::from_str(&two.replace("nms_iou = 0.7", "nms_iou = 1.2")).expect("parses");
        assert!(bad.check().unwrap_err().contains("nms_iou 1.2"));
    }

    #[test]
    fn flip_average_needs_grids_that_fit_the_input() {
        let on = MINIMAL.replace(
            "name = \"output0\"",
            "name = \"output0\"\nflip_average = true",
        );
        let spec: ModelSpec = toml::from_str(&on).expect("parses");
        spec.check().expect("valid");
        assert!(spec.output.flip_average);
        assert_eq!(spec.output.strides, [8, 16, 32]);
        let odd: ModelSpec = toml::from_str(&on.replace(
            "flip_average = true",
            "flip_average = true\nstrides = [8, 48]",
        ))
        .expect("parses");
        assert!(
            odd.check()
                .unwrap_err()
                .contains("48 does not divide the 640x640")
        );
        let v5: ModelSpec =
            toml::from_str(&on.replace("\"yolov8\"", "\"yolov5\"")).expect("parses");
        assert!(v5.check().unwrap_err().contains("needs layout \"yolov8\""));
        let off: ModelSpec = toml::from_str(MINIMAL).expect("parses");
        assert!(!off.output.flip_average);
    }

    #[test]
    fn bad_threshold_is_refused() {
        let spec: ModelSpec =
            toml::from_str(&MINIMAL.replace("threshold = 0.4", "threshold = 1.5")).expect("parses");
        assert!(spec.check().unwrap_err().contains("threshold 1.5"));
    }

    #[test]
    fn unknown_category_is_a_parse_error() {
        let err = toml::from_str::<ModelSpec>(&MINIMAL.replace("\"weapon\"", "\"explosive\""))
            .unwrap_err();
        assert!(err.to_string().contains("explosive"), "{err}");
    }
}
