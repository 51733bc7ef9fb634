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
//!    fixes eta = first_norm / mean |dz|.
//! 5. y <- y + eta dz for all moving points at once.
//!
//! Random numbers come from streams keyed by (seed, step, chunk of 256
//! points), and each point's sums run in a fixed order, so a seeded run gives
//! bit-identical points on any number of threads.

use rand::SeedableRng;
use rand::rngs::StdRng;

use super::cloud::Cloud;
use super::displace::{Displace, Source};
use super::flow::{self, Bandwidth, CutOff, Method, StepSize};
use super::kernel::cells::CellList;
use super::kernel::fast::KernelImpl;
use super::kernel::{Centres, inv_two_sigma2};
use super::neighbors::mean_nearest_distance;
use super::schedule::Schedule;

/// Everything that shapes the flow, apart from the clouds.
#[derive(Clone, Debug, PartialEq)]
pub struct FlowSettings {
    pub method: Method,
    pub schedule: Schedule,
    pub steps: usize,
    pub step_size: StepSize,
    pub batch: Option<usize>,
    pub bandwidth: Bandwidth,
    pub cutoff: CutOff,
}

impl Default for FlowSettings {
    fn default() -> Self {
        Self {
            method: Method::Sd,
            schedule: Schedule::default(),
            steps: 500,
            step_size: StepSize::default(),
            batch: None,
            bandwidth: Bandwidth::Tied,
            cutoff: CutOff::Auto,
        }
    }
}

/// How the kernel sums of a step were computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KernelPath {
    /// Every centre for every query.
    Full,
    /// Every centre for every query, as matrix products (d >= 8).
    Gemm,
    /// Cell list; `fallbacks` queries (of `queries` kernel sums) needed the
    /// full sum to meet the error bound.
    CutOff { fallbacks: usize, queries: usize },
}

impl KernelPath {
    pub fn name(&self) -> &'static str {
        match self {
            KernelPath::Full => "full",
            KernelPath::Gemm => "gemm",
            KernelPath::CutOff { .. } => "cut-off",
        }
    }
}

/// What a step did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepReport {
    /// Index of the step just taken (0-based).
    pub step: usize,
    pub sigma2: f64,
    pub kernel_sigma2: f64,
    pub eta: f64,
    pub path: KernelPath,
    /// Points moved.
    pub moved: usize,
    /// Kernel evaluations done if every sum were full (M (N + M) for Sd).
    pub kernel_evaluations: u64,
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
}

impl Simulation {
    /// `fixed` is the cloud the flow aims at; `moving` starts where given.
    /// Both must be non-empty and of one dimension (the scene checks this).
    pub fn new(settings: FlowSettings, fixed: Cloud, moving: Cloud, seed: u64) -> Self {
        assert_eq!(fixed.dim(), moving.dim(), "clouds must share a dimension");
        assert!(!fixed.is_empty() && !moving.is_empty(), "clouds must be non-empty");
        let settings = resolve(settings, &fixed, &moving);
        Self {
            settings,
            seed,
            start: moving.clone(),
            moving,
            fixed,
            step: 0,
            auto_eta: None,
            imp: KernelImpl::detect(),
            deltas: Vec::new(),
            fixed_centres: Centres::default(),
            fixed_centres_are_all: false,
            moving_centres: Centres::default(),
            fixed_cells: CellList::default(),
            moving_cells: CellList::default(),
            batch_moving: Vec::new(),
            batch_fixed: Vec::new(),
        }
    }

    pub fn settings(&self) -> &FlowSettings {
        &self.settings
    }

    /// Changes settings mid-run. A new step-size rule re-derives eta.
    pub fn set_settings(&mut self, settings: FlowSettings) {
        if settings.step_size != self.settings.step_size {
            self.auto_eta = None;
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

    /// Back to the starting positions, step 0.
    pub fn reset(&mut self) {
        self.moving.as_mut_slice().copy_from_slice(self.start.as_slice());
        self.step = 0;
        self.auto_eta = None;
    }

    /// Advances one step; None once all steps are done.
    pub fn step(&mut self) -> Option<StepReport> {
        if self.is_finished() {
            return None;
        }
        let settings = self.settings.clone();
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

        let eta = match settings.step_size {
            StepSize::Fixed { eta } => eta,
            StepSize::Auto { first_norm } => *self.auto_eta.get_or_insert_with(|| {
                let mean_norm = mean_norm(&self.deltas, dim);
                if mean_norm > 1e-30 { first_norm / mean_norm } else { 1.0 }
            }),
        };
        // The denoiser form is a convex combination only for rho = eta/2 <= 1.
        let eta_applied = if method == Method::SdDenoiser { eta.min(2.0) } else { eta } as f32;
        for (q, dz) in self.deltas.chunks_exact(dim).enumerate() {
            let i = moving_idx.map_or(q, |ix| ix[q]);
            flow::apply(self.moving.point_mut(i), dz, eta_applied);
        }

        let path = match (&fixed_src, &moving_src) {
            (Source::Full(_), None | Some(Source::Full(_))) if fixed_src.uses_gemm() => KernelPath::Gemm,
            (Source::Full(_), None | Some(Source::Full(_))) => KernelPath::Full,
            _ => KernelPath::CutOff { fallbacks, queries: queries * if uses_q { 2 } else { 1 } },
        };
        let kernel_evaluations = (queries * (count_p + if uses_q { count_q } else { 0 })) as u64;
        let report =
            StepReport { step: self.step, sigma2, kernel_sigma2, eta, path, moved: queries, kernel_evaluations };
        self.step += 1;
        Some(report)
    }
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

/// An independent random stream for (seed, step, chunk).
pub(crate) fn stream(seed: u64, step: usize, chunk: u64) -> StdRng {
    let mut h = seed ^ 0x9E37_79B9_7F4A_7C15;
    for v in [step as u64, chunk] {
        h = splitmix64(h ^ v.wrapping_mul(0xD1B5_4A32_D192_ED03));
    }
    StdRng::seed_from_u64(h)
}

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}
