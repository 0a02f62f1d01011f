//! Letterboxing: scale a scan to fit the model's input without distorting it, pad the rest,
//! and remember the transform so that boxes can be mapped back to the scan's pixels.

use fast_image_resize::{
    FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer,
    images::{Image, ImageRef},
};

/// How a scan was placed in the model's input: `input = source * scale + pad`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Letterbox {
    pub scale: f32,
    pub pad_x: u32,
    pub pad_y: u32,
    pub source_width: u32,
    pub source_height: u32,
}

impl Letterbox {
    /// The placement of a `width` x `height` scan in a `target_w` x `target_h` input.
    pub fn fit(width: u32, height: u32, target_w: u32, target_h: u32) -> Self {
        let scale = (target_w as f32 / width as f32).min(target_h as f32 / height as f32);
        let (scaled_w, scaled_h) = scaled_size(width, height, scale, target_w, target_h);
        Self {
            scale,
            pad_x: (target_w - scaled_w) / 2,
            pad_y: (target_h - scaled_h) / 2,
            source_width: width,
            source_height: height,
        }
    }

    /// Maps a point of the model's input back to the scan, clipped to the scan.
    pub fn to_source(&self, x: f32, y: f32) -> (f32, f32) {
        let sx = (x - self.pad_x as f32) / self.scale;
        let sy = (y - self.pad_y as f32) / self.scale;
        (
            sx.clamp(0.0, self.source_width as f32),
            sy.clamp(0.0, self.source_height as f32),
        )
    }
}

fn scaled_size(width: u32, height: u32, scale: f32, max_w: u32, max_h: u32) -> (u32, u32) {
    let w = ((width as f32 * scale).round() as u32).clamp(1, max_w);
    let h = ((height as f32 * scale).round() as u32).clamp(1, max_h);
    (w, h)
}

/// Writes `rgb` (interleaved 8-bit, `width` x `height`) letterboxed into `out`, a planar
/// `3 x target_h x target_w` f32 tensor: each channel `(value / 255 - mean) / std`, padding
/// filled with `fill`.
#[allow(clippy::too_many_arguments)]
pub fn letterbox_into(
    rgb: &[u8],
    width: u32,
    height: u32,
    target_w: u32,
    target_h: u32,
    fill: u8,
    mean: [f32; 3],
    std: [f32; 3],
    out: &mut [f32],
) -> Letterbox {
    let lb = Letterbox::fit(width, height, target_w, target_h);
    let (scaled_w, scaled_h) = scaled_size(width, height, lb.scale, target_w, target_h);
    let plane = target_w as usize * target_h as usize;
    debug_assert_eq!(out.len(), plane * 3);

    let resized;
    let pixels: &[u8] = if (scaled_w, scaled_h) == (width, height) {
        rgb
    } else {
        resized = resize(rgb, width, height, scaled_w, scaled_h);
        &resized
    };

    // value/255 then normalised, per channel, through a 256-entry table.
    let table: [[f32; 256]; 3] =
        std::array::from_fn(|c| std::array::from_fn(|v| (v as f32 / 255.0 - mean[c]) / std[c]));
    for (c, channel) in out.chunks_exact_mut(plane).enumerate() {
        channel.fill(table[c][fill as usize]);
    }
    let (r_plane, rest) = out.split_at_mut(plane);
    let (g_plane, b_plane) = rest.split_at_mut(plane);
    let row_len = scaled_w as usize;
    for y in 0..scaled_h as usize {
        let src = &pixels[y * row_len * 3..(y + 1) * row_len * 3];
        let start = (y + lb.pad_y as usize) * target_w as usize + lb.pad_x as usize;
        let r = &mut r_plane[start..start + row_len];
        let g = &mut g_plane[start..start + row_len];
        let b = &mut b_plane[start..start + row_len];
        for (x, px) in src.chunks_exact(3).enumerate() {
            r[x] = table[0][px[0] as usize];
            g[x] = table[1][px[1] as usize];
            b[x] = table[2][px[2] as usize];
        }
    }
    lb
}

/// Bilinear resize with the SIMD resizer. Buffers are sized here, so it cannot fail.
fn resize(rgb: &[u8], width: u32, height: u32, to_w: u32, to_h: u32) -> Vec<u8> {
    let src = ImageRef::new(width, height, rgb, PixelType::U8x3)
        .expect("source buffer holds width x height RGB pixels");
    let mut dst = Image::new(to_w, to_h, PixelType::U8x3);
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Bilinear));
    Resizer::new()
        .resize(&src, &mut dst, &options)
        .expect("source and destination are both U8x3");
    dst.into_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ZERO: [f32; 3] = [0.0; 3];
    const ONE: [f32; 3] = [1.0; 3];

    #[test]
    fn wide_scan_is_padded_top_and_bottom() {
        let lb = Letterbox::fit(1280, 640, 640, 640);
        assert_eq!(lb.scale, 0.5);
        assert_eq!((lb.pad_x, lb.pad_y), (0, 160));
    }

    #[test]
    fn round_trip_is_within_a_pixel() {
        for (w, h) in [(1024, 768), (700, 1900), (333, 333), (4000, 1200), (17, 5)] {
            let lb = Letterbox::fit(w, h, 640, 640);
            for (x, y) in [
                (0.0, 0.0),
                (w as f32 / 3.0, h as f32 / 2.0),
                (w as f32, h as f32),
            ] {
                let ix = x * lb.scale + lb.pad_x as f32;
                let iy = y * lb.scale + lb.pad_y as f32;
                let (bx, by) = lb.to_source(ix, iy);
                assert!(
                    (bx - x).abs() <= 1.0 && (by - y).abs() <= 1.0,
                    "{w}x{h}: ({x},{y}) -> ({bx},{by})"
                );
            }
        }
    }

    #[test]
    fn to_source_clips_to_the_scan() {
        let lb = Letterbox::fit(200, 100, 64, 64);
        assert_eq!(lb.to_source(-5.0, 0.0), (0.0, 0.0));
        assert_eq!(lb.to_source(64.0, 64.0), (200.0, 100.0));
    }

    #[test]
    fn pixels_land_where_the_transform_says() {
        // A 4x2 scan into an 8x8 input: scale 2, 8x4 placed at y = 2.
        let mut rgb = vec![0u8; 4 * 2 * 3];
        let (x, y) = (3, 1);
        rgb[(y * 4 + x) * 3] = 255; // red pixel at (3, 1)
        let mut out = vec![0f32; 3 * 64];
        let lb = letterbox_into(&rgb, 4, 2, 8, 8, 114, ZERO, ONE, &mut out);
        assert_eq!((lb.scale, lb.pad_x, lb.pad_y), (2.0, 0, 2));
        let fill = 114.0 / 255.0;
        assert_eq!(out[0], fill, "padding row");
        assert_eq!(out[64], fill, "green plane's first pixel");
        // Scan pixel (3,1) covers input (6..8, 4..6); the far corner is pure red.
        assert!(
            out[5 * 8 + 7] > 0.9,
            "red plane at (7,5): {}",
            out[5 * 8 + 7]
        );
        assert_eq!(out[64 + 5 * 8 + 7], 0.0, "green plane");
        assert_eq!(out[2 * 8], 0.0, "first scan row is black");
    }

    #[test]
    fn same_size_copies_and_normalises() {
        let rgb: Vec<u8> = (0..2 * 2 * 3).map(|i| (i * 20) as u8).collect();
        let mut out = vec![0f32; 12];
        let lb = letterbox_into(&rgb, 2, 2, 2, 2, 0, [0.5; 3], [0.5; 3], &mut out);
        assert_eq!((lb.scale, lb.pad_x, lb.pad_y), (1.0, 0, 0));
        // Red plane holds samples 0, 3, 6, 9 of the interleaved data.
        let want = |v: u8| (v as f32 / 255.0 - 0.5) / 0.5;
        assert_eq!(out[0..4], [want(0), want(60), want(120), want(180)]);
        assert_eq!(out[4], want(20));
    }
}
