//! Effective dual-energy attenuation of the generator's materials, derived from NIST
//! attenuation data by `tools/materials/derive.py` (xraydb 4.5.8). GENERATED: edit the script
//! and run it again, not this file.
//!
//! Assumptions:
//! - Source: tungsten tube at 140 kVp, Kramers' law bremsstrahlung (photons per keV
//!   proportional to (E0 - E) / E, no characteristic lines), through 2.5 mm of aluminium.
//! - Detector: sandwich; low channel 0.3 mm Gd2O2S facing the beam, then 0.4 mm
//!   copper, then the high channel, 3.0 mm Gd2O2S; both integrate absorbed energy.
//!   Mean absorbed energy: low 60.2 keV, high 91.4 keV.
//! - Coefficients are secants -ln(T) / t at the thickness t_ref that halves the high-energy
//!   signal (the beam hardens, so thinner pieces read a little higher in R, thicker lower);
//!   the generator composes them linearly (Beer-Lambert).
//! - Calibration check against the palette's boundaries (organic < 1.45 < mixed < 1.9 <
//!   metal): R of neon (Zeff 10) = 1.460; R of argon (Zeff 18) = 1.917.

/// One material: what it is and its effective coefficients.
#[derive(Debug, Clone, Copy)]
pub struct MaterialRow {
    /// The [`crate::Material`] variant this row is for.
    pub name: &'static str,
    /// What it stands for.
    pub description: &'static str,
    /// Composition by mass fraction.
    pub composition: &'static str,
    /// Density, g/cm3.
    pub density: f32,
    /// Effective low-energy attenuation, 1/mm.
    pub mu_low: f32,
    /// Effective high-energy attenuation, 1/mm.
    pub mu_high: f32,
    /// Thickness the coefficients were taken at (T_high = 0.5), mm.
    pub t_ref: f32,
}

/// Zeff references: (what, R) for the palette's boundaries.
pub const REFERENCE_RATIOS: [(&str, f32); 2] =
    [("neon (Zeff 10)", 1.4600), ("argon (Zeff 18)", 1.9174)];

/// The table, in [`crate::Material`]'s order.
pub const MATERIALS: [MaterialRow; 26] = [
    MaterialRow {
        name: "Fabric",
        description: "packed clothing: cotton and polyester, bulk",
        composition: "C6H10O5 0.5, C10H8O4 0.5",
        density: 0.3,
        mu_low: 0.00629002,
        mu_high: 0.00504602,
        t_ref: 137.4,
    },
    MaterialRow {
        name: "Paper",
        description: "paper and books: cellulose with 10% chalk filler",
        composition: "C6H10O5 0.9, CaCO3 0.1",
        density: 0.8,
        mu_low: 0.0196201,
        mu_high: 0.0142515,
        t_ref: 48.64,
    },
    MaterialRow {
        name: "Cardboard",
        description: "corrugated board, bulk",
        composition: "C6H10O5 0.95, CaCO3 0.05",
        density: 0.2,
        mu_low: 0.00460604,
        mu_high: 0.00348514,
        t_ref: 198.9,
    },
    MaterialRow {
        name: "Plastic",
        description: "ABS / polystyrene-like casings and bottles",
        composition: "C8H8 1",
        density: 1.05,
        mu_low: 0.0210203,
        mu_high: 0.0177164,
        t_ref: 39.12,
    },
    MaterialRow {
        name: "Pvc",
        description: "PVC: cable insulation, some cases",
        composition: "C2H3Cl 1",
        density: 1.38,
        mu_low: 0.0533534,
        mu_high: 0.0309853,
        t_ref: 22.37,
    },
    MaterialRow {
        name: "Rubber",
        description: "rubber with carbon black and zinc oxide (soles, belt)",
        composition: "C5H8 0.62, C 0.35, ZnO 0.03",
        density: 1.15,
        mu_low: 0.0302934,
        mu_high: 0.0213223,
        t_ref: 32.51,
    },
    MaterialRow {
        name: "Leather",
        description: "chrome-tanned leather",
        composition: "C5H9NO2 0.95, Cr2O3 0.05",
        density: 0.9,
        mu_low: 0.0230164,
        mu_high: 0.016461,
        t_ref: 42.11,
    },
    MaterialRow {
        name: "Wood",
        description: "dry wood",
        composition: "C6H10O5 1",
        density: 0.6,
        mu_low: 0.0128124,
        mu_high: 0.0102155,
        t_ref: 67.85,
    },
    MaterialRow {
        name: "Food",
        description: "food: water, starch and sugar, salt",
        composition: "H2O 0.5, C6H10O5 0.48, NaCl 0.02",
        density: 1.1,
        mu_low: 0.025206,
        mu_high: 0.0194348,
        t_ref: 35.67,
    },
    MaterialRow {
        name: "Tobacco",
        description: "cut tobacco as packed in cigarettes, with its mineral ash",
        composition: "C6H10O5 0.82, H2O 0.12, K2CO3 0.03, CaCO3 0.03",
        density: 0.3,
        mu_low: 0.00710788,
        mu_high: 0.00529743,
        t_ref: 130.8,
    },
    MaterialRow {
        name: "DenseOrganic",
        description: "pressed cocaine hydrochloride (heroin-like organics read alike)",
        composition: "C17H22ClNO4 1",
        density: 1.2,
        mu_low: 0.0303638,
        mu_high: 0.0216966,
        t_ref: 31.95,
    },
    MaterialRow {
        name: "Water",
        description: "water and drinks",
        composition: "H2O 1",
        density: 1.0,
        mu_low: 0.0232225,
        mu_high: 0.0180374,
        t_ref: 38.43,
    },
    MaterialRow {
        name: "Glass",
        description: "soda-lime glass",
        composition: "SiO2 0.73, Na2O 0.14, CaO 0.09, MgO 0.04",
        density: 2.5,
        mu_low: 0.0803474,
        mu_high: 0.0495295,
        t_ref: 13.99,
    },
    MaterialRow {
        name: "Ceramic",
        description: "porcelain / alumina ceramic",
        composition: "Al2O3 0.5, SiO2 0.5",
        density: 2.4,
        mu_low: 0.0700214,
        mu_high: 0.0449283,
        t_ref: 15.43,
    },
    MaterialRow {
        name: "Pcb",
        description: "FR-4 circuit board with copper layers",
        composition: "SiO2 0.45, C18H20O3 0.37, Cu 0.12, Br 0.06",
        density: 1.9,
        mu_low: 0.107241,
        mu_high: 0.0560299,
        t_ref: 12.37,
    },
    MaterialRow {
        name: "Aluminium",
        description: "aluminium",
        composition: "Al 1",
        density: 2.7,
        mu_low: 0.088717,
        mu_high: 0.053557,
        t_ref: 12.94,
    },
    MaterialRow {
        name: "Battery",
        description: "lithium-ion cell, whole (LiCoO2, graphite, foils, electrolyte, can)",
        composition: "LiCoO2 0.3, C 0.18, Cu 0.12, Al 0.06, C3H4O3 0.12, LiPF6 0.02, Fe 0.2",
        density: 2.7,
        mu_low: 0.204448,
        mu_high: 0.0999209,
        t_ref: 6.937,
    },
    MaterialRow {
        name: "Ferrite",
        description: "strontium ferrite magnet",
        composition: "SrFe12O19 1",
        density: 5.0,
        mu_low: 0.504883,
        mu_high: 0.237362,
        t_ref: 2.92,
    },
    MaterialRow {
        name: "Zinc",
        description: "zinc die-cast alloy (zamak: buckles, zipper pulls)",
        composition: "Zn 0.96, Al 0.04",
        density: 6.6,
        mu_low: 0.987927,
        mu_high: 0.447058,
        t_ref: 1.55,
    },
    MaterialRow {
        name: "Steel",
        description: "carbon steel",
        composition: "Fe 0.99, Mn 0.01",
        density: 7.85,
        mu_low: 0.865063,
        mu_high: 0.401285,
        t_ref: 1.727,
    },
    MaterialRow {
        name: "Copper",
        description: "copper (wires, coils)",
        composition: "Cu 1",
        density: 8.96,
        mu_low: 1.26268,
        mu_high: 0.573329,
        t_ref: 1.209,
    },
    MaterialRow {
        name: "Brass",
        description: "cartridge brass (cases, keys)",
        composition: "Cu 0.7, Zn 0.3",
        density: 8.5,
        mu_low: 1.23202,
        mu_high: 0.558389,
        t_ref: 1.241,
    },
    MaterialRow {
        name: "Silver",
        description: "sterling silver (coins, jewellery)",
        composition: "Ag 0.925, Cu 0.075",
        density: 10.4,
        mu_low: 4.71442,
        mu_high: 2.06554,
        t_ref: 0.3356,
    },
    MaterialRow {
        name: "Lead",
        description: "lead (bullet cores, weights)",
        composition: "Pb 1",
        density: 11.35,
        mu_low: 7.5899,
        mu_high: 5.01074,
        t_ref: 0.1383,
    },
    MaterialRow {
        name: "Gold",
        description: "22-carat gold (coins, jewellery)",
        composition: "Au 0.917, Cu 0.083",
        density: 17.8,
        mu_low: 11.4252,
        mu_high: 7.87796,
        t_ref: 0.08799,
    },
    MaterialRow {
        name: "FilledNylon",
        description: "polyamide 6 with 30% glass fibre (pistol frames, grips, tool bodies)",
        composition: "C6H11NO 0.7, SiO2 0.17, CaO 0.07, Al2O3 0.04, B2O3 0.02",
        density: 1.36,
        mu_low: 0.0366426,
        mu_high: 0.0253615,
        t_ref: 27.33,
    },
];
