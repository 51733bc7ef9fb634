//! The metric log of a headless run: the alignment metrics and the divergences on
//! a cadence, as CSV rows and as a history for plots.
//!
//! Cadence: unless `--metrics-every` says otherwise, metrics run every K
//! steps with K chosen from a cost model so that they take under 10 % of the
//! flow's time; the first state (step 0, also the first CSV row) and the
//! last step are always recorded.

use std::path::Path;

use super::gan::GanColumns;
use super::summary::{Curve, CurveRow, Points, RunSummary, Timings};
use crate::engine::metrics::metrics_every;
use crate::engine::{Cloud, DivergenceProbe, Divergences, MetricProbe, Metrics, Simulation, StepContext, StepReport};
use crate::export::history::{HistoryCsv, StepHead};

/// Share of the flow's time metrics may take by default.
pub const METRICS_SHARE: f64 = 0.1;

/// One recorded evaluation.
#[derive(Clone, Debug)]
pub struct MetricRow {
    /// Steps taken when it was recorded (0: the starting clouds).
    pub step: usize,
    /// Seconds spent in steps so far (metrics excluded).
    pub seconds: f64,
    /// Kernel evaluations so far ([`StepReport::kernel_evaluations`] summed).
    pub kernel_evaluations: u64,
    pub sigma2: f64,
    pub metrics: Metrics,
    pub divergences: Divergences,
}

/// The probes of one run and what they recorded.
pub struct MetricLog {
    probe: MetricProbe,
    divergences: DivergenceProbe,
    cfd_frequencies: usize,
    /// Evaluate every this many steps (None: not yet known, see [`MetricLog::every`]).
    every: Option<usize>,
    writer: Option<HistoryCsv>,
    pub history: Vec<MetricRow>,
    /// The GAN view's columns (driver cosine, modes covered), when they apply.
    pub gan: GanColumns,
}

impl MetricLog {
    /// Probes for `sim`'s fixed cloud; `held_out` is a second sample of it.
    pub fn new(
        sim: &Simulation,
        gan: GanColumns,
        held_out: Option<&Cloud>,
        seed: u64,
        cfd_frequencies: usize,
        every: Option<usize>,
        csv_path: Option<&Path>,
    ) -> anyhow::Result<Self> {
        let probe = MetricProbe::new(sim.fixed(), seed, cfd_frequencies);
        let divergences = DivergenceProbe::new(sim.fixed(), held_out, seed, cfd_frequencies);
        let writer = match csv_path {
            Some(path) => {
                let mut header = StepHead::NAMES.to_vec();
                header.extend(Metrics::NAMES);
                header.extend(Divergences::NAMES);
                header.extend(gan.names());
                Some(HistoryCsv::create(path, &header)?)
            }
            None => None,
        };
        let mut recorder = Self { probe, divergences, cfd_frequencies, every, writer, history: Vec::new(), gan };
        let start = recorder.evaluate(sim, None, Clock::default()).clone();
        if let Some(w) = recorder.writer.as_mut() {
            let mut row = StepHead::start_fields(start.sigma2);
            row.extend(start.metrics.values().iter().map(f64::to_string));
            row.extend(start.divergences.values().iter().map(f64::to_string));
            row.extend(recorder.gan.values(sim.moving()));
            w.write_row(&row)?;
        }
        Ok(recorder)
    }

    /// The cadence, fixed from the first step's cost.
    pub fn every(&mut self, report: &StepReport, sim: &Simulation) -> usize {
        if let Some(every) = self.every {
            return every;
        }
        let cost = self.divergences.total_cost(sim.moving().len(), self.cfd_frequencies);
        let every = metrics_every(report.kernel_evaluations, cost, METRICS_SHARE);
        self.every = Some(every);
        every
    }

    /// After a step: records when the cadence says so or the run is over.
    /// Returns whether it recorded.
    pub fn after_step(&mut self, sim: &Simulation, report: &StepReport, clock: Clock) -> anyhow::Result<bool> {
        let every = self.every(report, sim);
        self.gan.record(report.driver_cosine);
        let done = report.step + 1;
        if !(done.is_multiple_of(every) || sim.is_finished()) {
            return Ok(false);
        }
        let record = self.evaluate(sim, Some(report), clock).clone();
        if let Some(w) = self.writer.as_mut() {
            let ms = clock.seconds * 1e3 / done as f64;
            let mut row = StepHead::of_step(report, ms).fields();
            row.extend(record.metrics.values().iter().map(f64::to_string));
            row.extend(record.divergences.values().iter().map(f64::to_string));
            row.extend(self.gan.values(sim.moving()));
            w.write_row(&row)?;
        }
        Ok(true)
    }

    /// Evaluates `sim` as it stands; `report` is the step just taken (None at
    /// the start). The noise level and step size follow [`StepContext::after`].
    fn evaluate(&mut self, sim: &Simulation, report: Option<&StepReport>, clock: Clock) -> &MetricRow {
        let ctx = StepContext::after(sim, report);
        let sigma2 = ctx.sigma2;
        let (metrics, _) = self.probe.evaluate(sim.moving());
        let divergences = self.divergences.evaluate(sim.moving(), ctx);
        let Clock { seconds, kernel_evaluations } = clock;
        self.history.push(MetricRow {
            step: sim.step_index(),
            seconds,
            kernel_evaluations,
            sigma2,
            metrics,
            divergences,
        });
        &self.history[self.history.len() - 1]
    }

    pub fn first(&self) -> &MetricRow {
        &self.history[0]
    }

    pub fn last(&self) -> &MetricRow {
        &self.history[self.history.len() - 1]
    }

    pub fn finish(&mut self) -> anyhow::Result<()> {
        if let Some(w) = self.writer.as_mut() {
            w.finish()?;
        }
        Ok(())
    }
}

/// How far a run has gone in time and in work, for the curves' x axes.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Clock {
    /// Seconds spent in steps (metrics excluded).
    pub seconds: f64,
    /// Kernel evaluations of the steps taken.
    pub kernel_evaluations: u64,
}

/// A finished headless run.
pub struct Outcome {
    pub sim: Simulation,
    pub recorder: MetricLog,
    /// Steps on the full path and on the cut-off.
    pub paths: [usize; 2],
    /// Steps per kernel path ([`crate::engine::KernelPath::name`]).
    pub path_counts: std::collections::BTreeMap<&'static str, usize>,
    /// Kernel evaluations of all steps.
    pub kernel_evaluations: u64,
    /// The last step's report (None when no step was taken).
    pub last_report: Option<StepReport>,
    pub step_seconds: f64,
    pub total_seconds: f64,
    /// The cadence used.
    pub every: usize,
}

/// Runs `sim`, the scene's particle flow on `seed`, to its end without a
/// window, recording on the cadence.
pub fn run_headless(
    file: &crate::scene::SceneFile,
    mut sim: Simulation,
    seed: u64,
    every: Option<u64>,
    csv_path: Option<&Path>,
    bar: &indicatif::ProgressBar,
) -> anyhow::Result<Outcome> {
    use std::time::Instant;

    let scene = &file.scene;
    let started = Instant::now();
    let held_out = file.held_out(seed);
    let gan = GanColumns::new(scene);
    let mut recorder =
        MetricLog::new(&sim, gan, held_out.as_ref(), seed, scene.cfd_frequencies, every.map(|k| k as usize), csv_path)?;
    let mut clock = Clock::default();
    let mut paths = [0usize; 2];
    let mut path_counts = std::collections::BTreeMap::new();
    let mut last_report = None;
    loop {
        let t = Instant::now();
        let Some(report) = sim.step() else { break };
        clock.seconds += t.elapsed().as_secs_f64();
        clock.kernel_evaluations += report.kernel_evaluations;
        paths[matches!(report.path, crate::engine::KernelPath::CutOff { .. }) as usize] += 1;
        *path_counts.entry(report.path.name()).or_insert(0) += 1;
        last_report = Some(report);
        if recorder.after_step(&sim, &report, clock)? {
            bar.set_message(format!("CFD {:.4}  sigma2 {:.3}", recorder.last().metrics.cfd, report.sigma2));
        }
        bar.inc(1);
    }
    recorder.finish()?;
    let every = recorder.every.unwrap_or(1);
    Ok(Outcome {
        sim,
        recorder,
        paths,
        path_counts,
        kernel_evaluations: clock.kernel_evaluations,
        last_report,
        step_seconds: clock.seconds,
        total_seconds: started.elapsed().as_secs_f64(),
        every,
    })
}

/// The summary of a finished particle run on `seed`: the `--json` object,
/// the curve of every recorded metric, and the text lines.
pub fn summarise(
    file: &crate::scene::SceneFile,
    clouds: &crate::scene::Clouds,
    seed: u64,
    outcome: &Outcome,
) -> RunSummary {
    let scene = &file.scene;
    let (sim, rec) = (&outcome.sim, &outcome.recorder);
    let mut names: Vec<String> = Metrics::NAMES.iter().chain(&Divergences::NAMES).map(|n| n.to_string()).collect();
    let start_cloud = scene.fixed_and_moving(clouds).1;
    // Modes are counted at the start and the end only.
    let modes = rec.gan.modes_covered(start_cloud).zip(rec.gan.modes_covered(sim.moving()));
    let last_step = sim.step_index();
    let rows = rec
        .history
        .iter()
        .map(|r| {
            let mut values: Vec<f64> =
                r.metrics.values().iter().chain(r.divergences.values().iter()).copied().collect();
            values.extend(modes.map(|(a, b)| match r.step {
                0 => a,
                s if s == last_step => b,
                _ => f64::NAN,
            }));
            CurveRow { step: r.step, seconds: r.seconds, kernel_evaluations: r.kernel_evaluations, values }
        })
        .collect();
    if modes.is_some() {
        names.push("modes_covered".into());
    }
    let curve = Curve { names, rows };
    let steps = sim.step_index();
    let ms_per_step = outcome.step_seconds * 1e3 / steps.max(1) as f64;
    let (initial, last) = (&rec.first().metrics, &rec.last().metrics);
    let mut text = vec![
        format!("scene        {} ({})", scene.name, file.path.display()),
        format!(
            "run          {} {:?}, {} moving -> {} fixed points in {}-D, seed {}",
            scene.method.name(),
            scene.direction,
            sim.moving().len(),
            sim.fixed().len(),
            sim.moving().dim(),
            seed
        ),
    ];
    text.extend(rec.gan.summary(start_cloud, sim.moving()));
    text.push(format!("CFD          {:.6} -> {:.6}", initial.cfd, last.cfd));
    text.extend(summary_lines(initial, last));
    let (d0, d1) = (rec.first().divergences.values(), rec.last().divergences.values());
    for (k, name) in Divergences::NAMES.iter().enumerate() {
        text.push(format!("{name:<18} {:.6} -> {:.6}", d0[k], d1[k]));
    }
    text.push(format!(
        "steps        {} ({} full, {} cut-off), {:.3} ms per step",
        steps, outcome.paths[0], outcome.paths[1], ms_per_step
    ));
    text.push(format!("metrics      {} evaluations, every {} steps", rec.history.len(), outcome.every));
    text.push(format!("non-finite   {} updates dropped", sim.non_finite()));
    text.push(format!("total time   {:.3} s (metrics included)", outcome.total_seconds));
    RunSummary {
        scene: scene.name.clone(),
        path: file.path.display().to_string(),
        kind: "particles",
        method: scene.method.name(),
        direction: format!("{:?}", scene.direction),
        seed,
        steps,
        points: Points { moving: sim.moving().len(), fixed: sim.fixed().len(), dim: sim.moving().dim() },
        metrics: curve.start_end(),
        sigma2_end: outcome.last_report.map_or(f64::NAN, |r| r.sigma2),
        kernel_paths: outcome.path_counts.clone(),
        kernel_evaluations: outcome.kernel_evaluations,
        non_finite: Some(sim.non_finite()),
        timings: Timings { step_seconds: outcome.step_seconds, ms_per_step, total_seconds: outcome.total_seconds },
        metrics_every: outcome.every,
        curve,
        text,
    }
}

/// The summary's outlier and moment-error lines, from start to end (the run
/// and the trainer print them alike).
pub(super) fn summary_lines(initial: &Metrics, last: &Metrics) -> [String; 3] {
    [
        format!("outliers     {:.2}% -> {:.2}%", 100.0 * initial.outlier_fraction, 100.0 * last.outlier_fraction),
        format!("mean error   {:.4} -> {:.4}", initial.mean_error, last.mean_error),
        format!("cov error    {:.4} -> {:.4}", initial.cov_error, last.cov_error),
    ]
}
