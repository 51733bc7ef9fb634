//! The GAN view (paper Section 4.3): neural discriminators against closed
//! forms, h* from the kernel sums against a plain f64 reference, and
//! discriminator-driven particle flows.

use std::path::Path;

use sdflow::engine::flow::{mean_cosine, optimal_logits};
use sdflow::engine::nn::{Activation, sigmoid};
use sdflow::engine::{
    Cloud, Discriminator, Driver, FlowSettings, GanLoss, Method, MetricProbe, Schedule, Simulation, StepSize, datasets,
};
use sdflow::scene::SceneFile;

/// grad_z [log N(z; mu_p, vp I) - log N(z; mu_q, vq I)].
fn analytic_grad_h(z: &[f32], mu_p: &[f64], vp: f64, mu_q: &[f64], vq: f64) -> Vec<f32> {
    z.iter().enumerate().map(|(k, &x)| (-(x as f64 - mu_p[k]) / vp + (x as f64 - mu_q[k]) / vq) as f32).collect()
}

#[test]
fn a_trained_discriminator_follows_the_score_difference_of_two_gaussians() {
    // p = N(mu_p, 1 I), q = N(mu_q, 0.6^2 I) in 2-D: h = log p - log q is
    // quadratic, grad h affine in z (eq. 31).
    let (mu_p, sp, mu_q, sq) = ([1.5, 0.0], 1.0, [-1.0, 0.5], 0.6);
    let mut rng = sdflow::engine::rng::seeded(1);
    let p = datasets::gaussian(4000, &mu_p, sp, &mut rng);
    let q = datasets::gaussian(4000, &mu_q, sq, &mut rng);
    let mut d = Discriminator::new(2, &[32, 32], Activation::Silu, 3e-3, GanLoss::Alt, 7).expect("net");
    let mut scratch = (Vec::new(), Vec::new());
    for _ in 0..600 {
        d.update_noisy(p.as_slice(), q.as_slice(), 256, 0.0, &mut rng, &mut scratch);
    }
    // At the moving points (samples of q), where the flow acts.
    let z = &q.as_slice()[..2 * 1000];
    let mut alt = vec![0.0; z.len()];
    d.directions(z, 1.0, &mut alt);
    let exact: Vec<f32> =
        z.chunks_exact(2).flat_map(|zi| analytic_grad_h(zi, &mu_p, sp * sp, &mu_q, sq * sq)).collect();
    let cosine = mean_cosine(&alt, &exact, 2);
    assert!(cosine >= 0.9, "mean cosine with the analytic score difference {cosine}");
    // An untrained discriminator is far from it: the test has teeth.
    let fresh = Discriminator::new(2, &[32, 32], Activation::Silu, 3e-3, GanLoss::Alt, 7).expect("net");
    let mut untrained = vec![0.0; z.len()];
    fresh.directions(z, 1.0, &mut untrained);
    assert!(mean_cosine(&untrained, &exact, 2) < 0.8, "untrained cosine {}", mean_cosine(&untrained, &exact, 2));

    // Eq. 28: the non-saturating loss scales the same gradient by 1 - f.
    d.set_loss(GanLoss::NonSaturating);
    let mut ns = vec![0.0; z.len()];
    d.directions(z, 1.0, &mut ns);
    let h = d.logits(z);
    let mut smallest = 1.0f32;
    for ((a, n), &hi) in alt.chunks_exact(2).zip(ns.chunks_exact(2)).zip(&h) {
        let w = 1.0 - sigmoid(hi);
        smallest = smallest.min(w);
        for (x, y) in a.iter().zip(n) {
            assert!((w * x - y).abs() <= 1e-5 * (1.0 + x.abs()), "NonSaturating {y} vs (1 - f) Alt {}", w * x);
        }
    }
    assert!(smallest < 0.7, "some moving point should fool the discriminator a little: min 1 - f = {smallest}");
}

/// Plain f64 ln((1/n) sum_j exp(-|z - c_j|^2 / (2 sigma^2))), max-shifted.
fn log_density(z: &[f32], cloud: &Cloud, sigma2: f64) -> f64 {
    let d2: Vec<f64> =
        cloud.points().map(|c| c.iter().zip(z).map(|(&a, &b)| (a as f64 - b as f64).powi(2)).sum::<f64>()).collect();
    let m = d2.iter().copied().fold(f64::INFINITY, f64::min);
    let sum: f64 = d2.iter().map(|d| (-(d - m) / (2.0 * sigma2)).exp()).sum();
    -m / (2.0 * sigma2) + sum.ln() - (cloud.len() as f64).ln()
}

#[test]
fn optimal_logits_match_a_plain_f64_reference() {
    for dim in [2, 5] {
        let mut rng = sdflow::engine::rng::seeded(dim as u64);
        let fixed = datasets::gaussian(300, &vec![1.0; dim], 1.0, &mut rng);
        let moving = datasets::gaussian(170, &vec![-1.0; dim], 0.5, &mut rng);
        let mut queries = datasets::gaussian(20, &vec![0.0; dim], 2.0, &mut rng).as_slice().to_vec();
        // Far away, where every f32 weight would underflow without the shift.
        queries.extend(std::iter::repeat_n(60.0, dim));
        for sigma2 in [0.01, 0.5, 20.0] {
            let h = optimal_logits(&fixed, &moving, sigma2, &queries);
            assert_eq!(h.len(), 21);
            for (z, &hz) in queries.chunks_exact(dim).zip(&h) {
                let (lp, lq) = (log_density(z, &fixed, sigma2), log_density(z, &moving, sigma2));
                let tol = 1e-4 * (1.0 + lp.abs() + lq.abs());
                assert!(hz.is_finite() && (hz - (lp - lq)).abs() <= tol, "d={dim} s2={sigma2}: {hz} vs {}", lp - lq);
            }
        }
    }
    // Identical clouds: h* = 0 everywhere.
    let cloud = datasets::gaussian(50, &[0.0, 0.0], 1.0, &mut sdflow::engine::rng::seeded(3));
    assert!(optimal_logits(&cloud, &cloud, 0.3, &[0.2, 0.1, 9.0, -4.0]).iter().all(|h| h.abs() < 1e-9));
}

fn driver(loss: GanLoss) -> Driver {
    Driver::Discriminator {
        hidden: vec![32, 32],
        learning_rate: 3e-3,
        updates_per_step: 4,
        loss,
        activation: Activation::Silu,
        minibatch: 128,
    }
}

fn offset_gaussians() -> (Cloud, Cloud) {
    let mut rng = sdflow::engine::rng::seeded(11);
    (datasets::grid25(400, 0.3, &mut rng), datasets::gaussian(300, &[9.0, 7.0], 0.5, &mut rng))
}

fn settings(driver: Driver, steps: usize) -> FlowSettings {
    FlowSettings {
        method: Method::Sd,
        schedule: Schedule::Cosine { sigma2_max: 4.0, sigma2_min: 0.1 },
        steps,
        step_size: StepSize::Auto { first_norm: 0.5 },
        driver,
        ..FlowSettings::default()
    }
}

#[test]
fn a_discriminator_driven_run_closes_most_of_the_gap() {
    let (target, source) = offset_gaussians();
    let probe = MetricProbe::new(&target, 1, 128);
    let (before, _) = probe.evaluate(&source);
    for loss in [GanLoss::Alt, GanLoss::NonSaturating] {
        let mut sim = Simulation::new(settings(driver(loss), 80), target.clone(), source.clone(), 5);
        let mut cosines = Vec::new();
        while let Some(report) = sim.step() {
            cosines.push(report.driver_cosine.expect("a discriminator reports its cosine"));
        }
        let (after, _) = probe.evaluate(sim.moving());
        assert!(sim.moving().is_finite());
        assert!(after.cfd < 0.25 * before.cfd, "{loss:?}: CFD {} -> {}", before.cfd, after.cfd);
        // While the clouds are apart the discriminator's direction is close to
        // the optimal one's (0.6-0.9 over seeds, against ~0 for an unrelated
        // direction); once they overlap it lags behind the fine structure.
        let apart = cosines[..14].iter().sum::<f64>() / 14.0;
        assert!(apart > 0.5, "{loss:?}: mean driver cosine over the first 14 steps {apart}");
        assert!(sim.discriminator().is_some_and(|d| d.updates() == 4 * 80));
    }
    // The kernel driver reports no cosine.
    let mut kernel = Simulation::new(settings(Driver::Kernel, 2), target, source, 5);
    assert_eq!(kernel.step().expect("a step").driver_cosine, None);
}

#[test]
fn discriminator_runs_are_deterministic_on_any_thread_count() {
    let (target, source) = offset_gaussians();
    let run = |threads: usize, seed: u64| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("pool");
        pool.install(|| {
            let mut sim = Simulation::new(
                FlowSettings { batch: Some(100), ..settings(driver(GanLoss::NonSaturating), 6) },
                target.clone(),
                source.clone(),
                seed,
            );
            let cosines: Vec<_> = std::iter::from_fn(|| sim.step()).map(|r| r.driver_cosine).collect();
            let h = sim.discriminator().expect("trained").logits(&[0.0, 0.0, 9.0, 7.0]);
            (sim.moving().clone(), cosines, h)
        })
    };
    let one = run(1, 3);
    assert_eq!(one, run(2, 3));
    assert_ne!(one.0, run(2, 4).0, "another seed gives another run");
    // reset() starts the discriminator afresh: the same run again.
    let mut sim = Simulation::new(settings(driver(GanLoss::Alt), 3), target.clone(), source.clone(), 8);
    while sim.step().is_some() {}
    let first = sim.moving().clone();
    sim.reset();
    while sim.step().is_some() {}
    assert_eq!(&first, sim.moving());
}

const SCENE: &str = r#"(
    name: "test",
    seed: 1,
    target: Grid25(points: 500),
    source: Gaussian(points: 300, mean: [8.0, 8.0], std: 0.5),
    method: Sd,
    schedule: Cosine(sigma2_max: 4.0, sigma2_min: 0.1),
    steps: 10,
    driver: Discriminator(hidden: [64, 64], learning_rate: 0.001, updates_per_step: 5, loss: NonSaturating),
)"#;

fn parse(text: &str) -> Result<SceneFile, sdflow::scene::SceneError> {
    SceneFile::parse(Path::new("scenes/test.ron"), text.to_string())
}

#[test]
fn the_driver_field_parses_defaults_and_reports_problems_at_their_field() {
    let f = parse(SCENE).expect("valid");
    assert_eq!(
        f.scene.driver,
        Driver::Discriminator {
            hidden: vec![64, 64],
            learning_rate: 0.001,
            updates_per_step: 5,
            loss: GanLoss::NonSaturating,
            activation: Activation::Silu,
            minibatch: 256,
        }
    );
    let without = parse(&SCENE.replace("    driver: Discriminator(hidden: [64, 64], learning_rate: 0.001, updates_per_step: 5, loss: NonSaturating),\n", ""));
    assert_eq!(without.expect("valid").scene.driver, Driver::Kernel);

    let bad = parse(
        &SCENE
            .replace("[64, 64]", "[]")
            .replace("0.001", "-1.0")
            .replace("updates_per_step: 5", "updates_per_step: 0")
            .replace("method: Sd", "method: Mmd"),
    )
    .unwrap_err();
    let at = |needle: &str| bad.problems.iter().find(|p| p.message.contains(needle)).map(|p| (p.line, p.column));
    assert_eq!(at("`hidden` is empty"), Some((9, 27)), "{bad}");
    assert_eq!(at("`learning_rate` is -1"), Some((9, 39)), "{bad}");
    assert_eq!(at("`updates_per_step` is 0"), Some((9, 60)), "{bad}");
    assert_eq!(at("use `method: Sd`"), Some((6, 5)), "{bad}");
    assert_eq!(bad.problems.len(), 4, "{bad}");
    let unknown = parse(&SCENE.replace("loss: NonSaturating", "loss: Saturating")).unwrap_err();
    assert_eq!(unknown.problems[0].line, 9, "{unknown}");
}

#[test]
fn a_generator_trained_through_a_discriminator_learns_and_is_deterministic() {
    // Algorithm 2 with step 4 from a discriminator (eq. 28).
    let text = r#"(
    name: "gan generator",
    seed: 2,
    target: Gaussian(points: 600, mean: [3.0, -2.0], std: 0.7),
    model: Mlp(latent: 2, hidden: [32, 32], activation: Tanh, learning_rate: 0.003, optimizer: Adam),
    method: Sd,
    schedule: Cosine(sigma2_max: 2.0, sigma2_min: 0.1),
    steps: 120,
    step_size: Auto(first_norm: 0.5),
    batch: Some(128),
    driver: Discriminator(hidden: [32, 32], learning_rate: 0.003, updates_per_step: 3, loss: NonSaturating, minibatch: 128),
)"#;
    let file = parse(text).expect("valid");
    let clouds = file.clouds().expect("clouds");
    let probe = MetricProbe::new(&clouds.target, 1, 128);
    let train = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("pool");
        pool.install(|| {
            let mut t = file.scene.trainer(&clouds, 2).expect("a model").expect("trainer");
            let before = probe.evaluate(&t.samples(600)).0;
            let cosines: Vec<_> = std::iter::from_fn(|| t.step()).map(|r| r.driver_cosine).collect();
            assert!(t.discriminator().is_some_and(|d| d.updates() == 3 * 120));
            (before.cfd, probe.evaluate(&t.samples(600)).0.cfd, cosines, t.samples(50))
        })
    };
    let (before, after, cosines, samples) = train(1);
    assert!(cosines.iter().all(Option::is_some), "every step reports its cosine");
    assert!(after < before / 3.0, "generator CFD {before} -> {after}");
    assert_eq!(train(2).3, samples, "seeded training is deterministic on any thread count");
}

/// Runs the binary; returns (stdout, the metrics CSV's header and rows).
fn run_with_metrics(scene: &str, extra: &[&str]) -> (String, Vec<String>, Vec<Vec<String>>) {
    let path = std::env::temp_dir().join(format!("sdflow-gan-{}-{}.csv", std::process::id(), scene.replace('/', "_")));
    let mut args = vec!["run", scene, "--quiet", "--metrics", path.to_str().expect("utf-8")];
    args.extend(extra);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sdflow"))
        .args(&args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("sdflow runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let csv = std::fs::read_to_string(&path).expect("metrics written");
    let mut lines = csv.lines().map(|l| l.split(',').map(str::to_string).collect::<Vec<_>>());
    let header = lines.next().expect("a header");
    (String::from_utf8_lossy(&out.stdout).into_owned(), header, lines.collect())
}

#[test]
fn the_cli_writes_driver_cosine_and_modes_covered() {
    let column = |header: &[String], name: &str| header.iter().position(|h| h == name);
    // A generator on the grid, trained through a discriminator: both columns.
    let (stdout, header, rows) =
        run_with_metrics("scenes/grid25_mlp_gan_ns.ron", &["--steps", "20", "--metrics-every", "10"]);
    let (cos, modes) =
        (column(&header, "driver_cosine").expect("cosine"), column(&header, "modes_covered").expect("modes"));
    assert_eq!(rows.len(), 3, "the start and steps 10, 20: {rows:?}");
    assert_eq!((rows[0][0].as_str(), rows[0][cos].as_str()), ("0", ""), "no cosine before a step");
    for row in &rows[1..] {
        let c: f64 = row[cos].parse().expect("a number");
        let m: usize = row[modes].parse().expect("a count");
        assert!((-1.0..=1.0).contains(&c) && m <= 25, "{row:?}");
    }
    assert!(stdout.contains("of 25 covered") && stdout.contains("cosine w/ SD"), "{stdout}");
    // A kernel-driven particle flow toward the grid: modes only.
    let (_, header, rows) = run_with_metrics("scenes/grid25.ron", &["--steps", "3", "--metrics-every", "1"]);
    assert!(column(&header, "driver_cosine").is_none() && column(&header, "modes_covered").is_some());
    assert_eq!(rows.len(), 4, "the start and 3 steps");
    // A discriminator-driven particle flow toward the mystery: cosine only.
    let (_, header, _) = run_with_metrics("scenes/mystery_offset_disc_alt.ron", &["--steps", "3"]);
    assert!(column(&header, "driver_cosine").is_some() && column(&header, "modes_covered").is_none());
}

#[test]
fn the_gradient_of_h_star_is_the_sd_displacement() {
    // Eq. 31 on the smoothed proxies with Tweedie's D(z) - z = sigma^2 grad log p_sigma(z):
    // sigma^2 / 2 grad h*(z) = 1/2 (D_p(z) - D_q(z)), the kernel SD displacement (eq. 13).
    use sdflow::engine::kernel::reference;
    let mut rng = sdflow::engine::rng::seeded(4);
    let fixed = datasets::gaussian(200, &[1.0, -1.0], 0.8, &mut rng);
    let moving = datasets::gaussian(150, &[-1.0, 0.5], 0.6, &mut rng);
    let f64s = |c: &Cloud| c.as_slice().iter().map(|&v| v as f64).collect::<Vec<_>>();
    let (p, q) = (f64s(&fixed), f64s(&moving));
    for sigma2 in [0.3, 2.0] {
        for z in [[0.0f32, 0.0], [1.5, -0.5], [-2.0, 1.0]] {
            let h = 1e-2f32;
            let queries = [z[0] + h, z[1], z[0] - h, z[1], z[0], z[1] + h, z[0], z[1] - h];
            let hs = optimal_logits(&fixed, &moving, sigma2, &queries);
            let grad = [(hs[0] - hs[1]) / (2.0 * h as f64), (hs[2] - hs[3]) / (2.0 * h as f64)];
            let z64 = [z[0] as f64, z[1] as f64];
            let (_, dp) = reference::kernel_mean(&z64, &p, 2, sigma2);
            let (_, dq) = reference::kernel_mean(&z64, &q, 2, sigma2);
            for k in 0..2 {
                let sd = 0.5 * (dp[k] - dq[k]);
                let from_h = 0.5 * sigma2 * grad[k];
                assert!((from_h - sd).abs() <= 2e-3 * (1.0 + sd.abs()), "s2={sigma2} z={z:?} k={k}: {from_h} vs {sd}");
            }
        }
    }
}
