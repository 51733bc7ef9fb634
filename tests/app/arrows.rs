//! Seeing the flow, headless: each run's arrows are its last step's
//! displacement (checked against the engine stepped directly), and the
//! app-side colourings' bins follow their values. Waits are bounded loops of
//! `app.update()`; nothing asserts on timing.

use bevy::prelude::*;

use sdflow::app::run::{
    MovingPositions, Playback, RunCurves, RunLink, RunProgress, RunRequest, SceneRequest, SimRequest, ViewSlot,
};
use sdflow::app::view::arrows::{
    ARROW_SHARE, ArrowScale, Arrows, Displacement, KEEP_SCALE, TYPICAL_SHARE, arrow_count, subsample, typical_length,
};
use sdflow::app::view::clouds::CloudBounds;
use sdflow::app::view::colours::{NO_BIN, PointValues, seq_bin, seq_range};
use sdflow::app::view::gan::{Colouring, GanView};

use crate::common;
use common::{alone, focused, wait};

/// More moving points than arrows, so the subsample is exercised.
const SOURCE_POINTS: usize = 420;
const ARROWS: usize = SOURCE_POINTS / 4;
const SEED: u64 = 5;

fn scene_text(name: &str, method: &str) -> String {
    format!(
        r#"(
    name: "{name}",
    seed: {SEED},
    target: Mystery(points: 120),
    source: Gaussian(points: {SOURCE_POINTS}, mean: [4.0, 0.0, 0.0], std: 1.0),
    method: {method},
    schedule: Constant(sigma2: 1.0),
    steps: 300,
    step_size: Fixed(eta: 0.5),
)"#
    )
}

fn steps_of(world: &mut World) -> Vec<usize> {
    world.query::<&RunProgress>().iter(world).map(|s| s.step_index).collect()
}

/// An app with the headless plugins and these scenes open side by side
/// (the first focused), loaded and paused at step 0.
fn app(scenes: &[String], colouring: Colouring) -> App {
    let mut app = common::paused_app();
    app.world_mut().resource_mut::<Playback>().steps_per_second = 200.0;
    app.world_mut().resource_mut::<GanView>().colouring = colouring;
    for (i, text) in scenes.iter().enumerate() {
        let request = SceneRequest::Text { path: format!("scene{i}.ron").into(), text: text.clone() };
        if i == 0 {
            app.world_mut().write_message(request);
        } else {
            app.world_mut().write_message(RunRequest::Compare(request));
        }
    }
    let n = scenes.len();
    wait(&mut app, "the runs to load", |w| common::all_idle_and_loaded(w, n));
    app
}

/// Plays to at least `at_least` steps, pauses, then takes one single step;
/// returns the step count before that single step.
fn play_then_single_step(app: &mut App, at_least: usize, runs: usize) -> usize {
    app.world_mut().resource_mut::<Playback>().playing = true;
    wait(app, "steps", |w| steps_of(w).iter().all(|&s| s >= at_least));
    app.world_mut().resource_mut::<Playback>().playing = false;
    wait(app, "the worker to go idle", |w| common::all_idle_and_loaded(w, runs));
    let steps = steps_of(app.world_mut())[0];
    app.world_mut().resource_mut::<Playback>().single_step = true;
    wait(app, "a single step", |w| steps_of(w).iter().all(|&s| s == steps + 1) && common::all_idle_and_loaded(w, runs));
    app.update();
    steps
}

fn point(data: &[f32], i: usize) -> Vec3 {
    Vec3::new(data[3 * i], data[3 * i + 1], data[3 * i + 2])
}

#[test]
fn each_runs_arrows_are_its_last_steps_displacement() {
    let (sd, mmd) = (scene_text("sd", "Sd"), scene_text("mmd", "Mmd"));
    let mut app = app(&[sd.clone(), mmd.clone()], Colouring::OkabeIto);
    // No step yet: no arrows.
    let mut q = app.world_mut().query::<(&Arrows, &Displacement)>();
    assert!(q.iter(app.world()).all(|(a, d)| a.vectors.is_empty() && d.steps.is_none()));

    let steps = play_then_single_step(&mut app, 4, 2);
    let mut q =
        app.world_mut().query::<(&ViewSlot, &Arrows, &Displacement, &MovingPositions, &CloudBounds, &ArrowScale)>();
    let mut shown: Vec<_> = q.iter(app.world()).map(|(s, a, d, m, b, k)| (s.0, a, d, m, b, k)).collect();
    shown.sort_by_key(|r| r.0);
    for ((_, arrows, displacement, moving, bounds, scale), text) in shown.iter().zip([&sd, &mmd]) {
        let (before, after) = (alone(text, steps), alone(text, steps + 1));
        assert_eq!(moving.positions, after, "the run is not at the engine's state");
        assert_eq!(displacement.steps, Some((steps, steps + 1)));
        assert_eq!(arrows.indices, subsample(SOURCE_POINTS, arrow_count(SOURCE_POINTS), SEED));
        assert_eq!(arrows.indices.len(), ARROWS);
        assert_eq!((arrows.tails.len(), arrows.vectors.len()), (ARROWS, ARROWS));
        for (k, &i) in arrows.indices.iter().enumerate() {
            let i = i as usize;
            let expected = point(&after, i) - point(&before, i);
            assert_eq!(arrows.tails[k], point(&after, i), "arrow {k} does not start at its point {i}");
            assert!(
                (arrows.vectors[k] - expected).length() <= 1e-5,
                "arrow {k} (point {i}): {} but the engine moved it by {expected}",
                arrows.vectors[k]
            );
        }
        assert!(arrows.longest() > 0.0);
        // Each view's own scale draws its typical arrow readably, none longer than the cap.
        let drawn = scale.scale.expect("a scale") * typical_length(arrows.lengths()) / (TYPICAL_SHARE * bounds.radius);
        assert!(KEEP_SCALE.contains(&drawn), "a typical arrow is drawn {drawn} of its target length");
        assert_eq!(scale.cap, ARROW_SHARE * bounds.radius);
    }
    // The two runs push the same points differently.
    assert_ne!(shown[0].1.vectors, shown[1].1.vectors);
}

#[test]
fn displacement_colouring_bins_follow_the_lengths_and_a_reset_clears_them() {
    let sd = scene_text("sd", "Sd");
    let mut app = app(std::slice::from_ref(&sd), Colouring::Displacement);
    app.update();
    let values = focused::<PointValues>(app.world());
    assert_eq!(values.colouring, Some(Colouring::Displacement));
    assert!(values.values.is_empty() && values.range.is_none(), "a load has no displacement");

    let steps = play_then_single_step(&mut app, 3, 1);
    let (before, after) = (alone(&sd, steps), alone(&sd, steps + 1));
    let lengths: Vec<f32> = (0..SOURCE_POINTS).map(|i| (point(&after, i) - point(&before, i)).length()).collect();
    let values = focused::<PointValues>(app.world()).clone();
    assert_eq!(values.values.len(), SOURCE_POINTS);
    for (i, (v, l)) in values.values.iter().zip(&lengths).enumerate() {
        assert!((v - l).abs() <= 1e-5, "point {i}: value {v}, engine displacement {l}");
    }
    let range = values.range.expect("a colour range");
    assert_eq!(Some(range), seq_range(&values.values));
    for (i, &b) in values.bins.iter().enumerate() {
        assert_eq!(b, seq_bin(values.values[i], range), "point {i}");
        assert_ne!(b, NO_BIN);
    }
    // Longer displacements never get a lighter bin, and the bins spread.
    let mut order: Vec<usize> = (0..SOURCE_POINTS).collect();
    order.sort_by(|&a, &b| lengths[a].total_cmp(&lengths[b]));
    assert!(order.windows(2).all(|w| values.bins[w[0]] <= values.bins[w[1]]));
    let mut distinct = values.bins.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert!(distinct.len() >= 8, "bins {distinct:?}");

    // Back to step 0: no displacement, no arrows, no values.
    app.world_mut().write_message(SimRequest::Reset);
    wait(&mut app, "the reset", |w| focused::<RunProgress>(w).step_index == 0 && !focused::<RunLink>(w).busy());
    app.update();
    assert!(focused::<Displacement>(app.world()).vectors.is_empty());
    assert!(focused::<Arrows>(app.world()).vectors.is_empty());
    assert!(focused::<PointValues>(app.world()).values.is_empty());

    // Another colouring drops the values.
    app.world_mut().resource_mut::<GanView>().colouring = Colouring::OkabeIto;
    app.update();
    assert_eq!(*focused::<PointValues>(app.world()), PointValues::default());
}

#[test]
fn nearest_target_colouring_shows_the_metrics_distances() {
    let sd = scene_text("sd", "Sd");
    let mut app = app(std::slice::from_ref(&sd), Colouring::NearestTarget);
    play_then_single_step(&mut app, 2, 1);
    let status = focused::<RunCurves>(app.world());
    assert_eq!(status.moving_nn.len(), SOURCE_POINTS);
    let nn: Vec<f32> = status.moving_nn.iter().map(|&d| d as f32).collect();
    let values = focused::<PointValues>(app.world());
    assert_eq!(values.colouring, Some(Colouring::NearestTarget));
    assert_eq!(values.values, nn);
    let range = values.range.expect("a range");
    assert!(values.bins.iter().zip(&nn).all(|(&b, &d)| b == seq_bin(d, range)));
}
