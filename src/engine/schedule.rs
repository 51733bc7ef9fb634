//! Noise schedules sigma^2(step) for the noise-smoothed proxies of the paper.
//!
//! The cosine schedule is the one of the paper's App. E.1:
//! gamma(t) = sigma2_max * cos(pi t / 2) at `T` evenly spaced t in [0, t_max],
//! t_max = (2 / pi) * arccos(sigma2_min / sigma2_max), so the first step uses
//! sigma2_max and the last sigma2_min.

use serde::{Deserialize, Serialize};

/// How the noise variance sigma^2 changes over the `T` steps of a run.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub enum Schedule {
    /// App. E.1: sigma2_max * cos(pi t / 2), t evenly spaced in [0, t_max].
    Cosine { sigma2_max: f64, sigma2_min: f64 },
    /// The same sigma^2 at every step.
    Constant { sigma2: f64 },
    /// sigma^2 falls linearly from sigma2_max to sigma2_min.
    Linear { sigma2_max: f64, sigma2_min: f64 },
    /// sigma^2 falls by a constant factor per step from sigma2_max to sigma2_min.
    Geometric { sigma2_max: f64, sigma2_min: f64 },
    /// App. E.4: a constant sigma^2 = `factor` x the mean distance from the
    /// initial moving cloud to its nearest target point ("10 times the
    /// average distance ... sigma^2 > 700"), computed once at the start; see
    /// [`Schedule::resolve`]. Unresolved, [`Schedule::sigma2`] gives `factor`.
    FromNearest { factor: f64 },
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule::Cosine { sigma2_max: 4.0, sigma2_min: 0.5 }
    }
}

/// A problem with schedule parameters, phrased as what to change.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ScheduleError {
    #[error("`{field}` is {value}; it must be a finite number > 0")]
    NotPositive { field: &'static str, value: f64 },
    #[error("`{field}` is {value}; f32 kernels represent sigma^2 only from {lo:e} to {hi:e}", lo = super::kernel::SIGMA2_RANGE.0, hi = super::kernel::SIGMA2_RANGE.1)]
    OutOfRange { field: &'static str, value: f64 },
    #[error("`sigma2_min` ({min}) is larger than `sigma2_max` ({max}); swap them or lower `sigma2_min`")]
    MinAboveMax { min: f64, max: f64 },
}

impl Schedule {
    /// The schedule's name as written in scene files.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Schedule::Cosine { .. } => "Cosine",
            Schedule::Constant { .. } => "Constant",
            Schedule::Linear { .. } => "Linear",
            Schedule::Geometric { .. } => "Geometric",
            Schedule::FromNearest { .. } => "FromNearest",
        }
    }

    /// Every problem with the parameters (empty when valid).
    pub fn problems(&self) -> Vec<ScheduleError> {
        let (lo, hi) = super::kernel::SIGMA2_RANGE;
        let positive = |field, value: f64| {
            if !(value.is_finite() && value > 0.0) {
                Some(ScheduleError::NotPositive { field, value })
            } else {
                (!(lo..=hi).contains(&value)).then_some(ScheduleError::OutOfRange { field, value })
            }
        };
        match *self {
            Schedule::Constant { sigma2 } => positive("sigma2", sigma2).into_iter().collect(),
            Schedule::FromNearest { factor } => positive("factor", factor).into_iter().collect(),
            Schedule::Cosine { sigma2_max, sigma2_min }
            | Schedule::Linear { sigma2_max, sigma2_min }
            | Schedule::Geometric { sigma2_max, sigma2_min } => {
                let mut out: Vec<_> = [positive("sigma2_max", sigma2_max), positive("sigma2_min", sigma2_min)]
                    .into_iter()
                    .flatten()
                    .collect();
                if out.is_empty() && sigma2_min > sigma2_max {
                    out.push(ScheduleError::MinAboveMax { min: sigma2_min, max: sigma2_max });
                }
                out
            }
        }
    }

    /// `FromNearest` as the constant it stands for, given the mean distance
    /// from the initial moving cloud to its nearest target point (computed
    /// only for `FromNearest`); every other schedule unchanged.
    pub fn resolve(self, mean_nearest_distance: impl FnOnce() -> f64) -> Schedule {
        match self {
            // Kept > 0 even if the clouds start on top of each other.
            Schedule::FromNearest { factor } => {
                Schedule::Constant { sigma2: (factor * mean_nearest_distance()).max(f64::MIN_POSITIVE) }
            }
            s => s,
        }
    }

    /// sigma^2 at `step` (0-based) of a run of `steps` steps. Steps past the end
    /// keep the last value. The endpoints are returned exactly.
    pub fn sigma2(&self, step: usize, steps: usize) -> f64 {
        let last = steps.saturating_sub(1);
        let step = step.min(last);
        // Fraction of the run done, in [0, 1].
        let u = if last == 0 { 0.0 } else { step as f64 / last as f64 };
        match *self {
            Schedule::Constant { sigma2 } => sigma2,
            Schedule::FromNearest { factor } => factor,
            Schedule::Cosine { sigma2_max, sigma2_min } => {
                if step == last && last > 0 {
                    return sigma2_min;
                }
                let t_max = std::f64::consts::FRAC_2_PI * (sigma2_min / sigma2_max).clamp(-1.0, 1.0).acos();
                let t = u * t_max;
                sigma2_max * (std::f64::consts::FRAC_PI_2 * t).cos()
            }
            Schedule::Linear { sigma2_max, sigma2_min } => {
                if step == last && last > 0 {
                    return sigma2_min;
                }
                sigma2_max + (sigma2_min - sigma2_max) * u
            }
            Schedule::Geometric { sigma2_max, sigma2_min } => {
                if step == last && last > 0 {
                    return sigma2_min;
                }
                sigma2_max * (sigma2_min / sigma2_max).powf(u)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_hits_both_ends_exactly_and_follows_app_e1() {
        let s = Schedule::Cosine { sigma2_max: 4.0, sigma2_min: 0.5 };
        let steps = 500;
        assert_eq!(s.sigma2(0, steps), 4.0);
        assert_eq!(s.sigma2(steps - 1, steps), 0.5);
        // Interior points follow gamma(t) = sigma2_max cos(pi t / 2).
        let t_max = 2.0 / std::f64::consts::PI * (0.5f64 / 4.0).acos();
        let k = 137;
        let t = k as f64 / (steps - 1) as f64 * t_max;
        let expected = 4.0 * (std::f64::consts::PI * t / 2.0).cos();
        assert!((s.sigma2(k, steps) - expected).abs() < 1e-12);
        // Formula itself lands on sigma2_min at t_max up to rounding.
        assert!((4.0 * (std::f64::consts::PI * t_max / 2.0).cos() - 0.5).abs() < 1e-12);
        // Monotone decreasing.
        for k in 1..steps {
            assert!(s.sigma2(k, steps) < s.sigma2(k - 1, steps));
        }
    }

    #[test]
    fn linear_and_geometric_interpolate() {
        let l = Schedule::Linear { sigma2_max: 10.0, sigma2_min: 0.0 + 2.0 };
        assert_eq!(l.sigma2(0, 5), 10.0);
        assert_eq!(l.sigma2(2, 5), 6.0);
        assert_eq!(l.sigma2(4, 5), 2.0);
        let g = Schedule::Geometric { sigma2_max: 8.0, sigma2_min: 0.5 };
        assert!((g.sigma2(2, 5) - 2.0).abs() < 1e-12);
        assert_eq!(g.sigma2(4, 5), 0.5);
    }

    #[test]
    fn bad_parameters_are_reported() {
        let bad = Schedule::Cosine { sigma2_max: 0.5, sigma2_min: 4.0 };
        assert_eq!(bad.problems(), vec![ScheduleError::MinAboveMax { min: 4.0, max: 0.5 }]);
        let zero = Schedule::Constant { sigma2: 0.0 };
        assert_eq!(zero.problems().len(), 1);
        let huge = Schedule::Constant { sigma2: 1e37 };
        assert_eq!(huge.problems(), vec![ScheduleError::OutOfRange { field: "sigma2", value: 1e37 }]);
        let tiny = Schedule::Cosine { sigma2_max: 1.0, sigma2_min: 1e-35 };
        assert_eq!(tiny.problems(), vec![ScheduleError::OutOfRange { field: "sigma2_min", value: 1e-35 }]);
        assert!(Schedule::default().problems().is_empty());
    }
}
