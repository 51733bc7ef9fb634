//! Step 4 of Algorithms 1 and 2: the displacements dz of a batch of moving
//! points y against a set of fixed centres, at noise level sigma.
//!
//! For each moving point: z = y + sigma eps (eps ~ N(0, I)), the kernel means
//! D_p(z) over the fixed centres and D_q(z) over the moving cloud's centres,
//! then dz from [`formulas::displacement`] (eq. 13, 16, 42 or 43). The particle
//! flow (`particles/simulation.rs`) and generator training (through
//! [`super::KernelDrift`]) both call [`Displace::run`].
//!
//! Kernel sums take one of three paths: the cell-list cut-off, the direct
//! SIMD loop, or (for d >= [`gemm::MIN_DIM`], full sums) matrix products over
//! a chunk of queries at once. Noise comes from streams keyed by
//! (seed, step, chunk of [`CHUNK`] points) and every query's sums run in a
//! fixed order, so the result does not depend on the thread count.

use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};

use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;

use crate::engine::kernel::Centres;
use crate::engine::kernel::cells::CellList;
use crate::engine::kernel::fast::{KernelImpl, LogSumExp, accumulate};
use crate::engine::kernel::gemm::{self, Tile};
use crate::engine::rng::stream;

use super::formulas::{self, KernelTerms, Method};

/// Points per independently seeded noise stream (and per parallel task).
pub const CHUNK: usize = 256;

/// Where one cloud's kernel sums come from.
#[derive(Clone, Copy)]
pub enum Source<'a> {
    /// Every centre for every query (by matrix products when the centres
    /// carry a row-major copy, see [`Centres::rows`]).
    Full(&'a Centres),
    /// Only the centres near each query (cell list, d <= 3).
    Cells(&'a CellList),
}

impl Source<'_> {
    /// Whether this source's sums run as matrix products.
    pub fn uses_gemm(&self) -> bool {
        matches!(self, Source::Full(c) if c.rows().is_some())
    }
}

/// One batch of displacements: the moving points, the noise and the two
/// kernel sources.
pub struct Displace<'a> {
    pub method: Method,
    pub imp: KernelImpl,
    pub dim: usize,
    /// Row-major moving points y.
    pub moving: &'a [f32],
    /// Which of them move (None: all), in output order.
    pub moving_idx: Option<&'a [usize]>,
    /// Noise stream key (seed, step) and sigma of z = y + sigma eps.
    pub seed: u64,
    pub step: usize,
    pub noise_sigma: f32,
    /// 1 / (2 sigma_k^2) of the kernel.
    pub inv_two_sigma2: f32,
    /// Centres of D_p (the cloud the flow aims at) and their count.
    pub fixed: Source<'a>,
    pub count_p: usize,
    /// Centres of D_q (None when the method does not use it) and their count.
    pub moving_centres: Option<Source<'a>>,
    pub count_q: usize,
}

impl Displace<'_> {
    /// Number of moving points that get a displacement.
    pub fn queries(&self) -> usize {
        self.moving_idx.map_or(self.moving.len() / self.dim, <[usize]>::len)
    }

    /// Writes dz (before the step size) of each moving point, in the order of
    /// `moving_idx`, to `deltas` (resized to queries x d). Returns how many
    /// cut-off queries fell back to the full sum.
    pub fn run(&self, deltas: &mut Vec<f32>) -> usize {
        let dim = self.dim;
        deltas.clear();
        deltas.resize(self.queries() * dim, 0.0);
        let fallbacks = AtomicUsize::new(0);
        deltas.par_chunks_mut(CHUNK * dim).enumerate().for_each(|(chunk, out)| {
            with_scratch(dim, |s| {
                let n = out.len() / dim;
                self.noisy_chunk(chunk, &mut s.z[..n * dim]);
                let mut local = 0;
                local += self.kernel_means(&self.fixed, n, s, Which::P);
                if let Some(src) = &self.moving_centres {
                    local += self.kernel_means(src, n, s, Which::Q);
                }
                for (q, dz) in out.chunks_exact_mut(dim).enumerate() {
                    let r = q * dim..(q + 1) * dim;
                    let terms = KernelTerms {
                        mean_p: &s.mean_p[r.clone()],
                        log_mass_p: s.log_p[q],
                        count_p: self.count_p,
                        mean_q: &s.mean_q[r.clone()],
                        log_mass_q: s.log_q[q],
                        count_q: self.count_q,
                        // 1/sigma_k^2 of eq. 42's kernel gradient (MMD keeps it).
                        inv_sigma2: 2.0 * self.inv_two_sigma2 as f64,
                    };
                    formulas::displacement(self.method, self.point(chunk * CHUNK + q), &s.z[r], &terms, dz);
                }
                fallbacks.fetch_add(local, Ordering::Relaxed);
            })
        });
        fallbacks.into_inner()
    }

    /// Writes the noisy points z = y + sigma eps of the moving points, in
    /// the order of `moving_idx`, to `z` (resized to queries x d): the very z
    /// at which [`Displace::run`] evaluates dz (a discriminator driver takes
    /// its own direction there).
    pub fn noisy_points(&self, z: &mut Vec<f32>) {
        noisy_points(self.dim, self.moving, self.moving_idx, (self.seed, self.step), self.noise_sigma, z);
    }

    /// z of the points of one chunk, from the chunk's noise stream.
    fn noisy_chunk(&self, chunk: usize, z: &mut [f32]) {
        noisy_chunk(self.dim, self.moving, self.moving_idx, (self.seed, self.step), self.noise_sigma, chunk, z);
    }

    fn point(&self, qi: usize) -> &[f32] {
        let i = self.moving_idx.map_or(qi, |ix| ix[qi]);
        &self.moving[i * self.dim..(i + 1) * self.dim]
    }

    /// Kernel means of the chunk's first `n` noisy points into the scratch's
    /// `which` buffers; returns the cut-off fallbacks.
    fn kernel_means(&self, src: &Source, n: usize, s: &mut Scratch, which: Which) -> usize {
        let dim = self.dim;
        let (mean, log) = match which {
            Which::P => (&mut s.mean_p, &mut s.log_p),
            Which::Q => (&mut s.mean_q, &mut s.log_q),
        };
        if let Source::Full(c) = src
            && let Some(rows) = c.rows()
        {
            gemm::kernel_means(
                self.imp,
                rows,
                &s.z[..n * dim],
                self.inv_two_sigma2,
                &mut s.tile,
                &mut mean[..n * dim],
                &mut log[..n],
            );
            return 0;
        }
        let mut fallbacks = 0;
        for (q, l) in log[..n].iter_mut().enumerate() {
            let r = q * dim..(q + 1) * dim;
            let (log_mass, fb) =
                kernel_mean(src, self.imp, &s.z[r.clone()], self.inv_two_sigma2, &mut s.weighted, &mut mean[r]);
            *l = log_mass;
            fallbacks += fb as usize;
        }
        fallbacks
    }
}

/// z = y + sigma eps for the rows of `moving` (those at `moving_idx`, in its
/// order, when given) into `z`, resized to queries x d; eps from the streams
/// keyed by (seed, step, chunk), as [`Displace::run`] draws them.
pub fn noisy_points(
    dim: usize,
    moving: &[f32],
    moving_idx: Option<&[usize]>,
    key: (u64, usize),
    noise_sigma: f32,
    z: &mut Vec<f32>,
) {
    let queries = moving_idx.map_or(moving.len() / dim, <[usize]>::len);
    z.clear();
    z.resize(queries * dim, 0.0);
    z.par_chunks_mut(CHUNK * dim)
        .enumerate()
        .for_each(|(chunk, out)| noisy_chunk(dim, moving, moving_idx, key, noise_sigma, chunk, out));
}

fn noisy_chunk(
    dim: usize,
    moving: &[f32],
    moving_idx: Option<&[usize]>,
    (seed, step): (u64, usize),
    noise_sigma: f32,
    chunk: usize,
    z: &mut [f32],
) {
    let mut rng = stream(seed, step, chunk as u64);
    for (q, zq) in z.chunks_exact_mut(dim).enumerate() {
        let qi = chunk * CHUNK + q;
        let i = moving_idx.map_or(qi, |ix| ix[qi]);
        for (zk, &yk) in zq.iter_mut().zip(&moving[i * dim..(i + 1) * dim]) {
            let eps: f32 = StandardNormal.sample(&mut rng);
            *zk = yk + noise_sigma * eps;
        }
    }
}

#[derive(Clone, Copy)]
enum Which {
    P,
    Q,
}

thread_local! {
    /// Each thread's chunk buffers, kept from step to step: a step then
    /// allocates nothing (the tile alone is 256 KiB).
    static SCRATCH: RefCell<Option<Scratch>> = const { RefCell::new(None) };
}

/// Runs `f` with this thread's scratch for dimension `dim` (a fresh one if
/// it is in use further up this thread's stack).
fn with_scratch<R>(dim: usize, f: impl FnOnce(&mut Scratch) -> R) -> R {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut slot) => {
            let s = match slot.take() {
                Some(s) if s.dim == dim => slot.insert(s),
                _ => slot.insert(Scratch::new(dim)),
            };
            f(s)
        }
        Err(_) => f(&mut Scratch::new(dim)),
    })
}

/// Per-task buffers of one parallel chunk, O(CHUNK d + tile).
struct Scratch {
    dim: usize,
    z: Vec<f32>,
    weighted: Vec<f64>,
    mean_p: Vec<f32>,
    mean_q: Vec<f32>,
    log_p: Vec<f64>,
    log_q: Vec<f64>,
    tile: Tile,
}

impl Scratch {
    fn new(dim: usize) -> Self {
        Self {
            dim,
            z: vec![0.0; CHUNK * dim],
            weighted: vec![0.0; dim],
            mean_p: vec![0.0; CHUNK * dim],
            mean_q: vec![0.0; CHUNK * dim],
            log_p: vec![0.0; CHUNK],
            log_q: vec![0.0; CHUNK],
            tile: Tile::default(),
        }
    }
}

/// Kernel mean at `z` into `mean`; returns (ln mass, whether the cut-off fell back).
fn kernel_mean(
    src: &Source,
    imp: KernelImpl,
    z: &[f32],
    inv: f32,
    weighted: &mut [f64],
    mean: &mut [f32],
) -> (f64, bool) {
    let mut acc = LogSumExp::default();
    let (centres, fell_back) = match src {
        Source::Full(c) => (*c, true),
        Source::Cells(cells) => (cells.centres(), !cells.accumulate_near(imp, z, inv, &mut acc, weighted)),
    };
    if fell_back {
        acc = LogSumExp::default();
        weighted.iter_mut().for_each(|w| *w = 0.0);
        accumulate(imp, centres, 0..centres.len(), z, inv, &mut acc, weighted);
    }
    let log_mass = acc.finish(weighted, inv, mean);
    (log_mass, fell_back && matches!(src, Source::Cells(_)))
}
