//! Startup, loading, stepping and keys of the app with a single run.

use std::path::{Path, PathBuf};
use std::time::Duration;

use bevy::prelude::*;

use crate::common;
use common::{focused, focused_mut, moving_transforms, run_steps, wait};
use sdflow::app::controls::KeyboardCapture;
use sdflow::app::run::{
    ActiveScene, Draft, MovingPositions, Playback, RunCurves, RunLink, RunProgress, RunState, SceneErrors,
    SceneRequest, SimRequest,
};
use sdflow::app::view::clouds::{CloudEntities, CloudRole};
use sdflow::app::worker::project3;
use sdflow::engine::Schedule;
use sdflow::scene::SceneFile;

const TARGET_POINTS: usize = 96;
const SOURCE_POINTS: usize = 80;

fn scene_text(name: &str) -> String {
    format!(
        r#"(
    name: "{name}",
    description: "small test scene",
    seed: 11,
    target: SwissRoll(points: {TARGET_POINTS}),
    source: Gaussian(points: {SOURCE_POINTS}, mean: [0.0, 0.0, 0.0], std: 1.0),
    method: Sd,
    direction: Forward,
    schedule: Cosine(sigma2_max: 2.0, sigma2_min: 0.25),
    steps: 400,
    step_size: Auto(first_norm: 0.5),
    batch: None,
)"#
    )
}

const PATH: &str = "test_scene.ron";

/// An app with the headless plugins, 25 ms per update (the fixed step is
/// 1/30 s), the test scene requested and not yet playing, no first-view hold.
fn app() -> App {
    let mut app = common::paused_app();
    app.world_mut().write_message(SceneRequest::Text { path: PATH.into(), text: scene_text("test") });
    wait(&mut app, "the scene to load", |w| focused::<MovingPositions>(w).count() > 0);
    app
}

fn count(app: &mut App, role: CloudRole) -> usize {
    let mut q = app.world_mut().query::<&CloudRole>();
    q.iter(app.world()).filter(|r| **r == role).count()
}

#[test]
fn one_entity_per_point() {
    let mut app = app();
    app.update();
    assert_eq!(count(&mut app, CloudRole::Moving), SOURCE_POINTS);
    assert_eq!(count(&mut app, CloudRole::Fixed), TARGET_POINTS);
    let entities = focused::<CloudEntities>(app.world());
    assert_eq!((entities.moving.len(), entities.fixed.len()), (SOURCE_POINTS, TARGET_POINTS));
}

#[test]
fn transforms_follow_the_engine() {
    let mut app = app();
    let steps = run_steps(&mut app, 6);
    assert!(steps >= 6);

    // The same scene run directly with the engine.
    let file = SceneFile::parse(Path::new(PATH), scene_text("test")).expect("test scene parses");
    let clouds = file.clouds_with_seed(file.scene.seed).expect("clouds");
    let mut sim = file.scene.simulation(&clouds, file.scene.seed);
    for _ in 0..steps {
        sim.step().expect("a step");
    }
    let expected = project3(sim.moving());
    let shown = moving_transforms(&mut app);
    assert_eq!(shown.len() * 3, expected.len());
    for (i, (s, e)) in shown.iter().zip(expected.chunks_exact(3)).enumerate() {
        for k in 0..3 {
            assert!((s[k] - e[k]).abs() <= 1e-6, "point {i} coordinate {k}: shown {} engine {}", s[k], e[k]);
        }
    }
    // The positions resource is the engine's state too.
    assert_eq!(focused::<MovingPositions>(app.world()).positions, expected);
}

#[test]
fn pause_stops_the_steps_and_single_step_takes_one() {
    let mut app = app();
    let steps = run_steps(&mut app, 3);
    for _ in 0..60 {
        app.update();
    }
    assert_eq!(focused::<RunProgress>(app.world()).step_index, steps, "paused, yet steps were taken");

    app.world_mut().resource_mut::<Playback>().single_step = true;
    wait(&mut app, "a single step", |w| focused::<RunProgress>(w).step_index == steps + 1);
    for _ in 0..60 {
        app.update();
    }
    assert_eq!(focused::<RunProgress>(app.world()).step_index, steps + 1);
}

#[test]
fn a_changed_parameter_reaches_the_engine() {
    let mut app = app();
    run_steps(&mut app, 2);
    // What the schedule panel does: edit the draft scene.
    let constant = Schedule::Constant { sigma2: 0.125 };
    focused_mut::<Draft>(app.world_mut()).scene.as_mut().expect("draft").schedule = constant;
    app.update();
    assert_eq!(focused::<Draft>(app.world()).applied.as_ref().map(|s| s.schedule), Some(constant));
    let before = focused::<RunProgress>(app.world()).step_index;
    run_steps(&mut app, before + 2);
    let report = focused::<RunProgress>(app.world()).last_report.expect("a report");
    assert_eq!(report.sigma2, 0.125, "the engine did not get the new schedule");
    assert!(!focused::<Draft>(app.world()).needs_restart(focused::<ActiveScene>(app.world())));
}

#[test]
fn invalid_edits_are_not_sent() {
    let mut app = app();
    let applied = focused::<Draft>(app.world()).applied.clone();
    focused_mut::<Draft>(app.world_mut()).scene.as_mut().expect("draft").schedule =
        Schedule::Cosine { sigma2_max: 0.5, sigma2_min: 4.0 };
    app.update();
    let draft = focused::<Draft>(app.world());
    assert_eq!(draft.applied, applied);
    assert!(draft.problems.iter().any(|p| p.contains("sigma2_min")), "{:?}", draft.problems);
}

#[test]
fn a_bad_scene_keeps_the_running_one_and_records_the_error() {
    let mut app = app();
    run_steps(&mut app, 2);
    let generation = focused::<RunLink>(app.world()).generation;

    let broken = [
        ("syntax.ron", "(name: \"x\", seed: 1,, )".to_string()),
        ("values.ron", scene_text("bad values").replace("sigma2_min: 0.25", "sigma2_min: 9.0")),
        ("csv.ron", scene_text("missing csv").replace("SwissRoll(points: 96)", "Csv(path: \"nowhere.csv\")")),
    ];
    for (path, text) in broken {
        app.world_mut().write_message(SceneRequest::Text { path: path.into(), text });
        app.update();
        let error = app.world().resource::<SceneErrors>().first().map(str::to_owned).expect("an error is recorded");
        assert!(error.starts_with(&format!("{path}:")), "error without file:line:col: {error}");
        let mut parts = error.splitn(4, ':');
        let (_, line, col) = (parts.next(), parts.next(), parts.next());
        assert!(line.and_then(|l| l.parse::<usize>().ok()).is_some(), "no line in {error}");
        assert!(col.and_then(|c| c.parse::<usize>().ok()).is_some(), "no column in {error}");
        let active = focused::<ActiveScene>(app.world());
        assert_eq!(active.scene().map(|s| s.name.as_str()), Some("test"));
        assert_eq!(focused::<RunLink>(app.world()).generation, generation);
    }
    // A missing file too.
    app.world_mut().write_message(SceneRequest::Open(PathBuf::from("/nonexistent/scene.ron")));
    app.update();
    assert!(app.world().resource::<SceneErrors>().first().is_some_and(|e| e.contains("cannot read")));

    // The old scene still runs.
    let steps = focused::<RunProgress>(app.world()).step_index;
    run_steps(&mut app, steps + 2);
    assert_eq!(count(&mut app, CloudRole::Moving), SOURCE_POINTS);

    // A good scene clears the error.
    app.world_mut().write_message(SceneRequest::Text { path: PATH.into(), text: scene_text("again") });
    app.update();
    assert!(app.world().resource::<SceneErrors>().is_empty());
}

#[test]
fn reset_and_restart() {
    let mut app = app();
    let start = focused::<MovingPositions>(app.world()).positions.clone();
    run_steps(&mut app, 3);
    app.world_mut().write_message(SimRequest::Reset);
    wait(&mut app, "the reset", |w| focused::<RunProgress>(w).step_index == 0);
    app.update();
    assert_eq!(focused::<MovingPositions>(app.world()).positions, start);

    // Points need a restart: the draft says so until Restart is pressed.
    focused_mut::<Draft>(app.world_mut())
        .scene
        .as_mut()
        .expect("draft")
        .source
        .as_mut()
        .expect("a source")
        .set_points(40);
    app.update();
    assert!(focused::<Draft>(app.world()).needs_restart(focused::<ActiveScene>(app.world())));
    app.world_mut().write_message(SceneRequest::Restart { new_seed: false });
    wait(&mut app, "the restart", |w| focused::<MovingPositions>(w).count() == 40);
    app.update();
    assert_eq!(count(&mut app, CloudRole::Moving), 40);
    assert!(!focused::<Draft>(app.world()).needs_restart(focused::<ActiveScene>(app.world())));
}

#[test]
fn the_scene_file_reloads_when_it_changes() {
    let dir = std::env::temp_dir().join(format!("sdflow-app-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("watched.ron");
    std::fs::write(&path, scene_text("first")).expect("write scene");
    let mut app = app();
    app.world_mut().write_message(SceneRequest::Open(path.clone()));
    app.update();
    assert_eq!(focused::<ActiveScene>(app.world()).scene().map(|s| s.name.clone()).as_deref(), Some("first"));

    std::fs::write(&path, scene_text("second")).expect("rewrite scene");
    // Make sure the modification time differs even on coarse clocks.
    let later = std::time::SystemTime::now() + Duration::from_secs(5);
    std::fs::File::options().write(true).open(&path).and_then(|f| f.set_modified(later)).expect("set mtime");
    wait(&mut app, "the reload", |w| focused::<ActiveScene>(w).scene().is_some_and(|s| s.name == "second"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_finished_run_stops_and_goes_on_when_steps_grow() {
    let mut app = app();
    app.world_mut().write_message(SceneRequest::Text {
        path: PATH.into(),
        text: scene_text("short").replace("steps: 400", "steps: 5"),
    });
    wait(&mut app, "the short scene", |w| focused::<ActiveScene>(w).scene().is_some_and(|s| s.name == "short"));
    app.world_mut().resource_mut::<Playback>().playing = true;
    wait(&mut app, "the end of the run", |w| focused::<RunProgress>(w).finished);
    for _ in 0..30 {
        app.update();
    }
    assert_eq!(focused::<RunProgress>(app.world()).step_index, 5);

    focused_mut::<Draft>(app.world_mut()).scene.as_mut().expect("draft").steps = 8;
    wait(&mut app, "the longer run", |w| focused::<RunProgress>(w).step_index == 8);
    for _ in 0..30 {
        app.update();
    }
    assert_eq!(focused::<RunProgress>(app.world()).step_index, 8);
    assert!(focused::<RunProgress>(app.world()).finished);
}

#[test]
fn a_dropped_file_loads_and_presets_are_listed() {
    let mut app = app();
    let window = Entity::PLACEHOLDER;
    let path = PathBuf::from("scenes/grid25.ron");
    app.world_mut().write_message(bevy::window::FileDragAndDrop::DroppedFile { window, path_buf: path.clone() });
    wait(&mut app, "the dropped scene", |w| {
        focused::<ActiveScene>(w).file.as_ref().is_some_and(|f| f.path == Path::new("scenes/grid25.ron"))
    });
    wait(&mut app, "its clouds", |w| focused::<MovingPositions>(w).count() == 1000);

    let presets = sdflow::app::run::read_presets(Path::new("scenes"));
    assert!(presets.iter().any(|(p, name)| p.ends_with("swiss_to_mystery.ron") && name == "Swiss roll -> mystery"));
    assert!(
        matches!(SceneRequest::default_scene(), SceneRequest::Open(p) if p == Path::new("scenes/swiss_to_mystery.ron"))
    );
}

#[test]
fn a_fast_flow_takes_more_steps_than_frames() {
    let mut app = app();
    {
        let mut playback = app.world_mut().resource_mut::<Playback>();
        // 1000 steps per second at 25 ms per frame: 25 steps owed per frame.
        playback.steps_per_second = 1000.0;
        playback.playing = true;
    }
    // However fast the worker is, one request must be able to carry several
    // steps: the largest jump of the step count between two frames says so.
    let mut most_per_frame = 0;
    let mut frames = 0;
    while focused::<RunProgress>(app.world()).step_index < 100 && frames < 4000 {
        let before = focused::<RunProgress>(app.world()).step_index;
        app.update();
        frames += 1;
        most_per_frame = most_per_frame.max(focused::<RunProgress>(app.world()).step_index - before);
        assert!(focused::<RunLink>(app.world()).steps_in_flight() <= sdflow::app::worker::MAX_STEPS_PER_REQUEST);
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(focused::<RunProgress>(app.world()).step_index >= 100, "the flow stalled");
    assert!(most_per_frame > 2, "at most {most_per_frame} steps per frame: the rate is capped by the frame rate");
}

fn run_state(app: &App) -> RunState {
    let w = app.world();
    focused::<RunProgress>(w).state(
        w.resource::<Playback>(),
        focused::<RunLink>(w),
        w.resource::<sdflow::app::run::FlowWorker>(),
    )
}

#[test]
fn shortcuts_are_ignored_while_a_text_field_has_focus() {
    let mut app = app();
    let steps = run_steps(&mut app, 3);
    app.world_mut().resource_mut::<KeyboardCapture>().text_field_focused = true;
    // Typing "r" and a space into the field: no reset, no play.
    common::press(&mut app, KeyCode::KeyR);
    common::press(&mut app, KeyCode::Space);
    for _ in 0..30 {
        app.update();
    }
    assert_eq!(focused::<RunProgress>(app.world()).step_index, steps, "a key reached the shortcuts");
    assert!(!app.world().resource::<Playback>().playing);

    // The field lets go of the keyboard: the same key is a shortcut again.
    app.world_mut().resource_mut::<KeyboardCapture>().text_field_focused = false;
    common::press(&mut app, KeyCode::KeyR);
    wait(&mut app, "the reset by R", |w| focused::<RunProgress>(w).step_index == 0);
    common::press(&mut app, KeyCode::Space);
    assert!(app.world().resource::<Playback>().playing);
}

#[test]
fn paused_and_finished_runs_send_no_work_to_the_worker() {
    let mut app = app();
    run_steps(&mut app, 2);
    assert_eq!(run_state(&app), RunState::Paused);
    let sent = focused::<RunLink>(app.world()).work_sent();
    for _ in 0..200 {
        app.update();
    }
    assert_eq!(focused::<RunLink>(app.world()).work_sent(), sent, "a paused run sent work");

    app.world_mut().write_message(SceneRequest::Text {
        path: PATH.into(),
        text: scene_text("short").replace("steps: 400", "steps: 4"),
    });
    wait(&mut app, "the short scene", |w| focused::<ActiveScene>(w).scene().is_some_and(|s| s.name == "short"));
    app.world_mut().resource_mut::<Playback>().playing = true;
    wait(&mut app, "the end of the run", |w| focused::<RunProgress>(w).finished && !focused::<RunLink>(w).busy());
    assert_eq!(run_state(&app), RunState::Finished);
    let sent = focused::<RunLink>(app.world()).work_sent();
    for _ in 0..200 {
        app.update();
    }
    assert_eq!(focused::<RunLink>(app.world()).work_sent(), sent, "a finished run sent work");
    assert!(app.world().resource::<Playback>().playing, "still set to play, yet resting");
}

#[test]
fn the_first_view_holds_before_the_flow_starts() {
    let mut app = app();
    app.world_mut().resource_mut::<Playback>().hold_after_load = Duration::from_secs(3);
    app.world_mut().resource_mut::<Playback>().playing = true;
    app.world_mut().write_message(SceneRequest::Text { path: PATH.into(), text: scene_text("held") });
    wait(&mut app, "the new scene's first state", |w| {
        focused::<ActiveScene>(w).scene().is_some_and(|s| s.name == "held")
            && focused::<RunProgress>(w).generation == focused::<RunLink>(w).generation
    });
    // 0.5 s more of a 3 s hold: the starting clouds stay.
    for _ in 0..20 {
        app.update();
    }
    assert_eq!(focused::<RunProgress>(app.world()).step_index, 0);
    assert_eq!(run_state(&app), RunState::Starting);
    wait(&mut app, "the flow to start", |w| focused::<RunProgress>(w).step_index > 0);
    assert_eq!(run_state(&app), RunState::Playing);
}

#[test]
fn fast_runs_record_every_step_and_mark_setting_changes() {
    let mut app = app();
    app.world_mut().resource_mut::<Playback>().steps_per_second = 1000.0;
    run_steps(&mut app, 40);
    let steps: Vec<usize> = focused::<RunCurves>(app.world()).history.iter().map(|h| h.step).collect();
    let last = *steps.last().expect("samples");
    // The starting state, then every step.
    assert_eq!(steps, (0..=last).collect::<Vec<_>>(), "a computed step is missing from the plots");

    focused_mut::<Draft>(app.world_mut()).scene.as_mut().expect("draft").method = sdflow::engine::Method::Mmd;
    app.update();
    let step = focused::<RunProgress>(app.world()).step_index;
    assert_eq!(focused::<RunCurves>(app.world()).markers, vec![(step, "method Mmd".to_string())]);
}

#[test]
fn divergences_arrive_on_their_cadence_and_match_the_engine() {
    use sdflow::engine::{DivergenceProbe, Divergences, StepContext};
    let mut app = app();
    // The starting state is evaluated at load.
    let first = focused::<RunCurves>(app.world()).divergences.first().cloned().expect("divergences at step 0");
    assert_eq!(first.0, 0);
    // The same numbers straight from the engine.
    let file = SceneFile::parse(Path::new(PATH), scene_text("test")).expect("test scene parses");
    let clouds = file.clouds_with_seed(file.scene.seed).expect("clouds");
    let sim = file.scene.simulation(&clouds, file.scene.seed);
    let held_out = file.held_out(file.scene.seed);
    let mut probe = DivergenceProbe::new(sim.fixed(), held_out.as_ref(), file.scene.seed, file.scene.cfd_frequencies);
    let sigma2 = file.scene.schedule.sigma2(0, file.scene.steps);
    let direct = probe.evaluate(sim.moving(), StepContext { steps_done: 0, sigma2, sd_eta: None }).values();
    for (i, name) in Divergences::NAMES.iter().enumerate() {
        let (a, b) = (first.1[i], direct[i]);
        assert!((a.is_nan() && b.is_nan()) || a == b, "{name}: app {a}, engine {b}");
    }
    run_steps(&mut app, 60);
    let status = focused::<RunCurves>(app.world());
    assert!(status.divergences.len() >= 2, "no divergences after 60 steps");
    let kl = Divergences::NAMES.iter().position(|n| *n == "kl_qp").expect("kl_qp");
    let (start, last) = (first.1[kl], status.divergences.last().expect("values").1[kl]);
    assert!(last < start, "SD flow should lower KL(q||p): {start} -> {last}");
}

#[test]
fn the_points_are_not_respawned_while_the_flow_runs() {
    let mut app = app();
    app.update();
    let ids = |app: &App| {
        let e = focused::<CloudEntities>(app.world());
        (e.fixed.clone(), e.moving.clone())
    };
    let before = ids(&app);
    run_steps(&mut app, 5);
    let after = ids(&app);
    assert_eq!(before, after, "a step replaced the point entities (and refitted the view)");
}
