//! The cut-off path for small bandwidths: a cell list.
//!
//! When sigma is small against the cloud, almost every weight
//! exp(-|z - c|^2 / (2 sigma^2)) is negligible. Centres are sorted into a
//! uniform grid of cells [`CELL_WIDTH_SIGMAS`] sigma wide, cells along the
//! first axis contiguous, so each row of cells crossing a ball around the
//! query is one range of centres for the SIMD kernel.
//!
//! **Error bound.** A query sums every centre within radius `R` (whole cells
//! that meet the ball; everything outside is farther than `R`). With `m` the
//! squared distance to the nearest centre found, every neglected weight,
//! relative to the largest weight, is at most exp(-(R^2 - m) / (2 sigma^2)).
//! The sum is accepted only when that is below [`WEIGHT_EPSILON`]; otherwise
//! `R` grows to meet it (by `m`), and once the ball holds the whole grid the
//! query takes the full sum. Each neglected weight is thus < 1e-6 of the
//! largest, the neglected mass is below `n_outside * 1e-6` of the included
//! mass, and the kernel mean moves by at most that fraction of the cloud's
//! diameter.

use super::centres::Centres;
use super::fast::{KernelImpl, LogSumExp, accumulate};

/// Largest neglected weight relative to the largest weight.
pub const WEIGHT_EPSILON: f64 = 1e-6;
/// Cell width in units of sigma.
pub const CELL_WIDTH_SIGMAS: f64 = 2.0;
/// Highest dimension the grid is used for.
pub const MAX_DIM: usize = 3;
/// The grid is used only if a typical query would visit at most this share
/// of the centres.
const PAYS_BELOW: f64 = 0.3;
/// Below this many centres a full sum is so cheap that sorting them into a
/// grid every step costs more than it saves.
pub const MIN_CENTRES: usize = 2048;

/// Centres sorted into grid cells, rebuilt (without reallocating) per step.
#[derive(Clone, Debug, Default)]
pub struct CellList {
    dim: usize,
    origin: [f64; MAX_DIM],
    width: f64,
    cells: [i64; MAX_DIM],
    /// R^2 / sigma^2 that meets the bound when the nearest centre is at 0.
    min_radius2: f64,
    sigma2: f64,
    /// `starts[c]..starts[c + 1]` are the sorted centres of linear cell `c`.
    starts: Vec<usize>,
    next: Vec<usize>,
    order: Vec<usize>,
    cell_of: Vec<usize>,
    centres: Centres,
}

impl CellList {
    /// Sorts row-major `points` (optionally only `indices`) into cells for a
    /// kernel of variance `sigma2`. Returns false, leaving the list unusable,
    /// when it would not pay: dimension above 3, fewer than [`MIN_CENTRES`]
    /// centres, or typical queries that would visit a large share of the
    /// centres anyway.
    pub fn rebuild(&mut self, dim: usize, points: &[f32], indices: Option<&[usize]>, sigma2: f64) -> bool {
        let n = indices.map_or(points.len() / dim, <[usize]>::len);
        if dim > MAX_DIM || n < MIN_CENTRES {
            return false;
        }
        let point = |j: usize| {
            let src = indices.map_or(j, |ix| ix[j]);
            &points[src * dim..(src + 1) * dim]
        };
        let mut lo = [0.0f64; MAX_DIM];
        let mut hi = [0.0f64; MAX_DIM];
        lo[..dim].fill(f64::INFINITY);
        hi[..dim].fill(f64::NEG_INFINITY);
        for j in 0..n {
            for (k, &x) in point(j).iter().enumerate() {
                lo[k] = lo[k].min(x as f64);
                hi[k] = hi[k].max(x as f64);
            }
        }
        // Cell width from sigma, widened if the grid would hold more than
        // about 2 cells per centre (tiny sigma on a wide cloud).
        let mut width = CELL_WIDTH_SIGMAS * sigma2.sqrt();
        let cells_for = |w: f64| (0..dim).map(|k| ((hi[k] - lo[k]) / w).floor() + 1.0).product::<f64>();
        let max_cells = (2 * n).max(64) as f64;
        while cells_for(width) > max_cells {
            width *= 1.25;
        }
        if !(width.is_finite() && width > 0.0) {
            return false;
        }
        let mut cells = [1i64; MAX_DIM];
        for k in 0..dim {
            cells[k] = ((hi[k] - lo[k]) / width).floor() as i64 + 1;
        }
        let total = cells[..dim].iter().product::<i64>() as usize;

        self.dim = dim;
        self.origin = lo;
        self.width = width;
        self.cells = cells;
        self.sigma2 = sigma2;
        self.min_radius2 = 2.0 * -WEIGHT_EPSILON.ln();
        // Counting sort of the centres by linear cell index.
        self.cell_of.clear();
        for j in 0..n {
            let p = point(j);
            let mut c = [0i64; MAX_DIM];
            for k in 0..dim {
                c[k] = (((p[k] as f64 - lo[k]) / width).floor() as i64).clamp(0, cells[k] - 1);
            }
            let cell = self.linear(&c);
            self.cell_of.push(cell);
        }
        self.starts.clear();
        self.starts.resize(total + 1, 0);
        for &c in &self.cell_of {
            self.starts[c + 1] += 1;
        }
        for c in 0..total {
            self.starts[c + 1] += self.starts[c];
        }
        self.order.clear();
        self.order.resize(n, 0);
        self.next.clear();
        self.next.extend_from_slice(&self.starts);
        for (j, &c) in self.cell_of.iter().enumerate() {
            self.order[self.next[c]] = indices.map_or(j, |ix| ix[j]);
            self.next[c] += 1;
        }
        // Does it pay? Count what balls of the minimum radius around a few
        // of the centres themselves would visit.
        let probes = 32.min(n);
        let radius2 = self.min_radius2 * sigma2;
        let mut visited = 0usize;
        for p in 0..probes {
            let src = self.order[p * n / probes];
            self.for_each_row(&points[src * dim..(src + 1) * dim], radius2, |range| visited += range.len());
        }
        if visited as f64 > PAYS_BELOW * (probes * n) as f64 {
            return false;
        }
        self.centres.fill(dim, points, Some(&self.order));
        true
    }

    fn linear(&self, c: &[i64; MAX_DIM]) -> usize {
        let mut idx = 0i64;
        for k in (0..self.dim).rev() {
            idx = idx * self.cells[k] + c[k];
        }
        idx as usize
    }

    /// The sorted centres (for the full-sum fallback).
    pub fn centres(&self) -> &Centres {
        &self.centres
    }

    /// Calls `f` with the centre range of every row of cells along axis 0
    /// that meets the ball of squared radius `radius2` around `z`.
    fn for_each_row(&self, z: &[f32], radius2: f64, mut f: impl FnMut(std::ops::Range<usize>)) {
        let dim = self.dim;
        let radius = radius2.sqrt();
        let w = self.width;
        // Cell index range along axis k meeting [x - r, x + r].
        let span = |k: usize, x: f64, r: f64| {
            let lo = (((x - r - self.origin[k]) / w).floor() as i64).max(0);
            let hi = (((x + r - self.origin[k]) / w).floor() as i64).min(self.cells[k] - 1);
            (lo, hi)
        };
        // Squared distance from x to cell c's interval along axis k.
        let gap2 = |k: usize, x: f64, c: i64| {
            let a = self.origin[k] + c as f64 * w;
            let d = if x < a {
                a - x
            } else if x > a + w {
                x - a - w
            } else {
                0.0
            };
            d * d
        };
        let zf = |k: usize| if k < dim { z[k] as f64 } else { 0.0 };
        let (y_lo, y_hi) = if dim > 1 { span(1, zf(1), radius) } else { (0, 0) };
        let (z_lo, z_hi) = if dim > 2 { span(2, zf(2), radius) } else { (0, 0) };
        let gx = self.cells[0] as usize;
        let gy = if dim > 1 { self.cells[1] } else { 1 };
        for cz in z_lo..=z_hi {
            let gz = if dim > 2 { gap2(2, zf(2), cz) } else { 0.0 };
            if gz > radius2 {
                continue;
            }
            for cy in y_lo..=y_hi {
                // Rows are contiguous too: skip an empty one with one lookup.
                let row = (cz * gy + cy) as usize;
                if self.starts[row * gx] == self.starts[(row + 1) * gx] {
                    continue;
                }
                let rest = radius2 - gz - if dim > 1 { gap2(1, zf(1), cy) } else { 0.0 };
                if rest < 0.0 {
                    continue;
                }
                let (x_lo, x_hi) = span(0, zf(0), rest.sqrt());
                if x_lo > x_hi {
                    continue;
                }
                let first = row * gx + x_lo as usize;
                let range = self.starts[first]..self.starts[row * gx + x_hi as usize + 1];
                if !range.is_empty() {
                    f(range);
                }
            }
        }
    }

    /// Number of centres the first ball around `z` visits (for diagnostics).
    pub fn first_ball_size(&self, z: &[f32]) -> usize {
        let mut visited = 0;
        self.for_each_row(z, 1.1 * self.min_radius2 * self.sigma2, |range| visited += range.len());
        visited
    }

    /// Squared distance from `z` to the farthest corner of the grid: a ball
    /// this large holds every centre.
    fn covering_radius2(&self, z: &[f32]) -> f64 {
        (0..self.dim)
            .map(|k| {
                let x = z[k] as f64;
                let a = self.origin[k];
                let b = a + self.cells[k] as f64 * self.width;
                (x - a).abs().max((x - b).abs()).powi(2)
            })
            .sum()
    }

    /// Kernel sum at `z` over the centres near it, meeting the error bound.
    /// Returns false (with `acc` and `weighted` reset) when that would take
    /// the whole grid; the caller then does the full sum.
    pub fn accumulate_near(
        &self,
        imp: KernelImpl,
        z: &[f32],
        inv_two_sigma2: f32,
        acc: &mut LogSumExp,
        weighted: &mut [f64],
    ) -> bool {
        let needed = self.min_radius2 * self.sigma2;
        let cover = self.covering_radius2(z);
        // 10% beyond the minimum so a nearest centre a little off z passes.
        let mut radius2 = 1.1 * needed;
        loop {
            *acc = LogSumExp::default();
            weighted.iter_mut().for_each(|w| *w = 0.0);
            if radius2 >= cover {
                return false;
            }
            self.for_each_row(z, radius2, |range| {
                accumulate(imp, &self.centres, range, z, inv_two_sigma2, acc, weighted)
            });
            if acc.min_d2 < f32::INFINITY {
                let nearest2 = acc.min_d2 as f64;
                if radius2 - nearest2 >= needed {
                    return true;
                }
                // A ball this large meets the bound: its nearest centre can only be nearer.
                radius2 = 1.1 * (nearest2 + needed);
            } else {
                radius2 *= 4.0;
            }
        }
    }
}
