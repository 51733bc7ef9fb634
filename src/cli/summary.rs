//! One finished headless run as data: what `sdflow run` prints, the object
//! `--json` writes, and what `--seeds` aggregates (see [`super::seeds`]).

use std::collections::BTreeMap;

use serde::Serialize;

/// A value before the first step and after the last.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct StartEnd {
    pub start: f64,
    pub end: f64,
}

/// Sizes of the clouds.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Points {
    pub moving: usize,
    pub fixed: usize,
    pub dim: usize,
}

/// Where the time went.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Timings {
    /// Seconds in steps (metrics excluded).
    pub step_seconds: f64,
    pub ms_per_step: f64,
    /// Wall time of the whole run (metrics included).
    pub total_seconds: f64,
}

/// The summary of one run (the `--json` object of `sdflow run`).
#[derive(Clone, Debug, Serialize)]
pub struct RunSummary {
    pub scene: String,
    /// The scene file.
    pub path: String,
    /// `particles` (a flow of the moving cloud) or `generator` (Algorithm 2).
    pub kind: &'static str,
    pub method: &'static str,
    pub direction: String,
    pub seed: u64,
    /// Steps taken.
    pub steps: usize,
    pub points: Points,
    /// Every metric at step 0 and at the last step, by its CSV column name.
    pub metrics: BTreeMap<String, StartEnd>,
    /// The sigma^2 of the last step (null before any step).
    pub sigma2_end: f64,
    /// Steps per kernel path (`full`, `gemm`, `cut-off`).
    pub kernel_paths: BTreeMap<&'static str, usize>,
    /// Kernel evaluations of all steps: queries x centres summed over each
    /// step's kernel sums (a cut-off step counts the full sums).
    pub kernel_evaluations: u64,
    /// Updates dropped because they were not finite (null for a generator,
    /// whose parameters are kept finite instead).
    pub non_finite: Option<u64>,
    pub timings: Timings,
    /// Metrics were evaluated every this many steps (and at step 0 and the end).
    pub metrics_every: usize,
    /// The recorded values, for plots and seed aggregates.
    #[serde(skip)]
    pub curve: Curve,
    /// The text summary, line by line.
    #[serde(skip)]
    pub text: Vec<String>,
}

/// The values recorded on a run's cadence, step 0 first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Curve {
    /// Column names, in the order of each row's `values`.
    pub names: Vec<String>,
    pub rows: Vec<CurveRow>,
}

/// One recorded state.
#[derive(Clone, Debug, PartialEq)]
pub struct CurveRow {
    /// Steps taken (0: the start).
    pub step: usize,
    /// Seconds spent in steps so far.
    pub seconds: f64,
    /// Kernel evaluations so far.
    pub kernel_evaluations: u64,
    pub values: Vec<f64>,
}

impl Curve {
    /// The start and end of every column (NaN for a run with no rows).
    pub fn start_end(&self) -> BTreeMap<String, StartEnd> {
        let at = |row: Option<&CurveRow>, k: usize| row.map_or(f64::NAN, |r| r.values[k]);
        self.names
            .iter()
            .enumerate()
            .map(|(k, name)| (name.clone(), StartEnd { start: at(self.rows.first(), k), end: at(self.rows.last(), k) }))
            .collect()
    }
}

impl RunSummary {
    /// The summary as one JSON line.
    pub fn to_json(&self) -> anyhow::Result<String> {
        Ok(serde_json::to_string(self)?)
    }
}
