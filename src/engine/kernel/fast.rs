//! The vectorised f32 kernel-sum loop.
//!
//! Two versions of one loop: AVX2 + FMA intrinsics, chosen at run time when
//! the CPU has them (`is_x86_feature_detected!`), and a portable version on
//! 8-lane arrays for every other CPU. The binary thus runs on any x86-64
//! without a global `-C target-cpu`.
//!
//! Centres are visited in blocks of [`BLOCK`]: squared distances for the
//! block go to a stack buffer, the running minimum distance is updated (and
//! earlier sums rescaled if it fell: the max-shifted log-sum-exp), then the
//! shifted weights `exp((min_d2 - d2) / (2 sigma^2)) <= 1` and the weighted
//! coordinate sums are accumulated. Block sums are added into f64. For d <= 3
//! one pass per chunk of 8 centres keeps the sums in registers and moves the
//! shift only when a weight would pass e^40 (see [`LAZY_SHIFT`]).
//!
//! This file holds the portable loop and the run-time choice of version; the
//! pieces both versions share are in `lanes.rs`, the intrinsics in `simd.rs`.

// Lane and dimension loops index several arrays in step: indices read best.
#![allow(clippy::needless_range_loop)]

use std::ops::Range;

use super::centres::Centres;
pub(crate) use super::lanes::exp_nonpositive;
use super::lanes::{BLOCK, CHUNKS, add_clamp_min_scalar};
pub use super::lanes::{LANES, LAZY_SHIFT, LogSumExp};
#[cfg(target_arch = "x86_64")]
use super::simd::{avx2, avx512vl};

/// Which compiled version of the kernel loop runs on this CPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KernelImpl {
    /// The AVX2 + FMA loops compiled with AVX-512VL as well: the same 256-bit
    /// code, but with 32 vector registers instead of 16, so the exp
    /// polynomial's constants and the running sums stay in registers
    /// (measured ~20 % faster in 3-D on an AMD Zen 4).
    Avx512Vl,
    /// 256-bit AVX2 with fused multiply-add.
    Avx2Fma,
    /// Baseline code (SSE2 on x86-64).
    Portable,
}

impl KernelImpl {
    /// Detects the best version for this CPU (cheap: std caches the answer).
    pub fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
            if std::arch::is_x86_feature_detected!("avx512f") && std::arch::is_x86_feature_detected!("avx512vl") {
                return KernelImpl::Avx512Vl;
            }
            return KernelImpl::Avx2Fma;
        }
        KernelImpl::Portable
    }

    /// Every version this CPU can run, the portable one first (tests compare them).
    pub fn available() -> Vec<Self> {
        let mut v = vec![KernelImpl::Portable];
        if KernelImpl::detect().has_avx2() {
            v.push(KernelImpl::Avx2Fma);
        }
        if KernelImpl::detect() == KernelImpl::Avx512Vl {
            v.push(KernelImpl::Avx512Vl);
        }
        v
    }

    /// Whether this version may use AVX2 + FMA instructions.
    pub fn has_avx2(self) -> bool {
        self != KernelImpl::Portable
    }

    pub fn name(self) -> &'static str {
        match self {
            KernelImpl::Avx512Vl => "avx2+fma+avx512vl",
            KernelImpl::Avx2Fma => "avx2+fma",
            KernelImpl::Portable => "portable",
        }
    }
}

/// Calls `$f` of the SIMD module built for this CPU's kernel version, else
/// evaluates the portable `$fallback`.
macro_rules! dispatch {
    ($imp:expr, $f:ident($($arg:expr),*), $fallback:expr) => {
        match $imp {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Avx2Fma` and `Avx512Vl` are only produced by
            // `KernelImpl::detect` after checking that this CPU supports their
            // features; callers check the lengths the SIMD code reads.
            KernelImpl::Avx2Fma => unsafe { avx2::$f($($arg),*) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: as above.
            KernelImpl::Avx512Vl => unsafe { avx512vl::$f($($arg),*) },
            _ => $fallback,
        }
    };
}

/// Adds the centres `range` of `centres` to the kernel sum at query `z`.
/// `weighted[k]` accumulates sum_j w_j c_jk with the same shift as `acc.mass`.
pub fn accumulate(
    imp: KernelImpl,
    centres: &Centres,
    range: Range<usize>,
    z: &[f32],
    inv_two_sigma2: f32,
    acc: &mut LogSumExp,
    weighted: &mut [f64],
) {
    debug_assert!(range.end <= centres.len());
    debug_assert_eq!(z.len(), centres.dim());
    debug_assert!(centres.coords().len() >= centres.dim() * centres.stride(), "centres filled rows-only");
    dispatch!(
        imp,
        accumulate_any(centres, range, z, inv_two_sigma2, acc, weighted),
        accumulate_generic(centres, range, z, inv_two_sigma2, acc, weighted)
    )
}

/// Replaces each `v` of `row` by the shifted weight exp((shift_i - v_i) * inv)
/// (<= 1 when `shift_i` is the minimum over its query's centres) and adds it
/// to `sums[i]`: one centre against a run of queries, one query per lane.
/// The matrix-product path's exponentials, on the same polynomial as the loops.
pub(crate) fn shifted_weights_lanes(
    imp: KernelImpl,
    row: &mut [f32],
    shift: &[f32],
    inv_two_sigma2: f32,
    sums: &mut [f32],
) {
    // The SIMD versions read these lengths unchecked.
    assert!(shift.len() >= row.len() && sums.len() >= row.len());
    dispatch!(imp, shifted_weights_lanes(row, shift, inv_two_sigma2, sums), {
        for ((v, &s), sum) in row.iter_mut().zip(shift).zip(sums.iter_mut()) {
            *v = exp_nonpositive((s - *v) * inv_two_sigma2);
            *sum += *v;
        }
    })
}

/// e_i <- max(e_i + norm, floor_i) and minima_i <- min(minima_i, e_i) over
/// one centre's run of queries: the matrix-product path's pass after
/// E = -2 C Z^T (adds |c|^2, keeps squared distances >= 0, finds the shift).
pub(crate) fn add_clamp_min_lanes(imp: KernelImpl, row: &mut [f32], norm: f32, floors: &[f32], minima: &mut [f32]) {
    // The SIMD versions read these lengths unchecked.
    assert!(floors.len() >= row.len() && minima.len() >= row.len());
    dispatch!(imp, add_clamp_min_lanes(row, norm, floors, minima), add_clamp_min_scalar(row, norm, floors, minima))
}

/// part[i] = sum_j coords[j] * weights[j * ld + i] for i < part.len(): one
/// coordinate's weighted sums over a centre-major weight tile. The matrix
/// product pads its rows to the GEMM kernel's height (16 with AVX-512), so
/// d = 50 would compute 64 rows; the last d mod 16 coordinates run here
/// instead, at about the same cost per row as the product.
pub(crate) fn weighted_sums_lanes(imp: KernelImpl, weights: &[f32], ld: usize, coords: &[f32], part: &mut [f32]) {
    // The SIMD versions read these lengths unchecked.
    assert!(coords.is_empty() || weights.len() >= (coords.len() - 1) * ld + part.len());
    dispatch!(imp, weighted_sums_lanes(weights, ld, coords, part), weighted_sums_scalar(weights, ld, coords, part))
}

#[inline(always)]
fn weighted_sums_scalar(weights: &[f32], ld: usize, coords: &[f32], part: &mut [f32]) {
    part.iter_mut().for_each(|p| *p = 0.0);
    for (j, &c) in coords.iter().enumerate() {
        for (p, &w) in part.iter_mut().zip(&weights[j * ld..]) {
            *p += c * w;
        }
    }
}

/// This core's peak f32 multiply-add rate in FLOP/s: twelve independent
/// 8-lane FMA chains, timed ten times for about 8 ms each, the fastest kept
/// (a busy neighbour or a clock still ramping up only slows some of them);
/// None without AVX2 + FMA. The ceiling of the matrix-product path, which
/// spends 4d FLOP per kernel.
pub fn fma_peak_flops() -> Option<f64> {
    #[cfg(target_arch = "x86_64")]
    if KernelImpl::detect().has_avx2() {
        const ROUNDS: u64 = 5_000_000;
        let mut best = 0.0f64;
        for _ in 0..10 {
            let start = std::time::Instant::now();
            // SAFETY: the CPU has AVX2 and FMA (checked above).
            let sink = unsafe { fma_chains(ROUNDS) };
            let seconds = start.elapsed().as_secs_f64();
            std::hint::black_box(sink);
            best = best.max((ROUNDS * 12 * 8 * 2) as f64 / seconds);
        }
        return Some(best);
    }
    None
}

/// `rounds` x 12 independent 8-lane FMAs (see [`fma_peak_flops`]).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn fma_chains(rounds: u64) -> f32 {
    use std::arch::x86_64::*;
    let mut acc = [_mm256_setzero_ps(); 12];
    let a = _mm256_set1_ps(std::hint::black_box(0.999_999));
    let b = _mm256_set1_ps(std::hint::black_box(1e-7));
    for _ in 0..rounds {
        for v in acc.iter_mut() {
            *v = _mm256_fmadd_ps(*v, a, b);
        }
    }
    let mut out = [0.0f32; 8];
    let sum = acc.iter().fold(_mm256_setzero_ps(), |s, &v| _mm256_add_ps(s, v));
    // SAFETY: `out` holds 8 floats.
    unsafe { _mm256_storeu_ps(out.as_mut_ptr(), sum) };
    out.iter().sum()
}

#[inline(always)]
fn accumulate_generic(
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
    let mut start = range.start;
    while start < range.end {
        let count = (range.end - start).min(BLOCK);
        let chunks = count.div_ceil(LANES);
        let width = chunks * LANES;

        // Pass 1: squared distances of the block; lanes past `count` read
        // neighbouring (finite) data and are masked to +inf below.
        let mut d2 = [[0.0f32; LANES]; CHUNKS];
        for k in 0..dim {
            let zk = z[k];
            let row = &coords[k * stride + start..k * stride + start + width];
            let (row, _) = row.as_chunks::<LANES>();
            for (dc, rc) in d2.iter_mut().zip(row) {
                for l in 0..LANES {
                    let diff = rc[l] - zk;
                    dc[l] += diff * diff;
                }
            }
        }
        for j in count..width {
            d2[j / LANES][j % LANES] = f32::INFINITY;
        }

        // The block's nearest centre: new shift if closer than all before.
        let mut mins = [f32::INFINITY; LANES];
        for dc in &d2[..chunks] {
            for l in 0..LANES {
                mins[l] = if dc[l] < mins[l] { dc[l] } else { mins[l] };
            }
        }
        let block_min = mins.iter().fold(f32::INFINITY, |a, &b| if b < a { b } else { a });
        if block_min < acc.shift {
            if acc.shift < f32::INFINITY {
                acc.rescale((-((acc.shift - block_min) as f64) * inv_two_sigma2 as f64).exp(), weighted);
            }
            acc.shift = block_min;
        }
        acc.min_d2 = acc.min_d2.min(block_min);
        let shift = acc.shift;

        // Pass 2: shifted weights (<= 1; exactly 0 for masked lanes).
        let mut w = [[0.0f32; LANES]; CHUNKS];
        let mut mass = [0.0f32; LANES];
        for (wc, dc) in w.iter_mut().zip(&d2[..chunks]) {
            for l in 0..LANES {
                wc[l] = exp_nonpositive((shift - dc[l]) * inv_two_sigma2);
                mass[l] += wc[l];
            }
        }
        acc.mass += mass.iter().sum::<f32>() as f64;

        // Pass 3: weighted coordinate sums.
        for k in 0..dim {
            let row = &coords[k * stride + start..k * stride + start + width];
            let (row, _) = row.as_chunks::<LANES>();
            let mut s = [0.0f32; LANES];
            for (wc, rc) in w.iter().zip(row) {
                for l in 0..LANES {
                    s[l] += wc[l] * rc[l];
                }
            }
            weighted[k] += s.iter().sum::<f32>() as f64;
        }
        start += count;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lengths below, at and past whole 8-lane and 64-query blocks.
    const LENGTHS: [usize; 5] = [1, 7, 64, 71, 135];

    #[test]
    fn weighted_sums_match_an_f64_reference_in_every_version() {
        let ld = 136;
        for imp in KernelImpl::available() {
            for rows in LENGTHS {
                for cols in [1, 5, 300] {
                    let weights: Vec<f32> = (0..cols * ld).map(|t| ((t * 37 % 101) as f32) / 101.0).collect();
                    let coords: Vec<f32> = (0..cols).map(|j| (j as f32 * 0.37).sin() * 40.0 - 3.0).collect();
                    let mut part = vec![f32::NAN; rows];
                    weighted_sums_lanes(imp, &weights, ld, &coords, &mut part);
                    for (i, &p) in part.iter().enumerate() {
                        let exact: f64 = (0..cols).map(|j| coords[j] as f64 * weights[j * ld + i] as f64).sum();
                        let scale: f64 = (0..cols).map(|j| (coords[j] * weights[j * ld + i]).abs() as f64).sum();
                        assert!(
                            (p as f64 - exact).abs() <= 1e-5 * scale + 1e-30,
                            "{imp:?} rows {rows} cols {cols} query {i}: {p} vs {exact}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn add_clamp_min_keeps_distances_nonnegative_and_finds_the_minimum_in_every_version() {
        for imp in KernelImpl::available() {
            for n in LENGTHS {
                let row0: Vec<f32> = (0..n).map(|i| (i as f32 * 1.7).cos() * 10.0).collect();
                let floors: Vec<f32> = (0..n).map(|i| -(i as f32 % 5.0)).collect();
                let mut row = row0.clone();
                let mut minima = vec![f32::INFINITY; n];
                minima[0] = -100.0;
                let norm = 2.5;
                add_clamp_min_lanes(imp, &mut row, norm, &floors, &mut minima);
                for i in 0..n {
                    let expect = (row0[i] + norm).max(floors[i]);
                    assert_eq!(row[i], expect, "{imp:?} n {n} i {i}");
                    assert_eq!(minima[i], if i == 0 { -100.0 } else { expect }, "{imp:?} n {n} i {i}");
                }
                // A NaN product is clamped to the floor, never passed on.
                let mut nan_row = vec![f32::NAN; n];
                let mut minima = vec![f32::INFINITY; n];
                add_clamp_min_lanes(imp, &mut nan_row, norm, &floors, &mut minima);
                assert_eq!(nan_row, floors, "{imp:?} n {n}");
                assert_eq!(minima, floors, "{imp:?} n {n}");
            }
        }
    }
}
