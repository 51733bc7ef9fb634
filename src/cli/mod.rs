//! The command-line side: the headless runner (`sdflow run`), the scene
//! validator (`sdflow validate`) and the benchmark (`sdflow bench`).
//! Library errors are typed; here at the edge they become anyhow messages.

pub mod bench;
pub mod compare;
pub mod gan;
pub mod lesson;
pub mod plot;
pub mod record;
pub mod train;

use std::path::PathBuf;
use std::process::ExitCode;

use crate::engine::Divergences;
use crate::scene::{SceneFile, write_points};

/// Options of `sdflow run`.
#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// Scene file (RON).
    pub scene: PathBuf,
    /// Number of steps, instead of the scene's.
    #[arg(long)]
    pub steps: Option<usize>,
    /// Random seed, instead of the scene's.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Write one CSV row of metrics per step to this file.
    #[arg(long, value_name = "CSV")]
    pub metrics: Option<PathBuf>,
    /// Write the final moving cloud to this CSV file.
    #[arg(long, value_name = "CSV")]
    pub points: Option<PathBuf>,
    /// Evaluate metrics every K steps (1 = every step; the last step always).
    /// Default: often enough to stay under 10 % of the flow's time.
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u64).range(1..))]
    pub metrics_every: Option<u64>,
    /// Plot the metric and divergence curves to this PNG.
    #[arg(long, value_name = "PNG")]
    pub plot: Option<PathBuf>,
    /// Worker threads (default: one per core).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub threads: Option<u64>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// Generator scenes: write the trained parameters to this JSON file.
    #[arg(long, value_name = "JSON")]
    pub params: Option<PathBuf>,
    /// Generator scenes: samples for `--points` and the metrics (default: as
    /// many as the target has points).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub samples: Option<u64>,
}

/// Runs `f` in a rayon pool of `threads` threads, or the global pool.
pub fn with_threads<T: Send>(threads: Option<u64>, f: impl FnOnce() -> T + Send) -> anyhow::Result<T> {
    match threads {
        Some(n) => {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(n as usize).build()?;
            Ok(pool.install(f))
        }
        None => Ok(f()),
    }
}

/// `sdflow run`: the whole scene without a window.
pub fn run(args: &RunArgs) -> anyhow::Result<ExitCode> {
    let mut file = match SceneFile::read(&args.scene) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("{e}");
            return Ok(ExitCode::from(2));
        }
    };
    if let Some(steps) = args.steps {
        anyhow::ensure!(steps > 0, "--steps must be at least 1");
        file.scene.steps = steps;
    }
    let seed = args.seed.unwrap_or(file.scene.seed);
    let clouds = match file.clouds_with_seed(seed) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return Ok(ExitCode::from(2));
        }
    };
    with_threads(args.threads, || run_scene(&file, &clouds, seed, args))?
}

fn run_scene(file: &SceneFile, clouds: &crate::scene::Clouds, seed: u64, args: &RunArgs) -> anyhow::Result<ExitCode> {
    if file.scene.model.is_some() {
        return train::run(file, clouds, seed, args);
    }
    let scene = &file.scene;
    for warning in scene.warnings() {
        eprintln!("warning: {warning}");
    }
    let outcome = record::run_headless(file, clouds, seed, args.metrics_every, args.metrics.as_deref(), args.quiet)?;
    let (sim, rec) = (&outcome.sim, &outcome.recorder);
    if let Some(path) = &args.points {
        write_points(path, sim.moving())?;
    }
    if let Some(path) = &args.plot {
        plot::plot_runs(path, &[(scene.name.as_str(), &rec.history)])?;
    }
    let (initial, last) = (&rec.first().metrics, &rec.last().metrics);
    let steps = sim.step_index().max(1);
    println!("scene        {} ({})", scene.name, file.path.display());
    println!(
        "run          {} {:?}, {} moving -> {} fixed points in {}-D, seed {}",
        scene.method.name(),
        scene.direction,
        sim.moving().len(),
        sim.fixed().len(),
        sim.moving().dim(),
        seed
    );
    rec.gan.summary(scene.fixed_and_moving(clouds).1, sim.moving()).iter().for_each(|l| println!("{l}"));
    println!("CFD          {:.6} -> {:.6}", initial.cfd, last.cfd);
    println!("outliers     {:.2}% -> {:.2}%", 100.0 * initial.outlier_fraction, 100.0 * last.outlier_fraction);
    println!("mean error   {:.4} -> {:.4}", initial.mean_error, last.mean_error);
    println!("cov error    {:.4} -> {:.4}", initial.cov_error, last.cov_error);
    let (d0, d1) = (rec.first().divergences.values(), rec.last().divergences.values());
    for (k, name) in Divergences::NAMES.iter().enumerate() {
        println!("{name:<18} {:.6} -> {:.6}", d0[k], d1[k]);
    }
    println!(
        "steps        {} ({} full, {} cut-off), {:.3} ms per step",
        sim.step_index(),
        outcome.paths[0],
        outcome.paths[1],
        outcome.step_seconds * 1e3 / steps as f64
    );
    println!("metrics      {} evaluations, every {} steps", rec.history.len(), outcome.every);
    println!("non-finite   {} updates dropped", sim.non_finite());
    println!("total time   {:.3} s (metrics included)", outcome.total_seconds);
    Ok(ExitCode::SUCCESS)
}

/// `sdflow validate`: checks each scene (including its CSV files) and
/// reports every problem. Exit code 1 when any scene has problems.
pub fn validate(scenes: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let mut failed = 0;
    for path in scenes {
        match SceneFile::read(path).and_then(|f| f.clouds().map(|c| (f, c))) {
            Ok((f, c)) => {
                println!(
                    "ok    {}: {} ({} target, {} source points, {}-D)",
                    path.display(),
                    f.scene.name,
                    c.target.len(),
                    c.source.len(),
                    c.target.dim()
                );
                for warning in f.scene.warnings() {
                    println!("      warning: {warning}");
                }
            }
            Err(e) => {
                failed += 1;
                eprintln!("{e}");
            }
        }
    }
    if failed > 0 {
        eprintln!("{failed} of {} scene files have problems", scenes.len());
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
