//! The GAN view (paper Section 4.3): the moving points coloured by a
//! discriminator's pre-activation h, and in 2-D scenes a heat map of h
//! behind them.
//!
//! Two fields can be shown:
//! - h*(z) = log p_sigma(z) - log q_sigma(z), the optimal discriminator on
//!   the noise-smoothed proxies, from the kernel sums
//!   ([`crate::engine::optimal::optimal_logits`]) at the last step's kernel
//!   variance;
//! - the trained discriminator's h of a `Discriminator` driver.
//!
//! Everything heavy runs on the flow worker: the app sends a
//! [`ViewRequest`] (only when it changes), and the worker's [`WorkerView`]
//! adds [`GanValues`] to its replies while a field is asked for. The
//! default colouring asks for nothing and costs nothing. The heat map's grid
//! is the dearest part (96 x 96 queries), so while the flow runs it is
//! recomputed at most every [`GRID_INTERVAL`]; a paused run gets a fresh one
//! (see [`send_view_request`]).
//!
//! This module holds the types, the pure helpers (colour map, bins, robust
//! range, grid layout) and the headless plugin; the materials and the heat
//! map quad are in [`super::gan_render`], the panel in `ui/gan.rs`.

use std::time::{Duration, Instant};

use bevy::prelude::*;

use super::scene_loading::ActiveScene;
use super::simulation::{FlowWorker, Playback, RunLink, RunStatus, SimSystems, project3};
use crate::engine::metrics::quantile_in_place;
use crate::engine::optimal::optimal_logits;
use crate::engine::{Cloud, Discriminator, Simulation, StepReport};

/// Bins of the colour map the points are drawn with (odd: one is centred on 0).
pub const BINS: usize = 17;
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

/// How the moving points are coloured.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Colouring {
    /// The Okabe-Ito orange of the moving cloud.
    #[default]
    OkabeIto,
    /// The optimal discriminator's h* = log p_sigma / q_sigma.
    OptimalLogRatio,
    /// The trained discriminator's h (scenes with a `Discriminator` driver).
    Discriminator,
    /// Length of each point's last displacement (computed by the app, see `flow_colours`).
    Displacement,
    /// Distance to the nearest fixed point (the metrics' distances).
    NearestTarget,
}

impl Colouring {
    pub const ALL: [Colouring; 5] = [
        Colouring::OkabeIto,
        Colouring::OptimalLogRatio,
        Colouring::Discriminator,
        Colouring::Displacement,
        Colouring::NearestTarget,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Colouring::OkabeIto => "Okabe-Ito",
            Colouring::OptimalLogRatio => "optimal log-ratio h*",
            Colouring::Discriminator => "discriminator h",
            Colouring::Displacement => "displacement length",
            Colouring::NearestTarget => "nearest-target distance",
        }
    }

    pub fn help(self) -> &'static str {
        match self {
            Colouring::OkabeIto => "one colour per cloud (colour-blind safe)",
            Colouring::OptimalLogRatio => {
                "h*(z) = log p_sigma(z) - log q_sigma(z) at each moving point: the optimal discriminator on the \
                 noise-smoothed clouds (eq. 29-31), from the kernel sums at the current kernel sigma²; its \
                 gradient is the SD flow"
            }
            Colouring::Discriminator => {
                "the trained discriminator's pre-activation h(z) (f = sigmoid(h)) at each moving point; equal to \
                 h* for the optimal discriminator"
            }
            Colouring::Displacement => {
                "how far each moving point went in the last step (|new - previous position|): where the flow \
                 pushes hardest"
            }
            Colouring::NearestTarget => {
                "distance from each moving point to its nearest fixed point (as in the nearest-neighbour \
                 histogram): which points have not arrived yet"
            }
        }
    }

    /// The field this colouring shows (None for the default).
    pub fn field(self) -> Option<Field> {
        match self {
            Colouring::OkabeIto => None,
            Colouring::OptimalLogRatio => Some(Field::Optimal),
            Colouring::Discriminator => Some(Field::Discriminator),
            Colouring::Displacement | Colouring::NearestTarget => None,
        }
    }
}

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

/// What the user chose to see (the panel edits it).
#[derive(Resource, Clone, Debug, Default, PartialEq, Eq)]
pub struct GanView {
    pub colouring: Colouring,
    /// Heat map of the field behind the points (2-D scenes).
    pub heat_map: bool,
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

impl ViewRequest {
    /// The request for a view: the colouring's field, or h* when only the
    /// heat map is on; nothing for the default view.
    pub fn of(view: &GanView, has_discriminator: bool) -> Self {
        let colouring = match view.colouring {
            Colouring::Discriminator if !has_discriminator => Colouring::OkabeIto,
            c => c,
        };
        let field = colouring.field().or(view.heat_map.then_some(Field::Optimal));
        Self { field, grid: view.heat_map && field.is_some() }
    }
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

/// The bin (0..BINS) of value `h` for the range +-`range`: the middle bin
/// holds 0, values beyond the range fall in the end bins, NaN in the middle.
pub fn bin(h: f32, range: f32) -> u8 {
    let half = (BINS / 2) as f32;
    let t = if range > 0.0 { h / range } else { 0.0 };
    let b = (t.clamp(-1.0, 1.0) * half).round() + half;
    if b.is_nan() { half as u8 } else { b as u8 }
}

/// The middle of bin `b` on the colour map's -1..1 scale.
pub fn bin_centre(b: u8) -> f32 {
    let half = (BINS / 2) as f32;
    (b as f32 - half) / half
}

/// Stops of the diverging map at t = -1, -0.75, ..., 1 (sRGB): ColorBrewer's
/// colour-blind-safe PuOr, orange for h < 0 (the moving cloud is denser: the
/// points look like the source), purple for h > 0 (the target is denser).
/// The near-white middle is a light grey, so points at h = 0 still show on
/// the light background.
const STOPS: [[u8; 3]; 9] = [
    [0x7f, 0x3b, 0x08],
    [0xb3, 0x58, 0x06],
    [0xe0, 0x82, 0x14],
    [0xea, 0xa9, 0x50],
    [0xb8, 0xb8, 0xb8],
    [0xa4, 0x9c, 0xc9],
    [0x80, 0x73, 0xac],
    [0x54, 0x27, 0x88],
    [0x2d, 0x00, 0x4b],
];

/// The diverging colour map at t in [-1, 1] (clamped; NaN is the middle),
/// sRGB in 0..1.
pub fn diverging(t: f32) -> [f32; 3] {
    let t = if t.is_nan() { 0.0 } else { t.clamp(-1.0, 1.0) };
    let x = (t + 1.0) * 0.5 * (STOPS.len() - 1) as f32;
    let i = (x.floor() as usize).min(STOPS.len() - 2);
    let f = x - i as f32;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    std::array::from_fn(|k| (a[k] as f32 + f * (b[k] as f32 - a[k] as f32)) / 255.0)
}

/// The colour of bin `b`.
pub fn bin_colour(b: u8) -> [f32; 3] {
    diverging(bin_centre(b))
}

/// Heat map pixels (RGBA8, sRGB, opaque) for grid values over the range
/// +-`range`: the map's colours mixed with `background` (sRGB, 0..1) at
/// `strength`, in sRGB as a painter would, so the heat map stays pale and the
/// points in the full colours stand out on it.
pub fn heat_pixels(values: &[f32], range: f32, background: [f32; 3], strength: f32) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.len() * 4);
    for &h in values {
        let c = diverging(if range > 0.0 { h / range } else { 0.0 });
        out.extend((0..3).map(|k| ((background[k] + strength * (c[k] - background[k])) * 255.0).round() as u8));
        out.push(255);
    }
    out
}

/// The GAN view's headless part: the choice and the requests to the worker.
pub struct GanPlugin;

impl Plugin for GanPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<GanView>()
            .add_systems(Update, (fit_choice_to_scene, send_view_request).chain().in_set(SimSystems::Control));
    }
}

/// Whether the running scene trains a discriminator.
pub fn has_discriminator(active: &ActiveScene) -> bool {
    active.scene().is_some_and(|s| !s.driver.is_kernel())
}

/// When no run has a discriminator, none can be coloured by one: back to the default.
fn fit_choice_to_scene(runs: Query<Ref<ActiveScene>>, mut view: ResMut<GanView>) {
    let changed = runs.iter().any(|a| a.is_changed() && a.scene().is_some());
    if changed && view.colouring == Colouring::Discriminator && !runs.iter().any(|a| has_discriminator(&a)) {
        view.colouring = Colouring::OkabeIto;
    }
}

/// Sends each run's view request when it changes. A paused run whose heat
/// map lags its points (computed while running, see [`GRID_INTERVAL`]) asks
/// again.
pub fn send_view_request(
    view: Res<GanView>,
    playback: Res<Playback>,
    mut worker: ResMut<FlowWorker>,
    mut runs: Query<(&ActiveScene, &RunStatus, &mut RunLink)>,
) {
    for (active, status, mut link) in &mut runs {
        let request = ViewRequest::of(&view, has_discriminator(active));
        if link.view() != request {
            worker.set_view(&mut link, request);
            continue;
        }
        let settled = (!playback.playing || status.finished) && !link.busy() && status.generation == link.generation;
        let lagging =
            status.gan.as_ref().and_then(|g| g.grid.as_ref()).is_some_and(|g| g.step_index != status.step_index);
        if settled && lagging && request.grid {
            worker.set_view(&mut link, request);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_are_centred_and_clamped() {
        assert_eq!(bin(0.0, 2.0), 8);
        assert_eq!(bin(2.0, 2.0), 16);
        assert_eq!(bin(-2.0, 2.0), 0);
        assert_eq!(bin(100.0, 2.0), 16);
        assert_eq!(bin(-100.0, 2.0), 0);
        assert_eq!(bin(f32::NAN, 2.0), 8);
        assert_eq!(bin(1.0, 0.0), 8);
        // Just past half a bin from 0 leaves the middle bin.
        assert_eq!(bin(0.9 / 8.0, 1.0), 9);
        assert_eq!(bin(-0.9 / 8.0, 1.0), 7);
        for b in 0..BINS as u8 {
            assert_eq!(bin(bin_centre(b) * 3.0, 3.0), b);
        }
    }

    #[test]
    fn the_colour_map_diverges_from_a_grey_middle() {
        let mid = diverging(0.0);
        assert!(mid.iter().all(|&c| (c - mid[0]).abs() < 1e-6), "grey middle {mid:?}");
        assert!(mid[0] < 0.85, "the middle must show on the light background: {mid:?}");
        let (lo, hi) = (diverging(-1.0), diverging(1.0));
        assert!(lo[0] > lo[2], "negative end is orange-brown: {lo:?}");
        assert!(hi[2] > hi[1], "positive end is purple: {hi:?}");
        assert_eq!(diverging(-5.0), lo);
        assert_eq!(diverging(f32::NAN), mid);
        // Lightness (sum of channels) falls away from the middle on both sides.
        let light = |t: f32| diverging(t).iter().sum::<f32>();
        for i in 1..=10 {
            let t = i as f32 / 10.0;
            assert!(light(t) <= light(t - 0.1) + 1e-4 && light(-t) <= light(-t + 0.1) + 1e-4, "{t}");
        }
        assert_eq!(bin_colour(8), mid);
    }

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

    #[test]
    fn heat_pixels_are_map_colours_mixed_with_the_background() {
        let px = heat_pixels(&[-2.0, 0.0, 9.0], 2.0, [1.0; 3], 1.0);
        assert_eq!(px.len(), 12);
        assert_eq!(&px[..3], &[0x7f, 0x3b, 0x08]);
        assert_eq!(&px[4..7], &[0xb8, 0xb8, 0xb8]);
        assert_eq!(&px[8..11], &[0x2d, 0x00, 0x4b]);
        assert!(px.chunks(4).all(|p| p[3] == 255));
        // Half strength: halfway to the background, in sRGB.
        let pale = heat_pixels(&[2.0], 2.0, [1.0; 3], 0.5);
        assert_eq!(&pale[..3], &[0x96, 0x80, 0xa5]);
        assert_eq!(heat_pixels(&[1.0], 1.0, [0.2; 3], 0.0)[..3], [51, 51, 51]);
    }

    #[test]
    fn requests_follow_the_choice() {
        let default = GanView::default();
        assert_eq!(ViewRequest::of(&default, true), ViewRequest::default());
        let h_star = GanView { colouring: Colouring::OptimalLogRatio, heat_map: false };
        assert_eq!(ViewRequest::of(&h_star, false), ViewRequest { field: Some(Field::Optimal), grid: false });
        // The heat map alone shows h*.
        let heat = GanView { colouring: Colouring::OkabeIto, heat_map: true };
        assert_eq!(ViewRequest::of(&heat, false), ViewRequest { field: Some(Field::Optimal), grid: true });
        // The discriminator's h only where there is one.
        let disc = GanView { colouring: Colouring::Discriminator, heat_map: true };
        assert_eq!(ViewRequest::of(&disc, true), ViewRequest { field: Some(Field::Discriminator), grid: true });
        assert_eq!(ViewRequest::of(&disc, false), ViewRequest { field: Some(Field::Optimal), grid: true });
    }
}
