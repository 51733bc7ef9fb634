//! Headless tests of the GAN view: what the worker sends for each colouring
//! and the heat map, checked against the engine computed directly on the
//! same state. Waits are bounded loops of `app.update()`; nothing asserts
//! on timing.

use std::path::Path;
use std::time::Duration;

use bevy::prelude::*;

use crate::common;
use common::{focused, wait};
use sdflow::app::run::{MovingPositions, Playback, RunCurves, RunGan, RunLink, RunProgress, SceneRequest};
use sdflow::app::view::gan::{Colouring, GanView};
use sdflow::app::worker::{Field, GRID_CELLS, GanValues, GridLayout, project3};
use sdflow::engine::flow::optimal_logits;
use sdflow::engine::{Simulation, StepReport};
use sdflow::scene::SceneFile;

const PATH: &str = "gan_test.ron";

/// A 3-D kernel scene.
const SOLID: &str = r#"(
    name: "solid", seed: 5,
    target: SwissRoll(points: 90),
    source: Gaussian(points: 70, mean: [0.0, 0.0, 0.0], std: 1.0),
    method: Sd, schedule: Cosine(sigma2_max: 2.0, sigma2_min: 0.25), steps: 300,
)"#;

/// A 2-D scene driven by a small discriminator.
const FLAT_GAN: &str = r#"(
    name: "flat gan", seed: 6,
    target: TwoMoons(points: 80),
    source: Ring(points: 60, radius: 2.0, std: 0.05),
    method: Sd, schedule: Cosine(sigma2_max: 0.5, sigma2_min: 0.01), steps: 300,
    driver: Discriminator(hidden: [16], learning_rate: 0.01, updates_per_step: 2, loss: Alt),
)"#;

fn app(text: &str, view: GanView) -> App {
    let mut app = common::paused_app();
    *app.world_mut().resource_mut::<GanView>() = view;
    app.world_mut().write_message(SceneRequest::Text { path: PATH.into(), text: text.into() });
    wait(&mut app, "the scene to load", |w| focused::<MovingPositions>(w).count() > 0);
    app
}

fn values(app: &App) -> Option<GanValues> {
    focused::<RunGan>(app.world()).0.clone()
}

/// The same scene run directly with the engine for `steps` steps.
fn engine_run(text: &str, steps: usize) -> (Simulation, Option<StepReport>) {
    let file = SceneFile::parse(Path::new(PATH), text.into()).expect("test scene parses");
    let clouds = file.clouds_with_seed(file.scene.seed).expect("clouds");
    let mut sim = file.scene.simulation(&clouds, file.scene.seed);
    let mut last = None;
    for _ in 0..steps {
        last = Some(sim.step().expect("a step"));
    }
    (sim, last)
}

fn assert_close(shown: &[f32], expected: &[f32], what: &str) {
    assert_eq!(shown.len(), expected.len(), "{what}: lengths");
    for (i, (s, e)) in shown.iter().zip(expected).enumerate() {
        assert!((s - e).abs() <= 1e-4 * (1.0 + e.abs()), "{what} {i}: shown {s} engine {e}");
    }
}

#[test]
fn the_default_colouring_sends_no_values() {
    let mut app = app(SOLID, GanView::default());
    app.world_mut().resource_mut::<Playback>().playing = true;
    for _ in 0..200 {
        app.update();
        assert!(values(&app).is_none(), "the default view got GAN values");
        if focused::<RunProgress>(app.world()).step_index >= 5 {
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let steps = common::run_steps(&mut app, 5);
    assert!(steps >= 5);
    assert!(values(&app).is_none());
    assert_eq!(focused::<RunLink>(app.world()).view(), Default::default());
}

#[test]
fn h_star_colouring_sends_the_optimal_logits_of_the_shown_state() {
    let view = GanView { colouring: Colouring::OptimalLogRatio, heat_map: false };
    let mut app = app(SOLID, view);
    // Before any step: at the schedule's first kernel variance.
    wait(&mut app, "values at load", |w| focused::<RunGan>(w).0.is_some());
    let (sim, _) = engine_run(SOLID, 0);
    let v = values(&app).expect("values");
    assert_eq!((v.field, v.step_index, v.sigma2), (Field::Optimal, 0, 2.0));
    let expected: Vec<f32> =
        optimal_logits(sim.fixed(), sim.moving(), 2.0, sim.moving().as_slice()).into_iter().map(|h| h as f32).collect();
    assert_close(&v.points, &expected, "h* at load");

    let steps = common::run_steps(&mut app, 7);
    let v = values(&app).expect("values after steps");
    assert_eq!(v.step_index, steps);
    let (sim, report) = engine_run(SOLID, steps);
    let sigma2 = report.expect("a report").kernel_sigma2;
    assert_eq!(v.sigma2, sigma2, "h* is taken at the last step's kernel variance");
    let expected: Vec<f32> = optimal_logits(sim.fixed(), sim.moving(), sigma2, sim.moving().as_slice())
        .into_iter()
        .map(|h| h as f32)
        .collect();
    assert_close(&v.points, &expected, "h* after steps");
    assert!(v.range > 0.0 && v.grid.is_none(), "a 3-D scene has no heat map");
    // The moving points are where the engine has them (the values belong to them).
    assert_eq!(focused::<MovingPositions>(app.world()).positions, project3(sim.moving()));

    // Back to the default while paused: the values go at once.
    app.world_mut().resource_mut::<GanView>().colouring = Colouring::OkabeIto;
    wait(&mut app, "the values to go", |w| focused::<RunGan>(w).0.is_none());
}

#[test]
fn the_heat_map_and_the_discriminator_colouring_on_a_2d_scene() {
    let view = GanView { colouring: Colouring::Discriminator, heat_map: true };
    let mut app = app(FLAT_GAN, view);
    let steps = common::run_steps(&mut app, 6);
    // A paused run gets a heat map of its own state.
    wait(&mut app, "a fresh heat map", |w| {
        let step = focused::<RunProgress>(w).step_index;
        focused::<RunGan>(w).0.as_ref().and_then(|g| g.grid.as_ref()).is_some_and(|g| g.step_index == step)
    });
    let v = values(&app).expect("values");
    assert_eq!((v.field, v.step_index), (Field::Discriminator, steps));
    let (sim, _) = engine_run(FLAT_GAN, steps);
    let disc = sim.discriminator().expect("a discriminator");
    assert_close(&v.points, &disc.logits(sim.moving().as_slice()), "discriminator h");
    let grid = v.grid.as_ref().expect("a heat map");
    // The grid covers the clouds as loaded.
    let (start, _) = engine_run(FLAT_GAN, 0);
    let layout = GridLayout::over(&project3(start.fixed()), &project3(start.moving()), GRID_CELLS).expect("flat");
    assert_eq!(grid.layout, layout);
    assert_close(&grid.values, &disc.logits(&layout.queries(2)), "discriminator h over the grid");

    // One driver cosine per step, in order.
    let status = focused::<RunCurves>(app.world());
    let cos_steps: Vec<usize> = status.cosines.iter().map(|c| c.0).collect();
    assert_eq!(cos_steps, (1..=steps).collect::<Vec<_>>());
    assert!(status.cosines.iter().all(|c| c.1.is_finite() && c.1.abs() <= 1.0 + 1e-9));

    // The heat map alone shows h* (the points keep their colour).
    app.world_mut().resource_mut::<GanView>().colouring = Colouring::OkabeIto;
    wait(&mut app, "h* values", |w| focused::<RunGan>(w).0.as_ref().is_some_and(|g| g.field == Field::Optimal));
    let v = values(&app).expect("values");
    let grid = v.grid.as_ref().expect("a heat map");
    let expected: Vec<f32> =
        optimal_logits(sim.fixed(), sim.moving(), v.sigma2, &layout.queries(2)).into_iter().map(|h| h as f32).collect();
    assert_close(&grid.values, &expected, "h* over the grid");
}

#[test]
fn a_scene_without_a_discriminator_falls_back_to_the_default_colouring() {
    let view = GanView { colouring: Colouring::Discriminator, heat_map: false };
    let mut app = app(SOLID, view);
    app.update();
    assert_eq!(app.world().resource::<GanView>().colouring, Colouring::OkabeIto);
    assert!(values(&app).is_none());
    assert!(focused::<RunCurves>(app.world()).cosines.is_empty());
}

/// A small MLP generator on the 2-D grid (Algorithm 2).
const GENERATOR: &str = r#"(
    name: "generator", seed: 5,
    target: Grid25(points: 200),
    model: Mlp(latent: 2, hidden: [16], activation: Tanh, learning_rate: 0.01, optimizer: Adam),
    method: Sd, schedule: Cosine(sigma2_max: 4.0, sigma2_min: 0.5), steps: 100,
    step_size: Fixed(eta: 1.0), batch: Some(64),
)"#;

#[test]
fn a_generator_run_is_coloured_by_h_star_of_its_samples() {
    let view = GanView { colouring: Colouring::OptimalLogRatio, heat_map: true };
    let mut app = app(GENERATOR, view);
    let steps = common::run_steps(&mut app, 4);
    wait(&mut app, "values of the paused state", |w| {
        let step = focused::<RunProgress>(w).step_index;
        focused::<RunGan>(w).0.as_ref().is_some_and(|g| g.step_index == step)
    });
    let v = values(&app).expect("values");
    // The same training run directly, and its samples as drawn in the window.
    let file = SceneFile::parse(Path::new(PATH), GENERATOR.into()).expect("test scene parses");
    let clouds = file.clouds_with_seed(file.scene.seed).expect("clouds");
    let mut trainer = file.scene.trainer(&clouds, file.scene.seed).expect("a model").expect("a trainer");
    let mut sigma2 = 0.0;
    for _ in 0..steps {
        sigma2 = trainer.step().expect("a step").kernel_sigma2;
    }
    let samples = trainer.samples(trainer.target().len());
    assert_eq!(v.sigma2, sigma2);
    let expected: Vec<f32> =
        optimal_logits(trainer.target(), &samples, sigma2, samples.as_slice()).into_iter().map(|h| h as f32).collect();
    assert_close(&v.points, &expected, "h* at the generator's samples");
    assert!(v.grid.is_some(), "a 2-D generator run has a heat map");
}
