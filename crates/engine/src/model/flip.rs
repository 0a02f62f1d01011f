//! Flip averaging, a test-time augmentation: each image also runs mirrored left to right, and
//! the two outputs of an anchor-grid detector (YOLOv8 layout) are averaged anchor by anchor,
//! the mirrored one first mapped back onto the unmirrored grid. Scores and boxes get steadier
//! for twice the model's work; model.toml's `[output] flip_average` turns it on.

/// The anchor grids of one model input, and how to mirror and average through them.
#[derive(Debug, Clone)]
pub struct FlipAverage {
    /// `(rows, columns)` of each grid, in the order its anchors come in the output.
    grids: Vec<(usize, usize)>,
    anchors: usize,
    height: usize,
    width: usize,
}

impl FlipAverage {
    /// The grids of a `height` x `width` input at `strides` (each dividing both sides; the
    /// spec checks that).
    pub fn new(strides: &[u32], height: usize, width: usize) -> Self {
        let grids: Vec<(usize, usize)> = strides
            .iter()
            .map(|&s| (height / s as usize, width / s as usize))
            .collect();
        let anchors = grids.iter().map(|(h, w)| h * w).sum();
        Self {
            grids,
            anchors,
            height,
            width,
        }
    }

    /// Appends `n` images of `input` (`[n, 3, H, W]`) to `out` mirrored left to right.
    pub fn append_mirrored(&self, input: &[f32], out: &mut Vec<f32>) {
        out.reserve(input.len());
        for row in input.chunks_exact(self.width) {
            out.extend(row.iter().rev());
        }
    }

    /// From the output of `2n` images (the `n` given, then their mirrors; per image `dims`
    /// `[4 + C, A]`) to that of the `n`: each anchor's rows averaged with its mirror's,
    /// the mirror's centre x reflected back (`W - cx`).
    pub fn average(&self, data: &[f32], n: usize, dims: [usize; 2]) -> Result<Vec<f32>, String> {
        let [rows, anchors] = dims;
        if anchors != self.anchors || rows < 4 {
            return Err(format!(
                "flip averaging needs [4 + classes, {}] per image (the anchors of strides at \
                 {}x{}), the model gives {dims:?}; check [output] strides",
                self.anchors, self.width, self.height
            ));
        }
        let per_image = rows * anchors;
        if data.len() != 2 * n * per_image {
            return Err(format!(
                "flip averaging expected {} output floats for {n} images and their mirrors, got {}",
                2 * n * per_image,
                data.len()
            ));
        }
        let mut out = vec![0f32; n * per_image];
        for k in 0..n {
            let plain = &data[k * per_image..(k + 1) * per_image];
            let mirrored = &data[(n + k) * per_image..(n + k + 1) * per_image];
            let merged = &mut out[k * per_image..(k + 1) * per_image];
            for r in 0..rows {
                let base = r * anchors;
                let mut offset = base;
                for &(grid_rows, grid_cols) in &self.grids {
                    for i in 0..grid_rows {
                        let line = offset + i * grid_cols;
                        for j in 0..grid_cols {
                            let mut m = mirrored[line + grid_cols - 1 - j];
                            if r == 0 {
                                m = self.width as f32 - m;
                            }
                            merged[line + j] = 0.5 * (plain[line + j] + m);
                        }
                    }
                    offset += grid_rows * grid_cols;
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two grids on an 8 x 4 input at strides 2 and 4: 4x2 + 2x1 = 10 anchors.
    fn flip() -> FlipAverage {
        FlipAverage::new(&[2, 4], 4, 8)
    }

    #[test]
    fn mirroring_reverses_each_row_of_each_channel() {
        let f = FlipAverage::new(&[1], 1, 3);
        let input = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0];
        let mut out = input.to_vec();
        f.append_mirrored(&input, &mut out);
        assert_eq!(&out[9..], &[3.0, 2.0, 1.0, 6.0, 5.0, 4.0, 9.0, 8.0, 7.0]);
    }

    #[test]
    fn an_output_and_its_exact_mirror_average_to_the_output() {
        let f = flip();
        // 5 rows (cx, cy, w, h, one class) over 10 anchors, distinct values.
        let plain: Vec<f32> = (0..50).map(|v| v as f32 * 0.37 + 1.0).collect();
        // What a perfectly mirror-symmetric model gives the mirrored image: each anchor's
        // values at its mirror, centre x reflected.
        let mut mirrored = vec![0f32; 50];
        for r in 0..5 {
            let mut offset = r * 10;
            for (gr, gc) in [(2usize, 4usize), (1, 2)] {
                for i in 0..gr {
                    for j in 0..gc {
                        let v = plain[offset + i * gc + j];
                        mirrored[offset + i * gc + gc - 1 - j] = if r == 0 { 8.0 - v } else { v };
                    }
                }
                offset += gr * gc;
            }
        }
        let data: Vec<f32> = plain.iter().chain(&mirrored).copied().collect();
        let got = f.average(&data, 1, [5, 10]).expect("fits");
        for (g, p) in got.iter().zip(&plain) {
            assert!((g - p).abs() < 1e-5, "{g} != {p}");
        }
    }

    #[test]
    fn scores_average_with_the_mirrored_anchor() {
        let f = flip();
        let mut data = vec![0f32; 2 * 5 * 10];
        // Image 0's class score at anchor 0 (grid 0, row 0, column 0) is 0.8; its mirror
        // scores 0.4 at column 3 of the same row, which is anchor 0 mirrored.
        data[4 * 10] = 0.8;
        data[50 + 4 * 10 + 3] = 0.4;
        let got = f.average(&data, 1, [5, 10]).expect("fits");
        assert!((got[4 * 10] - 0.6).abs() < 1e-6);
        // The mirror's 0.4 belongs to anchor 0, not to the anchor it sits at.
        assert_eq!(got[4 * 10 + 3], 0.0);
        // cx of anchor 0: plain 0, mirror reflected 8 - 0.
        assert_eq!(got[0], 4.0);
    }

    #[test]
    fn a_grid_that_does_not_fit_the_output_is_an_error() {
        let err = flip().average(&[0.0; 2 * 5 * 12], 1, [5, 12]).unwrap_err();
        assert!(err.contains("strides"), "{err}");
    }
}
