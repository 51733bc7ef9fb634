//! The centre layouts every kernel sum reads: [`Centres`] (structure of
//! arrays, for the SIMD loops of `fast.rs` and the cell list) and
//! [`RowCentres`] (re-centred row- and column-major copies, for the matrix
//! products of `gemm.rs`), plus the kernel-variance range and factor they are
//! summed with. Apart from `lanes.rs` it imports no other kernel file, so the
//! loops and the products can both import it.

use super::lanes::LANES;

/// Smallest dimension the matrix-product path is used for (measured with
/// `sdflow bench`: from d = 8 on it beats the direct SIMD loop).
pub const MIN_DIM: usize = 8;
/// Points per block of the transposing copies in [`Centres::fill`] and
/// [`RowCentres::fill`].
const TRANSPOSE_BLOCK: usize = 64;

/// Centres in structure-of-arrays layout, padded to whole SIMD blocks, so the
/// inner loop reads each coordinate contiguously. The buffer is reused from
/// step to step: refilling it never allocates once it has reached its size.
#[derive(Clone, Debug, Default)]
pub struct Centres {
    dim: usize,
    len: usize,
    /// Row stride of `coords`: `len` rounded up to a multiple of [`LANES`].
    stride: usize,
    /// `coords[k * stride + j]` is coordinate `k` of centre `j`; padding is 0.
    coords: Vec<f32>,
    /// Row-major copy for the matrix-product path (d >= [`MIN_DIM`]).
    rows: RowCentres,
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
        self.stride = len.div_ceil(LANES) * LANES;
        self.has_rows = dim >= MIN_DIM && !self.direct_only;
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
        self.coords.resize(dim * self.stride + LANES, 0.0);
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
    /// `flow::Displace`, which then always takes the
    /// matrix-product path. [`super::fast::accumulate`] must not be given such centres.
    pub fn set_rows_only(&mut self, on: bool) {
        self.rows_only = on;
    }

    /// Whether later fills may use the matrix-product path (on by default).
    pub fn set_matrix_products(&mut self, on: bool) {
        self.direct_only = !on;
    }

    /// The row-major copy when sums should run as matrix products.
    pub fn rows(&self) -> Option<&RowCentres> {
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

/// Centres re-centred on their mean, in row-major and column-major copies,
/// with squared norms. Refilling reuses the buffers.
#[derive(Clone, Debug, Default)]
pub struct RowCentres {
    pub(super) dim: usize,
    pub(super) len: usize,
    /// The centres' mean o (f64), subtracted from centres and queries.
    pub(super) origin: Vec<f64>,
    /// `rows[j * dim + k]` = c_jk - o_k.
    pub(super) rows: Vec<f32>,
    /// `cols[k * len + j]` = c_jk - o_k.
    pub(super) cols: Vec<f32>,
    /// |c_j - o|^2.
    pub(super) norms: Vec<f32>,
}

impl RowCentres {
    /// Refills from row-major points, optionally only those at `indices`.
    pub fn fill(&mut self, dim: usize, points: &[f32], indices: Option<&[usize]>) {
        let len = indices.map_or(points.len() / dim, <[usize]>::len);
        let point = |j: usize| {
            let src = indices.map_or(j, |ix| ix[j]);
            &points[src * dim..(src + 1) * dim]
        };
        self.dim = dim;
        self.len = len;
        self.origin.clear();
        self.origin.resize(dim, 0.0);
        for j in 0..len {
            for (o, &x) in self.origin.iter_mut().zip(point(j)) {
                *o += x as f64;
            }
        }
        self.origin.iter_mut().for_each(|o| *o /= len.max(1) as f64);
        self.rows.resize(len * dim, 0.0);
        self.norms.resize(len, 0.0);
        self.cols.resize(dim * len, 0.0);
        for j in 0..len {
            let mut norm = 0.0f64;
            for (r, (&x, &o)) in self.rows[j * dim..(j + 1) * dim].iter_mut().zip(point(j).iter().zip(&self.origin)) {
                *r = (x as f64 - o) as f32;
                norm += *r as f64 * *r as f64;
            }
            self.norms[j] = norm as f32;
        }
        // The column-major copy, transposed in blocks of points (see
        // `Centres::fill`).
        for j0 in (0..len).step_by(TRANSPOSE_BLOCK) {
            let j1 = (j0 + TRANSPOSE_BLOCK).min(len);
            for k in 0..dim {
                for j in j0..j1 {
                    self.cols[k * len + j] = self.rows[j * dim + k];
                }
            }
        }
    }

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
}
