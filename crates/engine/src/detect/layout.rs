//! Decoding the three common detector output layouts into candidate boxes.

use super::{Candidate, OutputShapeError};
use crate::model::OutputLayout;
use xray_types::BoxXyxy;

/// Candidates of one image's output (`dims` without the batch), keeping those at or over
/// their class's threshold (`thresholds[class]`, one per class).
pub fn decode_candidates(
    layout: OutputLayout,
    data: &[f32],
    dims: [usize; 2],
    thresholds: &[f32],
) -> Result<Vec<Candidate>, OutputShapeError> {
    let classes = thresholds.len();
    let fits = match layout {
        OutputLayout::Yolov8 => dims[0] == 4 + classes,
        OutputLayout::Yolov5 => dims[1] == 5 + classes,
        OutputLayout::End2end => dims[1] == 6,
    } && data.len() == dims[0] * dims[1];
    if !fits {
        return Err(OutputShapeError {
            layout: format!("{layout:?}"),
            dims,
            classes,
        });
    }
    Ok(match layout {
        OutputLayout::Yolov8 => yolov8(data, dims[1], thresholds),
        OutputLayout::Yolov5 => yolov5(data, dims[0], thresholds),
        OutputLayout::End2end => end2end(data, dims[0], thresholds),
    })
}

/// Index and value of the largest element.
fn best(values: impl Iterator<Item = f32>) -> (usize, f32) {
    values.enumerate().fold(
        (0, f32::NEG_INFINITY),
        |acc, (i, v)| if v > acc.1 { (i, v) } else { acc },
    )
}

/// `[4 + C, A]`, column per anchor: cx, cy, w, h, class scores.
fn yolov8(data: &[f32], anchors: usize, thresholds: &[f32]) -> Vec<Candidate> {
    let row = |r: usize| &data[r * anchors..(r + 1) * anchors];
    let (cx, cy, w, h) = (row(0), row(1), row(2), row(3));
    let mut out = Vec::new();
    for a in 0..anchors {
        let (class_id, score) = best((0..thresholds.len()).map(|c| row(4 + c)[a]));
        if score >= thresholds[class_id] {
            out.push(Candidate {
                class_id,
                score,
                bbox: BoxXyxy::from_centre(cx[a], cy[a], w[a], h[a]),
            });
        }
    }
    out
}

/// `[A, 5 + C]`, row per anchor: cx, cy, w, h, objectness, class probabilities.
fn yolov5(data: &[f32], anchors: usize, thresholds: &[f32]) -> Vec<Candidate> {
    let width = 5 + thresholds.len();
    let mut out = Vec::new();
    for a in 0..anchors {
        let r = &data[a * width..(a + 1) * width];
        let (class_id, prob) = best(r[5..].iter().copied());
        let score = r[4] * prob;
        if score >= thresholds[class_id] {
            out.push(Candidate {
                class_id,
                score,
                bbox: BoxXyxy::from_centre(r[0], r[1], r[2], r[3]),
            });
        }
    }
    out
}

/// `[K, 6]`: x1, y1, x2, y2, score, class id. Rows with a class id that is not a whole
/// number of a known class (padding rows of some exporters) are skipped.
fn end2end(data: &[f32], rows: usize, thresholds: &[f32]) -> Vec<Candidate> {
    let mut out = Vec::new();
    for r in data.chunks_exact(6).take(rows) {
        let class = r[5];
        if class < 0.0 || class.fract() != 0.0 || class as usize >= thresholds.len() {
            continue;
        }
        let class_id = class as usize;
        if r[4] >= thresholds[class_id] && r[4] > 0.0 {
            out.push(Candidate {
                class_id,
                score: r[4],
                bbox: BoxXyxy {
                    x1: r[0],
                    y1: r[1],
                    x2: r[2],
                    y2: r[3],
                },
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yolov8_picks_the_best_class_per_anchor() {
        // Two anchors, two classes. Anchor 0: class 1 at 0.8; anchor 1: class 0 at 0.2.
        let data = [
            10.0, 50.0, // cx
            20.0, 50.0, // cy
            4.0, 10.0, // w
            6.0, 10.0, // h
            0.1, 0.2, // class 0
            0.8, 0.1, // class 1
        ];
        let got =
            decode_candidates(OutputLayout::Yolov8, &data, [6, 2], &[0.3, 0.3]).expect("fits");
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].class_id, 1);
        assert_eq!(got[0].score, 0.8);
        assert_eq!(
            got[0].bbox,
            BoxXyxy {
                x1: 8.0,
                y1: 17.0,
                x2: 12.0,
                y2: 23.0
            }
        );
    }

    #[test]
    fn yolov5_multiplies_objectness() {
        let data = [10.0, 10.0, 2.0, 2.0, 0.5, 0.9, 0.1];
        let got =
            decode_candidates(OutputLayout::Yolov5, &data, [1, 7], &[0.4, 0.4]).expect("fits");
        assert_eq!(got.len(), 1);
        assert!((got[0].score - 0.45).abs() < 1e-6);
        let none =
            decode_candidates(OutputLayout::Yolov5, &data, [1, 7], &[0.5, 0.5]).expect("fits");
        assert!(none.is_empty());
    }

    #[test]
    fn end2end_skips_padding_and_unknown_classes() {
        let data = [
            1.0, 2.0, 3.0, 4.0, 0.9, 1.0, // kept
            0.0, 0.0, 0.0, 0.0, 0.0, 0.0, // padding
            1.0, 2.0, 3.0, 4.0, 0.9, 7.0, // unknown class
        ];
        let got =
            decode_candidates(OutputLayout::End2end, &data, [3, 6], &[0.1, 0.1]).expect("fits");
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].class_id, 1);
        assert_eq!(
            got[0].bbox,
            BoxXyxy {
                x1: 1.0,
                y1: 2.0,
                x2: 3.0,
                y2: 4.0
            }
        );
    }

    #[test]
    fn wrong_shape_is_an_error() {
        let err =
            decode_candidates(OutputLayout::Yolov8, &[0.0; 12], [6, 2], &[0.5; 3]).unwrap_err();
        assert_eq!(err.classes, 3);
        assert!(decode_candidates(OutputLayout::End2end, &[0.0; 10], [2, 5], &[0.5]).is_err());
    }
}
