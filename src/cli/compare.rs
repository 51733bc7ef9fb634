//! `sdflow compare A.ron B.ron`: both scenes run headless; their final
//! metrics side by side, and optionally both runs' curves on shared axes.
//! With `--seeds N` each scene runs on N seeds and the table shows each
//! metric's mean and min-max.

use std::path::PathBuf;
use std::process::ExitCode;

use super::plot::{self, XAxis};
use super::seeds::{self, SeedSummary};
use super::summary::RunSummary;
use super::{Outputs, RunFailure, load_scene, run_seeds, with_threads};

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
    /// What the plot's x axis counts: compare a cheap method and an
    /// expensive one at equal wall time or equal kernel evaluations.
    #[arg(long, value_enum, default_value_t = XAxis::Step, requires = "plot")]
    pub x_axis: XAxis,
    /// Number of steps for both, instead of the scenes'.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub steps: Option<u64>,
    /// Run each scene on N seeds (its own seed, then +1, +2, ...) and
    /// compare means and min-max ranges.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub seeds: Option<u64>,
    /// Evaluate metrics every K steps (default: under 10 % of each flow's time).
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u64).range(1..))]
    pub metrics_every: Option<u64>,
    /// Worker threads (default: one per core).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub threads: Option<u64>,
    /// Print the comparison as one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
    /// No progress bar and no warnings; errors and the table still print.
    #[arg(long)]
    pub quiet: bool,
}

/// The `--json` object of `sdflow compare` with one seed per scene.
#[derive(serde::Serialize)]
struct Comparison<'a> {
    a: &'a RunSummary,
    b: &'a RunSummary,
}

/// The `--json` object of `sdflow compare --seeds N`.
#[derive(serde::Serialize)]
struct SeedComparison<'a> {
    a: &'a SeedSummary,
    b: &'a SeedSummary,
}

/// Runs both scenes and prints the table.
pub fn compare(args: &CompareArgs) -> anyhow::Result<ExitCode> {
    let mut files = Vec::new();
    for path in [&args.a, &args.b] {
        match load_scene(path, args.steps, args.quiet) {
            Ok(f) => files.push(f),
            Err(code) => return Ok(code),
        }
    }
    let out = Outputs { metrics_every: args.metrics_every, curve: true, ..Outputs::default() };
    let mut runs: Vec<Vec<RunSummary>> = Vec::new();
    for file in &files {
        let seeds = seeds::seed_range(file.scene.seed, args.seeds.unwrap_or(1));
        match with_threads(args.threads, || run_seeds(file, &seeds, &out, args.quiet))? {
            Ok(r) => runs.push(r),
            Err(RunFailure::Exit(code)) => return Ok(code),
            Err(RunFailure::Error(e)) => return Err(e),
        }
    }
    let summaries: Vec<SeedSummary> = runs.iter().filter_map(|r| seeds::aggregate(r)).collect();
    anyhow::ensure!(summaries.len() == 2, "a scene gave no run");
    if let Some(path) = &args.plot {
        let bands: Vec<(&str, &seeds::Band)> = summaries.iter().map(|s| (s.scene.as_str(), &s.band)).collect();
        plot::plot_runs(path, &bands, args.x_axis)?;
    }
    match (args.seeds.is_some(), args.json) {
        (false, true) => println!("{}", serde_json::to_string(&Comparison { a: &runs[0][0], b: &runs[1][0] })?),
        (false, false) => print_table(&runs[0][0], &runs[1][0]),
        (true, true) => println!("{}", serde_json::to_string(&SeedComparison { a: &summaries[0], b: &summaries[1] })?),
        (true, false) => super::print_seed_table(&[&summaries[0], &summaries[1]]),
    }
    if let Some(path) = args.plot.as_ref().filter(|_| !args.json) {
        println!("plot               {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// Final values side by side, in the order of the runs' curves.
fn print_table(a: &RunSummary, b: &RunSummary) {
    let width = [&a.scene, &b.scene].iter().map(|n| n.chars().count()).max().unwrap_or(0).max(14);
    println!("{:<18}  {:>width$}  {:>width$}", "final", a.scene, b.scene);
    let mut names: Vec<&String> = a.curve.names.iter().collect();
    names.extend(b.curve.names.iter().filter(|n| !a.curve.names.contains(n)));
    let end = |r: &RunSummary, name: &str| r.metrics.get(name).map_or("-".to_string(), |v| format!("{:.6}", v.end));
    for name in names {
        println!("{name:<18}  {:>width$}  {:>width$}", end(a, name), end(b, name));
    }
    let count = |r: &RunSummary| r.non_finite.map_or("-".to_string(), |n| n.to_string());
    println!("{:<18}  {:>width$}  {:>width$}", "non_finite", count(a), count(b));
    let seconds = |r: &RunSummary| format!("{:.3}", r.timings.total_seconds);
    println!("{:<18}  {:>width$}  {:>width$}", "seconds", seconds(a), seconds(b));
}
