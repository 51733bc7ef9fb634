//! The run's history (issue 10): scrubbing back and replaying reproduces the
//! points of an uninterrupted run bit for bit, with every-step snapshots and
//! with keyframes under a tiny cap; settings changes replay exactly; a branch
//! drops the future. References are plain runs that never see a timeline.

use sdflow::engine::nn::Activation;
use sdflow::engine::{
    Cloud, Driver, FlowSettings, GanLoss, Method, Schedule, Simulation, StepSize, Timeline, TimelineError, datasets,
};

/// What a state looks like at one step, compared bit for bit.
#[derive(Clone, Debug, PartialEq)]
struct State {
    step: usize,
    points: Vec<u32>,
    eta: Option<u64>,
    non_finite: u64,
    /// The discriminator's weights, if any.
    weights: Vec<u32>,
}

fn state(sim: &Simulation) -> State {
    State {
        step: sim.step_index(),
        points: sim.moving().as_slice().iter().map(|x| x.to_bits()).collect(),
        eta: sim.eta().map(f64::to_bits),
        non_finite: sim.non_finite(),
        weights: sim.discriminator().map_or(Vec::new(), |d| d.network().params().iter().map(|x| x.to_bits()).collect()),
    }
}

fn clouds(fixed: usize, moving: usize) -> (Cloud, Cloud) {
    let mut rng = sdflow::engine::rng::seeded(17);
    (datasets::grid25(fixed, 0.3, &mut rng), datasets::gaussian(moving, &[6.0, -4.0], 0.7, &mut rng))
}

fn settings(method: Method, steps: usize, batch: Option<usize>) -> FlowSettings {
    FlowSettings {
        method,
        steps,
        batch,
        schedule: Schedule::Cosine { sigma2_max: 4.0, sigma2_min: 0.2 },
        step_size: StepSize::Auto { first_norm: 0.5 },
        ..FlowSettings::default()
    }
}

fn discriminator_driver() -> Driver {
    Driver::Discriminator {
        hidden: vec![16],
        learning_rate: 3e-3,
        updates_per_step: 2,
        loss: GanLoss::Alt,
        activation: Activation::Silu,
        minibatch: 64,
    }
}

/// States at steps 0..=steps of an uninterrupted run, with `changes` (step,
/// settings) applied by the plain `set_settings` when the run reaches their step.
fn reference(mut sim: Simulation, steps: usize, changes: &[(usize, FlowSettings)]) -> Vec<State> {
    let mut out = Vec::new();
    loop {
        let now = sim.step_index();
        for (_, s) in changes.iter().filter(|(k, _)| *k == now) {
            sim.set_settings(s.clone());
        }
        out.push(state(&sim));
        if sim.step_index() == steps {
            return out;
        }
        sim.step().expect("steps left");
    }
}

/// The same run through a timeline: record after load, step, change settings
/// through the timeline.
fn recorded(sim: &mut Simulation, timeline: &mut Timeline, steps: usize, changes: &[(usize, FlowSettings)]) {
    timeline.record(sim);
    loop {
        let now = sim.step_index();
        for (_, s) in changes.iter().filter(|(k, _)| *k == now) {
            timeline.set_settings(sim, s.clone());
        }
        if sim.step_index() == steps {
            return;
        }
        timeline.step(sim).expect("steps left");
        // Only the first snapshot may stand alone over the cap.
        let (memory, cap) = (timeline.memory_bytes(), timeline.cap());
        assert!(memory <= cap || timeline.keyframes() == 1, "{memory} > cap {cap}");
    }
}

/// Seeks back and forth over every step (backwards, then in a scrambled
/// order) and checks each state against the reference; then scrubs back to
/// `from` and plays on to the end through the timeline, checking each step.
fn check_scrubbing(sim: &mut Simulation, timeline: &mut Timeline, want: &[State], from: usize) {
    let last = want.len() - 1;
    assert_eq!(timeline.furthest(), last);
    let mut scrambled: Vec<usize> = (0..=last).collect();
    scrambled.sort_by_key(|&i| (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40);
    for k in (0..=last).rev().chain(scrambled) {
        timeline.seek(sim, k).expect("recorded step");
        assert_eq!(state(sim), want[k], "seek to step {k}");
    }
    timeline.seek(sim, from).expect("recorded step");
    while timeline.step(sim).is_some() && sim.step_index() <= last {
        assert_eq!(state(sim), want[sim.step_index()], "replay at step {}", sim.step_index());
    }
    assert_eq!(timeline.furthest(), last, "replaying the recorded steps adds none");
}

/// A cap that holds about `snapshots` snapshots of `sim`.
fn cap_for(sim: &Simulation, snapshots: usize) -> usize {
    snapshots * sim.snapshot().bytes()
}

#[test]
fn small_cloud_scrubs_back_bit_for_bit_with_a_snapshot_every_step() {
    let (p, q) = clouds(300, 200);
    let steps = 12;
    let want = reference(Simulation::new(settings(Method::Sd, steps, None), p.clone(), q.clone(), 5), steps, &[]);
    let mut sim = Simulation::new(settings(Method::Sd, steps, None), p, q, 5);
    let mut timeline = Timeline::default();
    recorded(&mut sim, &mut timeline, steps, &[]);
    assert_eq!(timeline.keyframe_interval(), 1);
    assert_eq!(timeline.keyframes(), steps + 1);
    assert!(timeline.describe().ends_with("every step"), "{}", timeline.describe());
    // The Auto eta was calibrated at step 0 and must survive a seek to step 0 and back.
    assert!(want[steps].eta.is_some() && want[0].eta.is_none());
    check_scrubbing(&mut sim, &mut timeline, &want, 3);
}

#[test]
fn over_a_tiny_cap_keyframes_and_replay_reproduce_every_step() {
    let (p, q) = clouds(300, 200);
    let steps = 20;
    for (method, batch) in [
        (Method::Sd, None),
        (Method::Mmd, Some(64)),
        (Method::Sd, Some(50)),
        (Method::SdDenoiser, None),
        (Method::MmdNormalized, Some(64)),
        (Method::RectifiedFlow, None),
    ] {
        let s = settings(method, steps, batch);
        let want = reference(Simulation::new(s.clone(), p.clone(), q.clone(), 8), steps, &[]);
        let mut sim = Simulation::new(s, p.clone(), q.clone(), 8);
        let mut timeline = Timeline::new(cap_for(&sim, 5));
        recorded(&mut sim, &mut timeline, steps, &[]);
        // 21 states in about 5 snapshots: keyframes every 8 steps (0, 8, 16).
        assert!(timeline.keyframe_interval() >= 4, "interval {}", timeline.keyframe_interval());
        assert_eq!(timeline.keyframes(), steps / timeline.keyframe_interval() + 1, "a keyframe on every grid step");
        assert!(timeline.describe().contains("keyframe every"), "{}", timeline.describe());
        check_scrubbing(&mut sim, &mut timeline, &want, 5);
        assert!(timeline.memory_bytes() <= timeline.cap());
    }
}

#[test]
fn a_discriminator_driver_replays_its_training_exactly() {
    let (p, q) = clouds(200, 150);
    let steps = 10;
    let s = FlowSettings { driver: discriminator_driver(), ..settings(Method::Sd, steps, Some(64)) };
    let want = reference(Simulation::new(s.clone(), p.clone(), q.clone(), 3), steps, &[]);
    assert!(!want[steps].weights.is_empty() && want[steps].weights != want[0].weights, "the discriminator trained");
    let mut sim = Simulation::new(s, p, q, 3);
    let mut timeline = Timeline::new(cap_for(&sim, 4));
    recorded(&mut sim, &mut timeline, steps, &[]);
    assert!(timeline.keyframe_interval() >= 4);
    check_scrubbing(&mut sim, &mut timeline, &want, 2);
    // The replay gives the same bits on one thread as the recording on many.
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().expect("pool");
    for k in [9, 1, 6] {
        pool.install(|| timeline.seek(&mut sim, k)).expect("recorded step");
        assert_eq!(state(&sim), want[k], "one thread, step {k}");
    }
}

#[test]
fn matrix_product_sums_in_eight_dimensions_replay_exactly() {
    let mut rng = sdflow::engine::rng::seeded(2);
    let (p, q) = (datasets::gaussian(160, &[0.0; 8], 1.0, &mut rng), datasets::gaussian(120, &[2.0; 8], 0.5, &mut rng));
    let steps = 9;
    let s = settings(Method::Sd, steps, None);
    let want = reference(Simulation::new(s.clone(), p.clone(), q.clone(), 12), steps, &[]);
    let mut sim = Simulation::new(s, p, q, 12);
    let mut timeline = Timeline::new(cap_for(&sim, 3));
    recorded(&mut sim, &mut timeline, steps, &[]);
    check_scrubbing(&mut sim, &mut timeline, &want, 1);
}

#[test]
fn settings_changes_replay_at_the_step_they_were_made() {
    let (p, q) = clouds(300, 200);
    let steps = 24;
    let base = settings(Method::Sd, steps, None);
    // Step 5: another method (the Auto eta recalibrates at step 5). Step 11:
    // a batch, then back and forth between methods at one step (the eta
    // resets even though the method ends where it was). Step 17: a fixed eta.
    // Step 20: a discriminator takes over the direction.
    let mmd = FlowSettings { method: Method::Mmd, ..base.clone() };
    let mmd_batch = FlowSettings { batch: Some(64), ..mmd.clone() };
    let changes = vec![
        (5, mmd.clone()),
        (11, mmd_batch.clone()),
        (11, FlowSettings { method: Method::Sd, ..mmd_batch.clone() }),
        (11, mmd_batch.clone()),
        (17, FlowSettings { step_size: StepSize::Fixed { eta: 0.3 }, ..mmd_batch.clone() }),
        (20, FlowSettings { driver: discriminator_driver(), ..mmd_batch }),
    ];
    let want = reference(Simulation::new(base.clone(), p.clone(), q.clone(), 21), steps, &changes);
    assert_ne!(want[5].eta, want[6].eta, "the eta recalibrated after the method change");
    assert_ne!(want[11].eta, want[12].eta, "the eta recalibrated after the changes at step 11");
    for cap in [usize::MAX, 0] {
        let mut sim = Simulation::new(base.clone(), p.clone(), q.clone(), 21);
        let mut timeline = Timeline::new(cap);
        recorded(&mut sim, &mut timeline, steps, &changes);
        assert_eq!(timeline.changes().len(), changes.len());
        if cap == 0 {
            assert_eq!(timeline.keyframes(), 1, "only the start: every step replays from step 0");
        }
        check_scrubbing(&mut sim, &mut timeline, &want, 3);
        // From a state without a discriminator to one with it, and training on.
        timeline.seek(&mut sim, 2).expect("recorded step");
        timeline.seek(&mut sim, 21).expect("recorded step");
        timeline.step(&mut sim).expect("steps left");
        assert_eq!(state(&sim), want[22]);
    }
}

#[test]
fn a_snapshot_restores_into_a_fresh_run_of_the_same_scene() {
    let (p, q) = clouds(200, 150);
    let steps = 8;
    let s = FlowSettings { driver: discriminator_driver(), ..settings(Method::Mmd, steps, Some(40)) };
    let want = reference(Simulation::new(s.clone(), p.clone(), q.clone(), 6), steps, &[]);
    let mut sim = Simulation::new(s, p.clone(), q.clone(), 6);
    for _ in 0..3 {
        sim.step();
    }
    let snapshot = sim.snapshot();
    assert_eq!((snapshot.step(), snapshot.moving().len()), (3, 300));
    // A fresh run with a kernel driver and other settings: the snapshot
    // brings its settings, eta and trained discriminator along.
    let mut fresh = Simulation::new(settings(Method::Sd, 50, None), p, q, 6);
    fresh.restore(&snapshot).expect("same run");
    assert_eq!(state(&fresh), want[3]);
    while fresh.step().is_some() {
        assert_eq!(state(&fresh), want[fresh.step_index()], "step {}", fresh.step_index());
    }
    assert_eq!(fresh.step_index(), steps);
}

#[test]
fn a_branch_drops_the_future_and_continues_with_the_new_settings() {
    let (p, q) = clouds(300, 200);
    let steps = 20;
    let base = settings(Method::Sd, steps, None);
    let old = reference(Simulation::new(base.clone(), p.clone(), q.clone(), 4), steps, &[]);
    let changed = FlowSettings { step_size: StepSize::Fixed { eta: 0.8 }, ..base.clone() };
    let new = reference(Simulation::new(base.clone(), p.clone(), q.clone(), 4), steps, &[(8, changed.clone())]);

    let mut sim = Simulation::new(base, p, q, 4);
    let mut timeline = Timeline::new(cap_for(&sim, 6));
    recorded(&mut sim, &mut timeline, steps, &[]);
    timeline.seek(&mut sim, 8).expect("recorded step");
    timeline.set_settings(&mut sim, changed);
    assert_eq!(timeline.furthest(), 8, "the future after step 8 is gone");
    assert_eq!(
        timeline.seek(&mut sim, 15),
        Err(TimelineError::OutOfRange { step: 15, first: 0, furthest: 8 }),
        "the dropped future cannot be reached"
    );
    timeline.seek(&mut sim, 8).expect("the branch step stays");
    assert_eq!(state(&sim), new[8]);
    while timeline.step(&mut sim).is_some() {
        let k = sim.step_index();
        assert_eq!(state(&sim), new[k], "new future at step {k}");
        assert_ne!(state(&sim).points, old[k].points, "the old future at step {k} must not come back");
    }
    assert_eq!(timeline.furthest(), steps);
    // The new history scrubs like any other, before and after the branch.
    check_scrubbing(&mut sim, &mut timeline, &new, 6);
}

#[test]
fn branch_drops_keyframes_and_changes_after_the_step() {
    let (p, q) = clouds(300, 200);
    let s = settings(Method::Sd, 30, None);
    let mut sim = Simulation::new(s.clone(), p, q, 2);
    let mut timeline = Timeline::default();
    let changes = [(4, FlowSettings { method: Method::Mmd, ..s.clone() }), (9, s)];
    recorded(&mut sim, &mut timeline, 12, &changes);
    let full = timeline.memory_bytes();
    timeline.branch(6);
    assert_eq!(timeline.furthest(), 6);
    assert_eq!(timeline.keyframes(), 7);
    assert_eq!(timeline.changes().len(), 1, "the change at step 9 is gone, the one at step 4 stays");
    assert!(timeline.memory_bytes() < full);
    timeline.branch(10);
    assert_eq!(timeline.furthest(), 6, "a branch ahead of the history drops nothing");
}

#[test]
fn memory_stays_under_the_cap_on_a_long_run() {
    let (p, q) = clouds(100, 100);
    let steps = 200;
    let mut sim = Simulation::new(settings(Method::Sd, steps, None), p, q, 1);
    let cap = cap_for(&sim, 10);
    let mut timeline = Timeline::new(cap);
    timeline.record(&sim);
    while timeline.step(&mut sim).is_some() {
        assert!(timeline.memory_bytes() <= cap, "step {}: {} > {cap}", sim.step_index(), timeline.memory_bytes());
        let (interval, first) = (timeline.keyframe_interval(), timeline.first());
        assert_eq!(timeline.keyframes(), (timeline.furthest() - first) / interval + 1, "grid complete");
    }
    assert!(timeline.keyframe_interval() >= 16, "200 steps in 10 snapshots: {}", timeline.keyframe_interval());
    // A smaller cap thins at once.
    timeline.set_cap(cap / 3);
    assert!(timeline.memory_bytes() <= cap / 3);
}

#[test]
fn seeking_outside_the_history_or_into_another_run_is_an_error() {
    let (p, q) = clouds(100, 80);
    let mut sim = Simulation::new(settings(Method::Sd, 10, None), p.clone(), q.clone(), 1);
    let mut timeline = Timeline::default();
    assert_eq!(timeline.seek(&mut sim, 0), Err(TimelineError::Empty));
    timeline.record(&sim);
    for _ in 0..3 {
        timeline.step(&mut sim);
    }
    let err = timeline.seek(&mut sim, 4).expect_err("step 4 not recorded");
    assert!(err.to_string().contains("steps 0 to 3"), "{err}");
    let mut other = Simulation::new(settings(Method::Sd, 10, None), p, q, 2);
    let err = timeline.seek(&mut other, 1).expect_err("another seed");
    assert!(matches!(err, TimelineError::OtherRun { .. }), "{err}");
}

#[test]
fn a_seek_forward_resumes_from_the_run_and_a_run_moved_off_the_history_is_restored() {
    let (p, q) = clouds(300, 200);
    let steps = 20;
    let s = settings(Method::Sd, steps, Some(60));
    let want = reference(Simulation::new(s.clone(), p.clone(), q.clone(), 14), steps, &[]);
    let mut sim = Simulation::new(s.clone(), p, q, 14);
    let mut timeline = Timeline::new(cap_for(&sim, 4));
    recorded(&mut sim, &mut timeline, steps, &[]);
    assert_eq!(timeline.keyframe_interval(), 8);
    // Forward within one keyframe span (8..16): 9 -> 10 -> 15 resume from the run.
    for k in [9, 10, 15, 17, 20] {
        timeline.seek(&mut sim, k).expect("recorded step");
        assert_eq!(state(&sim), want[k], "step {k}");
    }
    // Settings changed behind the timeline's back, and a step taken: the
    // next seek cannot trust the run and restores a keyframe.
    timeline.seek(&mut sim, 9).expect("recorded step");
    sim.set_settings(FlowSettings { method: Method::Mmd, ..s });
    sim.step();
    timeline.seek(&mut sim, 11).expect("recorded step");
    assert_eq!(state(&sim), want[11]);
}
