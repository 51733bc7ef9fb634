//! `sdflow compare A.ron B.ron`: both scenes run headless; their final
//! metrics side by side, and optionally both runs' curves on shared axes.

use std::path::PathBuf;
use std::process::ExitCode;

use super::{plot, record, with_threads};
use crate::engine::{Divergences, Metrics};
use crate::scene::SceneFile;

/// Options of `sdflow compare`.
#[derive(clap::Args, Debug)]
pub struct CompareArgs {
    /// The first scene (solid lines in the plot).
    pub a: PathBuf,
    /// The second scene (dashed lines).
    pub b: PathBuf,
    /// Plot both runs' curves to this PNG.
    #[arg(long, value_name = "PNG")]
    pub plot: Option<PathBuf>,
    /// Number of steps for both, instead of the scenes'.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub steps: Option<u64>,
    /// Evaluate metrics every K steps (default: under 10 % of each flow's time).
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u64).range(1..))]
    pub metrics_every: Option<u64>,
    /// Worker threads (default: one per core).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub threads: Option<u64>,
}

/// Runs both scenes and prints the table.
pub fn compare(args: &CompareArgs) -> anyhow::Result<ExitCode> {
    let mut runs = Vec::new();
    for path in [&args.a, &args.b] {
        let loaded = SceneFile::read(path).and_then(|f| f.clouds().map(|c| (f, c)));
        let (mut file, clouds) = match loaded {
            Ok(x) => x,
            Err(e) => {
                eprintln!("{e}");
                return Ok(ExitCode::from(2));
            }
        };
        if let Some(steps) = args.steps {
            file.scene.steps = steps as usize;
        }
        for warning in file.scene.warnings() {
            eprintln!("warning ({}): {warning}", path.display());
        }
        let seed = file.scene.seed;
        let outcome =
            with_threads(args.threads, || record::run_headless(&file, &clouds, seed, args.metrics_every, None, true))??;
        runs.push((file.scene.name.clone(), outcome));
    }
    let width = runs.iter().map(|(n, _)| n.chars().count()).max().unwrap_or(0).max(14);
    println!("{:<18}  {:>width$}  {:>width$}", "final", runs[0].0, runs[1].0);
    let rows = |f: &dyn Fn(&record::Record) -> Vec<f64>, names: &[&str]| {
        let (a, b) = (f(runs[0].1.recorder.last()), f(runs[1].1.recorder.last()));
        for (k, name) in names.iter().enumerate() {
            println!("{name:<18}  {:>width$.6}  {:>width$.6}", a[k], b[k]);
        }
    };
    rows(&|r| r.metrics.values().to_vec(), &Metrics::NAMES);
    rows(&|r| r.divergences.values().to_vec(), &Divergences::NAMES);
    let count = |i: usize| runs[i].1.sim.non_finite() as f64;
    println!("{:<18}  {:>width$}  {:>width$}", "non_finite", count(0), count(1));
    let seconds = |i: usize| format!("{:.3}", runs[i].1.total_seconds);
    println!("{:<18}  {:>width$}  {:>width$}", "seconds", seconds(0), seconds(1));
    if let Some(path) = &args.plot {
        let histories: Vec<(&str, &Vec<record::Record>)> =
            runs.iter().map(|(n, o)| (n.as_str(), &o.recorder.history)).collect();
        plot::plot_runs(path, &histories)?;
        println!("plot               {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}
