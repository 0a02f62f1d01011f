//! Materials and their linear attenuation at the two energies of a dual-energy scanner.
//!
//! The coefficients are measured physics, not tuned: `tools/materials/derive.py` computes
//! them from NIST attenuation data for real compositions and densities, a stated tube
//! spectrum and a stated detector sandwich, and writes [`crate::material_table`]; its header
//! lists the assumptions. The palette (`xray_engine::imaging::Palette`) then classifies by
//! the ratio `mu_low / mu_high` as vendors' do: organic below ~1.45 (Zeff under ~10), mixed
//! or light metal to ~1.9 (Zeff ~18), metal above; lead and gold are so dense that any
//! real piece of them is black.

use crate::material_table::{MATERIALS, MaterialRow};

/// A material an object part is made of. The order is the table's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Material {
    /// Packed textiles (clothes, bag fabric), bulk.
    Fabric,
    /// Paper and books (with chalk filler).
    Paper,
    /// Corrugated cardboard (boxes, parcels), bulk.
    Cardboard,
    /// Plastics (bottles, casings, handles).
    Plastic,
    /// PVC (cable insulation): chlorine makes it read mixed.
    Pvc,
    /// Rubber (soles, the conveyor belt, grips).
    Rubber,
    /// Leather (belts, wallets, bags).
    Leather,
    /// Wood (knife handles, grips).
    Wood,
    /// Food (chocolate, sandwiches, fruit).
    Food,
    /// Tobacco (cigarettes).
    Tobacco,
    /// Compressed powders and narcotics: dense organic.
    DenseOrganic,
    /// Water and other liquids.
    Water,
    /// Glass.
    Glass,
    /// Ceramics (mugs, ceramic blades).
    Ceramic,
    /// Printed circuit boards (glass fibre, epoxy, copper).
    Pcb,
    /// Aluminium and light alloys.
    Aluminium,
    /// Lithium cells: metal foils, cobalt oxide and a steel can.
    Battery,
    /// Ferrite magnets (speakers, clasps).
    Ferrite,
    /// Zinc die-cast (buckles, zipper pulls).
    Zinc,
    /// Steel and iron.
    Steel,
    /// Copper (wires, coils).
    Copper,
    /// Brass (cartridge cases, keys).
    Brass,
    /// Silver (coins, jewellery).
    Silver,
    /// Lead (bullet cores).
    Lead,
    /// Gold (coins, jewellery).
    Gold,
    /// Glass-fibre-filled nylon (pistol frames and grips, tool bodies): reads mixed.
    FilledNylon,
}

impl Material {
    /// Every material, in the table's order.
    pub const ALL: [Material; 26] = [
        Material::Fabric,
        Material::Paper,
        Material::Cardboard,
        Material::Plastic,
        Material::Pvc,
        Material::Rubber,
        Material::Leather,
        Material::Wood,
        Material::Food,
        Material::Tobacco,
        Material::DenseOrganic,
        Material::Water,
        Material::Glass,
        Material::Ceramic,
        Material::Pcb,
        Material::Aluminium,
        Material::Battery,
        Material::Ferrite,
        Material::Zinc,
        Material::Steel,
        Material::Copper,
        Material::Brass,
        Material::Silver,
        Material::Lead,
        Material::Gold,
        Material::FilledNylon,
    ];

    /// Its row of the derived table.
    pub fn row(self) -> &'static MaterialRow {
        &MATERIALS[self as usize]
    }

    /// `(mu_low, mu_high)` in 1/mm.
    #[inline]
    pub fn mu(self) -> (f32, f32) {
        let row = self.row();
        (row.mu_low, row.mu_high)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::material_table::REFERENCE_RATIOS;
    use xray_engine::imaging::{Palette, PaletteName};

    fn ratio(m: Material) -> f32 {
        let (l, h) = m.mu();
        l / h
    }

    #[test]
    fn every_material_reads_its_own_row_of_the_derived_table() {
        assert_eq!(Material::ALL.len(), MATERIALS.len());
        for (i, m) in Material::ALL.into_iter().enumerate() {
            assert_eq!(m as usize, i);
            let row = m.row();
            assert_eq!(row.name, format!("{m:?}"), "table order");
            assert_eq!(m.mu(), (row.mu_low, row.mu_high));
            // Photoelectric absorption: the low-energy beam is always attenuated more.
            assert!(row.mu_low > row.mu_high && row.mu_high > 0.0, "{m:?}");
            // Taken at the thickness that halves the high-energy signal.
            assert!((row.mu_high * row.t_ref - std::f32::consts::LN_2).abs() < 1e-3);
        }
    }

    #[test]
    fn ratios_fall_in_palette_bands() {
        for m in [
            Material::Fabric,
            Material::Paper,
            Material::Cardboard,
            Material::Plastic,
            Material::Rubber,
            Material::Leather,
            Material::Wood,
            Material::Food,
            Material::DenseOrganic,
            Material::Water,
            Material::Tobacco,
        ] {
            assert!(ratio(m) < 1.45, "{m:?} organic: {}", ratio(m));
        }
        for m in [
            Material::Glass,
            Material::Ceramic,
            Material::Aluminium,
            Material::Pvc,
        ] {
            assert!((1.45..1.9).contains(&ratio(m)), "{m:?} mixed: {}", ratio(m));
        }
        for m in [
            Material::Battery,
            Material::Ferrite,
            Material::Zinc,
            Material::Steel,
            Material::Copper,
            Material::Brass,
            Material::Silver,
        ] {
            assert!(ratio(m) > 1.9, "{m:?} metal: {}", ratio(m));
        }
        // The detector assumed puts the palette's boundaries near Zeff 10 and Zeff 18.
        let [(_, z10), (_, z18)] = REFERENCE_RATIOS;
        assert!((z10 - 1.45).abs() < 0.05 && (z18 - 1.9).abs() < 0.05);
    }

    /// The service's palette, rendering a pixel through `t` mm of `m`.
    fn rendered(m: Material, t: f32) -> [u8; 3] {
        let (l, h) = m.mu();
        let tr = |a: f32| ((-a * t).exp() * 65535.0) as u16;
        Palette::new(PaletteName::Classic).pixel(tr(l), tr(h))
    }

    #[test]
    fn the_service_palette_renders_the_classes_vendors_show() {
        // Organic orange: red strongest, blue weakest.
        for (m, t) in [(Material::Water, 40.0), (Material::Fabric, 120.0)] {
            let [r, g, b] = rendered(m, t);
            assert!(r > g && g > b, "{m:?} {t} mm: {:?}", [r, g, b]);
        }
        // Inorganic green.
        for (m, t) in [(Material::Aluminium, 8.0), (Material::Glass, 10.0)] {
            let [r, g, b] = rendered(m, t);
            assert!(g > r && g > b, "{m:?} {t} mm: {:?}", [r, g, b]);
        }
        // Metal blue.
        for (m, t) in [(Material::Steel, 1.5), (Material::Brass, 1.0)] {
            let [r, g, b] = rendered(m, t);
            assert!(b > r && b > g, "{m:?} {t} mm: {:?}", [r, g, b]);
        }
        // Lead and gold, a millimetre or more: opaque, near black.
        for m in [Material::Lead, Material::Gold] {
            let rgb = rendered(m, 1.0);
            assert!(rgb.iter().all(|&c| c < 60), "{m:?}: {rgb:?}");
        }
    }
}
