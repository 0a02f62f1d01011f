//! Drugs and undeclared goods: wrapped bricks and pellet bags, cigarette cartons, phones in
//! quantity, banknote bundles.

use super::{Group, Item, blob, rounded_rect_path};
use crate::{
    material::Material::*,
    rng::Rng,
    shape::{Affine, Object, Profile},
};

const DRUG_PACKAGE: usize = 3;
const CIGARETTES: usize = 4;
const PHONE: usize = 5;
const CURRENCY: usize = 6;

/// Drug packages: taped bricks (alone or stacked), a bag of pellets, or a powder bag.
pub fn drug_package(rng: &mut Rng) -> Group {
    match rng.weighted(&[0.55, 0.25, 0.2]) {
        0 => {
            let n = if rng.chance(0.35) { rng.int(2, 4) } else { 1 };
            let mut g = Group::default();
            let angle = rng.range(-0.2, 0.2);
            for i in 0..n {
                let (x, y) = (
                    rng.range(-30.0, 30.0) + i as f32 * rng.range(20.0, 90.0),
                    rng.range(-30.0, 30.0),
                );
                g.items.push(Item {
                    object: brick(rng),
                    frame: Affine::at(x, y, angle + rng.range(-0.15, 0.15)),
                    class: Some(DRUG_PACKAGE),
                });
            }
            // Stacked bricks overlap: the stack is the finding.
            g.labelled_as_one = true;
            g.centred()
        }
        1 => Group::single(pellets(rng), DRUG_PACKAGE),
        _ => {
            let mut o = Object::new();
            let (rx, ry) = (rng.range(50.0, 110.0), rng.range(40.0, 80.0));
            let seed = rng.next_u64() as u32;
            o.polygon(
                blob(rng, rx, ry, 0.12),
                Profile::Pillow {
                    t: rng.range(20.0, 45.0),
                    r: 30.0,
                },
                DenseOrganic,
            )
            .texture(18.0, 0.15, seed);
            o.polygon(
                blob(rng, rx + 4.0, ry + 4.0, 0.08),
                Profile::Flat(0.6),
                Plastic,
            );
            o.ellipse(
                rx + 8.0,
                0.0,
                10.0,
                6.0,
                0.0,
                Profile::Pillow { t: 8.0, r: 4.0 },
                Plastic,
            );
            Group::single(o.centred(), DRUG_PACKAGE)
        }
    }
}

/// A pressed brick wrapped in film and tape.
fn brick(rng: &mut Rng) -> Object {
    let mut o = Object::new();
    let (w, h) = (rng.range(140.0, 320.0), rng.range(100.0, 220.0));
    let t = rng.range(28.0, 60.0);
    let seed = rng.next_u64() as u32;
    o.rect(
        0.0,
        0.0,
        w,
        h,
        rng.range(6.0, 20.0),
        0.0,
        Profile::Pillow { t, r: 12.0 },
        DenseOrganic,
    )
    .texture(rng.range(20.0, 50.0), 0.1, seed);
    // Layers of film: the edges, where the wrap is seen edge-on, read thicker.
    let layers = rng.range(1.0, 4.0);
    o.rect(
        0.0,
        0.0,
        w + 3.0,
        h + 3.0,
        8.0,
        0.0,
        Profile::Flat(0.4 * layers),
        Plastic,
    );
    o.line(
        rounded_rect_path(w + 2.0, h + 2.0, 8.0),
        1.2,
        Profile::Flat(4.0 * layers),
        Plastic,
    );
    // Tape bands.
    for _ in 0..rng.int(1, 5) {
        let vertical = rng.chance(0.5);
        let off = rng.range(-0.35, 0.35);
        let bw = rng.range(40.0, 50.0);
        let tilt = rng.range(-0.2, 0.2);
        if vertical {
            o.rect(
                off * w,
                0.0,
                bw,
                h + 4.0,
                0.0,
                tilt,
                Profile::Flat(rng.range(2.0, 4.0)),
                Plastic,
            );
        } else {
            o.rect(
                0.0,
                off * h,
                w + 4.0,
                bw,
                0.0,
                tilt,
                Profile::Flat(rng.range(2.0, 4.0)),
                Plastic,
            );
        }
    }
    o
}

/// A bag of pellets or capsules (swallowed-drug style), clustered.
fn pellets(rng: &mut Rng) -> Object {
    let mut o = Object::new();
    let n = rng.int(15, 60);
    let (pl, pw) = (rng.range(18.0, 32.0), rng.range(8.0, 12.0));
    let spread = (n as f32).sqrt() * pw * 0.9;
    for _ in 0..n {
        let a = rng.angle();
        let r = spread * rng.f32().sqrt();
        o.rect(
            r * a.cos(),
            r * a.sin() * 0.8,
            pl,
            pw,
            pw * 0.5,
            rng.angle(),
            Profile::Pillow { t: pw, r: pw * 0.5 },
            DenseOrganic,
        )
        .density(1.2);
    }
    o.polygon(
        blob(rng, spread + pl * 0.6, spread * 0.8 + pl * 0.6, 0.06),
        Profile::Flat(0.5),
        Plastic,
    );
    o.centred()
}

/// Cigarettes: a carton of ten packs in a grid, or a loose stack of packs.
pub fn cigarettes(rng: &mut Rng) -> Group {
    let (pw, ph) = (rng.range(52.0, 56.0), rng.range(85.0, 90.0));
    let gap = rng.range(0.5, 2.5);
    let mut o = Object::new();
    if rng.chance(0.7) {
        let (cols, rows) = (5, 2);
        let (cw, ch) = (cols as f32 * (pw + gap), rows as f32 * (ph + gap));
        for j in 0..rows {
            for i in 0..cols {
                let x = -cw * 0.5 + (pw + gap) * (i as f32 + 0.5);
                let y = -ch * 0.5 + (ph + gap) * (j as f32 + 0.5);
                let flip = if j % 2 == 1 && rows == 2 {
                    std::f32::consts::PI
                } else {
                    0.0
                };
                o.merge(pack(pw, ph), Affine::at(x, y, flip));
            }
        }
        // Carton board.
        o.rect(
            0.0,
            0.0,
            cw + 2.0,
            ch + 2.0,
            1.0,
            0.0,
            Profile::Flat(0.8),
            Cardboard,
        );
        o.line(
            rounded_rect_path(cw + 2.0, ch + 2.0, 1.0),
            0.8,
            Profile::Flat(22.0),
            Cardboard,
        );
    } else {
        for _ in 0..rng.int(3, 8) {
            let (x, y) = (rng.range(-60.0, 60.0), rng.range(-40.0, 40.0));
            o.merge(
                pack(pw, ph),
                Affine::at(
                    x,
                    y,
                    rng.range(-0.5, 0.5) + if rng.chance(0.3) { 1.57 } else { 0.0 },
                ),
            );
        }
    }
    Group::single(o.centred(), CIGARETTES)
}

/// One pack of 20, face on: rods of tobacco with filters, foil lining, board.
fn pack(pw: f32, ph: f32) -> Object {
    let mut o = Object::new();
    let rods = 7;
    let rr = pw / rods as f32 * 0.5;
    let filter = ph * 0.27;
    for i in 0..rods {
        let x = -pw * 0.5 + rr * (2 * i + 1) as f32;
        o.line(
            vec![[x, -ph * 0.5 + filter + rr], [x, ph * 0.5 - rr - 1.0]],
            rr,
            Profile::Solid { r: rr },
            Tobacco,
        )
        .density(3.5);
        o.line(
            vec![[x, -ph * 0.5 + rr + 1.0], [x, -ph * 0.5 + filter]],
            rr,
            Profile::Solid { r: rr },
            Plastic,
        )
        .density(0.6);
    }
    // Foil lining: faint metal over the face, stronger on the pack edges.
    o.rect(0.0, 0.0, pw, ph, 1.0, 0.0, Profile::Flat(0.4), Aluminium);
    o.line(
        rounded_rect_path(pw, ph, 1.0),
        0.5,
        Profile::Flat(3.0),
        Aluminium,
    );
    o.rect(
        0.0,
        0.0,
        pw + 1.0,
        ph + 1.0,
        1.0,
        0.0,
        Profile::Flat(1.0),
        Cardboard,
    );
    o
}

/// Phones in quantity (three or more), each labelled on its own.
pub fn phones(rng: &mut Rng) -> Group {
    let n = rng.int(3, 9);
    let (w, h) = (rng.range(66.0, 78.0), rng.range(138.0, 165.0));
    let mut g = Group::default();
    let layout = rng.int(0, 2);
    let cols = rng.int(2, 4);
    for i in 0..n {
        let frame = match layout {
            // Neat rows, as packed for sale.
            0 => Affine::at(
                (i % cols) as f32 * (w + rng.range(2.0, 10.0)),
                (i / cols) as f32 * (h + rng.range(2.0, 10.0)),
                rng.range(-0.05, 0.05),
            ),
            // A fanned or shifted stack.
            1 => Affine::at(
                i as f32 * rng.range(12.0, 30.0),
                i as f32 * rng.range(-8.0, 8.0),
                i as f32 * rng.range(0.0, 0.2),
            ),
            // A loose pile.
            _ => Affine::at(rng.range(0.0, 180.0), rng.range(0.0, 160.0), rng.angle()),
        };
        let (pw, ph) = (w * rng.range(0.97, 1.03), h * rng.range(0.97, 1.03));
        g.items.push(Item {
            object: phone(rng, pw, ph),
            frame,
            class: Some(PHONE),
        });
    }
    g.centred()
}

/// One smartphone: frame, glass, battery, board with shields, camera, speakers, screws.
pub fn phone(rng: &mut Rng, w: f32, h: f32) -> Object {
    let mut o = Object::new();
    let r = rng.range(7.0, 12.0);
    let frame_mat = if rng.chance(0.6) { Aluminium } else { Steel };
    let frame_t = if frame_mat == Steel { 2.0 } else { 6.0 };
    o.line(
        rounded_rect_path(w - 2.0, h - 2.0, r),
        1.0,
        Profile::Flat(frame_t),
        frame_mat,
    );
    o.rect(0.0, 0.0, w, h, r, 0.0, Profile::Flat(1.6), Glass);
    o.rect(
        0.0,
        0.0,
        w - 3.0,
        h - 3.0,
        r,
        0.0,
        Profile::Flat(1.0),
        Plastic,
    );
    // Mid-frame plate.
    o.rect(
        0.0,
        0.0,
        w - 4.0,
        h - 4.0,
        r,
        0.0,
        Profile::Flat(0.5),
        frame_mat,
    );
    // Battery: the dense block.
    let (bw, bh) = (w * rng.range(0.7, 0.8), h * rng.range(0.45, 0.55));
    let by = h * 0.12;
    o.rect(
        0.0,
        by,
        bw,
        bh,
        3.0,
        0.0,
        Profile::Flat(rng.range(3.8, 5.0)),
        Battery,
    );
    // Board with shields and chips.
    let (pw, ph) = (w * 0.85, h * 0.28);
    let py = -h * 0.5 + ph * 0.5 + 6.0;
    o.rect(0.0, py, pw, ph, 2.0, 0.0, Profile::Flat(1.2), Pcb);
    for _ in 0..rng.int(3, 7) {
        let (cw, ch) = (rng.range(6.0, 18.0), rng.range(5.0, 14.0));
        o.rect(
            rng.range(-pw * 0.35, pw * 0.35),
            py + rng.range(-ph * 0.3, ph * 0.3),
            cw,
            ch,
            0.5,
            0.0,
            Profile::Flat(rng.range(0.3, 1.5)),
            rng.pick(&[Steel, Copper, Pcb]),
        );
    }
    // Cameras.
    let cx = -w * 0.5 + rng.range(12.0, 20.0);
    let cy = -h * 0.5 + rng.range(12.0, 22.0);
    for k in 0..rng.int(1, 3) {
        o.ellipse(
            cx + k as f32 * 0.0,
            cy + k as f32 * 11.0,
            4.5,
            4.5,
            0.0,
            Profile::Flat(4.0),
            Steel,
        )
        .density(0.7);
    }
    // Speaker magnets, vibration motor, screws.
    o.rect(
        0.0,
        h * 0.5 - 8.0,
        16.0,
        8.0,
        1.0,
        0.0,
        Profile::Flat(3.0),
        Steel,
    );
    o.rect(
        w * 0.28,
        h * 0.5 - 9.0,
        9.0,
        5.0,
        1.0,
        0.0,
        Profile::Flat(3.0),
        Copper,
    );
    for (sx, sy) in [(-1.0f32, -1.0f32), (1.0, -1.0), (-1.0, 1.0), (1.0, 1.0)] {
        o.ellipse(
            sx * (w * 0.5 - 4.0),
            sy * (h * 0.5 - 5.0),
            0.9,
            0.9,
            0.0,
            Profile::Flat(4.0),
            Steel,
        );
    }
    o
}

/// Banknote bundles: several strapped stacks, labelled as one (bundles packed together
/// cannot be told apart in a scan; what matters is that there is cash).
pub fn currency(rng: &mut Rng) -> Group {
    let n = rng.int(2, 10);
    let (w, h) = (rng.range(120.0, 160.0), rng.range(62.0, 82.0));
    let mut g = Group {
        labelled_as_one: true,
        ..Group::default()
    };
    let cols = rng.int(1, 3);
    let neat = rng.chance(0.6);
    for i in 0..n {
        let frame = if neat {
            Affine::at(
                (i % cols) as f32 * (w + rng.range(1.0, 6.0)),
                (i / cols) as f32 * (h + rng.range(1.0, 6.0)),
                rng.range(-0.04, 0.04),
            )
        } else {
            Affine::at(rng.range(0.0, 160.0), rng.range(0.0, 140.0), rng.angle())
        };
        g.items.push(Item {
            object: bundle(rng, w, h),
            frame,
            class: Some(CURRENCY),
        });
    }
    g.centred()
}

/// One bundle of notes with a paper band or rubber bands and aligned security threads.
fn bundle(rng: &mut Rng, w: f32, h: f32) -> Object {
    let mut o = Object::new();
    let t = rng.range(10.0, 24.0);
    let seed = rng.next_u64() as u32;
    o.rect(
        0.0,
        0.0,
        w,
        h,
        1.0,
        0.0,
        Profile::Pillow { t, r: 0.8 },
        Paper,
    )
    .density(1.6)
    .texture(6.0, 0.06, seed);
    // The security thread of every note, lined up: a faint metal line.
    let tx = rng.range(-w * 0.3, w * 0.3);
    o.line(
        vec![[tx, -h * 0.5 + 1.0], [tx, h * 0.5 - 1.0]],
        0.6,
        Profile::Flat(t * 0.06),
        Aluminium,
    );
    if rng.chance(0.6) {
        // Paper band across the middle, seen edge-on on both sides.
        let bw = rng.range(25.0, 40.0);
        o.rect(0.0, 0.0, bw, h + 1.0, 0.0, 0.0, Profile::Flat(0.6), Paper);
        for s in [-1.0f32, 1.0] {
            o.rect(
                0.0,
                s * (h * 0.5 + 0.3),
                bw,
                0.8,
                0.0,
                0.0,
                Profile::Flat(t),
                Paper,
            );
        }
    } else {
        for k in 0..rng.int(1, 2) {
            let x = (k as f32 - 0.5) * w * 0.5;
            o.line(
                vec![[x, -h * 0.5 - 1.0], [x, h * 0.5 + 1.0]],
                1.2,
                Profile::Solid { r: 1.2 },
                Rubber,
            );
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_sizes_are_plausible() {
        let mut rng = Rng::new(3);
        for _ in 0..50 {
            for g in [
                cigarettes(&mut rng),
                drug_package(&mut rng),
                phones(&mut rng),
                currency(&mut rng),
            ] {
                for item in &g.items {
                    let b = item.object.bounds();
                    let (w, h) = (b[2] - b[0], b[3] - b[1]);
                    assert!(w < 520.0 && h < 520.0, "item {w}x{h} mm: {b:?}");
                }
            }
        }
    }
}
