//! Detection metrics as the object-detection literature reports them: per-class average
//! precision (COCO's 101-point interpolation) at IoU 0.5 and averaged over IoU 0.50:0.95, and
//! precision and recall at the thresholds a model ships with.

use super::visibility::Band;
use xray_engine::detect::iou;
use xray_types::BoxXyxy;

/// IoU thresholds of mAP@0.5:0.95.
pub const COCO_IOUS: [f32; 10] = [0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95];

/// A scored box the model reported.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Predicted {
    pub class: usize,
    pub score: f32,
    pub bbox: BoxXyxy,
}

/// A labelled object.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Truth {
    pub class: usize,
    pub bbox: BoxXyxy,
    /// How plainly it shows, where the set says so.
    pub band: Option<Band>,
}

/// One image's ground truth and what the model said about it.
#[derive(Debug, Clone, Default)]
pub struct ImageOutcome {
    pub truths: Vec<Truth>,
    pub predictions: Vec<Predicted>,
}

/// For one class at one IoU: each prediction (by falling score) true or false positive, and
/// how many objects there are.
struct Ranked {
    scores: Vec<f32>,
    true_positive: Vec<bool>,
    objects: usize,
}

/// Greedy matching, highest score first, each prediction to the unmatched object of its class
/// it overlaps most, if that overlap reaches `min_iou`.
fn rank(images: &[ImageOutcome], class: usize, min_iou: f32, min_score: f32) -> Ranked {
    let mut order: Vec<(f32, usize, usize)> = Vec::new();
    let mut objects = 0;
    for (i, image) in images.iter().enumerate() {
        objects += image.truths.iter().filter(|t| t.class == class).count();
        for (p, pred) in image.predictions.iter().enumerate() {
            if pred.class == class && pred.score >= min_score {
                order.push((pred.score, i, p));
            }
        }
    }
    order.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let mut matched: Vec<Vec<bool>> = images.iter().map(|i| vec![false; i.truths.len()]).collect();
    let mut true_positive = Vec::with_capacity(order.len());
    for &(_, i, p) in &order {
        let pred = &images[i].predictions[p];
        let best = images[i]
            .truths
            .iter()
            .enumerate()
            .filter(|(t, truth)| truth.class == class && !matched[i][*t])
            .map(|(t, truth)| (t, iou(&pred.bbox, &truth.bbox)))
            .filter(|(_, overlap)| *overlap >= min_iou)
            .max_by(|a, b| a.1.total_cmp(&b.1));
        if let Some((t, _)) = best {
            matched[i][t] = true;
        }
        true_positive.push(best.is_some());
    }
    Ranked {
        scores: order.iter().map(|o| o.0).collect(),
        true_positive,
        objects,
    }
}

/// Average precision of `class` at `min_iou`, COCO-style: the precision envelope sampled at
/// 101 recall points. `None` when the set has no object of the class.
pub fn average_precision(images: &[ImageOutcome], class: usize, min_iou: f32) -> Option<f64> {
    let ranked = rank(images, class, min_iou, f32::NEG_INFINITY);
    if ranked.objects == 0 {
        return None;
    }
    let mut precision = Vec::with_capacity(ranked.scores.len());
    let mut recall = Vec::with_capacity(ranked.scores.len());
    let mut tp = 0usize;
    for (n, &hit) in ranked.true_positive.iter().enumerate() {
        tp += usize::from(hit);
        precision.push(tp as f64 / (n + 1) as f64);
        recall.push(tp as f64 / ranked.objects as f64);
    }
    // Envelope: the best precision at this recall or any higher one.
    for k in (0..precision.len().saturating_sub(1)).rev() {
        precision[k] = precision[k].max(precision[k + 1]);
    }
    let mut sum = 0.0;
    for step in 0..=100 {
        let r = step as f64 / 100.0;
        let at = recall.partition_point(|&x| x < r - 1e-12);
        sum += precision.get(at).copied().unwrap_or(0.0);
    }
    Some(sum / 101.0)
}

/// Mean of `average_precision` over [`COCO_IOUS`].
pub fn average_precision_50_95(images: &[ImageOutcome], class: usize) -> Option<f64> {
    let aps: Option<Vec<f64>> = COCO_IOUS
        .iter()
        .map(|&t| average_precision(images, class, t))
        .collect();
    aps.map(|a| a.iter().sum::<f64>() / a.len() as f64)
}

/// Precision and recall at IoU 0.5 of the predictions at or over `threshold`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AtThreshold {
    pub precision: Option<f64>,
    pub recall: Option<f64>,
    pub objects: usize,
    pub reported: usize,
}

pub fn at_threshold(images: &[ImageOutcome], class: usize, threshold: f32) -> AtThreshold {
    let ranked = rank(images, class, 0.5, threshold);
    let tp = ranked.true_positive.iter().filter(|&&t| t).count();
    let reported = ranked.true_positive.len();
    AtThreshold {
        precision: (reported > 0).then(|| tp as f64 / reported as f64),
        recall: (ranked.objects > 0).then(|| tp as f64 / ranked.objects as f64),
        objects: ranked.objects,
        reported,
    }
}

/// What became of one class's labelled objects at the shipped thresholds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fate {
    /// Found by a box of their own class (IoU >= 0.5, at or over its threshold).
    pub found: usize,
    /// Not found, but covered by a box of another class (index: that class): the model took
    /// them for something else.
    pub taken_for: Vec<usize>,
    /// No box of any class over them.
    pub missed: usize,
}

impl Fate {
    /// Labelled objects counted: found, taken for another class or missed.
    pub fn objects(&self) -> usize {
        self.found + self.missed + self.taken_for.iter().sum::<usize>()
    }
}

/// For every class, what became of its labelled objects: found, taken for another class (the
/// other-class box overlapping most, IoU >= 0.5, over that class's threshold), or missed.
/// "Found" is the rule an inspector would apply (any box of the class on it), not AP's
/// one-to-one matching.
pub fn fates(images: &[ImageOutcome], thresholds: &[f32]) -> Vec<Fate> {
    fates_where(images, thresholds, |_| true)
}

/// [`fates`] of the labelled objects `keep` picks (all boxes still count).
pub fn fates_where(
    images: &[ImageOutcome],
    thresholds: &[f32],
    keep: impl Fn(&Truth) -> bool,
) -> Vec<Fate> {
    let classes = thresholds.len();
    let mut fates = vec![
        Fate {
            taken_for: vec![0; classes],
            ..Fate::default()
        };
        classes
    ];
    let shown = |p: &&Predicted| thresholds.get(p.class).is_some_and(|&t| p.score >= t);
    for image in images {
        for truth in image.truths.iter().filter(|t| t.class < classes && keep(t)) {
            let fate = &mut fates[truth.class];
            let over: Vec<(&Predicted, f32)> = image
                .predictions
                .iter()
                .filter(shown)
                .map(|p| (p, iou(&p.bbox, &truth.bbox)))
                .filter(|(_, overlap)| *overlap >= 0.5)
                .collect();
            if over.iter().any(|(p, _)| p.class == truth.class) {
                fate.found += 1;
            } else if let Some((p, _)) = over.iter().max_by(|a, b| a.1.total_cmp(&b.1)) {
                fate.taken_for[p.class] += 1;
            } else {
                fate.missed += 1;
            }
        }
    }
    fates
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(x1: f32, y1: f32, x2: f32, y2: f32) -> BoxXyxy {
        BoxXyxy { x1, y1, x2, y2 }
    }

    fn truth(bbox: BoxXyxy) -> Truth {
        Truth {
            class: 0,
            bbox,
            band: None,
        }
    }

    fn pred(score: f32, bbox: BoxXyxy) -> Predicted {
        Predicted {
            class: 0,
            score,
            bbox,
        }
    }

    #[test]
    fn perfect_detections_score_one() {
        let boxes = [b(0., 0., 10., 10.), b(20., 20., 40., 30.)];
        let images = vec![ImageOutcome {
            truths: boxes.iter().copied().map(truth).collect(),
            predictions: boxes.iter().map(|&x| pred(0.9, x)).collect(),
        }];
        assert_eq!(average_precision(&images, 0, 0.5), Some(1.0));
        assert_eq!(average_precision_50_95(&images, 0), Some(1.0));
        assert_eq!(
            average_precision(&images, 1, 0.5),
            None,
            "no object of class 1"
        );
    }

    #[test]
    fn a_false_positive_between_two_hits() {
        // Ranked: hit (0.9), miss (0.8), hit (0.7). Recall 0.5 at precision 1, recall 1 at
        // precision 2/3: 51 of the 101 recall points at 1, 50 at 2/3.
        let images = vec![ImageOutcome {
            truths: vec![truth(b(0., 0., 10., 10.)), truth(b(50., 50., 60., 60.))],
            predictions: vec![
                pred(0.9, b(0., 0., 10., 10.)),
                pred(0.8, b(100., 100., 110., 110.)),
                pred(0.7, b(50., 50., 60., 60.)),
            ],
        }];
        let ap = average_precision(&images, 0, 0.5).expect("has objects");
        let want = (51.0 + 50.0 * 2.0 / 3.0) / 101.0;
        assert!((ap - want).abs() < 1e-9, "{ap} vs {want}");
        let at = at_threshold(&images, 0, 0.75);
        assert_eq!((at.precision, at.recall), (Some(0.5), Some(0.5)));
    }

    #[test]
    fn a_duplicate_is_a_false_positive_and_loose_boxes_fail_strict_ious() {
        let images = vec![ImageOutcome {
            truths: vec![truth(b(0., 0., 10., 10.))],
            // IoU 0.81 with the object: a hit up to IoU 0.8, a miss above.
            predictions: vec![
                pred(0.9, b(0., 0., 10., 8.1)),
                pred(0.8, b(0., 0., 10., 10.)),
            ],
        }];
        assert_eq!(average_precision(&images, 0, 0.5), Some(1.0));
        // At 0.85 the first misses, the second hits at precision 1/2.
        let strict = average_precision(&images, 0, 0.85).expect("has objects");
        assert!((strict - 0.5).abs() < 1e-9, "{strict}");
    }

    #[test]
    fn classes_do_not_match_each_other() {
        let images = vec![ImageOutcome {
            truths: vec![truth(b(0., 0., 10., 10.))],
            predictions: vec![Predicted {
                class: 1,
                score: 0.9,
                bbox: b(0., 0., 10., 10.),
            }],
        }];
        assert_eq!(average_precision(&images, 0, 0.5), Some(0.0));
    }

    #[test]
    fn fates_tell_found_from_taken_for_another_class_from_missed() {
        let image = ImageOutcome {
            truths: vec![
                Truth {
                    class: 0,
                    bbox: b(0.0, 0.0, 10.0, 10.0),
                    band: Some(Band::Plain),
                },
                Truth {
                    class: 0,
                    bbox: b(20.0, 0.0, 30.0, 10.0),
                    band: Some(Band::Faint),
                },
                Truth {
                    class: 0,
                    bbox: b(40.0, 0.0, 50.0, 10.0),
                    band: Some(Band::Hidden),
                },
                Truth {
                    class: 1,
                    bbox: b(60.0, 0.0, 70.0, 10.0),
                    band: None,
                },
            ],
            predictions: vec![
                // Found, though a class-1 box overlaps it too.
                Predicted {
                    class: 0,
                    score: 0.9,
                    bbox: b(0.0, 0.0, 10.0, 10.0),
                },
                Predicted {
                    class: 1,
                    score: 0.9,
                    bbox: b(1.0, 0.0, 10.0, 10.0),
                },
                // Taken for class 1; the class-0 box under its threshold does not count.
                Predicted {
                    class: 1,
                    score: 0.8,
                    bbox: b(20.0, 0.0, 30.0, 10.0),
                },
                Predicted {
                    class: 0,
                    score: 0.1,
                    bbox: b(20.0, 0.0, 30.0, 10.0),
                },
                // Overlapping too little: missed.
                Predicted {
                    class: 1,
                    score: 0.9,
                    bbox: b(45.0, 0.0, 55.0, 10.0),
                },
            ],
        };
        let images = [image];
        // Split by band: the found one is plain, the taken one faint, the missed one hidden.
        let by = |band| fates_where(&images, &[0.5, 0.5], move |t| t.band == Some(band))[0].clone();
        assert_eq!((by(Band::Plain).found, by(Band::Plain).missed), (1, 0));
        assert_eq!(by(Band::Faint).taken_for, vec![0, 1]);
        assert_eq!((by(Band::Hidden).found, by(Band::Hidden).missed), (0, 1));
        let fates = fates(&images, &[0.5, 0.5]);
        assert_eq!(
            fates[0],
            Fate {
                found: 1,
                taken_for: vec![0, 1],
                missed: 1
            }
        );
        assert_eq!(
            fates[1],
            Fate {
                found: 0,
                taken_for: vec![0, 0],
                missed: 1
            }
        );
    }
}
