//! Containers: suitcases, backpacks and parcels; what gives a scan its overall outline.

use std::f32::consts::PI;

use super::{hardware, rounded_rect_path, wander};
use crate::{
    material::Material::*,
    rng::Rng,
    shape::{Affine, Object, Profile},
};

/// A container and the region inside it where contents go.
#[derive(Debug, Clone)]
pub struct Container {
    /// The container itself, centred on its origin.
    pub object: Object,
    /// Inner half sizes (millimetres): contents are placed within +-these.
    pub inner: [f32; 2],
    /// Outer size (millimetres): length, width.
    pub size: [f32; 2],
    /// What kind it is, for clutter choice.
    pub kind: ContainerKind,
}

/// The kinds of container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerKind {
    /// Hard or soft shell suitcase with a telescopic handle.
    Suitcase,
    /// Soft backpack with straps.
    Backpack,
    /// Cardboard box.
    Parcel,
    /// A screening tray: a laptop or a tablet on its own, or a coat, a bag of liquids.
    Tray,
}

/// A random container.
pub fn container(rng: &mut Rng) -> Container {
    match rng.weighted(&[0.4, 0.33, 0.12, 0.15]) {
        0 => suitcase(rng),
        1 => backpack(rng),
        2 => parcel(rng),
        _ => tray(rng),
    }
}

fn suitcase(rng: &mut Rng) -> Container {
    let mut o = Object::new();
    let (l, w) = (rng.range(520.0, 800.0), rng.range(340.0, 520.0));
    let hard = rng.chance(0.6);
    let r = rng.range(25.0, 60.0);
    let depth = rng.range(180.0, 300.0);
    // Shell top and bottom, and the side walls seen edge-on as a dark rim.
    let (shell_t, wall) = if hard {
        (rng.range(5.0, 8.0), 2.5)
    } else {
        (rng.range(3.0, 6.0), 1.5)
    };
    let shell = if hard { Plastic } else { Fabric };
    let density = if hard { 1.0 } else { 1.8 };
    o.rect(0.0, 0.0, l, w, r, 0.0, Profile::Flat(shell_t), shell)
        .density(density);
    o.line(
        rounded_rect_path(l - wall, w - wall, r),
        wall * 0.5 + 1.0,
        Profile::Flat(depth * 0.5),
        shell,
    )
    .density(density);
    // Zip around the seam (two sliders meeting), one for an inner compartment, and the
    // lining's zipped pockets.
    let sliders = rng.int(1, 2);
    hardware::zipper(
        &mut o,
        rng,
        &rounded_rect_path(l - 24.0, w - 24.0, r * 0.8),
        sliders,
    );
    for _ in 0..rng.int(1, 3) {
        let y = rng.range(-w * 0.38, w * 0.38);
        let x0 = rng.range(-l * 0.45, -l * 0.1);
        let x1 = rng.range(l * 0.1, l * 0.45);
        hardware::zipper(&mut o, rng, &[[x0, y], [x1, y]], 1);
    }
    // Lining straps across the packing compartment, with buckles.
    if rng.chance(0.6) {
        for s in [-1.0f32, 1.0] {
            let x = s * l * rng.range(0.1, 0.3);
            hardware::strap(&mut o, rng, &[[x, -w * 0.45], [x, w * 0.45]], 25.0);
        }
    }
    // Telescopic handle: two aluminium tubes along the length, joined by a grip at one end.
    let gap = rng.range(0.18, 0.3) * w;
    let tr = rng.range(8.0, 12.0);
    let (x0, x1) = (-l * 0.5 + 35.0, l * 0.5 - rng.range(30.0, 60.0));
    for s in [-1.0f32, 1.0] {
        let y = s * gap;
        o.line(
            vec![[x0, y], [x1, y]],
            tr,
            Profile::Tube { r: tr, wall: 1.6 },
            Aluminium,
        );
        o.line(
            vec![[x0 + 10.0, y], [(x0 + x1) * 0.5, y]],
            tr - 2.0,
            Profile::Tube {
                r: tr - 2.0,
                wall: 1.0,
            },
            Aluminium,
        );
        o.rect(
            x0 + 10.0,
            y,
            30.0,
            tr * 2.0 + 8.0,
            4.0,
            0.0,
            Profile::Flat(tr * 2.0),
            Plastic,
        );
    }
    o.rect(
        x1 + 12.0,
        0.0,
        28.0,
        gap * 2.0 + 40.0,
        10.0,
        0.0,
        Profile::Pillow { t: 30.0, r: 10.0 },
        Plastic,
    );
    // Backing plate for the handle and rivets along it.
    o.rect(
        (x0 + x1) * 0.5,
        0.0,
        x1 - x0,
        gap * 2.0 + 40.0,
        4.0,
        0.0,
        Profile::Flat(2.0),
        Plastic,
    );
    for i in 0..rng.int(4, 10) {
        let x = x0 + (x1 - x0) * i as f32 / 9.0;
        for s in [-1.0f32, 1.0] {
            o.ellipse(
                x,
                s * (gap + 18.0),
                2.5,
                2.5,
                0.0,
                Profile::Flat(6.0),
                Steel,
            );
        }
    }
    // Wheels at the far end from the handle grip.
    let four = rng.chance(0.6);
    let wr = rng.range(22.0, 35.0);
    let wheel_ends: &[f32] = if four { &[-1.0, 1.0] } else { &[-1.0] };
    for &end in wheel_ends {
        for s in [-1.0f32, 1.0] {
            let (x, y) = (end * (l * 0.5 - wr * 0.9), s * (w * 0.5 - wr * 0.9));
            o.ellipse(
                x,
                y,
                wr,
                wr * 0.75,
                0.0,
                Profile::Pillow { t: 30.0, r: 10.0 },
                Rubber,
            );
            o.ellipse(x, y, wr * 0.25, wr * 0.25, 0.0, Profile::Flat(20.0), Steel);
            o.rect(
                x,
                y,
                wr * 1.6,
                wr * 1.6,
                6.0,
                0.0,
                Profile::Flat(5.0),
                Plastic,
            );
        }
    }
    // Side carry handle with screws, feet, and a lock.
    let hy = w * 0.5 - 8.0;
    o.rect(
        0.0,
        hy,
        130.0,
        22.0,
        8.0,
        0.0,
        Profile::Pillow { t: 20.0, r: 6.0 },
        Plastic,
    );
    for s in [-1.0f32, 1.0] {
        o.ellipse(s * 55.0, hy, 2.5, 2.5, 0.0, Profile::Flat(8.0), Steel);
    }
    if rng.chance(0.5) {
        o.rect(
            l * 0.25,
            -w * 0.5 + 18.0,
            40.0,
            22.0,
            3.0,
            0.0,
            Profile::Flat(5.0),
            rng.pick(&[Steel, Aluminium]),
        );
    }
    let inner = [l * 0.5 - 40.0, w * 0.5 - 30.0];
    Container {
        object: o,
        inner,
        size: [l, w],
        kind: ContainerKind::Suitcase,
    }
}

fn backpack(rng: &mut Rng) -> Container {
    let mut o = Object::new();
    let (l, w) = (rng.range(380.0, 540.0), rng.range(270.0, 370.0));
    let r = rng.range(60.0, 130.0);
    let seed = rng.next_u64() as u32;
    o.rect(0.0, 0.0, l, w, r, 0.0, Profile::Flat(3.0), Fabric)
        .density(2.0)
        .texture(60.0, 0.3, seed);
    o.line(
        rounded_rect_path(l - 3.0, w - 3.0, r),
        3.0,
        Profile::Flat(60.0),
        Fabric,
    );
    // Front pocket.
    o.rect(
        -l * 0.18,
        0.0,
        l * 0.4,
        w * 0.7,
        r * 0.5,
        0.0,
        Profile::Flat(2.0),
        Fabric,
    )
    .density(2.0);
    o.line(
        rounded_rect_path(l * 0.4, w * 0.7, r * 0.5),
        2.0,
        Profile::Flat(25.0),
        Fabric,
    );
    // Zips along the main seam and the pocket, with their pulls.
    let zip_path: Vec<[f32; 2]> = (0..=32)
        .map(|i| {
            let a = -PI * 0.45 + PI * 0.9 * i as f32 / 32.0;
            [l * 0.42 * a.cos(), (w * 0.5 - 15.0) * a.sin()]
        })
        .collect();
    hardware::zipper(&mut o, rng, &zip_path, 2);
    let pocket = rounded_rect_path(l * 0.4, w * 0.7, r * 0.5);
    let cut = pocket.len() / 2;
    let pocket_zip: Vec<[f32; 2]> = pocket[..=cut]
        .iter()
        .map(|p| [p[0] - l * 0.18, p[1]])
        .collect();
    let sliders = rng.int(1, 2);
    hardware::zipper(&mut o, rng, &pocket_zip, sliders);
    if rng.chance(0.5) {
        let y = rng.range(-w * 0.3, w * 0.3);
        hardware::zipper(&mut o, rng, &[[-l * 0.4, y], [l * 0.1, y]], 1);
    }
    // Shoulder straps with buckles, slider rings and D-rings; webbing loops with rivets.
    for s in [-1.0f32, 1.0] {
        let start = [l * 0.4, s * w * 0.18];
        let pts = wander(rng, start, PI + s * 0.15, 14, l * 0.055, 0.04);
        o.line(
            pts.clone(),
            28.0,
            Profile::Pillow { t: 20.0, r: 8.0 },
            Fabric,
        )
        .density(1.6);
        let end = pts.last().copied().unwrap_or(start);
        let tail = wander(rng, end, PI + s * 0.4, 6, 15.0, 0.15);
        hardware::strap(&mut o, rng, &tail, 25.0);
        o.merge(
            hardware::buckle(rng, 25.0),
            Affine::at(end[0], end[1], PI * 0.5),
        );
    }
    for _ in 0..rng.int(2, 8) {
        let (x, y) = (
            rng.range(-l * 0.48, l * 0.48),
            rng.range(-w * 0.48, w * 0.48),
        );
        hardware::rivet(&mut o, rng, x, y);
    }
    if rng.chance(0.4) {
        o.merge(hardware::magnet(rng), Affine::at(-l * 0.38, 0.0, 0.0));
    }
    if rng.chance(0.5) {
        // Chest or hip strap.
        let y = rng.range(-w * 0.4, w * 0.4);
        hardware::strap(&mut o, rng, &[[-l * 0.45, y], [l * 0.2, y + 10.0]], 20.0);
    }
    // Top grab handle and a back frame sheet with stays.
    o.rect(
        l * 0.5 - 10.0,
        0.0,
        20.0,
        80.0,
        8.0,
        0.0,
        Profile::Pillow { t: 12.0, r: 5.0 },
        Fabric,
    )
    .density(2.0);
    if rng.chance(0.5) {
        o.rect(
            0.0,
            0.0,
            l * 0.8,
            w * 0.7,
            20.0,
            0.0,
            Profile::Flat(2.0),
            Plastic,
        );
        for s in [-1.0f32, 1.0] {
            o.rect(
                0.0,
                s * w * 0.15,
                l * 0.75,
                22.0,
                3.0,
                0.0,
                Profile::Flat(2.0),
                Aluminium,
            );
        }
    }
    Container {
        object: o,
        inner: [l * 0.5 - 40.0, w * 0.5 - 30.0],
        size: [l, w],
        kind: ContainerKind::Backpack,
    }
}

fn parcel(rng: &mut Rng) -> Container {
    let mut o = Object::new();
    let (l, w) = (rng.range(260.0, 650.0), rng.range(200.0, 450.0));
    let depth = rng.range(100.0, 350.0);
    o.rect(
        0.0,
        0.0,
        l,
        w,
        2.0,
        0.0,
        Profile::Flat(rng.range(6.0, 10.0)),
        Cardboard,
    );
    o.line(
        rounded_rect_path(l - 3.0, w - 3.0, 2.0),
        2.0,
        Profile::Flat(depth * 0.5),
        Cardboard,
    );
    // Flaps meeting along the middle.
    o.rect(
        0.0,
        0.0,
        l,
        w * 0.5,
        0.0,
        0.0,
        Profile::Flat(4.0),
        Cardboard,
    );
    // Tape.
    let tw = rng.range(48.0, 75.0);
    o.rect(0.0, 0.0, l + 4.0, tw, 0.0, 0.0, Profile::Flat(0.8), Plastic);
    if rng.chance(0.5) {
        o.rect(0.0, 0.0, tw, w + 4.0, 0.0, 0.0, Profile::Flat(0.8), Plastic);
    }
    if rng.chance(0.3) {
        // Staples.
        for i in 0..6 {
            o.rect(
                -l * 0.3 + i as f32 * l * 0.12,
                0.0,
                12.0,
                1.0,
                0.0,
                0.0,
                Profile::Flat(1.0),
                Steel,
            );
        }
    }
    Container {
        object: o,
        inner: [l * 0.5 - 20.0, w * 0.5 - 20.0],
        size: [l, w],
        kind: ContainerKind::Parcel,
    }
}

fn tray(rng: &mut Rng) -> Container {
    let mut o = Object::new();
    let (l, w) = (rng.range(560.0, 660.0), rng.range(380.0, 450.0));
    let r = rng.range(20.0, 40.0);
    o.rect(
        0.0,
        0.0,
        l,
        w,
        r,
        0.0,
        Profile::Flat(rng.range(2.5, 4.0)),
        Plastic,
    );
    // Walls seen edge-on: a bright rim, and the ribs under the floor.
    o.line(
        rounded_rect_path(l - 6.0, w - 6.0, r),
        3.0,
        Profile::Flat(rng.range(25.0, 45.0)),
        Plastic,
    );
    for k in 1..4 {
        let x = -l * 0.5 + l * k as f32 / 4.0;
        o.rect(x, 0.0, 3.0, w - 20.0, 1.0, 0.0, Profile::Flat(8.0), Plastic);
    }
    Container {
        object: o,
        inner: [l * 0.5 - 30.0, w * 0.5 - 30.0],
        size: [l, w],
        kind: ContainerKind::Tray,
    }
}

/// What lies in a tray on its own: a laptop (with its charger now and then), a tablet, or a
/// coat with its zip and pocket contents.
pub fn tray_content(rng: &mut Rng) -> Object {
    let mut o = Object::new();
    match rng.weighted(&[0.6, 0.15, 0.25]) {
        0 => {
            // Centred on the laptop itself: a charging cable may hang out of the tray.
            o.merge(super::clutter::laptop_pub(rng).centred(), Affine::IDENTITY);
            if rng.chance(0.3) {
                let h = rng.angle();
                o.merge(hardware::cable(rng, [150.0, 120.0], h), Affine::IDENTITY);
            }
        }
        1 => o.merge(
            super::clutter::power_bank_pub(rng).centred(),
            Affine::IDENTITY,
        ),
        _ => {
            let (w, h) = (rng.range(400.0, 520.0), rng.range(280.0, 360.0));
            o.merge(
                super::clutter::garment(rng, w, h).centred(),
                Affine::IDENTITY,
            );
            hardware::zipper(&mut o, rng, &[[-w * 0.45, 0.0], [w * 0.45, 0.0]], 1);
            for _ in 0..rng.int(0, 4) {
                let m = hardware::pocket_metal(rng);
                let (x, y) = (
                    rng.range(-w * 0.35, w * 0.35),
                    rng.range(-h * 0.35, h * 0.35),
                );
                o.merge(m, Affine::at(x, y, rng.angle()));
            }
        }
    }
    o
}
