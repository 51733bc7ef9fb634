//! The theory features: scene rules for rho and sigma^2, rectified flow and
//! Tweedie's formula, the diffusion form of SdDenoiser, recalibration.

use std::path::Path;

use sdflow::engine::flow::{tweedie_score, velocity};
use sdflow::engine::kernel::Centres;
use sdflow::engine::kernel::fast::KernelImpl;
use sdflow::engine::{Cloud, FlowSettings, Method, MetricProbe, Rho, Schedule, Simulation, StepSize, datasets};
use sdflow::scene::{SceneError, SceneFile};

const BASE: &str = r#"(
    name: "t",
    seed: 3,
    target: Mystery(points: 200),
    source: Gaussian(points: 100, mean: [0.0, 0.0, 0.0], std: 1.0),
    method: SdDenoiser,
    schedule: Cosine(sigma2_max: 4.0, sigma2_min: 0.5),
    steps: 50,
)"#;

fn parse(text: &str) -> Result<SceneFile, SceneError> {
    SceneFile::parse(Path::new("t.ron"), text.to_string())
}

fn with(extra: &str) -> String {
    BASE.replace("    steps: 50,\n", &format!("    steps: 50,\n    {extra}\n"))
}

#[test]
fn scene_rules_for_rho_and_sigma2() {
    assert_eq!(parse(&with("rho: Diffusion,")).expect("valid").scene.rho, Rho::Diffusion);
    assert_eq!(parse(&with("rho: Fixed(0.05),")).expect("valid").scene.rho, Rho::Fixed(0.05));
    for (extra, needle) in [
        ("rho: Fixed(1.5),", "(0, 1]"),
        ("rho: Fixed(0.0),", "(0, 1]"),
        ("step_size: Fixed(eta: 3.0),", "rho = eta / 2 = 1.5"),
    ] {
        let e = parse(&with(extra)).expect_err(extra);
        assert!(e.to_string().contains(needle), "{extra}: {e}");
        assert_eq!(e.problems[0].line, 9, "{e}");
    }
    let flat =
        parse(&with("rho: Diffusion,").replace("Cosine(sigma2_max: 4.0, sigma2_min: 0.5)", "Constant(sigma2: 1.0)"))
            .expect_err("flat diffusion");
    assert!(flat.to_string().contains("falling schedule"), "{flat}");
    let sd = parse(&with("rho: Fixed(0.05),").replace("method: SdDenoiser", "method: Sd")).expect_err("rho on Sd");
    assert!(sd.to_string().contains("only for SdDenoiser"), "{sd}");
    let huge =
        parse(&BASE.replace("Cosine(sigma2_max: 4.0, sigma2_min: 0.5)", "Constant(sigma2: 1e37)")).expect_err("1e37");
    assert!(huge.to_string().contains("f32 kernels represent"), "{huge}");
    assert_eq!(huge.problems[0].line, 7, "{huge}");
}

#[test]
fn rectified_flow_warnings_name_what_is_ignored() {
    let rf = parse(&BASE.replace("method: SdDenoiser", "method: RectifiedFlow")).expect("valid").scene;
    let w = rf.warnings();
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].contains("ignores `schedule` and `step_size`"), "{w:?}");
    let shifted = BASE.replace("method: SdDenoiser", "method: RectifiedFlow").replace("std: 1.0", "std: 2.0");
    let w = parse(&shifted).expect("valid").scene.warnings();
    assert!(w.iter().any(|m| m.contains("N(0, I)")), "{w:?}");
    assert!(parse(BASE).expect("valid").scene.warnings().is_empty());
}

/// ln rho_t(x) up to a constant: the mixture of N(t x1_j, (1 - t)^2 I), in f64.
fn log_rho(target: &Cloud, t: f64, x: &[f64]) -> f64 {
    let s2 = (1.0 - t) * (1.0 - t);
    let terms: Vec<f64> = target
        .points()
        .map(|c| -c.iter().zip(x).map(|(&a, b)| (t * a as f64 - b).powi(2)).sum::<f64>() / (2.0 * s2))
        .collect();
    let m = terms.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    m + terms.iter().map(|v| (v - m).exp()).sum::<f64>().ln()
}

#[test]
fn tweedie_matches_the_score_of_rho_t_by_finite_differences() {
    let mut rng = sdflow::engine::rng::seeded(4);
    let target = datasets::gaussian(60, &[2.0, -1.0], 1.5, &mut rng);
    let queries = datasets::gaussian(8, &[1.0, 0.0], 1.5, &mut rng);
    let mean = target.mean();
    for t in [0.0, 0.3, 0.7, 0.9] {
        let mut centres = Centres::from_points(2, target.as_slice());
        centres.scale(t as f32);
        let (mut w, mut v) = (vec![0.0; 2], vec![0.0f32; 2]);
        for x in queries.points() {
            velocity(KernelImpl::detect(), &centres, &mean, t, x, &mut w, &mut v);
            let score = tweedie_score(t, &v, x);
            let xf: Vec<f64> = x.iter().map(|&a| a as f64).collect();
            for k in 0..2 {
                let h = 1e-5;
                let (mut a, mut b) = (xf.clone(), xf.clone());
                a[k] += h;
                b[k] -= h;
                let fd = (log_rho(&target, t, &a) - log_rho(&target, t, &b)) / (2.0 * h);
                assert!((score[k] - fd).abs() < 2e-3 * (1.0 + fd.abs()), "t={t} k={k}: Tweedie {} vs {fd}", score[k]);
            }
        }
    }
}

#[test]
fn the_ideal_rectified_flow_memorises_and_its_residual_is_small() {
    let mut rng = sdflow::engine::rng::seeded(5);
    let target = datasets::gaussian(40, &[0.0, 0.0], 3.0, &mut rng);
    let source = datasets::gaussian(200, &[0.0, 0.0], 1.0, &mut rng);
    let settings = FlowSettings { method: Method::RectifiedFlow, steps: 200, ..FlowSettings::default() };
    let mut sim = Simulation::new(settings, target.clone(), source, 5);
    for _ in 0..100 {
        sim.step();
    }
    let residual = sim.tweedie_residual().expect("a RectifiedFlow residual at t = 0.5");
    assert!(residual < 1e-5, "Tweedie residual {residual}");
    while sim.step().is_some() {}
    assert_eq!(sim.non_finite(), 0);
    assert_eq!(sim.tweedie_residual(), None, "no residual at t = 1");
    // Every point ends next to a training point: far closer than the
    // target's own nearest-neighbour spacing.
    let probe = MetricProbe::new(&target, 5, 16);
    let spacing = sdflow::engine::metrics::percentile(probe.fixed_nn(), 0.5);
    let mut nn = probe.moving_nn(sim.moving());
    nn.sort_by(f64::total_cmp);
    let median = sdflow::engine::metrics::percentile(&nn, 0.5);
    assert!(median < 0.05 * spacing, "median NN {median} vs target spacing {spacing}");
}

#[test]
fn the_diffusion_form_samples_the_target_from_wide_noise() {
    // Section 5: from N(0, sigma2_max I), SdDenoiser with rho_t from the schedule.
    let mut rng = sdflow::engine::rng::seeded(6);
    let target = datasets::mystery(300, 0.25, &mut rng);
    let source = datasets::gaussian(150, &target.mean(), 4.0, &mut rng);
    let probe = MetricProbe::new(&target, 6, 64);
    let before = probe.evaluate(&source).0;
    let settings = FlowSettings {
        method: Method::SdDenoiser,
        rho: Rho::Diffusion,
        schedule: Schedule::Geometric { sigma2_max: 16.0, sigma2_min: 0.05 },
        steps: 200,
        ..FlowSettings::default()
    };
    let mut sim = Simulation::new(settings, target, source, 6);
    let first = sim.step().expect("a step");
    assert!((first.eta / 2.0 - (1.0 - sim.settings().schedule.sigma2(1, 200) / 16.0)).abs() < 1e-12);
    while sim.step().is_some() {}
    let after = probe.evaluate(sim.moving()).0;
    // Every point ends on the target (the last step denoises to sigma = 0).
    assert!(before.outlier_fraction > 0.5, "{before:?}");
    assert!(after.outlier_fraction < 0.05, "{after:?}");
}

#[test]
fn changing_the_method_recalibrates_an_auto_eta() {
    let mut rng = sdflow::engine::rng::seeded(7);
    let target = datasets::mystery(200, 0.25, &mut rng);
    let source = datasets::gaussian(100, &[-12.0, 8.0, 0.0], 1.0, &mut rng);
    let settings = FlowSettings { step_size: StepSize::Auto { first_norm: 0.5 }, steps: 20, ..FlowSettings::default() };
    let mut sim = Simulation::new(settings.clone(), target, source, 7);
    let sd_eta = sim.step().expect("a step").eta;
    sim.set_settings(FlowSettings { method: Method::Mmd, ..settings });
    let before = sim.moving().clone();
    let mmd = sim.step().expect("a step");
    assert!((mmd.eta / sd_eta - 1.0).abs() > 0.1, "eta kept: {sd_eta} then {}", mmd.eta);
    let mean_norm: f64 = before
        .points()
        .zip(sim.moving().points())
        .map(|(a, b)| a.iter().zip(b).map(|(x, y)| ((y - x) as f64).powi(2)).sum::<f64>().sqrt())
        .sum::<f64>()
        / before.len() as f64;
    assert!((mean_norm - 0.5).abs() < 1e-3, "first MMD displacement {mean_norm}");
}

#[test]
fn the_ends_of_the_sigma2_range_still_move_points() {
    // The scene accepts sigma^2 in kernel::SIGMA2_RANGE: at both ends the kernel
    // sums stay finite and SD steps move the points. (MMD's steps vanish there
    // for data of unit scale: its mean kernel values underflow, as in Remark 1.)
    // Past the range, at 1e37, squared distances of noisy points overflow f32.
    let (lo, hi) = sdflow::engine::kernel::SIGMA2_RANGE;
    let mut rng = sdflow::engine::rng::seeded(8);
    let target = datasets::gaussian(100, &[1.0, 2.0, 0.0], 1.0, &mut rng);
    let source = datasets::gaussian(80, &[-3.0, 0.0, 1.0], 1.0, &mut rng);
    for sigma2 in [lo, hi] {
        for method in [Method::Sd, Method::SdDenoiser, Method::Mmd] {
            let settings =
                FlowSettings { method, schedule: Schedule::Constant { sigma2 }, steps: 3, ..FlowSettings::default() };
            let mut sim = Simulation::new(settings, target.clone(), source.clone(), 8);
            while sim.step().is_some() {}
            assert_eq!(sim.non_finite(), 0, "{method:?} at sigma^2 = {sigma2:e}");
            assert!(sim.moving().is_finite());
            if method != Method::Mmd {
                assert!(sim.moving() != &source, "{method:?} at sigma^2 = {sigma2:e}: no point moved");
            }
        }
    }
}

#[test]
fn the_held_out_sample_is_a_fresh_draw_of_the_fixed_cloud() {
    let file = parse(BASE).expect("valid");
    let clouds = file.clouds().expect("clouds");
    let held = file.held_out(3).expect("a generated target has a held-out sample");
    assert_eq!((held.len(), held.dim()), (clouds.target.len(), clouds.target.dim()));
    assert_ne!(held, clouds.target, "an independent stream, not a copy");
    assert_eq!(file.held_out(3), Some(held), "seeded");
    // Reverse: the fixed cloud is the source, so the held-out sample is of it.
    let reverse =
        parse(&BASE.replace("method: SdDenoiser,", "method: SdDenoiser,\n    direction: Reverse,")).expect("valid");
    assert_eq!(reverse.held_out(3).expect("a sample").len(), clouds.source.len());
    let csv = parse(&BASE.replace("Mystery(points: 200)", "Csv(path: \"x.csv\")")).expect("parses");
    assert_eq!(csv.held_out(3), None, "no second sample of a file");
}
