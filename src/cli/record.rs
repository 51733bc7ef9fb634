//! What a headless run records: the alignment metrics and the divergences on
//! a cadence, as CSV rows and as a history for plots.
//!
//! Cadence: unless `--metrics-every` says otherwise, metrics run every K
//! steps with K chosen from a cost model so that they take under 10 % of the
//! flow's time; the first state and the last step are always recorded.

use std::path::Path;

use super::gan::GanColumns;
use crate::engine::divergence::{self, DivergenceProbe, Divergences, StepContext};
use crate::engine::{Cloud, Method, MetricProbe, Metrics, Simulation, StepReport};
use crate::export::history::{HistoryCsv, StepHead};

/// Share of the flow's time metrics may take by default.
pub const METRICS_SHARE: f64 = 0.1;

/// One recorded evaluation.
#[derive(Clone, Debug)]
pub struct Record {
    /// Steps taken when it was recorded (0: the starting clouds).
    pub step: usize,
    pub sigma2: f64,
    pub metrics: Metrics,
    pub divergences: Divergences,
}

/// The probes of one run and what they recorded.
pub struct Recorder {
    probe: MetricProbe,
    divergences: DivergenceProbe,
    cfd_frequencies: usize,
    /// Evaluate every this many steps (None: not yet known, see [`Recorder::every`]).
    every: Option<usize>,
    writer: Option<HistoryCsv>,
    pub history: Vec<Record>,
    /// The GAN view's columns (driver cosine, modes covered), when they apply.
    pub gan: GanColumns,
}

impl Recorder {
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
        let sigma2 = sim.settings().schedule.sigma2(0, sim.settings().steps);
        recorder.evaluate(sim, sigma2, None);
        Ok(recorder)
    }

    /// The cadence, fixed from the first step's cost.
    pub fn every(&mut self, report: &StepReport, sim: &Simulation) -> usize {
        if let Some(every) = self.every {
            return every;
        }
        let cost = self.divergences.total_cost(sim.moving().len(), self.cfd_frequencies);
        let every = divergence::metrics_every(report.kernel_evaluations, cost, METRICS_SHARE);
        self.every = Some(every);
        every
    }

    /// After a step: records when the cadence says so or the run is over.
    /// Returns whether it recorded.
    pub fn after_step(&mut self, sim: &Simulation, report: &StepReport, ms: f64) -> anyhow::Result<bool> {
        let every = self.every(report, sim);
        self.gan.record(report.driver_cosine);
        let done = report.step + 1;
        if !(done.is_multiple_of(every) || sim.is_finished()) {
            return Ok(false);
        }
        let record = self.evaluate(sim, report.sigma2, Some(report)).clone();
        if let Some(w) = self.writer.as_mut() {
            let mut row = StepHead::of_step(report, ms).fields();
            row.extend(record.metrics.values().iter().map(f64::to_string));
            row.extend(record.divergences.values().iter().map(f64::to_string));
            row.extend(self.gan.values(sim.moving()));
            w.write_row(&row)?;
        }
        Ok(true)
    }

    fn evaluate(&mut self, sim: &Simulation, sigma2: f64, report: Option<&StepReport>) -> &Record {
        let settings = sim.settings();
        // RectifiedFlow's own noise level (1 - t)^2 goes to 0; its proxies use
        // the scene's schedule instead, the same sigma as an Sd twin's.
        let sigma2 = if settings.method == Method::RectifiedFlow {
            settings.schedule.sigma2(sim.step_index().saturating_sub(1), settings.steps)
        } else {
            sigma2
        };
        let sd_like = matches!(settings.method, Method::Sd | Method::MmdNormalized) && settings.batch.is_none();
        let ctx = StepContext {
            steps_done: sim.step_index(),
            sigma2,
            sd_eta: report.filter(|_| sd_like).map(|r| r.eta).or(if sd_like { sim.eta() } else { None }),
        };
        let (metrics, _) = self.probe.evaluate(sim.moving());
        let divergences = self.divergences.evaluate(sim.moving(), ctx);
        self.history.push(Record { step: sim.step_index(), sigma2, metrics, divergences });
        &self.history[self.history.len() - 1]
    }

    pub fn first(&self) -> &Record {
        &self.history[0]
    }

    pub fn last(&self) -> &Record {
        &self.history[self.history.len() - 1]
    }

    pub fn finish(&mut self) -> anyhow::Result<()> {
        if let Some(w) = self.writer.as_mut() {
            w.flush()?;
        }
        Ok(())
    }
}

/// A finished headless run.
pub struct Outcome {
    pub sim: Simulation,
    pub recorder: Recorder,
    /// Steps on the full path and on the cut-off.
    pub paths: [usize; 2],
    pub step_seconds: f64,
    pub total_seconds: f64,
    /// The cadence used.
    pub every: usize,
}

/// Runs a scene to its end without a window, recording on the cadence.
pub fn run_headless(
    file: &crate::scene::SceneFile,
    clouds: &crate::scene::Clouds,
    seed: u64,
    every: Option<u64>,
    csv_path: Option<&Path>,
    quiet: bool,
) -> anyhow::Result<Outcome> {
    use indicatif::{ProgressBar, ProgressStyle};
    use std::time::Instant;

    let scene = &file.scene;
    let started = Instant::now();
    let mut sim = scene.simulation(clouds, seed);
    let held_out = file.held_out(seed);
    let gan = GanColumns::new(scene);
    let mut recorder =
        Recorder::new(&sim, gan, held_out.as_ref(), seed, scene.cfd_frequencies, every.map(|k| k as usize), csv_path)?;
    let bar = if quiet { ProgressBar::hidden() } else { ProgressBar::new(scene.steps as u64) };
    bar.set_style(
        ProgressStyle::with_template("{spinner} {bar:40} {pos}/{len} steps  {msg}  [{elapsed_precise} < {eta}]")?
            .progress_chars("=> "),
    );
    let mut step_seconds = 0.0;
    let mut paths = [0usize; 2];
    loop {
        let t = Instant::now();
        let Some(report) = sim.step() else { break };
        step_seconds += t.elapsed().as_secs_f64();
        paths[matches!(report.path, crate::engine::KernelPath::CutOff { .. }) as usize] += 1;
        let ms = step_seconds * 1e3 / (report.step + 1) as f64;
        if recorder.after_step(&sim, &report, ms)? {
            bar.set_message(format!("CFD {:.4}  sigma2 {:.3}", recorder.last().metrics.cfd, report.sigma2));
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    recorder.finish()?;
    let every = recorder.every.unwrap_or(1);
    Ok(Outcome { sim, recorder, paths, step_seconds, total_seconds: started.elapsed().as_secs_f64(), every })
}
