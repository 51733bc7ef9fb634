//! Scene rules for the theory features: SdDenoiser's rho, the kernel
//! variances f32 represents, RectifiedFlow's assumptions (warnings, not
//! errors), and the held-out second sample of a generated target.

use super::{Scene, SceneFile};
use crate::engine::kernel::SIGMA2_RANGE;
use crate::engine::{Bandwidth, Cloud, Dataset, Direction, Method, Rho, Schedule, StepSize};

/// Stream id of the held-out sample (the clouds use 1 and 2).
const HELD_OUT_STREAM: u64 = 3;

impl Scene {
    /// Problems with `rho`, a fixed bandwidth's range and SdDenoiser's step.
    pub(super) fn theory_problems(&self) -> Vec<(Vec<&'static str>, String)> {
        let mut out = Vec::new();
        let (lo, hi) = SIGMA2_RANGE;
        if let Bandwidth::Fixed { sigma2 } = self.bandwidth
            && sigma2.is_finite()
            && sigma2 > 0.0
            && !(lo..=hi).contains(&sigma2)
        {
            out.push((
                vec!["bandwidth", "sigma2"],
                format!("`sigma2` is {sigma2}; f32 kernels represent sigma^2 only from {lo:e} to {hi:e}"),
            ));
        }
        if self.rho != Rho::StepSize && self.method != Method::SdDenoiser {
            out.push((
                vec!["rho"],
                format!("`rho` is only for SdDenoiser (eq. 16); remove it for {}", self.method.name()),
            ));
        }
        match self.rho {
            Rho::Fixed(rho) if !(rho.is_finite() && rho > 0.0 && rho <= 1.0) => out.push((
                vec!["rho"],
                format!("`rho` is {rho}; eq. 16 is a step toward the denoiser only for rho in (0, 1], e.g. Fixed(0.05)"),
            )),
            Rho::Diffusion if !schedule_falls(&self.schedule) => out.push((
                vec!["rho"],
                "`Diffusion` takes rho_t = 1 - sigma^2_{t+1} / sigma^2_t, which is 0 on a flat schedule; use a falling schedule (sigma2_min < sigma2_max) or Fixed(rho)".into(),
            )),
            Rho::StepSize if self.method == Method::SdDenoiser => {
                if let StepSize::Fixed { eta } = self.step_size
                    && eta > 2.0
                {
                    out.push((
                        vec!["step_size", "eta"],
                        format!("SdDenoiser steps with rho = eta / 2 = {}, above 1 (past the denoiser); use eta <= 2 or `rho: Fixed(..)`", eta / 2.0),
                    ));
                }
            }
            _ => {}
        }
        out
    }

    /// What the scene asks that its method will not do: shown by the CLI and
    /// the app next to the run, never an error.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.method == Method::RectifiedFlow {
            let moving = match self.direction {
                Direction::Forward => self.source.as_ref(),
                Direction::Reverse => Some(&self.target),
            };
            if !moving.is_some_and(is_standard_normal) {
                out.push(
                    "RectifiedFlow assumes the moving cloud is X0 ~ N(0, I) (Gaussian(mean: [0, ..], std: 1.0)); with this one it still runs, but the velocity is not the ideal flow of its interpolation".into(),
                );
            }
            out.push(
                "RectifiedFlow ignores `schedule` and `step_size`: it takes `steps` Euler steps over t in [0, 1)"
                    .into(),
            );
            if self.batch.is_some() {
                out.push("RectifiedFlow ignores `batch`: every point moves every step".into());
            }
        }
        if self.method == Method::SdDenoiser && self.rho != Rho::StepSize && self.step_size != StepSize::default() {
            out.push("SdDenoiser with `rho` ignores `step_size`: rho sets each step".into());
        }
        out
    }
}

impl SceneFile {
    /// A second sample of the cloud the flow aims at, drawn with an
    /// independent stream, for the held-out memorisation check. None when that
    /// cloud is read from a file (no second sample exists).
    pub fn held_out(&self, seed: u64) -> Option<Cloud> {
        let data = match self.scene.direction {
            Direction::Forward => &self.scene.target,
            Direction::Reverse => self.scene.source.as_ref()?,
        };
        if matches!(data, Dataset::Csv { .. } | Dataset::Npy { .. }) {
            return None;
        }
        let mut rng = crate::engine::rng::seeded(seed.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ HELD_OUT_STREAM);
        data.generate(&mut rng)
    }
}

fn schedule_falls(schedule: &Schedule) -> bool {
    match *schedule {
        Schedule::Constant { .. } | Schedule::FromNearest { .. } => false,
        Schedule::Cosine { sigma2_max, sigma2_min }
        | Schedule::Linear { sigma2_max, sigma2_min }
        | Schedule::Geometric { sigma2_max, sigma2_min } => sigma2_min < sigma2_max,
    }
}

fn is_standard_normal(data: &Dataset) -> bool {
    matches!(data, Dataset::Gaussian { mean, std, .. } if *std == 1.0 && mean.iter().all(|&m| m == 0.0))
}
