//! One run of a flow: the clouds, the settings and the step loop
//! (paper Algorithm 1). Pure Rust; parallel over moving points with rayon in
//! whatever thread pool the caller installs.
//!
//! Each step t:
//! 1. sigma^2 = schedule(t); kernel variance sigma_k^2 = sigma^2 unless a
//!    fixed MMD bandwidth is set.
//! 2. Batch mode (`batch: Some(B)`): B moving points are drawn without
//!    replacement; only they move. The kernel centres are B fixed-cloud points
//!    drawn afresh (for D_p) and the same B moving points at their positions
//!    before the step (for D_q). Without a batch every point moves and every
//!    point of both clouds is a centre.
//! 3. z = y + sigma eps for each moving point (eps ~ N(0, I)).
//! 4. dz from [`flow::displacement`] via [`Displace`], the code generator
//!    training shares; on the first step an `Auto` step size
//!    fixes eta = first_norm / mean |dz|. With a `Discriminator` driver the
//!    discriminator is first trained at sigma(t), then dz comes from it (see
//!    [`super::flow::Discriminator`]) and the kernel SD dz of the same z is kept
//!    only to report their mean cosine.
//! 5. y <- y + eta dz for all moving points at once.
//!
//! Random numbers come from streams keyed by (seed, step, chunk of 256
//! points), and each point's sums run in a fixed order, so a seeded run gives
//! bit-identical points on any number of threads.

use crate::engine::cloud::Cloud;
use crate::engine::flow::{
    self, CutOff, Discriminator, Displace, Driver, KernelPath, Method, Source, StepSize, discriminator_seed,
    mean_cosine, update_stream,
};
use crate::engine::kernel::cells::CellList;
use crate::engine::kernel::fast::KernelImpl;
use crate::engine::kernel::{Centres, inv_two_sigma2};
use crate::engine::neighbors::mean_nearest_distance;
use crate::engine::rng::stream;

use super::settings::FlowSettings;
use super::snapshot::{RunIdentity, SimSnapshot, TimelineError};

/// What a step did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepReport {
    /// Index of the step just taken (0-based).
    pub step: usize,
    pub sigma2: f64,
    pub kernel_sigma2: f64,
    /// The step size applied: 2 rho for SdDenoiser with a `rho`, dt for RectifiedFlow.
    pub eta: f64,
    pub path: KernelPath,
    /// Points moved.
    pub moved: usize,
    /// Kernel evaluations done if every sum were full (M (N + M) for Sd).
    pub kernel_evaluations: u64,
    /// Points whose update was not finite this step and was dropped.
    pub non_finite: usize,
    /// With a `Discriminator` driver: mean cosine between its displacement
    /// and the kernel SD displacement at the moved points (1 = the optimal
    /// discriminator's flow). None for the `Kernel` driver.
    pub driver_cosine: Option<f64>,
}

/// A running flow between a fixed cloud and a moving one.
pub struct Simulation {
    settings: FlowSettings,
    seed: u64,
    fixed: Cloud,
    start: Cloud,
    moving: Cloud,
    step: usize,
    /// eta fixed by an `Auto` step size at its first step.
    auto_eta: Option<f64>,
    /// Non-finite updates dropped since the start (see [`StepReport::non_finite`]).
    non_finite: u64,
    imp: KernelImpl,
    // Buffers reused from step to step (sizes O(N + M)).
    deltas: Vec<f32>,
    fixed_centres: Centres,
    /// `fixed_centres` holds the whole fixed cloud (not a batch).
    fixed_centres_are_all: bool,
    moving_centres: Centres,
    fixed_cells: CellList,
    moving_cells: CellList,
    batch_moving: Vec<usize>,
    batch_fixed: Vec<usize>,
    /// Noisy copies z of the moving points of this step.
    noisy: Vec<f32>,
    /// Kernel displacements when a discriminator drives (for the cosine).
    kernel_deltas: Vec<f32>,
    discriminator: Option<Discriminator>,
    /// Minibatch buffers of the discriminator's updates.
    discriminator_rows: (Vec<f32>, Vec<f32>),
}

impl Simulation {
    /// `fixed` is the cloud the flow aims at; `moving` starts where given.
    /// Both must be non-empty and of one dimension, and a `Discriminator`
    /// driver must have no [`Driver::problems`] (the scene checks all this).
    pub fn new(settings: FlowSettings, fixed: Cloud, moving: Cloud, seed: u64) -> Self {
        assert_eq!(fixed.dim(), moving.dim(), "clouds must share a dimension");
        assert!(!fixed.is_empty() && !moving.is_empty(), "clouds must be non-empty");
        let settings = resolve(settings, &fixed, &moving);
        let discriminator = new_discriminator(&settings.driver, fixed.dim(), seed);
        Self {
            settings,
            seed,
            start: moving.clone(),
            moving,
            fixed,
            step: 0,
            auto_eta: None,
            non_finite: 0,
            imp: KernelImpl::detect(),
            deltas: Vec::new(),
            fixed_centres: Centres::default(),
            fixed_centres_are_all: false,
            moving_centres: Centres::default(),
            fixed_cells: CellList::default(),
            moving_cells: CellList::default(),
            batch_moving: Vec::new(),
            batch_fixed: Vec::new(),
            noisy: Vec::new(),
            kernel_deltas: Vec::new(),
            discriminator,
            discriminator_rows: (Vec::new(), Vec::new()),
        }
    }

    pub fn settings(&self) -> &FlowSettings {
        &self.settings
    }

    /// Changes settings mid-run. A new step-size rule or method re-derives
    /// an `Auto` eta (its calibration belongs to one method's displacements);
    /// a new driver starts from an untrained discriminator.
    pub fn set_settings(&mut self, settings: FlowSettings) {
        if settings.step_size != self.settings.step_size || settings.method != self.settings.method {
            self.auto_eta = None;
        }
        if settings.driver != self.settings.driver {
            self.discriminator = new_discriminator(&settings.driver, self.fixed.dim(), self.seed);
        }
        self.settings = resolve(settings, &self.fixed, &self.start);
    }

    /// Forces a kernel implementation (tests compare them).
    pub fn set_kernel_impl(&mut self, imp: KernelImpl) {
        self.imp = imp;
    }

    pub fn kernel_impl(&self) -> KernelImpl {
        self.imp
    }

    /// Allows (default) or forbids the matrix-product path for full sums in
    /// d >= 8 (benchmarks and tests compare it with the direct loop).
    pub fn set_matrix_products(&mut self, on: bool) {
        self.fixed_centres.set_matrix_products(on);
        self.moving_centres.set_matrix_products(on);
        self.fixed_centres_are_all = false;
    }

    pub fn fixed(&self) -> &Cloud {
        &self.fixed
    }

    pub fn moving(&self) -> &Cloud {
        &self.moving
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Steps taken so far.
    pub fn step_index(&self) -> usize {
        self.step
    }

    pub fn is_finished(&self) -> bool {
        self.step >= self.settings.steps
    }

    /// The step size in force (None before an `Auto` step size's first step).
    pub fn eta(&self) -> Option<f64> {
        match self.settings.step_size {
            StepSize::Fixed { eta } => Some(eta),
            StepSize::Auto { .. } => self.auto_eta,
        }
    }

    /// Non-finite updates dropped since the start (or the last reset): the
    /// summary and the status line report it; 0 in a healthy run.
    pub fn non_finite(&self) -> u64 {
        self.non_finite
    }

    /// The trained discriminator of a `Discriminator` driver (its h over
    /// any points: [`Discriminator::logits`]).
    pub fn discriminator(&self) -> Option<&Discriminator> {
        self.discriminator.as_ref()
    }

    /// [`flow::tweedie_residual`] of a `RectifiedFlow` run at its current time
    /// t = step / steps; None for other methods and after the last step.
    pub fn tweedie_residual(&self) -> Option<f64> {
        if self.settings.method != Method::RectifiedFlow {
            return None;
        }
        let t = self.step as f64 / self.settings.steps.max(1) as f64;
        flow::tweedie_residual(self.imp, &self.fixed, &self.moving, t)
    }

    /// Back to the starting positions, step 0, untrained discriminator.
    pub fn reset(&mut self) {
        self.moving.as_mut_slice().copy_from_slice(self.start.as_slice());
        self.step = 0;
        self.auto_eta = None;
        self.non_finite = 0;
        self.discriminator = new_discriminator(&self.settings.driver, self.fixed.dim(), self.seed);
    }

    /// Advances one step; None once all steps are done.
    pub fn step(&mut self) -> Option<StepReport> {
        if self.is_finished() {
            return None;
        }
        let settings = self.settings.clone();
        if settings.method == Method::RectifiedFlow {
            return Some(self.rectified_step());
        }
        let dim = self.moving.dim();
        let sigma2 = settings.schedule.sigma2(self.step, settings.steps);
        let kernel_sigma2 = settings.bandwidth.kernel_sigma2(sigma2);
        let inv = inv_two_sigma2(kernel_sigma2);
        let noise_sigma = sigma2.sqrt() as f32;

        // Which points move, and which serve as centres.
        let (m, n) = (self.moving.len(), self.fixed.len());
        let batched = settings.batch.filter(|&b| b > 0 && b < m.max(n));
        self.batch_moving.clear();
        self.batch_fixed.clear();
        if let Some(b) = batched {
            let mut rng = stream(self.seed, self.step, u64::MAX);
            self.batch_moving.extend(rand::seq::index::sample(&mut rng, m, b.min(m)));
            self.batch_fixed.extend(rand::seq::index::sample(&mut rng, n, b.min(n)));
        }
        let moving_idx = batched.map(|_| self.batch_moving.as_slice());
        let fixed_idx = batched.map(|_| self.batch_fixed.as_slice());
        let queries = moving_idx.map_or(m, <[usize]>::len);
        let count_p = fixed_idx.map_or(n, <[usize]>::len);
        let count_q = queries;

        let cut = settings.cutoff == CutOff::Auto;
        let fixed_src = if cut && self.fixed_cells.rebuild(dim, self.fixed.as_slice(), fixed_idx, kernel_sigma2) {
            Source::Cells(&self.fixed_cells)
        } else {
            // The fixed cloud never moves: with full data its centres are
            // filled once per run, not every step.
            if fixed_idx.is_some() || !self.fixed_centres_are_all {
                self.fixed_centres.fill(dim, self.fixed.as_slice(), fixed_idx);
                self.fixed_centres_are_all = fixed_idx.is_none();
            }
            Source::Full(&self.fixed_centres)
        };
        let uses_q = settings.method.uses_moving_kernel();
        let moving_src = if !uses_q {
            None
        } else if cut && self.moving_cells.rebuild(dim, self.moving.as_slice(), moving_idx, kernel_sigma2) {
            Some(Source::Cells(&self.moving_cells))
        } else {
            self.moving_centres.fill(dim, self.moving.as_slice(), moving_idx);
            Some(Source::Full(&self.moving_centres))
        };

        // Displacements of all moving points from the positions before the step.
        let (seed, step, imp, method) = (self.seed, self.step, self.imp, settings.method);
        let displace = Displace {
            method,
            imp,
            dim,
            moving: self.moving.as_slice(),
            moving_idx,
            seed,
            step,
            noise_sigma,
            inv_two_sigma2: inv,
            fixed: fixed_src,
            count_p,
            moving_centres: moving_src,
            count_q,
        };
        let fallbacks = displace.run(&mut self.deltas);

        // A discriminator driver: train it at this noise level, then let it
        // give the displacement at the same z.
        let mut driver_cosine = None;
        if let (Some(d), Driver::Discriminator { updates_per_step, minibatch, .. }) =
            (self.discriminator.as_mut(), &settings.driver)
        {
            for u in 0..*updates_per_step {
                let mut rng = update_stream(seed, step, u);
                let (fixed, moving) = (self.fixed.as_slice(), self.moving.as_slice());
                d.update_noisy(fixed, moving, *minibatch, noise_sigma, &mut rng, &mut self.discriminator_rows);
            }
            displace.noisy_points(&mut self.noisy);
            std::mem::swap(&mut self.deltas, &mut self.kernel_deltas);
            self.deltas.clear();
            self.deltas.resize(queries * dim, 0.0);
            d.directions(&self.noisy, (0.5 * sigma2) as f32, &mut self.deltas);
            driver_cosine = Some(mean_cosine(&self.deltas, &self.kernel_deltas, dim));
        }

        // SdDenoiser with its own rho: y + 2 rho * 1/2 (D_p - y) is eq. 16.
        let rho = if method == Method::SdDenoiser {
            settings.rho.at(&settings.schedule, self.step, settings.steps)
        } else {
            None
        };
        let eta = match (rho, settings.step_size) {
            (Some(rho), _) => 2.0 * rho,
            (None, StepSize::Fixed { eta }) => eta,
            (None, StepSize::Auto { first_norm }) => *self.auto_eta.get_or_insert_with(|| {
                let mean_norm = mean_norm(&self.deltas, dim);
                if mean_norm > 1e-30 { first_norm / mean_norm } else { 1.0 }
            }),
        };
        let mut non_finite = 0;
        for (q, dz) in self.deltas.chunks_exact(dim).enumerate() {
            let i = moving_idx.map_or(q, |ix| ix[q]);
            non_finite += !flow::apply(self.moving.point_mut(i), dz, eta as f32) as usize;
        }
        self.non_finite += non_finite as u64;

        let path = match (&fixed_src, &moving_src) {
            (Source::Full(_), None | Some(Source::Full(_))) if fixed_src.uses_gemm() => KernelPath::Gemm,
            (Source::Full(_), None | Some(Source::Full(_))) => KernelPath::Full,
            _ => KernelPath::CutOff { fallbacks, queries: queries * if uses_q { 2 } else { 1 } },
        };
        let kernel_evaluations = (queries * (count_p + if uses_q { count_q } else { 0 })) as u64;
        let report = StepReport {
            step: self.step,
            sigma2,
            kernel_sigma2,
            eta,
            path,
            moved: queries,
            kernel_evaluations,
            non_finite,
            driver_cosine,
        };
        self.step += 1;
        Some(report)
    }

    /// One Euler step of [`Method::RectifiedFlow`] at t = step / steps; the
    /// report's sigma^2 is the posterior kernel variance (1 - t)^2, eta is dt.
    fn rectified_step(&mut self) -> StepReport {
        let steps = self.settings.steps.max(1);
        let (t, dt) = (self.step as f64 / steps as f64, 1.0 / steps as f64);
        let dim = self.moving.dim();
        self.fixed_centres.fill(dim, self.fixed.as_slice(), None);
        self.fixed_centres.scale(t as f32);
        self.fixed_centres_are_all = false;
        let mean = self.fixed.mean();
        let non_finite = flow::euler_step(self.imp, &mut self.moving, &self.fixed_centres, &mean, t, dt);
        self.non_finite += non_finite as u64;
        let sigma2 = (1.0 - t) * (1.0 - t);
        let (m, n) = (self.moving.len(), self.fixed.len());
        let report = StepReport {
            step: self.step,
            sigma2,
            kernel_sigma2: sigma2,
            eta: dt,
            path: KernelPath::Full,
            moved: m,
            kernel_evaluations: (m * n) as u64,
            non_finite,
            driver_cosine: None,
        };
        self.step += 1;
        report
    }
}

/// Snapshots for the run's history (see `timeline.rs`).
impl Simulation {
    /// Which run this is, as far as snapshots can tell: seed and cloud sizes.
    pub fn identity(&self) -> RunIdentity {
        RunIdentity { seed: self.seed, dim: self.fixed.dim(), fixed: self.fixed.len(), moving: self.moving.len() }
    }

    /// Everything that shapes later steps (positions, step, Auto eta,
    /// non-finite count, settings, the discriminator's weights and
    /// optimiser); the per-step buffers are refilled by every step.
    pub fn snapshot(&self) -> SimSnapshot {
        let mut snapshot = SimSnapshot::default();
        self.snapshot_into(&mut snapshot);
        snapshot
    }

    /// [`Self::snapshot`] into `snapshot`, reusing its point buffer.
    pub fn snapshot_into(&self, snapshot: &mut SimSnapshot) {
        snapshot.identity = self.identity();
        snapshot.step = self.step;
        snapshot.moving.clear();
        snapshot.moving.extend_from_slice(self.moving.as_slice());
        snapshot.auto_eta = self.auto_eta;
        snapshot.non_finite = self.non_finite;
        snapshot.settings.clone_from(&self.settings);
        snapshot.discriminator = self.discriminator.as_ref().map(Discriminator::state_clone);
    }

    /// Puts the run back in the state of `snapshot`: stepping on gives the
    /// same points, bit for bit, as the run that took it (noise, batches and
    /// discriminator updates are keyed by (seed, step)).
    pub fn restore(&mut self, snapshot: &SimSnapshot) -> Result<(), TimelineError> {
        if snapshot.identity != self.identity() {
            return Err(TimelineError::OtherRun { snapshot: snapshot.identity, run: self.identity() });
        }
        self.moving.as_mut_slice().copy_from_slice(&snapshot.moving);
        self.step = snapshot.step;
        self.auto_eta = snapshot.auto_eta;
        self.non_finite = snapshot.non_finite;
        self.settings.clone_from(&snapshot.settings);
        match (&mut self.discriminator, &snapshot.discriminator) {
            (Some(d), Some(saved)) => d.restore_state(saved),
            (d, saved) => *d = saved.as_ref().map(Discriminator::state_clone),
        }
        Ok(())
    }
}

/// The discriminator a driver asks for, its weights seeded from the run's seed.
fn new_discriminator(driver: &Driver, dim: usize, seed: u64) -> Option<Discriminator> {
    let problems = driver.problems();
    assert!(problems.is_empty(), "invalid driver: {problems:?}");
    // Widths are >= 1 (checked above) and dim >= 1, so this cannot fail.
    Discriminator::from_driver(driver, dim, discriminator_seed(seed)).and_then(Result::ok)
}

/// Settings with a `FromNearest` schedule resolved against the starting clouds.
fn resolve(settings: FlowSettings, fixed: &Cloud, start: &Cloud) -> FlowSettings {
    let schedule = settings.schedule.resolve(|| mean_nearest_distance(start, fixed));
    FlowSettings { schedule, ..settings }
}

/// Mean Euclidean norm of row-major vectors, summed in a fixed order.
fn mean_norm(rows: &[f32], dim: usize) -> f64 {
    let count = rows.len() / dim;
    let total: f64 =
        rows.chunks_exact(dim).map(|r| r.iter().map(|&x| (x as f64) * (x as f64)).sum::<f64>().sqrt()).sum();
    total / count.max(1) as f64
}
