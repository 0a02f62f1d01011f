//! Class-aware non-maximum suppression: of boxes of one class that overlap too much, keep
//! the most confident.

use super::Candidate;
use xray_types::BoxXyxy;

/// Intersection over union of two boxes (0 when either is empty).
pub fn iou(a: &BoxXyxy, b: &BoxXyxy) -> f32 {
    let inter = BoxXyxy {
        x1: a.x1.max(b.x1),
        y1: a.y1.max(b.y1),
        x2: a.x2.min(b.x2),
        y2: a.y2.min(b.y2),
    }
    .area();
    let union = a.area() + b.area() - inter;
    if union <= 0.0 { 0.0 } else { inter / union }
}

/// Keeps, per class, each box that overlaps no more confident kept box of its class by more
/// than that class's threshold (`class_iou(class_id)`); most confident first, at most
/// `max_detections`.
pub fn non_max_suppression(
    mut candidates: Vec<Candidate>,
    class_iou: impl Fn(usize) -> f32,
    max_detections: usize,
) -> Vec<Candidate> {
    candidates.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut kept: Vec<Candidate> = Vec::new();
    for c in candidates {
        if kept.len() >= max_detections {
            break;
        }
        // IoU never exceeds 1, so a limit of 1 or more (end2end outputs) suppresses nothing
        // and the overlaps need not be computed.
        let limit = class_iou(c.class_id);
        let suppressed = limit < 1.0
            && kept
                .iter()
                .any(|k| k.class_id == c.class_id && iou(&k.bbox, &c.bbox) > limit);
        if !suppressed {
            kept.push(c);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(class_id: usize, score: f32, x1: f32, y1: f32, x2: f32, y2: f32) -> Candidate {
        Candidate {
            class_id,
            score,
            bbox: BoxXyxy { x1, y1, x2, y2 },
        }
    }

    #[test]
    fn iou_of_known_boxes() {
        let a = BoxXyxy {
            x1: 0.0,
            y1: 0.0,
            x2: 10.0,
            y2: 10.0,
        };
        let b = BoxXyxy {
            x1: 5.0,
            y1: 0.0,
            x2: 15.0,
            y2: 10.0,
        };
        assert!((iou(&a, &b) - 50.0 / 150.0).abs() < 1e-6);
        assert_eq!(iou(&a, &a), 1.0);
        let far = BoxXyxy {
            x1: 20.0,
            y1: 20.0,
            x2: 30.0,
            y2: 30.0,
        };
        assert_eq!(iou(&a, &far), 0.0);
    }

    #[test]
    fn suppresses_within_a_class_only() {
        let kept = non_max_suppression(
            vec![
                cand(0, 0.8, 1.0, 1.0, 11.0, 11.0), // overlaps the 0.9 box: gone
                cand(0, 0.9, 0.0, 0.0, 10.0, 10.0),
                cand(1, 0.7, 0.0, 0.0, 10.0, 10.0), // same box, other class: kept
                cand(0, 0.6, 50.0, 50.0, 60.0, 60.0), // elsewhere: kept
            ],
            |_| 0.5,
            100,
        );
        let scores: Vec<f32> = kept.iter().map(|c| c.score).collect();
        assert_eq!(scores, vec![0.9, 0.7, 0.6]);
    }

    #[test]
    fn each_class_has_its_own_overlap_limit() {
        // Two phones lying half over each other overlap by IoU 0.6: kept as two at a phone
        // limit of 0.7; two knife boxes overlapping as much are one knife at 0.5.
        let overlapping = |class_id| {
            vec![
                cand(class_id, 0.9, 0.0, 0.0, 10.0, 10.0),
                cand(class_id, 0.8, 2.5, 0.0, 12.5, 10.0), // IoU 75/125 = 0.6
            ]
        };
        let (knife, phone) = (1, 5);
        let limit = |class_id| if class_id == phone { 0.7 } else { 0.5 };
        let mut both = overlapping(knife);
        both.extend(overlapping(phone));
        let kept = non_max_suppression(both, limit, 100);
        let count = |class_id| kept.iter().filter(|c| c.class_id == class_id).count();
        assert_eq!(count(knife), 1);
        assert_eq!(count(phone), 2);
    }

    #[test]
    fn caps_the_count() {
        let many: Vec<Candidate> = (0..10)
            .map(|i| {
                cand(
                    0,
                    i as f32 / 10.0,
                    i as f32 * 20.0,
                    0.0,
                    i as f32 * 20.0 + 10.0,
                    10.0,
                )
            })
            .collect();
        let kept = non_max_suppression(many, |_| 0.5, 3);
        assert_eq!(kept.len(), 3);
        assert_eq!(kept[0].score, 0.9);
    }
}
