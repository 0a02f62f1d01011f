//! Benign clutter: what fills real bags. Never labelled; some items (tools, hair dryers,
//! power banks, tablets) are there to teach the detector what not to alarm on.

use std::f32::consts::{PI, TAU};

use super::{arc, blob, rounded_rect_path, wander, weapons, zigzag};
use crate::{
    material::Material::{self, *},
    rng::Rng,
    shape::{Affine, Object, Profile},
};

/// One random benign item, centred on its origin.
pub fn item(rng: &mut Rng) -> Object {
    let weights = [
        6.0, // clothes
        1.2, // shoes
        1.6, // bottle
        0.5, // laptop
        1.4, // charger and cable
        0.9, // book
        1.0, // food
        0.6, // keys
        0.5, // coins
        0.4, // umbrella
        0.6, // belt
        0.5, // headphones
        0.8, // pens
        0.3, // hair dryer
        0.5, // tools
        0.9, // toiletry bag
        0.5, // power bank / tablet
        0.4, // glasses
        0.3, // watch
        0.5, // cans
    ];
    let o = match rng.weighted(&weights) {
        0 => clothes(rng),
        1 => shoe(rng),
        2 => bottle(rng),
        3 => laptop(rng),
        4 => charger(rng),
        5 => book(rng),
        6 => food(rng),
        7 => keys(rng),
        8 => coins(rng),
        9 => umbrella(rng),
        10 => belt(rng),
        11 => headphones(rng),
        12 => pens(rng),
        13 => hair_dryer(rng),
        14 => weapons::tool(rng),
        15 => toiletry_bag(rng),
        16 => power_bank(rng),
        17 => glasses(rng),
        18 => watch(rng),
        _ => can(rng),
    };
    o.centred()
}

/// Folded clothes of a random size.
fn clothes(rng: &mut Rng) -> Object {
    let (w, h) = (rng.range(160.0, 380.0), rng.range(120.0, 300.0));
    garment(rng, w, h)
}

/// A soft filler layer `w` x `h` mm: folded clothes with folds, buttons, zips or underwire.
pub fn garment(rng: &mut Rng, w: f32, h: f32) -> Object {
    let mut o = Object::new();
    let t = rng.range(15.0, 60.0);
    let seed = rng.next_u64() as u32;
    let mat = if rng.chance(0.8) { Fabric } else { Rubber };
    let dens = if mat == Rubber { 0.35 } else { 1.0 };
    if rng.chance(0.6) {
        o.rect(
            0.0,
            0.0,
            w,
            h,
            rng.range(5.0, 40.0),
            0.0,
            Profile::Pillow {
                t,
                r: rng.range(10.0, 40.0),
            },
            mat,
        )
        .density(dens)
        .texture(rng.range(15.0, 45.0), rng.range(0.2, 0.45), seed);
        // Fold lines: thicker bands where the cloth doubles.
        for _ in 0..rng.int(0, 3) {
            let y = rng.range(-h * 0.4, h * 0.4);
            o.rect(
                0.0,
                y,
                w * 0.98,
                rng.range(8.0, 20.0),
                4.0,
                0.0,
                Profile::Pillow {
                    t: t * 0.25,
                    r: 5.0,
                },
                mat,
            )
            .density(dens);
        }
    } else {
        o.polygon(
            blob(rng, w * 0.5, h * 0.5, 0.15),
            Profile::Pillow {
                t,
                r: rng.range(20.0, 50.0),
            },
            mat,
        )
        .density(dens)
        .texture(rng.range(12.0, 40.0), rng.range(0.25, 0.5), seed);
    }
    match rng.int(0, 5) {
        0 => {
            for i in 0..rng.int(3, 7) {
                let y = -h * 0.35 + i as f32 * rng.range(18.0, 26.0);
                o.ellipse(w * 0.1, y, 5.5, 5.5, 0.0, Profile::Flat(3.0), Plastic);
            }
        }
        1 => {
            let x = rng.range(-w * 0.3, w * 0.3);
            o.line(
                vec![[x, -h * 0.4], [x + rng.range(-10.0, 10.0), h * 0.2]],
                2.5,
                Profile::Flat(1.2),
                Steel,
            )
            .density(0.6);
            o.rect(x, -h * 0.4, 6.0, 12.0, 1.0, 0.0, Profile::Flat(2.0), Steel);
        }
        2 => {
            let (cx, cy) = (rng.range(-w * 0.2, w * 0.2), rng.range(-h * 0.2, h * 0.2));
            for s in [-1.0f32, 1.0] {
                o.line(
                    arc(cx + s * 35.0, cy, 30.0, 0.3, PI - 0.3, 10),
                    0.8,
                    Profile::Solid { r: 0.8 },
                    Steel,
                );
            }
        }
        _ => {}
    }
    o
}

fn shoe(rng: &mut Rng) -> Object {
    let mut o = Object::new();
    let l = rng.range(220.0, 310.0);
    let w = l * rng.range(0.33, 0.4);
    let sole: Vec<[f32; 2]> = (0..24)
        .map(|i| {
            let a = TAU * i as f32 / 24.0;
            let k = if a.cos() > 0.0 { 1.0 } else { 0.82 };
            [
                l * 0.5 * a.cos(),
                w * 0.5 * a.sin() * k * (1.0 - 0.15 * (2.0 * a).cos()),
            ]
        })
        .collect();
    o.polygon(
        sole.clone(),
        Profile::Pillow {
            t: rng.range(20.0, 40.0),
            r: 10.0,
        },
        Rubber,
    );
    o.polygon(
        sole,
        Profile::Pillow {
            t: rng.range(40.0, 80.0),
            r: 30.0,
        },
        Fabric,
    )
    .density(0.8);
    if rng.chance(0.4) {
        o.rect(
            -l * 0.1,
            0.0,
            rng.range(70.0, 100.0),
            10.0,
            2.0,
            0.0,
            Profile::Flat(1.5),
            Steel,
        );
    }
    if rng.chance(0.5) {
        for i in 0..rng.int(4, 7) {
            let x = l * 0.05 + i as f32 * 12.0;
            for s in [-1.0f32, 1.0] {
                o.line(
                    arc(x, s * w * 0.18, 2.5, 0.0, TAU, 8),
                    0.5,
                    Profile::Flat(3.0),
                    rng.pick(&[Steel, Aluminium]),
                );
            }
        }
    }
    o
}

fn bottle(rng: &mut Rng) -> Object {
    let mut o = Object::new();
    let glass = rng.chance(0.3);
    let l = rng.range(90.0, 280.0);
    let r = rng.range(18.0, 45.0).min(l * 0.3);
    let fill = rng.range(0.3, 1.0);
    let wall = if glass { rng.range(2.5, 5.0) } else { 0.5 };
    let mat = if glass { Glass } else { Plastic };
    // Body seen side-on: a tube of glass/plastic, full of liquid up to the fill line.
    o.rect(
        0.0,
        0.0,
        l,
        r * 2.0,
        r * 0.6,
        0.0,
        Profile::Tube { r, wall },
        mat,
    );
    let liquid_l = l * fill;
    let liquid: Material = if rng.chance(0.85) { Water } else { Food };
    o.rect(
        -l * 0.5 + liquid_l * 0.5,
        0.0,
        liquid_l,
        r * 2.0 - 2.0 * wall,
        r * 0.5,
        0.0,
        Profile::Solid { r: r - wall },
        liquid,
    );
    // Neck and cap.
    let nr = r * rng.range(0.3, 0.5);
    o.rect(
        l * 0.5 + 15.0,
        0.0,
        30.0,
        nr * 2.0,
        2.0,
        0.0,
        Profile::Tube {
            r: nr,
            wall: wall + 0.5,
        },
        mat,
    );
    let cap_mat = if rng.chance(0.3) { Aluminium } else { Plastic };
    o.rect(
        l * 0.5 + 33.0,
        0.0,
        12.0,
        nr * 2.0 + 4.0,
        2.0,
        0.0,
        Profile::Solid { r: nr + 2.0 },
        cap_mat,
    )
    .density(0.5);
    if rng.chance(0.3) {
        // Pump spray: spring and dip tube.
        o.line(
            vec![[l * 0.5 + 30.0, 0.0], [-l * 0.45, 0.0]],
            1.0,
            Profile::Tube { r: 1.0, wall: 0.3 },
            Plastic,
        );
        o.line(
            zigzag([l * 0.5 + 20.0, 0.0], [l * 0.5 + 34.0, 0.0], 6, 2.5),
            0.3,
            Profile::Solid { r: 0.3 },
            Steel,
        );
    }
    o
}

fn laptop(rng: &mut Rng) -> Object {
    let mut o = Object::new();
    let (w, h) = (rng.range(290.0, 380.0), rng.range(200.0, 260.0));
    let case = if rng.chance(0.6) { Aluminium } else { Plastic };
    let ct = if case == Aluminium { 2.4 } else { 5.0 };
    o.rect(0.0, 0.0, w, h, 8.0, 0.0, Profile::Flat(ct), case);
    o.line(rounded_rect_path(w, h, 8.0), 1.2, Profile::Flat(12.0), case);
    // Screen panel (glass) and keyboard plate.
    o.rect(
        0.0,
        0.0,
        w - 10.0,
        h - 10.0,
        6.0,
        0.0,
        Profile::Flat(1.4),
        Glass,
    );
    o.rect(
        0.0,
        -h * 0.1,
        w * 0.85,
        h * 0.4,
        3.0,
        0.0,
        Profile::Flat(0.8),
        Steel,
    )
    .density(0.5);
    // Battery cells along the front.
    let cells = rng.int(3, 6);
    let cw = w * 0.8 / cells as f32;
    for i in 0..cells {
        let x = -w * 0.4 + cw * (i as f32 + 0.5);
        o.rect(
            x,
            h * 0.28,
            cw - 3.0,
            h * 0.3,
            2.0,
            0.0,
            Profile::Flat(5.0),
            Battery,
        );
    }
    // Main board, heat pipe, fan, hinge.
    o.rect(
        -w * 0.15,
        -h * 0.22,
        w * 0.5,
        h * 0.28,
        3.0,
        0.0,
        Profile::Flat(1.5),
        Pcb,
    );
    for _ in 0..rng.int(4, 9) {
        o.rect(
            rng.range(-w * 0.35, w * 0.05),
            rng.range(-h * 0.33, -h * 0.12),
            rng.range(6.0, 25.0),
            rng.range(6.0, 20.0),
            1.0,
            0.0,
            Profile::Flat(rng.range(0.5, 2.0)),
            rng.pick(&[Copper, Steel, Pcb]),
        );
    }
    let fan = [w * 0.25, -h * 0.25];
    o.line(
        arc(fan[0], fan[1], 28.0, 0.0, TAU, 20),
        1.5,
        Profile::Flat(6.0),
        Plastic,
    );
    o.ellipse(fan[0], fan[1], 8.0, 8.0, 0.0, Profile::Flat(6.0), Copper);
    o.line(
        vec![[-w * 0.05, -h * 0.25], [fan[0] - 28.0, fan[1]]],
        3.5,
        Profile::Tube { r: 3.5, wall: 0.6 },
        Copper,
    );
    o.rect(
        0.0,
        -h * 0.5 + 6.0,
        w * 0.7,
        6.0,
        2.0,
        0.0,
        Profile::Flat(4.0),
        Steel,
    );
    for (sx, sy) in [
        (-1.0f32, -1.0f32),
        (1.0, -1.0),
        (-1.0, 1.0),
        (1.0, 1.0),
        (0.0, 1.0),
    ] {
        o.ellipse(
            sx * w * 0.46,
            sy * h * 0.45,
            1.0,
            1.0,
            0.0,
            Profile::Flat(5.0),
            Steel,
        );
    }
    o
}

fn charger(rng: &mut Rng) -> Object {
    let mut o = Object::new();
    let (bw, bh) = (rng.range(30.0, 70.0), rng.range(30.0, 55.0));
    o.rect(
        0.0,
        0.0,
        bw,
        bh,
        6.0,
        0.0,
        Profile::Pillow { t: 28.0, r: 8.0 },
        Plastic,
    );
    // Transformer / board inside and prongs.
    o.rect(
        0.0,
        0.0,
        bw * 0.5,
        bh * 0.5,
        2.0,
        0.0,
        Profile::Flat(rng.range(4.0, 10.0)),
        rng.pick(&[Steel, Copper]),
    );
    o.rect(
        -bw * 0.1,
        0.0,
        bw * 0.7,
        bh * 0.7,
        1.0,
        0.0,
        Profile::Flat(1.5),
        Pcb,
    );
    if rng.chance(0.6) {
        for s in [-1.0f32, 1.0] {
            o.rect(
                bw * 0.5 + 8.0,
                s * 8.0,
                18.0,
                4.0,
                1.0,
                0.0,
                Profile::Flat(2.0),
                Copper,
            );
        }
    }
    // Cable: copper core in insulation, wandering off.
    let n = rng.int(10, 40);
    let (heading, step) = (PI + rng.range(-0.5, 0.5), rng.range(10.0, 18.0));
    let pts = wander(rng, [-bw * 0.5, 0.0], heading, n, step, 0.35);
    let end = pts.last().copied().unwrap_or([0.0, 0.0]);
    o.line(pts.clone(), 2.0, Profile::Solid { r: 2.0 }, Plastic);
    o.line(pts, 0.7, Profile::Solid { r: 0.7 }, Copper);
    o.rect(
        end[0],
        end[1],
        14.0,
        9.0,
        2.0,
        0.0,
        Profile::Pillow { t: 7.0, r: 2.0 },
        Plastic,
    );
    o.rect(
        end[0],
        end[1],
        8.0,
        6.0,
        1.0,
        0.0,
        Profile::Flat(1.0),
        Steel,
    );
    o
}

fn book(rng: &mut Rng) -> Object {
    let mut o = Object::new();
    let (w, h) = (rng.range(120.0, 240.0), rng.range(170.0, 300.0));
    let t = rng.range(8.0, 45.0);
    o.rect(
        0.0,
        0.0,
        w,
        h,
        1.5,
        0.0,
        Profile::Pillow { t, r: 2.0 },
        Paper,
    );
    o.rect(
        -w * 0.5 + 4.0,
        0.0,
        8.0,
        h,
        2.0,
        0.0,
        Profile::Pillow { t: t + 4.0, r: 3.0 },
        Cardboard,
    );
    if rng.chance(0.2) {
        // A binder ring or spiral.
        for i in 0..((h / 8.0) as usize) {
            o.ellipse(
                -w * 0.5 + 3.0,
                -h * 0.5 + 4.0 + i as f32 * 8.0,
                3.0,
                1.0,
                0.0,
                Profile::Flat(4.0),
                Steel,
            );
        }
    }
    o
}

fn food(rng: &mut Rng) -> Object {
    let mut o = Object::new();
    let seed = rng.next_u64() as u32;
    match rng.int(0, 3) {
        0 => {
            // Fruit.
            let r = rng.range(30.0, 45.0);
            o.ellipse(
                0.0,
                0.0,
                r,
                r * rng.range(0.85, 1.0),
                0.0,
                Profile::Solid { r },
                Water,
            )
            .density(0.85);
        }
        1 => {
            // Chocolate / snack bar with foil.
            let (w, h) = (rng.range(80.0, 160.0), rng.range(40.0, 80.0));
            o.rect(
                0.0,
                0.0,
                w,
                h,
                2.0,
                0.0,
                Profile::Flat(rng.range(8.0, 20.0)),
                Food,
            );
            if rng.chance(0.5) {
                o.rect(0.0, 0.0, w, h, 2.0, 0.0, Profile::Flat(0.2), Aluminium);
            }
        }
        2 => {
            // Sandwich / bread.
            let (w, h) = (rng.range(100.0, 180.0), rng.range(80.0, 140.0));
            o.rect(
                0.0,
                0.0,
                w,
                h,
                15.0,
                0.0,
                Profile::Pillow {
                    t: rng.range(25.0, 50.0),
                    r: 15.0,
                },
                Food,
            )
            .density(0.4)
            .texture(10.0, 0.3, seed);
        }
        _ => {
            // A bag of nuts or sweets.
            let mut r2 = rng.fork();
            o.polygon(
                blob(&mut r2, rng.range(50.0, 90.0), rng.range(40.0, 70.0), 0.1),
                Profile::Pillow { t: 35.0, r: 20.0 },
                Food,
            )
            .density(0.6)
            .texture(6.0, 0.5, seed);
        }
    }
    o
}

fn keys(rng: &mut Rng) -> Object {
    let mut o = Object::new();
    let ring_r = rng.range(10.0, 16.0);
    o.line(
        arc(0.0, 0.0, ring_r, 0.0, TAU, 16),
        1.0,
        Profile::Solid { r: 1.0 },
        Steel,
    );
    for _ in 0..rng.int(1, 5) {
        let a = rng.angle();
        let l = rng.range(40.0, 65.0);
        let mat = rng.pick(&[Steel, Copper, Steel]);
        let mut k = Object::new();
        k.ellipse(12.0, 0.0, 12.0, 11.0, 0.0, Profile::Flat(2.2), mat);
        k.ellipse(6.0, 0.0, 2.5, 2.5, 0.0, Profile::Flat(2.2), mat)
            .density(-1.0);
        let mut blade = vec![[22.0, -4.0], [22.0 + l * 0.6, -4.0]];
        let teeth = 5;
        for i in 0..=teeth {
            let x = 22.0 + l * 0.6 * (1.0 - i as f32 / teeth as f32);
            blade.push([x, 4.0 + if i % 2 == 0 { 2.5 } else { 0.0 }]);
        }
        k.polygon(blade, Profile::Flat(2.0), mat);
        o.merge(
            k,
            Affine::at(ring_r * a.cos(), ring_r * a.sin(), a + rng.range(-0.3, 0.3)),
        );
    }
    if rng.chance(0.5) {
        // Fob.
        o.rect(
            -30.0,
            0.0,
            32.0,
            22.0,
            6.0,
            0.3,
            Profile::Pillow { t: 10.0, r: 4.0 },
            Plastic,
        );
        o.rect(-30.0, 0.0, 20.0, 12.0, 1.0, 0.3, Profile::Flat(1.0), Pcb);
        o.ellipse(-34.0, 0.0, 5.0, 5.0, 0.0, Profile::Flat(3.0), Battery);
    }
    o
}

fn coins(rng: &mut Rng) -> Object {
    let mut o = Object::new();
    for _ in 0..rng.int(1, 10) {
        let r = rng.range(8.0, 14.0);
        let (x, y) = (rng.range(-35.0, 35.0), rng.range(-25.0, 25.0));
        o.ellipse(
            x,
            y,
            r,
            r,
            0.0,
            Profile::Flat(rng.range(1.5, 2.4)),
            rng.pick(&[Steel, Copper, Copper]),
        );
    }
    o
}

pub fn umbrella(rng: &mut Rng) -> Object {
    let mut o = Object::new();
    let l = rng.range(220.0, 320.0);
    o.line(
        vec![[-l * 0.5, 0.0], [l * 0.5, 0.0]],
        5.0,
        Profile::Tube { r: 5.0, wall: 0.8 },
        Steel,
    );
    // Fabric bundle around the folded ribs.
    o.polygon(
        vec![
            [-l * 0.4, -16.0],
            [l * 0.45, -6.0],
            [l * 0.45, 6.0],
            [-l * 0.4, 16.0],
        ],
        Profile::Pillow { t: 30.0, r: 12.0 },
        Fabric,
    );
    for _ in 0..8 {
        let dy = rng.range(-12.0, 12.0);
        o.line(
            vec![[-l * 0.35, dy], [l * 0.45, dy * 0.3]],
            0.8,
            Profile::Solid { r: 0.8 },
            Steel,
        );
    }
    o.line(
        vec![[-l * 0.2, 0.0], [-l * 0.1, 8.0]],
        3.0,
        Profile::Flat(2.0),
        Steel,
    );
    o.rect(
        -l * 0.5 - 20.0,
        0.0,
        45.0,
        24.0,
        10.0,
        0.0,
        Profile::Pillow { t: 22.0, r: 10.0 },
        Plastic,
    );
    o
}

fn belt(rng: &mut Rng) -> Object {
    let mut o = Object::new();
    let n = rng.int(15, 40);
    let heading = rng.angle();
    let pts = wander(rng, [0.0, 0.0], heading, n, 14.0, 0.25);
    o.line(pts.clone(), 17.0, Profile::Flat(4.0), Rubber);
    let [x, y] = pts[0];
    let mut b = Object::new();
    b.line(
        rounded_rect_path(48.0, 40.0, 6.0),
        3.0,
        Profile::Flat(4.0),
        rng.pick(&[Steel, Copper]),
    );
    b.line(
        vec![[0.0, 0.0], [22.0, 0.0]],
        2.0,
        Profile::Flat(3.0),
        Steel,
    );
    o.merge(b, Affine::at(x, y, rng.angle()));
    o
}

fn headphones(rng: &mut Rng) -> Object {
    let mut o = Object::new();
    let r = rng.range(70.0, 95.0);
    let band = arc(0.0, 0.0, r, PI * 1.1, PI * 1.9, 16);
    o.line(
        band.clone(),
        10.0,
        Profile::Pillow { t: 15.0, r: 5.0 },
        Plastic,
    );
    o.line(band, 2.0, Profile::Flat(1.5), Steel);
    for s in [-1.0f32, 1.0] {
        let (x, y) = (s * r * 0.85, r * 0.25);
        o.ellipse(
            x,
            y,
            40.0,
            48.0,
            0.0,
            Profile::Pillow { t: 35.0, r: 15.0 },
            Plastic,
        );
        o.ellipse(x, y, 13.0, 13.0, 0.0, Profile::Flat(5.0), Steel);
        o.line(
            arc(x, y, 20.0, 0.0, TAU, 16),
            1.0,
            Profile::Flat(3.0),
            Copper,
        );
    }
    o
}

fn pens(rng: &mut Rng) -> Object {
    let mut o = Object::new();
    for _ in 0..rng.int(1, 4) {
        let (x, y, a) = (
            rng.range(-20.0, 20.0),
            rng.range(-20.0, 20.0),
            rng.range(-0.4, 0.4),
        );
        let l = rng.range(120.0, 150.0);
        let mut p = Object::new();
        p.line(
            vec![[-l * 0.5, 0.0], [l * 0.5, 0.0]],
            4.5,
            Profile::Tube { r: 4.5, wall: 1.0 },
            if rng.chance(0.2) { Aluminium } else { Plastic },
        );
        p.line(
            vec![[-l * 0.4, 0.0], [l * 0.45, 0.0]],
            1.2,
            Profile::Solid { r: 1.2 },
            Plastic,
        );
        p.line(
            vec![[l * 0.45, 0.0], [l * 0.5 + 2.0, 0.0]],
            0.8,
            Profile::Solid { r: 0.8 },
            Copper,
        );
        p.line(
            zigzag([-l * 0.45, 0.0], [-l * 0.3, 0.0], 8, 1.5),
            0.25,
            Profile::Solid { r: 0.25 },
            Steel,
        );
        p.line(
            vec![[-l * 0.4, 4.5], [-l * 0.1, 5.5]],
            1.2,
            Profile::Flat(1.0),
            Steel,
        );
        o.merge(p, Affine::at(x, y, a));
    }
    o
}

fn hair_dryer(rng: &mut Rng) -> Object {
    let mut o = Object::new();
    let l = rng.range(160.0, 230.0);
    o.rect(
        0.0,
        0.0,
        l,
        70.0,
        30.0,
        0.0,
        Profile::Tube { r: 35.0, wall: 2.5 },
        Plastic,
    );
    o.ellipse(-l * 0.3, 0.0, 18.0, 18.0, 0.0, Profile::Flat(25.0), Copper)
        .density(0.6);
    o.ellipse(-l * 0.3, 0.0, 9.0, 9.0, 0.0, Profile::Flat(15.0), Steel);
    // Heating coil.
    o.line(
        zigzag([-l * 0.1, 0.0], [l * 0.4, 0.0], 18, 20.0),
        0.4,
        Profile::Solid { r: 0.4 },
        Steel,
    );
    o.polygon(
        vec![
            [-l * 0.2, 25.0],
            [-l * 0.1, 25.0],
            [-l * 0.05 - 30.0, 140.0],
            [-l * 0.2 - 30.0, 140.0],
        ],
        Profile::Pillow { t: 30.0, r: 12.0 },
        Plastic,
    );
    let cable = wander(rng, [-l * 0.15 - 30.0, 140.0], PI * 0.5, 15, 15.0, 0.3);
    o.line(cable.clone(), 3.0, Profile::Solid { r: 3.0 }, Plastic);
    o.line(cable, 0.9, Profile::Solid { r: 0.9 }, Copper);
    o
}

fn toiletry_bag(rng: &mut Rng) -> Object {
    let mut o = Object::new();
    let (w, h) = (rng.range(180.0, 280.0), rng.range(110.0, 170.0));
    o.rect(
        0.0,
        0.0,
        w,
        h,
        25.0,
        0.0,
        Profile::Pillow { t: 4.0, r: 10.0 },
        Plastic,
    );
    for _ in 0..rng.int(3, 7) {
        let mut b = Object::new();
        let l = rng.range(40.0, 110.0);
        let r = rng.range(8.0, 20.0);
        b.rect(
            0.0,
            0.0,
            l,
            r * 2.0,
            r * 0.7,
            0.0,
            Profile::Solid { r },
            rng.pick(&[Water, Water, Food, Plastic]),
        );
        if rng.chance(0.3) {
            b.rect(
                0.0,
                0.0,
                l,
                r * 2.0,
                r * 0.7,
                0.0,
                Profile::Tube { r, wall: 0.3 },
                Aluminium,
            );
        }
        o.merge(
            b,
            Affine::at(
                rng.range(-w * 0.3, w * 0.3),
                rng.range(-h * 0.3, h * 0.3),
                rng.angle(),
            ),
        );
    }
    if rng.chance(0.6) {
        // Razor: handle with a small steel head.
        let a = rng.angle();
        let mut z = Object::new();
        z.rect(
            0.0,
            0.0,
            110.0,
            12.0,
            5.0,
            0.0,
            Profile::Pillow { t: 12.0, r: 5.0 },
            Plastic,
        );
        z.rect(60.0, 0.0, 10.0, 40.0, 2.0, 0.0, Profile::Flat(2.5), Steel);
        o.merge(z, Affine::at(0.0, 0.0, a));
    }
    // Zip along the top.
    o.line(
        vec![[-w * 0.45, -h * 0.45], [w * 0.45, -h * 0.45]],
        1.5,
        Profile::Flat(2.0),
        Steel,
    )
    .density(0.5);
    o
}

fn power_bank(rng: &mut Rng) -> Object {
    let mut o = Object::new();
    if rng.chance(0.5) {
        // Power bank: cells and a small board in a case.
        let (w, h) = (rng.range(60.0, 80.0), rng.range(90.0, 150.0));
        o.rect(
            0.0,
            0.0,
            w,
            h,
            6.0,
            0.0,
            Profile::Flat(2.0),
            rng.pick(&[Aluminium, Plastic]),
        );
        let cells = rng.int(1, 3);
        for i in 0..cells {
            let x = -w * 0.5 + w / cells as f32 * (i as f32 + 0.5);
            o.rect(
                x,
                h * 0.08,
                w / cells as f32 - 2.0,
                h * 0.78,
                4.0,
                0.0,
                Profile::Solid {
                    r: (w / cells as f32 - 2.0) * 0.5,
                },
                Battery,
            );
        }
        o.rect(
            0.0,
            -h * 0.42,
            w * 0.8,
            h * 0.12,
            1.0,
            0.0,
            Profile::Flat(1.5),
            Pcb,
        );
    } else {
        // Tablet or e-reader: larger than a phone, thin battery sheets.
        let (w, h) = (rng.range(150.0, 190.0), rng.range(210.0, 250.0));
        o.rect(0.0, 0.0, w, h, 10.0, 0.0, Profile::Flat(1.8), Glass);
        o.rect(0.0, 0.0, w, h, 10.0, 0.0, Profile::Flat(1.2), Aluminium);
        for s in [-1.0f32, 1.0] {
            o.rect(
                s * w * 0.22,
                h * 0.05,
                w * 0.4,
                h * 0.6,
                3.0,
                0.0,
                Profile::Flat(2.5),
                Battery,
            );
        }
        o.rect(
            0.0,
            -h * 0.38,
            w * 0.6,
            h * 0.12,
            2.0,
            0.0,
            Profile::Flat(1.2),
            Pcb,
        );
    }
    o
}

fn glasses(rng: &mut Rng) -> Object {
    let mut o = Object::new();
    let metal = rng.chance(0.5);
    let (m, t) = if metal { (Steel, 1.2) } else { (Plastic, 5.0) };
    for s in [-1.0f32, 1.0] {
        o.line(
            arc(s * 32.0, 0.0, 24.0, 0.0, TAU, 20),
            if metal { 0.9 } else { 2.5 },
            Profile::Flat(t),
            m,
        );
        o.ellipse(
            s * 32.0,
            0.0,
            23.0,
            20.0,
            0.0,
            Profile::Flat(2.5),
            if rng.chance(0.5) { Glass } else { Plastic },
        );
        o.line(
            vec![[s * 56.0, 0.0], [s * 60.0, 70.0 * rng.range(0.2, 1.0)]],
            1.5,
            Profile::Flat(3.0),
            m,
        );
    }
    o.line(
        arc(0.0, 4.0, 8.0, PI * 1.1, PI * 1.9, 6),
        1.0,
        Profile::Flat(t),
        m,
    );
    if rng.chance(0.5) {
        o.rect(
            0.0,
            0.0,
            160.0,
            62.0,
            28.0,
            0.0,
            Profile::Tube { r: 31.0, wall: 1.5 },
            rng.pick(&[Plastic, Aluminium]),
        );
    }
    o
}

fn watch(rng: &mut Rng) -> Object {
    let mut o = Object::new();
    let r = rng.range(17.0, 23.0);
    o.ellipse(
        0.0,
        0.0,
        r,
        r,
        0.0,
        Profile::Flat(rng.range(3.0, 6.0)),
        Steel,
    );
    o.ellipse(0.0, 0.0, r * 0.6, r * 0.6, 0.0, Profile::Flat(2.0), Copper)
        .density(0.5);
    o.ellipse(r * 0.3, 0.0, 5.0, 5.0, 0.0, Profile::Flat(2.0), Battery);
    let strap_metal = rng.chance(0.4);
    o.rect(
        0.0,
        0.0,
        20.0,
        210.0,
        3.0,
        0.0,
        Profile::Flat(if strap_metal { 1.5 } else { 3.0 }),
        if strap_metal { Steel } else { Rubber },
    );
    o
}

fn can(rng: &mut Rng) -> Object {
    let mut o = Object::new();
    let l = rng.range(90.0, 170.0);
    let r = rng.range(26.0, 38.0);
    let steel = rng.chance(0.5);
    o.rect(
        0.0,
        0.0,
        l,
        r * 2.0,
        2.0,
        0.0,
        Profile::Tube {
            r,
            wall: if steel { 0.25 } else { 0.15 },
        },
        if steel { Steel } else { Aluminium },
    );
    o.rect(
        0.0,
        0.0,
        l - 4.0,
        r * 2.0 - 1.0,
        2.0,
        0.0,
        Profile::Solid { r: r - 0.5 },
        rng.pick(&[Water, Food]),
    );
    if rng.chance(0.4) {
        // Aerosol: valve and dip tube instead of contents at the top.
        o.rect(
            l * 0.5 + 8.0,
            0.0,
            16.0,
            16.0,
            2.0,
            0.0,
            Profile::Solid { r: 8.0 },
            Plastic,
        );
        o.line(
            vec![[l * 0.5, 0.0], [-l * 0.45, 0.0]],
            1.0,
            Profile::Tube { r: 1.0, wall: 0.3 },
            Plastic,
        );
    }
    o
}

/// A laptop (for trays).
pub fn laptop_pub(rng: &mut Rng) -> Object {
    laptop(rng)
}

/// A tablet or a power bank (for trays).
pub fn power_bank_pub(rng: &mut Rng) -> Object {
    power_bank(rng)
}
