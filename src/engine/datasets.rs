//! Seeded point-cloud generators: the data sets of the paper's experiments
//! and a few classic toys.
//!
//! Scales are chosen so the presets' noise schedules (sigma^2 from ~4 to
//! 0.5) resolve their structure: the Swiss roll and the mystery question mark
//! are both about 10 units tall and centred near the origin.

use std::f64::consts::PI;

use crate::engine::rng::SeededRng;
use rand::RngExt;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use super::cloud::Cloud;

/// A data set as written in a scene file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub enum Dataset {
    /// The Swiss roll: a rolled-up sheet in 3-D (`dim: 2` gives the spiral).
    SwissRoll {
        points: usize,
        #[serde(default = "three")]
        dim: usize,
        #[serde(default = "swiss_noise")]
        noise: f64,
    },
    /// The "mystery" target of Fig. 1: a question mark drawn by 30 Gaussians
    /// in 3-D (see [`mystery_centres`]).
    Mystery {
        points: usize,
        #[serde(default = "mystery_std")]
        std: f64,
    },
    /// 25 Gaussians on a 5 x 5 grid in 2-D (App. E.2), spacing 2, centred on
    /// 0. The default std 0.3 keeps modes apart yet resolvable at the end of
    /// the preset's schedule (sigma^2 = 0.5).
    Grid25 {
        points: usize,
        #[serde(default = "grid_std")]
        std: f64,
    },
    /// An isotropic Gaussian; the dimension is the length of `mean`.
    Gaussian { points: usize, mean: Vec<f64>, std: f64 },
    /// App. E.4: x = B xi + mu in R^dim, xi ~ N(0, I_latent), B with entries
    /// N(0, 0.25) (variance), mu with entries N(10, 1). B and mu come from
    /// `data_seed`, so the run's seed changes the sample, not the distribution
    /// (see [`LinearTruth`]).
    LinearGaussian {
        points: usize,
        #[serde(default = "fifty")]
        dim: usize,
        #[serde(default = "twenty_five")]
        latent: usize,
        #[serde(default)]
        data_seed: u64,
    },
    /// Points on a circle of `radius` in 2-D with Gaussian jitter `std`.
    Ring {
        points: usize,
        #[serde(default = "two")]
        radius: f64,
        #[serde(default = "ring_std")]
        std: f64,
    },
    /// The two interleaved half circles, in 2-D.
    TwoMoons {
        points: usize,
        #[serde(default = "moons_noise")]
        noise: f64,
    },
    /// Points read from a CSV file, path relative to the scene file: one point
    /// per line, comma-separated; a header line and `#` comments allowed.
    Csv { path: String },
    /// Points read from a NumPy `.npy` file, path relative to the scene file:
    /// a 2-D float32 or float64 array, one point per row (`numpy.save`).
    Npy { path: String },
}

fn three() -> usize {
    3
}
fn fifty() -> usize {
    50
}
fn twenty_five() -> usize {
    25
}
fn two() -> f64 {
    2.0
}
fn swiss_noise() -> f64 {
    0.15
}
fn mystery_std() -> f64 {
    0.25
}
fn grid_std() -> f64 {
    0.3
}
fn ring_std() -> f64 {
    0.05
}
fn moons_noise() -> f64 {
    0.05
}

/// Largest std, noise, radius or |mean| entry a generated cloud accepts.
pub const MAX_SCALE: f64 = 1e12;

impl Dataset {
    /// The variant's name as written in scene files.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Dataset::SwissRoll { .. } => "SwissRoll",
            Dataset::Mystery { .. } => "Mystery",
            Dataset::Grid25 { .. } => "Grid25",
            Dataset::Gaussian { .. } => "Gaussian",
            Dataset::LinearGaussian { .. } => "LinearGaussian",
            Dataset::Ring { .. } => "Ring",
            Dataset::TwoMoons { .. } => "TwoMoons",
            Dataset::Csv { .. } => "Csv",
            Dataset::Npy { .. } => "Npy",
        }
    }

    /// Number of points, when known without reading a file.
    pub fn points(&self) -> Option<usize> {
        match *self {
            Dataset::SwissRoll { points, .. }
            | Dataset::Mystery { points, .. }
            | Dataset::Grid25 { points, .. }
            | Dataset::Gaussian { points, .. }
            | Dataset::LinearGaussian { points, .. }
            | Dataset::Ring { points, .. }
            | Dataset::TwoMoons { points, .. } => Some(points),
            Dataset::Csv { .. } | Dataset::Npy { .. } => None,
        }
    }

    /// Sets the number of points of a generated data set (not of a CSV).
    pub fn set_points(&mut self, n: usize) {
        match self {
            Dataset::SwissRoll { points, .. }
            | Dataset::Mystery { points, .. }
            | Dataset::Grid25 { points, .. }
            | Dataset::Gaussian { points, .. }
            | Dataset::LinearGaussian { points, .. }
            | Dataset::Ring { points, .. }
            | Dataset::TwoMoons { points, .. } => *points = n,
            Dataset::Csv { .. } | Dataset::Npy { .. } => {}
        }
    }

    /// Dimension, when known without reading a file.
    pub fn dim(&self) -> Option<usize> {
        match self {
            Dataset::SwissRoll { dim, .. } | Dataset::LinearGaussian { dim, .. } => Some(*dim),
            Dataset::Mystery { .. } => Some(3),
            Dataset::Grid25 { .. } | Dataset::Ring { .. } | Dataset::TwoMoons { .. } => Some(2),
            Dataset::Gaussian { mean, .. } => Some(mean.len()),
            Dataset::Csv { .. } | Dataset::Npy { .. } => None,
        }
    }

    /// Every problem with the values, as (field, what to change). Scales are
    /// capped at [`MAX_SCALE`] so that sampled points stay far inside
    /// [`crate::engine::flow::COORD_LIMIT`] and squared distances inside f32.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if self.points() == Some(0) {
            out.push(("points", "`points` is 0; a cloud needs at least 1 point".to_string()));
        }
        let mut non_negative = |field: &'static str, v: f64| {
            if !(v.is_finite() && (0.0..=MAX_SCALE).contains(&v)) {
                out.push((field, format!("`{field}` is {v}; it must be a number from 0 to {MAX_SCALE:e}")));
            }
        };
        match self {
            Dataset::SwissRoll { dim, noise, .. } => {
                non_negative("noise", *noise);
                if !(*dim == 2 || *dim == 3) {
                    out.push(("dim", format!("`dim` is {dim}; the Swiss roll exists in 2 or 3 dimensions")));
                }
            }
            Dataset::Mystery { std, .. } | Dataset::Grid25 { std, .. } => non_negative("std", *std),
            Dataset::Ring { radius, std, .. } => {
                non_negative("radius", *radius);
                non_negative("std", *std);
            }
            Dataset::TwoMoons { noise, .. } => non_negative("noise", *noise),
            Dataset::Gaussian { mean, std, .. } => {
                non_negative("std", *std);
                if mean.is_empty() {
                    out.push(("mean", "`mean` is empty; give one number per dimension".to_string()));
                }
                if let Some(m) = mean.iter().find(|m| !(m.is_finite() && m.abs() <= MAX_SCALE)) {
                    out.push((
                        "mean",
                        format!("`mean` holds {m}; each entry must be a number from -{MAX_SCALE:e} to {MAX_SCALE:e}"),
                    ));
                }
            }
            Dataset::LinearGaussian { dim, latent, .. } => {
                if *dim == 0 || *latent == 0 {
                    out.push(("dim", "`dim` and `latent` must be >= 1".to_string()));
                }
            }
            Dataset::Csv { path } => {
                if path.trim().is_empty() {
                    out.push(("path", "`path` is empty; name a CSV file relative to the scene".to_string()));
                }
            }
            Dataset::Npy { path } => {
                if path.trim().is_empty() {
                    out.push(("path", "`path` is empty; name a .npy file relative to the scene".to_string()));
                }
            }
        }
        out
    }

    /// The true B and mu of a `LinearGaussian` data set (None for the others).
    pub fn linear_truth(&self) -> Option<LinearTruth> {
        match *self {
            Dataset::LinearGaussian { dim, latent, data_seed, .. } => {
                Some(LinearTruth::from_seed(dim, latent, data_seed))
            }
            _ => None,
        }
    }

    /// Generates the cloud. CSV and NPY data sets are read by the scene loader, which
    /// knows the scene's folder; here they yield None.
    pub fn generate(&self, rng: &mut SeededRng) -> Option<Cloud> {
        Some(match self {
            Dataset::SwissRoll { points, dim, noise } => swiss_roll(*points, *dim, *noise, rng),
            Dataset::Mystery { points, std } => mystery(*points, *std, rng),
            Dataset::Grid25 { points, std } => grid25(*points, *std, rng),
            Dataset::Gaussian { points, mean, std } => gaussian(*points, mean, *std, rng),
            Dataset::LinearGaussian { points, dim, latent, data_seed } => {
                LinearTruth::from_seed(*dim, *latent, *data_seed).sample(*points, rng)
            }
            Dataset::Ring { points, radius, std } => ring(*points, *radius, *std, rng),
            Dataset::TwoMoons { points, noise } => two_moons(*points, *noise, rng),
            Dataset::Csv { .. } | Dataset::Npy { .. } => return None,
        })
    }

    /// The file a `Csv` or `Npy` data set reads (None for generated ones).
    pub fn file_path_mut(&mut self) -> Option<&mut String> {
        match self {
            Dataset::Csv { path } | Dataset::Npy { path } => Some(path),
            _ => None,
        }
    }
}

fn normal(rng: &mut SeededRng) -> f64 {
    StandardNormal.sample(rng)
}

/// Swiss roll: t ~ U[1.5 pi, 4.5 pi], (0.4 t cos t, h, 0.4 t sin t) with the
/// height h ~ U[-5, 5]; the 2-D variant drops the height.
pub fn swiss_roll(points: usize, dim: usize, noise: f64, rng: &mut SeededRng) -> Cloud {
    let mut data = Vec::with_capacity(points * dim);
    for _ in 0..points {
        let t = 1.5 * PI * (1.0 + 2.0 * rng.random::<f64>());
        let (x, y) = (0.4 * t * t.cos(), 0.4 * t * t.sin());
        let mut p = if dim == 2 { vec![x, y] } else { vec![x, 10.0 * (rng.random::<f64>() - 0.5), y] };
        for c in &mut p {
            *c += noise * normal(rng);
        }
        data.extend(p.iter().map(|&c| c as f32));
    }
    Cloud::new(dim, data)
}

/// Centres of the mystery data set: a question mark about 10 units tall in
/// the x-y plane (z = 0). The paper does not publish its target; this one
/// follows the look of its Fig. 1: 20 Gaussians along a 240-degree hook of
/// radius 2.5, 6 down the stem and 4 in a small diamond forming the dot.
pub fn mystery_centres() -> Vec<[f64; 3]> {
    let mut c = Vec::with_capacity(30);
    for i in 0..20 {
        // From 150 degrees (upper left) clockwise to -90 degrees (bottom).
        let a = (150.0 - 240.0 * i as f64 / 19.0).to_radians();
        c.push([2.5 * a.cos(), 3.0 + 2.5 * a.sin(), 0.0]);
    }
    for i in 1..=6 {
        c.push([0.0, 0.5 - 2.6 * i as f64 / 6.0, 0.0]);
    }
    for (dx, dy) in [(0.0, 0.35), (0.35, 0.0), (0.0, -0.35), (-0.35, 0.0)] {
        c.push([dx, -4.0 + dy, 0.0]);
    }
    c
}

/// Equal-weight mixture of the 30 [`mystery_centres`], isotropic `std`.
pub fn mystery(points: usize, std: f64, rng: &mut SeededRng) -> Cloud {
    let centres = mystery_centres();
    let mut data = Vec::with_capacity(points * 3);
    for _ in 0..points {
        let c = centres[rng.random_range(0..centres.len())];
        data.extend(c.iter().map(|&x| (x + std * normal(rng)) as f32));
    }
    Cloud::new(3, data)
}

/// 25 Gaussians at {-4, -2, 0, 2, 4}^2 (App. E.2).
pub fn grid25(points: usize, std: f64, rng: &mut SeededRng) -> Cloud {
    let mut data = Vec::with_capacity(points * 2);
    for _ in 0..points {
        let (i, j) = (rng.random_range(0..5), rng.random_range(0..5));
        data.push((2.0 * (i as f64 - 2.0) + std * normal(rng)) as f32);
        data.push((2.0 * (j as f64 - 2.0) + std * normal(rng)) as f32);
    }
    Cloud::new(2, data)
}

pub fn gaussian(points: usize, mean: &[f64], std: f64, rng: &mut SeededRng) -> Cloud {
    let mut data = Vec::with_capacity(points * mean.len());
    for _ in 0..points {
        data.extend(mean.iter().map(|&m| (m + std * normal(rng)) as f32));
    }
    Cloud::new(mean.len(), data)
}

/// The parameters of App. E.4's linear Gaussian x = B xi + mu, kept so a
/// trained generator can be compared with the truth, not with the sample.
#[derive(Clone, Debug, PartialEq)]
pub struct LinearTruth {
    pub dim: usize,
    pub latent: usize,
    /// B, `dim` rows of `latent` numbers, row-major; entries N(0, 0.25).
    pub matrix: Vec<f64>,
    /// mu, entries N(10, 1).
    pub offset: Vec<f64>,
}

impl LinearTruth {
    /// B and then mu drawn from `rng`.
    pub fn draw(dim: usize, latent: usize, rng: &mut SeededRng) -> Self {
        // Variance 0.25: standard deviation 0.5.
        let matrix = (0..dim * latent).map(|_| 0.5 * normal(rng)).collect();
        let offset = (0..dim).map(|_| 10.0 + normal(rng)).collect();
        Self { dim, latent, matrix, offset }
    }

    /// B and mu of a data set's `data_seed`.
    pub fn from_seed(dim: usize, latent: usize, data_seed: u64) -> Self {
        Self::draw(dim, latent, &mut crate::engine::rng::seeded(data_seed ^ 0x11AE_A5EE_D000_0E04))
    }

    /// B B^T, dim x dim row-major: the covariance of x.
    pub fn covariance(&self) -> Vec<f64> {
        gram(&self.matrix, self.dim, self.latent)
    }

    /// `points` samples x = B xi + mu, xi ~ N(0, I) from `rng`.
    pub fn sample(&self, points: usize, rng: &mut SeededRng) -> Cloud {
        let (dim, latent) = (self.dim, self.latent);
        let mut xi = vec![0.0; latent];
        let mut data = Vec::with_capacity(points * dim);
        for _ in 0..points {
            xi.iter_mut().for_each(|x| *x = normal(rng));
            for r in 0..dim {
                let row = &self.matrix[r * latent..(r + 1) * latent];
                let v: f64 = row.iter().zip(&xi).map(|(a, x)| a * x).sum::<f64>() + self.offset[r];
                data.push(v as f32);
            }
        }
        Cloud::new(dim, data)
    }
}

/// M M^T of a row-major `rows` x `cols` matrix, in f64.
pub fn gram(m: &[f64], rows: usize, cols: usize) -> Vec<f64> {
    let mut out = vec![0.0; rows * rows];
    for a in 0..rows {
        for b in a..rows {
            let v: f64 = m[a * cols..(a + 1) * cols].iter().zip(&m[b * cols..(b + 1) * cols]).map(|(x, y)| x * y).sum();
            out[a * rows + b] = v;
            out[b * rows + a] = v;
        }
    }
    out
}

/// App. E.4 with B and mu drawn first from `rng`, then the points.
pub fn linear_gaussian(points: usize, dim: usize, latent: usize, rng: &mut SeededRng) -> Cloud {
    LinearTruth::draw(dim, latent, rng).sample(points, rng)
}

pub fn ring(points: usize, radius: f64, std: f64, rng: &mut SeededRng) -> Cloud {
    let mut data = Vec::with_capacity(points * 2);
    for _ in 0..points {
        let a = 2.0 * PI * rng.random::<f64>();
        data.push((radius * a.cos() + std * normal(rng)) as f32);
        data.push((radius * a.sin() + std * normal(rng)) as f32);
    }
    Cloud::new(2, data)
}

/// Two interleaved half circles of radius 1 (the scikit-learn layout).
pub fn two_moons(points: usize, noise: f64, rng: &mut SeededRng) -> Cloud {
    let mut data = Vec::with_capacity(points * 2);
    for i in 0..points {
        let a = PI * rng.random::<f64>();
        let (x, y) = if i % 2 == 0 { (a.cos(), a.sin()) } else { (1.0 - a.cos(), 0.5 - a.sin()) };
        data.push((x + noise * normal(rng)) as f32);
        data.push((y + noise * normal(rng)) as f32);
    }
    Cloud::new(2, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generators_are_seeded_and_shaped() {
        let all = [
            Dataset::SwissRoll { points: 100, dim: 3, noise: 0.1 },
            Dataset::SwissRoll { points: 100, dim: 2, noise: 0.1 },
            Dataset::Mystery { points: 100, std: 0.2 },
            Dataset::Grid25 { points: 100, std: 0.1 },
            Dataset::Gaussian { points: 100, mean: vec![1.0; 4], std: 1.0 },
            Dataset::LinearGaussian { points: 100, dim: 50, latent: 25, data_seed: 0 },
            Dataset::Ring { points: 100, radius: 2.0, std: 0.05 },
            Dataset::TwoMoons { points: 100, noise: 0.05 },
        ];
        for d in &all {
            let a = d.generate(&mut crate::engine::rng::seeded(3)).expect("generated");
            let b = d.generate(&mut crate::engine::rng::seeded(3)).expect("generated");
            let c = d.generate(&mut crate::engine::rng::seeded(4)).expect("generated");
            assert_eq!(a, b, "{d:?} is not reproducible");
            assert_ne!(a, c, "{d:?} ignores its seed");
            assert_eq!(a.len(), 100);
            assert_eq!(Some(a.dim()), d.dim());
            assert!(a.is_finite());
            assert!(d.problems().is_empty());
        }
    }

    #[test]
    fn scales_that_would_overflow_are_refused_and_the_largest_allowed_stays_finite() {
        let wide = |std: f64, mean: f64| Dataset::Gaussian { points: 200, mean: vec![mean; 3], std };
        assert_eq!(wide(1e40, 0.0).problems()[0].0, "std");
        assert_eq!(wide(1.0, -1e13).problems()[0].0, "mean");
        assert_eq!(Dataset::Ring { points: 5, radius: f64::INFINITY, std: 0.1 }.problems()[0].0, "radius");
        let edge = wide(MAX_SCALE, -MAX_SCALE);
        assert!(edge.problems().is_empty());
        let cloud = edge.generate(&mut crate::engine::rng::seeded(1)).expect("generated");
        let limit = crate::engine::flow::COORD_LIMIT;
        assert!(cloud.as_slice().iter().all(|x| x.is_finite() && x.abs() < limit));
    }

    #[test]
    fn mystery_has_thirty_components_forming_a_question_mark() {
        let c = mystery_centres();
        assert_eq!(c.len(), 30);
        // Hook above the stem, dot below it, about 10 units tall.
        let top = c.iter().map(|p| p[1]).fold(f64::MIN, f64::max);
        let bottom = c.iter().map(|p| p[1]).fold(f64::MAX, f64::min);
        assert!((top - 5.5).abs() < 0.05 && (bottom + 4.35).abs() < 0.05);
    }

    #[test]
    fn linear_gaussian_mean_is_near_ten() {
        let cloud = linear_gaussian(2000, 50, 25, &mut crate::engine::rng::seeded(1));
        let mean = cloud.mean();
        let avg = mean.iter().sum::<f64>() / 50.0;
        assert!((avg - 10.0).abs() < 0.5, "average of mu entries {avg}");
    }
}
