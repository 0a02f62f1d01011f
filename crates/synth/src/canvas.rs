//! The attenuation image being composed: per-pixel `sum(mu * thickness)` at both energies.
//!
//! Beer-Lambert makes composition additive in attenuation, so objects are drawn in any order
//! and overlap correctly; transmission is `exp(-A)` at the end.

use super::shape::{Object, Profile, Shape};

/// Attenuation (high energy) a pixel must get from an object to count as showing it, for
/// its label box.
const VISIBLE_ATTENUATION: f32 = 0.012;
/// Strokes are drawn at least this wide in pixels (radius), with the thickness scaled down
/// so a sub-pixel wire still darkens the image by about the right amount.
const MIN_STROKE_RADIUS_PX: f32 = 0.7;
/// Side of the square tiles the rasteriser skips or fills whole, in pixels.
const TILE: i32 = 8;

/// Low- and high-energy attenuation of a scan in progress.
#[derive(Debug, Clone)]
pub struct Canvas {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// Low-energy attenuation, row-major.
    pub low: Vec<f32>,
    /// High-energy attenuation, row-major.
    pub high: Vec<f32>,
}

/// Where an object showed in the image, for its label.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Footprint {
    /// Tight box of its visible pixels, unclipped: `[x0, y0, x1, y1]` (x1, y1 exclusive).
    pub bbox: [i32; 4],
    /// Visible pixels, inside and outside the image.
    pub total: u64,
    /// Visible pixels inside the image.
    pub inside: u64,
}

impl Footprint {
    pub fn empty() -> Self {
        Footprint {
            bbox: [i32::MAX, i32::MAX, i32::MIN, i32::MIN],
            total: 0,
            inside: 0,
        }
    }

    /// The footprint of two drawn objects together.
    pub fn union(&self, other: &Footprint) -> Footprint {
        Footprint {
            bbox: [
                self.bbox[0].min(other.bbox[0]),
                self.bbox[1].min(other.bbox[1]),
                self.bbox[2].max(other.bbox[2]),
                self.bbox[3].max(other.bbox[3]),
            ],
            total: self.total + other.total,
            inside: self.inside + other.inside,
        }
    }

    /// The box clipped to a `width` x `height` image, or `None` when nothing is inside.
    pub fn clipped(&self, width: usize, height: usize) -> Option<[u32; 4]> {
        if self.inside == 0 {
            return None;
        }
        let x0 = self.bbox[0].clamp(0, width as i32) as u32;
        let y0 = self.bbox[1].clamp(0, height as i32) as u32;
        let x1 = self.bbox[2].clamp(0, width as i32) as u32;
        let y1 = self.bbox[3].clamp(0, height as i32) as u32;
        (x1 > x0 && y1 > y0).then_some([x0, y0, x1, y1])
    }
}

impl Canvas {
    /// An empty (all air) canvas.
    pub fn new(width: usize, height: usize) -> Self {
        Self {
            width,
            height,
            low: vec![0.0; width * height],
            high: vec![0.0; width * height],
        }
    }

    /// Draws `object` through `pose` (object millimetres -> pixels). With `track`, also
    /// measures where it is visible (looking beyond the image edges too), for labels.
    pub fn draw(&mut self, object: &Object, pose: crate::shape::Affine, track: bool) -> Footprint {
        self.draw_into(object, pose, track, None)
    }

    /// [`Canvas::draw`] with tracking that also records, for each visible pixel inside the
    /// image, its index and the high-energy attenuation this object alone gave it (a pixel
    /// may appear once per part), so the object's own contrast can be told from what lies
    /// over and under it once the scan is complete.
    pub fn draw_labelled(
        &mut self,
        object: &Object,
        pose: crate::shape::Affine,
        own: &mut Vec<(u32, f32)>,
    ) -> Footprint {
        self.draw_into(object, pose, true, Some(own))
    }

    fn draw_into(
        &mut self,
        object: &Object,
        pose: crate::shape::Affine,
        track: bool,
        mut own: Option<&mut Vec<(u32, f32)>>,
    ) -> Footprint {
        let mut fp = Footprint::empty();
        let ppm = pose.scale().max(1e-3);
        let aa_depth = 0.3 / ppm;
        let mut near: Vec<u32> = Vec::new();
        for part in &object.parts {
            let to_px = pose.then(part.frame);
            let from_px = to_px.inverse();
            let (mu_l, mu_h) = part.material.mu();
            let (mu_l, mu_h) = (mu_l * part.density, mu_h * part.density);

            // Sub-pixel strokes: widen, and thin the profile to keep the attenuation.
            let mut shape_override = None;
            let mut profile = part.profile;
            let mut mass = 1.0;
            if let Shape::Polyline { pts, r } = &part.shape {
                let r_px = r * ppm;
                if r_px < MIN_STROKE_RADIUS_PX {
                    let r_new = MIN_STROKE_RADIUS_PX / ppm;
                    shape_override = Some(Shape::Polyline {
                        pts: pts.clone(),
                        r: r_new,
                    });
                    // Keep the cross-section area (attenuation per length of stroke).
                    let area = match profile {
                        Profile::Solid { r: pr } => std::f32::consts::PI * pr * pr,
                        Profile::Tube { r: pr, wall } => {
                            let ri = (pr - wall).max(0.0);
                            std::f32::consts::PI * (pr * pr - ri * ri)
                        }
                        _ => 0.0,
                    };
                    if area > 0.0 {
                        profile = Profile::Flat(area / (2.0 * r_new));
                    } else {
                        mass = r / r_new;
                    }
                }
            }
            let shape = shape_override.as_ref().unwrap_or(&part.shape);
            let profile = profile.scaled(mass);

            // Pixel bounds of the part.
            let sb = shape.bounds();
            let mut bx = [f32::MAX, f32::MAX, f32::MIN, f32::MIN];
            for corner in [
                [sb[0], sb[1]],
                [sb[2], sb[1]],
                [sb[0], sb[3]],
                [sb[2], sb[3]],
            ] {
                let q = to_px.apply(corner);
                bx[0] = bx[0].min(q[0]);
                bx[1] = bx[1].min(q[1]);
                bx[2] = bx[2].max(q[0]);
                bx[3] = bx[3].max(q[1]);
            }
            let mut x0 = bx[0].floor() as i32 - 1;
            let mut y0 = bx[1].floor() as i32 - 1;
            let mut x1 = bx[2].ceil() as i32 + 1;
            let mut y1 = bx[3].ceil() as i32 + 1;
            let track_part = track && part.density > 0.0;
            if !track_part {
                x0 = x0.max(0);
                y0 = y0.max(0);
                x1 = x1.min(self.width as i32);
                y1 = y1.min(self.height as i32);
            }
            if x1 <= x0 || y1 <= y0 {
                continue;
            }
            let (w, h) = (self.width as i32, self.height as i32);
            // Tiles: the distance field is 1-Lipschitz, so one sample at a tile's centre says
            // whether the whole tile is outside (skip) or deep inside (constant thickness).
            let half_diag_px = TILE as f32 * std::f32::consts::FRAC_1_SQRT_2;
            let saturation = profile.saturation_depth();
            let mut ty = y0;
            while ty < y1 {
                let ty1 = (ty + TILE).min(y1);
                let tile_rows_inside = ty1 > 0 && ty < h;
                if !tile_rows_inside && !track_part {
                    ty = ty1;
                    continue;
                }
                let mut tx = x0;
                while tx < x1 {
                    let tx1 = (tx + TILE).min(x1);
                    let centre = from_px.apply([(tx + tx1) as f32 * 0.5, (ty + ty1) as f32 * 0.5]);
                    let dc_mm = shape.sdf(centre);
                    let dc = dc_mm * ppm;
                    if dc > half_diag_px + 0.5 {
                        tx = tx1;
                        continue;
                    }
                    // Only the segments near this tile matter for its pixels.
                    let culled = shape.near_segments(centre, dc_mm, half_diag_px / ppm, &mut near);
                    let sign = (dc.abs() > half_diag_px + 0.5).then_some(dc.signum());
                    // Deep inside: full cover, and past the profile's rounding.
                    let constant = saturation
                        .filter(|&sat| -dc - half_diag_px > (sat + aa_depth) * ppm + 0.5)
                        .map(|sat| profile.thickness(sat + aa_depth));
                    for y in ty..ty1 {
                        let row_inside = y >= 0 && y < h;
                        if !row_inside && !track_part {
                            continue;
                        }
                        let mut p = from_px.apply([tx as f32 + 0.5, y as f32 + 0.5]);
                        let row = (y.clamp(0, h - 1) as usize) * self.width;
                        for x in tx..tx1 {
                            let t = match constant {
                                Some(t) => Some(t),
                                None => {
                                    let d = if culled {
                                        shape.sdf_near(p, &near, sign)
                                    } else {
                                        shape.sdf(p)
                                    };
                                    let dpx = d * ppm;
                                    (dpx < 0.5).then(|| {
                                        let cover = (0.5 - dpx).min(1.0);
                                        profile.thickness((-d).max(0.0) + aa_depth) * cover
                                    })
                                }
                            };
                            if let Some(mut t) = t {
                                if let Some(tex) = &part.texture {
                                    t *= tex.factor(p);
                                }
                                let inside = row_inside && x >= 0 && x < w;
                                if inside {
                                    let i = row + x as usize;
                                    self.low[i] += t * mu_l;
                                    self.high[i] += t * mu_h;
                                }
                                if track_part && t * mu_h > VISIBLE_ATTENUATION {
                                    fp.total += 1;
                                    if inside {
                                        fp.inside += 1;
                                        if let Some(own) = own.as_deref_mut() {
                                            own.push(((row + x as usize) as u32, t * mu_h));
                                        }
                                    }
                                    fp.bbox[0] = fp.bbox[0].min(x);
                                    fp.bbox[1] = fp.bbox[1].min(y);
                                    fp.bbox[2] = fp.bbox[2].max(x + 1);
                                    fp.bbox[3] = fp.bbox[3].max(y + 1);
                                }
                            }
                            p[0] += from_px.a;
                            p[1] += from_px.c;
                        }
                    }
                    tx = tx1;
                }
                ty = ty1;
            }
        }
        fp
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{material::Material, shape::Affine};

    fn plate(material: Material, t: f32) -> Object {
        let mut o = Object::new();
        o.rect(0.0, 0.0, 20.0, 20.0, 0.0, 0.0, Profile::Flat(t), material);
        o
    }

    #[test]
    fn stacked_objects_multiply_transmission() {
        let pose = Affine::new(32.0, 32.0, 0.0, 1.0);
        let mut a = Canvas::new(64, 64);
        a.draw(&plate(Material::Steel, 2.0), pose, false);
        let mut b = Canvas::new(64, 64);
        b.draw(&plate(Material::Water, 30.0), pose, false);
        let mut both = Canvas::new(64, 64);
        both.draw(&plate(Material::Steel, 2.0), pose, false);
        both.draw(&plate(Material::Water, 30.0), pose, false);
        let i = 32 * 64 + 32;
        for (x, y, z) in [(&a.low, &b.low, &both.low), (&a.high, &b.high, &both.high)] {
            let t_product = (-x[i]).exp() * (-y[i]).exp();
            let t_both = (-z[i]).exp();
            assert!((t_product - t_both).abs() < 1e-6, "{t_product} vs {t_both}");
            assert!(t_both < (-x[i]).exp() && t_both < (-y[i]).exp());
        }
    }

    #[test]
    fn footprint_covers_the_object() {
        let mut c = Canvas::new(100, 100);
        let fp = c.draw(
            &plate(Material::Steel, 2.0),
            Affine::new(50.0, 40.0, 0.0, 1.0),
            true,
        );
        assert_eq!(fp.bbox, [40, 30, 60, 50]);
        assert_eq!(fp.inside, fp.total);
        // Half off the left edge.
        let fp = c.draw(
            &plate(Material::Steel, 2.0),
            Affine::new(0.0, 40.0, 0.0, 1.0),
            true,
        );
        assert_eq!(fp.clipped(100, 100), Some([0, 30, 10, 50]));
        assert!(fp.inside * 2 <= fp.total + 20);
    }

    #[test]
    fn a_labelled_object_keeps_its_own_attenuation_apart_from_what_covers_it() {
        let mut c = Canvas::new(100, 100);
        let mut own = Vec::new();
        let steel = plate(Material::Steel, 2.0);
        let fp = c.draw_labelled(&steel, Affine::new(50.0, 40.0, 0.0, 1.0), &mut own);
        // One sample per visible pixel inside the image, each the steel's own attenuation.
        assert_eq!(own.len() as u64, fp.inside);
        let centre = own
            .iter()
            .find(|(i, _)| *i == 40 * 100 + 50)
            .map(|&(_, a)| a)
            .expect("centre pixel sampled");
        // A water layer drawn over it afterwards adds to the image, not to the steel's samples.
        c.draw(
            &plate(Material::Water, 30.0),
            Affine::new(50.0, 40.0, 0.0, 1.0),
            false,
        );
        let v = crate::visibility::measure(&mut own, &c.high);
        assert!((v.contrast - centre).abs() < 0.05 * centre, "{v:?}");
        let water = c.high[40 * 100 + 50] - centre;
        assert!(
            water > 0.0 && (v.cover - water).abs() < 0.1 * water,
            "{v:?} {water}"
        );
        // The water lies evenly under the steel's pixels, bar its antialiased rim.
        assert!(v.clutter < 0.2 * v.cover, "{v:?}");
    }
}
