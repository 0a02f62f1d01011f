//! A small deterministic random number generator (xoshiro256++ seeded by SplitMix64).
//!
//! Kept in-crate so that a seed gives the same data set on every platform and with every
//! dependency version: generated training data must be reproducible.

/// SplitMix64 step: spreads a counter into well-mixed 64-bit words (also used as a hash).
#[inline]
pub fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Deterministic generator for one scan.
#[derive(Debug, Clone)]
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    /// A generator for scan `index` of the data set with `seed`; independent of the order in
    /// which scans are made, so parallel generation gives the same output.
    pub fn for_scan(seed: u64, index: u64) -> Self {
        let mut st = seed ^ 0x5EED_5EED_0000_0000;
        let a = splitmix64(&mut st);
        let mut st2 = a ^ index.wrapping_mul(0xD1B5_4A32_D192_ED03);
        Self::from_state(&mut st2)
    }

    /// A generator from a single word.
    pub fn new(seed: u64) -> Self {
        let mut st = seed;
        Self::from_state(&mut st)
    }

    fn from_state(st: &mut u64) -> Self {
        Self {
            s: [
                splitmix64(st),
                splitmix64(st),
                splitmix64(st),
                splitmix64(st),
            ],
        }
    }

    /// Next 64 random bits.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = (s[0].wrapping_add(s[3])).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform in [0, 1).
    #[inline]
    pub fn f32(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 * (1.0 / (1u64 << 24) as f32)
    }

    /// Uniform in [lo, hi).
    #[inline]
    pub fn range(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.f32()
    }

    /// Uniform integer in [lo, hi] (inclusive).
    #[inline]
    pub fn int(&mut self, lo: usize, hi: usize) -> usize {
        if hi <= lo {
            return lo;
        }
        lo + (self.next_u64() % (hi - lo + 1) as u64) as usize
    }

    /// True with probability `p`.
    #[inline]
    pub fn chance(&mut self, p: f32) -> bool {
        self.f32() < p
    }

    /// Approximately standard normal (sum of four uniforms from one draw: cheap enough for
    /// per-pixel noise, and the tails do not matter there).
    #[inline]
    pub fn normal(&mut self) -> f32 {
        let v = self.next_u64();
        let sum = (v & 0xFFFF) + ((v >> 16) & 0xFFFF) + ((v >> 32) & 0xFFFF) + (v >> 48);
        (sum as f32 / 65536.0 - 2.0) * 1.732_050_8
    }

    /// Normal with mean and standard deviation.
    #[inline]
    pub fn gauss(&mut self, mean: f32, sd: f32) -> f32 {
        mean + sd * self.normal()
    }

    /// Any angle in radians.
    pub fn angle(&mut self) -> f32 {
        self.range(0.0, std::f32::consts::TAU)
    }

    /// One of the items, chosen uniformly.
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.int(0, items.len().saturating_sub(1))]
    }

    /// An index chosen with probability proportional to its weight.
    pub fn weighted(&mut self, weights: &[f32]) -> usize {
        let total: f32 = weights.iter().sum();
        let mut x = self.f32() * total;
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        weights.len().saturating_sub(1)
    }

    /// A child generator, so one object's randomness does not shift another's.
    pub fn fork(&mut self) -> Rng {
        Rng::new(self.next_u64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream() {
        let mut a = Rng::for_scan(7, 3);
        let mut b = Rng::for_scan(7, 3);
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
        assert_ne!(
            Rng::for_scan(7, 3).next_u64(),
            Rng::for_scan(7, 4).next_u64()
        );
    }

    #[test]
    fn ranges_hold() {
        let mut r = Rng::new(1);
        for _ in 0..1000 {
            let v = r.range(2.0, 3.0);
            assert!((2.0..3.0).contains(&v));
            let i = r.int(3, 5);
            assert!((3..=5).contains(&i));
        }
    }
}
