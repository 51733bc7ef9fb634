//! The kernel loops of `fast.rs` in AVX2 + FMA intrinsics, stamped as two
//! modules ([`avx2`], [`avx512vl`]) that `fast.rs` dispatches to at run time.

// Lane and dimension loops index several arrays in step: indices read best.
#![allow(clippy::needless_range_loop)]

/// The same loop as `fast::accumulate_generic` in AVX2 + FMA intrinsics: LLVM
/// does not vectorise the exp polynomial of the generic version by itself.
/// Stamped twice: plain AVX2 + FMA, and the same code with AVX-512VL enabled
/// (32 registers; see [`super::fast::KernelImpl::Avx512Vl`]).
macro_rules! simd_kernels {
    ($module:ident, $features:literal) => {
        #[cfg(target_arch = "x86_64")]
        pub(super) mod $module {
            use std::arch::x86_64::*;
            use std::ops::Range;

            use crate::engine::kernel::centres::Centres;
            use crate::engine::kernel::lanes::{
                BLOCK, CHUNKS, EXP2_POLY, LANES, LAZY_SHIFT, LogSumExp, add_clamp_min_scalar, exp_nonpositive,
                log2_scale,
            };

            /// 2^y on 8 lanes for y < 128: y = n + f with n = round(y), 2^f from
            /// [`EXP2_POLY`], 2^n built in the exponent bits. Below -126.5
            /// (and for -inf or NaN) n clamps to -127, whose exponent field 0
            /// makes the result exactly 0, branch-free.
            #[inline]
            #[target_feature(enable = $features)]
            pub(crate) fn exp2_below_128(y: __m256) -> __m256 {
                // 1.5 * 2^23 + 127: adding it rounds to an integer n and leaves
                // n + 127 (the biased exponent) in the low mantissa bits.
                let magic = _mm256_set1_ps(12_583_039.0);
                let yc = _mm256_max_ps(y, _mm256_set1_ps(-127.0));
                let t = _mm256_add_ps(yc, magic);
                let f = _mm256_sub_ps(yc, _mm256_sub_ps(t, magic));
                let c = EXP2_POLY;
                let mut p = _mm256_set1_ps(c[5]);
                for k in (0..5).rev() {
                    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(c[k]));
                }
                let scale = _mm256_castsi256_ps(_mm256_slli_epi32::<23>(_mm256_castps_si256(t)));
                _mm256_mul_ps(p, scale)
            }

            #[inline]
            #[target_feature(enable = $features)]
            fn hsum(v: __m256) -> f32 {
                let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
                let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
                let s = _mm_add_ss(s, _mm_movehdup_ps(s));
                _mm_cvtss_f32(s)
            }

            #[inline]
            #[target_feature(enable = $features)]
            fn hmin(v: __m256) -> f32 {
                let s = _mm_min_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
                let s = _mm_min_ps(s, _mm_movehl_ps(s, s));
                let s = _mm_min_ss(s, _mm_movehdup_ps(s));
                _mm_cvtss_f32(s)
            }

            /// See `fast::shifted_weights_lanes`.
            #[target_feature(enable = $features)]
            pub(in crate::engine::kernel) fn shifted_weights_lanes(
                row: &mut [f32],
                shift: &[f32],
                inv_two_sigma2: f32,
                sums: &mut [f32],
            ) {
                let inv = _mm256_set1_ps(log2_scale(inv_two_sigma2));
                let n = row.len();
                let whole = n - n % LANES;
                let mut i = 0;
                while i < whole {
                    // SAFETY: i + 8 <= n <= the lengths of `row`, `shift` and `sums`.
                    unsafe {
                        let v = _mm256_loadu_ps(row.as_ptr().add(i));
                        let s = _mm256_loadu_ps(shift.as_ptr().add(i));
                        let w = exp2_below_128(_mm256_mul_ps(_mm256_sub_ps(s, v), inv));
                        _mm256_storeu_ps(row.as_mut_ptr().add(i), w);
                        let acc = _mm256_loadu_ps(sums.as_ptr().add(i));
                        _mm256_storeu_ps(sums.as_mut_ptr().add(i), _mm256_add_ps(acc, w));
                    }
                    i += LANES;
                }
                for i in whole..n {
                    row[i] = exp_nonpositive((shift[i] - row[i]) * inv_two_sigma2);
                    sums[i] += row[i];
                }
            }

            /// See `fast::add_clamp_min_lanes`.
            #[target_feature(enable = $features)]
            pub(in crate::engine::kernel) fn add_clamp_min_lanes(
                row: &mut [f32],
                norm: f32,
                floors: &[f32],
                minima: &mut [f32],
            ) {
                let n = row.len();
                let whole = n - n % LANES;
                let nv = _mm256_set1_ps(norm);
                let mut i = 0;
                while i < whole {
                    // SAFETY: i + 8 <= n <= the lengths of `row`, `floors` and `minima`.
                    unsafe {
                        let v = _mm256_add_ps(_mm256_loadu_ps(row.as_ptr().add(i)), nv);
                        // max/min return the second operand when either is NaN:
                        // a NaN product becomes the (finite) floor, as with
                        // f32::max, and the minimum matches `if v < m`.
                        let v = _mm256_max_ps(v, _mm256_loadu_ps(floors.as_ptr().add(i)));
                        _mm256_storeu_ps(row.as_mut_ptr().add(i), v);
                        let m = _mm256_min_ps(v, _mm256_loadu_ps(minima.as_ptr().add(i)));
                        _mm256_storeu_ps(minima.as_mut_ptr().add(i), m);
                    }
                    i += LANES;
                }
                add_clamp_min_scalar(&mut row[whole..], norm, &floors[whole..], &mut minima[whole..]);
            }

            /// See `fast::weighted_sums_lanes`: 64 queries at a time in eight
            /// register accumulators, every centre's weights read once.
            #[target_feature(enable = $features)]
            pub(in crate::engine::kernel) fn weighted_sums_lanes(
                weights: &[f32],
                ld: usize,
                coords: &[f32],
                part: &mut [f32],
            ) {
                const WIDE: usize = 8 * LANES;
                let n = part.len();
                let whole = n - n % WIDE;
                let mut i0 = 0;
                while i0 < whole {
                    let mut acc = [_mm256_setzero_ps(); 8];
                    for (j, &c) in coords.iter().enumerate() {
                        let cv = _mm256_set1_ps(c);
                        let base = j * ld + i0;
                        for (v, a) in acc.iter_mut().enumerate() {
                            // SAFETY: base + 64 <= j * ld + n <= weights.len().
                            let w = unsafe { _mm256_loadu_ps(weights.as_ptr().add(base + v * LANES)) };
                            *a = _mm256_fmadd_ps(cv, w, *a);
                        }
                    }
                    for (v, a) in acc.iter().enumerate() {
                        // SAFETY: i0 + 64 <= n.
                        unsafe { _mm256_storeu_ps(part.as_mut_ptr().add(i0 + v * LANES), *a) };
                    }
                    i0 += WIDE;
                }
                if whole < n {
                    let rest = &mut part[whole..];
                    rest.iter_mut().for_each(|p| *p = 0.0);
                    for (j, &c) in coords.iter().enumerate() {
                        for (p, &w) in rest.iter_mut().zip(&weights[j * ld + whole..]) {
                            *p = c.mul_add(w, *p);
                        }
                    }
                }
            }

            /// Chunks summed in f32 lanes before flushing into f64 (512 centres):
            /// keeps the f32 rounding error of a sum below ~1e-5 relative.
            const FLUSH_CHUNKS: u32 = 64;

            /// Dimensions 1 to 3: one pass per chunk of 8 centres, accumulators kept
            /// in registers across the whole range and across calls (in `acc.lanes`),
            /// the shift checked with one compare per chunk. Cheap for the many
            /// short ranges of the cell list as well as for full sums.
            #[target_feature(enable = $features)]
            pub(in crate::engine::kernel) fn accumulate_low_dim<const D: usize>(
                centres: &Centres,
                range: Range<usize>,
                z: &[f32],
                inv_two_sigma2: f32,
                acc: &mut LogSumExp,
                weighted: &mut [f64],
            ) {
                let stride = centres.stride();
                let coords = centres.coords();
                let lane_index = _mm256_setr_ps(0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0);
                let inv = _mm256_set1_ps(log2_scale(inv_two_sigma2));
                let mut zv = [_mm256_setzero_ps(); D];
                for k in 0..D {
                    zv[k] = _mm256_set1_ps(z[k]);
                }
                // SAFETY (all loads below): `lanes` rows are 8 floats; every chunk
                // read starts below `range.end <= len` and `coords` is padded by
                // LANES floats past its last row.
                let mut mass = unsafe { _mm256_loadu_ps(acc.lanes[0].as_ptr()) };
                let mut sums = [_mm256_setzero_ps(); D];
                for k in 0..D {
                    sums[k] = unsafe { _mm256_loadu_ps(acc.lanes[k + 1].as_ptr()) };
                }
                let mut shift = _mm256_set1_ps(acc.shift);
                // Rescale only for a centre nearer than this (weight above e^40).
                let lazy = LAZY_SHIFT / inv_two_sigma2;
                let mut trigger = _mm256_set1_ps(acc.shift - lazy);
                let mut mins = _mm256_set1_ps(acc.min_d2);
                let mut j = range.start;
                while j < range.end {
                    let valid = (range.end - j).min(LANES);
                    let mut x = [_mm256_setzero_ps(); D];
                    let mut d2 = _mm256_setzero_ps();
                    for k in 0..D {
                        x[k] = unsafe { _mm256_loadu_ps(coords.as_ptr().add(k * stride + j)) };
                        let diff = _mm256_sub_ps(x[k], zv[k]);
                        d2 = _mm256_fmadd_ps(diff, diff, d2);
                    }
                    if valid < LANES {
                        let ok = _mm256_cmp_ps::<_CMP_LT_OQ>(lane_index, _mm256_set1_ps(valid as f32));
                        d2 = _mm256_blendv_ps(_mm256_set1_ps(f32::INFINITY), d2, ok);
                    }
                    mins = _mm256_min_ps(mins, d2);
                    // A centre so near that its weight would pass e^40: move the
                    // shift to it and rescale the sums.
                    if _mm256_movemask_ps(_mm256_cmp_ps::<_CMP_LT_OQ>(d2, trigger)) != 0 {
                        let new_min = hmin(d2);
                        if acc.shift < f32::INFINITY {
                            let factor = (-((acc.shift - new_min) as f64) * inv_two_sigma2 as f64).exp();
                            let f = _mm256_set1_ps(factor as f32);
                            mass = _mm256_mul_ps(mass, f);
                            for s in &mut sums {
                                *s = _mm256_mul_ps(*s, f);
                            }
                            acc.mass *= factor;
                            weighted.iter_mut().for_each(|w| *w *= factor);
                        }
                        acc.shift = new_min;
                        shift = _mm256_set1_ps(new_min);
                        trigger = _mm256_set1_ps(new_min - lazy);
                    }
                    let w = exp2_below_128(_mm256_mul_ps(_mm256_sub_ps(shift, d2), inv));
                    mass = _mm256_add_ps(mass, w);
                    for k in 0..D {
                        sums[k] = _mm256_fmadd_ps(w, x[k], sums[k]);
                    }
                    acc.pending += 1;
                    if acc.pending >= FLUSH_CHUNKS {
                        acc.mass += hsum(mass) as f64;
                        mass = _mm256_setzero_ps();
                        for k in 0..D {
                            weighted[k] += hsum(sums[k]) as f64;
                            sums[k] = _mm256_setzero_ps();
                        }
                        acc.pending = 0;
                    }
                    j += LANES;
                }
                // SAFETY: each `lanes` row holds exactly 8 floats.
                unsafe {
                    _mm256_storeu_ps(acc.lanes[0].as_mut_ptr(), mass);
                    for k in 0..D {
                        _mm256_storeu_ps(acc.lanes[k + 1].as_mut_ptr(), sums[k]);
                    }
                }
                acc.pending = acc.pending.max(1);
                acc.min_d2 = acc.min_d2.min(hmin(mins));
            }

            /// Dimension 1 to 3 on the one-pass loop, any other on the blocked one.
            #[target_feature(enable = $features)]
            pub(in crate::engine::kernel) fn accumulate_any(
                centres: &Centres,
                range: Range<usize>,
                z: &[f32],
                inv_two_sigma2: f32,
                acc: &mut LogSumExp,
                weighted: &mut [f64],
            ) {
                match centres.dim() {
                    1 => accumulate_low_dim::<1>(centres, range, z, inv_two_sigma2, acc, weighted),
                    2 => accumulate_low_dim::<2>(centres, range, z, inv_two_sigma2, acc, weighted),
                    3 => accumulate_low_dim::<3>(centres, range, z, inv_two_sigma2, acc, weighted),
                    _ => accumulate(centres, range, z, inv_two_sigma2, acc, weighted),
                }
            }

            #[target_feature(enable = $features)]
            pub(in crate::engine::kernel) fn accumulate(
                centres: &Centres,
                range: Range<usize>,
                z: &[f32],
                inv_two_sigma2: f32,
                acc: &mut LogSumExp,
                weighted: &mut [f64],
            ) {
                let dim = centres.dim();
                let stride = centres.stride();
                let coords = centres.coords();
                let lane_index = _mm256_setr_ps(0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0);
                let inv = _mm256_set1_ps(log2_scale(inv_two_sigma2));
                let mut start = range.start;
                while start < range.end {
                    let count = (range.end - start).min(BLOCK);
                    let chunks = count.div_ceil(LANES);
                    let width = chunks * LANES;

                    // Pass 1: squared distances (lanes past `count` masked to +inf).
                    let mut d2 = [_mm256_setzero_ps(); CHUNKS];
                    for k in 0..dim {
                        let zk = _mm256_set1_ps(z[k]);
                        let row = &coords[k * stride + start..k * stride + start + width];
                        for (c, d) in d2[..chunks].iter_mut().enumerate() {
                            // SAFETY: `row` holds `width = chunks * LANES` floats.
                            let x = unsafe { _mm256_loadu_ps(row.as_ptr().add(c * LANES)) };
                            let diff = _mm256_sub_ps(x, zk);
                            *d = _mm256_fmadd_ps(diff, diff, *d);
                        }
                    }
                    if count < width {
                        let last = chunks - 1;
                        let limit = _mm256_set1_ps((count - last * LANES) as f32);
                        let valid = _mm256_cmp_ps::<_CMP_LT_OQ>(lane_index, limit);
                        d2[last] = _mm256_blendv_ps(_mm256_set1_ps(f32::INFINITY), d2[last], valid);
                    }

                    // Nearest centre of the block: new shift if closer than all before.
                    let mut mins = d2[0];
                    for d in &d2[1..chunks] {
                        mins = _mm256_min_ps(mins, *d);
                    }
                    let block_min = hmin(mins);
                    if block_min < acc.shift {
                        if acc.shift < f32::INFINITY {
                            acc.rescale((-((acc.shift - block_min) as f64) * inv_two_sigma2 as f64).exp(), weighted);
                        }
                        acc.shift = block_min;
                    }
                    acc.min_d2 = acc.min_d2.min(block_min);
                    let shift = _mm256_set1_ps(acc.shift);

                    // Pass 2: shifted weights <= 1.
                    let mut w = [_mm256_setzero_ps(); CHUNKS];
                    let mut mass = _mm256_setzero_ps();
                    for c in 0..chunks {
                        w[c] = exp2_below_128(_mm256_mul_ps(_mm256_sub_ps(shift, d2[c]), inv));
                        mass = _mm256_add_ps(mass, w[c]);
                    }
                    acc.mass += hsum(mass) as f64;

                    // Pass 3: weighted coordinate sums.
                    for k in 0..dim {
                        let row = &coords[k * stride + start..k * stride + start + width];
                        let mut s = _mm256_setzero_ps();
                        for (c, wc) in w[..chunks].iter().enumerate() {
                            // SAFETY: as in pass 1.
                            let x = unsafe { _mm256_loadu_ps(row.as_ptr().add(c * LANES)) };
                            s = _mm256_fmadd_ps(*wc, x, s);
                        }
                        weighted[k] += hsum(s) as f64;
                    }
                    start += count;
                }
            }
        }
    };
}

simd_kernels!(avx2, "avx2,fma");
simd_kernels!(avx512vl, "avx2,fma,avx512f,avx512vl");

#[cfg(test)]
mod tests {
    use crate::engine::kernel::fast::KernelImpl;
    use crate::engine::kernel::lanes::{LAZY_SHIFT, log2_scale};

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn simd_exp2_matches_libm_up_to_the_lazy_shift() {
        use std::arch::x86_64::*;
        if !KernelImpl::detect().has_avx2() {
            return;
        }
        let mut x = -87.0f32;
        while x <= LAZY_SHIFT {
            let mut out = [0.0f32; 8];
            let y = x * log2_scale(1.0);
            // SAFETY: the CPU has AVX2 and FMA (checked above).
            unsafe { _mm256_storeu_ps(out.as_mut_ptr(), super::avx2::exp2_below_128(_mm256_set1_ps(y))) };
            let exact = (x as f64).exp();
            // The rounding of x * log2(e) to f32 adds up to |x| 2^-24 to the exponent.
            let tolerance = 5e-7 + x.abs() as f64 * 6e-8;
            assert!(((out[0] as f64 - exact) / exact).abs() < tolerance, "x = {x}: {} vs {exact}", out[0]);
            x += 0.0173;
        }
        // Exactly 1 at 0; exactly 0 far below, at -inf and for NaN.
        for (y, expect) in [(0.0f32, 1.0f32), (-127.0, 0.0), (-1e30, 0.0), (f32::NEG_INFINITY, 0.0), (f32::NAN, 0.0)] {
            let mut out = [1.0f32; 8];
            // SAFETY: the CPU has AVX2 and FMA (checked above).
            unsafe { _mm256_storeu_ps(out.as_mut_ptr(), super::avx2::exp2_below_128(_mm256_set1_ps(y))) };
            assert_eq!(out[0], expect, "2^{y}");
        }
    }
}
