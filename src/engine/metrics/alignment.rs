//! Alignment metrics between the moving cloud and the fixed cloud it flows
//! toward.
//!
//! - CFD (App. E.1): the mean over K frequencies omega_k ~ N(0, I) of
//!   |phi_p(omega_k) - phi_q(omega_k)|, phi the empirical characteristic
//!   function. The frequencies come from the scene seed, so curves of
//!   different methods on one scene are comparable.
//! - Nearest-neighbour distances moving -> fixed and fixed -> fixed
//!   (excluding self), as in Fig. 3.
//! - Outlier fraction: share of moving points whose nearest fixed point is
//!   farther than the 99th percentile of the fixed -> fixed distances. It
//!   measures the variance explosion of MMD flow (Remark 1).
//! - Error of the mean (Euclidean) and of the covariance (Frobenius).

use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;

use crate::engine::cloud::Cloud;
use crate::engine::neighbors::{KdTree, nearest_distances, self_distances};

/// Default number of CFD frequencies (App. E.1).
pub const CFD_FREQUENCIES: usize = 256;

/// One evaluation of all metrics.
#[derive(Clone, Debug, PartialEq)]
pub struct Metrics {
    pub cfd: f64,
    pub outlier_fraction: f64,
    pub mean_error: f64,
    pub cov_error: f64,
    /// Median moving -> fixed nearest-neighbour distance.
    pub nn_median: f64,
}

impl Metrics {
    /// Column names for CSV output, in the order of [`Metrics::values`].
    pub const NAMES: [&'static str; 5] = ["cfd", "outlier_fraction", "mean_error", "cov_error", "nn_median"];

    pub fn values(&self) -> [f64; 5] {
        [self.cfd, self.outlier_fraction, self.mean_error, self.cov_error, self.nn_median]
    }
}

/// What is fixed about the reference cloud, computed once per run.
pub struct MetricProbe {
    dim: usize,
    /// K frequencies, row-major K x dim.
    freqs: Vec<f64>,
    /// phi of the fixed cloud at each frequency (re, im).
    phi_fixed: Vec<(f64, f64)>,
    tree: KdTree,
    /// Fixed -> fixed nearest-neighbour distances, sorted.
    fixed_nn: Vec<f64>,
    outlier_threshold: f64,
    mean: Vec<f64>,
    cov: Vec<f64>,
}

impl MetricProbe {
    pub fn new(fixed: &Cloud, seed: u64, frequencies: usize) -> Self {
        let dim = fixed.dim();
        let mut rng = crate::engine::rng::seeded(seed ^ 0xCFD0_CFD0_CFD0_CFD0);
        let freqs: Vec<f64> = (0..frequencies * dim).map(|_| StandardNormal.sample(&mut rng)).collect();
        let phi_fixed = characteristic(&freqs, dim, fixed);
        let tree = KdTree::new(fixed);
        let mut fixed_nn = self_distances(&tree, fixed);
        fixed_nn.sort_by(f64::total_cmp);
        let outlier_threshold = percentile(&fixed_nn, 0.99);
        Self { dim, freqs, phi_fixed, tree, fixed_nn, outlier_threshold, mean: fixed.mean(), cov: fixed.covariance() }
    }

    /// Sorted fixed -> fixed nearest-neighbour distances (self excluded).
    pub fn fixed_nn(&self) -> &[f64] {
        &self.fixed_nn
    }

    pub fn outlier_threshold(&self) -> f64 {
        self.outlier_threshold
    }

    /// CFD between the fixed cloud and `moving`.
    pub fn cfd(&self, moving: &Cloud) -> f64 {
        let phi = characteristic(&self.freqs, self.dim, moving);
        let total: f64 = phi.iter().zip(&self.phi_fixed).map(|(a, b)| (a.0 - b.0).hypot(a.1 - b.1)).sum();
        total / phi.len().max(1) as f64
    }

    /// Moving -> fixed nearest-neighbour distances.
    pub fn moving_nn(&self, moving: &Cloud) -> Vec<f64> {
        nearest_distances(&self.tree, moving)
    }

    /// All metrics of `moving`; also returns its nearest-neighbour distances.
    pub fn evaluate(&self, moving: &Cloud) -> (Metrics, Vec<f64>) {
        let nn = self.moving_nn(moving);
        let outliers = nn.iter().filter(|&&d| d > self.outlier_threshold).count();
        let mut sorted = nn.clone();
        sorted.sort_by(f64::total_cmp);
        let mean = moving.mean();
        let cov = moving.covariance();
        let dist = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum::<f64>().sqrt();
        let metrics = Metrics {
            cfd: self.cfd(moving),
            outlier_fraction: outliers as f64 / nn.len().max(1) as f64,
            mean_error: dist(&mean, &self.mean),
            cov_error: dist(&cov, &self.cov),
            nn_median: percentile(&sorted, 0.5),
        };
        (metrics, nn)
    }
}

/// Empirical characteristic function (1/n) sum_i exp(i omega . x_i) at each
/// frequency, in f64; parallel over frequencies, so thread-count independent.
fn characteristic(freqs: &[f64], dim: usize, cloud: &Cloud) -> Vec<(f64, f64)> {
    let n = cloud.len().max(1) as f64;
    freqs
        .par_chunks_exact(dim)
        .map(|w| {
            let (re, im) = super::trig::phase_sums(w, cloud.as_slice());
            (re / n, im / n)
        })
        .collect()
}

/// Linear-interpolated percentile `q` in [0, 1] of sorted values.
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let pos = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let (i, frac) = (pos.floor() as usize, pos.fract());
    let next = sorted[(i + 1).min(sorted.len() - 1)];
    sorted[i] + frac * (next - sorted[i])
}

/// The `q` quantile (0..=1, nearest rank) of `values`, reordering them in
/// place (selection, O(n)); NaN when there are none.
pub fn quantile_in_place(values: &mut [f32], q: f64) -> f32 {
    if values.is_empty() {
        return f32::NAN;
    }
    let k = ((values.len() - 1) as f64 * q.clamp(0.0, 1.0)).round() as usize;
    *values.select_nth_unstable_by(k, f32::total_cmp).1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::datasets;

    #[test]
    fn cfd_is_zero_on_itself_and_grows_with_a_shift() {
        let cloud = datasets::gaussian(400, &[0.0, 0.0, 0.0], 1.0, &mut crate::engine::rng::seeded(1));
        let probe = MetricProbe::new(&cloud, 7, CFD_FREQUENCIES);
        assert_eq!(probe.cfd(&cloud), 0.0);
        let mut last = 0.0;
        for shift in [0.1f32, 0.3, 1.0, 3.0] {
            let mut moved = cloud.clone();
            moved.translate(&[shift, 0.0, 0.0]);
            let cfd = probe.cfd(&moved);
            assert!(cfd > last, "CFD {cfd} at shift {shift} not above {last}");
            last = cfd;
        }
    }

    #[test]
    fn cfd_matches_the_closed_form_for_a_point_mass() {
        // One point at 0 against one at x: |1 - e^{i w.x}| = 2 |sin(w.x / 2)|.
        let a = Cloud::new(1, vec![0.0]);
        let b = Cloud::new(1, vec![1.5]);
        let probe = MetricProbe::new(&a, 3, 64);
        let expected: f64 = probe.freqs.iter().map(|w| 2.0 * (w * 1.5 / 2.0).sin().abs()).sum::<f64>() / 64.0;
        assert!((probe.cfd(&b) - expected).abs() < 1e-12);
    }

    #[test]
    fn outliers_and_moment_errors() {
        let fixed = datasets::gaussian(500, &[0.0, 0.0], 1.0, &mut crate::engine::rng::seeded(2));
        let probe = MetricProbe::new(&fixed, 1, 32);
        let (same, _) = probe.evaluate(&fixed);
        assert_eq!(same.mean_error, 0.0);
        assert_eq!(same.cov_error, 0.0);
        assert_eq!(same.outlier_fraction, 0.0);
        let mut far = fixed.clone();
        far.translate(&[50.0, 0.0]);
        let (m, nn) = probe.evaluate(&far);
        assert_eq!(m.outlier_fraction, 1.0);
        assert!((m.mean_error - 50.0).abs() < 1e-4);
        assert!(nn.iter().all(|&d| d > 40.0));
    }

    #[test]
    fn percentile_interpolates() {
        assert_eq!(percentile(&[0.0, 1.0, 2.0, 3.0, 4.0], 0.5), 2.0);
        assert_eq!(percentile(&[0.0, 10.0], 0.99), 9.9);
    }
}
