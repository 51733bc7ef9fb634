//! Runs as entities: several runs open side by side step in lockstep, each
//! exactly as it would alone, and closing one leaves the others running.

use std::path::Path;

use bevy::prelude::*;

use sdflow::app::run::{
    ActiveScene, Focused, LoadInto, MovingPositions, OfRun, Playback, RunCurves, RunProgress, RunRequest, RunTimeline,
    SceneErrors, SceneRequest, ViewSlot,
};
use sdflow::app::view::clouds::{CloudEntities, PointIndex};
use sdflow::app::worker::project3;

use crate::common;
use common::{alone, focused, wait};
use sdflow::scene::SceneFile;

fn scene_text(name: &str, method: &str) -> String {
    format!(
        r#"(
    name: "{name}",
    seed: 5,
    target: Mystery(points: 90),
    source: Gaussian(points: 70, mean: [4.0, 0.0, 0.0], std: 1.0),
    method: {method},
    schedule: Constant(sigma2: 1.0),
    steps: 300,
    step_size: Fixed(eta: 0.5),
)"#
    )
}

/// (step, moving positions, name) of every run, in view order.
fn runs(world: &mut World) -> Vec<(usize, Vec<f32>, String)> {
    let mut q = world.query::<(&sdflow::app::run::ViewSlot, &RunProgress, &MovingPositions, &ActiveScene)>();
    let mut out: Vec<_> = q
        .iter(world)
        .map(|(slot, s, m, a)| (slot.0, s.step_index, m.positions.clone(), a.scene().map(|s| s.name.clone())))
        .collect();
    out.sort_by_key(|r| r.0);
    out.into_iter().map(|(_, step, pos, name)| (step, pos, name.unwrap_or_default())).collect()
}

#[test]
fn two_runs_step_in_lockstep_and_stay_independent() {
    let mut app = common::paused_app();
    app.world_mut().resource_mut::<Playback>().steps_per_second = 200.0;
    let (sd, mmd) = (scene_text("sd", "Sd"), scene_text("mmd", "Mmd"));
    app.world_mut().write_message(SceneRequest::Text { path: "sd.ron".into(), text: sd.clone() });
    app.world_mut()
        .write_message(RunRequest::Compare(SceneRequest::Text { path: "mmd.ron".into(), text: mmd.clone() }));
    wait(&mut app, "both runs to load", |w| common::all_idle_and_loaded(w, 2));

    // Play a while, pause, let the last request come back.
    app.world_mut().resource_mut::<Playback>().playing = true;
    wait(&mut app, "steps", |w| runs(w).iter().all(|r| r.0 >= 12));
    app.world_mut().resource_mut::<Playback>().playing = false;
    wait(&mut app, "the worker to go idle", |w| common::all_idle_and_loaded(w, 2));
    let shown = runs(app.world_mut());
    assert_eq!(shown[0].2, "sd");
    assert_eq!(shown[1].2, "mmd");
    assert_eq!(shown[0].0, shown[1].0, "the runs are not in lockstep");
    let steps = shown[0].0;
    // Each run is exactly the run alone: nothing of one leaks into the other.
    assert_eq!(shown[0].1, alone(&sd, steps), "the SD run differs from SD alone");
    assert_eq!(shown[1].1, alone(&mmd, steps), "the MMD run differs from MMD alone");
    assert_ne!(shown[0].1, shown[1].1);

    // Every point entity carries its run, and each run's entities are its own.
    let mut q = app.world_mut().query::<(Entity, &CloudEntities)>();
    let lists: Vec<(Entity, Vec<Entity>)> = q.iter(app.world()).map(|(e, c)| (e, c.moving.clone())).collect();
    for (run, moving) in &lists {
        assert_eq!(moving.len(), 70);
        for e in moving {
            assert_eq!(app.world().get::<OfRun>(*e).map(|o| o.0), Some(*run));
            assert!(app.world().get::<PointIndex>(*e).is_some());
        }
    }

    // Single steps keep both in lockstep too.
    app.world_mut().resource_mut::<Playback>().single_step = true;
    wait(&mut app, "a single step", |w| runs(w).iter().all(|r| r.0 == steps + 1));

    // Closing the focused run leaves the other, which takes the focus and goes on.
    let first = app.world_mut().query_filtered::<Entity, With<Focused>>().single(app.world()).expect("focused");
    app.world_mut().write_message(RunRequest::Close(first));
    wait(&mut app, "the run to close", |w| common::all_idle_and_loaded(w, 1));
    assert_eq!(focused::<ActiveScene>(app.world()).scene().map(|s| s.name.as_str()), Some("mmd"));
    let orphans = app.world_mut().query::<&OfRun>().iter(app.world()).filter(|o| o.0 == first).count();
    assert_eq!(orphans, 0, "the closed run's points are still there");
    app.world_mut().resource_mut::<Playback>().single_step = true;
    wait(&mut app, "a step of the remaining run", |w| runs(w)[0].0 == steps + 2);
    assert_eq!(runs(app.world_mut())[0].1, alone(&mmd, steps + 2));
}

/// An app with one run of `text` loaded, paused, no first-view hold.
fn one_run(text: &str) -> App {
    let mut app = common::paused_app();
    app.world_mut().resource_mut::<Playback>().steps_per_second = 200.0;
    app.world_mut().write_message(SceneRequest::Text { path: "one.ron".into(), text: text.into() });
    wait(&mut app, "the run to load", |w| common::all_idle_and_loaded(w, 1));
    app
}

fn seek(app: &mut App, step: usize) {
    app.world_mut().resource_mut::<Playback>().seek_to = Some(step);
    wait(app, "the seek", |w| focused::<RunProgress>(w).step_index == step && common::all_idle_and_loaded(w, 1));
}

fn single_step(app: &mut App) {
    let next = focused::<RunProgress>(app.world()).step_index + 1;
    app.world_mut().resource_mut::<Playback>().single_step = true;
    wait(app, "a single step", |w| focused::<RunProgress>(w).step_index == next && common::all_idle_and_loaded(w, 1));
}

#[test]
fn scrubbing_back_and_replaying_reproduces_the_recorded_points_bit_for_bit() {
    let sd = scene_text("sd", "Sd");
    let mut app = one_run(&sd);
    app.world_mut().resource_mut::<Playback>().playing = true;
    wait(&mut app, "steps", |w| focused::<RunProgress>(w).step_index >= 20);
    app.world_mut().resource_mut::<Playback>().playing = false;
    wait(&mut app, "the worker to go idle", |w| common::all_idle_and_loaded(w, 1));
    let end = focused::<RunProgress>(app.world()).step_index;
    let at_end = focused::<MovingPositions>(app.world()).positions.clone();
    assert_eq!(focused::<RunTimeline>(app.world()).0.as_ref().map(|t| t.furthest), Some(end));

    // Back to step 7: the points are the run's at step 7, exactly.
    seek(&mut app, 7);
    assert_eq!(focused::<MovingPositions>(app.world()).positions, alone(&sd, 7));
    // The curves keep the recorded future while scrubbing.
    assert!(focused::<RunCurves>(app.world()).history.iter().any(|h| h.step == end));
    // Left arrow: one step back.
    app.world_mut().write_message(sdflow::app::controls::AppCommand::StepBack);
    wait(&mut app, "a step back", |w| focused::<RunProgress>(w).step_index == 6 && common::all_idle_and_loaded(w, 1));
    assert_eq!(focused::<MovingPositions>(app.world()).positions, alone(&sd, 6));
    // Forward again, by steps and by the slider: the recorded points, bit for bit.
    for _ in 6..10 {
        single_step(&mut app);
    }
    assert_eq!(focused::<MovingPositions>(app.world()).positions, alone(&sd, 10));
    seek(&mut app, end);
    assert_eq!(focused::<MovingPositions>(app.world()).positions, at_end);
}

#[test]
fn a_change_at_an_earlier_step_branches_and_drops_the_future() {
    let sd = scene_text("sd", "Sd");
    let mut app = one_run(&sd);
    for _ in 0..12 {
        single_step(&mut app);
    }
    let old_future = alone(&sd, 6);
    seek(&mut app, 5);
    // A setting changed at step 5: from there the run goes on with MMD.
    common::focused_mut::<sdflow::app::run::Draft>(app.world_mut()).scene.as_mut().expect("a draft").method =
        sdflow::engine::Method::Mmd;
    app.update();
    single_step(&mut app);
    let timeline = focused::<RunTimeline>(app.world());
    assert_eq!(timeline.0.as_ref().map(|t| t.furthest), Some(6), "the future was kept");
    let status = focused::<RunCurves>(app.world());
    assert!(status.history.iter().all(|h| h.step <= 6), "curves of the dropped future remain");
    assert_eq!(status.markers.last().map(|m| m.0), Some(5), "the change is marked at step 5");
    let branched = focused::<MovingPositions>(app.world()).positions.clone();
    assert_ne!(branched, old_future, "the step after the change ignored it");
    // The branch is the engine's run with the change made at step 5.
    let file = SceneFile::parse(Path::new("b.ron"), sd.clone()).expect("parses");
    let clouds = file.clouds().expect("clouds");
    let mut sim = file.scene.simulation(&clouds, file.scene.seed);
    for _ in 0..5 {
        sim.step();
    }
    sim.set_settings(sdflow::engine::FlowSettings { method: sdflow::engine::Method::Mmd, ..sim.settings().clone() });
    sim.step();
    assert_eq!(branched, project3(sim.moving()));
}

#[test]
fn the_histograms_follow_the_focus_while_paused() {
    use sdflow::app::ui::plots::{NnHistograms, update_histograms};
    let mut app = common::paused_app();
    app.init_resource::<NnHistograms>().add_systems(Update, update_histograms);
    let near = scene_text("near", "Sd");
    let far = near.replace("name: \"near\"", "name: \"far\"").replace("mean: [4.0,", "mean: [9.0,");
    app.world_mut().write_message(SceneRequest::Text { path: "near.ron".into(), text: near });
    app.world_mut().write_message(RunRequest::Compare(SceneRequest::Text { path: "far.ron".into(), text: far }));
    wait(&mut app, "both runs to load", |w| common::all_idle_and_loaded(w, 2));
    // One update applies the focus, the next sees it.
    let moving_histogram = |app: &mut App| {
        app.update();
        app.update();
        app.world().resource::<NnHistograms>().0.as_ref().map(|h| h.moving.clone()).expect("histograms")
    };
    let run_named = |app: &mut App, name: &str| {
        let mut q = app.world_mut().query::<(Entity, &ActiveScene)>();
        q.iter(app.world()).find(|(_, a)| a.scene().is_some_and(|s| s.name == name)).map(|(e, _)| e).expect("run")
    };
    let (near, far) = (run_named(&mut app, "near"), run_named(&mut app, "far"));
    app.world_mut().write_message(RunRequest::Focus(near));
    let near_histogram = moving_histogram(&mut app);
    app.world_mut().write_message(RunRequest::Focus(far));
    let far_histogram = moving_histogram(&mut app);
    assert_ne!(near_histogram, far_histogram, "focusing the far run kept the near run's histogram");
    app.world_mut().write_message(RunRequest::Focus(near));
    assert_eq!(moving_histogram(&mut app), near_histogram);
}

#[test]
fn each_run_keeps_its_own_scene_error_until_it_loads_or_closes() {
    let mut app = common::paused_app();
    app.world_mut().write_message(SceneRequest::Text { path: "sd.ron".into(), text: scene_text("sd", "Sd") });
    let mmd = SceneRequest::Text { path: "mmd.ron".into(), text: scene_text("mmd", "Mmd") };
    app.world_mut().write_message(RunRequest::Compare(mmd));
    wait(&mut app, "both runs to load", |w| common::all_idle_and_loaded(w, 2));
    let second = {
        let world = app.world_mut();
        let mut q = world.query::<(Entity, &ViewSlot)>();
        q.iter(world).find(|(_, slot)| slot.0 == 1).map(|(e, _)| e).expect("a second view")
    };
    let broken = SceneRequest::Text { path: "broken.ron".into(), text: "(name: \"x\",, )".into() };
    app.world_mut().write_message(LoadInto { run: second, request: broken, new_run: false });
    app.update();
    let errors = |app: &App| -> Vec<(Option<Entity>, String)> {
        app.world().resource::<SceneErrors>().iter().map(|(r, t)| (r, t.to_owned())).collect()
    };
    let shown = errors(&app);
    assert_eq!(shown.len(), 1);
    assert_eq!(shown[0].0, Some(second), "the error is the second run's");
    assert!(shown[0].1.starts_with("broken.ron:1:"), "{}", shown[0].1);

    // The first run loading a good scene does not hide the second run's error.
    app.world_mut().write_message(SceneRequest::Text { path: "sd.ron".into(), text: scene_text("sd again", "Sd") });
    wait(&mut app, "the first run's new scene", |w| {
        focused::<ActiveScene>(w).scene().is_some_and(|s| s.name == "sd again")
    });
    assert_eq!(errors(&app).len(), 1, "another run's load cleared this run's error");

    // Closing the second run takes its error with it.
    app.world_mut().write_message(RunRequest::Close(second));
    wait(&mut app, "the second run to close", |w| common::all_idle_and_loaded(w, 1));
    app.update();
    assert!(errors(&app).is_empty(), "a closed run's error stays: {:?}", errors(&app));
}
