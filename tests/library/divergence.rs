//! Divergences against closed forms for Gaussians, plain f64 references and
//! the held-out memorisation check.

use sdflow::engine::{Cloud, FlowSettings, Method, Schedule, Simulation, StepSize, datasets};
use sdflow::engine::{DivergenceProbe, Divergences, StepContext};

fn ctx(sigma2: f64) -> StepContext {
    StepContext { steps_done: 0, sigma2, sd_eta: None }
}

fn close(name: &str, got: f64, want: f64, rel: f64, abs: f64) {
    assert!((got - want).abs() <= rel * want.abs() + abs, "{name}: {got} vs closed form {want}");
}

/// N(0, sp^2 I) as p and N(mu, sq^2 I) as q, in `dim` dimensions.
fn gaussians(dim: usize, mu: f64, sp: f64, sq: f64, n: usize, seed: u64) -> (Cloud, Cloud) {
    let mut rng = sdflow::engine::rng::seeded(seed);
    let mut mean = vec![0.0; dim];
    let p = datasets::gaussian(n, &mean, sp, &mut rng);
    mean[0] = mu;
    let q = datasets::gaussian(n, &mean, sq, &mut rng);
    (p, q)
}

#[test]
fn kl_and_fisher_of_two_gaussians_match_closed_forms() {
    let (dim, mu, sp, sq, sigma2) = (2, 1.5, 1.0, 0.7, 0.5);
    let (p, q) = gaussians(dim, mu, sp, sq, 4000, 1);
    let mut probe = DivergenceProbe::new(&p, None, 1, 16);
    let d = probe.evaluate(&q, ctx(sigma2));
    // The proxies are N(0, a I) and N(mu, b I).
    let (a, b, dd, m2) = (sp * sp + sigma2, sq * sq + sigma2, dim as f64, mu * mu);
    let kl_qp = 0.5 * (dd * b / a + m2 / a - dd + dd * (a / b).ln());
    let kl_pq = 0.5 * (dd * a / b + m2 / b - dd + dd * (b / a).ln());
    let fisher_q = m2 / (a * a) + dd * (1.0 / b.sqrt() - b.sqrt() / a).powi(2);
    let fisher_p = m2 / (b * b) + dd * (a.sqrt() / b - 1.0 / a.sqrt()).powi(2);
    close("kl_qp", d.kl_qp, kl_qp, 0.1, 0.02);
    close("kl_pq", d.kl_pq, kl_pq, 0.1, 0.02);
    close("fisher_q", d.fisher_q, fisher_q, 0.1, 0.05);
    close("fisher_p", d.fisher_p, fisher_p, 0.1, 0.05);
    assert!(d.js > 0.0 && d.js < std::f64::consts::LN_2, "{d:?}");
    // Equal clouds: every divergence vanishes.
    let same = probe.evaluate(&p, ctx(sigma2));
    for (name, v) in ["kl_qp", "kl_pq", "js", "fisher_q", "fisher_p", "fisher_r", "energy", "sw2"]
        .iter()
        .map(|n| (n, same.values()[Divergences::NAMES.iter().position(|x| x == n).expect("name")]))
    {
        assert!(v.abs() < 1e-9, "{name} of a cloud with itself: {v}");
    }
}

/// Density of N(m, s2) at x.
fn normal(x: f64, m: f64, s2: f64) -> f64 {
    (-(x - m).powi(2) / (2.0 * s2)).exp() / (2.0 * std::f64::consts::PI * s2).sqrt()
}

/// Integral of f over [-20, 20] by the midpoint rule.
fn integrate(f: impl Fn(f64) -> f64) -> f64 {
    let n = 40_000;
    let h = 40.0 / n as f64;
    (0..n).map(|i| f(-20.0 + (i as f64 + 0.5) * h)).sum::<f64>() * h
}

#[test]
fn js_energy_and_sliced_w2_in_one_dimension_match_f64_references() {
    let (mu, sp, sq, sigma2) = (1.2, 1.0, 0.6, 0.3);
    let (p, q) = gaussians(1, mu, sp, sq, 4000, 2);
    let mut probe = DivergenceProbe::new(&p, None, 2, 16);
    let d = probe.evaluate(&q, ctx(sigma2));
    let (a, b) = (sp * sp + sigma2, sq * sq + sigma2);
    let js = integrate(|x| {
        let (fp, fq) = (normal(x, 0.0, a), normal(x, mu, b));
        let m = 0.5 * (fp + fq);
        let part = |f: f64| if f > 0.0 { 0.5 * f * (f / m).ln() } else { 0.0 };
        part(fp) + part(fq)
    });
    close("js", d.js, js, 0.1, 0.005);
    // Energy distance of the Gaussians: 2 E|X - Y| - E|X - X'| - E|Y - Y'|.
    let mean_abs = |m: f64, s2: f64| integrate(|z| z.abs() * normal(z, m, s2));
    let energy = 2.0 * mean_abs(mu, sp * sp + sq * sq) - mean_abs(0.0, 2.0 * sp * sp) - mean_abs(0.0, 2.0 * sq * sq);
    close("energy", d.energy, energy, 0.1, 0.01);
    // In 1-D every direction is +-1: SW2 is W2 = sqrt(mu^2 + (sp - sq)^2).
    close("sw2", d.sw2, (mu * mu + (sp - sq).powi(2)).sqrt(), 0.05, 0.01);
}

#[test]
fn mmd2_matches_a_plain_f64_double_sum() {
    let (p, q) = gaussians(3, 0.8, 1.0, 1.3, 90, 3);
    let q = Cloud::new(3, q.as_slice()[..70 * 3].to_vec());
    let mut probe = DivergenceProbe::new(&p, None, 3, 16);
    let h2 = probe.mmd_bandwidth2();
    let k = |x: &[f32], y: &[f32]| {
        (-x.iter().zip(y).map(|(&a, &b)| (a as f64 - b as f64).powi(2)).sum::<f64>() / (2.0 * h2)).exp()
    };
    let within = |c: &Cloud| {
        let mut s = 0.0;
        for (i, x) in c.points().enumerate() {
            for (j, y) in c.points().enumerate() {
                if i != j {
                    s += k(x, y);
                }
            }
        }
        s / (c.len() * (c.len() - 1)) as f64
    };
    let cross: f64 = q.points().flat_map(|x| p.points().map(move |y| (x, y))).map(|(x, y)| k(x, y)).sum::<f64>()
        / (p.len() * q.len()) as f64;
    let expected = within(&q) + within(&p) - 2.0 * cross;
    let d = probe.evaluate(&q, ctx(1.0));
    assert!((d.mmd2 - expected).abs() < 1e-5, "mmd2 {} vs {expected}", d.mmd2);
    assert!(expected > 0.0);
}

#[test]
fn memorisation_is_zero_on_the_training_points_and_about_one_on_a_fresh_sample() {
    let mut rng = sdflow::engine::rng::seeded(4);
    let target = datasets::mystery(600, 0.25, &mut rng);
    let held_out = datasets::mystery(600, 0.25, &mut rng);
    let fresh = datasets::mystery(600, 0.25, &mut rng);
    let mut probe = DivergenceProbe::new(&target, Some(&held_out), 4, 64);
    let on_training = probe.evaluate(&target, ctx(0.5));
    assert_eq!(on_training.memorization, 0.0);
    assert!((on_training.cfd_heldout - on_training.cfd_floor).abs() < 1e-12, "{on_training:?}");
    let d = probe.evaluate(&fresh, ctx(0.5));
    assert!((0.8..1.25).contains(&d.memorization), "fresh sample: {}", d.memorization);
    assert!(d.cfd_heldout < 3.0 * d.cfd_floor, "{d:?}");
    let none = DivergenceProbe::new(&target, None, 4, 64).evaluate(&fresh, ctx(0.5));
    assert!(none.memorization.is_nan() && none.cfd_heldout.is_nan());
}

#[test]
fn the_kl_rate_identity_holds_for_small_sd_steps_at_fixed_sigma() {
    let (p, q) = gaussians(2, 2.0, 1.0, 1.0, 400, 5);
    let (sigma2, eta) = (1.0, 0.2);
    let settings = FlowSettings {
        method: Method::Sd,
        schedule: Schedule::Constant { sigma2 },
        step_size: StepSize::Fixed { eta },
        steps: 20,
        ..FlowSettings::default()
    };
    let mut sim = Simulation::new(settings, p.clone(), q, 5);
    let mut probe = DivergenceProbe::new(&p, None, 5, 16);
    let c = |steps_done| StepContext { steps_done, sigma2, sd_eta: Some(eta) };
    let first = probe.evaluate(sim.moving(), c(0));
    assert!(first.kl_rate_measured.is_nan(), "no earlier evaluation");
    let (mut predicted, mut measured) = (first.kl_rate_predicted, 0.0);
    for k in 1..=10 {
        sim.step();
        let d = probe.evaluate(sim.moving(), c(k));
        measured += d.kl_rate_measured;
        if k < 10 {
            predicted += d.kl_rate_predicted;
        }
    }
    assert!(predicted < 0.0, "SD lowers KL(q || p): {predicted}");
    assert!((measured / predicted - 1.0).abs() < 0.15, "measured {measured} vs predicted {predicted}");
}

#[test]
fn divergences_are_the_same_on_one_and_two_threads() {
    let (p, q) = gaussians(3, 1.0, 1.0, 0.5, 700, 6);
    let on = |threads| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("pool");
        pool.install(|| DivergenceProbe::new(&p, Some(&q), 6, 32).evaluate(&q, ctx(0.4)).values())
    };
    let (one, two) = (on(1), on(2));
    assert_eq!(one.map(f64::to_bits), two.map(f64::to_bits));
}
