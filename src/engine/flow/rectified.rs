//! The ideal rectified flow onto an empirical target, and Tweedie's link to
//! scores (notes in /work/shared/papers/rectified-flow-tweedie-kl.txt).
//!
//! X_t = (1 - t) X0 + t X1 with X0 ~ N(0, I) independent of X1, uniform over
//! the target points x1_j. Given X_t = x, the posterior of X1 weighs x1_j by
//! N(x; t x1_j, (1 - t)^2 I), so
//!
//!   E[X1 | X_t = x] = D_t(x) / t,   D_t the kernel mean over centres t x1_j
//!                                    at variance (1 - t)^2,
//!   v_t(x) = (E[X1 | X_t = x] - x) / (1 - t),
//!
//! and at t = 0 the posterior is the prior: E[X1] is the target's mean.
//! Tweedie: grad log rho_t(x) = (t v_t(x) - x) / (1 - t), and rho_t is the
//! mixture of N(t x1_j, (1 - t)^2 I), whose score is (D_t(x) - x) / (1 - t)^2.

use rayon::prelude::*;

use crate::engine::cloud::Cloud;
use crate::engine::kernel::fast::{KernelImpl, LogSumExp, accumulate};
use crate::engine::kernel::{Centres, inv_two_sigma2, reference};

use super::formulas;

/// Points per parallel task (the flow draws no noise, so any split works).
const CHUNK: usize = 256;

/// v_t(x) into `v`. `centres` holds t x1_j; `target_mean` is E[X1].
pub fn velocity(
    imp: KernelImpl,
    centres: &Centres,
    target_mean: &[f64],
    t: f64,
    x: &[f32],
    weighted: &mut [f64],
    v: &mut [f32],
) {
    let one_minus = 1.0 - t;
    if t <= 0.0 {
        for ((vk, &m), &xk) in v.iter_mut().zip(target_mean).zip(x) {
            *vk = ((m - xk as f64) / one_minus) as f32;
        }
        return;
    }
    let inv = inv_two_sigma2(one_minus * one_minus);
    let mut acc = LogSumExp::default();
    weighted.iter_mut().for_each(|w| *w = 0.0);
    accumulate(imp, centres, 0..centres.len(), x, inv, &mut acc, weighted);
    // D_t(x) lands in `v` first, then becomes the velocity.
    acc.finish(weighted, inv, v);
    for (vk, &xk) in v.iter_mut().zip(x) {
        let e_x1 = *vk as f64 / t;
        *vk = ((e_x1 - xk as f64) / one_minus) as f32;
    }
}

/// One Euler step x <- x + dt v_t(x) of every point; `centres` holds t x1_j.
/// Returns how many points had a non-finite update (dropped, see [`formulas::apply`]).
pub(crate) fn euler_step(
    imp: KernelImpl,
    moving: &mut Cloud,
    centres: &Centres,
    target_mean: &[f64],
    t: f64,
    dt: f64,
) -> usize {
    let dim = moving.dim();
    moving
        .as_mut_slice()
        .par_chunks_mut(CHUNK * dim)
        .map_init(
            || (vec![0.0f64; dim], vec![0.0f32; dim]),
            |(weighted, v), chunk| {
                let mut dropped = 0;
                for x in chunk.chunks_exact_mut(dim) {
                    velocity(imp, centres, target_mean, t, x, weighted, v);
                    dropped += !formulas::apply(x, v, dt as f32) as usize;
                }
                dropped
            },
        )
        .sum()
}

/// Tweedie's formula: grad log rho_t(x) = (t v_t(x) - x) / (1 - t).
pub fn tweedie_score(t: f64, v: &[f32], x: &[f32]) -> Vec<f64> {
    v.iter().zip(x).map(|(&vk, &xk)| (t * vk as f64 - xk as f64) / (1.0 - t)).collect()
}

/// Points the residual looks at (the first ones of the moving cloud).
const RESIDUAL_POINTS: usize = 256;

/// How far Tweedie's formula applied to the engine's f32 velocity is from the
/// score of rho_t computed directly in f64, at the current points and time:
/// sqrt(sum |tweedie - score|^2 / sum |score|^2) over up to 256 points. It is
/// at f32 rounding (about 2e-7 in the tests) when the velocity is right.
/// `fixed` is the target x1_j, `moving` the points X_t at time `t`; None for
/// t >= 1 (after the last step). A particle run of `RectifiedFlow` gives its
/// own through `Simulation::tweedie_residual`.
pub fn tweedie_residual(imp: KernelImpl, fixed: &Cloud, moving: &Cloud, t: f64) -> Option<f64> {
    if t >= 1.0 {
        return None;
    }
    let dim = fixed.dim();
    let mut centres = Centres::from_points(dim, fixed.as_slice());
    centres.scale(t as f32);
    let scaled: Vec<f64> = fixed.as_slice().iter().map(|&c| t * c as f64).collect();
    let target_mean = fixed.mean();
    let (mut weighted, mut v) = (vec![0.0f64; dim], vec![0.0f32; dim]);
    let (mut err, mut norm) = (0.0, 0.0);
    for x in moving.points().take(RESIDUAL_POINTS) {
        velocity(imp, &centres, &target_mean, t, x, &mut weighted, &mut v);
        let tweedie = tweedie_score(t, &v, x);
        let xf: Vec<f64> = x.iter().map(|&a| a as f64).collect();
        let (_, d) = reference::kernel_mean(&xf, &scaled, dim, (1.0 - t) * (1.0 - t));
        for k in 0..dim {
            let score = (d[k] - xf[k]) / ((1.0 - t) * (1.0 - t));
            err += (tweedie[k] - score).powi(2);
            norm += score * score;
        }
    }
    Some((err / norm.max(f64::MIN_POSITIVE)).sqrt())
}
