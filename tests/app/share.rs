//! Sharing from the app, headless: the focused run's edited scene saved as
//! RON loads back to the same run; a CSV cloud opened into a run; every
//! run's moving points and metric history exported as CSV; and no shortcut
//! fires while the file dialog is open.

use std::path::PathBuf;

use bevy::prelude::*;

use sdflow::app::controls::KeyboardCapture;
use sdflow::app::run::{
    ActiveScene, Draft, FixedPositions, MovingPositions, Playback, RunCurves, RunProgress, RunRequest, SceneErrors,
    SceneRequest, ViewSlot,
};

use crate::common;
use common::{focused, focused_mut, wait};
use sdflow::app::tools::share::{ShareLog, ShareRequest};
use sdflow::engine::{Cloud, Dataset, StepSize};
use sdflow::scene::{SceneCloud, SceneFile, read_points, write_points};

const SCENE: &str = r#"(
    name: "Ring -> moons, small",
    seed: 3,
    target: TwoMoons(points: 120),
    source: Ring(points: 90, radius: 2.0, std: 0.05),
    method: Sd,
    direction: Forward,
    schedule: Cosine(sigma2_max: 0.5, sigma2_min: 0.01),
    steps: 200,
    step_size: Auto(first_norm: 0.3),
    batch: None,
)"#;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sdflow-app-share-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn app() -> App {
    let mut app = common::paused_app();
    app.world_mut().resource_mut::<Playback>().steps_per_second = 200.0;
    app
}

/// (step, moving positions) of every run in view order.
fn runs(world: &mut World) -> Vec<(usize, Vec<f32>)> {
    let mut q = world.query::<(&ViewSlot, &RunProgress, &MovingPositions)>();
    let mut out: Vec<_> = q.iter(world).map(|(v, s, m)| (v.0, s.step_index, m.positions.clone())).collect();
    out.sort_by_key(|r| r.0);
    out.into_iter().map(|(_, s, p)| (s, p)).collect()
}

/// Sends a share request and waits for its outcome; panics on an error.
fn share(app: &mut App, request: ShareRequest) -> String {
    let before = app.world().resource::<ShareLog>().count;
    app.world_mut().write_message(request);
    wait(app, "the share job", |w| w.resource::<ShareLog>().count > before);
    let (message, _, error) = app.world().resource::<ShareLog>().last.clone().expect("a message");
    assert!(!error, "{message}");
    message
}

fn play(app: &mut App, count: usize, steps: usize) {
    app.world_mut().resource_mut::<Playback>().playing = true;
    wait(app, "steps", |w| runs(w).iter().all(|r| r.0 >= steps));
    app.world_mut().resource_mut::<Playback>().playing = false;
    wait(app, "the worker to go idle", |w| common::all_idle_and_loaded(w, count));
}

#[test]
fn a_saved_scene_loads_back_to_the_same_run() {
    let dir = temp_dir("save");
    let mut app = app();
    app.world_mut().write_message(SceneRequest::Text { path: "moons.ron".into(), text: SCENE.into() });
    wait(&mut app, "the scene to load", |w| common::all_idle_and_loaded(w, 1));

    // Edit the draft (a flow setting and a new seed), then save it.
    {
        let mut draft = focused_mut::<Draft>(app.world_mut());
        let scene = draft.scene.as_mut().expect("a draft");
        scene.seed = 11;
        scene.step_size = StepSize::Fixed { eta: 0.2 };
    }
    let path = dir.join("edited.ron");
    let message = share(&mut app, ShareRequest::SaveScene(path.clone()));
    assert!(message.contains("seed 11") && message.contains("edited.ron"), "{message}");
    let saved = SceneFile::read(&path).unwrap_or_else(|e| panic!("{e}"));
    let draft = focused::<Draft>(app.world()).scene.clone().expect("a draft");
    assert_eq!(saved.scene, draft, "the file holds the edited settings");
    assert_eq!(saved.scene.seed, 11);

    // This run restarts with its edits; the saved file opens beside it.
    app.world_mut().write_message(SceneRequest::Restart { new_seed: false });
    app.world_mut().write_message(RunRequest::Compare(SceneRequest::Open(path.clone())));
    wait(&mut app, "both runs to load", |w| common::all_idle_and_loaded(w, 2));
    play(&mut app, 2, 6);
    let shown = runs(app.world_mut());
    assert_eq!(shown[0].0, shown[1].0, "lockstep");
    assert!(shown[0].0 >= 6);
    assert_eq!(shown[0].1, shown[1].1, "the saved scene runs exactly as the edited one");

    // And as the engine runs it alone.
    assert_eq!(common::alone(&saved.text, shown[0].0), shown[1].1);
}

#[test]
fn a_scene_that_would_not_load_back_is_not_saved() {
    let dir = temp_dir("invalid");
    let mut app = app();
    app.world_mut().write_message(SceneRequest::Text { path: "moons.ron".into(), text: SCENE.into() });
    wait(&mut app, "the scene to load", |w| common::all_idle_and_loaded(w, 1));
    focused_mut::<Draft>(app.world_mut()).scene.as_mut().expect("a draft").steps = 0;
    let path = dir.join("bad.ron");
    app.world_mut().write_message(ShareRequest::SaveScene(path.clone()));
    wait(&mut app, "the refusal", |w| w.resource::<ShareLog>().count > 0);
    let (message, _, error) = app.world().resource::<ShareLog>().last.clone().expect("a message");
    assert!(error && message.starts_with("not saved: ") && message.contains("steps"), "{message}");
    assert!(!path.exists());
}

#[test]
fn a_csv_cloud_replaces_the_target_and_exports_come_back_exactly() {
    let dir = temp_dir("csv");
    let target = Cloud::from_points(2, &[[0.0f32, 0.0], [1.0, 0.5], [0.25, -1.0], [0.5, 0.75], [-0.5, 0.1]]);
    let csv = dir.join("painted.csv");
    write_points(&csv, &target).expect("csv written");

    let mut app = app();
    app.world_mut().write_message(SceneRequest::Text { path: "moons.ron".into(), text: SCENE.into() });
    wait(&mut app, "the scene to load", |w| common::all_idle_and_loaded(w, 1));
    app.world_mut().write_message(ShareRequest::OpenCsv { path: csv.clone(), role: SceneCloud::Target });
    wait(&mut app, "the CSV target", |w| {
        focused::<ActiveScene>(w).scene().is_some_and(|s| matches!(s.target, Dataset::Csv { .. }))
            && common::all_idle_and_loaded(w, 1)
    });
    assert_eq!(focused::<FixedPositions>(app.world()).count(), 5);
    assert!(app.world().resource::<SceneErrors>().is_empty());

    // A CSV of the wrong dimension is refused with the reason; the run goes on.
    let wrong = dir.join("3d.csv");
    write_points(&wrong, &Cloud::from_points(3, &[[0.0f32, 1.0, 2.0]])).expect("csv written");
    app.world_mut().write_message(ShareRequest::OpenCsv { path: wrong, role: SceneCloud::Source });
    wait(&mut app, "the error", |w| !w.resource::<SceneErrors>().is_empty());
    assert_eq!(focused::<FixedPositions>(app.world()).count(), 5, "the running scene is kept");

    play(&mut app, 1, 4);
    let out = dir.join("out");
    let message = share(&mut app, ShareRequest::Export { folder: out.clone() });
    assert!(message.contains("exported 2 files"), "{message}");
    let step = focused::<RunProgress>(app.world()).step_index;
    let points = out.join(format!("ring-moons-small-view1-step{step}-points.csv"));
    let exported = read_points(&points).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(exported.dim(), 2, "a 2-D scene exports 2 coordinates");
    let shown = &focused::<MovingPositions>(app.world()).positions;
    let expected: Vec<f32> = shown.chunks_exact(3).flat_map(|p| [p[0], p[1]]).collect();
    assert_eq!(exported.as_slice(), &expected[..], "the moving points, bit for bit");

    let history = std::fs::read_to_string(out.join("ring-moons-small-view1-history.csv")).expect("history");
    let mut lines = history.lines();
    let header = lines.next().expect("a header");
    assert!(header.starts_with("step,cfd,outlier_fraction,kl_qp,"), "{header}");
    let status = focused::<RunCurves>(app.world());
    let mut steps: Vec<usize> =
        status.history.iter().map(|s| s.step).chain(status.divergences.iter().map(|d| d.0)).collect();
    steps.sort_unstable();
    steps.dedup();
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), steps.len());
    let last = status.history.last().expect("metrics");
    let row = rows.iter().find(|r| r.starts_with(&format!("{},", last.step))).expect("the last step's row");
    assert!(row.starts_with(&format!("{},{},{}", last.step, last.cfd, last.outlier_fraction)), "{row}");
    assert!(rows.iter().all(|r| r.split(',').count() == header.split(',').count()));
}

#[test]
fn exports_go_to_a_folder_that_can_be_made_or_say_why_not() {
    let mut app = app();
    app.world_mut().write_message(SceneRequest::Text { path: "moons.ron".into(), text: SCENE.into() });
    wait(&mut app, "the scene to load", |w| common::all_idle_and_loaded(w, 1));
    let file = temp_dir("blocked").join("a-file");
    std::fs::write(&file, b"x").expect("write");
    app.world_mut().write_message(ShareRequest::Export { folder: file.join("sub") });
    wait(&mut app, "the failure", |w| w.resource::<ShareLog>().count > 0);
    let (message, _, error) = app.world().resource::<ShareLog>().last.clone().expect("a message");
    assert!(error && message.starts_with("cannot create the folder"), "{message}");
    assert!(message.contains(&file.join("sub").display().to_string()), "{message}");
}

#[test]
fn no_shortcut_fires_while_the_file_dialog_is_open() {
    let mut app = app();
    app.update();
    app.world_mut().resource_mut::<KeyboardCapture>().dialog_open = true;
    app.world_mut().resource_mut::<ButtonInput<KeyCode>>().press(KeyCode::Space);
    app.update();
    assert!(!app.world().resource::<Playback>().playing, "Space reached the app through the dialog");
    // Nothing clears the keys without the input plugin: release by hand.
    let mut keys = app.world_mut().resource_mut::<ButtonInput<KeyCode>>();
    keys.release(KeyCode::Space);
    keys.clear();
    app.world_mut().resource_mut::<KeyboardCapture>().dialog_open = false;
    app.world_mut().resource_mut::<ButtonInput<KeyCode>>().press(KeyCode::Space);
    app.update();
    assert!(app.world().resource::<Playback>().playing, "Space plays once the dialog is closed");
}
