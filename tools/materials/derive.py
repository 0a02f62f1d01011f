#!/usr/bin/env python3
"""Derives the synthetic generator's material table from NIST attenuation data.

For each material (a real composition and density) it computes the effective linear
attenuation coefficients a dual-energy line-scan detector measures, and writes them to
crates/synth/src/material_table.rs, which the generator reads.

    python3 -m venv /tmp/xraydb && /tmp/xraydb/bin/pip install xraydb
    /tmp/xraydb/bin/python tools/materials/derive.py            # writes the table
    /tmp/xraydb/bin/python tools/materials/derive.py --check    # prints it, writes nothing

Model (every number here is written into the table's header):
- Source: a tungsten tube at TUBE_KVP, bremsstrahlung by Kramers' law, photons per keV
  proportional to (E0 - E) / E (characteristic lines left out), through PRE_FILTER_AL mm of
  aluminium (tube window, collimator and tunnel lining). The conveyor belt is not in it: the
  generator draws the belt as rubber.
- Detector: a sandwich, as in dual-energy baggage scanners. The low-energy channel is a thin
  Gd2O2S screen (LOW_GOS_MM) facing the beam; behind it a copper filter (FILTER_CU_MM) and
  the high-energy channel, a thick Gd2O2S screen (HIGH_GOS_MM). Both integrate energy: a
  photon of energy E absorbed in a screen adds E to its signal.
- Attenuation: NIST/XCOM total cross sections with coherent scattering (Elam et al.'s tables,
  as the xraydb package carries them), mixtures by mass fraction.
- Effective coefficients: a polychromatic beam hardens, so -ln(T) / t depends on t. The
  table gives, per material, the secant at the thickness that halves the high-energy signal
  (T_high = 0.5), for both channels: mu_low = -ln(T_low) / t, mu_high = ln 2 / t. The
  generator then composes linearly (Beer-Lambert with these effective coefficients).
- The palette classifies by R = mu_low / mu_high (xray_engine::imaging::Palette: organic
  below 1.45, metal above 1.9). Vendors calibrate R against Zeff for their own detector; the
  screens and filter here are picked in the range such scanners use so that the palette's
  boundaries fall near Zeff 10 (neon) and Zeff 18 (argon), the usual organic / inorganic /
  metal limits. The script prints R for those references as a check.
"""

import argparse
import math
import pathlib

import numpy as np
import xraydb

TUBE_KVP = 140.0
PRE_FILTER_AL = 2.5
LOW_GOS_MM = 0.3
FILTER_CU_MM = 0.4
HIGH_GOS_MM = 3.0
REFERENCE_T_HIGH = 0.5

# name (the generator's Material variant), description, density g/cm3,
# composition as (formula, mass fraction).
MATERIALS = [
    ("Fabric", "packed clothing: cotton and polyester, bulk", 0.3,
     [("C6H10O5", 0.5), ("C10H8O4", 0.5)]),
    ("Paper", "paper and books: cellulose with 10% chalk filler", 0.8,
     [("C6H10O5", 0.9), ("CaCO3", 0.1)]),
    ("Cardboard", "corrugated board, bulk", 0.2, [("C6H10O5", 0.95), ("CaCO3", 0.05)]),
    ("Plastic", "ABS / polystyrene-like casings and bottles", 1.05, [("C8H8", 1.0)]),
    ("Pvc", "PVC: cable insulation, some cases", 1.38, [("C2H3Cl", 1.0)]),
    ("Rubber", "rubber with carbon black and zinc oxide (soles, belt)", 1.15,
     [("C5H8", 0.62), ("C", 0.35), ("ZnO", 0.03)]),
    ("Leather", "chrome-tanned leather", 0.9,
     [("C5H9NO2", 0.95), ("Cr2O3", 0.05)]),
    ("Wood", "dry wood", 0.6, [("C6H10O5", 1.0)]),
    ("Food", "food: water, starch and sugar, salt", 1.1,
     [("H2O", 0.5), ("C6H10O5", 0.48), ("NaCl", 0.02)]),
    ("Tobacco", "cut tobacco as packed in cigarettes, with its mineral ash", 0.3,
     [("C6H10O5", 0.82), ("H2O", 0.12), ("K2CO3", 0.03), ("CaCO3", 0.03)]),
    ("DenseOrganic", "pressed cocaine hydrochloride (heroin-like organics read alike)", 1.2,
     [("C17H22ClNO4", 1.0)]),
    ("Water", "water and drinks", 1.0, [("H2O", 1.0)]),
    ("Glass", "soda-lime glass", 2.5,
     [("SiO2", 0.73), ("Na2O", 0.14), ("CaO", 0.09), ("MgO", 0.04)]),
    ("Ceramic", "porcelain / alumina ceramic", 2.4, [("Al2O3", 0.5), ("SiO2", 0.5)]),
    ("Pcb", "FR-4 circuit board with copper layers", 1.9,
     [("SiO2", 0.45), ("C18H20O3", 0.37), ("Cu", 0.12), ("Br", 0.06)]),
    ("Aluminium", "aluminium", 2.7, [("Al", 1.0)]),
    ("Battery", "lithium-ion cell, whole (LiCoO2, graphite, foils, electrolyte, can)", 2.7,
     [("LiCoO2", 0.30), ("C", 0.18), ("Cu", 0.12), ("Al", 0.06), ("C3H4O3", 0.12),
      ("LiPF6", 0.02), ("Fe", 0.20)]),
    ("Ferrite", "strontium ferrite magnet", 5.0, [("SrFe12O19", 1.0)]),
    ("Zinc", "zinc die-cast alloy (zamak: buckles, zipper pulls)", 6.6,
     [("Zn", 0.96), ("Al", 0.04)]),
    ("Steel", "carbon steel", 7.85, [("Fe", 0.99), ("Mn", 0.01)]),
    ("Copper", "copper (wires, coils)", 8.96, [("Cu", 1.0)]),
    ("Brass", "cartridge brass (cases, keys)", 8.5, [("Cu", 0.7), ("Zn", 0.3)]),
    ("Silver", "sterling silver (coins, jewellery)", 10.4, [("Ag", 0.925), ("Cu", 0.075)]),
    ("Lead", "lead (bullet cores, weights)", 11.35, [("Pb", 1.0)]),
    ("Gold", "22-carat gold (coins, jewellery)", 17.8, [("Au", 0.917), ("Cu", 0.083)]),
    ("FilledNylon", "polyamide 6 with 30% glass fibre (pistol frames, grips, tool bodies)", 1.36,
     [("C6H11NO", 0.7), ("SiO2", 0.17), ("CaO", 0.07), ("Al2O3", 0.04), ("B2O3", 0.02)]),
]

# Zeff references for the calibration check.
REFERENCES = [("neon (Zeff 10)", 0.9, [("Ne", 1.0)]), ("argon (Zeff 18)", 1.6, [("Ar", 1.0)])]

ENERGIES = np.arange(10_000.0, TUBE_KVP * 1000.0 + 1.0, 250.0)


def mass_mu(composition):
    """Mass attenuation, cm2/g, at ENERGIES."""
    total = sum(w for _, w in composition)
    out = np.zeros_like(ENERGIES)
    for formula, w in composition:
        out += (w / total) * xraydb.material_mu(formula, ENERGIES, density=1.0)
    return out


def linear_mu(composition, density):
    """Linear attenuation in 1/mm at ENERGIES."""
    return mass_mu(composition) * density / 10.0


def detector_weights():
    e = ENERGIES
    photons = np.clip((TUBE_KVP * 1000.0 - e) / e, 0.0, None)
    photons *= np.exp(-linear_mu([("Al", 1.0)], 2.70) * PRE_FILTER_AL)
    gos = linear_mu([("Gd2O2S", 1.0)], 7.34)
    cu = linear_mu([("Cu", 1.0)], 8.96)
    low = photons * e * (1.0 - np.exp(-gos * LOW_GOS_MM))
    through = photons * np.exp(-gos * LOW_GOS_MM - cu * FILTER_CU_MM)
    high = through * e * (1.0 - np.exp(-gos * HIGH_GOS_MM))
    return low / low.sum(), high / high.sum()


LOW_W, HIGH_W = detector_weights()


def transmissions(mu, t):
    att = np.exp(-mu * t)
    return float((LOW_W * att).sum()), float((HIGH_W * att).sum())


def effective(composition, density):
    """(mu_low, mu_high, t_ref): secant coefficients at the thickness with T_high = 0.5."""
    mu = linear_mu(composition, density)
    lo, hi = 1e-5, 1e5
    for _ in range(100):
        t = math.sqrt(lo * hi)
        _, th = transmissions(mu, t)
        if th > REFERENCE_T_HIGH:
            lo = t
        else:
            hi = t
    tl, th = transmissions(mu, t)
    return -math.log(tl) / t, -math.log(th) / t, t


def mean_energy(w):
    return float((w * ENERGIES).sum()) / 1000.0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="print the table, write nothing")
    root = pathlib.Path(__file__).resolve().parents[2]
    ap.add_argument("--out", default=str(root / "crates/synth/src/material_table.rs"))
    args = ap.parse_args()

    refs = []
    for name, density, comp in REFERENCES:
        ml, mh, _ = effective(comp, density)
        refs.append((name, ml / mh))
    rows = []
    for name, desc, density, comp in MATERIALS:
        ml, mh, t = effective(comp, density)
        rows.append((name, desc, density, comp, ml, mh, t))

    print(f"mean absorbed energy: low {mean_energy(LOW_W):.1f} keV, high {mean_energy(HIGH_W):.1f} keV")
    for name, r in refs:
        print(f"R of {name}: {r:.3f}")
    print(f"{'material':<13} {'g/cm3':>6} {'mu_low':>9} {'mu_high':>9} {'R':>6} {'t_ref mm':>9}")
    for name, _, density, _, ml, mh, t in rows:
        print(f"{name:<13} {density:>6.2f} {ml:>9.5f} {mh:>9.5f} {ml / mh:>6.3f} {t:>9.3f}")
    if args.check:
        return

    lines = [
        "//! Effective dual-energy attenuation of the generator's materials, derived from NIST",
        "//! attenuation data by `tools/materials/derive.py` (xraydb "
        f"{xraydb.__version__}). GENERATED: edit the script",
        "//! and run it again, not this file.",
        "//!",
        "//! Assumptions:",
        f"//! - Source: tungsten tube at {TUBE_KVP:.0f} kVp, Kramers' law bremsstrahlung (photons per keV",
        f"//!   proportional to (E0 - E) / E, no characteristic lines), through {PRE_FILTER_AL} mm of aluminium.",
        f"//! - Detector: sandwich; low channel {LOW_GOS_MM} mm Gd2O2S facing the beam, then {FILTER_CU_MM} mm",
        f"//!   copper, then the high channel, {HIGH_GOS_MM} mm Gd2O2S; both integrate absorbed energy.",
        f"//!   Mean absorbed energy: low {mean_energy(LOW_W):.1f} keV, high {mean_energy(HIGH_W):.1f} keV.",
        "//! - Coefficients are secants -ln(T) / t at the thickness t_ref that halves the high-energy",
        "//!   signal (the beam hardens, so thinner pieces read a little higher in R, thicker lower);",
        "//!   the generator composes them linearly (Beer-Lambert).",
        "//! - Calibration check against the palette's boundaries (organic < 1.45 < mixed < 1.9 <",
        "//!   metal): " + "; ".join(f"R of {n} = {r:.3f}" for n, r in refs) + ".",
        "",
        "/// One material: what it is and its effective coefficients.",
        "#[derive(Debug, Clone, Copy)]",
        "pub struct MaterialRow {",
        "    /// The [`crate::Material`] variant this row is for.",
        "    pub name: &'static str,",
        "    /// What it stands for.",
        "    pub description: &'static str,",
        "    /// Composition by mass fraction.",
        "    pub composition: &'static str,",
        "    /// Density, g/cm3.",
        "    pub density: f32,",
        "    /// Effective low-energy attenuation, 1/mm.",
        "    pub mu_low: f32,",
        "    /// Effective high-energy attenuation, 1/mm.",
        "    pub mu_high: f32,",
        "    /// Thickness the coefficients were taken at (T_high = 0.5), mm.",
        "    pub t_ref: f32,",
        "}",
        "",
        f"/// Zeff references: (what, R) for the palette's boundaries.",
        f"pub const REFERENCE_RATIOS: [(&str, f32); {len(refs)}] = [",
    ]
    for name, r in refs:
        lines.append(f'    ("{name}", {r:.4f}),')
    lines.append("];")
    lines.append("")
    lines.append("/// The table, in [`crate::Material`]'s order.")
    lines.append(f"pub const MATERIALS: [MaterialRow; {len(rows)}] = [")
    for name, desc, density, comp, ml, mh, t in rows:
        comp_s = ", ".join(f"{f} {w:g}" for f, w in comp)
        lines += [
            "    MaterialRow {",
            f'        name: "{name}",',
            f'        description: "{desc}",',
            f'        composition: "{comp_s}",',
            f"        density: {float(density)!r},",
            f"        mu_low: {ml:.6g},",
            f"        mu_high: {mh:.6g},",
            f"        t_ref: {t:.4g},",
            "    },",
        ]
    lines.append("];")
    pathlib.Path(args.out).write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
