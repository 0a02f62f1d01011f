//! The line-scan detector: turns attenuation into the 16-bit samples a scanner sends, with
//! the blur, gain mismatch, streaks, photon noise and dark offset real scans carry.
//!
//! Geometry: the belt moves along x, so each column is one read-out of the detector line and
//! each row one detector element. Element gain errors give faint horizontal streaks; source
//! flux drift gives faint vertical bands.

use super::{canvas::Canvas, rng::Rng};

/// Exposes `canvas` and returns interleaved (low, high) transmissions, 65535 = air.
pub fn expose(canvas: &Canvas, rng: &mut Rng) -> Vec<u16> {
    let (w, h) = (canvas.width, canvas.height);
    let mut low: Vec<f32> = canvas.low.iter().map(|a| (-a).exp()).collect();
    let mut high: Vec<f32> = canvas.high.iter().map(|a| (-a).exp()).collect();

    // Point spread: line-scan detectors of 0.8 to 1.6 mm pitch image sharply; a slight
    // separable blur, a little wider across the detector line.
    let kx = rng.range(0.02, 0.07);
    let ky = rng.range(0.03, 0.09);
    for buf in [&mut low, &mut high] {
        blur_rows(buf, w, h, kx);
        blur_cols(buf, w, h, ky);
    }

    // Gains: per detector element (rows) and per read-out (columns, slow drift).
    let row_gain: Vec<[f32; 2]> = (0..h)
        .map(|_| {
            let g = rng.gauss(1.0, 0.0025);
            [g * rng.gauss(1.0, 0.001), g]
        })
        .collect();
    let mut row_gain = row_gain;
    // Occasional bad elements: streaks along the whole scan.
    for _ in 0..rng.int(0, 3) {
        if rng.chance(0.5) {
            let y = rng.int(0, h.saturating_sub(1));
            let g = rng.range(0.94, 0.99);
            let ch = rng.int(0, 1);
            row_gain[y][ch] *= g;
        }
    }
    let mut drift = 1.0f32;
    let mut drift_v = 0.0f32;
    let col_gain: Vec<f32> = (0..w)
        .map(|_| {
            drift_v = drift_v * 0.97 + rng.gauss(0.0, 0.00008);
            drift = (drift + drift_v).clamp(0.992, 1.008);
            drift * rng.gauss(1.0, 0.0008)
        })
        .collect();

    // Photons: the high-energy channel sees more of them than the low.
    let n_high = rng.range(25_000.0, 70_000.0);
    let n_low = n_high * rng.range(0.4, 0.6);
    let electronic = rng.range(0.0002, 0.0008);
    let offset = rng.range(20.0, 160.0);
    let scale = 65535.0 - offset;

    let mut out = vec![0u16; w * h * 2];
    for (y, &[gl, gh]) in row_gain.iter().enumerate() {
        for (x, &g) in col_gain.iter().enumerate() {
            let i = y * w + x;
            let tl = low[i] * gl * g;
            let th = high[i] * gh * g;
            let tl = tl + (tl / n_low).sqrt() * rng.normal() + electronic * rng.normal();
            let th = th + (th / n_high).sqrt() * rng.normal() + electronic * rng.normal();
            out[2 * i] = (offset + tl.max(0.0) * scale).round().clamp(0.0, 65535.0) as u16;
            out[2 * i + 1] = (offset + th.max(0.0) * scale).round().clamp(0.0, 65535.0) as u16;
        }
    }
    out
}

fn blur_rows(buf: &mut [f32], w: usize, h: usize, k: f32) {
    if w < 3 {
        return;
    }
    let c = 1.0 - 2.0 * k;
    for y in 0..h {
        let row = &mut buf[y * w..(y + 1) * w];
        let mut prev = row[0];
        for x in 0..w {
            let cur = row[x];
            let next = if x + 1 < w { row[x + 1] } else { cur };
            row[x] = k * prev + c * cur + k * next;
            prev = cur;
        }
    }
}

fn blur_cols(buf: &mut [f32], w: usize, h: usize, k: f32) {
    if h < 3 {
        return;
    }
    let c = 1.0 - 2.0 * k;
    let mut prev: Vec<f32> = buf[..w].to_vec();
    for y in 0..h {
        let next_y = (y + 1).min(h - 1);
        for x in 0..w {
            let cur = buf[y * w + x];
            let next = buf[next_y * w + x];
            buf[y * w + x] = k * prev[x] + c * cur + k * next;
            prev[x] = cur;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn air_reads_near_full_scale_and_metal_dark() {
        let mut c = Canvas::new(64, 32);
        for y in 8..24 {
            for x in 30..50 {
                c.high[y * 64 + x] = 4.0;
                c.low[y * 64 + x] = 9.0;
            }
        }
        let out = expose(&c, &mut Rng::new(1));
        let air_high = out[2 * (16 * 64 + 5) + 1];
        assert!(air_high > 63_000, "air {air_high}");
        let metal = out[2 * (16 * 64 + 40) + 1];
        assert!(metal < 3_000, "metal {metal}");
    }
}
