//! The `sdflow` binary: parses arguments and starts the app, the headless
//! runner, the scene validator or the benchmark.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use sdflow::cli;

/// Score-difference flow and MMD gradient flow between point clouds.
///
/// Without a subcommand, opens the desktop app on SCENE (default: the Swiss
/// roll -> mystery interpolation).
#[derive(Parser)]
#[command(version, args_conflicts_with_subcommands = true, after_help = EXIT_CODES)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    /// Scene file to open in the app.
    scene: Option<PathBuf>,
    /// Save a screenshot of the window to this PNG after `--after` steps, then exit.
    #[arg(long, group = "capture")]
    screenshot: Option<PathBuf>,
    /// Record the 3-D view for `--after` steps to this animated GIF (a path
    /// ending in .gif) or folder of numbered PNG frames, then exit.
    #[arg(long, group = "capture", value_name = "GIF_OR_FOLDER")]
    record: Option<PathBuf>,
    /// Steps to run before `--screenshot`, or to record with `--record`.
    #[arg(long, default_value_t = 0, requires = "capture")]
    after: usize,
    /// How the app colours the moving points at start (the View panel changes it).
    #[arg(long, value_enum, default_value_t = Colour::OkabeIto)]
    colour: Colour,
    /// Start with the heat map of h behind the points (2-D scenes).
    #[arg(long)]
    heat_map: bool,
    /// Start with arrows for each step's displacement (the View panel toggles them).
    #[arg(long)]
    arrows: bool,
    /// Open these scenes beside SCENE, in split views that step in lockstep
    /// (up to three; repeat the flag).
    #[arg(long, value_name = "SCENE")]
    compare: Vec<PathBuf>,
    /// Play this lesson (see lessons/): captions, questions and checked
    /// claims, step by step (N / Page Down: next, B / Page Up: back).
    #[arg(long, value_name = "LESSON", conflicts_with_all = ["scene", "compare"])]
    lesson: Option<PathBuf>,
    /// The lesson step to start at, counting from 1.
    #[arg(long, value_name = "K", default_value_t = 1, requires = "lesson", value_parser = clap::value_parser!(u32).range(1..))]
    lesson_step: u32,
    /// Start in presenter mode (F5 toggles it): larger text, thicker points.
    #[arg(long)]
    presenter: bool,
}

/// The exit codes and output streams, shown under `--help`.
const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  a check or comparison failed (`validate` found problems)
  2  bad input or usage: a flag, a scene, CSV or NPY file, an unwritable output

Results (summaries, tables, `--json` objects) go to stdout; progress, warnings
and errors go to stderr. `--quiet` drops the progress bar and the warnings,
never the errors or the result.";

/// Colourings of the moving points (the GAN view).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Colour {
    /// The Okabe-Ito pair: one colour per cloud.
    OkabeIto,
    /// The optimal discriminator's log-ratio h* = log p_sigma / q_sigma.
    HStar,
    /// The trained discriminator's h (scenes with a Discriminator driver).
    DiscH,
    /// Length of each point's last displacement.
    Displacement,
    /// Distance from each moving point to its nearest fixed point.
    NnDistance,
}

#[derive(Subcommand)]
enum Command {
    /// Run a scene headless and print a summary.
    Run(cli::RunArgs),
    /// Check scene files and report every problem found.
    Validate {
        /// Scene files to check.
        #[arg(required = true)]
        scenes: Vec<PathBuf>,
        /// No warnings; the problems found and the `ok` lines still print.
        #[arg(long)]
        quiet: bool,
    },
    /// Measure step times and kernel throughput.
    Bench(cli::bench::BenchArgs),
    /// Run two scenes headless and print their final metrics side by side.
    Compare(cli::compare::CompareArgs),
    /// Print the scene format as JSON Schema (scenes may be .ron or .json).
    Schema,
    /// Check lessons: their files, or the claims they make.
    Lesson {
        #[command(subcommand)]
        command: LessonCommand,
    },
}

#[derive(Subcommand)]
enum LessonCommand {
    /// Run each lesson's scenes headless and test every claim (exit 1 when
    /// one fails, 2 when a lesson or scene is broken).
    Check {
        /// Lesson files (RON).
        #[arg(required = true)]
        lessons: Vec<PathBuf>,
        /// Worker threads (default: one per core).
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
        threads: Option<u64>,
    },
    /// Check lesson files and the scenes they name, without running them.
    Validate {
        /// Lesson files (RON).
        #[arg(required = true)]
        lessons: Vec<PathBuf>,
    },
}

fn main() -> ExitCode {
    quiet_on_closed_pipe();
    let args = Args::parse();
    let result = match args.command {
        Some(Command::Run(run)) => cli::run(&run),
        Some(Command::Validate { scenes, quiet }) => cli::validate(&scenes, quiet),
        Some(Command::Bench(bench)) => cli::bench::bench(&bench),
        Some(Command::Compare(compare)) => cli::compare::compare(&compare),
        Some(Command::Schema) => cli::schema(),
        Some(Command::Lesson { command: LessonCommand::Check { lessons, threads } }) => {
            cli::lesson::check(&lessons, threads)
        }
        Some(Command::Lesson { command: LessonCommand::Validate { lessons } }) => cli::lesson::validate(&lessons),
        None => open_app(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(cli::EXIT_BAD_INPUT)
        }
    }
}

#[cfg(feature = "app")]
fn open_app(args: Args) -> anyhow::Result<ExitCode> {
    use sdflow::app::view::gan::{Colouring, GanView};
    let colouring = match args.colour {
        Colour::OkabeIto => Colouring::OkabeIto,
        Colour::HStar => Colouring::OptimalLogRatio,
        Colour::DiscH => Colouring::Discriminator,
        Colour::Displacement => Colouring::Displacement,
        Colour::NnDistance => Colouring::NearestTarget,
    };
    let options = sdflow::app::AppOptions {
        scene: args.scene,
        compare: args.compare,
        screenshot: args.screenshot,
        record: args.record,
        after: args.after,
        view: GanView { colouring, heat_map: args.heat_map },
        arrows: args.arrows,
        lesson: args.lesson.map(|path| (path, args.lesson_step as usize - 1)),
        presenter: args.presenter,
    };
    if let Err(e) = sdflow::app::preflight(&options) {
        eprintln!("{e}");
        return Ok(ExitCode::from(2));
    }
    sdflow::app::run(options)?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(not(feature = "app"))]
fn open_app(_: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!(
        "this sdflow was built without the `app` feature; use `sdflow run SCENE` or rebuild with default features"
    )
}

/// `sdflow bench --json | head` closes the pipe early: end quietly, as Unix
/// tools do, instead of panicking inside `println!`.
fn quiet_on_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: restoring the default action of one signal before any thread
    // starts; no handler code runs.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
