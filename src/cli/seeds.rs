//! Fair comparisons over seeds: one scene run on seeds s, s+1, ..., its
//! metrics summarised as mean and min-max, and its curves as a mean with a
//! min-max band. Plain data in, plain data out, so any front end (the CLI,
//! a Python binding) can use it.

use std::collections::BTreeMap;

use serde::Serialize;

use super::summary::{Curve, RunSummary};

/// Mean, smallest and largest value over the seeds (NaN when any is NaN:
/// a metric that failed on one seed is not averaged away).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Stat {
    pub mean: f64,
    pub min: f64,
    pub max: f64,
}

impl Stat {
    /// The statistics of `values` (all NaN for none).
    pub fn of(values: &[f64]) -> Self {
        if values.is_empty() || values.iter().any(|v| v.is_nan()) {
            return Self { mean: f64::NAN, min: f64::NAN, max: f64::NAN };
        }
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        Self { mean, min, max }
    }
}

/// A curve over seeds: at each step every run recorded, the mean and range.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Band {
    pub names: Vec<String>,
    pub rows: Vec<BandRow>,
}

/// One step of a [`Band`].
#[derive(Clone, Debug, PartialEq)]
pub struct BandRow {
    pub step: usize,
    /// Mean seconds spent in steps so far.
    pub seconds: f64,
    /// Mean kernel evaluations so far.
    pub kernel_evaluations: f64,
    /// One [`Stat`] per name.
    pub values: Vec<Stat>,
}

impl Band {
    /// The band of `curves`: rows at the steps every curve recorded, columns
    /// the names every curve has (in the first curve's order).
    pub fn of(curves: &[&Curve]) -> Self {
        let Some(first) = curves.first() else { return Self::default() };
        let names: Vec<String> =
            first.names.iter().filter(|n| curves.iter().all(|c| c.names.contains(n))).cloned().collect();
        let column = |c: &Curve, name: &str| c.names.iter().position(|n| n == name);
        let rows = first
            .rows
            .iter()
            .filter_map(|head| {
                let at: Vec<_> = curves.iter().map(|c| c.rows.iter().find(|r| r.step == head.step)).collect();
                let at: Vec<_> = at.into_iter().collect::<Option<Vec<_>>>()?;
                let mean = |f: &dyn Fn(&super::summary::CurveRow) -> f64| {
                    at.iter().map(|r| f(r)).sum::<f64>() / at.len() as f64
                };
                let values = names
                    .iter()
                    .map(|name| {
                        let vs: Vec<f64> = curves
                            .iter()
                            .zip(&at)
                            .map(|(c, r)| column(c, name).map_or(f64::NAN, |k| r.values[k]))
                            .collect();
                        Stat::of(&vs)
                    })
                    .collect();
                Some(BandRow {
                    step: head.step,
                    seconds: mean(&|r| r.seconds),
                    kernel_evaluations: mean(&|r| r.kernel_evaluations as f64),
                    values,
                })
            })
            .collect();
        Self { names, rows }
    }
}

/// A scene's runs over seeds, summarised (the `--json` object of
/// `sdflow run --seeds N`).
#[derive(Clone, Debug, Serialize)]
pub struct SeedSummary {
    pub scene: String,
    pub path: String,
    pub kind: &'static str,
    pub method: &'static str,
    pub seeds: Vec<u64>,
    pub steps: usize,
    /// Each metric at step 0, over the seeds.
    pub start: BTreeMap<String, Stat>,
    /// Each metric at the last step, over the seeds.
    pub end: BTreeMap<String, Stat>,
    pub sigma2_end: Stat,
    pub non_finite: Stat,
    pub kernel_evaluations: Stat,
    pub ms_per_step: Stat,
    pub total_seconds: Stat,
    /// The curves' mean and range, for plots.
    #[serde(skip)]
    pub band: Band,
}

/// Summarises the runs of one scene over seeds (None for no runs).
pub fn aggregate(runs: &[RunSummary]) -> Option<SeedSummary> {
    let first = runs.first()?;
    let over = |f: &dyn Fn(&RunSummary) -> f64| Stat::of(&runs.iter().map(f).collect::<Vec<_>>());
    let per_metric = |end: bool| -> BTreeMap<String, Stat> {
        first
            .metrics
            .keys()
            .map(|name| {
                let pick = |r: &RunSummary| r.metrics.get(name).map_or(f64::NAN, |v| if end { v.end } else { v.start });
                (name.clone(), over(&pick))
            })
            .collect()
    };
    Some(SeedSummary {
        scene: first.scene.clone(),
        path: first.path.clone(),
        kind: first.kind,
        method: first.method,
        seeds: runs.iter().map(|r| r.seed).collect(),
        steps: first.steps,
        start: per_metric(false),
        end: per_metric(true),
        sigma2_end: over(&|r| r.sigma2_end),
        non_finite: over(&|r| r.non_finite.map_or(f64::NAN, |n| n as f64)),
        kernel_evaluations: over(&|r| r.kernel_evaluations as f64),
        ms_per_step: over(&|r| r.timings.ms_per_step),
        total_seconds: over(&|r| r.timings.total_seconds),
        band: Band::of(&runs.iter().map(|r| &r.curve).collect::<Vec<_>>()),
    })
}

/// The seeds `base`, `base + 1`, ..., `count` of them (wrapping at u64::MAX).
pub fn seed_range(base: u64, count: u64) -> Vec<u64> {
    (0..count).map(|k| base.wrapping_add(k)).collect()
}

/// Runs `one` for every seed, in parallel over the rayon pool. Each run owns
/// its state and is seeded by its seed alone, so the results (in seed order)
/// do not depend on how the seeds are scheduled.
pub fn run_all<T: Send, E: Send>(seeds: &[u64], one: impl Fn(u64) -> Result<T, E> + Sync) -> Result<Vec<T>, E> {
    use rayon::prelude::*;
    seeds.par_iter().map(|&s| one(s)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::summary::{CurveRow, Points, Timings};

    fn curve(steps: &[usize], scale: f64) -> Curve {
        Curve {
            names: vec!["cfd".into(), "kl_qp".into()],
            rows: steps
                .iter()
                .map(|&s| CurveRow {
                    step: s,
                    seconds: s as f64 * scale,
                    kernel_evaluations: 100 * s as u64,
                    values: vec![scale / (1 + s) as f64, scale * s as f64],
                })
                .collect(),
        }
    }

    fn run(seed: u64, scale: f64) -> RunSummary {
        let curve = curve(&[0, 5, 10], scale);
        RunSummary {
            scene: "s".into(),
            path: "s.ron".into(),
            kind: "particles",
            method: "Sd",
            direction: "Forward".into(),
            seed,
            steps: 10,
            points: Points { moving: 1, fixed: 1, dim: 2 },
            metrics: curve.start_end(),
            sigma2_end: 0.5,
            kernel_paths: BTreeMap::new(),
            kernel_evaluations: 1000,
            non_finite: Some(seed),
            timings: Timings { step_seconds: scale, ms_per_step: scale, total_seconds: scale },
            metrics_every: 5,
            curve,
            text: Vec::new(),
        }
    }

    #[test]
    fn stats_are_mean_min_and_max_and_nan_is_kept() {
        assert_eq!(Stat::of(&[1.0, 4.0, 2.5]), Stat { mean: 2.5, min: 1.0, max: 4.0 });
        assert!(Stat::of(&[1.0, f64::NAN]).mean.is_nan());
        assert!(Stat::of(&[]).min.is_nan());
    }

    #[test]
    fn runs_aggregate_per_metric_and_per_step() {
        let runs = [run(3, 1.0), run(4, 2.0), run(5, 6.0)];
        let s = aggregate(&runs).expect("runs");
        assert_eq!(s.seeds, [3, 4, 5]);
        // cfd at step 10 is scale / 11; kl_qp at step 0 is 0.
        let end = s.end["cfd"];
        assert!((end.mean - 3.0 / 11.0).abs() < 1e-12, "{end:?}");
        assert_eq!((end.min, end.max), (1.0 / 11.0, 6.0 / 11.0));
        assert_eq!(s.start["kl_qp"], Stat { mean: 0.0, min: 0.0, max: 0.0 });
        assert_eq!(s.non_finite, Stat { mean: 4.0, min: 3.0, max: 5.0 });
        assert_eq!(s.band.rows.len(), 3);
        let mid = &s.band.rows[1];
        assert_eq!((mid.step, mid.seconds, mid.kernel_evaluations), (5, 15.0, 500.0));
        assert_eq!(mid.values[1], Stat { mean: 15.0, min: 5.0, max: 30.0 });
    }

    #[test]
    fn a_band_keeps_only_steps_every_run_recorded() {
        let (a, b) = (curve(&[0, 5, 10], 1.0), curve(&[0, 10], 3.0));
        let band = Band::of(&[&a, &b]);
        assert_eq!(band.rows.iter().map(|r| r.step).collect::<Vec<_>>(), [0, 10]);
        assert_eq!(band.rows[0].values[0], Stat { mean: 2.0, min: 1.0, max: 3.0 });
    }

    #[test]
    fn seeds_count_up_from_the_base_in_order() {
        assert_eq!(seed_range(7, 3), [7, 8, 9]);
        assert_eq!(seed_range(u64::MAX, 2), [u64::MAX, 0]);
        let out: Result<Vec<u64>, ()> = run_all(&seed_range(10, 16), |s| Ok(s * s));
        assert_eq!(out, Ok((10..26).map(|s| s * s).collect()));
        let failed: Result<Vec<u64>, u64> = run_all(&[1, 2, 3], |s| if s == 2 { Err(s) } else { Ok(s) });
        assert_eq!(failed, Err(2));
    }
}
