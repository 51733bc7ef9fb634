//! `sdflow run` for scenes with a `model`: trains the generator (Algorithm 2)
//! and summarises it as a particle run plus the generator's errors.

use std::time::Instant;

use anyhow::Context;
use indicatif::ProgressBar;

use super::Outputs;
use super::metric_log::summary_lines;
use super::summary::{Curve, CurveRow, Points, RunSummary, Timings};
use crate::engine::metrics::compare_linear;
use crate::engine::{MetricProbe, Metrics, Schedule};
use crate::export::history::{HistoryCsv, StepHead};
use crate::scene::{Clouds, SceneFile, write_points};

/// Trains `trainer`, the scene's generator on `clouds.target`; writes the
/// outputs `out` asks for and returns the run's summary.
pub fn run(
    file: &SceneFile,
    mut trainer: crate::engine::Trainer,
    clouds: &Clouds,
    seed: u64,
    out: &Outputs,
    bar: &ProgressBar,
) -> anyhow::Result<RunSummary> {
    let scene = &file.scene;
    let model = trainer.model().clone();
    let truth = scene.target.linear_truth();
    let errors = |t: &crate::engine::Trainer| {
        let g = t.generator().as_linear()?;
        compare_linear(g, truth.as_ref()?).map(|c| (c.offset_error, c.covariance_error))
    };
    let n_samples = out.samples.map_or(clouds.target.len(), |n| n as usize);
    let probe = MetricProbe::new(&clouds.target, seed, scene.cfd_frequencies);
    let start = trainer.samples(n_samples);
    let (initial, _) = probe.evaluate(&start);
    let mut gan = super::gan::GanColumns::new(scene);
    let initial_errors = errors(&trainer);
    // The curve's columns: the loss, the generator's errors (a known truth),
    // the metrics and the modes covered (a Grid25 target).
    let mut names: Vec<String> = vec!["loss".into()];
    if truth.is_some() {
        names.extend(["mu_rel_error".into(), "cov_rel_error".into()]);
    }
    names.extend(Metrics::NAMES.iter().map(|n| n.to_string()));
    let with_modes = gan.modes_covered(&start).is_some();
    if with_modes {
        names.push("modes_covered".into());
    }
    let row_values = |loss: f64, errors: Option<(f64, f64)>, metrics: &Metrics, modes: Option<f64>| {
        let mut v = vec![loss];
        if truth.is_some() {
            let (mu, cov) = errors.unwrap_or((f64::NAN, f64::NAN));
            v.extend([mu, cov]);
        }
        v.extend(metrics.values());
        v.extend(modes);
        v
    };
    let mut rows = vec![CurveRow {
        step: 0,
        seconds: 0.0,
        kernel_evaluations: 0,
        values: row_values(f64::NAN, initial_errors, &initial, gan.modes_covered(&start)),
    }];

    let mut writer = match out.metrics {
        Some(path) => {
            let mut header = StepHead::NAMES.to_vec();
            header.push("loss");
            if truth.is_some() {
                header.extend(["mu_rel_error", "cov_rel_error"]);
            }
            header.extend(Metrics::NAMES);
            header.extend(gan.names());
            let mut w = HistoryCsv::create(path, &header)?;
            // Step 0: the untrained generator; no loss yet (no step taken).
            let mut row = StepHead::start_fields(trainer.schedule().sigma2(0, scene.steps));
            row.push(String::new());
            if let Some((mu, cov)) = initial_errors.or(truth.as_ref().map(|_| (f64::NAN, f64::NAN))) {
                row.extend([mu.to_string(), cov.to_string()]);
            }
            row.extend(initial.values().iter().map(f64::to_string));
            row.extend(gan.values(&start));
            w.write_row(&row)?;
            Some(w)
        }
        None => None,
    };
    // Metrics sample the generator: every step with a metrics file (or as
    // `--metrics-every` says), about 200 times for a curve, else at the end.
    let every = match (out.metrics_every, writer.is_some() || out.curve) {
        (Some(k), _) => k as usize,
        (None, true) if writer.is_some() => 1,
        (None, true) => scene.steps.div_ceil(200).max(1),
        (None, false) => usize::MAX,
    };

    let started = Instant::now();
    let mut step_seconds = 0.0;
    let mut kernel_evaluations = 0u64;
    let mut kernel_paths = std::collections::BTreeMap::new();
    let mut last = initial.clone();
    let (mut first_loss, mut last_loss) = (None, f64::NAN);
    let mut last_report = None;
    while let Some(report) = {
        let t = Instant::now();
        let r = trainer.step();
        step_seconds += t.elapsed().as_secs_f64();
        r
    } {
        first_loss.get_or_insert(report.loss);
        last_loss = report.loss;
        last_report = Some(report);
        kernel_evaluations += report.kernel_evaluations;
        *kernel_paths.entry(report.path.name()).or_insert(0) += 1;
        gan.record(report.driver_cosine);
        let done = report.step + 1;
        let evaluate = done.is_multiple_of(every) || trainer.is_finished();
        if evaluate {
            let samples = trainer.samples(n_samples);
            last = probe.evaluate(&samples).0;
            let errs = errors(&trainer);
            bar.set_message(format!("loss {:.4}  sigma2 {:.3}", report.loss, report.sigma2));
            if let Some(w) = writer.as_mut() {
                let ms = step_seconds * 1e3 / done as f64;
                let mut row = StepHead::of_training(&report, ms).fields();
                row.push(report.loss.to_string());
                if truth.is_some() {
                    let (mu, cov) = errs.unwrap_or((f64::NAN, f64::NAN));
                    row.extend([mu.to_string(), cov.to_string()]);
                }
                row.extend(last.values().iter().map(f64::to_string));
                row.extend(gan.values(&samples));
                w.write_row(&row)?;
            }
            rows.push(CurveRow {
                step: done,
                seconds: step_seconds,
                kernel_evaluations,
                values: row_values(report.loss, errs, &last, gan.modes_covered(&samples)),
            });
        }
        bar.inc(1);
    }
    if let Some(mut w) = writer {
        w.finish()?;
    }
    let end_samples = trainer.samples(n_samples);
    if let Some(path) = out.points {
        write_points(path, &end_samples)?;
    }
    if let Some(path) = out.params {
        let json = serde_json::to_string_pretty(&trainer.generator().params_json())?;
        std::fs::write(path, json + "\n").with_context(|| format!("cannot write {}", path.display()))?;
    }

    let total = started.elapsed().as_secs_f64();
    let steps = trainer.step_index();
    let ms_per_step = step_seconds * 1e3 / steps.max(1) as f64;
    let g = trainer.generator();
    let mut text = vec![
        format!("scene        {} ({})", scene.name, file.path.display()),
        format!(
            "train        {} generator (latent {}, learning rate {}), {}, batch {} of {} target points in {}-D, seed {}",
            model.kind_name(),
            model.latent(),
            model.learning_rate(),
            scene.method.name(),
            trainer.batch(),
            trainer.target().len(),
            g.dim(),
            seed
        ),
    ];
    text.push(match (scene.schedule, trainer.schedule()) {
        (Schedule::FromNearest { factor }, Schedule::Constant { sigma2 }) => format!(
            "sigma2       {sigma2:.4} (FromNearest: {factor} x mean distance {:.4} to the nearest target point)",
            sigma2 / factor
        ),
        (s, _) => format!(
            "sigma2       {} schedule, {:.4} at the last step",
            s.kind_name(),
            last_report.map_or(f64::NAN, |r| r.sigma2)
        ),
    });
    text.push(format!(
        "loss         {:.6} -> {:.6} (mean |g(xi) - y'|^2 per sample)",
        first_loss.unwrap_or(f64::NAN),
        last_loss
    ));
    if let (Some((mu0, cov0)), Some((mu1, cov1))) = (initial_errors, errors(&trainer)) {
        text.push(format!("mu error     {mu0:.6} -> {mu1:.6} (|mu_hat - mu| / |mu|, against the true mu)"));
        text.push(format!("BB^T error   {cov0:.6} -> {cov1:.6} (|B_hat B_hat^T - B B^T|_F / |B B^T|_F)"));
    }
    text.extend(gan.summary(&start, &end_samples));
    text.push(format!("CFD          {:.6} -> {:.6} ({} samples)", initial.cfd, last.cfd, n_samples));
    text.extend(summary_lines(&initial, &last));
    text.push(format!(
        "steps        {} ({}), {:.3} ms per step",
        steps,
        last_report.map_or("-", |r| r.path.name()),
        ms_per_step
    ));
    text.push(format!("total time   {:.3} s (metrics included)", total));
    let curve = Curve { names, rows };
    let mut metrics = curve.start_end();
    // The loss has no value before the first step: its start is the first step's.
    if let Some(loss) = metrics.get_mut("loss") {
        loss.start = first_loss.unwrap_or(f64::NAN);
    }
    Ok(RunSummary {
        scene: scene.name.clone(),
        path: file.path.display().to_string(),
        kind: "generator",
        method: scene.method.name(),
        direction: format!("{:?}", scene.direction),
        seed,
        steps,
        points: Points { moving: n_samples, fixed: trainer.target().len(), dim: g.dim() },
        metrics,
        sigma2_end: last_report.map_or(f64::NAN, |r| r.sigma2),
        kernel_paths,
        kernel_evaluations,
        non_finite: None,
        timings: Timings { step_seconds, ms_per_step, total_seconds: total },
        metrics_every: every.min(steps.max(1)),
        curve,
        text,
    })
}
