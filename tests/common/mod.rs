//! Helpers shared by the headless app tests.

#![allow(dead_code)]

use bevy::ecs::component::Mutable;
use bevy::prelude::*;
use sdflow::app::runs::focused_run;

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
