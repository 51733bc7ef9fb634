//! Kernel means of many queries at once through matrix products: the path
//! for high dimensions (d >= [`MIN_DIM`]), where the loops of [`super::fast`]
//! spend 2d multiply-adds per kernel outside any cache-friendly blocking.
//!
//! For a tile of queries z_i and a tile of centres c_j (both re-centred on
//! the centres' mean o, which leaves distances unchanged):
//!
//!   |z - c|^2 = |z|^2 + e,   e_ij = |c_j|^2 - 2 z_i . c_j
//!
//! The products z . c come from a blocked, vectorised GEMM (`matrixmultiply`
//! sgemm, AVX/FMA chosen at run time). |z|^2 is the same for every centre of
//! a row, so it cancels in the max-shifted log-sum-exp and is added back only
//! to `log_mass`, in f64. Per row the shift is the smallest e (the nearest
//! centre, rescaling the running sums when a later tile holds a nearer one),
//! the weights exp((shift - e) / (2 sigma^2)) <= 1, and the weighted sums
//! W C are a second GEMM, added into f64 accumulators.
//!
//! Layout: the e / weight tile is stored transposed (centre-major, E^T), and
//! both products are written as C Z^T and C^T W^T, so every matrix the GEMM
//! packs is read contiguously (measured ~25-35 % faster products than the
//! row-major tile), and the per-row minimum and exponentials run across
//! queries in SIMD lanes.
//!
//! Accuracy: re-centring on the centres' mean makes e's rounding error scale
//! with the centres' own spread and the query's distance to them (not with
//! |z|^2 + |c|^2 about an arbitrary origin), so a query far from the cloud
//! gets the same relative accuracy as the direct loop. e is clamped at
//! -|z|^2 (a squared distance is never negative).
//!
//! Memory is O(tile): [`ROWS`] x [`COLS`] weights and [`ROWS`] x d sums per
//! task, whatever N and M. The tiling is fixed, so each query's sums run in
//! the same order on any number of threads.

use matrixmultiply::sgemm;

pub use super::centres::{MIN_DIM, RowCentres};
use super::fast::{KernelImpl, add_clamp_min_lanes, shifted_weights_lanes, weighted_sums_lanes};

/// Queries per tile.
pub const ROWS: usize = 128;
/// Centres per tile.
pub const COLS: usize = 512;

/// How many of the d coordinates the weighted-sum product computes; the
/// rest run in [`weighted_sums_lanes`]. matrixmultiply's sgemm pads the
/// product's d rows to its micro-kernel's height (16 with AVX-512F, else 8),
/// so d = 50 would compute 64 rows, 28 % more work; a short remainder costs
/// about as much per row in the SIMD loop as in the product, hence it is
/// split off when it is under half the kernel's height.
pub fn product_dims(imp: KernelImpl, dim: usize) -> usize {
    if !imp.has_avx2() {
        return dim;
    }
    let height = if imp == KernelImpl::Avx512Vl { 16 } else { 8 };
    let rest = dim % height;
    if dim > height && rest < height / 2 { dim - rest } else { dim }
}

/// Per-task buffers, O(ROWS * (COLS + d)); reused from call to call.
#[derive(Clone, Debug, Default)]
pub struct Tile {
    /// Re-centred queries of the tile, row-major.
    z: Vec<f32>,
    /// |z_i - o|^2 in f64.
    z_norms: Vec<f64>,
    /// -|z_i - o|^2 in f32: the floor of e_ij.
    floors: Vec<f32>,
    /// e_ji, then the weights, centre-major: `e[j * ROWS + i]`.
    e: Vec<f32>,
    /// (W C)^T of one centre tile, d x ROWS.
    part: Vec<f32>,
    /// Running weighted sums (f64), d x ROWS like `part`.
    acc: Vec<f64>,
    mass: Vec<f64>,
    /// Per-row f32 scratch: the tile's minimum, then its weight sums.
    lane: Vec<f32>,
    shift: Vec<f32>,
}

impl Tile {
    /// Loads the queries re-centred on the centres' origin, with |z - o|^2.
    fn recentre(&mut self, centres: &RowCentres, z: &[f32]) {
        self.z.clear();
        self.z_norms.clear();
        self.floors.clear();
        for q in z.chunks_exact(centres.dim) {
            let mut norm = 0.0f64;
            for (&x, &o) in q.iter().zip(&centres.origin) {
                let v = (x as f64 - o) as f32;
                norm += v as f64 * v as f64;
                self.z.push(v);
            }
            self.z_norms.push(norm);
            self.floors.push(-(norm as f32));
        }
        self.e.resize(ROWS * COLS, 0.0);
        self.shift.clear();
        self.shift.resize(self.z_norms.len(), f32::INFINITY);
    }

    /// e_ji = |c_j|^2 - 2 z_i . c_j for the loaded queries and the centres
    /// `start..start + cols`, clamped at -|z_i|^2, into `self.e` (E^T = -2 C Z^T);
    /// each query's smallest e into `self.lane`.
    fn products(&mut self, imp: KernelImpl, centres: &RowCentres, start: usize, cols: usize) {
        let (dim, rows) = (centres.dim, self.z_norms.len());
        // SAFETY: A is the centres `start..start + cols` read column-major
        // from `centres.cols` (strides 1, len), B is Z^T read from `self.z`
        // (rows x dim row-major, strides 1, dim), C is cols x rows inside
        // `self.e` (row stride ROWS); all in bounds.
        unsafe {
            sgemm(
                cols,
                dim,
                rows,
                -2.0,
                centres.cols.as_ptr().add(start),
                1,
                centres.len as isize,
                self.z.as_ptr(),
                1,
                dim as isize,
                0.0,
                self.e.as_mut_ptr(),
                ROWS as isize,
                1,
            );
        }
        // One pass adds |c_j|^2, clamps, and keeps each query's minimum.
        self.lane.clear();
        self.lane.resize(rows, f32::INFINITY);
        for (j, &n) in centres.norms[start..start + cols].iter().enumerate() {
            add_clamp_min_lanes(imp, &mut self.e[j * ROWS..j * ROWS + rows], n, &self.floors, &mut self.lane);
        }
    }

    /// Each loaded query's smallest e over the first `cols` centres of the
    /// tile, into `self.lane`.
    fn column_minima(&mut self, cols: usize) {
        let rows = self.z_norms.len();
        self.lane.clear();
        self.lane.resize(rows, f32::INFINITY);
        for j in 0..cols {
            for (m, &v) in self.lane.iter_mut().zip(&self.e[j * ROWS..j * ROWS + rows]) {
                *m = if v < *m { v } else { *m };
            }
        }
    }
}

/// Kernel means of the row-major queries `z` over every centre: the mean of
/// query i goes to `means[i * d..]`, ln sum_j w_j (unshifted) to `log_mass[i]`.
/// Needs at least one centre.
pub fn kernel_means(
    imp: KernelImpl,
    centres: &RowCentres,
    z: &[f32],
    inv_two_sigma2: f32,
    tile: &mut Tile,
    means: &mut [f32],
    log_mass: &mut [f64],
) {
    let dim = centres.dim;
    let dims = product_dims(imp, dim);
    debug_assert!(centres.len > 0 && z.len().is_multiple_of(dim));
    debug_assert_eq!(means.len(), z.len());
    debug_assert_eq!(log_mass.len(), z.len() / dim);
    tile.part.resize(dim * ROWS, 0.0);
    let inv = inv_two_sigma2;
    for ((zs, ms), ls) in z.chunks(ROWS * dim).zip(means.chunks_mut(ROWS * dim)).zip(log_mass.chunks_mut(ROWS)) {
        let rows = ls.len();
        tile.recentre(centres, zs);
        tile.acc.clear();
        tile.acc.resize(dim * ROWS, 0.0);
        tile.mass.clear();
        tile.mass.resize(rows, 0.0);

        let mut start = 0;
        while start < centres.len {
            let cols = (centres.len - start).min(COLS);
            tile.products(imp, centres, start, cols);
            for i in 0..rows {
                // A nearer centre than all before: move the shift to it.
                let min = tile.lane[i];
                if min < tile.shift[i] {
                    if tile.shift[i] < f32::INFINITY {
                        let factor = (-((tile.shift[i] - min) as f64) * inv as f64).exp();
                        tile.mass[i] *= factor;
                        tile.acc[i..].iter_mut().step_by(ROWS).for_each(|a| *a *= factor);
                    }
                    tile.shift[i] = min;
                }
            }
            // Weights exp((shift_i - e_ji) / (2 sigma^2)) <= 1, summed per query.
            tile.lane.iter_mut().for_each(|s| *s = 0.0);
            for j in 0..cols {
                let row = &mut tile.e[j * ROWS..j * ROWS + rows];
                shifted_weights_lanes(imp, row, &tile.shift, inv, &mut tile.lane);
            }
            for (m, &s) in tile.mass.iter_mut().zip(&tile.lane) {
                *m += s as f64;
            }
            // (W C)^T = C^T W^T (d x rows): the first `dims` coordinates as a
            // product, the rest one at a time.
            // SAFETY: A is the first `dims` rows of C^T read from
            // `centres.rows` (strides 1, dim), B is W^T, the cols x rows
            // weights in `tile.e` (row stride ROWS), C is dims x rows inside
            // `tile.part` (row stride ROWS).
            unsafe {
                sgemm(
                    dims,
                    cols,
                    rows,
                    1.0,
                    centres.rows.as_ptr().add(start * dim),
                    1,
                    dim as isize,
                    tile.e.as_ptr(),
                    ROWS as isize,
                    1,
                    0.0,
                    tile.part.as_mut_ptr(),
                    ROWS as isize,
                    1,
                );
            }
            for k in dims..dim {
                let coords = &centres.cols[k * centres.len + start..k * centres.len + start + cols];
                weighted_sums_lanes(imp, &tile.e, ROWS, coords, &mut tile.part[k * ROWS..k * ROWS + rows]);
            }
            for k in 0..dim {
                let r = k * ROWS..k * ROWS + rows;
                for (a, &p) in tile.acc[r.clone()].iter_mut().zip(&tile.part[r]) {
                    *a += p as f64;
                }
            }
            start += cols;
        }

        for (k, &o) in centres.origin.iter().enumerate() {
            for (i, (&a, &mass)) in tile.acc[k * ROWS..k * ROWS + rows].iter().zip(&tile.mass).enumerate() {
                ms[i * dim + k] = (a / mass + o) as f32;
            }
        }
        for (i, l) in ls.iter_mut().enumerate() {
            *l = -(tile.z_norms[i] + tile.shift[i] as f64) * inv as f64 + tile.mass[i].ln();
        }
    }
}

/// Squared distance from each row-major query in `z` to its nearest centre,
/// into `out` (f64, clamped at 0), by the same products as [`kernel_means`].
/// With `exclude: Some(first)`, query i skips centre `first + i` (the
/// queries are centres themselves: nearest neighbour excluding self).
pub fn nearest_sq_distances(
    imp: KernelImpl,
    centres: &RowCentres,
    z: &[f32],
    exclude: Option<usize>,
    tile: &mut Tile,
    out: &mut [f64],
) {
    let dim = centres.dim;
    debug_assert_eq!(out.len(), z.len() / dim);
    for (t, (zs, os)) in z.chunks(ROWS * dim).zip(out.chunks_mut(ROWS)).enumerate() {
        let rows = os.len();
        tile.recentre(centres, zs);
        let mut start = 0;
        while start < centres.len {
            let cols = (centres.len - start).min(COLS);
            tile.products(imp, centres, start, cols);
            if let Some(first) = exclude {
                // Only a tile holding some query's own centre needs its
                // minima again, without that centre.
                let mut excluded = false;
                for i in 0..rows {
                    let j = first + t * ROWS + i;
                    if (start..start + cols).contains(&j) {
                        tile.e[(j - start) * ROWS + i] = f32::INFINITY;
                        excluded = true;
                    }
                }
                if excluded {
                    tile.column_minima(cols);
                }
            }
            for (s, &m) in tile.shift.iter_mut().zip(&tile.lane) {
                *s = s.min(m);
            }
            start += cols;
        }
        for (o, (&zn, &m)) in os.iter_mut().zip(tile.z_norms.iter().zip(&tile.shift)) {
            // No centre at all (only self): infinitely far.
            *o = if m < f32::INFINITY { (zn + m as f64).max(0.0) } else { f64::INFINITY };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_short_remainder_leaves_the_product() {
        use KernelImpl::*;
        // AVX-512 sgemm pads rows to 16, AVX2 to 8.
        for (imp, dim, dims) in [
            (Avx512Vl, 50, 48),
            (Avx512Vl, 17, 16),
            (Avx512Vl, 64, 64),
            (Avx512Vl, 24, 24),
            (Avx512Vl, 10, 10),
            (Avx2Fma, 50, 48),
            (Avx2Fma, 10, 8),
            (Avx2Fma, 13, 13),
            (Portable, 50, 50),
        ] {
            assert_eq!(product_dims(imp, dim), dims, "{imp:?} d = {dim}");
        }
    }
}
