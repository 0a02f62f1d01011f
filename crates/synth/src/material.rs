//! Materials and their linear attenuation at the two energies of a dual-energy scanner.
//!
//! Values are effective coefficients per millimetre for a ~70 keV (low) and ~150 keV (high)
//! beam after the detector's filtering. They are tuned so that the ratio
//! `mu_low / mu_high` lands where the project's palette reads it
//! (`xray_engine::imaging::Palette`: organic below ~1.45, mixed 1.45-1.9, metal above ~1.9), and
//! so that everyday thicknesses give the brightness range of real screening images.

/// A material an object part is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Material {
    /// Loose fabric (clothes, bag fabric): light organic.
    Fabric,
    /// Paper and books.
    Paper,
    /// Cardboard (boxes, parcels).
    Cardboard,
    /// Plastics (bottles, casings, handles).
    Plastic,
    /// Leather and rubber (shoes, belts, soles, the conveyor belt).
    Rubber,
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
    /// Printed circuit boards (glass fibre, copper traces, chips).
    Pcb,
    /// Aluminium and light alloys.
    Aluminium,
    /// Lithium cells: metal foils and cobalt oxides, reads mixed to metal.
    Battery,
    /// Steel and iron.
    Steel,
    /// Copper and brass.
    Copper,
    /// Lead and other heavy metals.
    Lead,
}

impl Material {
    /// `(mu_low, mu_high)` in 1/mm.
    pub fn mu(self) -> (f32, f32) {
        // (mu_high, ratio low/high)
        let (high, ratio) = match self {
            Material::Fabric => (0.0065, 1.24),
            Material::Paper => (0.0135, 1.30),
            Material::Cardboard => (0.0060, 1.27),
            Material::Plastic => (0.0150, 1.26),
            Material::Rubber => (0.0160, 1.33),
            Material::Wood => (0.0080, 1.25),
            Material::Food => (0.0160, 1.36),
            Material::Tobacco => (0.0090, 1.33),
            Material::DenseOrganic => (0.0190, 1.31),
            Material::Water => (0.0165, 1.40),
            Material::Glass => (0.0420, 1.66),
            Material::Pcb => (0.0380, 1.72),
            Material::Aluminium => (0.0480, 1.76),
            Material::Battery => (0.0900, 1.98),
            Material::Steel => (0.2000, 2.40),
            Material::Copper => (0.2400, 2.60),
            Material::Lead => (0.8000, 3.00),
        };
        (high * ratio, high)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_fall_in_palette_bands() {
        let ratio = |m: Material| {
            let (l, h) = m.mu();
            l / h
        };
        for m in [
            Material::Fabric,
            Material::Paper,
            Material::Plastic,
            Material::DenseOrganic,
            Material::Water,
            Material::Tobacco,
        ] {
            assert!(ratio(m) < 1.45, "{m:?} organic");
        }
        for m in [Material::Glass, Material::Aluminium, Material::Pcb] {
            assert!((1.45..1.9).contains(&ratio(m)), "{m:?} mixed");
        }
        for m in [Material::Steel, Material::Copper, Material::Lead] {
            assert!(ratio(m) > 1.9, "{m:?} metal");
        }
    }
}
