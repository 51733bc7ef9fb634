//! Whole-step tests of [`Simulation::step`] against a plain f64 reference of
//! Algorithm 1: the same noise streams, every centre, the sign of D_p - D_q
//! and each method's own formula (eq. 13, 16, 42, 43) written out again.

use rand_distr::{Distribution, StandardNormal};

use crate::engine::flow::{Method, StepSize};
use crate::engine::kernel::reference::kernel_mean;
use crate::engine::rng::stream;
use crate::engine::schedule::Schedule;
use crate::engine::{Cloud, datasets};

use super::settings::FlowSettings;
use super::simulation::Simulation;

/// Points per noise stream in the engine (`simulation::CHUNK`).
const CHUNK: usize = 256;

fn f64s(x: &[f32]) -> Vec<f64> {
    x.iter().map(|&v| v as f64).collect()
}

/// The moving cloud after one step from `before`, in f64, with full data.
fn reference_step(
    method: Method,
    fixed: &Cloud,
    before: &Cloud,
    sigma2: f64,
    eta: f64,
    seed: u64,
    step: usize,
) -> Vec<f64> {
    let all_p: Vec<usize> = (0..fixed.len()).collect();
    let all_q: Vec<usize> = (0..before.len()).collect();
    reference_batch_step(method, fixed, before, &all_p, &all_q, sigma2, eta, seed, step)
}

/// The same with Algorithm 1's batches: only the points `moving_idx` move, and
/// the centres are the fixed points `fixed_idx` and the moving points
/// `moving_idx` at their positions before the step.
#[allow(clippy::too_many_arguments)]
fn reference_batch_step(
    method: Method,
    fixed: &Cloud,
    before: &Cloud,
    fixed_idx: &[usize],
    moving_idx: &[usize],
    sigma2: f64,
    eta: f64,
    seed: u64,
    step: usize,
) -> Vec<f64> {
    let dim = before.dim();
    let pick = |c: &Cloud, ix: &[usize]| -> Vec<f64> { ix.iter().flat_map(|&i| f64s(c.point(i))).collect() };
    let (p, q) = (pick(fixed, fixed_idx), pick(before, moving_idx));
    let (n, m) = (fixed_idx.len(), moving_idx.len());
    let noise_sigma = sigma2.sqrt() as f32;
    let mut out = f64s(before.as_slice());
    for (qi, &i) in moving_idx.iter().enumerate() {
        let mut rng = stream(seed, step, (qi / CHUNK) as u64);
        // Skip the draws of the earlier points of this chunk.
        for _ in 0..(qi % CHUNK) * dim {
            let _: f32 = StandardNormal.sample(&mut rng);
        }
        let y = before.point(i);
        let z: Vec<f64> = y
            .iter()
            .map(|&yk| {
                let eps: f32 = StandardNormal.sample(&mut rng);
                (yk + noise_sigma * eps) as f64
            })
            .collect();
        let (log_p, dp) = kernel_mean(&z, &p, dim, sigma2);
        let (log_q, dq) = kernel_mean(&z, &q, dim, sigma2);
        for k in 0..dim {
            let dz = match method {
                // Eq. 13.
                Method::Sd => 0.5 * (dp[k] - dq[k]),
                // Eq. 43 with w_p = K / (2 sum K), w_q likewise: the z term cancels.
                Method::MmdNormalized => {
                    let (wp, wq) = (0.5, 0.5);
                    wp * dp[k] - wq * dq[k] + (wq - wp) * z[k]
                }
                // Eq. 16 as y + eta * 1/2 (D_p - y), rho = eta / 2.
                Method::SdDenoiser => 0.5 * (dp[k] - y[k] as f64),
                // Eq. 42: (1/N) sum K (x - z) / sigma^2 - (1/M) sum K (y - z) / sigma^2.
                Method::Mmd => {
                    let kp = (log_p - (n as f64).ln()).exp();
                    let kq = (log_q - (m as f64).ln()).exp();
                    (kp * (dp[k] - z[k]) - kq * (dq[k] - z[k])) / sigma2
                }
                Method::RectifiedFlow => unreachable!("not a noise-injection flow"),
            };
            out[i * dim + k] += eta * dz;
        }
    }
    out
}

#[test]
fn one_step_of_each_method_matches_the_f64_reference() {
    let mut rng = crate::engine::rng::seeded(21);
    // 300 moving points: two noise streams, the second one partly filled.
    let fixed = datasets::gaussian(200, &[1.0, -0.5], 1.0, &mut rng);
    let moving = datasets::gaussian(300, &[-1.5, 1.0], 0.8, &mut rng);
    let schedule = Schedule::Cosine { sigma2_max: 2.0, sigma2_min: 0.3 };
    let (steps, seed, eta) = (10, 5, 0.7);
    for method in [Method::Sd, Method::MmdNormalized, Method::SdDenoiser, Method::Mmd] {
        let settings =
            FlowSettings { method, schedule, steps, step_size: StepSize::Fixed { eta }, ..FlowSettings::default() };
        let mut sim = Simulation::new(settings, fixed.clone(), moving.clone(), seed);
        // Check the first step and a later one, at a different sigma.
        for check in [0, 6] {
            while sim.step_index() < check {
                sim.step();
            }
            let before = sim.moving().clone();
            let report = sim.step().expect("a step");
            assert_eq!(report.sigma2, schedule.sigma2(check, steps));
            let expected = reference_step(method, &fixed, &before, report.sigma2, eta, seed, check);
            let scale = 1.0 + expected.iter().fold(0.0f64, |m, x| m.max(x.abs()));
            let worst =
                sim.moving().as_slice().iter().zip(&expected).map(|(a, b)| (*a as f64 - b).abs()).fold(0.0, f64::max);
            assert!(worst < 2e-5 * scale, "{method:?} step {check}: worst error {worst}");
            // A flipped sign or a missing 1/sigma^2 would move points by
            // about eta |dz|: make sure the step moved them that much.
            let moved = before
                .as_slice()
                .iter()
                .zip(sim.moving().as_slice())
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            assert!(moved as f64 > 1e3 * worst.max(1e-9), "{method:?}: the step barely moved ({moved})");
        }
    }
}

#[test]
fn a_batch_step_uses_the_batch_as_centres() {
    let mut rng = crate::engine::rng::seeded(22);
    let fixed = datasets::gaussian(300, &[1.0, 0.0, -1.0], 1.0, &mut rng);
    let moving = datasets::gaussian(400, &[-1.0, 0.5, 0.0], 1.0, &mut rng);
    let (seed, eta, sigma2, b) = (8, 0.9, 0.6, 48);
    for method in [Method::Sd, Method::Mmd] {
        let settings = FlowSettings {
            method,
            schedule: Schedule::Constant { sigma2 },
            steps: 3,
            step_size: StepSize::Fixed { eta },
            batch: Some(b),
            ..FlowSettings::default()
        };
        let mut sim = Simulation::new(settings, fixed.clone(), moving.clone(), seed);
        sim.step();
        let before = sim.moving().clone();
        sim.step();
        // The engine draws the batch from the stream (seed, step, u64::MAX).
        let mut brng = stream(seed, 1, u64::MAX);
        let moving_idx: Vec<usize> = rand::seq::index::sample(&mut brng, moving.len(), b).into_vec();
        let fixed_idx: Vec<usize> = rand::seq::index::sample(&mut brng, fixed.len(), b).into_vec();
        let expected = reference_batch_step(method, &fixed, &before, &fixed_idx, &moving_idx, sigma2, eta, seed, 1);
        let worst =
            sim.moving().as_slice().iter().zip(&expected).map(|(a, b)| (*a as f64 - b).abs()).fold(0.0, f64::max);
        assert!(worst < 1e-4, "{method:?}: worst error {worst}");
        // With every point as a centre the step differs: the test sees the centres.
        let full = reference_step(method, &fixed, &before, sigma2, eta, seed, 1);
        let apart = moving_idx.iter().map(|&i| (full[i * 3] - expected[i * 3]).abs()).fold(0.0, f64::max);
        assert!(apart > 1e3 * worst.max(1e-7), "{method:?}: batch and full centres agree ({apart})");
    }
}
