//! What the portable and the SIMD kernel loops share: the lane and block
//! widths, the running max-shifted log-sum-exp state ([`LogSumExp`]), and the
//! exponentials and clamps both compute with. It sits below `fast.rs` (the
//! run-time choice) and `simd.rs` (the intrinsics), which both import it.

/// SIMD width the loops are written for (one AVX register of f32).
pub const LANES: usize = 8;
/// Centres per block: distances of one block stay in registers / L1.
pub(super) const BLOCK: usize = 64;
pub(super) const CHUNKS: usize = BLOCK / LANES;

/// Running state of one max-shifted log-sum-exp kernel sum.
#[derive(Clone, Copy, Debug)]
pub struct LogSumExp {
    /// Smallest squared distance seen so far (the nearest centre).
    pub min_d2: f32,
    /// The exponent shift: weights are exp((shift - d2) / (2 sigma^2)).
    /// Equal to `min_d2`, or (low-dimensional path) above it by at most
    /// [`LAZY_SHIFT`] * 2 sigma^2, so no weight exceeds e^40.
    pub shift: f32,
    /// sum_j exp((shift - d2_j) / (2 sigma^2)); >= 1 once any centre was
    /// seen (after [`LogSumExp::flush`]).
    pub mass: f64,
    /// Per-lane f32 partial sums of the low-dimensional path (mass, then up
    /// to three coordinates), flushed into the f64 totals regularly.
    pub(super) lanes: [[f32; LANES]; 4],
    /// Chunks accumulated in `lanes` since the last flush.
    pub(super) pending: u32,
}

impl Default for LogSumExp {
    fn default() -> Self {
        Self { min_d2: f32::INFINITY, shift: f32::INFINITY, mass: 0.0, lanes: [[0.0; LANES]; 4], pending: 0 }
    }
}

impl LogSumExp {
    /// Moves the per-lane partial sums into `mass` and `weighted`.
    pub fn flush(&mut self, weighted: &mut [f64]) {
        if self.pending == 0 {
            return;
        }
        self.mass += self.lanes[0].iter().map(|&x| x as f64).sum::<f64>();
        for (k, w) in weighted.iter_mut().enumerate().take(3) {
            *w += self.lanes[k + 1].iter().map(|&x| x as f64).sum::<f64>();
        }
        self.lanes = [[0.0; LANES]; 4];
        self.pending = 0;
    }

    /// Multiplies every accumulated sum by `factor` (a new, smaller shift).
    pub(super) fn rescale(&mut self, factor: f64, weighted: &mut [f64]) {
        self.mass *= factor;
        weighted.iter_mut().for_each(|w| *w *= factor);
        for lane in self.lanes.iter_mut().flatten() {
            *lane = (*lane as f64 * factor) as f32;
        }
    }

    /// Writes the weighted mean `weighted / mass` into `mean` and returns the
    /// unshifted `ln sum_j w_j`. Needs at least one centre accumulated.
    pub fn finish(&mut self, weighted: &mut [f64], inv_two_sigma2: f32, mean: &mut [f32]) -> f64 {
        self.flush(weighted);
        debug_assert!(self.mass >= 1.0);
        for (m, w) in mean.iter_mut().zip(weighted.iter()) {
            *m = (w / self.mass) as f32;
        }
        -(self.shift as f64) * inv_two_sigma2 as f64 + self.mass.ln()
    }
}

/// The low-dimensional path moves its shift only when a weight would exceed
/// e^LAZY_SHIFT: rescaling is rare, sums stay far from f32 overflow.
pub const LAZY_SHIFT: f32 = 40.0;

/// 2^f on [-1/2, 1/2], lowest degree first: Remez minimax of degree 5 for
/// relative error (7.5e-8; ~2.5e-7 with f32 rounding), the constant term
/// set to 1 so that the nearest centre's weight 2^0 is exactly 1.
pub(crate) const EXP2_POLY: [f32; 6] = [1.0, 0.693_146_94, 0.240_221_2, 0.055_507_13, 0.009_675_541, 0.001_327_647_3];

/// The SIMD loops' exponent factor: weights are 2^((shift - d2) * this) =
/// exp((shift - d2) / (2 sigma^2)). Saturated like [`super::centres::inv_two_sigma2`],
/// so 0 * factor stays 0.
pub(crate) fn log2_scale(inv_two_sigma2: f32) -> f32 {
    (inv_two_sigma2 as f64 * std::f64::consts::LOG2_E).min(f32::MAX as f64) as f32
}

/// exp(x) for x <= 0 (Cephes' polynomial, ~2 ulp), exactly 0 below -87 where
/// f32 would go subnormal. Branch-free so it vectorises.
#[inline(always)]
pub(crate) fn exp_nonpositive(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const MAGIC: f32 = 12_582_912.0; // 1.5 * 2^23: adding it rounds to an integer
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    let xc = if x < -87.0 { -87.0 } else { x };
    let t = xc * LOG2E + MAGIC;
    let n = t - MAGIC;
    let n_int = (t.to_bits() as i32).wrapping_sub(MAGIC.to_bits() as i32);
    let r = n * -LN2_HI + xc;
    let r = n * -LN2_LO + r;
    let mut p = 1.987_569_2e-4;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 0.5;
    let e = p * r * r + r + 1.0;
    let scale = f32::from_bits(((n_int + 127) << 23) as u32);
    if x < -87.0 { 0.0 } else { e * scale }
}

#[inline(always)]
pub(super) fn add_clamp_min_scalar(row: &mut [f32], norm: f32, floors: &[f32], minima: &mut [f32]) {
    for ((v, &f), m) in row.iter_mut().zip(floors).zip(minima.iter_mut()) {
        *v = (*v + norm).max(f);
        *m = if *v < *m { *v } else { *m };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_matches_libm_on_its_range() {
        let mut x = -87.0f32;
        while x <= 0.0 {
            let fast = exp_nonpositive(x);
            let exact = (x as f64).exp();
            assert!(((fast as f64 - exact) / exact).abs() < 1e-6, "x = {x}: {fast} vs {exact}");
            x += 0.0137;
        }
        assert_eq!(exp_nonpositive(-88.0), 0.0);
        assert_eq!(exp_nonpositive(f32::NEG_INFINITY), 0.0);
        assert_eq!(exp_nonpositive(0.0), 1.0);
    }
}
