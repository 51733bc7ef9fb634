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

// Lane and dimension loops index several arrays in step: indices read best.
#![allow(clippy::needless_range_loop)]

use std::ops::Range;

use super::Centres;

/// SIMD width the loops are written for (one AVX register of f32).
pub const LANES: usize = 8;
/// Centres per block: distances of one block stay in registers / L1.
const BLOCK: usize = 64;
const CHUNKS: usize = BLOCK / LANES;

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
    lanes: [[f32; LANES]; 4],
    /// Chunks accumulated in `lanes` since the last flush.
    pending: u32,
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
    fn rescale(&mut self, factor: f64, weighted: &mut [f64]) {
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

#[inline(always)]
fn add_clamp_min_scalar(row: &mut [f32], norm: f32, floors: &[f32], minima: &mut [f32]) {
    for ((v, &f), m) in row.iter_mut().zip(floors).zip(minima.iter_mut()) {
        *v = (*v + norm).max(f);
        *m = if *v < *m { *v } else { *m };
    }
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

/// 2^f on [-1/2, 1/2], lowest degree first: Remez minimax of degree 5 for
/// relative error (7.5e-8; ~2.5e-7 with f32 rounding), the constant term
/// set to 1 so that the nearest centre's weight 2^0 is exactly 1.
pub(crate) const EXP2_POLY: [f32; 6] = [1.0, 0.693_146_94, 0.240_221_2, 0.055_507_13, 0.009_675_541, 0.001_327_647_3];

/// The SIMD loops' exponent factor: weights are 2^((shift - d2) * this) =
/// exp((shift - d2) / (2 sigma^2)). Saturated like [`super::inv_two_sigma2`],
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

/// The same loop as [`accumulate_generic`] in AVX2 + FMA intrinsics: LLVM
/// does not vectorise the exp polynomial of the generic version by itself.
/// Stamped twice: plain AVX2 + FMA, and the same code with AVX-512VL enabled
/// (32 registers; see [`KernelImpl::Avx512Vl`]).
macro_rules! simd_kernels {
    ($module:ident, $features:literal) => {
        #[cfg(target_arch = "x86_64")]
        pub(crate) mod $module {
            use std::arch::x86_64::*;
            use std::ops::Range;

            use super::{BLOCK, CHUNKS, Centres, LANES, LogSumExp};

            /// 2^y on 8 lanes for y < 128: y = n + f with n = round(y), 2^f from
            /// [`super::EXP2_POLY`], 2^n built in the exponent bits. Below -126.5
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
                let c = super::EXP2_POLY;
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

            /// See [`super::shifted_weights_lanes`].
            #[target_feature(enable = $features)]
            pub(super) fn shifted_weights_lanes(row: &mut [f32], shift: &[f32], inv_two_sigma2: f32, sums: &mut [f32]) {
                let inv = _mm256_set1_ps(super::log2_scale(inv_two_sigma2));
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
                    row[i] = super::exp_nonpositive((shift[i] - row[i]) * inv_two_sigma2);
                    sums[i] += row[i];
                }
            }

            /// See [`super::add_clamp_min_lanes`].
            #[target_feature(enable = $features)]
            pub(super) fn add_clamp_min_lanes(row: &mut [f32], norm: f32, floors: &[f32], minima: &mut [f32]) {
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
                super::add_clamp_min_scalar(&mut row[whole..], norm, &floors[whole..], &mut minima[whole..]);
            }

            /// See [`super::weighted_sums_lanes`]: 64 queries at a time in eight
            /// register accumulators, every centre's weights read once.
            #[target_feature(enable = $features)]
            pub(super) fn weighted_sums_lanes(weights: &[f32], ld: usize, coords: &[f32], part: &mut [f32]) {
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
            pub(super) fn accumulate_low_dim<const D: usize>(
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
                let inv = _mm256_set1_ps(super::log2_scale(inv_two_sigma2));
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
                let lazy = super::LAZY_SHIFT / inv_two_sigma2;
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
            pub(super) fn accumulate_any(
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
            pub(super) fn accumulate(
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
                let inv = _mm256_set1_ps(super::log2_scale(inv_two_sigma2));
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
