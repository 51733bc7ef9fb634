//! Gaussian-kernel weighted means, the building block of every flow.
//!
//! For a query z, centres c_1..c_n and bandwidth sigma, the kernel mean is
//!
//!   D(z) = sum_j w_j c_j / sum_j w_j,   w_j = exp(-|z - c_j|^2 / (2 sigma^2)),
//!
//! the optimal denoiser of the noise-smoothed empirical distribution (paper
//! eq. 13 / eq. 15). Every sum is a max-shifted log-sum-exp: weights are taken
//! relative to the nearest centre, so the largest is exactly 1 and the sum
//! never underflows, whatever sigma > 0 and however far the query is.
//! `log_mass = ln sum_j w_j` (unshifted) is returned alongside for MMD flow.
//!
//! [`reference`] is a plain f64 implementation the fast paths are tested
//! against; [`fast`] is the vectorised f32 kernel; [`cells`] is the cut-off
//! path for small bandwidths; [`gemm`] sums many queries at once by matrix
//! products in high dimensions.

pub mod cells;
pub mod fast;
pub mod gemm;

/// Points per block of the transposing copies in [`Centres::fill`] and
/// [`gemm::RowCentres::fill`].
const TRANSPOSE_BLOCK: usize = 64;

/// Centres in structure-of-arrays layout, padded to whole SIMD blocks, so the
/// inner loop reads each coordinate contiguously. The buffer is reused from
/// step to step: refilling it never allocates once it has reached its size.
#[derive(Clone, Debug, Default)]
pub struct Centres {
    dim: usize,
    len: usize,
    /// Row stride of `coords`: `len` rounded up to a multiple of [`fast::LANES`].
    stride: usize,
    /// `coords[k * stride + j]` is coordinate `k` of centre `j`; padding is 0.
    coords: Vec<f32>,
    /// Row-major copy for the matrix-product path (d >= [`gemm::MIN_DIM`]).
    rows: gemm::RowCentres,
    has_rows: bool,
    /// Never fill `rows` (benchmarks and tests compare the two paths).
    direct_only: bool,
    /// Skip `coords` whenever `rows` is filled (see [`Centres::set_rows_only`]).
    rows_only: bool,
}

impl Centres {
    /// Refills from row-major points, optionally only those at `indices`.
    pub fn fill(&mut self, dim: usize, points: &[f32], indices: Option<&[usize]>) {
        let len = indices.map_or(points.len() / dim, <[usize]>::len);
        self.dim = dim;
        self.len = len;
        self.stride = len.div_ceil(fast::LANES) * fast::LANES;
        self.has_rows = dim >= gemm::MIN_DIM && !self.direct_only;
        if self.has_rows {
            self.rows.fill(dim, points, indices);
            if self.rows_only {
                self.coords.clear();
                return;
            }
        }
        // One extra SIMD width at the end: a block that starts mid-row may
        // read (and mask) up to LANES - 1 values past the last row. Only the
        // padding needs zeros: every other value is overwritten below.
        self.coords.resize(dim * self.stride + fast::LANES, 0.0);
        for k in 0..dim {
            self.coords[k * self.stride + len..(k + 1) * self.stride].fill(0.0);
        }
        self.coords[dim * self.stride..].fill(0.0);
        // Transposed in blocks of points, so each row gets a run of
        // contiguous writes (rows one per coordinate, a power of two apart,
        // would otherwise compete for the same cache sets point by point).
        for j0 in (0..len).step_by(TRANSPOSE_BLOCK) {
            let j1 = (j0 + TRANSPOSE_BLOCK).min(len);
            for k in 0..dim {
                let row = &mut self.coords[k * self.stride + j0..k * self.stride + j1];
                for (j, c) in (j0..j1).zip(row) {
                    let src = indices.map_or(j, |ix| ix[j]);
                    *c = points[src * dim + k];
                }
            }
        }
    }

    /// With `on`, fills that make the row-major copy skip the
    /// structure-of-arrays one: for owners whose sums all go through
    /// [`crate::engine::displace::Displace`], which then always takes the
    /// matrix-product path. [`fast::accumulate`] must not be given such centres.
    pub fn set_rows_only(&mut self, on: bool) {
        self.rows_only = on;
    }

    /// Whether later fills may use the matrix-product path (on by default).
    pub fn set_matrix_products(&mut self, on: bool) {
        self.direct_only = !on;
    }

    /// The row-major copy when sums should run as matrix products.
    pub fn rows(&self) -> Option<&gemm::RowCentres> {
        self.has_rows.then_some(&self.rows)
    }

    /// Multiplies every centre by `factor` (rectified flow's centres t x1_j).
    pub fn scale(&mut self, factor: f32) {
        self.coords.iter_mut().for_each(|c| *c *= factor);
    }

    /// Builds from row-major points.
    pub fn from_points(dim: usize, points: &[f32]) -> Self {
        let mut c = Self::default();
        c.fill(dim, points, None);
        c
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    pub(crate) fn stride(&self) -> usize {
        self.stride
    }

    pub(crate) fn coords(&self) -> &[f32] {
        &self.coords
    }
}

/// The kernel variances f32 kernel sums represent faithfully. Below, 1/(2 sigma^2)
/// nears saturation and 1/sigma^2 in MMD flow overflows; above, a noisy point's
/// squared distance (about d sigma^2 times a tail factor) nears f32::MAX: at
/// sigma^2 = 1e37 in 3-D it overflows and every weight is lost. Scenes reject
/// sigma^2 outside this range.
pub const SIGMA2_RANGE: (f64, f64) = (1e-30, 1e30);

/// `1 / (2 sigma^2)` as f32, saturated so that tiny sigma^2 gives a huge but
/// finite factor (0 * factor stays 0, never NaN).
pub fn inv_two_sigma2(sigma2: f64) -> f32 {
    (0.5 / sigma2).min(f32::MAX as f64) as f32
}

/// Plain f64 kernel means: the reference the fast paths are tested against.
pub mod reference {
    /// Returns `(log_mass, mean)` of the kernel at `z` over row-major `centres`.
    pub fn kernel_mean(z: &[f64], centres: &[f64], dim: usize, sigma2: f64) -> (f64, Vec<f64>) {
        let d2: Vec<f64> =
            centres.chunks_exact(dim).map(|c| c.iter().zip(z).map(|(a, b)| (a - b) * (a - b)).sum()).collect();
        let m = d2.iter().cloned().fold(f64::INFINITY, f64::min);
        let mut mass = 0.0;
        let mut mean = vec![0.0; dim];
        for (c, &d) in centres.chunks_exact(dim).zip(&d2) {
            let w = (-(d - m) / (2.0 * sigma2)).exp();
            mass += w;
            for k in 0..dim {
                mean[k] += w * c[k];
            }
        }
        mean.iter_mut().for_each(|x| *x /= mass);
        (-m / (2.0 * sigma2) + mass.ln(), mean)
    }
}
