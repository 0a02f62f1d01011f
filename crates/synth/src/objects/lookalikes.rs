//! Hard negatives: benign things trained screeners know look like threats at a glance
//! (staplers, hair clippers, tools, belt buckles, umbrella ribs, glasses cases, lighters,
//! multi-socket plugs, phone chargers). Never labelled; put into bags on purpose so that the
//! detector learns them.

use std::f32::consts::{PI, TAU};

use super::{arc, hardware, rounded_rect_path, weapons, zigzag};
use crate::{
    material::Material::*,
    rng::Rng,
    shape::{Object, Profile},
};

/// Names of the kinds, in [`lookalike`]'s order (for the catalogue and tests).
pub const KINDS: [&str; 9] = [
    "stapler",
    "hair clipper",
    "tool",
    "belt buckle",
    "umbrella",
    "glasses case",
    "lighter",
    "multi-socket plug",
    "phone charger",
];

/// One random hard negative, centred.
pub fn any(rng: &mut Rng) -> Object {
    let k = rng.int(0, KINDS.len() - 1);
    lookalike(rng, k)
}

/// Hard negative number `kind` (see [`KINDS`]), centred.
pub fn lookalike(rng: &mut Rng, kind: usize) -> Object {
    let o = match kind {
        0 => stapler(rng),
        1 => hair_clipper(rng),
        2 => weapons::tool(rng),
        3 => belt_buckle(rng),
        4 => super::clutter::umbrella(rng),
        5 => glasses_case(rng),
        6 => lighter(rng),
        7 => multi_socket(rng),
        _ => phone_charger(rng),
    };
    o.centred()
}

/// A desk stapler: a steel channel base and arm, a spring, a row of staples.
fn stapler(rng: &mut Rng) -> Object {
    let mut o = Object::new();
    let l = rng.range(110.0, 180.0);
    let w = rng.range(14.0, 22.0);
    o.rect(0.0, 0.0, l, w, 3.0, 0.0, Profile::Flat(1.6), Steel);
    o.line(rounded_rect_path(l, w, 3.0), 0.8, Profile::Flat(8.0), Steel);
    o.rect(
        l * 0.05,
        0.0,
        l * 0.85,
        w * 0.5,
        1.0,
        0.0,
        Profile::Flat(3.0),
        Steel,
    )
    .density(0.8);
    o.line(
        zigzag([-l * 0.35, 0.0], [l * 0.1, 0.0], 6, w * 0.2),
        0.5,
        Profile::Solid { r: 0.5 },
        Steel,
    );
    o.ellipse(-l * 0.45, 0.0, 3.0, 3.0, 0.0, Profile::Flat(w), Steel);
    o.rect(
        l * 0.1,
        w * 0.8,
        l * 0.9,
        w * 0.8,
        4.0,
        0.0,
        Profile::Pillow { t: 12.0, r: 4.0 },
        Plastic,
    );
    o
}

/// Hair clipper: a plastic body, a motor (copper coil on an iron core), the steel blade set.
fn hair_clipper(rng: &mut Rng) -> Object {
    let mut o = Object::new();
    let l = rng.range(130.0, 170.0);
    let w = rng.range(38.0, 50.0);
    o.rect(
        0.0,
        0.0,
        l,
        w,
        w * 0.45,
        0.0,
        Profile::Tube {
            r: w * 0.5,
            wall: 2.5,
        },
        Plastic,
    );
    let mx = -l * 0.05;
    o.rect(
        mx,
        0.0,
        34.0,
        w * 0.55,
        2.0,
        0.0,
        Profile::Flat(18.0),
        Steel,
    )
    .density(0.5);
    o.rect(
        mx,
        0.0,
        22.0,
        w * 0.5,
        2.0,
        0.0,
        Profile::Flat(14.0),
        Copper,
    )
    .density(0.4);
    o.rect(
        -l * 0.3,
        0.0,
        30.0,
        w * 0.45,
        2.0,
        0.0,
        Profile::Flat(12.0),
        Battery,
    );
    o.rect(
        -l * 0.05,
        w * 0.1,
        l * 0.4,
        10.0,
        1.0,
        0.0,
        Profile::Flat(1.5),
        Pcb,
    );
    // Blade set: two combs of teeth.
    let bx = l * 0.5 - 4.0;
    o.rect(bx, 0.0, 8.0, w + 4.0, 1.0, 0.0, Profile::Flat(2.5), Steel);
    let teeth: Vec<[f32; 2]> = (0..=((w + 4.0) / 1.5) as usize)
        .map(|i| {
            let y = -(w + 4.0) * 0.5 + i as f32 * 1.5;
            [bx + 4.0 + if i % 2 == 0 { 5.0 } else { 0.0 }, y]
        })
        .collect();
    o.line(teeth, 0.35, Profile::Flat(2.0), Steel);
    o.line(
        vec![[mx + 17.0, 0.0], [bx - 4.0, 0.0]],
        1.2,
        Profile::Flat(4.0),
        Steel,
    );
    o
}

/// A belt buckle on a strip of leather, with its prong, and the belt's holes.
fn belt_buckle(rng: &mut Rng) -> Object {
    let mut o = Object::new();
    let bw = rng.range(30.0, 40.0);
    let mat = rng.pick(&[Zinc, Steel, Brass]);
    let (fw, fh) = (bw + rng.range(8.0, 20.0), rng.range(40.0, 70.0));
    if rng.chance(0.5) {
        o.line(rounded_rect_path(fh, fw, 6.0), 2.6, Profile::Flat(4.0), mat);
    } else {
        // Plate buckle.
        o.rect(0.0, 0.0, fh, fw, 8.0, 0.0, Profile::Flat(2.5), mat);
        o.line(rounded_rect_path(fh, fw, 8.0), 1.2, Profile::Flat(6.0), mat);
    }
    o.line(
        vec![[-fh * 0.5, 0.0], [fh * 0.45, 0.0]],
        1.6,
        Profile::Flat(3.0),
        mat,
    );
    let l = rng.range(200.0, 500.0);
    o.rect(
        -l * 0.5 - fh * 0.4,
        0.0,
        l,
        bw,
        2.0,
        0.0,
        Profile::Flat(4.0),
        Leather,
    );
    for i in 0..5 {
        o.ellipse(
            -fh * 0.5 - 60.0 - i as f32 * 25.0,
            0.0,
            2.5,
            2.5,
            0.0,
            Profile::Flat(4.0),
            Leather,
        )
        .density(-1.0);
    }
    o
}

/// A hard glasses case: a sprung steel hinge strip and clasp under fabric over a shell.
fn glasses_case(rng: &mut Rng) -> Object {
    let mut o = Object::new();
    let (l, w) = (rng.range(150.0, 165.0), rng.range(55.0, 68.0));
    o.rect(
        0.0,
        0.0,
        l,
        w,
        w * 0.45,
        0.0,
        Profile::Tube {
            r: w * 0.5,
            wall: 1.5,
        },
        Plastic,
    );
    o.line(
        rounded_rect_path(l - 2.0, w - 2.0, w * 0.45),
        0.6,
        Profile::Flat(6.0),
        Steel,
    );
    o.line(
        vec![[-l * 0.45, -w * 0.48], [l * 0.45, -w * 0.48]],
        0.8,
        Profile::Flat(3.0),
        Steel,
    );
    if rng.chance(0.6) {
        o.merge(
            hardware::glasses_hinge(rng),
            crate::shape::Affine::new(0.0, 0.0, 0.0, 0.9),
        );
    }
    o
}

/// A lighter: plastic or steel body, the fuel, a steel cap and flint wheel, a spring.
fn lighter(rng: &mut Rng) -> Object {
    let mut o = Object::new();
    if rng.chance(0.6) {
        // Disposable.
        let (l, w) = (rng.range(75.0, 82.0), rng.range(22.0, 25.0));
        o.rect(
            0.0,
            0.0,
            l,
            w,
            5.0,
            0.0,
            Profile::Pillow { t: 11.0, r: 4.0 },
            Plastic,
        );
        o.rect(
            -6.0,
            0.0,
            l * 0.75,
            w - 3.0,
            4.0,
            0.0,
            Profile::Flat(8.0),
            Plastic,
        )
        .density(0.5);
        o.rect(
            l * 0.5 - 6.0,
            0.0,
            12.0,
            w - 2.0,
            1.0,
            0.0,
            Profile::Flat(2.0),
            Steel,
        );
        o.ellipse(
            l * 0.5 - 4.0,
            -3.0,
            4.0,
            4.0,
            0.0,
            Profile::Flat(4.0),
            Steel,
        );
        o.line(
            zigzag([l * 0.5 - 20.0, -3.0], [l * 0.5 - 9.0, -3.0], 4, 1.5),
            0.3,
            Profile::Solid { r: 0.3 },
            Steel,
        );
    } else {
        // Petrol lighter: a steel box with a chimney and an insert.
        let (l, w) = (57.0, 38.0);
        o.rect(0.0, 0.0, l, w, 4.0, 0.0, Profile::Flat(1.5), Steel);
        o.line(
            rounded_rect_path(l, w, 4.0),
            0.6,
            Profile::Flat(12.0),
            Steel,
        );
        o.rect(
            l * 0.2,
            0.0,
            14.0,
            12.0,
            1.0,
            0.0,
            Profile::Flat(2.0),
            Steel,
        );
        o.ellipse(l * 0.2, 10.0, 4.0, 4.0, 0.0, Profile::Flat(6.0), Steel);
        o.rect(
            -l * 0.1,
            0.0,
            l * 0.6,
            w * 0.8,
            2.0,
            0.0,
            Profile::Flat(10.0),
            Fabric,
        )
        .density(3.0);
    }
    o
}

/// A multi-socket extension: a plastic bar with brass contact strips, a cable.
fn multi_socket(rng: &mut Rng) -> Object {
    let mut o = Object::new();
    let n = rng.int(3, 6);
    let pitch = rng.range(38.0, 50.0);
    let (l, w) = (n as f32 * pitch + 30.0, rng.range(45.0, 58.0));
    o.rect(
        0.0,
        0.0,
        l,
        w,
        8.0,
        0.0,
        Profile::Pillow { t: 38.0, r: 10.0 },
        Plastic,
    );
    for s in [-1.0f32, 1.0] {
        o.rect(
            -10.0,
            s * w * 0.22,
            l - 50.0,
            4.0,
            0.5,
            0.0,
            Profile::Flat(8.0),
            Brass,
        );
    }
    o.rect(
        -10.0,
        0.0,
        l - 50.0,
        3.0,
        0.5,
        0.0,
        Profile::Flat(6.0),
        Brass,
    );
    for i in 0..n {
        let x = -l * 0.5 + 25.0 + pitch * (i as f32 + 0.5);
        o.line(
            arc(x, 0.0, 16.0, 0.0, TAU, 16),
            0.8,
            Profile::Flat(10.0),
            Plastic,
        );
        for s in [-1.0f32, 1.0] {
            o.rect(x, s * 9.5, 5.0, 3.0, 0.5, 0.0, Profile::Flat(10.0), Brass);
        }
    }
    o.rect(
        l * 0.5 - 12.0,
        0.0,
        14.0,
        10.0,
        2.0,
        0.0,
        Profile::Flat(10.0),
        Plastic,
    );
    let heading = rng.range(-0.6, 0.6);
    o.merge(
        hardware::cable(rng, [l * 0.5, 0.0], heading),
        crate::shape::Affine::IDENTITY,
    );
    o
}

/// A phone charger: a wall plug with its prongs and board, a thin cable, a USB plug.
fn phone_charger(rng: &mut Rng) -> Object {
    let mut o = Object::new();
    let s = rng.range(28.0, 45.0);
    o.rect(
        0.0,
        0.0,
        s,
        s * rng.range(0.9, 1.3),
        5.0,
        0.0,
        Profile::Pillow { t: 24.0, r: 5.0 },
        Plastic,
    );
    o.rect(
        0.0,
        0.0,
        s * 0.6,
        s * 0.6,
        1.0,
        0.0,
        Profile::Flat(1.5),
        Pcb,
    );
    // Transformer: ferrite core and copper windings.
    o.rect(
        -s * 0.1,
        0.0,
        11.0,
        11.0,
        1.0,
        0.0,
        Profile::Flat(10.0),
        Ferrite,
    )
    .density(0.6);
    o.rect(
        -s * 0.1,
        0.0,
        14.0,
        7.0,
        1.0,
        0.0,
        Profile::Flat(6.0),
        Copper,
    )
    .density(0.4);
    for k in 0..rng.int(2, 5) {
        o.ellipse(
            s * 0.2,
            -s * 0.25 + k as f32 * 5.0,
            2.5,
            2.5,
            0.0,
            Profile::Flat(5.0),
            Aluminium,
        );
    }
    let round = rng.chance(0.5);
    for side in [-1.0f32, 1.0] {
        if round {
            o.line(
                vec![[s * 0.5, side * 9.5], [s * 0.5 + 19.0, side * 9.5]],
                2.0,
                Profile::Solid { r: 2.0 },
                Brass,
            );
        } else {
            o.rect(
                s * 0.5 + 8.0,
                side * 6.0,
                16.0,
                1.5,
                0.2,
                0.0,
                Profile::Flat(6.0),
                Brass,
            );
        }
    }
    if rng.chance(0.7) {
        let heading = PI + rng.range(-0.5, 0.5);
        o.merge(
            hardware::cable(rng, [-s * 0.5, 0.0], heading),
            crate::shape::Affine::IDENTITY,
        );
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_hard_negative_has_metal_and_a_real_size() {
        let mut rng = Rng::new(11);
        for (kind, name) in KINDS.iter().enumerate() {
            for _ in 0..10 {
                let o = lookalike(&mut rng, kind);
                assert!(
                    o.parts.iter().any(|p| {
                        let (l, h) = p.material.mu();
                        l / h > 1.9 && p.density > 0.0
                    }),
                    "{name} has no metal"
                );
                let b = o.bounds();
                let size = (b[2] - b[0]).max(b[3] - b[1]);
                assert!(size > 30.0 && size < 1400.0, "{name}: {size} mm");
            }
        }
    }
}
