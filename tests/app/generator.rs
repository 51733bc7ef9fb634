//! Headless tests of generator scenes (Algorithm 2) in the app: the worker
//! trains the scene's generator, the moving entities are its samples, and
//! the panel's data (losses, Fig. 6's comparison, the latent grid) arrive
//! in the run status. Waits are bounded loops of `app.update()`.

use std::path::Path;

use bevy::prelude::*;

use crate::common;
use common::{focused, focused_mut, moving_transforms, run_steps, wait};
use sdflow::app::run::{
    Draft, FixedPositions, MovingPositions, Playback, RunCurves, RunGenerator, RunLink, RunProgress, SceneRequest,
    SimRequest,
};
use sdflow::app::worker::{GRID_LINES, MAX_SAMPLES, project3};
use sdflow::scene::SceneFile;

const TARGET_POINTS: usize = 300;
const PATH: &str = "generator_test.ron";

fn linear_scene() -> String {
    format!(
        r#"(
    name: "linear generator",
    seed: 7,
    target: LinearGaussian(points: {TARGET_POINTS}, dim: 6, latent: 3, data_seed: 2),
    model: Linear(latent: 3, init_std: 0.1, learning_rate: 0.01),
    method: Sd,
    schedule: FromNearest(factor: 10.0),
    steps: 500,
    step_size: Fixed(eta: 1.0),
    batch: Some(64),
)"#
    )
}

fn mlp_scene() -> String {
    r#"(
    name: "mlp generator",
    seed: 5,
    target: Grid25(points: 200),
    model: Mlp(latent: 2, hidden: [16], activation: Tanh, learning_rate: 0.01, optimizer: Adam),
    method: Sd,
    schedule: Cosine(sigma2_max: 4.0, sigma2_min: 0.5),
    steps: 100,
    step_size: Fixed(eta: 1.0),
    batch: Some(64),
)"#
    .into()
}

/// The headless app with `text` loaded, paused, no first-view hold.
fn app(text: String) -> App {
    let mut app = common::paused_app();
    app.world_mut().write_message(SceneRequest::Text { path: PATH.into(), text });
    wait(&mut app, "the scene to load", |w| focused::<MovingPositions>(w).count() > 0);
    app.update();
    app
}

#[test]
fn the_moving_entities_are_the_trained_generators_samples() {
    let mut app = app(linear_scene());
    let info =
        focused::<RunGenerator>(app.world()).0.as_ref().and_then(|g| g.info.clone()).expect("generator info on load");
    assert_eq!((info.kind, info.latent, info.dim, info.batch), ("Linear", 3, 6, 64));
    assert!(info.linear && info.has_truth && !info.grid);
    assert_eq!(focused::<MovingPositions>(app.world()).count(), TARGET_POINTS.min(MAX_SAMPLES));
    assert_eq!(focused::<FixedPositions>(app.world()).count(), TARGET_POINTS);

    let steps = run_steps(&mut app, 5);
    assert!(steps >= 5);

    // The same scene trained directly with the engine, same seed.
    let file = SceneFile::parse(Path::new(PATH), linear_scene()).expect("test scene parses");
    let clouds = file.clouds_with_seed(file.scene.seed).expect("clouds");
    let mut trainer = file.scene.trainer(&clouds, file.scene.seed).expect("a model").expect("a trainer");
    // FromNearest shows as the constant the trainer chose.
    assert_eq!(info.schedule, trainer.schedule());
    for _ in 0..steps {
        trainer.step().expect("a step");
    }
    let expected = project3(&trainer.samples(TARGET_POINTS));
    let shown = moving_transforms(&mut app);
    assert_eq!(shown.len() * 3, expected.len());
    for (i, (s, e)) in shown.iter().zip(expected.chunks_exact(3)).enumerate() {
        for k in 0..3 {
            assert!((s[k] - e[k]).abs() <= 1e-5, "point {i} coordinate {k}: shown {} engine {}", s[k], e[k]);
        }
    }
    assert_eq!(focused::<MovingPositions>(app.world()).positions, expected);
}

#[test]
fn losses_grow_step_by_step_and_the_linear_comparison_arrives() {
    let mut app = app(linear_scene());
    let first = run_steps(&mut app, 3);
    let g = focused::<RunGenerator>(app.world()).0.clone().expect("generator status");
    assert_eq!(g.losses.len(), first, "one loss per step");
    assert!(g.losses.iter().all(|(_, l)| l.is_finite() && *l >= 0.0));
    let c = g.comparison.expect("Fig. 6's comparison on a LinearGaussian target");
    assert_eq!(c.offset_pairs.len(), 6);
    assert_eq!(c.covariance_pairs.len(), 6 * 7 / 2);
    assert!(c.offset_error.is_finite() && c.covariance_error.is_finite());

    let more = run_steps(&mut app, first + 3);
    let g = focused::<RunGenerator>(app.world()).0.clone().expect("generator status");
    assert_eq!(g.losses.len(), more);
    let steps: Vec<usize> = g.losses.iter().map(|(s, _)| *s).collect();
    assert_eq!(steps, (1..=more).collect::<Vec<_>>(), "every step once, in order");

    // A reset starts the loss history over.
    app.world_mut().write_message(SimRequest::Reset);
    wait(&mut app, "the reset", |w| focused::<RunProgress>(w).step_index == 0 && !focused::<RunLink>(w).busy());
    let g = focused::<RunGenerator>(app.world()).0.clone().expect("generator status");
    assert!(g.losses.is_empty());
    assert!(g.info.is_some());
}

#[test]
fn a_paused_generator_run_sends_no_work() {
    let mut app = app(linear_scene());
    run_steps(&mut app, 2);
    let sent = focused::<RunLink>(app.world()).work_sent();
    let steps = focused::<RunProgress>(app.world()).step_index;
    for _ in 0..200 {
        app.update();
    }
    assert_eq!(focused::<RunLink>(app.world()).work_sent(), sent, "a paused run sent work");
    assert_eq!(focused::<RunProgress>(app.world()).step_index, steps);
}

#[test]
fn an_mlp_generator_sends_its_latent_grid() {
    let app = app(mlp_scene());
    let g = focused::<RunGenerator>(app.world()).0.clone().expect("generator status");
    let info = g.info.expect("info");
    assert!(info.grid && !info.linear);
    // Two families of lines (one per latent axis), each point x, y, z.
    assert_eq!(g.grid.len(), 2 * GRID_LINES);
    assert!(g.grid.iter().all(|line| !line.is_empty() && line.len() % 3 == 0 && line.iter().all(|v| v.is_finite())));
    assert!(g.grid.iter().all(|line| line.chunks_exact(3).all(|p| p[2] == 0.0)), "2-D data: z = 0");
    assert!(g.comparison.is_none());
}

#[test]
fn a_particle_scene_has_no_generator_status() {
    let text = r#"(
    name: "particles",
    seed: 1,
    target: Grid25(points: 100),
    source: Gaussian(points: 80, mean: [0.0, 0.0], std: 1.0),
    method: Sd,
    schedule: Cosine(sigma2_max: 2.0, sigma2_min: 0.25),
    steps: 50,
    step_size: Fixed(eta: 0.2),
    batch: None,
)"#;
    let mut app = app(text.into());
    run_steps(&mut app, 2);
    assert!(focused::<RunGenerator>(app.world()).0.is_none());
}

#[test]
fn flow_edits_wait_for_a_restart_in_a_generator_run() {
    let mut app = app(linear_scene().replace("steps: 500", "steps: 4"));
    app.world_mut().resource_mut::<Playback>().playing = true;
    wait(&mut app, "the end of the run", |w| focused::<RunProgress>(w).finished && !focused::<RunLink>(w).busy());
    assert_eq!(focused::<RunProgress>(app.world()).step_index, 4);
    // More steps T in the panel: the trainer keeps its settings until a
    // restart, so the finished run stays at rest.
    if let Some(scene) = focused_mut::<Draft>(app.world_mut()).scene.as_mut() {
        scene.steps = 10;
    }
    let sent = focused::<RunLink>(app.world()).work_sent();
    for _ in 0..200 {
        app.update();
    }
    assert_eq!(focused::<RunLink>(app.world()).work_sent(), sent, "a finished generator run sent work");
    assert_eq!(focused::<RunProgress>(app.world()).step_index, 4);
    assert!(focused::<RunCurves>(app.world()).markers.is_empty(), "no change was applied mid-run");

    // Apply and restart trains with the edited settings.
    app.world_mut().write_message(SceneRequest::Restart { new_seed: false });
    wait(&mut app, "the restarted run to end", |w| {
        focused::<RunProgress>(w).finished && focused::<RunProgress>(w).step_index == 10
    });
}
