//! How plainly a labelled object shows in its scan: its own attenuation against what lies over
//! and under it, measured on the finished attenuation image (before the detector's noise).
//!
//! A screener, or a detector, sees an object by how much it darkens the image against how much
//! the image varies around it anyway. Faint organic goods under packed clothes darken little
//! and sit on a busy background; a pistol darkens a lot. Recording both per label lets an
//! evaluation be split by difficulty, the way screening data sets split easy, hard and hidden
//! objects, so a weak class can be told apart from a class drawn too faint to find.

/// Visibility of one label, in high-energy attenuation (natural log of transmission).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Visibility {
    /// Mean attenuation the object itself adds over its visible pixels (a part that adds less
    /// than the visibility floor at a pixel is not sampled there, so it counts as cover).
    pub contrast: f32,
    /// Mean attenuation of everything else (bag, clutter, other threats) over those pixels.
    pub cover: f32,
    /// Standard deviation of that other attenuation over those pixels: the clutter the object
    /// has to be seen through.
    pub clutter: f32,
}

impl Visibility {
    /// Contrast over clutter; large for an object that stands out, under 1 for one that
    /// darkens the image less than the background already varies.
    pub fn signal_to_clutter(&self) -> f32 {
        self.contrast / self.clutter.max(1e-3)
    }
}

/// Measures a label from its own `(pixel, attenuation)` samples (a pixel may appear several
/// times, once per part or stacked item, and is summed) and the scan's total high-energy
/// attenuation `high`. Empty samples give all zeros.
pub fn measure(own: &mut [(u32, f32)], high: &[f32]) -> Visibility {
    own.sort_unstable_by_key(|&(i, _)| i);
    let (mut n, mut sum_own, mut sum_rest, mut sum_rest2) = (0u64, 0f64, 0f64, 0f64);
    let mut k = 0;
    while k < own.len() {
        let pixel = own[k].0;
        let mut mine = 0f64;
        while k < own.len() && own[k].0 == pixel {
            mine += f64::from(own[k].1);
            k += 1;
        }
        let total = high.get(pixel as usize).map_or(mine, |&a| f64::from(a));
        let rest = (total - mine).max(0.0);
        n += 1;
        sum_own += mine;
        sum_rest += rest;
        sum_rest2 += rest * rest;
    }
    if n == 0 {
        return Visibility {
            contrast: 0.0,
            cover: 0.0,
            clutter: 0.0,
        };
    }
    let n = n as f64;
    let mean_rest = sum_rest / n;
    let var = (sum_rest2 / n - mean_rest * mean_rest).max(0.0);
    Visibility {
        contrast: (sum_own / n) as f32,
        cover: mean_rest as f32,
        clutter: var.sqrt() as f32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_attenuation_is_told_from_what_lies_under_it() {
        // Four pixels: the object adds 0.2 to each (0.1 from each of two parts on pixel 1),
        // over a background of 1.0, 1.0, 2.0 and 2.0.
        let high = [1.2, 1.2, 2.2, 2.2, 9.0];
        let mut own = vec![(3, 0.2), (1, 0.1), (0, 0.2), (2, 0.2), (1, 0.1)];
        let v = measure(&mut own, &high);
        assert!((v.contrast - 0.2).abs() < 1e-5, "{v:?}");
        assert!((v.cover - 1.5).abs() < 1e-5, "{v:?}");
        assert!((v.clutter - 0.5).abs() < 1e-5, "{v:?}");
        assert!((v.signal_to_clutter() - 0.4).abs() < 1e-4);
    }

    #[test]
    fn an_object_alone_has_no_cover_and_nothing_measured_gives_zeros() {
        let high = [0.5, 0.5];
        let v = measure(&mut [(0, 0.5), (1, 0.5)], &high);
        assert_eq!((v.cover, v.clutter), (0.0, 0.0));
        assert!((v.contrast - 0.5).abs() < 1e-6);
        assert_eq!(measure(&mut [], &high).contrast, 0.0);
    }
}
