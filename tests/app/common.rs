//! Helpers shared by the headless app tests.

#![allow(dead_code)]

use std::path::Path;
use std::time::Duration;

use bevy::ecs::component::Mutable;
use bevy::prelude::*;
use bevy::time::TimeUpdateStrategy;
use sdflow::app::run::{Playback, RunLink, RunProgress, focused_run};
use sdflow::app::view::clouds::{CloudEntities, PointIndex};
use sdflow::app::worker::project3;
use sdflow::scene::SceneFile;

/// A component of the focused run.
pub fn focused<C: Component>(world: &World) -> &C {
    let run = focused_run(world).expect("a focused run");
    world.get::<C>(run).expect("the focused run has this component")
}

/// A component of the focused run, to change it.
pub fn focused_mut<C: Component<Mutability = Mutable>>(world: &mut World) -> Mut<'_, C> {
    let run = focused_run(world).expect("a focused run");
    world.get_mut::<C>(run).expect("the focused run has this component")
}

/// Updates until `done` holds (at most a few thousand frames, so a stuck
/// worker fails the test instead of hanging it).
pub fn wait(app: &mut App, what: &str, done: impl Fn(&mut World) -> bool) {
    for _ in 0..4000 {
        app.update();
        if done(app.world_mut()) {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    panic!("timed out waiting for {what}");
}

/// A headless app: `MinimalPlugins` and the app's `HeadlessPlugins`, 25 ms
/// per update (the fixed step is 1/30 s), paused, no first-view hold.
pub fn paused_app() -> App {
    let mut app = App::new();
    app.add_plugins(MinimalPlugins)
        .add_plugins(sdflow::app::HeadlessPlugins)
        .insert_resource(TimeUpdateStrategy::ManualDuration(Duration::from_millis(25)));
    let mut playback = app.world_mut().resource_mut::<Playback>();
    playback.playing = false;
    playback.hold_after_load = Duration::ZERO;
    app
}

/// Exactly `count` runs are open, each has its first state and none waits
/// for the worker.
pub fn all_idle_and_loaded(world: &mut World, count: usize) -> bool {
    let mut q = world.query::<(&RunProgress, &RunLink)>();
    let all: Vec<_> = q.iter(world).collect();
    all.len() == count && all.iter().all(|(s, l)| !l.busy() && l.generation > 0 && s.generation == l.generation)
}

/// Pauses and waits for the step in flight; returns the steps taken.
pub fn pause(app: &mut App) -> usize {
    app.world_mut().resource_mut::<Playback>().playing = false;
    wait(app, "the worker to go idle", |w| !focused::<RunLink>(w).busy());
    app.update();
    focused::<RunProgress>(app.world()).step_index
}

/// Plays until at least `at_least` steps, then pauses; returns the steps taken.
pub fn run_steps(app: &mut App, at_least: usize) -> usize {
    app.world_mut().resource_mut::<Playback>().playing = true;
    wait(app, "steps", |w| focused::<RunProgress>(w).step_index >= at_least);
    pause(app)
}

/// Positions (x, y, z) of the moving cloud's entities, by point index.
pub fn moving_transforms(app: &mut App) -> Vec<[f32; 3]> {
    let entities = focused::<CloudEntities>(app.world()).moving.clone();
    let mut out = vec![[f32::NAN; 3]; entities.len()];
    for e in entities {
        let entity = app.world().entity(e);
        let i = entity.get::<PointIndex>().expect("point index").0 as usize;
        let t = entity.get::<Transform>().expect("transform").translation;
        out[i] = [t.x, t.y, t.z];
    }
    out
}

/// The moving points of `text`'s scene after `steps` steps, run alone in the engine.
pub fn alone(text: &str, steps: usize) -> Vec<f32> {
    let file = SceneFile::parse(Path::new("alone.ron"), text.into()).expect("parses");
    let clouds = file.clouds().expect("clouds");
    let mut sim = file.scene.simulation(&clouds, file.scene.seed);
    for _ in 0..steps {
        sim.step();
    }
    project3(sim.moving())
}

/// Presses and releases `key` over one update.
pub fn press(app: &mut App, key: KeyCode) {
    app.world_mut().resource_mut::<ButtonInput<KeyCode>>().press(key);
    app.update();
    let mut keys = app.world_mut().resource_mut::<ButtonInput<KeyCode>>();
    keys.release(key);
    keys.clear();
}
