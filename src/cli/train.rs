//! `sdflow run` for scenes with a `model`: trains the generator (Algorithm 2)
//! and prints the summary of a particle run plus the generator's errors.

use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};

use super::RunArgs;
use crate::engine::generator::compare_linear;
use crate::engine::{MetricProbe, Metrics, Schedule};
use crate::export::history::{HistoryCsv, StepHead};
use crate::scene::{Clouds, SceneFile, write_points};

/// Trains the scene's generator on `clouds.target`.
pub fn run(file: &SceneFile, clouds: &Clouds, seed: u64, args: &RunArgs) -> anyhow::Result<ExitCode> {
    let scene = &file.scene;
    let Some(trainer) = scene.trainer(clouds, seed) else {
        anyhow::bail!("the scene has no model to train");
    };
    let mut trainer = trainer.with_context(|| format!("cannot build the generator of {}", file.path.display()))?;
    let model = trainer.model().clone();
    let truth = scene.target.linear_truth();
    let errors = |t: &crate::engine::Trainer| {
        let g = t.generator().as_linear()?;
        compare_linear(g, truth.as_ref()?).map(|c| (c.offset_error, c.covariance_error))
    };
    let n_samples = args.samples.map_or(clouds.target.len(), |n| n as usize);
    let probe = MetricProbe::new(&clouds.target, seed, scene.cfd_frequencies);
    let start = trainer.samples(n_samples);
    let (initial, _) = probe.evaluate(&start);
    let mut gan = super::gan::GanColumns::new(scene);
    let initial_errors = errors(&trainer);

    let mut writer = match &args.metrics {
        Some(path) => {
            let mut header = StepHead::NAMES.to_vec();
            header.push("loss");
            if truth.is_some() {
                header.extend(["mu_rel_error", "cov_rel_error"]);
            }
            header.extend(Metrics::NAMES);
            header.extend(gan.names());
            Some(HistoryCsv::create(path, &header)?)
        }
        None => None,
    };

    let bar = if args.quiet { ProgressBar::hidden() } else { ProgressBar::new(scene.steps as u64) };
    bar.set_style(
        ProgressStyle::with_template("{spinner} {bar:40} {pos}/{len} steps  {msg}  [{elapsed_precise} < {eta}]")?
            .progress_chars("=> "),
    );
    let started = Instant::now();
    let mut step_seconds = 0.0;
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
        gan.record(report.driver_cosine);
        let done = report.step + 1;
        let evaluate = (done as u64).is_multiple_of(args.metrics_every.unwrap_or(1)) || trainer.is_finished();
        let mut samples = None;
        if evaluate && (writer.is_some() || trainer.is_finished()) {
            let s = trainer.samples(n_samples);
            last = probe.evaluate(&s).0;
            samples = Some(s);
        }
        if evaluate {
            bar.set_message(format!("loss {:.4}  sigma2 {:.3}", report.loss, report.sigma2));
        }
        if let Some(w) = writer.as_mut().filter(|_| evaluate) {
            let ms = step_seconds * 1e3 / done as f64;
            let mut row = StepHead::of_training(&report, ms).fields();
            row.push(report.loss.to_string());
            if truth.is_some() {
                let (mu, cov) = errors(&trainer).unwrap_or((f64::NAN, f64::NAN));
                row.extend([mu.to_string(), cov.to_string()]);
            }
            row.extend(last.values().iter().map(f64::to_string));
            row.extend(samples.as_ref().map(|s| gan.values(s)).unwrap_or_default());
            w.write_row(&row)?;
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    if let Some(mut w) = writer {
        w.flush()?;
    }
    if let Some(path) = &args.points {
        write_points(path, &trainer.samples(n_samples))?;
    }
    if let Some(path) = &args.params {
        let json = serde_json::to_string_pretty(&trainer.generator().params_json())?;
        std::fs::write(path, json + "\n").with_context(|| format!("cannot write {}", path.display()))?;
    }

    let total = started.elapsed().as_secs_f64();
    let steps = trainer.step_index().max(1);
    let g = trainer.generator();
    println!("scene        {} ({})", scene.name, file.path.display());
    println!(
        "train        {} generator (latent {}, learning rate {}), {}, batch {} of {} target points in {}-D, seed {}",
        model.kind_name(),
        model.latent(),
        model.learning_rate(),
        scene.method.name(),
        trainer.batch(),
        trainer.target().len(),
        g.dim(),
        seed
    );
    match (scene.schedule, trainer.schedule()) {
        (Schedule::FromNearest { factor }, Schedule::Constant { sigma2 }) => println!(
            "sigma2       {sigma2:.4} (FromNearest: {factor} x mean distance {:.4} to the nearest target point)",
            sigma2 / factor
        ),
        (s, _) => println!(
            "sigma2       {} schedule, {:.4} at the last step",
            s.kind_name(),
            last_report.map_or(f64::NAN, |r| r.sigma2)
        ),
    }
    println!("loss         {:.6} -> {:.6} (mean |g(xi) - y'|^2 per sample)", first_loss.unwrap_or(f64::NAN), last_loss);
    if let (Some((mu0, cov0)), Some((mu1, cov1))) = (initial_errors, errors(&trainer)) {
        println!("mu error     {mu0:.6} -> {mu1:.6} (|mu_hat - mu| / |mu|, against the true mu)");
        println!("BB^T error   {cov0:.6} -> {cov1:.6} (|B_hat B_hat^T - B B^T|_F / |B B^T|_F)");
    }
    gan.summary(&start, &trainer.samples(n_samples)).iter().for_each(|l| println!("{l}"));
    println!("CFD          {:.6} -> {:.6} ({} samples)", initial.cfd, last.cfd, n_samples);
    println!("outliers     {:.2}% -> {:.2}%", 100.0 * initial.outlier_fraction, 100.0 * last.outlier_fraction);
    println!("mean error   {:.4} -> {:.4}", initial.mean_error, last.mean_error);
    println!("cov error    {:.4} -> {:.4}", initial.cov_error, last.cov_error);
    println!(
        "steps        {} ({}), {:.3} ms per step",
        trainer.step_index(),
        last_report.map_or("-", |r| r.path.name()),
        step_seconds * 1e3 / steps as f64
    );
    println!("total time   {:.3} s (metrics included)", total);
    Ok(ExitCode::SUCCESS)
}
