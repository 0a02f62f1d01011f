//! Composing one scan: tunnel and belt, a container, clutter, threats, labels, detector.

use super::{
    CLASSES,
    canvas::{Canvas, Footprint},
    detector,
    objects::{Group, clutter, containers, goods, hardware, lookalikes, weapons},
    rng::Rng,
    shape::Affine,
    visibility::{self, Visibility},
};
use xray_engine::imaging::PaletteName;

/// Share of an object's visible pixels that must fall inside the image for it to be labelled.
const MIN_VISIBLE_SHARE: f64 = 0.5;
/// Smallest label box side in pixels.
const MIN_BOX_PX: u32 = 4;
/// Default share of scans with nothing but benign clutter (hard negatives included).
pub const BENIGN_FRACTION: f32 = 0.25;
/// Relative frequency of each class among threat groups (phones and banknotes come in
/// groups of several labels, so they are drawn less often).
const CLASS_WEIGHTS: [f32; 7] = [1.4, 1.3, 1.0, 1.0, 0.9, 0.55, 0.6];
/// Palettes a scan may be rendered with, and how often.
const PALETTES: [(PaletteName, f32); 5] = [
    (PaletteName::Classic, 0.3),
    (PaletteName::HighContrast, 0.22),
    (PaletteName::Amber, 0.2),
    (PaletteName::Teal, 0.2),
    (PaletteName::Gray, 0.08),
];

/// What scans look like: frame sizes, scale, how many threats.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SceneOptions {
    /// Smallest image width in pixels.
    pub min_width: u32,
    /// Largest image width in pixels.
    pub max_width: u32,
    /// Share of scans with no threat at all: exactly this share of any run of consecutive
    /// scan indices (to within one scan), not a coin flip per scan.
    pub benign_fraction: f32,
    /// Most threat groups in one scan.
    pub max_threats: usize,
    /// Smallest scale, pixels per millimetre.
    pub min_pixels_per_mm: f32,
    /// Largest scale, pixels per millimetre.
    pub max_pixels_per_mm: f32,
}

impl Default for SceneOptions {
    fn default() -> Self {
        Self {
            min_width: 400,
            max_width: 1200,
            benign_fraction: BENIGN_FRACTION,
            max_threats: 4,
            min_pixels_per_mm: 0.6,
            max_pixels_per_mm: 1.6,
        }
    }
}

/// One labelled object: class id, its box in pixels `[x1, y1, x2, y2]` (x2, y2 exclusive) and
/// how plainly it shows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Label {
    /// Index into [`CLASSES`].
    pub class_id: usize,
    /// Box in pixels.
    pub bbox: [u32; 4],
    /// Its own attenuation against what lies over and under it.
    pub visibility: Visibility,
}

/// A label while the scan is drawn: its visible pixels' own attenuation, measured once
/// everything over and under it is in place.
struct PendingLabel {
    class_id: usize,
    bbox: [u32; 4],
    own: Vec<(u32, f32)>,
}

/// A generated scan with its ground truth.
#[derive(Debug, Clone)]
pub struct SynthScan {
    /// Data-set seed.
    pub seed: u64,
    /// Index within the data set.
    pub index: u64,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Interleaved (low, high) 16-bit transmissions; 65535 = air.
    pub samples: Vec<u16>,
    /// The palette chosen to render it.
    pub palette: PaletteName,
    /// Scale of the scan.
    pub pixels_per_mm: f32,
    /// Labelled threats.
    pub labels: Vec<Label>,
}

/// Generates scan `index` of the data set `seed`; the same arguments always give the same scan.
pub fn generate_scan(seed: u64, index: u64, opts: &SceneOptions) -> SynthScan {
    let mut rng = Rng::for_scan(seed, index);
    let benign = is_benign(index, opts.benign_fraction);
    let palette = PALETTES[rng.weighted(&PALETTES.map(|p| p.1))].0;

    // Container and frame: the bag fills most of the frame along the belt.
    let container = containers::container(&mut rng.fork());
    let min_w = opts.min_width.max(64);
    let max_w = opts.max_width.max(min_w);
    let fill = rng.range(0.7, 0.92);
    let w0 = rng.int(min_w as usize, max_w as usize) as f32;
    let ppm = (w0 * fill / container.size[0]).clamp(
        opts.min_pixels_per_mm,
        opts.max_pixels_per_mm.max(opts.min_pixels_per_mm),
    );
    let width = ((container.size[0] * ppm / fill) as u32).clamp(min_w, max_w);
    let tilt = if rng.chance(0.15) {
        std::f32::consts::PI
    } else {
        0.0
    } + rng.gauss(0.0, 0.025);
    // Height across the belt: the (slightly turned) bag plus a margin; rarely it is cut.
    let bag_h = (container.size[1] * tilt.cos().abs() + container.size[0] * tilt.sin().abs()) * ppm;
    let height = ((bag_h / rng.range(0.7, 0.92)) as u32)
        .clamp((width as f32 * 0.45) as u32, (width as f32 * 1.1) as u32)
        .max(32);
    let mut canvas = Canvas::new(width as usize, height as usize);
    draw_belt(&mut canvas, &mut rng);

    let slack_x = (width as f32 - container.size[0] * ppm).max(0.0) * 0.25;
    let slack_y = (height as f32 - bag_h).max(0.0) * 0.3;
    let bag_pose = Affine::new(
        width as f32 * 0.5 + rng.range(-slack_x, slack_x),
        height as f32 * 0.5 + rng.range(-slack_y, slack_y),
        tilt,
        ppm,
    );
    canvas.draw(&container.object, bag_pose, false);

    // A base layer of packed clothes over most of the inside, lying roughly square to the bag.
    let inner = container.inner;
    let tray = container.kind == containers::ContainerKind::Tray;
    let (cols, rows) = if tray {
        (0, 0)
    } else {
        (rng.int(2, 3), rng.int(1, 2))
    };
    for j in 0..rows {
        for i in 0..cols {
            if rng.chance(0.2) {
                continue;
            }
            let (cw, ch) = (inner[0] * 2.0 / cols as f32, inner[1] * 2.0 / rows as f32);
            let x = -inner[0] + cw * (i as f32 + 0.5) + rng.gauss(0.0, cw * 0.1);
            let y = -inner[1] + ch * (j as f32 + 0.5) + rng.gauss(0.0, ch * 0.1);
            let layer = clutter::garment(
                &mut rng.fork(),
                cw * rng.range(0.8, 1.1),
                ch * rng.range(0.8, 1.1),
            );
            let angle = rng.gauss(0.0, 0.12)
                + if rng.chance(0.5) {
                    std::f32::consts::PI
                } else {
                    0.0
                };
            canvas.draw(&layer, bag_pose.then(Affine::at(x, y, angle)), false);
        }
    }

    // Loose clutter anywhere inside, at any angle; sparser in parcels.
    let area = inner[0] * inner[1] * 4.0;
    let per_item = match container.kind {
        containers::ContainerKind::Parcel => rng.range(16_000.0, 35_000.0),
        containers::ContainerKind::Tray => f32::INFINITY,
        _ => rng.range(9_000.0, 20_000.0),
    };
    let n_clutter = if tray {
        0
    } else {
        ((area / per_item) as usize).clamp(3, 50)
    };
    if tray {
        // A tray holds a laptop or a tablet on its own, or a jacket, a bag of liquids.
        let item = containers::tray_content(&mut rng.fork());
        let pose = bag_pose.then(Affine::at(
            rng.gauss(0.0, inner[0] * 0.05),
            rng.gauss(0.0, inner[1] * 0.05),
            rng.gauss(0.0, 0.05),
        ));
        canvas.draw(&item, pose, false);
    }
    for _ in 0..n_clutter {
        let item = clutter::item(&mut rng.fork());
        let pose = bag_pose.then(place(&mut rng, inner, item.bounds()));
        canvas.draw(&item, pose, false);
    }
    // Small benign metal from pockets (keys, coins, cables, earphones, pens, pulls), and hard
    // negatives (staplers, clippers, tools, buckles, lighters, chargers...) in every bag.
    let n_small = if tray {
        rng.int(0, 3)
    } else {
        ((area / rng.range(12_000.0, 25_000.0)) as usize).clamp(3, 18)
    };
    for _ in 0..n_small {
        let item = hardware::pocket_metal(&mut rng.fork());
        let pose = bag_pose.then(place(&mut rng, inner, item.bounds()));
        canvas.draw(&item, pose, false);
    }
    let n_hard = if tray { rng.int(0, 1) } else { rng.int(1, 3) };
    for _ in 0..n_hard {
        let item = lookalikes::any(&mut rng.fork());
        let pose = bag_pose.then(place(&mut rng, inner, item.bounds()));
        canvas.draw(&item, pose, false);
    }

    // Threats.
    let mut pending = Vec::new();
    if !benign {
        let n = 1 + rng
            .weighted(&[0.45, 0.3, 0.15, 0.1])
            .min(opts.max_threats.max(1) - 1);
        for _ in 0..n {
            let class = rng.weighted(&CLASS_WEIGHTS);
            let group = threat(class, &mut rng.fork());
            let mut where_ = place(&mut rng, inner, group.bounds());
            if rng.chance(0.5) {
                where_ = where_.mirrored_y();
            }
            draw_group(&mut canvas, &group, bag_pose.then(where_), &mut pending);
        }
    }
    let labels = pending
        .into_iter()
        .map(|mut p| Label {
            class_id: p.class_id,
            bbox: p.bbox,
            visibility: visibility::measure(&mut p.own, &canvas.high),
        })
        .collect();

    let samples = detector::expose(&canvas, &mut rng.fork());
    SynthScan {
        seed,
        index,
        width,
        height,
        samples,
        palette,
        pixels_per_mm: ppm,
        labels,
    }
}

/// Draws a threat group and labels its labelled members: one label each, or one around them
/// all when the group is labelled as one.
fn draw_group(canvas: &mut Canvas, group: &Group, pose: Affine, labels: &mut Vec<PendingLabel>) {
    let (width, height) = (canvas.width as u32, canvas.height as u32);
    let mut whole: Option<(usize, Footprint)> = None;
    let mut whole_own = Vec::new();
    for item in &group.items {
        let pose = pose.then(item.frame);
        let Some(class_id) = item.class else {
            canvas.draw(&item.object, pose, false);
            continue;
        };
        if group.labelled_as_one {
            let fp = canvas.draw_labelled(&item.object, pose, &mut whole_own);
            let so_far = whole.map_or_else(Footprint::empty, |(_, w)| w);
            whole = Some((class_id, so_far.union(&fp)));
        } else {
            let mut own = Vec::new();
            let fp = canvas.draw_labelled(&item.object, pose, &mut own);
            if let Some(bbox) = label_box(&fp, width, height) {
                labels.push(PendingLabel {
                    class_id,
                    bbox,
                    own,
                });
            }
        }
    }
    if let Some((class_id, fp)) = whole
        && let Some(bbox) = label_box(&fp, width, height)
    {
        labels.push(PendingLabel {
            class_id,
            bbox,
            own: whole_own,
        });
    }
}

/// The builder for a threat class.
fn threat(class: usize, rng: &mut Rng) -> Group {
    debug_assert!(class < CLASSES.len());
    match class {
        0 => weapons::firearm(rng),
        1 => weapons::knife(rng),
        2 => weapons::ammunition(rng),
        3 => goods::drug_package(rng),
        4 => goods::cigarettes(rng),
        5 => goods::phones(rng),
        _ => goods::currency(rng),
    }
}

/// A pose inside the container's inner region (half sizes `inner`) for something with
/// `bounds`, at any angle; fully inside where it fits.
fn place(rng: &mut Rng, inner: [f32; 2], bounds: [f32; 4]) -> Affine {
    let angle = rng.angle();
    let (hw, hh) = ((bounds[2] - bounds[0]) * 0.5, (bounds[3] - bounds[1]) * 0.5);
    let (s, c) = angle.sin_cos();
    let ex = (hw * c).abs() + (hh * s).abs();
    let ey = (hw * s).abs() + (hh * c).abs();
    // Keep most of it inside, but let big items reach the walls.
    let mx = (inner[0] - ex * 0.7).max(inner[0] * 0.4);
    let my = (inner[1] - ey * 0.7).max(inner[1] * 0.4);
    Affine::at(rng.range(-mx, mx), rng.range(-my, my), angle)
}

/// The label box of a drawn object, unless it is mostly outside the image or too small.
fn label_box(fp: &Footprint, width: u32, height: u32) -> Option<[u32; 4]> {
    if fp.total == 0 || (fp.inside as f64) < MIN_VISIBLE_SHARE * fp.total as f64 {
        return None;
    }
    let b = fp.clipped(width as usize, height as usize)?;
    (b[2] - b[0] >= MIN_BOX_PX && b[3] - b[1] >= MIN_BOX_PX).then_some(b)
}

/// Whether scan `index` is one of the benign share: exactly `fraction` of any run of
/// consecutive indices, to within one scan.
pub fn is_benign(index: u64, fraction: f32) -> bool {
    let f = f64::from(fraction.clamp(0.0, 1.0));
    ((index + 1) as f64 * f).floor() > (index as f64 * f).floor()
}

/// The conveyor belt: a rubber band across the frame, thin enough to leave the image near
/// white with a faint tint, with thicker edges.
fn draw_belt(canvas: &mut Canvas, rng: &mut Rng) {
    let h = canvas.height;
    let margin = (h as f32 * rng.range(0.0, 0.06)) as usize;
    let (y0, y1) = (
        margin,
        h.saturating_sub(margin + (h as f32 * rng.range(0.0, 0.04)) as usize),
    );
    let (mu_l, mu_h) = crate::material::Material::Rubber.mu();
    // Millimetres of rubber: a faint tint over most of the frame.
    let base = rng.range(0.6, 2.2);
    let edge = (h / 80).max(2);
    for y in y0..y1 {
        let t = if y < y0 + edge || y + edge >= y1 {
            base * 2.5
        } else {
            base
        };
        let row = &mut canvas.high[y * canvas.width..(y + 1) * canvas.width];
        row.iter_mut().for_each(|v| *v += t * mu_h);
        let row = &mut canvas.low[y * canvas.width..(y + 1) * canvas.width];
        row.iter_mut().for_each(|v| *v += t * mu_l);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> SceneOptions {
        SceneOptions {
            min_width: 400,
            max_width: 600,
            ..SceneOptions::default()
        }
    }

    #[test]
    fn same_seed_same_scan() {
        let a = generate_scan(5, 11, &opts());
        let b = generate_scan(5, 11, &opts());
        assert_eq!(a.samples, b.samples);
        assert_eq!(a.labels, b.labels);
        assert_eq!(a.palette, b.palette);
        let c = generate_scan(5, 12, &opts());
        assert_ne!(a.samples, c.samples);
    }

    #[test]
    fn sizes_and_labels_are_consistent() {
        for i in 0..12 {
            let s = generate_scan(3, i, &opts());
            assert_eq!(s.samples.len(), (s.width * s.height * 2) as usize);
            assert!((400..=600).contains(&s.width));
            for l in &s.labels {
                assert!(l.class_id < CLASSES.len());
                assert!(l.bbox[0] < l.bbox[2] && l.bbox[2] <= s.width);
                assert!(l.bbox[1] < l.bbox[3] && l.bbox[3] <= s.height);
            }
        }
    }

    #[test]
    fn every_label_carries_a_measured_visibility() {
        let mut labels = 0;
        for i in 0..12 {
            for l in generate_scan(3, i, &opts()).labels {
                let v = l.visibility;
                // Each visible pixel took more than the visibility floor from the object.
                assert!(v.contrast > 0.012, "{v:?}");
                assert!(v.cover >= 0.0 && v.clutter >= 0.0, "{v:?}");
                assert!(v.contrast.is_finite() && v.cover.is_finite() && v.clutter.is_finite());
                labels += 1;
            }
        }
        assert!(labels >= 10, "{labels} labels");
    }

    #[test]
    fn every_scan_carries_small_benign_metal() {
        // Benign scans too: zips, pulls, buckles, rings, keys, coins, cables. Count the pixels
        // the palette reads as metal (ratio above 1.9) that are not too dark to read.
        let all_benign = SceneOptions {
            benign_fraction: 1.0,
            ..opts()
        };
        for i in 0..8 {
            let s = generate_scan(21, i, &all_benign);
            assert!(s.labels.is_empty());
            let metal = s
                .samples
                .chunks_exact(2)
                .filter(|p| {
                    let (l, h) = (
                        -(f32::from(p[0].max(1)) / 65535.0).ln(),
                        -(f32::from(p[1].max(1)) / 65535.0).ln(),
                    );
                    h > 0.1 && h < 4.0 && l / h > 1.9
                })
                .count();
            assert!(metal > 150, "scan {i}: {metal} metal pixels");
        }
    }

    #[test]
    fn the_benign_share_is_fixed() {
        for f in [0.0f32, 0.25, 0.3, 1.0] {
            for start in [0u64, 7, 1000] {
                let n = (start..start + 200).filter(|&i| is_benign(i, f)).count() as f32;
                assert!((n - 200.0 * f).abs() <= 1.0, "{f}: {n}");
            }
        }
    }

    #[test]
    fn benign_scans_have_no_labels() {
        let all_benign = SceneOptions {
            benign_fraction: 1.0,
            ..opts()
        };
        for i in 0..6 {
            assert!(generate_scan(9, i, &all_benign).labels.is_empty());
        }
        let no_benign = SceneOptions {
            benign_fraction: 0.0,
            ..opts()
        };
        let labelled = (0..6)
            .filter(|&i| !generate_scan(9, i, &no_benign).labels.is_empty())
            .count();
        assert!(labelled >= 5, "threat scans carry labels ({labelled}/6)");
    }

    /// Every clearly drawn pixel of the canvas lies inside box `b`.
    fn assert_holds_drawn_pixels(canvas: &Canvas, b: [u32; 4]) {
        let width = canvas.width as u32;
        for y in 0..canvas.height as u32 {
            for x in 0..width {
                if canvas.high[(y * width + x) as usize] > 0.05 {
                    assert!(
                        x >= b[0] && x < b[2] && y >= b[1] && y < b[3],
                        "({x},{y}) outside {b:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn label_covers_the_visible_object() {
        // A lone knife on an empty canvas: its box holds every pixel it darkened.
        let mut rng = Rng::new(4);
        let group = weapons::knife(&mut rng);
        let mut canvas = Canvas::new(400, 300);
        let pose = Affine::new(200.0, 150.0, 0.6, 1.2);
        let item = &group.items[0];
        let fp = canvas.draw(&item.object, pose.then(item.frame), true);
        let b = label_box(&fp, 400, 300).expect("knife inside the image");
        assert_holds_drawn_pixels(&canvas, b);
        // And the box is tight: its edges touch drawn pixels.
        let col_has = |x: u32| (b[1]..b[3]).any(|y| canvas.high[(y * 400 + x) as usize] > 0.0);
        assert!(col_has(b[0]) && col_has(b[2] - 1));
    }

    #[test]
    fn a_stack_labelled_as_one_gets_one_box_around_all_of_it() {
        // Banknote bundles: one currency label that holds every bundle's pixels; phones
        // (labelled each) get one label a phone.
        let mut canvas = Canvas::new(900, 700);
        let pose = Affine::new(450.0, 350.0, 0.3, 1.0);
        let cash = goods::currency(&mut Rng::new(8));
        assert!(cash.labelled_as_one && cash.items.len() >= 2);
        let mut labels = Vec::new();
        draw_group(&mut canvas, &cash, pose, &mut labels);
        assert_eq!(labels.len(), 1);
        assert_eq!(labels[0].class_id, 6);
        let b = labels[0].bbox;
        assert_holds_drawn_pixels(&canvas, b);
        let phones = goods::phones(&mut Rng::new(8));
        let mut labels = Vec::new();
        draw_group(&mut Canvas::new(900, 700), &phones, pose, &mut labels);
        assert_eq!(labels.len(), phones.items.len());
    }
}
