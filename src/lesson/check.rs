//! Measuring a lesson's claims: each scene a check names runs headless with
//! its own seed, once, up to the largest step its checks read, and the
//! metrics are evaluated exactly at those steps. Returns data; the CLI prints.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;

use super::{Bound, LessonFile, metric_index};
use crate::cli::gan::GanColumns;
use crate::cli::metric_log::{MetricLog, MetricRow};
use anyhow::Context;

use crate::engine::metrics::compare_linear;
use crate::engine::{Cloud, Divergences, MetricProbe, Metrics, Trainer};
use crate::scene::SceneFile;

/// One check, measured.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// Lesson step (0-based) and check within it.
    pub step_index: usize,
    pub check_index: usize,
    pub claim: String,
    pub metric: String,
    pub run: usize,
    pub step: usize,
    pub bound: Bound,
    pub value: f64,
    /// The compared run's value, for `below_run` / `above_run`.
    pub other: Option<f64>,
    pub holds: bool,
}

/// Every metric column of one run at the steps read.
type Columns = BTreeMap<usize, Vec<f64>>;

/// Runs what the lesson's checks need and measures every check.
pub fn measure(lesson: &LessonFile) -> anyhow::Result<Vec<Outcome>> {
    // The steps read from each distinct scene file (a scene shared by two
    // lesson steps runs once).
    let mut plan: HashMap<PathBuf, (&SceneFile, BTreeSet<usize>)> = HashMap::new();
    for (step, scenes) in lesson.lesson.steps.iter().zip(&lesson.scenes) {
        for check in &step.checks {
            let bound = check.bound().map_err(|_| anyhow::anyhow!("unvalidated check {:?}", check.claim))?;
            for run in std::iter::once(check.run).chain(bound.other_run()) {
                let scene = &scenes[run];
                plan.entry(scene.path.clone()).or_insert((scene, BTreeSet::new())).1.insert(check.step);
            }
        }
    }
    let mut measured: HashMap<PathBuf, Columns> = HashMap::new();
    for (path, (scene, steps)) in plan {
        measured.insert(path, run_scene(scene, &steps)?);
    }
    let mut out = Vec::new();
    for (i, (step, scenes)) in lesson.lesson.steps.iter().zip(&lesson.scenes).enumerate() {
        for (j, check) in step.checks.iter().enumerate() {
            let bound = check.bound().map_err(|_| anyhow::anyhow!("unvalidated check {:?}", check.claim))?;
            let read = |run: usize| -> anyhow::Result<f64> {
                let scene = &scenes[run];
                let column = metric_index(&check.metric, scene)
                    .ok_or_else(|| anyhow::anyhow!("unknown metric {:?}", check.metric))?;
                measured
                    .get(&scene.path)
                    .and_then(|c| c.get(&check.step))
                    .and_then(|row| row.get(column))
                    .copied()
                    .ok_or_else(|| anyhow::anyhow!("{} was not measured at step {}", scene.path.display(), check.step))
            };
            let value = read(check.run)?;
            let other = bound.other_run().map(read).transpose()?;
            out.push(Outcome {
                step_index: i,
                check_index: j,
                claim: check.claim.clone(),
                metric: check.metric.clone(),
                run: check.run,
                step: check.step,
                bound,
                value,
                other,
                holds: bound.holds(value, other),
            });
        }
    }
    out.sort_by_key(|o| (o.step_index, o.check_index));
    Ok(out)
}

/// Runs `file` with its seed up to the largest of `steps`, recording every
/// column of [`super::metric_columns`] right after each of them.
fn run_scene(file: &SceneFile, steps: &BTreeSet<usize>) -> anyhow::Result<Columns> {
    if file.scene.model.is_some() {
        return train_scene(file, steps);
    }
    let seed = file.scene.seed;
    let clouds = file.clouds_with_seed(seed)?;
    let mut sim = file.scene.simulation(&clouds, seed);
    let held_out = file.held_out(seed);
    let gan = GanColumns::new(&file.scene);
    // Cadence 1: every `after_step` call records; it is called only at the
    // steps read.
    let mut recorder = MetricLog::new(&sim, gan, held_out.as_ref(), seed, file.scene.cfd_frequencies, Some(1), None)?;
    let row = |record: &MetricRow, gan: &GanColumns, moving: &Cloud| {
        let mut row: Vec<f64> = Vec::with_capacity(Metrics::NAMES.len() + Divergences::NAMES.len() + 2);
        row.extend(record.metrics.values());
        row.extend(record.divergences.values());
        row.extend(gan.values(moving).iter().map(|v| v.parse::<f64>().unwrap_or(f64::NAN)));
        row
    };
    let last = steps.last().copied().unwrap_or(0);
    let mut out = Columns::new();
    if steps.contains(&0) {
        out.insert(0, row(recorder.first(), &recorder.gan, sim.moving()));
    }
    while sim.step_index() < last {
        let Some(report) = sim.step() else { break };
        let done = report.step + 1;
        if !steps.contains(&done) {
            continue;
        }
        recorder.after_step(&sim, &report, crate::cli::metric_log::Clock::default())?;
        out.insert(done, row(recorder.last(), &recorder.gan, sim.moving()));
    }
    Ok(out)
}

/// As [`run_scene`] for a generator (Algorithm 2), measured as `sdflow run`
/// measures one: the loss of the step, the errors of mu and B B^T against
/// the truth, and the metrics of as many samples as the target has points.
fn train_scene(file: &SceneFile, steps: &BTreeSet<usize>) -> anyhow::Result<Columns> {
    let scene = &file.scene;
    let seed = scene.seed;
    let clouds = file.clouds_with_seed(seed)?;
    let mut trainer = scene
        .trainer(&clouds, seed)
        .context("the scene has no model to train")?
        .with_context(|| format!("cannot build the generator of {}", file.path.display()))?;
    let truth = scene.target.linear_truth();
    let probe = MetricProbe::new(&clouds.target, seed, scene.cfd_frequencies);
    let mut gan = GanColumns::new(scene);
    // Step 0 is the untrained generator: no loss yet.
    let row = |trainer: &Trainer, gan: &GanColumns, loss: f64| {
        let mut row = vec![loss];
        if let Some(truth) = &truth {
            let errors = trainer.generator().as_linear().and_then(|g| compare_linear(g, truth));
            row.extend(errors.map_or([f64::NAN; 2], |c| [c.offset_error, c.covariance_error]));
        }
        let samples = trainer.samples(clouds.target.len());
        row.extend(probe.evaluate(&samples).0.values());
        row.extend(gan.values(&samples).iter().map(|v| v.parse::<f64>().unwrap_or(f64::NAN)));
        row
    };
    let last = steps.last().copied().unwrap_or(0);
    let mut out = Columns::new();
    if steps.contains(&0) {
        out.insert(0, row(&trainer, &gan, f64::NAN));
    }
    while trainer.step_index() < last {
        let Some(report) = trainer.step() else { break };
        gan.record(report.driver_cosine);
        let done = report.step + 1;
        if steps.contains(&done) {
            out.insert(done, row(&trainer, &gan, report.loss));
        }
    }
    Ok(out)
}
