//! Containers: suitcases, backpacks and parcels; what gives a scan its overall outline.

use std::f32::consts::PI;

use super::{rounded_rect_path, wander};
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
}

/// A random container.
pub fn container(rng: &mut Rng) -> Container {
    match rng.weighted(&[0.5, 0.3, 0.2]) {
        0 => suitcase(rng),
        1 => backpack(rng),
        _ => parcel(rng),
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
    // Zip around the seam, and a second one for an inner compartment.
    let zip = rng.pick(&[Steel, Plastic, Aluminium]);
    o.line(
        rounded_rect_path(l - 24.0, w - 24.0, r * 0.8),
        1.6,
        Profile::Flat(2.0),
        zip,
    )
    .density(0.5);
    if rng.chance(0.5) {
        let y = rng.range(-w * 0.3, w * 0.3);
        o.line(
            vec![[-l * 0.4, y], [l * 0.4, y]],
            1.4,
            Profile::Flat(3.0),
            zip,
        )
        .density(0.6);
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
    // Zips.
    let zip = rng.pick(&[Steel, Plastic]);
    let zip_path: Vec<[f32; 2]> = (0..=16)
        .map(|i| {
            let a = -PI * 0.45 + PI * 0.9 * i as f32 / 16.0;
            [l * 0.42 * a.cos(), (w * 0.5 - 15.0) * a.sin()]
        })
        .collect();
    o.line(zip_path, 1.5, Profile::Flat(2.0), zip).density(0.5);
    for s in [-1.0f32, 1.0] {
        o.rect(
            l * 0.4,
            s * w * 0.3,
            20.0,
            8.0,
            2.0,
            0.3,
            Profile::Flat(2.0),
            Steel,
        );
    }
    // Shoulder straps with buckles and adjusters.
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
        let buckle = rng.pick(&[Plastic, Plastic, Aluminium, Steel]);
        o.line(
            rounded_rect_path(45.0, 22.0, 3.0),
            2.5,
            Profile::Flat(4.0),
            buckle,
        );
        let last = o.parts.len() - 1;
        o.parts[last].frame = Affine::at(end[0], end[1], PI * 0.5);
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
