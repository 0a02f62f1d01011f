//! Pseudo-colour rendering of dual-energy X-ray data, the way screening workstations show it:
//! hue from the material class (orange organic, green mixed or light metal, blue metal),
//! brightness from how much the object attenuates.
//!
//! The material estimate is the ratio of low- to high-energy attenuation,
//! `R = ln(T_low) / ln(T_high)`: the photoelectric effect grows steeply with atomic number,
//! so heavier elements attenuate the low-energy beam relatively more.

use std::{fmt, str::FromStr, sync::Arc};

/// Attenuation (`-ln T`) at which a pixel is drawn darkest; anything denser looks the same.
const MAX_ATTENUATION: f32 = 8.0;
/// Attenuation below which a pixel is air (background).
const AIR_ATTENUATION: f32 = 0.03;
/// Levels per energy in the rendering table.
const LEVELS: usize = 256;

/// The built-in palettes; vendors differ, so a model card names the one its training used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PaletteName {
    /// Orange organic, green mixed, blue metal on white.
    #[default]
    Classic,
    /// Deeper hues and a cream background, as some hold-baggage screens use.
    HighContrast,
    /// Amber organic, yellow-green mixed, steel-blue metal on warm white.
    Amber,
    /// Brown organic, teal mixed, violet-blue metal on a cool, bluish white.
    Teal,
    /// Brightness only, from the high-energy image.
    Gray,
}

impl FromStr for PaletteName {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "classic" => Ok(PaletteName::Classic),
            "high-contrast" => Ok(PaletteName::HighContrast),
            "amber" => Ok(PaletteName::Amber),
            "teal" => Ok(PaletteName::Teal),
            "gray" => Ok(PaletteName::Gray),
            other => Err(format!(
                "unknown palette {other:?}; expected classic, high-contrast, amber, teal or gray"
            )),
        }
    }
}

impl fmt::Display for PaletteName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PaletteName::Classic => "classic",
            PaletteName::HighContrast => "high-contrast",
            PaletteName::Amber => "amber",
            PaletteName::Teal => "teal",
            PaletteName::Gray => "gray",
        })
    }
}

/// Colours and material boundaries of one palette.
#[derive(Debug, Clone, Copy)]
pub struct PaletteColours {
    pub background: [u8; 3],
    pub organic: [u8; 3],
    pub mixed: [u8; 3],
    pub metal: [u8; 3],
    /// Attenuation ratio below which material reads as organic.
    pub organic_max_ratio: f32,
    /// Attenuation ratio above which material reads as metal.
    pub metal_min_ratio: f32,
    /// False: brightness only (hue ignored).
    pub coloured: bool,
}

impl PaletteName {
    pub fn colours(self) -> PaletteColours {
        match self {
            PaletteName::Classic => PaletteColours {
                background: [255, 255, 255],
                organic: [235, 140, 30],
                mixed: [60, 175, 60],
                metal: [40, 90, 210],
                organic_max_ratio: 1.45,
                metal_min_ratio: 1.9,
                coloured: true,
            },
            PaletteName::HighContrast => PaletteColours {
                background: [250, 246, 232],
                organic: [215, 105, 0],
                mixed: [20, 150, 70],
                metal: [20, 50, 180],
                organic_max_ratio: 1.45,
                metal_min_ratio: 1.9,
                coloured: true,
            },
            PaletteName::Amber => PaletteColours {
                background: [255, 253, 246],
                organic: [240, 165, 45],
                mixed: [105, 185, 60],
                metal: [35, 105, 195],
                organic_max_ratio: 1.45,
                metal_min_ratio: 1.9,
                coloured: true,
            },
            PaletteName::Teal => PaletteColours {
                background: [243, 247, 255],
                organic: [200, 115, 45],
                mixed: [30, 160, 150],
                metal: [75, 55, 185],
                organic_max_ratio: 1.45,
                metal_min_ratio: 1.9,
                coloured: true,
            },
            PaletteName::Gray => PaletteColours {
                background: [255, 255, 255],
                organic: [128, 128, 128],
                mixed: [128, 128, 128],
                metal: [128, 128, 128],
                organic_max_ratio: 1.45,
                metal_min_ratio: 1.9,
                coloured: false,
            },
        }
    }
}

/// A palette ready to render: the colour of every (low, high) attenuation level pair is
/// computed once, so rendering costs three table look-ups a pixel.
#[derive(Clone)]
pub struct Palette {
    name: PaletteName,
    /// u16 transmission -> attenuation level (square-root spaced: finer where objects are thin).
    level: Arc<[u8]>,
    /// (low level * LEVELS + high level) -> RGB.
    rgb: Arc<[[u8; 3]]>,
}

impl fmt::Debug for Palette {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Palette").field("name", &self.name).finish()
    }
}

impl Palette {
    pub fn new(name: PaletteName) -> Self {
        let level: Vec<u8> = (0..=u16::MAX)
            .map(|t| {
                let attenuation = attenuation_of(t).min(MAX_ATTENUATION);
                ((attenuation / MAX_ATTENUATION).sqrt() * (LEVELS - 1) as f32).round() as u8
            })
            .collect();
        let colours = name.colours();
        let mut rgb = Vec::with_capacity(LEVELS * LEVELS);
        for low in 0..LEVELS {
            for high in 0..LEVELS {
                rgb.push(colour_of(
                    &colours,
                    attenuation_at(low),
                    attenuation_at(high),
                ));
            }
        }
        Self {
            name,
            level: level.into(),
            rgb: rgb.into(),
        }
    }

    pub fn name(&self) -> PaletteName {
        self.name
    }

    /// The pseudo-colour of one pixel from its low- and high-energy transmissions
    /// (0 = nothing passes, 65535 = air).
    #[inline]
    pub fn pixel(&self, low: u16, high: u16) -> [u8; 3] {
        let l = self.level[low as usize] as usize;
        let h = self.level[high as usize] as usize;
        self.rgb[l * LEVELS + h]
    }

    /// Renders interleaved (low, high) samples into interleaved RGB.
    pub fn render_dual(&self, samples: &[u16], rgb: &mut Vec<u8>) {
        rgb.clear();
        rgb.reserve(samples.len() / 2 * 3);
        for pair in samples.chunks_exact(2) {
            rgb.extend_from_slice(&self.pixel(pair[0], pair[1]));
        }
    }
}

fn attenuation_of(transmission: u16) -> f32 {
    -((transmission.max(1) as f32) / u16::MAX as f32).ln()
}

fn attenuation_at(level: usize) -> f32 {
    let fraction = level as f32 / (LEVELS - 1) as f32;
    fraction * fraction * MAX_ATTENUATION
}

fn lerp(a: [u8; 3], b: [u8; 3], t: f32) -> [f32; 3] {
    let t = t.clamp(0.0, 1.0);
    [0, 1, 2].map(|i| a[i] as f32 + (b[i] as f32 - a[i] as f32) * t)
}

/// Hue by material, lighter when thin, darker when thick.
fn colour_of(p: &PaletteColours, low: f32, high: f32) -> [u8; 3] {
    if high < AIR_ATTENUATION && low < AIR_ATTENUATION {
        return p.background;
    }
    let hue = if p.coloured {
        let ratio = low / high.max(1e-4);
        // Blend across a band on each boundary so that noise does not flicker between hues.
        const BAND: f32 = 0.08;
        if ratio < p.metal_min_ratio - BAND {
            let t = (ratio - (p.organic_max_ratio - BAND)) / (2.0 * BAND);
            lerp(p.organic, p.mixed, t)
        } else {
            let t = (ratio - (p.metal_min_ratio - BAND)) / (2.0 * BAND);
            lerp(p.mixed, p.metal, t)
        }
    } else {
        [128.0; 3]
    };
    let density = ((high + low) * 0.5 / MAX_ATTENUATION * 2.0).clamp(0.0, 1.0);
    // Thin: tint of the hue over the background; thick: the hue darkening towards black.
    let tint = (density * 3.0).min(1.0);
    let dark = 1.0 - 0.9 * ((density - 1.0 / 3.0).max(0.0) * 1.5);
    let hue_u8 = hue.map(|v| v.round() as u8);
    let tinted = lerp(p.background, hue_u8, tint);
    tinted.map(|v| (v * dark).round().clamp(0.0, 255.0) as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Transmission through `thickness` of a material with the given attenuation per unit.
    fn through(mu: f32, thickness: f32) -> u16 {
        ((-mu * thickness).exp() * u16::MAX as f32) as u16
    }

    fn dominant(rgb: [u8; 3]) -> usize {
        (0..3).max_by_key(|&i| rgb[i]).unwrap_or(0)
    }

    #[test]
    fn air_is_background() {
        let p = Palette::new(PaletteName::Classic);
        assert_eq!(p.pixel(u16::MAX, u16::MAX), [255, 255, 255]);
    }

    #[test]
    fn materials_take_their_hue() {
        let p = Palette::new(PaletteName::Classic);
        // Organic: low energy attenuated 1.3x the high. Metal: 2.6x. Mixed: 1.7x.
        let organic = p.pixel(through(1.3, 1.0), through(1.0, 1.0));
        let mixed = p.pixel(through(1.7, 1.0), through(1.0, 1.0));
        let metal = p.pixel(through(2.6, 1.0), through(1.0, 1.0));
        assert_eq!(
            dominant(organic),
            0,
            "organic reads red/orange: {organic:?}"
        );
        assert_eq!(dominant(mixed), 1, "mixed reads green: {mixed:?}");
        assert_eq!(dominant(metal), 2, "metal reads blue: {metal:?}");
    }

    #[test]
    fn thicker_is_darker() {
        let p = Palette::new(PaletteName::Classic);
        let sum = |c: [u8; 3]| c.iter().map(|&v| v as u32).sum::<u32>();
        let thin = p.pixel(through(1.3, 0.5), through(1.0, 0.5));
        let thick = p.pixel(through(1.3, 3.0), through(1.0, 3.0));
        assert!(sum(thick) < sum(thin), "thin {thin:?} thick {thick:?}");
    }

    #[test]
    fn gray_palette_has_no_hue() {
        let p = Palette::new(PaletteName::Gray);
        let c = p.pixel(through(2.6, 1.0), through(1.0, 1.0));
        assert_eq!(c[0], c[1]);
        assert_eq!(c[1], c[2]);
    }

    #[test]
    fn names_parse() {
        assert_eq!(
            "high-contrast".parse::<PaletteName>(),
            Ok(PaletteName::HighContrast)
        );
        assert!("neon".parse::<PaletteName>().is_err());
        for name in [PaletteName::Amber, PaletteName::Teal] {
            assert_eq!(name.to_string().parse::<PaletteName>(), Ok(name));
        }
    }
}
