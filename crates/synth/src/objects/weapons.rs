//! Weapons: firearms (pistols, revolvers, loose parts), knives and ammunition.
//!
//! Objects lie flat on the belt, so the beam crosses a pistol through its width: the slide's
//! walls, the hollow barrel, the magazine with its rounds in the grip.

use super::{Group, arc, zigzag};
use crate::{
    material::Material::{self, *},
    rng::Rng,
    shape::{Affine, Object, Profile},
};

/// Class ids (see [`crate::CLASSES`]).
const FIREARM: usize = 0;
const KNIFE: usize = 1;
const AMMUNITION: usize = 2;

/// A firearm: a pistol, a revolver, or a loose major part of one.
pub fn firearm(rng: &mut Rng) -> Group {
    let object = match rng.weighted(&[0.55, 0.25, 0.1, 0.1]) {
        0 => pistol(rng, true, true),
        1 => revolver(rng),
        2 => pistol(rng, true, false),
        _ => pistol(rng, false, true),
    };
    Group::single(object.centred(), FIREARM)
}

/// A semi-automatic pistol (muzzle towards +x, grip towards +y); `upper`: slide and barrel,
/// `lower`: frame, grip, trigger guard and magazine.
fn pistol(rng: &mut Rng, upper: bool, lower: bool) -> Object {
    let mut o = Object::new();
    let l = rng.range(150.0, 210.0);
    let h = rng.range(26.0, 34.0);
    let polymer = rng.chance(0.55);
    let (frame_mat, frame_profile) = if polymer {
        (FilledNylon, Profile::Pillow { t: 26.0, r: 6.0 })
    } else {
        (Steel, Profile::Flat(rng.range(4.0, 6.0)))
    };
    let rear = -l * 0.5;
    if upper {
        // Slide: two steel walls, thicker top strap.
        o.rect(
            0.0,
            0.0,
            l,
            h,
            3.0,
            0.0,
            Profile::Flat(rng.range(3.5, 5.5)),
            Steel,
        );
        o.rect(
            0.0,
            -h * 0.35,
            l * 0.96,
            h * 0.25,
            2.0,
            0.0,
            Profile::Flat(4.0),
            Steel,
        );
        // Ejection port: a gap in the walls.
        o.rect(
            l * 0.08,
            -h * 0.15,
            l * 0.18,
            h * 0.35,
            1.0,
            0.0,
            Profile::Flat(5.0),
            Steel,
        )
        .density(-1.0);
        // Barrel: a steel tube inside the slide.
        let br = rng.range(5.5, 7.0);
        o.line(
            vec![
                [rear + l * 0.22, h * 0.05],
                [l * 0.5 + rng.range(0.0, 6.0), h * 0.05],
            ],
            br,
            Profile::Tube { r: br, wall: 2.4 },
            Steel,
        );
        // Sights.
        o.rect(
            l * 0.45,
            -h * 0.55,
            6.0,
            4.0,
            1.0,
            0.0,
            Profile::Flat(5.0),
            Steel,
        );
        o.rect(
            rear + 8.0,
            -h * 0.55,
            8.0,
            5.0,
            1.0,
            0.0,
            Profile::Flat(10.0),
            Steel,
        );
        // Recoil spring and guide rod below the barrel.
        let ys = h * 0.42;
        o.line(
            zigzag([rear + l * 0.4, ys], [l * 0.46, ys], 14, 3.0),
            0.6,
            Profile::Solid { r: 0.6 },
            Steel,
        );
        o.line(
            vec![[rear + l * 0.4, ys], [l * 0.46, ys]],
            1.8,
            Profile::Solid { r: 1.8 },
            Steel,
        );
    }
    if lower {
        // Dust cover / rails under the slide.
        let top = h * 0.5;
        o.rect(
            -l * 0.05,
            top + 4.0,
            l * 0.85,
            12.0,
            3.0,
            0.0,
            frame_profile,
            frame_mat,
        );
        // Grip, raked back.
        let rake = rng.range(0.2, 0.38);
        let g = rng.range(80.0, 100.0);
        let gw = rng.range(40.0, 50.0);
        let gx = rear + rng.range(4.0, 10.0);
        let grip = vec![
            [gx, top],
            [gx + gw + 6.0, top],
            [gx + gw - g * rake, top + g],
            [gx - g * rake - 4.0, top + g + 2.0],
            [gx - 8.0, top + 10.0],
        ];
        o.polygon(grip, frame_profile, frame_mat);
        if !polymer {
            // Grip panels (wood or rubber) over the steel frame.
            let panel = vec![
                [gx + 3.0, top + 10.0],
                [gx + gw - 2.0, top + 10.0],
                [gx + gw - 4.0 - g * rake, top + g - 4.0],
                [gx - g * rake, top + g - 4.0],
            ];
            o.polygon(
                panel,
                Profile::Pillow { t: 12.0, r: 4.0 },
                pick_organic(rng),
            );
        }
        // Magazine in the grip: steel walls and a column of rounds.
        let mag_len = g * 0.95;
        let mag_w = gw * 0.62;
        let cx = gx + gw * 0.5 - g * rake * 0.5;
        let cy = top + g * 0.5 + 4.0;
        let ang = std::f32::consts::FRAC_PI_2 + rake.atan();
        let mut mag = Object::new();
        mag.rect(
            0.0,
            0.0,
            mag_len,
            mag_w,
            2.0,
            0.0,
            Profile::Flat(2.0),
            Steel,
        );
        mag.rect(
            mag_len * 0.5 - 3.0,
            0.0,
            6.0,
            mag_w + 4.0,
            1.0,
            0.0,
            Profile::Flat(6.0),
            Steel,
        );
        if rng.chance(0.8) {
            let rounds = rng.int(3, 8);
            for i in 0..rounds {
                let x = -mag_len * 0.5 + 6.0 + i as f32 * 9.5;
                let stagger = if i % 2 == 0 { 1.5 } else { -1.5 };
                let round = cartridge(Caliber::NINE);
                mag.merge(
                    round,
                    Affine::at(
                        x,
                        -mag_w * 0.5 + 3.0 + stagger,
                        std::f32::consts::FRAC_PI_2 - 0.05,
                    )
                    .then(Affine::at(0.0, 0.0, -std::f32::consts::FRAC_PI_2)),
                );
            }
        }
        o.merge(mag, Affine::at(cx, cy, ang));
        // Trigger guard: a loop in front of the grip.
        let gx0 = gx + gw + 2.0;
        let depth = rng.range(18.0, 24.0);
        let len = rng.range(30.0, 40.0);
        let mut guard = vec![[gx0, top + 6.0]];
        guard.extend(
            arc(
                gx0 + len * 0.5,
                top + 6.0 + depth * 0.3,
                len * 0.5,
                std::f32::consts::PI,
                0.0,
                10,
            )
            .into_iter()
            .map(|p| {
                [
                    p[0],
                    top + 6.0 + (p[1] - top - 6.0).abs() * depth / (len * 0.5),
                ]
            }),
        );
        guard.push([gx0 + len, top + 4.0]);
        o.line(guard, 2.8, frame_profile, frame_mat);
        // Trigger.
        o.line(
            vec![
                [gx0 + 8.0, top + 6.0],
                [gx0 + 10.0, top + 14.0],
                [gx0 + 7.0, top + 20.0],
            ],
            2.2,
            Profile::Flat(6.0),
            if polymer { Plastic } else { Steel },
        );
        // Steel parts even polymer frames have: trigger bar, pins, rails.
        o.line(
            vec![[gx0 + 6.0, top + 4.0], [gx - 2.0, top + 4.0]],
            1.2,
            Profile::Flat(3.0),
            Steel,
        );
        for x in [gx0 + 4.0, gx0 + len + 6.0, gx + 4.0] {
            o.ellipse(x, top + 5.0, 1.6, 1.6, 0.0, Profile::Flat(20.0), Steel);
        }
        if !upper {
            // A bare frame: rails on top.
            o.rect(
                -l * 0.05,
                top - 1.0,
                l * 0.8,
                4.0,
                1.0,
                0.0,
                Profile::Flat(5.0),
                Steel,
            );
        }
    }
    o
}

fn pick_organic(rng: &mut Rng) -> Material {
    // Grips: glass-filled polymer (grey-green in a scan), rubber or wood.
    rng.pick(&[FilledNylon, FilledNylon, Rubber, Wood])
}

/// A revolver: barrel, cylinder with rounds, frame, hammer, grip.
fn revolver(rng: &mut Rng) -> Object {
    let mut o = Object::new();
    let barrel = rng.range(55.0, 160.0);
    let bh = rng.range(14.0, 20.0);
    let cyl_l = rng.range(36.0, 44.0);
    let cyl_r = rng.range(17.0, 21.0);
    // Barrel with its bore and an under-lug.
    o.rect(
        barrel * 0.5,
        0.0,
        barrel,
        bh,
        2.0,
        0.0,
        Profile::Flat(12.0),
        Steel,
    );
    o.line(
        vec![[0.0, 0.0], [barrel, 0.0]],
        4.5,
        Profile::Solid { r: 4.5 },
        Steel,
    )
    .density(-1.0);
    if rng.chance(0.5) {
        o.rect(
            barrel * 0.45,
            bh * 0.5 + 4.0,
            barrel * 0.9,
            8.0,
            2.0,
            0.0,
            Profile::Flat(10.0),
            Steel,
        );
    }
    o.rect(
        barrel - 4.0,
        -bh * 0.5 - 3.0,
        5.0,
        5.0,
        1.0,
        0.0,
        Profile::Flat(4.0),
        Steel,
    );
    // Cylinder: a steel drum with chambers; seen side-on, a chord profile.
    let cx = -cyl_l * 0.5 - 3.0;
    o.rect(
        cx,
        4.0,
        cyl_l,
        cyl_r * 2.0,
        3.0,
        0.0,
        Profile::Pillow {
            t: cyl_r * 2.0,
            r: cyl_r,
        },
        Steel,
    )
    .density(0.5);
    let loaded = rng.chance(0.7);
    for k in [-1.0f32, 0.0, 1.0] {
        let y = 4.0 + k * cyl_r * 0.55;
        if loaded {
            o.line(
                vec![[cx - cyl_l * 0.5, y], [cx + cyl_l * 0.5 - 2.0, y]],
                4.6,
                Profile::Solid { r: 4.6 },
                if k == 0.0 { Lead } else { Brass },
            )
            .density(0.6);
        }
    }
    // Frame around the cylinder, then the grip frame and grip.
    o.rect(
        cx,
        -cyl_r + 1.0,
        cyl_l + 12.0,
        7.0,
        2.0,
        0.0,
        Profile::Flat(10.0),
        Steel,
    );
    o.rect(
        cx,
        cyl_r + 8.0,
        cyl_l + 12.0,
        8.0,
        2.0,
        0.0,
        Profile::Flat(10.0),
        Steel,
    );
    let back = cx - cyl_l * 0.5 - 6.0;
    o.rect(
        back,
        4.0,
        12.0,
        cyl_r * 2.0 + 10.0,
        3.0,
        0.0,
        Profile::Flat(12.0),
        Steel,
    );
    let g = rng.range(60.0, 75.0);
    let rake = rng.range(0.35, 0.6);
    let top = cyl_r + 8.0;
    let grip = vec![
        [back + 6.0, top - 6.0],
        [back - 26.0, top - 10.0],
        [back - 26.0 - g * rake, top + g * 0.8],
        [back - 4.0 - g * rake, top + g],
        [back + 10.0 - g * rake * 0.4, top + g * 0.3],
    ];
    o.polygon(
        grip.clone(),
        Profile::Pillow { t: 34.0, r: 9.0 },
        pick_organic(rng),
    )
    .density(1.6);
    // The grip frame's steel strap through the grip.
    o.line(
        vec![
            [back - 6.0, top - 6.0],
            [back - 12.0 - g * rake * 0.6, top + g * 0.6],
        ],
        3.0,
        Profile::Flat(5.0),
        Steel,
    );
    o.ellipse(
        back - 6.0 - g * rake * 0.5,
        top + g * 0.45,
        2.0,
        2.0,
        0.0,
        Profile::Flat(30.0),
        Steel,
    );
    // Hammer spur and trigger guard.
    o.polygon(
        vec![
            [back - 2.0, -cyl_r + 2.0],
            [back - 18.0, -cyl_r - 10.0],
            [back - 20.0, -cyl_r - 4.0],
            [back - 6.0, -cyl_r + 8.0],
        ],
        Profile::Flat(8.0),
        Steel,
    );
    let gx0 = back + 8.0;
    o.line(
        arc(gx0 + 14.0, top + 2.0, 15.0, std::f32::consts::PI, 0.0, 10)
            .into_iter()
            .map(|p| [p[0], top + 2.0 + (p[1] - top - 2.0).abs() * 1.3])
            .collect(),
        2.6,
        Profile::Flat(8.0),
        Steel,
    );
    o.line(
        vec![
            [gx0 + 10.0, top],
            [gx0 + 13.0, top + 10.0],
            [gx0 + 10.0, top + 17.0],
        ],
        2.2,
        Profile::Flat(7.0),
        Steel,
    );
    o
}

/// A knife: kitchen, combat or folding, with an organic or metal handle.
pub fn knife(rng: &mut Rng) -> Group {
    match rng.weighted(&[0.72, 0.13, 0.15]) {
        0 => knife_face_on(rng),
        1 => Group::single(utility_knife(rng).centred(), KNIFE),
        _ => Group::single(knife_edge_on(rng).centred(), KNIFE),
    }
}

/// A knife lying on its side, seen edge-on: the blade a thin dark line (the beam runs through
/// its whole height), the handle a narrow bar.
fn knife_edge_on(rng: &mut Rng) -> Object {
    let mut o = Object::new();
    let lb = rng.range(70.0, 220.0);
    let hb = rng.range(18.0, 45.0);
    let bt = rng.range(1.6, 3.5);
    // Spine to edge along the beam: a wedge, thickest at the spine, averaged over the height.
    o.polygon(
        vec![
            [0.0, -bt * 0.5],
            [lb * 0.85, -bt * 0.4],
            [lb, 0.0],
            [lb * 0.85, bt * 0.4],
            [0.0, bt * 0.5],
        ],
        Profile::Flat(hb * 0.55),
        Steel,
    );
    let lh = rng.range(90.0, 130.0);
    let hw = rng.range(12.0, 20.0);
    o.rect(
        -lh * 0.5,
        0.0,
        lh,
        hw,
        hw * 0.4,
        0.0,
        Profile::Pillow { t: 24.0, r: 6.0 },
        pick_organic(rng),
    );
    o.rect(
        -lh * 0.5,
        0.0,
        lh * 0.95,
        bt * 1.2,
        0.5,
        0.0,
        Profile::Flat(hw * 0.6),
        Steel,
    );
    if rng.chance(0.4) {
        o.rect(
            -2.0,
            0.0,
            5.0,
            hw + 12.0,
            1.5,
            0.0,
            Profile::Flat(8.0),
            Steel,
        );
    }
    o
}

/// A utility knife (box cutter): a trapezoid blade out of a metal or plastic body.
fn utility_knife(rng: &mut Rng) -> Object {
    let mut o = Object::new();
    let l = rng.range(120.0, 165.0);
    let w = rng.range(18.0, 26.0);
    let metal = rng.chance(0.5);
    o.rect(
        0.0,
        0.0,
        l,
        w,
        4.0,
        0.0,
        Profile::Tube {
            r: w * 0.5,
            wall: if metal { 1.2 } else { 2.0 },
        },
        if metal { Aluminium } else { Plastic },
    );
    // The blade, snap-off segments or a trapezoid, half out of the nose.
    let out = rng.range(8.0, 30.0);
    let bl = 60.0 + out;
    let x0 = l * 0.5 - bl + out;
    o.polygon(
        vec![
            [x0, -w * 0.3],
            [x0 + bl, -w * 0.3],
            [x0 + bl - 9.0, w * 0.3],
            [x0 + 9.0, w * 0.3],
        ],
        Profile::Flat(0.6),
        Steel,
    );
    for k in 1..6 {
        let x = x0 + k as f32 * bl / 6.0;
        o.line(
            vec![[x, -w * 0.3], [x + 6.0, w * 0.3]],
            0.3,
            Profile::Flat(0.3),
            Steel,
        )
        .density(-1.0);
    }
    o.rect(
        l * 0.5 - 3.0,
        0.0,
        6.0,
        w,
        1.0,
        0.0,
        Profile::Flat(6.0),
        Steel,
    );
    o.rect(
        0.0,
        -w * 0.5,
        18.0,
        6.0,
        1.0,
        0.0,
        Profile::Flat(5.0),
        Steel,
    );
    o
}

/// A kitchen, combat or folding knife lying flat.
fn knife_face_on(rng: &mut Rng) -> Group {
    let mut o = Object::new();
    let kind = rng.weighted(&[0.4, 0.3, 0.3]);
    let (lb, hb) = match kind {
        0 => (rng.range(110.0, 230.0), rng.range(24.0, 50.0)),
        1 => (rng.range(100.0, 190.0), rng.range(24.0, 38.0)),
        _ => (rng.range(60.0, 105.0), rng.range(16.0, 28.0)),
    };
    let bt = rng.range(1.8, 4.0);
    // Blade along +x from the handle (x = 0); spine at y = 0, edge at y = hb.
    let mut blade = Vec::new();
    let steps = 14;
    match kind {
        0 => {
            // Chef's / kitchen knife: straight spine, edge curving up to the tip.
            blade.push([0.0, 0.0]);
            blade.push([lb * 0.7, 0.0]);
            blade.push([lb, hb * 0.15]);
            for i in (0..=steps).rev() {
                let t = i as f32 / steps as f32;
                let x = lb * t;
                let y = hb * (1.0 - t.powf(2.6)) + hb * 0.15 * t.powf(2.6);
                blade.push([x, y]);
            }
        }
        1 => {
            // Combat clip point: spine, clip down to the tip, belly up to it.
            let tip_y = hb * 0.4;
            blade.push([0.0, 0.0]);
            blade.push([lb * 0.62, 0.0]);
            blade.push([lb, tip_y]);
            for i in (0..=steps).rev() {
                let t = i as f32 / steps as f32;
                let x = lb * t;
                let belly = ((t - 0.6) / 0.4).clamp(0.0, 1.0);
                let y = hb - (hb - tip_y) * belly * belly;
                blade.push([x, y]);
            }
        }
        _ => {
            // Drop point folding blade.
            blade.push([0.0, 0.0]);
            for i in 0..=steps {
                let t = i as f32 / steps as f32;
                blade.push([lb * t, hb * 0.45 * (t * t)]);
            }
            for i in (0..=steps).rev() {
                let t = i as f32 / steps as f32;
                let belly = ((t - 0.55) / 0.45).clamp(0.0, 1.0);
                blade.push([lb * t, hb - (hb * 0.55) * belly.powf(1.6)]);
            }
        }
    }
    let blade_profile = Profile::Pillow {
        t: bt,
        r: hb * 0.35,
    };
    let folded = kind == 2 && rng.chance(0.35);
    // Handle.
    let lh = match kind {
        0 => rng.range(95.0, 135.0),
        1 => rng.range(100.0, 130.0),
        _ => lb * rng.range(1.05, 1.25),
    };
    let hh = match kind {
        2 => hb * rng.range(0.9, 1.1),
        _ => rng.range(20.0, 28.0),
    };
    let hy = hb * 0.45;
    let metal_handle = rng.chance(if kind == 2 { 0.4 } else { 0.2 });
    if folded {
        // Closed folding knife: blade lies inside the handle.
        let pts: Vec<[f32; 2]> = blade
            .iter()
            .map(|p| [-p[0] - 4.0, hy * 2.0 - p[1] - hh * 0.1])
            .collect();
        o.polygon(pts, blade_profile, Steel);
    } else {
        o.polygon(blade.clone(), blade_profile, Steel);
        if kind == 1 && rng.chance(0.6) {
            // Fuller: a groove along the spine.
            o.line(
                vec![[lb * 0.08, hb * 0.3], [lb * 0.55, hb * 0.3]],
                hb * 0.08,
                Profile::Flat(bt * 0.4),
                Steel,
            )
            .density(-1.0);
        }
    }
    if metal_handle {
        o.rect(
            -lh * 0.5,
            hy,
            lh,
            hh,
            hh * 0.4,
            0.0,
            Profile::Flat(rng.range(2.0, 4.0)),
            Steel,
        );
        o.rect(
            -lh * 0.5,
            hy,
            lh * 0.9,
            hh * 0.6,
            hh * 0.3,
            0.0,
            Profile::Flat(1.5),
            Steel,
        )
        .density(-0.5);
    } else {
        o.rect(
            -lh * 0.5,
            hy,
            lh,
            hh,
            hh * 0.4,
            0.0,
            Profile::Pillow {
                t: hh * 0.7,
                r: 6.0,
            },
            pick_organic(rng),
        );
        match kind {
            2 => {
                // Liners.
                o.rect(
                    -lh * 0.5,
                    hy,
                    lh * 0.95,
                    hh * 0.85,
                    hh * 0.35,
                    0.0,
                    Profile::Flat(2.4),
                    if rng.chance(0.5) { Steel } else { Aluminium },
                );
            }
            _ if rng.chance(0.6) => {
                // Full tang with rivets.
                o.rect(
                    -lh * 0.5,
                    hy,
                    lh * 0.96,
                    hh * 0.6,
                    3.0,
                    0.0,
                    Profile::Flat(bt),
                    Steel,
                );
                let n = rng.int(2, 3);
                let rivet = rng.pick(&[Steel, Brass]);
                for i in 0..n {
                    let x = -lh * (0.18 + 0.64 * i as f32 / (n - 1).max(1) as f32);
                    o.ellipse(x, hy, 2.6, 2.6, 0.0, Profile::Flat(hh * 0.7), rivet);
                }
            }
            _ => {
                // Rat-tail tang.
                o.line(
                    vec![[0.0, hy], [-lh * 0.75, hy]],
                    2.5,
                    Profile::Flat(bt * 1.2),
                    Steel,
                );
            }
        }
    }
    if kind == 1 {
        // Cross guard.
        o.rect(
            -2.0,
            hy,
            6.0,
            hh + rng.range(14.0, 24.0),
            2.0,
            0.0,
            Profile::Flat(6.0),
            Steel,
        );
        o.rect(
            -lh - 3.0,
            hy,
            8.0,
            hh + 2.0,
            3.0,
            0.0,
            Profile::Flat(8.0),
            Steel,
        );
    } else if kind == 0 && rng.chance(0.5) {
        o.rect(-3.0, hy, 7.0, hh + 4.0, 2.0, 0.0, Profile::Flat(5.0), Steel);
    } else if kind == 2 {
        // Pivot and clip.
        o.ellipse(-4.0, hy, 3.5, 3.5, 0.0, Profile::Flat(12.0), Steel);
        if rng.chance(0.6) {
            o.rect(
                -lh * 0.6,
                hy - hh * 0.3,
                lh * 0.6,
                7.0,
                2.0,
                0.0,
                Profile::Flat(1.5),
                Steel,
            );
        }
    }
    Group::single(o.centred(), KNIFE)
}

/// Cartridge dimensions in millimetres.
#[derive(Debug, Clone, Copy)]
struct Caliber {
    case_len: f32,
    case_r: f32,
    neck_r: f32,
    bullet_len: f32,
    bullet_r: f32,
}

impl Caliber {
    const NINE: Caliber = Caliber {
        case_len: 19.0,
        case_r: 4.95,
        neck_r: 4.8,
        bullet_len: 10.0,
        bullet_r: 4.5,
    };
    const ALL: [Caliber; 7] = [
        Caliber::NINE,
        // .45 ACP
        Caliber {
            case_len: 23.0,
            case_r: 6.0,
            neck_r: 6.0,
            bullet_len: 9.0,
            bullet_r: 5.7,
        },
        // 5.56 / .223
        Caliber {
            case_len: 45.0,
            case_r: 4.8,
            neck_r: 3.2,
            bullet_len: 12.0,
            bullet_r: 2.85,
        },
        // 7.62x39
        Caliber {
            case_len: 39.0,
            case_r: 5.6,
            neck_r: 4.3,
            bullet_len: 17.0,
            bullet_r: 3.95,
        },
        // .308 Winchester / 7.62x51
        Caliber {
            case_len: 51.0,
            case_r: 6.0,
            neck_r: 4.4,
            bullet_len: 20.0,
            bullet_r: 3.9,
        },
        // 12.7x99 / .50 BMG: the largest round a bag may hold, still far smaller than a gun.
        Caliber {
            case_len: 99.0,
            case_r: 10.2,
            neck_r: 7.0,
            bullet_len: 39.0,
            bullet_r: 6.5,
        },
        // .38 Special
        Caliber {
            case_len: 29.0,
            case_r: 4.8,
            neck_r: 4.8,
            bullet_len: 8.0,
            bullet_r: 4.5,
        },
    ];
}

/// One cartridge lying on its side: base at x = 0, bullet towards +x.
fn cartridge(c: Caliber) -> Object {
    let mut o = Object::new();
    let body = if c.neck_r < c.case_r - 0.3 {
        c.case_len * 0.78
    } else {
        c.case_len
    };
    // Brass case: a thin tube (bright edges) with a solid head.
    o.line(
        vec![[1.0, 0.0], [body - c.case_r * 0.2, 0.0]],
        c.case_r,
        Profile::Tube {
            r: c.case_r,
            wall: 0.8,
        },
        Brass,
    );
    if body < c.case_len {
        o.polygon(
            vec![
                [body - 1.0, -c.case_r],
                [body + 2.0, -c.neck_r],
                [c.case_len, -c.neck_r],
                [c.case_len, c.neck_r],
                [body + 2.0, c.neck_r],
                [body - 1.0, c.case_r],
            ],
            Profile::Tube {
                r: c.neck_r,
                wall: 0.8,
            },
            Brass,
        );
    }
    o.rect(
        1.5,
        0.0,
        3.0,
        c.case_r * 2.1,
        0.6,
        0.0,
        Profile::Solid { r: c.case_r },
        Brass,
    );
    // Powder.
    o.line(
        vec![[3.5, 0.0], [c.case_len - 2.0, 0.0]],
        c.case_r - 0.6,
        Profile::Solid { r: c.case_r - 0.6 },
        Material::DenseOrganic,
    )
    .density(0.8);
    // Bullet: lead core with an ogive nose.
    let seat = c.case_len - c.bullet_len * 0.35;
    let tip = c.case_len + c.bullet_len;
    let r = c.bullet_r;
    let mut pts = vec![[seat, -r], [tip - r * 1.6, -r]];
    for i in 1..6 {
        let t = i as f32 / 6.0;
        pts.push([
            tip - r * 1.6 * (1.0 - t),
            -r * (1.0 - t * t).sqrt().max(0.25),
        ]);
    }
    pts.push([tip, 0.0]);
    for i in (1..6).rev() {
        let t = i as f32 / 6.0;
        pts.push([
            tip - r * 1.6 * (1.0 - t),
            r * (1.0 - t * t).sqrt().max(0.25),
        ]);
    }
    pts.push([tip - r * 1.6, r]);
    pts.push([seat, r]);
    o.polygon(pts, Profile::Solid { r }, Lead).density(0.85);
    o
}

/// One cartridge standing on its base (seen along its axis, as in a box of rounds).
fn cartridge_end_on(c: Caliber) -> Object {
    let mut o = Object::new();
    // Head and walls seen edge-on: a dense ring, the bullet a dense core.
    o.ellipse(0.0, 0.0, c.case_r, c.case_r, 0.0, Profile::Flat(3.0), Brass);
    o.line(
        arc(0.0, 0.0, c.case_r - 0.3, 0.0, std::f32::consts::TAU, 16),
        0.3,
        Profile::Flat(c.case_len),
        Brass,
    );
    o.ellipse(
        0.0,
        0.0,
        c.bullet_r,
        c.bullet_r,
        0.0,
        Profile::Flat(c.bullet_len * 0.9),
        Lead,
    );
    o
}

/// Ammunition: a loose handful, a box of rounds, or a loaded magazine; one label for all.
pub fn ammunition(rng: &mut Rng) -> Group {
    let c = Caliber::ALL[rng.weighted(&[3.0, 1.5, 1.5, 1.5, 1.0, 0.3, 1.0])];
    let mut o = Object::new();
    match rng.weighted(&[0.3, 0.25, 0.25, 0.2]) {
        3 => {
            // Loose rounds side by side, or a single large round.
            let n = if rng.chance(0.2) { 1 } else { rng.int(2, 8) };
            let gap = rng.range(0.0, 3.0);
            for i in 0..n {
                let flip = rng.chance(0.15);
                let y = i as f32 * (c.case_r * 2.0 + gap);
                let len = c.case_len + c.bullet_len;
                let pose = if flip {
                    Affine::at(len, y, std::f32::consts::PI)
                } else {
                    Affine::at(rng.range(-2.0, 2.0), y, rng.range(-0.05, 0.05))
                };
                o.merge(cartridge(c), pose);
            }
        }
        0 => {
            // Loose rounds in a heap.
            let n = rng.int(4, 20);
            let spread = 10.0 + (n as f32).sqrt() * 11.0;
            for _ in 0..n {
                let a = rng.angle();
                let rr = spread * rng.f32().sqrt();
                o.merge(
                    cartridge(c),
                    Affine::at(rr * a.cos(), rr * a.sin(), rng.angle()),
                );
            }
        }
        1 => {
            // A box of rounds: standing in a grid, or lying in rows.
            let (cols, rows) = (rng.int(4, 10), rng.int(2, 5));
            let standing = rng.chance(0.5);
            let pitch = c.case_r * 2.0 + 1.0;
            let len = c.case_len + c.bullet_len;
            let (bw, bh) = if standing {
                (cols as f32 * pitch + 6.0, rows as f32 * pitch + 6.0)
            } else {
                (cols as f32 * pitch + 6.0, rows as f32 * (len + 3.0) + 6.0)
            };
            let shell = if rng.chance(0.5) {
                Material::Cardboard
            } else {
                Material::Plastic
            };
            o.rect(0.0, 0.0, bw, bh, 2.0, 0.0, Profile::Flat(3.0), shell);
            o.line(
                super::rounded_rect_path(bw, bh, 2.0),
                1.0,
                Profile::Flat(if standing { len } else { c.case_r * 2.0 }),
                shell,
            );
            for j in 0..rows {
                for i in 0..cols {
                    if rng.chance(0.08) {
                        continue;
                    }
                    let x = -bw * 0.5 + 3.0 + pitch * (i as f32 + 0.5);
                    if standing {
                        let y = -bh * 0.5 + 3.0 + pitch * (j as f32 + 0.5);
                        o.merge(cartridge_end_on(c), Affine::at(x, y, 0.0));
                    } else {
                        let y = -bh * 0.5 + 3.0 + (len + 3.0) * j as f32;
                        o.merge(cartridge(c), Affine::at(x, y, std::f32::consts::FRAC_PI_2));
                    }
                }
            }
        }
        _ => {
            // A loaded box magazine: steel body, stacked rounds, spring.
            let n = rng.int(5, 15);
            let len = c.case_len + c.bullet_len;
            let mag_l = n as f32 * c.case_r * 1.15 + 30.0;
            let mag_w = len + 5.0;
            o.rect(0.0, 0.0, mag_w, mag_l, 3.0, 0.0, Profile::Flat(2.2), Steel);
            o.line(
                super::rounded_rect_path(mag_w, mag_l, 3.0),
                1.0,
                Profile::Flat(12.0),
                Steel,
            );
            o.rect(
                0.0,
                mag_l * 0.5 + 2.0,
                mag_w + 6.0,
                6.0,
                2.0,
                0.0,
                Profile::Flat(10.0),
                Steel,
            );
            for i in 0..n {
                let y = -mag_l * 0.5 + 6.0 + i as f32 * c.case_r * 1.15;
                let x = if i % 2 == 0 { -1.5 } else { 1.5 };
                o.merge(cartridge(c), Affine::at(x - len * 0.5, y + c.case_r, -0.04));
            }
            let y0 = -mag_l * 0.5 + 6.0 + n as f32 * c.case_r * 1.15 + 4.0;
            o.line(
                zigzag([0.0, y0], [0.0, mag_l * 0.5 - 2.0], 5, mag_w * 0.35),
                0.8,
                Profile::Solid { r: 0.8 },
                Steel,
            );
        }
    }
    Group::single(o.centred(), AMMUNITION)
}

/// Items that look a bit like weapons but are not (tools); benign and never labelled.
pub fn tool(rng: &mut Rng) -> Object {
    let mut o = Object::new();
    match rng.int(0, 3) {
        0 => {
            // Screwdriver.
            let l = rng.range(70.0, 160.0);
            o.line(
                vec![[0.0, 0.0], [l, 0.0]],
                3.0,
                Profile::Solid { r: 3.0 },
                Steel,
            );
            o.rect(
                -45.0,
                0.0,
                95.0,
                26.0,
                11.0,
                0.0,
                Profile::Pillow { t: 26.0, r: 12.0 },
                Plastic,
            );
        }
        1 => {
            // Pliers.
            let l = rng.range(140.0, 200.0);
            let spread = rng.range(0.08, 0.3);
            for s in [-1.0f32, 1.0] {
                o.line(
                    vec![[0.0, 0.0], [l * 0.35, s * 4.0], [l, s * l * spread * 0.5]],
                    5.0,
                    Profile::Flat(7.0),
                    Steel,
                );
                o.line(
                    vec![[l * 0.45, s * 6.0], [l, s * l * spread * 0.5]],
                    7.0,
                    Profile::Pillow { t: 10.0, r: 4.0 },
                    Rubber,
                );
                o.polygon(
                    vec![[0.0, 0.0], [-50.0, s * 7.0], [-50.0, s * 1.0]],
                    Profile::Flat(8.0),
                    Steel,
                );
            }
            o.ellipse(l * 0.3, 0.0, 6.0, 6.0, 0.0, Profile::Flat(12.0), Steel);
        }
        2 => {
            // Spanner.
            let l = rng.range(120.0, 220.0);
            o.rect(0.0, 0.0, l, 14.0, 5.0, 0.0, Profile::Flat(5.0), Steel);
            o.ellipse(l * 0.5, 0.0, 14.0, 14.0, 0.0, Profile::Flat(6.0), Steel);
            o.ellipse(l * 0.5 + 8.0, 0.0, 6.0, 7.0, 0.0, Profile::Flat(6.0), Steel)
                .density(-1.0);
            o.line(
                arc(-l * 0.5, 0.0, 9.0, 0.0, std::f32::consts::TAU, 12),
                3.0,
                Profile::Flat(6.0),
                Steel,
            );
        }
        _ => {
            // Scissors (small, blunt).
            let l = rng.range(90.0, 160.0);
            let a = rng.range(0.05, 0.25);
            for s in [-1.0f32, 1.0] {
                o.polygon(
                    vec![
                        [0.0, s * 2.0],
                        [l * 0.6, s * (2.0 + l * a * 0.3)],
                        [l * 0.6, s * (6.0 + l * a * 0.3)],
                        [0.0, s * 7.0],
                    ],
                    Profile::Flat(2.2),
                    Steel,
                );
                o.line(
                    arc(-20.0, s * 14.0, 11.0, 0.0, std::f32::consts::TAU, 14),
                    3.5,
                    Profile::Pillow { t: 8.0, r: 3.0 },
                    Plastic,
                );
            }
            o.ellipse(0.0, 0.0, 3.0, 3.0, 0.0, Profile::Flat(6.0), Steel);
        }
    }
    o.centred()
}
