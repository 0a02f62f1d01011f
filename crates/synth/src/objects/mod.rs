//! Object families: the threats the detector learns, the benign clutter it must ignore, and
//! the containers they travel in. Every builder works in millimetres and returns shapes
//! centred on their own origin; the scene decides pose and scale.

pub mod clutter;
pub mod containers;
pub mod goods;
pub mod hardware;
pub mod lookalikes;
pub mod weapons;

pub use super::shape::arc;
use super::{
    rng::Rng,
    shape::{Affine, Object},
};

/// One object of a threat group, with its place in the group and its class when labelled.
#[derive(Debug, Clone)]
pub struct Item {
    /// The object.
    pub object: Object,
    /// Object frame -> group frame.
    pub frame: Affine,
    /// Class id from [`crate::CLASSES`] when the item gets a label.
    pub class: Option<usize>,
}

/// Objects that travel together (a group of phones, a stack of banknote bundles).
#[derive(Debug, Clone, Default)]
pub struct Group {
    /// The members.
    pub items: Vec<Item>,
    /// One label around all labelled members instead of one each: for stacks whose members
    /// overlap so much that no one (person or model) can tell where one ends, such as
    /// banknote bundles or stacked drug bricks. An inspector flags the stack, not each piece.
    pub labelled_as_one: bool,
}

impl Group {
    /// A group of one labelled object.
    pub fn single(object: Object, class: usize) -> Self {
        Group {
            items: vec![Item {
                object,
                frame: Affine::IDENTITY,
                class: Some(class),
            }],
            labelled_as_one: false,
        }
    }

    /// Bounds of the whole group in its frame (millimetres).
    pub fn bounds(&self) -> [f32; 4] {
        let mut b = [f32::MAX, f32::MAX, f32::MIN, f32::MIN];
        for item in &self.items {
            let ob = item.object.bounds();
            for c in [
                [ob[0], ob[1]],
                [ob[2], ob[1]],
                [ob[0], ob[3]],
                [ob[2], ob[3]],
            ] {
                let q = item.frame.apply(c);
                b[0] = b[0].min(q[0]);
                b[1] = b[1].min(q[1]);
                b[2] = b[2].max(q[0]);
                b[3] = b[3].max(q[1]);
            }
        }
        if self.items.is_empty() {
            return [0.0; 4];
        }
        b
    }

    /// Re-centres the group frame on the middle of its bounds.
    pub fn centred(mut self) -> Self {
        let b = self.bounds();
        let shift = Affine::at(-(b[0] + b[2]) * 0.5, -(b[1] + b[3]) * 0.5, 0.0);
        for item in &mut self.items {
            item.frame = shift.then(item.frame);
        }
        self
    }
}

/// The closed outline of a rounded rectangle centred on the origin, as points (for rims,
/// zips and frames drawn as strokes).
pub fn rounded_rect_path(w: f32, h: f32, r: f32) -> Vec<[f32; 2]> {
    let r = r.min(w * 0.5).min(h * 0.5).max(0.0);
    let (hx, hy) = (w * 0.5 - r, h * 0.5 - r);
    let mut pts = Vec::new();
    let corners = [
        (hx, hy, 0.0f32),
        (-hx, hy, 90.0),
        (-hx, -hy, 180.0),
        (hx, -hy, 270.0),
    ];
    for (cx, cy, start) in corners {
        for i in 0..=5 {
            let a = (start + 90.0 * i as f32 / 5.0).to_radians();
            pts.push([cx + r * a.cos(), cy + r * a.sin()]);
        }
    }
    if let Some(first) = pts.first().copied() {
        pts.push(first);
    }
    pts
}

/// A zig-zag (springs) from `a` to `b` with `turns` and half-width `amp`.
pub fn zigzag(a: [f32; 2], b: [f32; 2], turns: usize, amp: f32) -> Vec<[f32; 2]> {
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let len = (dx * dx + dy * dy).sqrt().max(1e-3);
    let (nx, ny) = (-dy / len, dx / len);
    let n = turns * 2;
    (0..=n)
        .map(|i| {
            let t = i as f32 / n as f32;
            let s = if i == 0 || i == n {
                0.0
            } else if i % 2 == 0 {
                amp
            } else {
                -amp
            };
            [a[0] + dx * t + nx * s, a[1] + dy * t + ny * s]
        })
        .collect()
}

/// A smooth wandering curve (cables, straps) starting at `start`, `n` steps of `step` mm.
pub fn wander(
    rng: &mut Rng,
    start: [f32; 2],
    heading: f32,
    n: usize,
    step: f32,
    bend: f32,
) -> Vec<[f32; 2]> {
    let mut pts = vec![start];
    let mut h = heading;
    let mut turn = 0.0;
    let mut p = start;
    for _ in 0..n {
        turn = turn * 0.7 + rng.gauss(0.0, bend);
        h += turn;
        p = [p[0] + step * h.cos(), p[1] + step * h.sin()];
        pts.push(p);
    }
    pts
}

/// An irregular closed blob (bags, powders): a circle of radius `r` with wobbling edge.
pub fn blob(rng: &mut Rng, rx: f32, ry: f32, wobble: f32) -> Vec<[f32; 2]> {
    let n = 24;
    let phases: Vec<f32> = (0..3).map(|_| rng.angle()).collect();
    let amps: Vec<f32> = (0..3).map(|_| rng.range(0.0, wobble)).collect();
    (0..n)
        .map(|i| {
            let a = std::f32::consts::TAU * i as f32 / n as f32;
            let k = 1.0
                + amps[0] * (2.0 * a + phases[0]).sin()
                + amps[1] * (3.0 * a + phases[1]).sin()
                + amps[2] * (5.0 * a + phases[2]).sin();
            [rx * k * a.cos(), ry * k * a.sin()]
        })
        .collect()
}

/// Adds a long stroke as several parts of at most 16 segments each, so that each part's
/// bounds (and the rasteriser's work) stay small; returns nothing to chain on.
pub fn long_line(
    o: &mut Object,
    pts: &[[f32; 2]],
    r: f32,
    profile: super::shape::Profile,
    material: super::material::Material,
    density: f32,
) {
    const CHUNK: usize = 16;
    let mut i = 0;
    while i + 1 < pts.len() {
        let end = (i + CHUNK).min(pts.len() - 1);
        o.line(pts[i..=end].to_vec(), r, profile, material)
            .density(density);
        i = end;
    }
}

/// Points every `step` millimetres along a path (for teeth, stitches, rivets).
pub fn resample(pts: &[[f32; 2]], step: f32) -> Vec<([f32; 2], f32)> {
    let mut out = Vec::new();
    let mut carry = 0.0f32;
    for w in pts.windows(2) {
        let (dx, dy) = (w[1][0] - w[0][0], w[1][1] - w[0][1]);
        let len = (dx * dx + dy * dy).sqrt();
        if len <= 1e-6 {
            continue;
        }
        let heading = dy.atan2(dx);
        let mut s = carry;
        while s < len {
            let t = s / len;
            out.push(([w[0][0] + dx * t, w[0][1] + dy * t], heading));
            s += step;
        }
        carry = s - len;
    }
    out
}
