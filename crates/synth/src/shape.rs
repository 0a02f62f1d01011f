//! Object geometry: 2-D shapes with a thickness profile (the path length an X-ray takes
//! through the part), each made of one material, grouped into objects in millimetres.
//!
//! Shapes are signed distance functions, so that rotation, anti-aliasing and rounded
//! thickness profiles all come from one number per pixel.

use super::material::Material;

/// A 2-D affine map `(x, y) -> (a x + b y + tx, c x + d y + ty)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Affine {
    pub a: f32,
    pub b: f32,
    pub c: f32,
    pub d: f32,
    pub tx: f32,
    pub ty: f32,
}

impl Affine {
    /// The identity.
    pub const IDENTITY: Affine = Affine {
        a: 1.0,
        b: 0.0,
        c: 0.0,
        d: 1.0,
        tx: 0.0,
        ty: 0.0,
    };

    /// Rotation by `angle` radians, then uniform `scale`, then translation to `(x, y)`.
    pub fn new(x: f32, y: f32, angle: f32, scale: f32) -> Self {
        let (s, c) = angle.sin_cos();
        Affine {
            a: c * scale,
            b: -s * scale,
            c: s * scale,
            d: c * scale,
            tx: x,
            ty: y,
        }
    }

    /// Rotation then translation, no scale.
    pub fn at(x: f32, y: f32, angle: f32) -> Self {
        Self::new(x, y, angle, 1.0)
    }

    /// Mirror image along the local y axis (flips the object over).
    pub fn mirrored_y(self) -> Self {
        Affine {
            b: -self.b,
            d: -self.d,
            ..self
        }
    }

    /// `self` after `inner`: maps through `inner` first.
    pub fn then(self, inner: Affine) -> Affine {
        Affine {
            a: self.a * inner.a + self.b * inner.c,
            b: self.a * inner.b + self.b * inner.d,
            c: self.c * inner.a + self.d * inner.c,
            d: self.c * inner.b + self.d * inner.d,
            tx: self.a * inner.tx + self.b * inner.ty + self.tx,
            ty: self.c * inner.tx + self.d * inner.ty + self.ty,
        }
    }

    /// Applies the map to a point.
    #[inline]
    pub fn apply(&self, p: [f32; 2]) -> [f32; 2] {
        [
            self.a * p[0] + self.b * p[1] + self.tx,
            self.c * p[0] + self.d * p[1] + self.ty,
        ]
    }

    /// The inverse map (identity when singular: a degenerate scale draws nothing useful anyway).
    pub fn inverse(&self) -> Affine {
        let det = self.a * self.d - self.b * self.c;
        if det.abs() < 1e-12 {
            return Affine::IDENTITY;
        }
        let inv = 1.0 / det;
        let a = self.d * inv;
        let b = -self.b * inv;
        let c = -self.c * inv;
        let d = self.a * inv;
        Affine {
            a,
            b,
            c,
            d,
            tx: -(a * self.tx + b * self.ty),
            ty: -(c * self.tx + d * self.ty),
        }
    }

    /// The uniform scale of the map (square root of the determinant's size).
    pub fn scale(&self) -> f32 {
        (self.a * self.d - self.b * self.c).abs().sqrt()
    }
}

/// A 2-D outline in a part's own frame (millimetres).
#[derive(Debug, Clone)]
pub enum Shape {
    /// Rectangle centred on the origin with half sizes and a corner radius.
    Rect { hx: f32, hy: f32, r: f32 },
    /// Ellipse centred on the origin with half axes.
    Ellipse { a: f32, b: f32 },
    /// Closed polygon (any winding).
    Polygon(Vec<[f32; 2]>),
    /// A stroke of radius `r` along the points (wires, tubes, straps, blades of springs).
    Polyline { pts: Vec<[f32; 2]>, r: f32 },
}

impl Shape {
    /// Signed distance in millimetres: negative inside.
    #[inline]
    pub fn sdf(&self, p: [f32; 2]) -> f32 {
        match self {
            Shape::Rect { hx, hy, r } => {
                let qx = p[0].abs() - (hx - r);
                let qy = p[1].abs() - (hy - r);
                let ox = qx.max(0.0);
                let oy = qy.max(0.0);
                (ox * ox + oy * oy).sqrt() + qx.max(qy).min(0.0) - r
            }
            Shape::Ellipse { a, b } => {
                // Inigo Quilez's cheap approximation: exact on the axes, close elsewhere.
                let k0 = ((p[0] / a).powi(2) + (p[1] / b).powi(2)).sqrt();
                let k1 = ((p[0] / (a * a)).powi(2) + (p[1] / (b * b)).powi(2)).sqrt();
                if k1 < 1e-9 {
                    -a.min(*b)
                } else {
                    k0 * (k0 - 1.0) / k1
                }
            }
            Shape::Polygon(v) => polygon_sdf(v, p),
            Shape::Polyline { pts, r } => polyline_distance(pts, p) - r,
        }
    }

    /// For strokes and polygons: the segments that can be nearest to any point within
    /// `radius` of `centre` (whose signed distance is `d_centre`), into `near` (cleared).
    /// Returns false for other shapes (nothing to cull).
    pub fn near_segments(
        &self,
        centre: [f32; 2],
        d_centre: f32,
        radius: f32,
        near: &mut Vec<u32>,
    ) -> bool {
        near.clear();
        let (pts, pad, closed) = match self {
            Shape::Polyline { pts, r } => (pts, *r, false),
            Shape::Polygon(v) => (v, 0.0, true),
            _ => return false,
        };
        let n = pts.len();
        if n < 2 {
            return false;
        }
        let limit = (d_centre + pad).abs() + 2.0 * radius;
        let limit2 = limit * limit;
        let segs = if closed { n } else { n - 1 };
        for i in 0..segs {
            let (a, b) = (pts[i], pts[(i + 1) % n]);
            if segment_distance2(centre, a, b) <= limit2 {
                near.push(i as u32);
            }
        }
        true
    }

    /// Signed distance using only the `near` segments; `sign` is the side when known for the
    /// whole region (polygons), else it is found by a crossing test.
    #[inline]
    pub fn sdf_near(&self, p: [f32; 2], near: &[u32], sign: Option<f32>) -> f32 {
        match self {
            Shape::Polyline { pts, r } => {
                let mut d = f32::MAX;
                for &i in near {
                    let i = i as usize;
                    d = d.min(segment_distance2(p, pts[i], pts[i + 1]));
                }
                d.sqrt() - r
            }
            Shape::Polygon(v) => {
                let n = v.len();
                let mut d = f32::MAX;
                for &i in near {
                    let i = i as usize;
                    d = d.min(segment_distance2(p, v[i], v[(i + 1) % n]));
                }
                let s = sign.unwrap_or_else(|| if polygon_inside(v, p) { -1.0 } else { 1.0 });
                s * d.sqrt()
            }
            _ => self.sdf(p),
        }
    }

    /// Bounds in the part frame: `[x0, y0, x1, y1]`.
    pub fn bounds(&self) -> [f32; 4] {
        match self {
            Shape::Rect { hx, hy, .. } => [-hx, -hy, *hx, *hy],
            Shape::Ellipse { a, b } => [-a, -b, *a, *b],
            Shape::Polygon(v) => points_bounds(v, 0.0),
            Shape::Polyline { pts, r } => points_bounds(pts, *r),
        }
    }
}

fn points_bounds(v: &[[f32; 2]], pad: f32) -> [f32; 4] {
    let mut b = [f32::MAX, f32::MAX, f32::MIN, f32::MIN];
    for p in v {
        b[0] = b[0].min(p[0]);
        b[1] = b[1].min(p[1]);
        b[2] = b[2].max(p[0]);
        b[3] = b[3].max(p[1]);
    }
    if v.is_empty() {
        return [0.0; 4];
    }
    [b[0] - pad, b[1] - pad, b[2] + pad, b[3] + pad]
}

#[inline]
fn segment_distance2(p: [f32; 2], a: [f32; 2], b: [f32; 2]) -> f32 {
    let (ex, ey) = (b[0] - a[0], b[1] - a[1]);
    let (wx, wy) = (p[0] - a[0], p[1] - a[1]);
    let len2 = ex * ex + ey * ey;
    let t = if len2 > 0.0 {
        ((wx * ex + wy * ey) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let (dx, dy) = (wx - ex * t, wy - ey * t);
    dx * dx + dy * dy
}

fn polyline_distance(pts: &[[f32; 2]], p: [f32; 2]) -> f32 {
    if pts.len() == 1 {
        return segment_distance2(p, pts[0], pts[0]).sqrt();
    }
    pts.windows(2)
        .map(|w| segment_distance2(p, w[0], w[1]))
        .fold(f32::MAX, f32::min)
        .sqrt()
}

fn polygon_inside(v: &[[f32; 2]], p: [f32; 2]) -> bool {
    let n = v.len();
    let mut inside = false;
    let mut j = n - 1;
    for i in 0..n {
        let (a, b) = (v[j], v[i]);
        if (b[1] > p[1]) != (a[1] > p[1]) {
            let x = a[0] + (p[1] - a[1]) / (b[1] - a[1]) * (b[0] - a[0]);
            if p[0] < x {
                inside = !inside;
            }
        }
        j = i;
    }
    inside
}

fn polygon_sdf(v: &[[f32; 2]], p: [f32; 2]) -> f32 {
    let n = v.len();
    if n < 3 {
        return f32::MAX;
    }
    let mut d = f32::MAX;
    let mut inside = false;
    let mut j = n - 1;
    for i in 0..n {
        let (a, b) = (v[j], v[i]);
        d = d.min(segment_distance2(p, a, b));
        // Even-odd crossing test.
        if (b[1] > p[1]) != (a[1] > p[1]) {
            let x = a[0] + (p[1] - a[1]) / (b[1] - a[1]) * (b[0] - a[0]);
            if p[0] < x {
                inside = !inside;
            }
        }
        j = i;
    }
    let d = d.sqrt();
    if inside { -d } else { d }
}

/// How thick a part is (along the beam) at a point `depth` millimetres inside its outline.
#[derive(Debug, Clone, Copy)]
pub enum Profile {
    /// The same thickness everywhere (sheets, plates, blades).
    Flat(f32),
    /// `t` in the middle, rounding off over the last `r` millimetres (clothes, bags, soft goods).
    Pillow { t: f32, r: f32 },
    /// A solid cylinder of radius `r` seen from the side (rods, wires, bullets, bottles).
    Solid { r: f32 },
    /// A hollow tube of radius `r` with walls `wall` thick (handles, barrels, cans).
    Tube { r: f32, wall: f32 },
}

impl Profile {
    /// Thickness in millimetres at `depth` (>= 0) inside the outline.
    #[inline]
    pub fn thickness(&self, depth: f32) -> f32 {
        match *self {
            Profile::Flat(t) => t,
            Profile::Pillow { t, r } => {
                let u = 1.0 - (depth / r.max(1e-3)).min(1.0);
                t * (1.0 - u * u).max(0.0).sqrt()
            }
            Profile::Solid { r } => chord(r, r - depth),
            Profile::Tube { r, wall } => chord(r, r - depth) - chord(r - wall, r - depth),
        }
    }

    /// Depth beyond which the thickness no longer changes, when there is one (flat tops).
    pub fn saturation_depth(&self) -> Option<f32> {
        match *self {
            Profile::Flat(_) => Some(0.0),
            Profile::Pillow { r, .. } => Some(r.max(1e-3)),
            // A cylinder's chord changes all the way to its axis.
            Profile::Solid { .. } | Profile::Tube { .. } => None,
        }
    }

    /// The same profile scaled to make up for an outline widened by `factor` (keeps the
    /// attenuation a sub-pixel wire adds to the image about right).
    pub fn scaled(&self, factor: f32) -> Profile {
        match *self {
            Profile::Flat(t) => Profile::Flat(t * factor),
            Profile::Pillow { t, r } => Profile::Pillow { t: t * factor, r },
            other => other,
        }
    }
}

#[inline]
fn chord(r: f32, s: f32) -> f32 {
    if r <= 0.0 {
        return 0.0;
    }
    let s = s.max(-r);
    2.0 * (r * r - s * s).max(0.0).sqrt()
}

/// Irregular density (folds of cloth, grains of food), as smooth value noise in the part frame.
#[derive(Debug, Clone, Copy)]
pub struct Texture {
    /// Feature size in millimetres.
    pub scale: f32,
    /// Relative thickness variation (0.3: +-30%).
    pub amount: f32,
    /// Which noise field.
    pub seed: u32,
}

impl Texture {
    /// The thickness factor at a point of the part frame.
    #[inline]
    pub fn factor(&self, p: [f32; 2]) -> f32 {
        let n1 = value_noise(p[0] / self.scale, p[1] / self.scale, self.seed);
        let n2 = value_noise(
            p[0] / self.scale * 2.3 + 17.0,
            p[1] / self.scale * 2.3,
            self.seed ^ 0x9E37,
        );
        1.0 + self.amount * ((n1 * 0.7 + n2 * 0.3) * 2.0 - 1.0)
    }
}

#[inline]
fn lattice(ix: i32, iy: i32, seed: u32) -> f32 {
    let mut h = (ix as u32).wrapping_mul(0x8DA6_B343)
        ^ (iy as u32).wrapping_mul(0xD816_3841)
        ^ seed.wrapping_mul(0xCB1A_B31F);
    h ^= h >> 13;
    h = h.wrapping_mul(0x5bd1_e995);
    h ^= h >> 15;
    (h & 0xFFFF) as f32 / 65535.0
}

#[inline]
fn value_noise(x: f32, y: f32, seed: u32) -> f32 {
    let (fx, fy) = (x.floor(), y.floor());
    let (ix, iy) = (fx as i32, fy as i32);
    let (tx, ty) = (x - fx, y - fy);
    let sx = tx * tx * (3.0 - 2.0 * tx);
    let sy = ty * ty * (3.0 - 2.0 * ty);
    let a = lattice(ix, iy, seed);
    let b = lattice(ix + 1, iy, seed);
    let c = lattice(ix, iy + 1, seed);
    let d = lattice(ix + 1, iy + 1, seed);
    let top = a + (b - a) * sx;
    let bottom = c + (d - c) * sx;
    top + (bottom - top) * sy
}

/// One piece of an object: an outline, where it sits in the object, how thick, of what.
#[derive(Debug, Clone)]
pub struct Part {
    /// The outline in the part's own frame.
    pub shape: Shape,
    /// Part frame -> object frame (millimetres).
    pub frame: Affine,
    /// Thickness along the beam.
    pub profile: Profile,
    /// What it is made of.
    pub material: Material,
    /// Density multiplier; negative removes material (a bore, a hollow) from what the other
    /// parts of the same object put there.
    pub density: f32,
    /// Optional irregularity.
    pub texture: Option<Texture>,
}

impl Part {
    /// Sets the density multiplier.
    pub fn density(&mut self, d: f32) -> &mut Self {
        self.density = d;
        self
    }

    /// Adds an irregular density texture.
    pub fn texture(&mut self, scale: f32, amount: f32, seed: u32) -> &mut Self {
        self.texture = Some(Texture {
            scale,
            amount,
            seed,
        });
        self
    }
}

/// A physical object: parts in a common frame (millimetres, origin about its centre).
#[derive(Debug, Clone, Default)]
pub struct Object {
    /// The parts, all drawn (attenuations add, so the order does not matter).
    pub parts: Vec<Part>,
}

impl Object {
    /// An empty object.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a part with its own frame.
    pub fn add(
        &mut self,
        shape: Shape,
        frame: Affine,
        profile: Profile,
        material: Material,
    ) -> &mut Part {
        self.parts.push(Part {
            shape,
            frame,
            profile,
            material,
            density: 1.0,
            texture: None,
        });
        let last = self.parts.len() - 1;
        &mut self.parts[last]
    }

    /// A (rounded) rectangle centred at `(x, y)`, `w` by `h`, turned by `angle`.
    #[allow(clippy::too_many_arguments)]
    pub fn rect(
        &mut self,
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        r: f32,
        angle: f32,
        profile: Profile,
        material: Material,
    ) -> &mut Part {
        let r = r.min(w * 0.5).min(h * 0.5).max(0.0);
        self.add(
            Shape::Rect {
                hx: w * 0.5,
                hy: h * 0.5,
                r,
            },
            Affine::at(x, y, angle),
            profile,
            material,
        )
    }

    /// An ellipse centred at `(x, y)` with half axes `a`, `b`, turned by `angle`.
    #[allow(clippy::too_many_arguments)]
    pub fn ellipse(
        &mut self,
        x: f32,
        y: f32,
        a: f32,
        b: f32,
        angle: f32,
        profile: Profile,
        material: Material,
    ) -> &mut Part {
        self.add(
            Shape::Ellipse { a, b },
            Affine::at(x, y, angle),
            profile,
            material,
        )
    }

    /// A polygon in object coordinates.
    pub fn polygon(
        &mut self,
        pts: Vec<[f32; 2]>,
        profile: Profile,
        material: Material,
    ) -> &mut Part {
        self.add(Shape::Polygon(pts), Affine::IDENTITY, profile, material)
    }

    /// A stroke of radius `r` along points in object coordinates.
    pub fn line(
        &mut self,
        pts: Vec<[f32; 2]>,
        r: f32,
        profile: Profile,
        material: Material,
    ) -> &mut Part {
        self.add(
            Shape::Polyline { pts, r },
            Affine::IDENTITY,
            profile,
            material,
        )
    }

    /// Puts all parts of `other` into this object through `frame` (other -> this).
    pub fn merge(&mut self, other: Object, frame: Affine) {
        for mut p in other.parts {
            p.frame = frame.then(p.frame);
            self.parts.push(p);
        }
    }

    /// Bounds of the whole object in its frame: `[x0, y0, x1, y1]` (millimetres).
    pub fn bounds(&self) -> [f32; 4] {
        let mut b = [f32::MAX, f32::MAX, f32::MIN, f32::MIN];
        for p in &self.parts {
            let sb = p.shape.bounds();
            for corner in [
                [sb[0], sb[1]],
                [sb[2], sb[1]],
                [sb[0], sb[3]],
                [sb[2], sb[3]],
            ] {
                let q = p.frame.apply(corner);
                b[0] = b[0].min(q[0]);
                b[1] = b[1].min(q[1]);
                b[2] = b[2].max(q[0]);
                b[3] = b[3].max(q[1]);
            }
        }
        if self.parts.is_empty() {
            return [0.0; 4];
        }
        b
    }

    /// Moves the frame origin to the centre of the bounds, so that poses rotate about the middle.
    pub fn centred(mut self) -> Self {
        let b = self.bounds();
        let (cx, cy) = ((b[0] + b[2]) * 0.5, (b[1] + b[3]) * 0.5);
        let shift = Affine::at(-cx, -cy, 0.0);
        for p in &mut self.parts {
            p.frame = shift.then(p.frame);
        }
        self
    }
}

/// Points along a circular arc (for rings, trigger guards, cylinders seen end-on).
pub fn arc(cx: f32, cy: f32, r: f32, from: f32, to: f32, steps: usize) -> Vec<[f32; 2]> {
    (0..=steps)
        .map(|i| {
            let t = from + (to - from) * i as f32 / steps.max(1) as f32;
            [cx + r * t.cos(), cy + r * t.sin()]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn affine_inverse_round_trips() {
        let m = Affine::new(10.0, -3.0, 0.7, 2.5);
        let p = [3.0, 4.0];
        let q = m.inverse().apply(m.apply(p));
        assert!((q[0] - p[0]).abs() < 1e-4 && (q[1] - p[1]).abs() < 1e-4);
    }

    #[test]
    fn sdf_signs() {
        let r = Shape::Rect {
            hx: 10.0,
            hy: 5.0,
            r: 1.0,
        };
        assert!(r.sdf([0.0, 0.0]) < 0.0);
        assert!(r.sdf([11.0, 0.0]) > 0.0);
        let poly = Shape::Polygon(vec![[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]]);
        assert!(poly.sdf([2.0, 2.0]) < 0.0);
        assert!(poly.sdf([8.0, 8.0]) > 0.0);
        let e = Shape::Ellipse { a: 4.0, b: 2.0 };
        assert!((e.sdf([5.0, 0.0]) - 1.0).abs() < 0.05);
    }

    #[test]
    fn tube_is_thin_in_the_middle() {
        let t = Profile::Tube { r: 10.0, wall: 1.0 };
        // Through the axis: two walls.
        assert!((t.thickness(10.0) - 2.0).abs() < 1e-3);
        // Grazing the inner wall: much more.
        assert!(t.thickness(1.0) > 5.0);
    }
}
