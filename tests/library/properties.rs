//! Property tests: random clouds, bandwidths, methods and drivers, bounded so
//! the whole file runs in seconds.
//!
//! - A step never panics and never puts NaN or infinity into a point.
//! - Kernel means lie in the bounding box of their centres, and every f32
//!   path agrees with the plain f64 reference.
//! - Results are the same on one and on two threads.

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};

use sdflow::engine::kernel::fast::{self, KernelImpl, LogSumExp};
use sdflow::engine::kernel::gemm::{self, RowCentres, Tile};
use sdflow::engine::kernel::{Centres, inv_two_sigma2, reference};
use sdflow::engine::{Cloud, CutOff, Driver, FlowSettings, Method, Schedule, Simulation, StepSize};

/// A cloud of 1..max points in `dim` dimensions at a random scale (up to
/// 1e6), sometimes with duplicated or all-equal points.
fn cloud(dim: usize, max: usize) -> impl Strategy<Value = Cloud> {
    (1..=max, -3.0f64..6.0, 0u8..4, any::<u64>()).prop_map(move |(n, log_scale, shape, seed)| {
        let scale = 10f64.powf(log_scale) as f32;
        let mut state = seed | 1;
        let mut uniform = move || {
            // xorshift64*: a test-local stream, independent of the engine's.
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            ((state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        };
        let mut data: Vec<f32> = (0..n * dim).map(|_| uniform() * scale).collect();
        match shape {
            // All points equal.
            0 => {
                let first: Vec<f32> = data[..dim].to_vec();
                data.chunks_exact_mut(dim).for_each(|p| p.copy_from_slice(&first));
            }
            // Every point twice.
            1 if n >= 2 => {
                for i in (1..n).step_by(2) {
                    let (a, b) = data.split_at_mut(i * dim);
                    b[..dim].copy_from_slice(&a[(i - 1) * dim..i * dim]);
                }
            }
            _ => {}
        }
        Cloud::new(dim, data)
    })
}

/// sigma^2 over the whole accepted range, log-uniform.
fn sigma2() -> impl Strategy<Value = f64> {
    (-30.0f64..30.0).prop_map(|e| 10f64.powf(e))
}

/// Kernel means of every query through the direct f32 loop of `imp`.
fn direct_means(imp: KernelImpl, centres: &Cloud, queries: &Cloud, s2: f64) -> Vec<f32> {
    let c = Centres::from_points(centres.dim(), centres.as_slice());
    let inv = inv_two_sigma2(s2);
    let mut out = vec![0.0f32; queries.as_slice().len()];
    for (z, mean) in queries.points().zip(out.chunks_exact_mut(queries.dim())) {
        let mut acc = LogSumExp::default();
        let mut weighted = vec![0.0f64; queries.dim()];
        fast::accumulate(imp, &c, 0..c.len(), z, inv, &mut acc, &mut weighted);
        acc.finish(&mut weighted, inv, mean);
    }
    out
}

/// Kernel means through the matrix-product path (any dimension works there).
fn product_means(imp: KernelImpl, centres: &Cloud, queries: &Cloud, s2: f64) -> Vec<f32> {
    let c = RowCentres::from_points(centres.dim(), centres.as_slice());
    let mut means = vec![0.0f32; queries.as_slice().len()];
    let mut log_mass = vec![0.0f64; queries.len()];
    gemm::kernel_means(
        imp,
        &c,
        queries.as_slice(),
        inv_two_sigma2(s2),
        &mut Tile::default(),
        &mut means,
        &mut log_mass,
    );
    means
}

/// Checks one path's means against the f64 reference and the bounding box.
fn check_means(path: &str, means: &[f32], centres: &Cloud, queries: &Cloud, s2: f64) -> Result<(), TestCaseError> {
    let dim = centres.dim();
    let wide: Vec<f64> = centres.as_slice().iter().map(|&x| f64::from(x)).collect();
    let extent = centres.as_slice().iter().fold(0.0f32, |m, x| m.max(x.abs())) as f64;
    let far = queries.as_slice().iter().fold(0.0f32, |m, x| m.max(x.abs())) as f64;
    for (z, mean) in queries.points().zip(means.chunks_exact(dim)) {
        let z64: Vec<f64> = z.iter().map(|&x| f64::from(x)).collect();
        let (_, exact) = reference::kernel_mean(&z64, &wide, dim, s2);
        for k in 0..dim {
            prop_assert!(mean[k].is_finite(), "{path}: non-finite mean {mean:?}");
            let (lo, hi) =
                centres.points().fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), c| (lo.min(c[k]), hi.max(c[k])));
            // f32 rounding of a weighted mean: a few ulps of the largest coordinate.
            let ulps = 4.0 * f32::EPSILON * lo.abs().max(hi.abs());
            prop_assert!(
                mean[k] >= lo - ulps && mean[k] <= hi + ulps,
                "{path}: mean {} outside [{lo}, {hi}] in coordinate {k}",
                mean[k]
            );
            // The stated tolerance: 1e-3 of the centres' extent, plus the f32
            // rounding of the squared distances, which grows with the query's
            // distance relative to sigma (weights that the f64 sum tells apart
            // can tie in f32 once d^2 / 2 sigma^2 exceeds f32's precision).
            let spread = (hi - lo) as f64;
            let rounding = (far + extent).powi(2) * 1e-6 / s2;
            let tolerance = 1e-3 * extent.max(1e-30) + if rounding > 1e-2 { spread } else { 0.0 };
            prop_assert!(
                (f64::from(mean[k]) - exact[k]).abs() <= tolerance,
                "{path}: mean {} against f64 {} (tolerance {tolerance:e}) at sigma^2 {s2:e}",
                mean[k],
                exact[k]
            );
        }
    }
    Ok(())
}

/// `cases` cases from a fixed seed, so CI sees the same inputs on every run;
/// `PROPTEST_RNG_SEED=N` explores others.
pub fn config(cases: u32) -> Config {
    let base = Config::default();
    let rng_seed = match base.rng_seed {
        RngSeed::Random => RngSeed::Fixed(2023),
        chosen => chosen,
    };
    Config { cases, rng_seed, ..base }
}

proptest! {
    #![proptest_config(config(48))]

    #[test]
    fn kernel_means_stay_in_the_box_and_match_f64(
        (centres, queries) in (1usize..=8).prop_flat_map(|dim| (cloud(dim, 300), cloud(dim, 40))),
        s2 in sigma2(),
    ) {
        for imp in KernelImpl::available() {
            check_means(&format!("direct {imp:?}"), &direct_means(imp, &centres, &queries, s2), &centres, &queries, s2)?;
            check_means(&format!("products {imp:?}"), &product_means(imp, &centres, &queries, s2), &centres, &queries, s2)?;
        }
    }

    #[test]
    fn steps_stay_finite_and_do_not_depend_on_the_thread_count(
        (fixed, moving) in (1usize..=8).prop_flat_map(|dim| (cloud(dim, 120), cloud(dim, 120))),
        settings in settings(),
        seed in any::<u64>(),
    ) {
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("a thread pool");
            pool.install(|| {
                let mut sim = Simulation::new(settings.clone(), fixed.clone(), moving.clone(), seed);
                while sim.step().is_some() {}
                sim.moving().clone()
            })
        };
        let one = run(1);
        prop_assert!(one.as_slice().iter().all(|x| x.is_finite()), "{settings:?}: a point became non-finite");
        prop_assert_eq!(one.len(), moving.len());
        let two = run(2);
        prop_assert!(
            one.as_slice().iter().zip(two.as_slice()).all(|(a, b)| a.to_bits() == b.to_bits()),
            "{:?}: one and two threads differ", settings
        );
    }
}

/// A small discriminator with `loss`.
fn discriminator(loss: &str) -> Driver {
    ron::from_str(&format!(
        "Discriminator(hidden: [8], learning_rate: 0.001, updates_per_step: 1, loss: {loss}, minibatch: 32)"
    ))
    .expect("a valid driver")
}

/// A short flow of any method, driver, schedule, step size, batch and cut-off.
fn settings() -> impl Strategy<Value = FlowSettings> {
    let method = prop_oneof![
        Just(Method::Sd),
        Just(Method::SdDenoiser),
        Just(Method::Mmd),
        Just(Method::MmdNormalized),
        Just(Method::RectifiedFlow),
    ];
    let schedule = (sigma2(), sigma2(), 0u8..4).prop_map(|(a, b, kind)| {
        let (max, min) = (a.max(b), a.min(b));
        match kind {
            0 => Schedule::Constant { sigma2: max },
            1 => Schedule::Linear { sigma2_max: max, sigma2_min: min },
            2 => Schedule::Geometric { sigma2_max: max, sigma2_min: min },
            _ => Schedule::Cosine { sigma2_max: max, sigma2_min: min },
        }
    });
    let step_size = prop_oneof![
        (0.01f64..2.0).prop_map(|eta| StepSize::Fixed { eta }),
        (0.01f64..5.0).prop_map(|first_norm| StepSize::Auto { first_norm }),
    ];
    let driver = prop_oneof![
        4 => Just(Driver::Kernel),
        1 => Just(discriminator("Alt")),
        1 => Just(discriminator("NonSaturating")),
    ];
    (method, schedule, step_size, proptest::option::of(1usize..50), any::<bool>(), driver).prop_map(
        |(method, schedule, step_size, batch, cut, driver)| FlowSettings {
            // A discriminator replaces Sd's kernel direction (scenes allow it with Sd only).
            method: if driver.is_kernel() { method } else { Method::Sd },
            schedule,
            steps: 4,
            step_size,
            batch,
            cutoff: if cut { CutOff::Auto } else { CutOff::Off },
            driver,
            ..FlowSettings::default()
        },
    )
}
