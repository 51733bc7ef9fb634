//! Divergences between the moving cloud q and the fixed cloud p, computed off
//! the step path (notes in /work/shared/papers: kl-variants-divergences.txt,
//! dmd-pushforward-weighting.txt, rectified-flow-tweedie-kl.txt).
//!
//! The KL, JS and Fisher values are those of the noise-smoothed proxies at the
//! current noise level, p_sigma = (1/N) sum_j N(p_j, sigma^2 I) and q_sigma
//! likewise: exact Gaussian mixtures whose log densities and scores come from
//! the max-shifted log-sum-exp kernel sums of [`crate::engine::kernel`] (eq. 14-15:
//! grad log p_sigma(z) = (D_p(z) - z) / sigma^2). Expectations are Monte Carlo
//! over one noisy copy of each point, z = x + sigma eps, with eps drawn once
//! per run from the seed: successive evaluations use the same eps, so their
//! differences are smooth (common random numbers), and every value is the
//! same on any number of threads.
//!
//! MMD^2, the energy distance and sliced W2 compare the clouds themselves.

use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;

use crate::engine::cloud::Cloud;
use crate::engine::kernel::fast::{KernelImpl, LogSumExp, accumulate};
use crate::engine::kernel::{Centres, inv_two_sigma2};
use crate::engine::neighbors::{KdTree, nearest_distances};

use super::alignment::{MetricProbe, percentile};
use super::context::StepContext;

/// Number of the values in [`Divergences`].
pub const COUNT: usize = 14;

/// Random projections of the sliced Wasserstein distance.
pub const PROJECTIONS: usize = 64;

/// Cost of one CFD term (an f64 sin_cos) and of one level of a
/// nearest-neighbour query, in kernel evaluations (about 0.5 ns each on one
/// AVX2 core); calibrated with `sdflow run --metrics-every 1` against
/// `--metrics-every 1000` (about 49 ms per evaluation of all metrics at
/// 1024 + 1024 points in 3-D, against a 3 ms step, on a loaded machine).
const CFD_TERM_COST: u64 = 24;
const NN_QUERY_COST: u64 = 400;

/// Points per parallel task; partial sums are added in task order.
const CHUNK: usize = 256;

/// Fixed points whose pairwise distances set the MMD bandwidth.
const BANDWIDTH_SAMPLE: usize = 512;

/// One evaluation of every divergence. NaN marks a value that does not apply
/// (no held-out sample, no earlier evaluation, a method without the KL identity).
#[derive(Clone, Debug, PartialEq)]
pub struct Divergences {
    pub kl_qp: f64,
    pub kl_pq: f64,
    pub js: f64,
    pub fisher_q: f64,
    pub fisher_p: f64,
    pub fisher_r: f64,
    pub mmd2: f64,
    pub energy: f64,
    pub sw2: f64,
    pub cfd_heldout: f64,
    pub cfd_floor: f64,
    pub memorization: f64,
    pub kl_rate_predicted: f64,
    pub kl_rate_measured: f64,
}

impl Divergences {
    /// Column names for CSV output and plots, in the order of [`Divergences::values`].
    pub const NAMES: [&'static str; COUNT] = [
        "kl_qp",
        "kl_pq",
        "js",
        "fisher_q",
        "fisher_p",
        "fisher_r",
        "mmd2",
        "energy",
        "sw2",
        "cfd_heldout",
        "cfd_floor",
        "memorization",
        "kl_rate_predicted",
        "kl_rate_measured",
    ];

    /// One line per value: what it measures (for panels and `--help`-style output).
    pub const EXPLANATIONS: [&'static str; COUNT] = [
        "KL(q_sigma || p_sigma), reverse KL: mode seeking, infinite where q puts mass p lacks; the one SD flow descends",
        "KL(p_sigma || q_sigma), forward KL: mode covering, large when q misses a mode of p",
        "Jensen-Shannon divergence of the proxies: symmetric, bounded by ln 2 = 0.693",
        "E_q |grad log p_sigma - grad log q_sigma|^2, weighted by the moving samples (the forward-KL-like row of the note)",
        "E_p |grad log p_sigma - grad log q_sigma|^2, weighted by the target samples (the reverse-KL-like row of the note)",
        "the same under the pushforward r: target samples diffused to sigma and denoised by D_q (DMD-style distillation)",
        "unbiased MMD^2 with a Gaussian kernel at a bandwidth fixed once per run (median heuristic on the target)",
        "energy distance 2E|X-Y| - E|X-X'| - E|Y-Y'|: a metric on distributions, 0 only for equal clouds",
        "sliced Wasserstein-2 over 64 seeded directions (exact 1-D transport by sorting): a metric, in data units",
        "CFD of the moving cloud against a second, independent sample of the target (held out from the flow)",
        "CFD between the two target samples: the best any result can reach on the held-out check",
        "median NN distance moving -> target over held-out -> target: about 1 for a fresh sample, near 0 when points sit on training points",
        "predicted change of kl_qp per step, -(eta sigma^2 / 2) fisher_q (Sd without batches)",
        "measured change of kl_qp per step since the last evaluation, at this evaluation's sigma; agrees with the prediction for small steps at fixed sigma",
    ];

    pub fn values(&self) -> [f64; COUNT] {
        [
            self.kl_qp,
            self.kl_pq,
            self.js,
            self.fisher_q,
            self.fisher_p,
            self.fisher_r,
            self.mmd2,
            self.energy,
            self.sw2,
            self.cfd_heldout,
            self.cfd_floor,
            self.memorization,
            self.kl_rate_predicted,
            self.kl_rate_measured,
        ]
    }
}

/// The previous evaluation, for the measured KL rate.
struct Previous {
    steps_done: usize,
    cloud: Cloud,
}

/// Everything about the fixed cloud a run's divergences need, built once.
pub struct DivergenceProbe {
    imp: KernelImpl,
    seed: u64,
    fixed: Cloud,
    fixed_centres: Centres,
    /// The MMD kernel variance h^2 (median squared distance within the target).
    mmd_h2: f64,
    /// (1/(N(N-1))) sum_{j != j'} k(p_j, p_j').
    mmd_pp: f64,
    /// (1/N^2) sum |p_j - p_j'|.
    energy_pp: f64,
    /// Unit directions, row-major PROJECTIONS x dim.
    directions: Vec<f64>,
    /// The fixed cloud projected on each direction, sorted.
    fixed_sorted: Vec<Vec<f64>>,
    held_out: Option<HeldOut>,
    previous: Option<Previous>,
    moving_centres: Centres,
    previous_centres: Centres,
}

struct HeldOut {
    probe: MetricProbe,
    floor: f64,
    tree: KdTree,
    /// Median held-out -> target nearest-neighbour distance.
    median_nn: f64,
}

impl DivergenceProbe {
    /// `held_out` is a second, independent sample of the fixed cloud's data
    /// set; `cfd_frequencies` and `seed` must be those of the run's CFD.
    pub fn new(fixed: &Cloud, held_out: Option<&Cloud>, seed: u64, cfd_frequencies: usize) -> Self {
        let dim = fixed.dim();
        let imp = KernelImpl::detect();
        let fixed_centres = Centres::from_points(dim, fixed.as_slice());
        let mmd_h2 = median_sq_distance(fixed).max(f64::MIN_POSITIVE);
        let mmd_pp = unbiased_self_kernel(imp, &fixed_centres, fixed, mmd_h2);
        let energy_pp = mean_distance(fixed, fixed);
        let mut rng = crate::engine::rng::seeded(seed ^ 0x5EED_51CE_D000_0002);
        let mut directions = Vec::with_capacity(PROJECTIONS * dim);
        for _ in 0..PROJECTIONS {
            let v: Vec<f64> = (0..dim).map(|_| StandardNormal.sample(&mut rng)).collect();
            let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt().max(f64::MIN_POSITIVE);
            directions.extend(v.iter().map(|x| x / norm));
        }
        let fixed_sorted = project_sorted(&directions, fixed);
        let held_out = held_out.map(|h| {
            let probe = MetricProbe::new(h, seed, cfd_frequencies);
            let floor = probe.cfd(fixed);
            let tree = KdTree::new(fixed);
            let mut nn = nearest_distances(&tree, h);
            nn.sort_by(f64::total_cmp);
            HeldOut { probe, floor, tree, median_nn: percentile(&nn, 0.5) }
        });
        Self {
            imp,
            seed,
            fixed: fixed.clone(),
            fixed_centres,
            mmd_h2,
            mmd_pp,
            energy_pp,
            directions,
            fixed_sorted,
            held_out,
            previous: None,
            moving_centres: Centres::default(),
            previous_centres: Centres::default(),
        }
    }

    /// The MMD kernel variance h^2 fixed for the run.
    pub fn mmd_bandwidth2(&self) -> f64 {
        self.mmd_h2
    }

    /// Forgets the previous evaluation (after a reset of the flow).
    pub fn reset(&mut self) {
        self.previous = None;
    }

    /// Approximate cost of one evaluation of these divergences and of the
    /// alignment [`super::alignment::Metrics`] (`cfd_frequencies` K) for `moving` points,
    /// in kernel evaluations: the unit of [`crate::engine::StepReport::kernel_evaluations`],
    /// so [`metrics_every`] can compare the two.
    pub fn total_cost(&self, moving: usize, cfd_frequencies: usize) -> u64 {
        let (m, n, k) = (moving as u64, self.fixed.len() as u64, cfd_frequencies as u64);
        let held_out = self.held_out.is_some() as u64;
        let cfd = k * m * CFD_TERM_COST * (1 + held_out);
        let nn = m * (1 + held_out) * NN_QUERY_COST * (64 - n.leading_zeros() as u64).max(1);
        self.cost(moving) + cfd + nn
    }

    /// Approximate cost of one [`DivergenceProbe::evaluate`] for `moving`
    /// points, in kernel evaluations (what a step's cost is counted in).
    pub fn cost(&self, moving: usize) -> u64 {
        let (m, n, d) = (moving as u64, self.fixed.len() as u64, self.fixed.dim() as u64);
        // Kernel sums: samples of q (twice: now and previous), p, r (two
        // passes) and MMD's q sums, each over both clouds.
        let kernels = (3 * m + 2 * n) * (n + m) + n * m;
        // Energy distances cost about a kernel each in 3-D; sorting is minor.
        let energy = (m * n + m * m) * d.div_ceil(3);
        kernels + energy + PROJECTIONS as u64 * (m + n) * 8
    }

    /// Every divergence of `moving` at the noise level of `ctx`.
    pub fn evaluate(&mut self, moving: &Cloud, ctx: StepContext) -> Divergences {
        let (dim, m, n) = (moving.dim(), moving.len(), self.fixed.len());
        let sigma2 = ctx.sigma2;
        self.moving_centres.fill(dim, moving.as_slice(), None);
        let inv = inv_two_sigma2(sigma2);
        let ln_ratio = (n as f64).ln() - (m as f64).ln();
        let pair = Pair { imp: self.imp, p: &self.fixed_centres, q: &self.moving_centres, inv, sigma2, ln_ratio };

        // Samples of q_sigma and p_sigma with noise keyed by the seed only.
        let q_terms = pair.sample_terms(moving, sigma2, self.seed, 1, None);
        let p_terms = pair.sample_terms(&self.fixed, sigma2, self.seed, 2, None);
        // r: target samples diffused to sigma, denoised by D_q, noised again.
        let r_terms = pair.sample_terms(&self.fixed, sigma2, self.seed, 3, Some(&self.moving_centres));
        let kl_qp = q_terms.log_ratio / m as f64;
        let kl_pq = -p_terms.log_ratio / n as f64;
        let js = 0.5 * (q_terms.js / m as f64 + p_terms.js / n as f64);
        let fisher_q = q_terms.fisher / m as f64;

        let kl_rate_predicted = ctx.sd_eta.map_or(f64::NAN, |eta| -0.5 * eta * sigma2 * fisher_q);
        let kl_rate_measured = match &self.previous {
            Some(prev) if ctx.steps_done > prev.steps_done && prev.cloud.len() == m => {
                self.previous_centres.fill(dim, prev.cloud.as_slice(), None);
                let before =
                    Pair { q: &self.previous_centres, ..pair }.sample_terms(&prev.cloud, sigma2, self.seed, 1, None);
                (kl_qp - before.log_ratio / m as f64) / (ctx.steps_done - prev.steps_done) as f64
            }
            _ => f64::NAN,
        };

        let mmd2 = self.mmd2(moving);
        let energy = 2.0 * mean_distance(moving, &self.fixed) - mean_distance(moving, moving) - self.energy_pp;
        let sw2 = self.sliced_w2(moving);
        let (cfd_heldout, cfd_floor, memorization) = match &self.held_out {
            Some(h) => {
                let mut nn = nearest_distances(&h.tree, moving);
                nn.sort_by(f64::total_cmp);
                (h.probe.cfd(moving), h.floor, percentile(&nn, 0.5) / h.median_nn.max(f64::MIN_POSITIVE))
            }
            None => (f64::NAN, f64::NAN, f64::NAN),
        };

        match &mut self.previous {
            Some(prev) if prev.cloud.len() == m => {
                prev.cloud.as_mut_slice().copy_from_slice(moving.as_slice());
                prev.steps_done = ctx.steps_done;
            }
            _ => self.previous = Some(Previous { steps_done: ctx.steps_done, cloud: moving.clone() }),
        }
        Divergences {
            kl_qp,
            kl_pq,
            js,
            fisher_q,
            fisher_p: p_terms.fisher / n as f64,
            fisher_r: r_terms.fisher / n as f64,
            mmd2,
            energy: energy.max(0.0),
            sw2,
            cfd_heldout,
            cfd_floor,
            memorization,
            kl_rate_predicted,
            kl_rate_measured,
        }
    }

    /// Unbiased MMD^2 at the run's bandwidth.
    fn mmd2(&self, moving: &Cloud) -> f64 {
        let (m, n) = (moving.len() as f64, self.fixed.len() as f64);
        if m < 2.0 || n < 2.0 {
            return f64::NAN;
        }
        let qq = unbiased_self_kernel(self.imp, &self.moving_centres, moving, self.mmd_h2);
        let inv = inv_two_sigma2(self.mmd_h2);
        let qp: f64 = chunked_sum(moving, |x, w| kernel_sum(self.imp, &self.fixed_centres, x, inv, w).exp());
        qq + self.mmd_pp - 2.0 * qp / (m * n)
    }

    /// sqrt of the mean over directions of the exact 1-D W2^2.
    fn sliced_w2(&self, moving: &Cloud) -> f64 {
        let sorted = project_sorted(&self.directions, moving);
        let total: f64 = sorted.iter().zip(&self.fixed_sorted).map(|(a, b)| w2_sorted(a, b)).sum();
        (total / PROJECTIONS as f64).sqrt()
    }
}

/// The two clouds' kernel sums at one noise level.
#[derive(Clone, Copy)]
struct Pair<'a> {
    imp: KernelImpl,
    p: &'a Centres,
    q: &'a Centres,
    inv: f32,
    sigma2: f64,
    /// ln N - ln M: turns ln sum_j w_j into ln of the mixture density, up to
    /// the Gaussian constant both proxies share.
    ln_ratio: f64,
}

/// Sums over one set of samples.
#[derive(Clone, Copy, Default)]
struct Terms {
    /// sum of ln q_sigma(z) - ln p_sigma(z).
    log_ratio: f64,
    /// sum of ln(own density / mixture (p + q) / 2): the sample's half of JS.
    js: f64,
    /// sum of |grad log p_sigma(z) - grad log q_sigma(z)|^2.
    fisher: f64,
}

impl Pair<'_> {
    /// Sums over z = x + sigma eps for each point x of `cloud` (first replaced
    /// by D_q(x + sigma eps') when `denoise_by` is given: the pushforward r).
    /// `stream` tells the three sample sets apart; the noise is the same at
    /// every evaluation.
    fn sample_terms(&self, cloud: &Cloud, sigma2: f64, seed: u64, stream: u64, denoise_by: Option<&Centres>) -> Terms {
        let dim = cloud.dim();
        let sigma = sigma2.sqrt() as f32;
        let from_q = stream == 1;
        let parts: Vec<Terms> = cloud
            .as_slice()
            .par_chunks(CHUNK * dim)
            .enumerate()
            .map(|(chunk, rows)| {
                let mut rng = crate::engine::rng::stream(seed ^ 0xD1FE_0000_0000_0000, stream as usize, chunk as u64);
                let (mut z, mut w, mut dp, mut dq) =
                    (vec![0.0f32; dim], vec![0.0; dim], vec![0.0f32; dim], vec![0.0f32; dim]);
                let mut t = Terms::default();
                for x in rows.chunks_exact(dim) {
                    for (zk, &xk) in z.iter_mut().zip(x) {
                        let eps: f32 = StandardNormal.sample(&mut rng);
                        *zk = xk + sigma * eps;
                    }
                    if let Some(c) = denoise_by {
                        kernel_mean(self.imp, c, &z, self.inv, &mut w, &mut dq);
                        for (zk, &d) in z.iter_mut().zip(&dq) {
                            let eps: f32 = StandardNormal.sample(&mut rng);
                            *zk = d + sigma * eps;
                        }
                    }
                    let lp = kernel_mean(self.imp, self.p, &z, self.inv, &mut w, &mut dp);
                    let lq = kernel_mean(self.imp, self.q, &z, self.inv, &mut w, &mut dq);
                    // ln p_sigma - ln q_sigma up to the shared constant.
                    let diff = lp - lq - self.ln_ratio;
                    let own = if from_q { -diff } else { diff };
                    t.log_ratio -= diff;
                    // ln(own / m) = ln 2 - ln(1 + exp(other - own)), stably.
                    t.js += std::f64::consts::LN_2 - ln_1p_exp(-own);
                    t.fisher += dp.iter().zip(&dq).map(|(a, b)| ((a - b) as f64 / self.sigma2).powi(2)).sum::<f64>();
                }
                t
            })
            .collect();
        parts.iter().fold(Terms::default(), |a, b| Terms {
            log_ratio: a.log_ratio + b.log_ratio,
            js: a.js + b.js,
            fisher: a.fisher + b.fisher,
        })
    }
}

/// ln(1 + e^x) without overflow.
fn ln_1p_exp(x: f64) -> f64 {
    if x > 0.0 { x + (-x).exp().ln_1p() } else { x.exp().ln_1p() }
}

/// ln sum_j exp(-|z - c_j|^2 inv) and the kernel mean into `mean`.
fn kernel_mean(imp: KernelImpl, centres: &Centres, z: &[f32], inv: f32, weighted: &mut [f64], mean: &mut [f32]) -> f64 {
    let mut acc = LogSumExp::default();
    weighted.iter_mut().for_each(|w| *w = 0.0);
    accumulate(imp, centres, 0..centres.len(), z, inv, &mut acc, weighted);
    acc.finish(weighted, inv, mean)
}

/// Per-task buffers of a kernel sum.
struct Scratch {
    weighted: Vec<f64>,
    mean: Vec<f32>,
}

/// ln sum_j exp(-|z - c_j|^2 inv) alone.
fn kernel_sum(imp: KernelImpl, centres: &Centres, z: &[f32], inv: f32, s: &mut Scratch) -> f64 {
    kernel_mean(imp, centres, z, inv, &mut s.weighted, &mut s.mean)
}

/// (1/(n(n-1))) sum_{i != i'} k(x_i, x_i') for the cloud behind `centres`.
fn unbiased_self_kernel(imp: KernelImpl, centres: &Centres, cloud: &Cloud, h2: f64) -> f64 {
    let n = cloud.len() as f64;
    if n < 2.0 {
        return f64::NAN;
    }
    let inv = inv_two_sigma2(h2);
    // Each sum includes the point itself, whose weight is exactly 1.
    let total = chunked_sum(cloud, |x, w| kernel_sum(imp, centres, x, inv, w).exp() - 1.0);
    total / (n * (n - 1.0))
}

/// sum over the points of `f(point, scratch)`, in parallel, in a fixed order.
fn chunked_sum(cloud: &Cloud, f: impl Fn(&[f32], &mut Scratch) -> f64 + Sync) -> f64 {
    let dim = cloud.dim();
    let parts: Vec<f64> = cloud
        .as_slice()
        .par_chunks(CHUNK * dim)
        .map(|rows| {
            let mut s = Scratch { weighted: vec![0.0; dim], mean: vec![0.0; dim] };
            rows.chunks_exact(dim).map(|x| f(x, &mut s)).sum()
        })
        .collect();
    parts.iter().sum()
}

/// (1/(|a| |b|)) sum_{i, j} |a_i - b_j|, in f64.
fn mean_distance(a: &Cloud, b: &Cloud) -> f64 {
    let total = chunked_sum(a, |x, _| {
        b.points().map(|y| x.iter().zip(y).map(|(&u, &v)| ((u - v) as f64).powi(2)).sum::<f64>().sqrt()).sum()
    });
    total / (a.len() as f64 * b.len() as f64)
}

/// Median squared distance between the first [`BANDWIDTH_SAMPLE`] points.
fn median_sq_distance(cloud: &Cloud) -> f64 {
    let k = cloud.len().min(BANDWIDTH_SAMPLE);
    let mut d2 = Vec::with_capacity(k * k.saturating_sub(1) / 2);
    for i in 0..k {
        for j in 0..i {
            let (a, b) = (cloud.point(i), cloud.point(j));
            d2.push(a.iter().zip(b).map(|(&u, &v)| ((u - v) as f64).powi(2)).sum::<f64>());
        }
    }
    d2.sort_by(f64::total_cmp);
    percentile(&d2, 0.5)
}

/// The cloud projected on each unit direction, each list sorted.
fn project_sorted(directions: &[f64], cloud: &Cloud) -> Vec<Vec<f64>> {
    directions
        .par_chunks_exact(cloud.dim())
        .map(|u| {
            let mut v: Vec<f64> = cloud.points().map(|x| x.iter().zip(u).map(|(&a, b)| a as f64 * b).sum()).collect();
            v.sort_by(f64::total_cmp);
            v
        })
        .collect()
}

/// Exact W2^2 between two sorted 1-D samples with uniform weights (sizes may
/// differ): the integral over u in (0, 1) of (F_a^-1(u) - F_b^-1(u))^2.
pub fn w2_sorted(a: &[f64], b: &[f64]) -> f64 {
    if a.is_empty() || b.is_empty() {
        return f64::NAN;
    }
    let (na, nb) = (a.len() as f64, b.len() as f64);
    let (mut i, mut j, mut u, mut total) = (0, 0, 0.0, 0.0);
    while i < a.len() && j < b.len() {
        let next_a = (i + 1) as f64 / na;
        let next_b = (j + 1) as f64 / nb;
        let next = next_a.min(next_b);
        total += (next - u) * (a[i] - b[j]).powi(2);
        u = next;
        if next_a <= next {
            i += 1;
        }
        if next_b <= next {
            j += 1;
        }
    }
    total
}

/// Metric evaluations every how many steps keep their cost under `share`
/// (0.1 = 10 %) of the flow's: `step_cost` and `metrics_cost` in kernel
/// evaluations (a step's [`crate::engine::StepReport::kernel_evaluations`] and
/// [`DivergenceProbe::cost`] plus the CFD's), at least 1.
pub fn metrics_every(step_cost: u64, metrics_cost: u64, share: f64) -> usize {
    let ratio = metrics_cost as f64 / (step_cost.max(1) as f64 * share);
    (ratio.ceil() as usize).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn w2_of_unequal_samples_matches_replication() {
        // 3 against 2 points: replicate to 6 each (the LCM), then pair in order.
        let a = [0.0, 1.0, 5.0];
        let b = [2.0, 4.0];
        let ra = [0.0, 0.0, 1.0, 1.0, 5.0, 5.0];
        let rb = [2.0, 2.0, 2.0, 4.0, 4.0, 4.0];
        let expected: f64 = ra.iter().zip(&rb).map(|(x, y): (&f64, &f64)| (x - y).powi(2)).sum::<f64>() / 6.0;
        assert!((w2_sorted(&a, &b) - expected).abs() < 1e-12);
        assert_eq!(w2_sorted(&b, &b), 0.0);
    }

    #[test]
    fn cadence_keeps_the_share() {
        assert_eq!(metrics_every(100, 5, 0.1), 1);
        assert_eq!(metrics_every(100, 1000, 0.1), 100);
        assert_eq!(metrics_every(0, 0, 0.1), 1);
    }
}
