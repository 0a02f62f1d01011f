//! Small benign metal: what every real bag carries on its seams and straps (zipper teeth,
//! sliders and pulls, buckles, D-rings, slider rings, rivets, magnets) and loose in its
//! pockets (keys, coins, earphones, cables with plugs, pens, glasses hinges). These are the
//! commonest small dense items in any scan, and never threats.

use std::f32::consts::{PI, TAU};

use super::{arc, long_line, resample, rounded_rect_path, wander};
use crate::{
    material::Material::{self, *},
    rng::Rng,
    shape::{Affine, Object, Profile},
};

/// A zip along `path` (bag frame, mm): the tapes, a row of teeth (metal or moulded plastic),
/// and `sliders` sliders with their pulls at random places along it.
pub fn zipper(o: &mut Object, rng: &mut Rng, path: &[[f32; 2]], sliders: usize) {
    let metal = rng.chance(0.55);
    let tooth: Material = if metal {
        rng.pick(&[Brass, Steel, Aluminium, Zinc])
    } else {
        Plastic
    };
    let pitch = rng.range(1.6, 2.6);
    let amp = rng.range(1.6, 2.6);
    // Teeth interlock across the seam: a zig-zag ladder along the path.
    let along = resample(path, pitch * 0.5);
    let teeth: Vec<[f32; 2]> = along
        .iter()
        .enumerate()
        .map(|(i, &(p, h))| {
            let s = if i % 2 == 0 { amp } else { -amp };
            [p[0] - h.sin() * s, p[1] + h.cos() * s]
        })
        .collect();
    let (r, t) = if metal { (0.7, 1.8) } else { (0.5, 2.4) };
    long_line(o, &teeth, r, Profile::Flat(t), tooth, 1.0);
    // Tapes: faint fabric strips either side.
    long_line(o, path, amp + 5.0, Profile::Flat(1.2), Fabric, 2.0);
    for _ in 0..sliders {
        if along.is_empty() {
            break;
        }
        let (p, h) = along[rng.int(0, along.len() - 1)];
        let pull = zipper_pull(rng);
        o.merge(
            pull,
            Affine::at(p[0], p[1], h + PI * 0.5 + rng.gauss(0.0, 0.4)),
        );
    }
}

/// A zipper slider with its pull tab (die-cast metal), pointing along +x from the slider.
pub fn zipper_pull(rng: &mut Rng) -> Object {
    let mut o = Object::new();
    let mat = rng.pick(&[Zinc, Zinc, Brass, Steel]);
    let (sw, sh) = (rng.range(8.0, 12.0), rng.range(6.0, 9.0));
    o.rect(0.0, 0.0, sw, sh, 1.5, 0.0, Profile::Flat(3.5), mat);
    o.rect(
        0.0,
        0.0,
        sw * 0.5,
        sh * 0.3,
        0.5,
        0.0,
        Profile::Flat(2.0),
        mat,
    )
    .density(-0.6);
    let l = rng.range(16.0, 32.0);
    let w = rng.range(6.0, 11.0);
    match rng.int(0, 2) {
        0 => {
            // Flat tab with a hole.
            o.rect(
                sw * 0.5 + l * 0.5,
                0.0,
                l,
                w,
                w * 0.4,
                0.0,
                Profile::Flat(1.6),
                mat,
            );
            o.rect(
                sw * 0.5 + 5.0,
                0.0,
                5.0,
                w * 0.45,
                1.0,
                0.0,
                Profile::Flat(1.6),
                mat,
            )
            .density(-1.0);
        }
        1 => {
            // A ring or a wire loop.
            o.line(
                arc(sw * 0.5 + w, 0.0, w * 0.8, 0.0, TAU, 14),
                0.7,
                Profile::Solid { r: 0.7 },
                Steel,
            );
        }
        _ => {
            // A cord pull: plastic end, a metal link.
            o.rect(
                sw * 0.5 + 3.0,
                0.0,
                5.0,
                3.0,
                1.0,
                0.0,
                Profile::Flat(2.0),
                mat,
            );
            o.rect(
                sw * 0.5 + l * 0.6,
                0.0,
                l * 0.7,
                w,
                w * 0.5,
                0.0,
                Profile::Pillow { t: w, r: 3.0 },
                Plastic,
            );
        }
    }
    o
}

/// A strap buckle: a ladder lock or a side-release buckle, metal or plastic (with metal bar).
pub fn buckle(rng: &mut Rng, strap_w: f32) -> Object {
    let mut o = Object::new();
    let (w, h) = (strap_w + rng.range(4.0, 8.0), rng.range(14.0, 30.0));
    let metal = rng.chance(0.5);
    let mat = if metal {
        rng.pick(&[Steel, Zinc, Aluminium])
    } else {
        Plastic
    };
    let r = if metal { 1.3 } else { 2.0 };
    let t = if metal { 2.6 } else { 6.0 };
    o.line(
        rounded_rect_path(h, w, 2.5),
        r,
        Profile::Solid { r: t * 0.5 },
        mat,
    );
    o.line(
        vec![[0.0, -w * 0.5], [0.0, w * 0.5]],
        r,
        Profile::Solid { r: t * 0.5 },
        mat,
    );
    if !metal && rng.chance(0.5) {
        // Side-release: prongs and a spring steel pin.
        o.rect(
            -h * 0.8,
            0.0,
            h,
            w * 0.8,
            3.0,
            0.0,
            Profile::Flat(4.0),
            Plastic,
        );
        o.line(
            vec![[0.0, -w * 0.45], [0.0, w * 0.45]],
            0.6,
            Profile::Solid { r: 0.6 },
            Steel,
        );
    }
    o
}

/// A D-ring or an O-ring of bent wire.
pub fn d_ring(rng: &mut Rng) -> Object {
    let mut o = Object::new();
    let w = rng.range(15.0, 40.0);
    let wr = rng.range(1.0, 2.2);
    let mat = rng.pick(&[Steel, Steel, Zinc, Brass]);
    let mut pts = arc(0.0, 0.0, w * 0.5, -PI * 0.5, PI * 0.5, 12);
    if rng.chance(0.7) {
        pts.push([0.0, -w * 0.5]);
    } else {
        pts = arc(0.0, 0.0, w * 0.5, 0.0, TAU, 20);
    }
    o.line(pts, wr, Profile::Solid { r: wr }, mat);
    o
}

/// A slider ring (tri-glide): a flat rectangle frame with a centre bar.
pub fn tri_glide(rng: &mut Rng, strap_w: f32) -> Object {
    let mut o = Object::new();
    let (w, h) = (strap_w + 4.0, rng.range(10.0, 16.0));
    let mat = rng.pick(&[Steel, Zinc, Plastic, Plastic]);
    let t = if mat == Plastic { 4.0 } else { 2.0 };
    o.line(rounded_rect_path(h, w, 1.5), 1.2, Profile::Flat(t), mat);
    o.line(
        vec![[0.0, -w * 0.5], [0.0, w * 0.5]],
        1.2,
        Profile::Flat(t),
        mat,
    );
    o
}

/// A rivet or stud: a small dense disc.
pub fn rivet(o: &mut Object, rng: &mut Rng, x: f32, y: f32) {
    let r = rng.range(2.0, 4.5);
    let mat = rng.pick(&[Steel, Brass, Zinc, Aluminium]);
    o.ellipse(x, y, r, r, 0.0, Profile::Flat(rng.range(2.0, 5.0)), mat);
}

/// A magnetic clasp: a ferrite disc in a steel cup.
pub fn magnet(rng: &mut Rng) -> Object {
    let mut o = Object::new();
    let r = rng.range(6.0, 10.0);
    o.ellipse(0.0, 0.0, r, r, 0.0, Profile::Flat(1.0), Steel);
    o.line(
        arc(0.0, 0.0, r, 0.0, TAU, 16),
        0.5,
        Profile::Flat(3.0),
        Steel,
    );
    o.ellipse(0.0, 0.0, r * 0.7, r * 0.7, 0.0, Profile::Flat(2.5), Ferrite);
    o
}

/// A strap of webbing (`w` wide) along `pts`, with a buckle, a slider ring or a D-ring on it.
pub fn strap(o: &mut Object, rng: &mut Rng, pts: &[[f32; 2]], w: f32) {
    long_line(o, pts, w * 0.5, Profile::Flat(2.0), Fabric, 3.0);
    let along = resample(pts, 30.0);
    if along.is_empty() {
        return;
    }
    for _ in 0..rng.int(1, 3) {
        let (p, h) = along[rng.int(0, along.len() - 1)];
        let part = match rng.int(0, 2) {
            0 => buckle(rng, w),
            1 => tri_glide(rng, w),
            _ => d_ring(rng),
        };
        o.merge(part, Affine::at(p[0], p[1], h));
    }
}

/// A charging cable: PVC insulation over two or more copper cores, one to three pixels wide
/// in a scan, in a long curve, with a plug at each end (USB-A / USB-C shells, a jack).
pub fn cable(rng: &mut Rng, start: [f32; 2], heading: f32) -> Object {
    let mut o = Object::new();
    let n = rng.int(20, 70);
    let step = rng.range(8.0, 14.0);
    let bend = rng.range(0.06, 0.22);
    let pts = wander(rng, start, heading, n, step, bend);
    let r = rng.range(1.1, 2.0);
    long_line(&mut o, &pts, r, Profile::Solid { r }, Pvc, 1.0);
    long_line(&mut o, &pts, 0.35, Profile::Solid { r: 0.35 }, Copper, 2.0);
    for (end, dir) in [
        (pts[0], heading + PI),
        (pts[pts.len() - 1], end_heading(&pts)),
    ] {
        o.merge(plug(rng), Affine::at(end[0], end[1], dir));
    }
    o
}

fn end_heading(pts: &[[f32; 2]]) -> f32 {
    let n = pts.len();
    if n < 2 {
        return 0.0;
    }
    let (a, b) = (pts[n - 2], pts[n - 1]);
    (b[1] - a[1]).atan2(b[0] - a[0])
}

/// A cable's plug, pointing along +x from the origin: a moulded body and a sheet-steel shell.
pub fn plug(rng: &mut Rng) -> Object {
    let mut o = Object::new();
    let (bl, bw) = (rng.range(14.0, 24.0), rng.range(8.0, 16.0));
    o.rect(
        bl * 0.5,
        0.0,
        bl,
        bw,
        2.0,
        0.0,
        Profile::Pillow { t: 7.0, r: 2.0 },
        Plastic,
    );
    match rng.int(0, 2) {
        0 => {
            // USB-A: a hollow shell, bright rims.
            o.rect(
                bl + 6.0,
                0.0,
                12.0,
                12.0,
                0.5,
                0.0,
                Profile::Flat(0.8),
                Steel,
            );
            o.line(
                rounded_rect_path(12.0, 12.0, 0.5),
                0.3,
                Profile::Flat(4.5),
                Steel,
            );
            let last = o.parts.len() - 1;
            o.parts[last].frame = Affine::at(bl + 6.0, 0.0, 0.0);
        }
        1 => {
            // USB-C / Lightning: a small shell.
            o.rect(bl + 4.0, 0.0, 8.0, 8.0, 2.5, 0.0, Profile::Flat(2.2), Steel);
        }
        _ => {
            // 3.5 mm jack: a brass pin with rings.
            o.line(
                vec![[bl, 0.0], [bl + 14.0, 0.0]],
                1.75,
                Profile::Solid { r: 1.75 },
                Brass,
            );
        }
    }
    o
}

/// Wired earphones: two buds with magnets, a thin cable, a jack.
pub fn earphones(rng: &mut Rng) -> Object {
    let mut o = Object::new();
    let (heading, n) = (rng.angle(), rng.int(15, 40));
    let pts = wander(rng, [0.0, 0.0], heading, n, 8.0, 0.3);
    long_line(&mut o, &pts, 0.9, Profile::Solid { r: 0.9 }, Pvc, 1.0);
    long_line(&mut o, &pts, 0.2, Profile::Solid { r: 0.2 }, Copper, 2.0);
    let end = pts[pts.len() - 1];
    for s in [-1.0f32, 1.0] {
        let (x, y) = (
            end[0] + s * rng.range(10.0, 30.0),
            end[1] + rng.range(10.0, 40.0),
        );
        o.line(vec![end, [x, y]], 0.8, Profile::Solid { r: 0.8 }, Pvc);
        o.ellipse(
            x,
            y,
            8.0,
            7.0,
            0.0,
            Profile::Pillow { t: 12.0, r: 4.0 },
            Plastic,
        );
        o.ellipse(x, y, 4.0, 4.0, 0.0, Profile::Flat(2.5), Ferrite);
        o.line(arc(x, y, 5.0, 0.0, TAU, 10), 0.3, Profile::Flat(2.0), Steel);
    }
    o.merge(plug(rng), Affine::at(0.0, 0.0, rng.angle()));
    o
}

/// Loose small metal from pockets: one random piece, centred.
pub fn pocket_metal(rng: &mut Rng) -> Object {
    let o = match rng.weighted(&[1.0, 1.2, 0.8, 1.2, 0.8, 0.6, 0.5, 0.6, 0.6]) {
        0 => key(rng),
        1 => coin(rng),
        2 => earphones(rng),
        3 => {
            let h = rng.angle();
            cable(rng, [0.0, 0.0], h)
        }
        4 => pen(rng),
        5 => glasses_hinge(rng),
        6 => magnet(rng),
        7 => zipper_pull(rng),
        _ => d_ring(rng),
    };
    o.centred()
}

/// A key: a bow, a bladed shank of brass or nickel-silver steel.
pub fn key(rng: &mut Rng) -> Object {
    let mut k = Object::new();
    let l = rng.range(30.0, 48.0);
    let mat = rng.pick(&[Brass, Steel, Brass]);
    k.ellipse(0.0, 0.0, 12.0, 11.0, 0.0, Profile::Flat(2.0), mat);
    k.ellipse(-5.0, 0.0, 2.5, 2.5, 0.0, Profile::Flat(2.0), mat)
        .density(-1.0);
    let mut blade = vec![[10.0, -3.5], [10.0 + l, -3.5], [12.0 + l, 0.0]];
    let teeth = 6;
    for i in 0..=teeth {
        let x = 10.0 + l * (1.0 - i as f32 / teeth as f32);
        blade.push([x, 3.5 + if i % 2 == 0 { 2.5 } else { 0.5 }]);
    }
    k.polygon(blade, Profile::Flat(2.0), mat);
    k
}

/// A coin.
pub fn coin(rng: &mut Rng) -> Object {
    let mut o = Object::new();
    let r = rng.range(8.0, 13.5);
    let mat = rng.pick(&[Brass, Steel, Copper, Zinc, Brass]);
    o.ellipse(0.0, 0.0, r, r, 0.0, Profile::Flat(rng.range(1.4, 2.3)), mat);
    o.line(
        arc(0.0, 0.0, r - 0.4, 0.0, TAU, 20),
        0.4,
        Profile::Flat(0.6),
        mat,
    );
    o
}

/// A pen: plastic barrel, metal tip, ink tube, spring and clip.
pub fn pen(rng: &mut Rng) -> Object {
    let mut o = Object::new();
    let l = rng.range(120.0, 145.0);
    let r = rng.range(4.0, 5.5);
    let metal_body = rng.chance(0.25);
    o.line(
        vec![[-l * 0.5, 0.0], [l * 0.5 - 8.0, 0.0]],
        r,
        Profile::Tube {
            r,
            wall: if metal_body { 0.4 } else { 1.0 },
        },
        if metal_body { Aluminium } else { Plastic },
    );
    o.line(
        vec![[-l * 0.4, 0.0], [l * 0.5 - 10.0, 0.0]],
        1.0,
        Profile::Tube { r: 1.0, wall: 0.3 },
        Plastic,
    );
    o.polygon(
        vec![
            [l * 0.5 - 10.0, -2.5],
            [l * 0.5, -0.5],
            [l * 0.5, 0.5],
            [l * 0.5 - 10.0, 2.5],
        ],
        Profile::Flat(2.5),
        Brass,
    );
    o.line(
        super::zigzag([l * 0.5 - 24.0, 0.0], [l * 0.5 - 12.0, 0.0], 6, 1.5),
        0.25,
        Profile::Solid { r: 0.25 },
        Steel,
    );
    o.rect(
        -l * 0.35,
        -r - 1.0,
        l * 0.35,
        2.5,
        1.0,
        0.0,
        Profile::Flat(0.8),
        Steel,
    );
    o
}

/// A pair of glasses' hinges and screws alone (frames are thin plastic).
pub fn glasses_hinge(rng: &mut Rng) -> Object {
    let mut o = Object::new();
    let w = rng.range(120.0, 140.0);
    for s in [-1.0f32, 1.0] {
        let x = s * w * 0.5;
        o.rect(x, 0.0, 8.0, 4.0, 1.0, 0.0, Profile::Flat(2.5), Steel);
        o.line(
            vec![[x, 2.0], [x + s * 2.0, 40.0], [x + s * 5.0, 120.0]],
            0.6,
            Profile::Solid { r: 0.6 },
            Steel,
        );
        o.ellipse(x * 0.5, -8.0, 24.0, 18.0, 0.0, Profile::Flat(2.0), Plastic);
    }
    o
}
