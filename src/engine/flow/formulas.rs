//! The flows and their settings. Each displacement is a pure function of the
//! two kernel means at the noisy point, so the formulas sit here, apart from
//! the bookkeeping of the particle flow (`particles/simulation.rs`) and of the
//! drifts (`drift.rs`).
//!
//! Adding a flow method means editing this file: one arm of [`Method`] (with
//! its name and what it uses) and one arm of [`displacement`]; `displace.rs`
//! and the drifts call [`displacement`] for every method alike. (A method
//! that is not a noise-injection flow, like rectified flow, brings its own
//! step in a file of its own here, as `rectified.rs` does.)
//!
//! Notation (paper eq. 13): y a moving point, z = y + sigma(t) eps its noisy
//! copy, D_p(z) the kernel mean over the fixed cloud the flow aims at and
//! D_q(z) over the moving cloud itself, both at kernel variance sigma_k^2.

use serde::{Deserialize, Serialize};

/// Which flow moves the particles.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub enum Method {
    /// Score-difference flow, eq. 13 / Algorithm 1: dz = 1/2 (D_p(z) - D_q(z)).
    #[default]
    Sd,
    /// Denoiser form, eq. 16: y <- (1 - rho) y + rho D_p(z) with rho = eta / 2,
    /// i.e. Sd with D_q(z) replaced by y: a diffusion reverse step (Section 5).
    SdDenoiser,
    /// MMD gradient flow with noise injection, exactly eq. 42 (Arbel et al.
    /// 2019): dz = (k_p (D_p(z) - z) - k_q (D_q(z) - z)) / sigma_k^2, k the
    /// mean kernel value; the 1/sigma_k^2 of the kernel gradient stays in.
    Mmd,
    /// Eq. 43 with normalised weights (Remark 1): k_p = k_q = 1, which makes
    /// it equal to Sd.
    MmdNormalized,
    /// The ideal rectified flow of X_t = (1 - t) X0 + t X1, X0 ~ N(0, I)
    /// independent of the empirical target X1 (see `rectified.rs`):
    /// Euler steps of v_t(x) = (E[X1 | X_t = x] - x) / (1 - t) over t in
    /// [0, 1). No noise injection; `schedule` and `step_size` do not apply.
    RectifiedFlow,
}

impl Method {
    pub const ALL: [Method; 5] =
        [Method::Sd, Method::SdDenoiser, Method::Mmd, Method::MmdNormalized, Method::RectifiedFlow];

    pub fn name(self) -> &'static str {
        match self {
            Method::Sd => "Sd",
            Method::SdDenoiser => "SdDenoiser",
            Method::Mmd => "Mmd",
            Method::MmdNormalized => "MmdNormalized",
            Method::RectifiedFlow => "RectifiedFlow",
        }
    }

    /// Whether the flow needs D_q (the kernel sum over the moving cloud).
    pub fn uses_moving_kernel(self) -> bool {
        !matches!(self, Method::SdDenoiser | Method::RectifiedFlow)
    }

    /// Whether the scene's `schedule` and `step_size` shape this method's steps.
    pub fn uses_schedule(self) -> bool {
        !matches!(self, Method::RectifiedFlow)
    }

    /// Whether a kernel bandwidth apart from the noise level makes sense:
    /// SD's kernel means are the denoisers of the sigma-smoothed proxies, so
    /// their bandwidth is the noise level by construction.
    pub fn allows_fixed_bandwidth(self) -> bool {
        matches!(self, Method::Mmd | Method::MmdNormalized)
    }
}

/// Which cloud moves.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub enum Direction {
    /// The source cloud moves toward the target.
    #[default]
    Forward,
    /// Reverse dataset interpolation: the target cloud moves toward the
    /// source, dx = -dz with the roles of the clouds in dz swapped.
    Reverse,
}

/// How far each step moves the points.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub enum StepSize {
    /// y <- y + eta dz with a fixed eta.
    Fixed { eta: f64 },
    /// eta is chosen at the first step so that the first displacement has a
    /// mean per-point norm of `first_norm` (the paper uses 0.5), then kept.
    Auto { first_norm: f64 },
}

impl Default for StepSize {
    fn default() -> Self {
        StepSize::Auto { first_norm: 0.5 }
    }
}

/// The kernel bandwidth sigma_k^2 of the kernel means.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub enum Bandwidth {
    /// sigma_k^2 = sigma^2(t), the noise level (the paper's comparison).
    #[default]
    Tied,
    /// A fixed sigma_k^2 while the noise follows the schedule (Arbel's MMD
    /// setting). Only for the MMD methods.
    Fixed { sigma2: f64 },
}

impl Bandwidth {
    /// Kernel variance for noise variance `sigma2`.
    pub fn kernel_sigma2(self, noise_sigma2: f64) -> f64 {
        match self {
            Bandwidth::Tied => noise_sigma2,
            Bandwidth::Fixed { sigma2 } => sigma2,
        }
    }
}

/// The step rho of the denoiser form (eq. 16), SdDenoiser only.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub enum Rho {
    /// rho = eta / 2 from the scene's `step_size` (the Sd-like scaling).
    #[default]
    StepSize,
    /// The same rho in (0, 1] at every step.
    Fixed(f64),
    /// The diffusion reverse process (Section 5, eq. 33-34):
    /// rho_t = 1 - sigma^2_{t+1} / sigma^2_t from the schedule; the last step
    /// goes to noise level 0, so its rho is 1.
    Diffusion,
}

impl Rho {
    /// rho at `step` of `steps`, or None when it comes from the step size.
    pub fn at(self, schedule: &crate::engine::schedule::Schedule, step: usize, steps: usize) -> Option<f64> {
        match self {
            Rho::StepSize => None,
            Rho::Fixed(rho) => Some(rho),
            Rho::Diffusion if step + 1 >= steps => Some(1.0),
            Rho::Diffusion => Some(1.0 - schedule.sigma2(step + 1, steps) / schedule.sigma2(step, steps)),
        }
    }
}

/// Whether kernel sums may use the cell-list cut-off.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub enum CutOff {
    /// Use it when it pays (d <= 3 and sigma small against the cloud).
    #[default]
    Auto,
    /// Always sum over every centre.
    Off,
}

/// What one query needs from the two kernel sums.
#[derive(Clone, Copy, Debug)]
pub struct KernelTerms<'a> {
    /// D_p(z), the kernel mean over the fixed cloud.
    pub mean_p: &'a [f32],
    /// ln sum_j w_j over the fixed cloud's `count_p` centres.
    pub log_mass_p: f64,
    pub count_p: usize,
    /// D_q(z) over the moving cloud (unused by SdDenoiser).
    pub mean_q: &'a [f32],
    pub log_mass_q: f64,
    pub count_q: usize,
    /// 1 / sigma_k^2, the kernel gradient's factor in MMD flow (eq. 42).
    pub inv_sigma2: f64,
}

/// The displacement dz of one point (before the step size), written to `dz`.
pub fn displacement(method: Method, y: &[f32], z: &[f32], k: &KernelTerms, dz: &mut [f32]) {
    match method {
        Method::Sd | Method::MmdNormalized => {
            for ((d, p), q) in dz.iter_mut().zip(k.mean_p).zip(k.mean_q) {
                *d = 0.5 * (p - q);
            }
        }
        Method::SdDenoiser => {
            for ((d, p), y) in dz.iter_mut().zip(k.mean_p).zip(y) {
                *d = 0.5 * (p - y);
            }
        }
        Method::Mmd => {
            // Mean kernel values (1/n) sum_j k(z, c_j), from log space: in
            // (0, 1], and 0 (not NaN) when the clouds are far apart.
            // Each is multiplied by 1/sigma_k^2 in f64 and saturated at
            // f32::MAX, so a zero mean kernel value stays 0.
            let scale = |log_mass: f64, count: usize| {
                let k_mean = (log_mass - (count as f64).ln()).exp().min(1.0);
                (k_mean * k.inv_sigma2).min(f32::MAX as f64) as f32
            };
            let (kp, kq) = (scale(k.log_mass_p, k.count_p), scale(k.log_mass_q, k.count_q));
            for (i, d) in dz.iter_mut().enumerate() {
                *d = kp * (k.mean_p[i] - z[i]) - kq * (k.mean_q[i] - z[i]);
            }
        }
        // Not a noise-injection flow: its steps are in `rectified`.
        Method::RectifiedFlow => dz.iter_mut().for_each(|d| *d = 0.0),
    }
}

/// Largest coordinate magnitude a point may reach. A diverging flow (MMD with
/// too large a fixed step) shows as an explosion, never as inf or NaN.
pub const COORD_LIMIT: f32 = 1e15;

/// y <- y + eta dz, kept finite. Returns false when some coordinate's update
/// was not finite and was dropped, so the caller can count it.
pub fn apply(y: &mut [f32], dz: &[f32], eta: f32) -> bool {
    let mut finite = true;
    for (yi, d) in y.iter_mut().zip(dz) {
        let v = *yi + eta * d;
        finite &= v.is_finite();
        *yi = if v.is_finite() { v.clamp(-COORD_LIMIT, COORD_LIMIT) } else { yi.clamp(-COORD_LIMIT, COORD_LIMIT) };
    }
    finite
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms<'a>(mp: &'a [f32], mq: &'a [f32], lp: f64, lq: f64) -> KernelTerms<'a> {
        KernelTerms { mean_p: mp, log_mass_p: lp, count_p: 4, mean_q: mq, log_mass_q: lq, count_q: 4, inv_sigma2: 0.25 }
    }

    #[test]
    fn sd_and_normalised_mmd_agree_and_mmd_scales_by_kernel_mass() {
        let y = [0.0, 0.0];
        let z = [1.0, 1.0];
        let (mp, mq) = ([3.0, 1.0], [1.0, 2.0]);
        // Mean kernel values 1/2 and 1/4 over 4 centres.
        let k = terms(&mp, &mq, (2.0f64).ln(), (1.0f64).ln());
        let mut sd = [0.0; 2];
        let mut norm = [0.0; 2];
        let mut mmd = [0.0; 2];
        let mut den = [0.0; 2];
        displacement(Method::Sd, &y, &z, &k, &mut sd);
        displacement(Method::MmdNormalized, &y, &z, &k, &mut norm);
        displacement(Method::Mmd, &y, &z, &k, &mut mmd);
        displacement(Method::SdDenoiser, &y, &z, &k, &mut den);
        assert_eq!(sd, [1.0, -0.5]);
        assert_eq!(sd, norm);
        // Eq. 42 at sigma_k^2 = 4: (0.5 * (3-1, 1-1) - 0.25 * (1-1, 2-1)) / 4 = (0.25, -0.0625)
        assert_eq!(mmd, [0.25, -0.0625]);
        assert_eq!(den, [1.5, 0.5]);
    }

    #[test]
    fn diffusion_rho_follows_the_schedule() {
        let schedule = crate::engine::Schedule::Geometric { sigma2_max: 8.0, sigma2_min: 1.0 };
        // sigma^2 = 8, 4, 2, 1: each step halves it, so rho = 1/2; the last goes to 0.
        for step in 0..3 {
            assert!((Rho::Diffusion.at(&schedule, step, 4).expect("rho") - 0.5).abs() < 1e-12);
        }
        assert_eq!(Rho::Diffusion.at(&schedule, 3, 4), Some(1.0));
        assert_eq!(Rho::Fixed(0.05).at(&schedule, 0, 4), Some(0.05));
        assert_eq!(Rho::StepSize.at(&schedule, 0, 4), None);
    }

    #[test]
    fn mmd_far_apart_has_no_nan() {
        let k = terms(&[1e3, 0.0], &[0.0, 0.0], -1e9, 0.0);
        let mut dz = [0.0; 2];
        displacement(Method::Mmd, &[0.0; 2], &[0.0; 2], &k, &mut dz);
        assert!(dz.iter().all(|x| x.is_finite()));
        assert_eq!(dz[0], 0.0);
    }

    #[test]
    fn apply_never_leaves_finite_range() {
        let mut y = [1e15, -3.0];
        assert!(!apply(&mut y, &[f32::MAX, 1.0], 10.0), "an overflowing update is reported");
        assert_eq!(y, [COORD_LIMIT, 7.0]);
        assert!(!apply(&mut y, &[f32::NAN, 0.0], 1.0), "a NaN update is reported");
        assert_eq!(y, [COORD_LIMIT, 7.0]);
        assert!(apply(&mut y, &[0.0, 1.0], 1.0));
        assert_eq!(y, [COORD_LIMIT, 8.0]);
    }
}
