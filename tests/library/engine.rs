//! Engine tests against closed forms, plain f64 references and the paper's
//! qualitative findings, on sizes small enough for a debug build.

use sdflow::engine::kernel::cells::{CellList, WEIGHT_EPSILON};
use sdflow::engine::kernel::fast::{KernelImpl, LogSumExp, accumulate};
use sdflow::engine::kernel::{Centres, inv_two_sigma2, reference};
use sdflow::engine::{
    Cloud, CutOff, Direction, FlowSettings, Method, MetricProbe, Schedule, Simulation, StepSize, datasets,
};
use sdflow::scene::SceneFile;

fn impls() -> Vec<KernelImpl> {
    KernelImpl::available()
}

/// Kernel mean of the fast path at `z` (full sum).
fn fast_mean(imp: KernelImpl, centres: &Centres, z: &[f32], sigma2: f64) -> (f64, Vec<f32>) {
    let inv = inv_two_sigma2(sigma2);
    let mut acc = LogSumExp::default();
    let mut weighted = vec![0.0; z.len()];
    accumulate(imp, centres, 0..centres.len(), z, inv, &mut acc, &mut weighted);
    let mut mean = vec![0.0; z.len()];
    let log_mass = acc.finish(&mut weighted, inv, &mut mean);
    (log_mass, mean)
}

fn to_f64(x: &[f32]) -> Vec<f64> {
    x.iter().map(|&v| v as f64).collect()
}

#[test]
fn kernel_means_match_a_plain_f64_reference() {
    for dim in [1, 2, 3, 5, 50] {
        for n in [1, 7, 64, 333] {
            let mut rng = sdflow::engine::rng::seeded((dim * 1000 + n) as u64);
            let cloud = datasets::gaussian(n, &vec![0.0; dim], 2.0, &mut rng);
            let queries = datasets::gaussian(5, &vec![0.5; dim], 3.0, &mut rng);
            let centres = Centres::from_points(dim, cloud.as_slice());
            for sigma2 in [0.05, 1.0, 30.0] {
                for z in queries.points() {
                    let (ref_log, ref_mean) =
                        reference::kernel_mean(&to_f64(z), &to_f64(cloud.as_slice()), dim, sigma2);
                    for imp in impls() {
                        let (log_mass, mean) = fast_mean(imp, &centres, z, sigma2);
                        let scale = 1.0 + ref_mean.iter().map(|x| x.abs()).fold(0.0, f64::max);
                        for (a, b) in mean.iter().zip(&ref_mean) {
                            assert!(
                                (*a as f64 - b).abs() <= 1e-4 * scale,
                                "{imp:?} d={dim} n={n} s2={sigma2}: {a} vs {b}"
                            );
                        }
                        assert!((log_mass - ref_log).abs() <= 1e-4 * (1.0 + ref_log.abs()), "{log_mass} vs {ref_log}");
                    }
                }
            }
        }
    }
}

#[test]
fn extreme_distances_and_bandwidths_stay_finite_and_right() {
    // Two centres 1000 sigma and more away from the query: the mean is a
    // proper convex combination (here: the nearer centre), never NaN.
    let centres = Centres::from_points(3, &[0.0, 0.0, 0.0, 10.0, 0.0, 0.0]);
    for imp in impls() {
        for (z, sigma2, expect_x) in [
            ([-1000.0f32, 0.0, 0.0], 1.0, 0.0f32), // 1000 sigma away: nearest wins
            ([1e6, 0.0, 0.0], 1.0, 10.0),
            ([3.0, 0.0, 0.0], 1e-6, 0.0),  // tiny sigma
            ([4.0, 1.0, 0.0], 1e-30, 0.0), // below f32's smallest normal
            ([5.0, 0.0, 0.0], 1e6, 5.0),   // huge sigma: plain average
        ] {
            let (log_mass, mean) = fast_mean(imp, &centres, &z, sigma2);
            assert!(log_mass.is_finite() || log_mass == f64::NEG_INFINITY, "{imp:?}: {log_mass}");
            assert!(mean.iter().all(|m| m.is_finite()), "{imp:?} {z:?} {sigma2}: {mean:?}");
            assert!((mean[0] - expect_x).abs() < 1e-3, "{imp:?} {z:?} {sigma2}: {mean:?}");
        }
    }
}

#[test]
fn sd_direction_matches_the_analytic_score_difference_of_two_gaussians() {
    // For p = N(mu_p, s_p^2 I), the smoothed p_sigma = N(mu_p, (s_p^2 + sigma^2) I)
    // and its optimal denoiser is D_p(z) = z + sigma^2 grad log p_sigma(z)
    // (eq. 15), so 1/2 (D_p - D_q) = sigma^2 / 2 (grad log p_sigma - grad log q_sigma).
    let (mu_p, s_p, mu_q, s_q, sigma2) = ([1.0, -0.5], 0.7f64, [-1.0, 0.5], 1.2f64, 0.8f64);
    let mut rng = sdflow::engine::rng::seeded(11);
    let p = datasets::gaussian(40_000, &mu_p, s_p, &mut rng);
    let q = datasets::gaussian(40_000, &mu_q, s_q, &mut rng);
    let (cp, cq) = (Centres::from_points(2, p.as_slice()), Centres::from_points(2, q.as_slice()));
    let score =
        |z: &[f64], mu: &[f64; 2], s: f64| [-(z[0] - mu[0]) / (s * s + sigma2), -(z[1] - mu[1]) / (s * s + sigma2)];
    for z in [[0.0f32, 0.0], [0.5, 0.2], [-0.8, 1.0]] {
        let zf = to_f64(&z);
        let (_, dp) = fast_mean(KernelImpl::detect(), &cp, &z, sigma2);
        let (_, dq) = fast_mean(KernelImpl::detect(), &cq, &z, sigma2);
        let (gp, gq) = (score(&zf, &mu_p, s_p), score(&zf, &mu_q, s_q));
        for k in 0..2 {
            let sd = 0.5 * (dp[k] - dq[k]) as f64;
            let analytic = 0.5 * sigma2 * (gp[k] - gq[k]);
            assert!((sd - analytic).abs() < 0.03, "z={z:?} k={k}: {sd} vs {analytic}");
        }
    }
}

#[test]
fn cut_off_meets_its_error_bound() {
    let mut rng = sdflow::engine::rng::seeded(5);
    for (dim, cloud) in [(3, datasets::swiss_roll(6000, 3, 0.15, &mut rng)), (2, datasets::grid25(6000, 0.1, &mut rng))]
    {
        let sigma2 = 0.02;
        let mut cells = CellList::default();
        assert!(cells.rebuild(dim, cloud.as_slice(), None, sigma2), "the grid should pay at small sigma");
        let inv = inv_two_sigma2(sigma2);
        let (lo, hi) = cloud.bounds();
        let diameter = lo.iter().zip(&hi).map(|(a, b)| ((b - a) as f64).powi(2)).sum::<f64>().sqrt();
        let bound = cloud.len() as f64 * WEIGHT_EPSILON * diameter;
        let queries = datasets::gaussian(40, &vec![0.0; dim], 3.0, &mut rng);
        let mut worst = 0.0f64;
        let mut checked = 0;
        for z in queries.points().chain(cloud.points().take(40)) {
            let mut acc = LogSumExp::default();
            let mut weighted = vec![0.0; dim];
            let near = cells.accumulate_near(KernelImpl::detect(), z, inv, &mut acc, &mut weighted);
            if !near {
                continue;
            }
            checked += 1;
            let mut mean = vec![0.0; dim];
            acc.finish(&mut weighted, inv, &mut mean);
            let (_, exact) = reference::kernel_mean(&to_f64(z), &to_f64(cloud.as_slice()), dim, sigma2);
            for (a, b) in mean.iter().zip(&exact) {
                let err = (*a as f64 - b).abs();
                assert!(err <= bound + 1e-4 * (1.0 + b.abs()), "error {err} above bound {bound}");
                worst = worst.max(err);
            }
        }
        // In practice the neglected tail is far below the worst-case bound.
        assert!(worst < 1e-3, "worst cut-off error {worst}");
        // Queries on the data (40 of 80) must meet the bound on the grid.
        assert!(checked >= 40, "only {checked} of 80 queries used the cut-off: the bound was hardly tested");
    }
}

fn settings(method: Method, steps: usize) -> FlowSettings {
    FlowSettings { method, steps, ..FlowSettings::default() }
}

fn offset_clouds(seed: u64, points: usize) -> (Cloud, Cloud) {
    let mut rng = sdflow::engine::rng::seeded(seed);
    let target = datasets::mystery(2 * points, 0.25, &mut rng);
    let source = datasets::gaussian(points, &[-12.0, 8.0, 0.0], 1.0, &mut rng);
    (target, source)
}

fn run_to_end(mut sim: Simulation) -> Simulation {
    while sim.step().is_some() {}
    sim
}

#[test]
fn sd_beats_mmd_on_an_offset_start() {
    // Paper Fig. 2 / Remark 1 on a small mystery_offset. (MmdNormalized is
    // checked against eq. 43 written out in f64 in engine::step_reference.)
    let (target, source) = offset_clouds(2, 200);
    let probe = MetricProbe::new(&target, 2, 256);
    let run = |method| run_to_end(Simulation::new(settings(method, 500), target.clone(), source.clone(), 2));
    let (sd, mmd) = (run(Method::Sd), run(Method::Mmd));
    let (sd_m, _) = probe.evaluate(sd.moving());
    let (mmd_m, _) = probe.evaluate(mmd.moving());
    let (start_m, _) = probe.evaluate(&source);
    assert!(sd_m.cfd < 0.25 * start_m.cfd, "SD should close most of the gap: {} -> {}", start_m.cfd, sd_m.cfd);
    assert!(sd_m.cfd < mmd_m.cfd, "SD CFD {} vs MMD {}", sd_m.cfd, mmd_m.cfd);
    assert!(
        sd_m.outlier_fraction < mmd_m.outlier_fraction,
        "SD outliers {} vs MMD {}",
        sd_m.outlier_fraction,
        mmd_m.outlier_fraction
    );
}

#[test]
fn the_denoiser_form_lands_points_on_the_target() {
    // Eq. 16 drops D_q: every point is pulled onto the target (no outliers
    // left), but nothing spreads the points over the modes as SD's D_q does.
    let (target, source) = offset_clouds(3, 150);
    let probe = MetricProbe::new(&target, 3, 64);
    let (before, _) = probe.evaluate(&source);
    let sim = run_to_end(Simulation::new(settings(Method::SdDenoiser, 500), target.clone(), source.clone(), 3));
    let (after, _) = probe.evaluate(sim.moving());
    assert_eq!(before.outlier_fraction, 1.0);
    assert!(after.outlier_fraction < 0.05, "{after:?}");
    assert!(after.mean_error < 0.2 * before.mean_error, "{after:?}");
}

#[test]
fn auto_step_size_sets_the_first_mean_displacement() {
    let (target, source) = offset_clouds(4, 100);
    let mut sim = Simulation::new(
        FlowSettings { step_size: StepSize::Auto { first_norm: 0.5 }, ..settings(Method::Sd, 10) },
        target,
        source.clone(),
        4,
    );
    sim.step();
    let mean_norm: f64 = source
        .points()
        .zip(sim.moving().points())
        .map(|(a, b)| a.iter().zip(b).map(|(x, y)| ((y - x) as f64).powi(2)).sum::<f64>().sqrt())
        .sum::<f64>()
        / source.len() as f64;
    assert!((mean_norm - 0.5).abs() < 1e-4, "first displacement {mean_norm}");
}

#[test]
fn runs_are_bit_identical_on_one_and_two_threads() {
    let on = |threads, settings: &FlowSettings, target: &Cloud, source: &Cloud| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("pool");
        pool.install(|| {
            let mut sim = Simulation::new(settings.clone(), target.clone(), source.clone(), 9);
            let mut paths = Vec::new();
            while let Some(report) = sim.step() {
                paths.push(report.path.name());
            }
            (sim.moving().clone(), paths)
        })
    };
    let (target, source) = offset_clouds(5, 300);
    for (batch, cutoff) in [(None, CutOff::Auto), (Some(64), CutOff::Auto), (None, CutOff::Off)] {
        let s = FlowSettings {
            batch,
            cutoff,
            schedule: Schedule::Cosine { sigma2_max: 4.0, sigma2_min: 0.01 },
            ..settings(Method::Sd, 30)
        };
        let (one, _) = on(1, &s, &target, &source);
        let (two, _) = on(2, &s, &target, &source);
        assert_eq!(one, two, "batch {batch:?}, cutoff {cutoff:?}");
        assert!(one.is_finite());
    }
    // Clouds big enough, and sigma small enough, for the cell-list cut-off.
    let mut rng = sdflow::engine::rng::seeded(8);
    let (target, source) =
        (datasets::swiss_roll(2500, 3, 0.15, &mut rng), datasets::swiss_roll(2500, 3, 0.15, &mut rng));
    let s = FlowSettings { schedule: Schedule::Constant { sigma2: 0.02 }, ..settings(Method::Sd, 4) };
    let (one, paths) = on(1, &s, &target, &source);
    let (two, _) = on(2, &s, &target, &source);
    assert!(paths.iter().all(|p| *p == "cut-off"), "the cut-off did not run: {paths:?}");
    assert_eq!(one, two, "cut-off path");
}

#[test]
fn batches_move_only_the_batch() {
    let (target, source) = offset_clouds(6, 300);
    let mut sim =
        Simulation::new(FlowSettings { batch: Some(32), ..settings(Method::Sd, 5) }, target, source.clone(), 6);
    let report = sim.step().expect("a step");
    assert_eq!(report.moved, 32);
    let moved = source.points().zip(sim.moving().points()).filter(|(a, b)| a != b).count();
    assert_eq!(moved, 32);
}

#[test]
fn extreme_schedules_never_put_nan_into_points() {
    let (target, source) = offset_clouds(7, 100);
    for (schedule, step_size, method) in [
        (Schedule::Constant { sigma2: 1e-6 }, StepSize::Auto { first_norm: 0.5 }, Method::Sd),
        (Schedule::Constant { sigma2: 1e6 }, StepSize::Auto { first_norm: 0.5 }, Method::Sd),
        (Schedule::Constant { sigma2: 1e-6 }, StepSize::Fixed { eta: 1e6 }, Method::Mmd),
        (Schedule::Constant { sigma2: 1e-30 }, StepSize::Fixed { eta: 1e30 }, Method::Mmd),
        (Schedule::Constant { sigma2: 1e6 }, StepSize::Fixed { eta: 2.0 }, Method::SdDenoiser),
    ] {
        let s = FlowSettings { schedule, step_size, ..settings(method, 20) };
        let sim = run_to_end(Simulation::new(s, target.clone(), source.clone(), 1));
        // `apply` keeps points finite whatever happens, so check that no
        // update had to be dropped: the kernel sums themselves stayed finite.
        assert_eq!(sim.non_finite(), 0, "{schedule:?} {step_size:?} {method:?}");
        assert!(sim.moving().is_finite(), "{schedule:?} {step_size:?} {method:?}");
    }
}

#[test]
fn overflowing_updates_are_counted_not_hidden() {
    // rho = eta / 2 = 5e29: points jump to the coordinate limit, then
    // y + eta dz overflows f32; the update is dropped,
    // the point stays finite, and the count says so.
    let (target, source) = offset_clouds(7, 100);
    let s = FlowSettings {
        schedule: Schedule::Constant { sigma2: 1e6 },
        step_size: StepSize::Fixed { eta: 1e30 },
        ..settings(Method::SdDenoiser, 3)
    };
    let mut sim = Simulation::new(s, target, source, 1);
    let reported: usize = std::iter::from_fn(|| sim.step()).map(|r| r.non_finite).sum();
    assert!(reported > 0, "no dropped update reported");
    assert_eq!(sim.non_finite(), reported as u64);
    assert!(sim.moving().is_finite());
}

#[test]
fn every_preset_validates_and_runs_a_few_steps() {
    let mut presets: Vec<_> = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/scenes"))
        .expect("scenes/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "ron"))
        .collect();
    presets.sort();
    assert!(presets.len() >= 9, "presets: {presets:?}");
    for path in presets {
        let file = SceneFile::read(&path).unwrap_or_else(|e| panic!("{e}"));
        assert!(!file.scene.description.is_empty(), "{} needs a description", path.display());
        let clouds = file.clouds().unwrap_or_else(|e| panic!("{e}"));
        if let Some(trainer) = file.scene.trainer(&clouds, file.scene.seed) {
            let mut t = trainer.unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            for _ in 0..3 {
                let r = t.step().expect("a step");
                assert!(r.loss.is_finite(), "{}", path.display());
            }
            assert!(t.samples(10).is_finite(), "{}", path.display());
            continue;
        }
        let mut sim = file.scene.simulation(&clouds, file.scene.seed);
        for _ in 0..3 {
            sim.step().expect("a step");
        }
        assert!(sim.moving().is_finite(), "{}", path.display());
        let (fixed, moving) = file.scene.fixed_and_moving(&clouds);
        assert_eq!(sim.fixed(), fixed);
        if file.scene.direction == Direction::Reverse {
            assert_eq!(moving, &clouds.target, "reverse moves the target");
        }
    }
}

#[test]
fn matrix_product_kernel_means_match_the_f64_reference_in_high_dimensions() {
    use sdflow::engine::kernel::gemm::{RowCentres, Tile, kernel_means};
    // Centres spanning more than one centre tile (512) and queries more than
    // one row tile (128); queries near the cloud and 1000 sigma away from it.
    for dim in [10, 17, 50, 64] {
        let mut rng = sdflow::engine::rng::seeded(dim as u64);
        let cloud = datasets::gaussian(700, &vec![3.0; dim], 2.0, &mut rng);
        let near = datasets::gaussian(150, &vec![3.5; dim], 2.5, &mut rng);
        let far = datasets::gaussian(20, &vec![-400.0; dim], 2.0, &mut rng);
        let centres = RowCentres::from_points(dim, cloud.as_slice());
        let cf = to_f64(cloud.as_slice());
        for sigma2 in [1e-6, 0.05, 1.0, 30.0, 1e6] {
            // Every kernel version's exponentials (the far queries' unshifted
            // weights all underflow).
            for (queries, imp) in [&near, &far].into_iter().flat_map(|q| impls().into_iter().map(move |i| (q, i))) {
                let mut means = vec![0.0f32; queries.as_slice().len()];
                let mut logs = vec![0.0f64; queries.len()];
                let mut tile = Tile::default();
                let inv = inv_two_sigma2(sigma2);
                kernel_means(imp, &centres, queries.as_slice(), inv, &mut tile, &mut means, &mut logs);
                for (i, z) in queries.points().enumerate() {
                    let (ref_log, ref_mean) = reference::kernel_mean(&to_f64(z), &cf, dim, sigma2);
                    let scale = 1.0 + ref_mean.iter().map(|x| x.abs()).fold(0.0, f64::max);
                    let mean = &means[i * dim..(i + 1) * dim];
                    for (a, b) in mean.iter().zip(&ref_mean) {
                        assert!(
                            (*a as f64 - b).abs() <= 2e-4 * scale,
                            "{imp:?} d={dim} s2={sigma2} query {i}: {a} vs {b}"
                        );
                    }
                    assert!(
                        (logs[i] - ref_log).abs() <= 1e-4 * (1.0 + ref_log.abs()),
                        "d={dim} s2={sigma2}: {} vs {ref_log}",
                        logs[i]
                    );
                }
            }
        }
    }
}

#[test]
fn the_matrix_product_path_runs_the_same_flow_as_the_direct_loop() {
    let mut rng = sdflow::engine::rng::seeded(12);
    let target = datasets::linear_gaussian(600, 20, 5, &mut rng);
    let source = datasets::gaussian(300, &[0.0; 20], 1.0, &mut rng);
    let s = FlowSettings { schedule: Schedule::Constant { sigma2: 40.0 }, ..settings(Method::Sd, 20) };
    let run = |gemm: bool| {
        let mut sim = Simulation::new(s.clone(), target.clone(), source.clone(), 3);
        sim.set_matrix_products(gemm);
        let mut paths = Vec::new();
        while let Some(r) = sim.step() {
            paths.push(r.path.name());
        }
        (sim.moving().clone(), paths)
    };
    let ((gemm, gp), (direct, dp)) = (run(true), run(false));
    assert!(gp.iter().all(|p| *p == "gemm") && dp.iter().all(|p| *p == "full"), "{gp:?} {dp:?}");
    let worst = gemm.as_slice().iter().zip(direct.as_slice()).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    assert!(worst < 1e-3, "paths differ by {worst}");
}

#[test]
fn from_nearest_is_factor_times_the_mean_nearest_distance_at_the_start() {
    // Moving points 5 and 1 away from their nearest fixed point: mean 3.
    for dim_pad in [0usize, 10] {
        let dim = 2 + dim_pad;
        let pt = |x: f32, y: f32| {
            let mut p = vec![0.0f32; dim];
            (p[0], p[1]) = (x, y);
            p
        };
        let fixed = Cloud::from_points(dim, &[pt(0.0, 0.0), pt(100.0, 0.0)]);
        let moving = Cloud::from_points(dim, &[pt(3.0, 4.0), pt(100.0, 1.0)]);
        let s = FlowSettings { schedule: Schedule::FromNearest { factor: 10.0 }, ..settings(Method::Sd, 5) };
        let sim = Simulation::new(s, fixed, moving, 1);
        match sim.settings().schedule {
            Schedule::Constant { sigma2 } => assert!((sigma2 - 30.0).abs() < 1e-3, "d={dim}: {sigma2}"),
            other => panic!("unresolved: {other:?}"),
        }
    }
}
