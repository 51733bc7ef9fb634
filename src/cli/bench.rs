//! `sdflow bench`: step times and kernel throughput of the engine.
//!
//! Each case builds a fresh simulation, takes one warm-up step, then times
//! `repeats` steps and reports the median. Kernel evaluations per second
//! count M (N + M) Gaussian kernels per SD/MMD step (what a full sum does);
//! for cut-off cases that is the full-sum-equivalent rate. `cpu ms` is the
//! process's CPU time per step (all threads, median): on a machine shared
//! with other work it is steadier than the wall time.

use std::process::ExitCode;
use std::time::Instant;

use serde::Serialize;

use crate::engine::kernel::fast::{KernelImpl, fma_peak_flops};
use crate::engine::nn::Activation;
use crate::engine::{
    Bandwidth, CutOff, Driver, FlowSettings, GanLoss, KernelPath, Method, Model, Schedule, Simulation, StepSize,
    TrainSettings, Trainer, datasets,
};

/// Measured on this project's 2-core x86-64 machine: a vectorised f32
/// kernel reaches about 1.8 G kernel evaluations per second per core.
pub const LIMIT_PER_CORE: f64 = 1.8e9;

/// A full-sum row's ceiling in kernels per second per core: the direct loop's
/// [`LIMIT_PER_CORE`], or for the matrix-product path this core's peak FMA
/// rate over the 4d FLOP each kernel costs there (2d for the distance
/// product, 2d for the weighted sums), whichever is lower.
fn limit_per_core(path: KernelPath, dim: usize, peak_flops: Option<f64>) -> f64 {
    match (path, peak_flops) {
        (KernelPath::Gemm, Some(peak)) => (peak / (4 * dim) as f64).min(LIMIT_PER_CORE),
        _ => LIMIT_PER_CORE,
    }
}

/// Options of `sdflow bench`.
#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// A subset that runs in under 30 s.
    #[arg(long)]
    pub quick: bool,
    /// One JSON object per line instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Worker threads (default: one per core).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub threads: Option<u64>,
    /// Timed steps per case (median reported).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
    pub repeats: u64,
    /// Also run the 100,000-point cut-off case with full sums for comparison (slow).
    #[arg(long)]
    pub compare_full: bool,
}

/// One benchmark case.
#[derive(Clone, Debug)]
struct Case {
    method: Method,
    data: Data,
    dim: usize,
    points: usize,
    batch: Option<usize>,
    cutoff: CutOff,
    sigma2: f64,
    /// Moving points (the target has `points`).
    moving: Option<usize>,
    /// Allow the matrix-product path (d >= 8).
    gemm: bool,
    /// Driven by a trained discriminator ([`discriminator_driver`]) instead of the kernel sums.
    discriminator: bool,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Data {
    /// Target N(0, I), moving N(1, I): bandwidth ~ cloud, full sums.
    Gaussians,
    /// Swiss roll -> mystery (both ~12 units wide): far-apart parts make
    /// kernel support wide, the concentrated target makes balls crowded.
    SwissToMystery,
    /// Two samples of the Swiss roll: overlapping clouds, as late in every
    /// run, where the cut-off pays most.
    SwissToSwiss,
}

/// One result row (also the JSON line).
#[derive(Serialize)]
struct Row {
    method: &'static str,
    data: &'static str,
    dim: usize,
    moving: usize,
    target: usize,
    batch: Option<usize>,
    sigma2: f64,
    path: &'static str,
    ms_per_step: f64,
    cpu_ms_per_step: f64,
    kernel_evals_per_s: f64,
    threads: usize,
    simd: &'static str,
    ratio_to_limit: f64,
}

fn cases(quick: bool, compare_full: bool) -> Vec<Case> {
    let base = |method, dim, points| Case {
        method,
        data: Data::Gaussians,
        dim,
        points,
        batch: None,
        cutoff: CutOff::Off,
        sigma2: 1.0,
        moving: None,
        gemm: true,
        discriminator: false,
    };
    let big = Case {
        method: Method::Sd,
        data: Data::SwissToSwiss,
        dim: 3,
        points: 100_000,
        batch: None,
        cutoff: CutOff::Auto,
        sigma2: 0.05,
        moving: None,
        gemm: true,
        discriminator: false,
    };
    // Fig. 6's step: 1024 of 10,000 points in 50-D, 1024 x 2048 kernels.
    let fig6 = Case { points: 10_000, moving: Some(10_000), batch: Some(1024), ..base(Method::Sd, 50, 10_000) };
    if quick {
        return vec![
            base(Method::Sd, 3, 1024),
            base(Method::Mmd, 3, 1024),
            base(Method::Sd, 2, 4096),
            base(Method::Sd, 3, 4096),
            Case { gemm: false, ..base(Method::Sd, 4, 1024) },
            Case { gemm: false, ..base(Method::Sd, 8, 1024) },
            base(Method::Sd, 8, 1024),
            Case { gemm: false, ..base(Method::Sd, 16, 1024) },
            base(Method::Sd, 16, 1024),
            base(Method::Sd, 50, 1024),
            Case { gemm: false, ..base(Method::Sd, 50, 1024) },
            fig6,
            Case { batch: Some(128), ..base(Method::Sd, 3, 4096) },
            Case { discriminator: true, ..base(Method::Sd, 3, 1024) },
            Case { points: 20_000, ..big.clone() },
            Case { points: 20_000, data: Data::SwissToMystery, ..big },
        ];
    }
    let mut out = Vec::new();
    for method in [Method::Sd, Method::Mmd] {
        for dim in [2, 3, 50] {
            for points in [1024, 4096, 16384] {
                out.push(base(method, dim, points));
            }
        }
    }
    // Where the matrix products start to pay (MIN_DIM), and 50-D without them.
    for dim in [8, 16, 50] {
        out.push(Case { gemm: false, ..base(Method::Sd, dim, 1024) });
        if dim < 50 {
            out.push(base(Method::Sd, dim, 1024));
        }
    }
    out.push(fig6);
    out.push(Case { batch: Some(128), ..base(Method::Sd, 3, 16384) });
    for dim in [2, 3] {
        out.push(Case { discriminator: true, ..base(Method::Sd, dim, 1024) });
    }
    out.push(big.clone());
    out.push(Case { data: Data::SwissToMystery, ..big.clone() });
    // The end of the presets' schedule (sigma^2 = 0.5) on 16k points: the
    // automatic choice shows whether the cut-off pays there.
    out.push(Case { points: 16384, sigma2: 0.5, data: Data::SwissToMystery, ..big.clone() });
    if compare_full {
        out.push(Case { cutoff: CutOff::Off, ..big });
    }
    out
}

fn simulation(case: &Case) -> Simulation {
    let mut rng = crate::engine::rng::seeded(1);
    let (fixed, moving) = match case.data {
        Data::Gaussians => (
            datasets::gaussian(case.points, &vec![0.0; case.dim], 1.0, &mut rng),
            datasets::gaussian(case.moving.unwrap_or(case.points), &vec![1.0; case.dim], 1.0, &mut rng),
        ),
        Data::SwissToMystery => {
            (datasets::mystery(case.points, 0.25, &mut rng), datasets::swiss_roll(case.points, 3, 0.15, &mut rng))
        }
        Data::SwissToSwiss => {
            (datasets::swiss_roll(case.points, 3, 0.15, &mut rng), datasets::swiss_roll(case.points, 3, 0.15, &mut rng))
        }
    };
    let settings = FlowSettings {
        method: case.method,
        schedule: Schedule::Constant { sigma2: case.sigma2 },
        steps: usize::MAX,
        step_size: StepSize::Fixed { eta: 0.1 },
        batch: case.batch,
        cutoff: case.cutoff,
        driver: if case.discriminator { discriminator_driver() } else { Driver::Kernel },
        ..FlowSettings::default()
    };
    let mut sim = Simulation::new(settings, fixed, moving, 1);
    sim.set_matrix_products(case.gemm);
    sim
}

/// The discriminator of the mystery_offset_disc presets: 64-64 Silu MLP, 5
/// Adam updates of 256 + 256 noisy samples per step. Its step also takes the
/// kernel SD sums, for the driver cosine.
fn discriminator_driver() -> Driver {
    Driver::Discriminator {
        hidden: vec![64, 64],
        learning_rate: 1e-3,
        updates_per_step: 5,
        loss: GanLoss::Alt,
        activation: Activation::Silu,
        minibatch: 256,
    }
}

/// `sdflow bench`.
pub fn bench(args: &BenchArgs) -> anyhow::Result<ExitCode> {
    super::with_threads(args.threads, || run(args))?
}

fn run(args: &BenchArgs) -> anyhow::Result<ExitCode> {
    let threads = rayon::current_num_threads();
    let simd = KernelImpl::detect().name();
    let peak = fma_peak_flops();
    if !args.json {
        let gemm_limit = match peak {
            Some(p) => format!(", matrix products {:.0} GFLOP/s per core (measured FMA peak)", p / 1e9),
            None => String::new(),
        };
        println!(
            "sdflow bench: {threads} threads, kernel {simd}, limit {:.1} G evals/s per core{gemm_limit}",
            LIMIT_PER_CORE / 1e9
        );
        println!(
            "{:<7} {:<15} {:>4} {:>8} {:>8} {:>6} {:>6} {:>8} {:>11} {:>12} {:>7} {:>8}",
            "method",
            "data",
            "dim",
            "moving",
            "target",
            "batch",
            "sigma2",
            "path",
            "ms/step",
            "G evals/s",
            "ratio",
            "cpu ms"
        );
    }
    for case in cases(args.quick, args.compare_full) {
        let mut sim = simulation(&case);
        let repeats = if case.points >= 50_000 && case.cutoff == CutOff::Off { 1 } else { args.repeats };
        let warm = sim.step().ok_or_else(|| anyhow::anyhow!("no step"))?;
        let mut times = Vec::with_capacity(repeats as usize);
        let mut cpu = Vec::with_capacity(repeats as usize);
        let mut report = warm;
        for _ in 0..repeats {
            let (t, c) = (Instant::now(), cpu_seconds());
            report = sim.step().ok_or_else(|| anyhow::anyhow!("no step"))?;
            times.push(t.elapsed().as_secs_f64());
            cpu.push(cpu_seconds() - c);
        }
        let (median, cpu_median) = (median(&mut times), median(&mut cpu));
        let rate = report.kernel_evaluations as f64 / median;
        let row = Row {
            method: if case.discriminator { "Sd+disc" } else { case.method.name() },
            data: match case.data {
                Data::Gaussians => "gaussians",
                Data::SwissToMystery => "swiss->mystery",
                Data::SwissToSwiss => "swiss->swiss",
            },
            dim: case.dim,
            moving: case.moving.unwrap_or(case.points),
            target: case.points,
            batch: case.batch,
            sigma2: case.sigma2,
            path: report.path.name(),
            ms_per_step: median * 1e3,
            cpu_ms_per_step: cpu_median * 1e3,
            kernel_evals_per_s: rate,
            threads,
            simd,
            ratio_to_limit: rate / (limit_per_core(report.path, case.dim, peak) * threads as f64),
        };
        print_row(args, &row)?;
    }
    generator_row(args, threads, simd, peak)?;
    Ok(ExitCode::SUCCESS)
}

/// One step of Algorithm 2 with Fig. 6's settings: a linear generator
/// (latent 25) in 50-D, batch 1024 of 10,000 target points, sigma^2 = 700.
fn generator_row(args: &BenchArgs, threads: usize, simd: &'static str, peak: Option<f64>) -> anyhow::Result<()> {
    let target = datasets::LinearTruth::from_seed(50, 25, 6).sample(10_000, &mut crate::engine::rng::seeded(1));
    let model = Model::Linear { latent: 25, init_std: 0.1, learning_rate: 1e-3 };
    let settings = TrainSettings {
        method: Method::Sd,
        schedule: Schedule::Constant { sigma2: 700.0 },
        steps: usize::MAX,
        step_size: StepSize::Fixed { eta: 1.0 },
        batch: Some(1024),
        bandwidth: Bandwidth::Tied,
        regression_steps: 1,
    };
    let mut trainer = Trainer::new(&model, settings, target, 1)?;
    let mut report = trainer.step().ok_or_else(|| anyhow::anyhow!("no step"))?;
    let mut times = Vec::with_capacity(args.repeats as usize);
    let mut cpu = Vec::with_capacity(args.repeats as usize);
    for _ in 0..args.repeats {
        let (t, c) = (Instant::now(), cpu_seconds());
        report = trainer.step().ok_or_else(|| anyhow::anyhow!("no step"))?;
        times.push(t.elapsed().as_secs_f64());
        cpu.push(cpu_seconds() - c);
    }
    let (median, cpu_median) = (median(&mut times), median(&mut cpu));
    let rate = report.kernel_evaluations as f64 / median;
    let row = Row {
        method: "Sd",
        data: "generator",
        dim: 50,
        moving: report.batch,
        target: 10_000,
        batch: Some(report.batch),
        sigma2: report.sigma2,
        path: report.path.name(),
        ms_per_step: median * 1e3,
        cpu_ms_per_step: cpu_median * 1e3,
        kernel_evals_per_s: rate,
        threads,
        simd,
        ratio_to_limit: rate / (limit_per_core(report.path, 50, peak) * threads as f64),
    };
    print_row(args, &row)
}

fn print_row(args: &BenchArgs, row: &Row) -> anyhow::Result<()> {
    if args.json {
        println!("{}", serde_json::to_string(row)?);
    } else {
        println!(
            "{:<7} {:<15} {:>4} {:>8} {:>8} {:>6} {:>6} {:>8} {:>11.3} {:>12.3} {:>7.2} {:>8.3}",
            row.method,
            row.data,
            row.dim,
            row.moving,
            row.target,
            row.batch.map_or("-".to_string(), |b| b.to_string()),
            row.sigma2,
            row.path,
            row.ms_per_step,
            row.kernel_evals_per_s / 1e9,
            row.ratio_to_limit,
            row.cpu_ms_per_step
        );
    }
    Ok(())
}

/// Median of the values (sorts them).
fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// CPU time of this process so far (user + system, all threads), in seconds.
fn cpu_seconds() -> f64 {
    #[cfg(unix)]
    {
        // SAFETY: getrusage only writes the zero-initialised struct we pass.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } == 0 {
            let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
            return seconds(usage.ru_utime) + seconds(usage.ru_stime);
        }
    }
    f64::NAN
}
