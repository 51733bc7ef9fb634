//! The command-line side: the headless runner (`sdflow run`), the scene
//! validator (`sdflow validate`) and the benchmark (`sdflow bench`).
//! Library errors are typed; here at the edge they become anyhow messages.

pub mod bench;
pub mod compare;
pub mod gan;
pub mod lesson;
pub mod metric_log;
pub mod plot;
pub mod seeds;
pub mod summary;
pub mod train;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};

use crate::engine::Run;
use crate::scene::{Clouds, SceneFile, write_points};
use plot::XAxis;
use seeds::SeedSummary;
use summary::RunSummary;

/// Exit status: a check or comparison failed (validate found problems).
pub const EXIT_CHECK_FAILED: u8 = 1;
/// Exit status: bad input or usage (a scene, CSV or NPY file, a flag).
pub const EXIT_BAD_INPUT: u8 = 2;

/// Options of `sdflow run`.
#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// Scene file (.ron, or .json with the same fields).
    pub scene: PathBuf,
    /// Number of steps, instead of the scene's.
    #[arg(long)]
    pub steps: Option<usize>,
    /// Random seed, instead of the scene's (with `--seeds`: the first seed).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Run on N seeds (the scene's seed, then +1, +2, ...) in parallel and
    /// report each metric's mean and min-max.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..),
          conflicts_with_all = ["metrics", "points", "params"])]
    pub seeds: Option<u64>,
    /// Print the summary as one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
    /// Write one CSV row of metrics per recorded step to this file, from
    /// step 0 (the starting clouds).
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
    /// What the plot's x axis counts.
    #[arg(long, value_enum, default_value_t = XAxis::Step, requires = "plot")]
    pub x_axis: XAxis,
    /// Worker threads (default: one per core).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub threads: Option<u64>,
    /// No progress bar and no warnings; errors and the summary still print.
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

/// What one run writes besides its summary.
#[derive(Clone, Copy, Debug, Default)]
pub struct Outputs<'a> {
    pub metrics_every: Option<u64>,
    /// The per-step metrics CSV.
    pub metrics: Option<&'a Path>,
    /// The final moving cloud (CSV).
    pub points: Option<&'a Path>,
    /// A generator's trained parameters (JSON).
    pub params: Option<&'a Path>,
    /// A generator's sample count.
    pub samples: Option<u64>,
    /// MetricRow a curve on a cadence even without a metrics file (plots, seeds).
    pub curve: bool,
}

/// A progress bar on stderr for `steps` steps; hidden when `quiet`.
pub fn progress_bar(steps: u64, quiet: bool) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(steps);
    if let Ok(style) =
        ProgressStyle::with_template("{spinner} {bar:40} {pos}/{len} steps  {msg}  [{elapsed_precise} < {eta}]")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// Reads a scene (with `steps` instead of its own); on failure prints every
/// problem to stderr and gives the exit code for bad input.
pub fn load_scene(path: &Path, steps: Option<u64>, quiet: bool) -> Result<SceneFile, ExitCode> {
    let mut file = SceneFile::read(path).map_err(|e| {
        eprintln!("{e}");
        ExitCode::from(EXIT_BAD_INPUT)
    })?;
    if let Some(steps) = steps {
        file.scene.steps = steps as usize;
    }
    if !quiet {
        for warning in file.scene.warnings() {
            eprintln!("warning ({}): {warning}", path.display());
        }
    }
    Ok(file)
}

/// The clouds of every seed, or the exit code for bad input (printed).
pub fn clouds_for(file: &SceneFile, seeds: &[u64]) -> Result<Vec<Clouds>, ExitCode> {
    seeds.iter().map(|&s| file.clouds_with_seed(s)).collect::<Result<Vec<_>, _>>().map_err(|e| {
        eprintln!("{e}");
        ExitCode::from(EXIT_BAD_INPUT)
    })
}

/// Runs a scene once on `seed` (a particle flow or a generator training).
pub fn run_one(
    file: &SceneFile,
    clouds: &Clouds,
    seed: u64,
    out: &Outputs,
    bar: &ProgressBar,
) -> anyhow::Result<RunSummary> {
    let run = file.scene.run(clouds, seed);
    let sim = match run.with_context(|| format!("cannot build the generator of {}", file.path.display()))? {
        Run::Generator(trainer) => return train::run(file, *trainer, clouds, seed, out, bar),
        Run::Particles(sim) => *sim,
    };
    let outcome = metric_log::run_headless(file, sim, seed, out.metrics_every, out.metrics, bar)?;
    if let Some(path) = out.points {
        write_points(path, outcome.sim.moving())?;
    }
    Ok(metric_log::summarise(file, clouds, seed, &outcome))
}

/// Runs a scene on every seed in `seeds`, in parallel, one bar for all.
pub fn run_seeds(file: &SceneFile, seeds: &[u64], out: &Outputs, quiet: bool) -> Result<Vec<RunSummary>, RunFailure> {
    let clouds = clouds_for(file, seeds).map_err(RunFailure::Exit)?;
    let bar = progress_bar(file.scene.steps as u64 * seeds.len() as u64, quiet);
    let at = |s: u64| seeds.iter().position(|&x| x == s).unwrap_or(0);
    let runs = seeds::run_all(seeds, |s| run_one(file, &clouds[at(s)], s, out, &bar));
    bar.finish_and_clear();
    runs.map_err(RunFailure::Error)
}

/// Why a run gave no summary: bad input already reported, or an error.
#[derive(Debug)]
pub enum RunFailure {
    Exit(ExitCode),
    Error(anyhow::Error),
}

/// `sdflow run`: the whole scene without a window.
pub fn run(args: &RunArgs) -> anyhow::Result<ExitCode> {
    if args.steps == Some(0) {
        anyhow::bail!("--steps must be at least 1");
    }
    let file = match load_scene(&args.scene, args.steps.map(|s| s as u64), args.quiet) {
        Ok(f) => f,
        Err(code) => return Ok(code),
    };
    let base = args.seed.unwrap_or(file.scene.seed);
    let seeds = seeds::seed_range(base, args.seeds.unwrap_or(1));
    let out = Outputs {
        metrics_every: args.metrics_every,
        metrics: args.metrics.as_deref(),
        points: args.points.as_deref(),
        params: args.params.as_deref(),
        samples: args.samples,
        curve: args.plot.is_some() || args.seeds.is_some(),
    };
    let runs = match with_threads(args.threads, || run_seeds(&file, &seeds, &out, args.quiet))? {
        Ok(runs) => runs,
        Err(RunFailure::Exit(code)) => return Ok(code),
        Err(RunFailure::Error(e)) => return Err(e),
    };
    let Some(summary) = seeds::aggregate(&runs) else { anyhow::bail!("no run") };
    if let Some(path) = &args.plot {
        plot::plot_runs(path, &[(file.scene.name.as_str(), &summary.band)], args.x_axis)?;
    }
    match (args.seeds.is_some(), args.json) {
        (false, true) => println!("{}", runs[0].to_json()?),
        (false, false) => runs[0].text.iter().for_each(|l| println!("{l}")),
        (true, true) => println!("{}", serde_json::to_string(&summary)?),
        (true, false) => print_seed_table(&[&summary]),
    }
    Ok(ExitCode::SUCCESS)
}

/// The text table of runs over seeds: each metric's mean [min, max] at the
/// end, one column per scene.
pub fn print_seed_table(scenes: &[&SeedSummary]) {
    for s in scenes {
        let seeds = match (s.seeds.first(), s.seeds.last()) {
            (Some(a), Some(b)) => format!("seeds {a}..={b}"),
            _ => "no seeds".into(),
        };
        println!(
            "scene        {} ({}), {} {}, {} runs of {} steps",
            s.scene,
            s.path,
            s.method,
            seeds,
            s.seeds.len(),
            s.steps
        );
    }
    let cell = |st: &seeds::Stat| format!("{:.6} [{:.6}, {:.6}]", st.mean, st.min, st.max);
    let Some(first) = scenes.first() else { return };
    let width = 36;
    let heads: Vec<String> = scenes.iter().map(|s| format!("{:>width$}", truncate(&s.scene, width))).collect();
    println!("{:<20}  {}", "end: mean [min, max]", heads.join("  "));
    for name in first.end.keys() {
        let cells: Vec<String> =
            scenes.iter().map(|s| format!("{:>width$}", s.end.get(name).map_or("-".to_string(), cell))).collect();
        println!("{name:<20}  {}", cells.join("  "));
    }
    for (label, pick) in [
        ("sigma2_end", (|s: &SeedSummary| s.sigma2_end) as fn(&SeedSummary) -> seeds::Stat),
        ("non_finite", |s| s.non_finite),
        ("ms_per_step", |s| s.ms_per_step),
        ("total_seconds", |s| s.total_seconds),
    ] {
        let cells: Vec<String> = scenes.iter().map(|s| format!("{:>width$}", cell(&pick(s)))).collect();
        println!("{label:<20}  {}", cells.join("  "));
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n { s.to_string() } else { s.chars().take(n - 3).collect::<String>() + "..." }
}

/// `sdflow validate`: checks each scene (including its CSV files) and
/// reports every problem (warnings on stderr). Exit code 1 when any scene
/// has problems.
pub fn validate(scenes: &[PathBuf], quiet: bool) -> anyhow::Result<ExitCode> {
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
                for warning in f.scene.warnings().into_iter().filter(|_| !quiet) {
                    eprintln!("warning ({}): {warning}", path.display());
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
        return Ok(ExitCode::from(EXIT_CHECK_FAILED));
    }
    Ok(ExitCode::SUCCESS)
}

/// `sdflow schema`: the scene format as JSON Schema (draft 2020-12), derived
/// from the types that read scene files, for editors and for checking
/// generated `.json` scenes.
pub fn schema() -> anyhow::Result<ExitCode> {
    println!("{}", serde_json::to_string_pretty(&scene_schema())?);
    Ok(ExitCode::SUCCESS)
}

/// The JSON Schema of [`crate::scene::Scene`].
pub fn scene_schema() -> serde_json::Value {
    schemars::schema_for!(crate::scene::Scene).to_value()
}
