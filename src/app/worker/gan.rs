//! The worker's half of the GAN view (paper Section 4.3): what the app asks
//! for ([`ViewRequest`]) and what the worker computes for it ([`GanValues`]):
//! a discriminator's pre-activation h at the moving points and over a grid.
//! h*(z) = log p_sigma(z) - log q_sigma(z) is the optimal discriminator on
//! the noise-smoothed proxies (eq. 29-31), from the kernel sums
//! ([`crate::engine::flow::optimal_logits`]); the trained h comes from a
//! `Discriminator` driver. The heat map's grid (96 x 96 queries) is the
//! dearest part, so while the flow runs it is recomputed at most every
//! [`GRID_INTERVAL`].

use std::time::{Duration, Instant};

use bevy::math::Vec2;

use crate::engine::flow::optimal_logits;
use crate::engine::metrics::quantile_in_place;
use crate::engine::{Cloud, Discriminator, Simulation, StepReport};

use super::project::project3;

/// Cells per side of the heat map's grid.
pub const GRID_CELLS: usize = 96;

/// While the flow runs, the heat map is recomputed at most this often.
pub const GRID_INTERVAL: Duration = Duration::from_millis(200);

/// The colour range is +- this percentile of |h| over the moving points.
pub const RANGE_PERCENTILE: f64 = 0.95;

/// Smallest colour range (nats): a near-zero field is not blown up into noise.
pub const MIN_RANGE: f32 = 0.1;

/// The grid reaches this share of the clouds' half-extent beyond their box.
const GRID_MARGIN: f32 = 0.3;

/// A discriminator pre-activation over space.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Field {
    /// h* from the kernel sums.
    Optimal,
    /// The trained discriminator's h.
    Discriminator,
}

impl Field {
    pub fn symbol(self) -> &'static str {
        match self {
            Field::Optimal => "h*",
            Field::Discriminator => "h",
        }
    }
}

/// What the worker is asked to compute for the view.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ViewRequest {
    /// The field at the moving points (for their colours and the colour
    /// range); None: nothing at all.
    pub field: Option<Field>,
    /// Also the field over the heat map's grid (2-D scenes only).
    pub grid: bool,
}

/// Where the heat map's cells are: `nx` x `ny` cells over the rectangle
/// `min`..`max` of the (x, y) plane; row 0 is the top (largest y), as in an
/// image.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GridLayout {
    pub min: [f32; 2],
    pub max: [f32; 2],
    pub nx: usize,
    pub ny: usize,
}

impl GridLayout {
    /// A grid over both clouds' (x, y) box plus a margin, for projected
    /// clouds (x, y, z per point); None unless every z is 0 (a 2-D scene)
    /// and some point is finite.
    pub fn over(fixed3: &[f32], moving3: &[f32], cells: usize) -> Option<Self> {
        let (mut min, mut max) = ([f32::INFINITY; 2], [f32::NEG_INFINITY; 2]);
        for p in fixed3.chunks_exact(3).chain(moving3.chunks_exact(3)) {
            if p[2] != 0.0 {
                return None;
            }
            if p[0].is_finite() && p[1].is_finite() {
                for k in 0..2 {
                    min[k] = min[k].min(p[k]);
                    max[k] = max[k].max(p[k]);
                }
            }
        }
        if !(min[0].is_finite() && min[1].is_finite() && max[0].is_finite() && max[1].is_finite()) || cells == 0 {
            return None;
        }
        // A margin around the box; a single point still gets a small square.
        let margin = ((max[0] - min[0]).max(max[1] - min[1]) * 0.5 * GRID_MARGIN).max(1e-3);
        Some(Self {
            min: [min[0] - margin, min[1] - margin],
            max: [max[0] + margin, max[1] + margin],
            nx: cells,
            ny: cells,
        })
    }

    pub fn len(&self) -> usize {
        self.nx * self.ny
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Centre of cell (`col`, `row`).
    pub fn centre(&self, col: usize, row: usize) -> [f32; 2] {
        let dx = (self.max[0] - self.min[0]) / self.nx as f32;
        let dy = (self.max[1] - self.min[1]) / self.ny as f32;
        [self.min[0] + (col as f32 + 0.5) * dx, self.max[1] - (row as f32 + 0.5) * dy]
    }

    /// The cell centres as `dim`-dimensional queries, row by row: (x) in
    /// 1-D, (x, y) in 2-D, (x, y, 0, ...) above.
    pub fn queries(&self, dim: usize) -> Vec<f32> {
        let mut out = Vec::with_capacity(self.len() * dim);
        for row in 0..self.ny {
            for col in 0..self.nx {
                let c = self.centre(col, row);
                out.extend((0..dim).map(|k| c.get(k).copied().unwrap_or(0.0)));
            }
        }
        out
    }

    /// Middle and size of the rectangle.
    pub fn rect(&self) -> (Vec2, Vec2) {
        let (min, max) = (Vec2::from(self.min), Vec2::from(self.max));
        ((min + max) * 0.5, max - min)
    }
}

/// The field over the heat map's grid.
#[derive(Clone, Debug, PartialEq)]
pub struct GridValues {
    pub field: Field,
    pub layout: GridLayout,
    /// One value per cell, row by row (see [`GridLayout`]).
    pub values: Vec<f32>,
    /// Steps taken when it was computed (it may lag the points while running).
    pub step_index: usize,
    /// Changes with each recomputation.
    pub serial: u64,
}

/// What the worker sends for the view with a reply.
#[derive(Clone, Debug, PartialEq)]
pub struct GanValues {
    pub field: Field,
    /// Steps taken at the state the point values belong to.
    pub step_index: usize,
    /// Kernel variance h* was computed at (the last step's; before the first
    /// step, the schedule's at step 0).
    pub sigma2: f64,
    /// The field at each moving point; empty when the field is not available
    /// (no discriminator).
    pub points: Vec<f32>,
    /// Symmetric colour range: +- this many nats ([`robust_range`] of the points).
    pub range: f32,
    pub grid: Option<GridValues>,
    /// Changes with each computation of the point values.
    pub serial: u64,
}

/// The worker's side: what it was asked for and what it needs to answer.
#[derive(Debug, Default)]
pub struct WorkerView {
    request: ViewRequest,
    /// Grid of the loaded scene; None when it is not 2-D.
    layout: Option<GridLayout>,
    /// Kernel variance of the last step.
    kernel_sigma2: Option<f64>,
    serial: u64,
    last_grid: Option<(Instant, GridValues)>,
}

/// What the GAN view reads from a run, a particle flow or a generator in
/// training: the two clouds, the trained discriminator if any, the step, and
/// the kernel variance to use before the first step.
pub struct GanState<'a> {
    pub fixed: &'a Cloud,
    pub moving: &'a Cloud,
    pub discriminator: Option<&'a Discriminator>,
    pub step_index: usize,
    pub start_sigma2: f64,
}

impl<'a> GanState<'a> {
    pub fn of_particles(sim: &'a Simulation) -> Self {
        let s = sim.settings();
        Self {
            fixed: sim.fixed(),
            moving: sim.moving(),
            discriminator: sim.discriminator(),
            step_index: sim.step_index(),
            start_sigma2: s.bandwidth.kernel_sigma2(s.schedule.sigma2(0, s.steps)),
        }
    }
}

impl WorkerView {
    pub fn set_request(&mut self, request: ViewRequest) {
        self.request = request;
    }

    /// A new run: its grid, and no step yet.
    pub fn loaded(&mut self, sim: &GanState) {
        self.layout = GridLayout::over(&project3(sim.fixed), &project3(sim.moving), GRID_CELLS);
        self.reset();
    }

    pub fn stepped(&mut self, report: &StepReport) {
        self.kernel_sigma2 = Some(report.kernel_sigma2);
    }

    /// Back to step 0.
    pub fn reset(&mut self) {
        self.kernel_sigma2 = None;
        self.last_grid = None;
    }

    /// Kernel variance for h*: the last step's, else the schedule's at step 0.
    fn sigma2(&self, sim: &GanState) -> f64 {
        self.kernel_sigma2.unwrap_or(sim.start_sigma2)
    }

    /// The values asked for at the simulation's state; None when nothing is
    /// asked for. The grid is recomputed when `fresh`, when its field
    /// changed, or once [`GRID_INTERVAL`] has passed; otherwise the last one
    /// is sent again. Runs in the worker's pool.
    pub fn values(&mut self, sim: &GanState, fresh: bool) -> Option<GanValues> {
        let field = self.request.field?;
        let sigma2 = self.sigma2(sim);
        let points = field_at(sim, field, sigma2, sim.moving.as_slice());
        let grid = match (self.request.grid, self.layout) {
            (true, Some(layout)) => {
                let stale = self
                    .last_grid
                    .as_ref()
                    .is_none_or(|(at, g)| fresh || g.field != field || at.elapsed() >= GRID_INTERVAL);
                if stale {
                    self.serial += 1;
                    let values = field_at(sim, field, sigma2, &layout.queries(sim.fixed.dim()));
                    let grid = GridValues { field, layout, values, step_index: sim.step_index, serial: self.serial };
                    self.last_grid = Some((Instant::now(), grid));
                }
                self.last_grid.as_ref().map(|(_, g)| g.clone()).filter(|g| !g.values.is_empty())
            }
            _ => None,
        };
        let range =
            robust_range(if points.is_empty() { grid.as_ref().map_or(&[][..], |g| &g.values) } else { &points });
        self.serial += 1;
        Some(GanValues { field, step_index: sim.step_index, sigma2, points, range, grid, serial: self.serial })
    }
}

/// The field at each row of `queries`; empty if the field is not available.
pub fn field_at(sim: &GanState, field: Field, sigma2: f64, queries: &[f32]) -> Vec<f32> {
    match field {
        Field::Optimal => {
            optimal_logits(sim.fixed, sim.moving, sigma2, queries).into_iter().map(|h| h as f32).collect()
        }
        Field::Discriminator => sim.discriminator.map(|d| d.logits(queries)).unwrap_or_default(),
    }
}

/// The `RANGE_PERCENTILE` quantile of |h| over the finite values, at least
/// [`MIN_RANGE`]; so one far point does not wash out the rest.
pub fn robust_range(values: &[f32]) -> f32 {
    let mut abs: Vec<f32> = values.iter().filter(|v| v.is_finite()).map(|v| v.abs()).collect();
    if abs.is_empty() {
        return 1.0;
    }
    quantile_in_place(&mut abs, RANGE_PERCENTILE).max(MIN_RANGE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_range_ignores_the_far_tail() {
        let mut values: Vec<f32> = (0..100).map(|i| i as f32 / 100.0 - 0.5).collect();
        values.push(1e6);
        values.push(f32::NAN);
        let r = robust_range(&values);
        assert!((0.4..=0.5).contains(&r), "{r}");
        assert_eq!(robust_range(&[]), 1.0);
        assert_eq!(robust_range(&[0.0; 10]), MIN_RANGE);
        assert_eq!(robust_range(&[-3.0; 10]), 3.0);
    }

    #[test]
    fn the_grid_covers_flat_clouds_top_row_first() {
        let fixed = [-2.0, -1.0, 0.0, 2.0, 1.0, 0.0];
        let moving = [0.0, 0.0, 0.0];
        let g = GridLayout::over(&fixed, &moving, 4).expect("flat clouds have a grid");
        assert!(g.min[0] < -2.0 && g.max[0] > 2.0 && g.min[1] < -1.0 && g.max[1] > 1.0, "{g:?}");
        let (mid, size) = g.rect();
        assert!(mid.length() < 1e-6 && size.x > size.y, "{mid} {size}");
        assert_eq!(g.len(), 16);
        let q = g.queries(2);
        assert_eq!(q.len(), 32);
        // Row 0 is the top: the first cell is at the top left.
        assert!(q[0] < 0.0 && q[1] > 0.0, "{:?}", &q[..2]);
        assert_eq!(&q[..2], &g.centre(0, 0));
        assert!(q[31] < 0.0 && q[30] > 0.0);
        // Cells are evenly spaced and stay inside the rectangle.
        let dx = q[2] - q[0];
        assert!((dx - (g.max[0] - g.min[0]) / 4.0).abs() < 1e-5);
        // Higher dimensions get zeros, 1-D only x.
        let q3 = g.queries(3);
        assert_eq!((q3.len(), q3[2], q3[0]), (48, 0.0, q[0]));
        assert_eq!(g.queries(1).len(), 16);
        // Not flat, or nothing finite: no grid.
        assert!(GridLayout::over(&[0.0, 0.0, 1.0], &moving, 4).is_none());
        assert!(GridLayout::over(&[f32::NAN, 0.0, 0.0], &[], 4).is_none());
        // A single point still gets a small square.
        let one = GridLayout::over(&moving, &[], 2).expect("one point");
        assert!(one.max[0] > one.min[0] && one.max[1] > one.min[1]);
    }
}
