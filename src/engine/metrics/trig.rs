//! Sums of exp(i omega . x) over a cloud: the empirical characteristic
//! function behind CFD (App. E.1), whose f64 `sin_cos` calls were most of the
//! metrics' cost (256 frequencies times every point, per evaluation).
//!
//! On AVX2 + FMA, four phases at a time go through a vectorised sin/cos in
//! f64 (Cephes' `sin.c`: reduction by pi/4 in three parts, degree-6
//! polynomials on [-pi/4, pi/4], ~1e-16 relative); phases too large for that
//! reduction to stay exact fall back to libm. Elsewhere every term is libm's.
//! Lane sums are added in a fixed order, so the result does not depend on
//! the thread count.

/// Phases above this go to libm: the three-part reduction keeps about
/// 1e-15 absolute accuracy up to here.
const MAX_FAST_PHASE: f64 = 1e6;

/// `(sum_i cos(omega . x_i), sum_i sin(omega . x_i))` over the row-major
/// points `points` (dimension `omega.len()`).
pub fn phase_sums(omega: &[f64], points: &[f32]) -> (f64, f64) {
    #[cfg(target_arch = "x86_64")]
    if crate::engine::kernel::fast::KernelImpl::detect().has_avx2() {
        // SAFETY: the CPU supports AVX2 and FMA (checked just above).
        return unsafe { avx2::phase_sums(omega, points) };
    }
    phase_sums_libm(omega, points)
}

/// The plain version: one libm `sin_cos` per point.
pub fn phase_sums_libm(omega: &[f64], points: &[f32]) -> (f64, f64) {
    let (mut re, mut im) = (0.0, 0.0);
    for p in points.chunks_exact(omega.len()) {
        let (s, c) = phase(omega, p).sin_cos();
        re += c;
        im += s;
    }
    (re, im)
}

#[inline(always)]
fn phase(omega: &[f64], p: &[f32]) -> f64 {
    omega.iter().zip(p).map(|(a, &b)| a * b as f64).sum()
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    use crate::engine::metrics::trig::MAX_FAST_PHASE;

    /// Cephes' sin polynomial in z^2 (highest degree first).
    const SIN: [f64; 6] = [
        1.589_623_015_765_465_7e-10,
        -2.505_074_776_285_780_7e-8,
        2.755_731_362_138_572_4e-6,
        -1.984_126_982_958_954e-4,
        8.333_333_333_322_118e-3,
        -1.666_666_666_666_663e-1,
    ];
    /// Cephes' cos polynomial in z^2 (highest degree first).
    const COS: [f64; 6] = [
        -1.135_853_652_138_768_2e-11,
        2.087_570_084_197_473e-9,
        -2.755_731_417_929_674e-7,
        2.480_158_728_885_170_4e-5,
        -1.388_888_888_887_305_6e-3,
        4.166_666_666_666_659e-2,
    ];
    /// pi/4 in three parts (the first two exact in few bits).
    const DP: [f64; 3] = [7.853_981_256_484_985e-1, 3.774_894_707_930_798e-8, 2.695_151_429_079_059_5e-15];

    /// (sin x, cos x) of four phases.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn sin_cos(x: __m256d) -> (__m256d, __m256d) {
        let sign_bit = _mm256_set1_pd(-0.0);
        let a = _mm256_andnot_pd(sign_bit, x);
        // Octant j = floor(a 4/pi), rounded up to even: q = (j + 1) / 2 is the
        // quadrant, y = 2 q, and z = a - y pi/4 lies in [-pi/4, pi/4].
        let j = _mm256_floor_pd(_mm256_mul_pd(a, _mm256_set1_pd(4.0 / std::f64::consts::PI)));
        let q = _mm256_floor_pd(_mm256_mul_pd(_mm256_add_pd(j, _mm256_set1_pd(1.0)), _mm256_set1_pd(0.5)));
        let y = _mm256_add_pd(q, q);
        let mut z = _mm256_fnmadd_pd(y, _mm256_set1_pd(DP[0]), a);
        z = _mm256_fnmadd_pd(y, _mm256_set1_pd(DP[1]), z);
        z = _mm256_fnmadd_pd(y, _mm256_set1_pd(DP[2]), z);
        let zz = _mm256_mul_pd(z, z);
        let mut ps = _mm256_set1_pd(SIN[0]);
        let mut pc = _mm256_set1_pd(COS[0]);
        for k in 1..6 {
            ps = _mm256_fmadd_pd(ps, zz, _mm256_set1_pd(SIN[k]));
            pc = _mm256_fmadd_pd(pc, zz, _mm256_set1_pd(COS[k]));
        }
        // sin z = z + z zz P(zz); cos z = 1 - zz/2 + zz^2 Q(zz).
        let s = _mm256_fmadd_pd(_mm256_mul_pd(z, zz), ps, z);
        let c =
            _mm256_fmadd_pd(_mm256_mul_pd(zz, zz), pc, _mm256_fnmadd_pd(zz, _mm256_set1_pd(0.5), _mm256_set1_pd(1.0)));
        // Quadrant q mod 4: sin a = s, c, -s, -c; cos a = c, -s, -c, s.
        let q4 = _mm256_sub_pd(
            q,
            _mm256_mul_pd(_mm256_floor_pd(_mm256_mul_pd(q, _mm256_set1_pd(0.25))), _mm256_set1_pd(4.0)),
        );
        let odd = _mm256_cmp_pd::<_CMP_EQ_OQ>(
            _mm256_sub_pd(
                q4,
                _mm256_mul_pd(_mm256_floor_pd(_mm256_mul_pd(q4, _mm256_set1_pd(0.5))), _mm256_set1_pd(2.0)),
            ),
            _mm256_set1_pd(1.0),
        );
        let upper = _mm256_cmp_pd::<_CMP_GE_OQ>(q4, _mm256_set1_pd(2.0));
        let sin_a = _mm256_blendv_pd(s, c, odd);
        let cos_a = _mm256_blendv_pd(c, s, odd);
        // sin a is negative in quadrants 2, 3; cos a in quadrants 1, 2.
        let sin_neg = _mm256_and_pd(upper, sign_bit);
        let cos_neg = _mm256_and_pd(_mm256_xor_pd(upper, odd), sign_bit);
        // sin(-a) = -sin a.
        let x_sign = _mm256_and_pd(x, sign_bit);
        let sin_x = _mm256_xor_pd(_mm256_xor_pd(sin_a, sin_neg), x_sign);
        let cos_x = _mm256_xor_pd(cos_a, cos_neg);
        (sin_x, cos_x)
    }

    /// See [`crate::engine::metrics::trig::phase_sums`].
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn phase_sums(omega: &[f64], points: &[f32]) -> (f64, f64) {
        let dim = omega.len();
        let mut re = _mm256_setzero_pd();
        let mut im = _mm256_setzero_pd();
        let mut rows = points.chunks_exact(4 * dim);
        for quad in &mut rows {
            // Four dot products interleaved: four independent chains of adds
            // (each in the same order as `phase`, so the same values).
            let mut ph = [0.0f64; 4];
            for (k, &w) in omega.iter().enumerate() {
                for (l, p) in ph.iter_mut().enumerate() {
                    *p += w * quad[l * dim + k] as f64;
                }
            }
            if ph.iter().all(|p| p.abs() <= MAX_FAST_PHASE) {
                // SAFETY: `ph` holds four f64.
                let (s, c) = sin_cos(unsafe { _mm256_loadu_pd(ph.as_ptr()) });
                re = _mm256_add_pd(re, c);
                im = _mm256_add_pd(im, s);
            } else {
                let mut sc = [[0.0f64; 4]; 2];
                for (l, p) in ph.iter().enumerate() {
                    (sc[0][l], sc[1][l]) = p.sin_cos();
                }
                // SAFETY: each row of `sc` holds four f64.
                unsafe {
                    im = _mm256_add_pd(im, _mm256_loadu_pd(sc[0].as_ptr()));
                    re = _mm256_add_pd(re, _mm256_loadu_pd(sc[1].as_ptr()));
                }
            }
        }
        let mut lanes = [[0.0f64; 4]; 2];
        // SAFETY: each row of `lanes` holds four f64.
        unsafe {
            _mm256_storeu_pd(lanes[0].as_mut_ptr(), re);
            _mm256_storeu_pd(lanes[1].as_mut_ptr(), im);
        }
        let (mut re, mut im) = (lanes[0].iter().sum::<f64>(), lanes[1].iter().sum::<f64>());
        let (tail_re, tail_im) = crate::engine::metrics::trig::phase_sums_libm(omega, rows.remainder());
        re += tail_re;
        im += tail_im;
        (re, im)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phase_sums_match_libm_for_every_quadrant_and_sign() {
        // One point per phase, phases across many periods, both signs, and
        // a few beyond the fast path's range.
        let mut phases: Vec<f32> = (-4000..4000).map(|i| i as f32 * 0.01237).collect();
        phases.extend([0.0, 1e-7, -1e-7, 3.0e6, -7.5e7, 1e30]);
        let omega = [1.0f64];
        for n in [1, 3, 4, 5, 17, phases.len()] {
            let (re, im) = phase_sums(&omega, &phases[..n]);
            let (re0, im0) = phase_sums_libm(&omega, &phases[..n]);
            assert!((re - re0).abs() < 1e-12 * n as f64, "n = {n}: cos sum {re} vs {re0}");
            assert!((im - im0).abs() < 1e-12 * n as f64, "n = {n}: sin sum {im} vs {im0}");
        }
        // Term by term, in 3-D.
        let omega = [0.7, -1.3, 2.1];
        for (i, p) in phases.chunks_exact(3).take(500).enumerate() {
            let exact = phase(&omega, p);
            let (re, im) = phase_sums(&omega, &[p, p, p, p].concat());
            assert!((re / 4.0 - exact.cos()).abs() < 1e-14, "point {i}: cos {} vs {}", re / 4.0, exact.cos());
            assert!((im / 4.0 - exact.sin()).abs() < 1e-14, "point {i}: sin {} vs {}", im / 4.0, exact.sin());
        }
    }
}
