//! The lesson player, headless: Next / Back open the right runs, a question
//! holds the runs until it is answered, Page Down advances, run_to pauses
//! there, and the step's claims arrive measured.

use std::path::{Path, PathBuf};

use bevy::prelude::*;

use sdflow::app::lesson::{ClaimState, Claims, LessonCommand, LessonPlayer};
use sdflow::app::run::{ActiveScene, Focused, Playback, RunProgress};
use sdflow::app::tools::brush::PaintDraft;
use sdflow::app::view::clouds::ViewSettings;
use sdflow::scene::CameraHint;

use crate::common;
use common::{focused, wait};

fn scene(name: &str, method: &str, points: usize) -> String {
    format!(
        r#"(
    name: "{name}",
    seed: 5,
    target: Gaussian(points: {points}, mean: [0.0, 0.0], std: 1.0),
    source: Gaussian(points: {points}, mean: [3.0, 0.0], std: 0.5),
    method: {method},
    schedule: Constant(sigma2: 1.0),
    steps: 40,
    step_size: Fixed(eta: 0.5),
)"#
    )
}

/// A two-step lesson in its own folder: step 1 compares SD with MMD and
/// plays to step 6; step 2 asks a question first.
fn lesson_dir(tag: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("lesson-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(dir.join("sd.ron"), scene("sd", "Sd", 40)).expect("write");
    std::fs::write(dir.join("mmd.ron"), scene("mmd", "Mmd", 40)).expect("write");
    std::fs::write(dir.join("alone.ron"), scene("alone", "Sd", 30)).expect("write");
    let lesson = r#"(
    title: "A test lesson",
    summary: "Two steps.",
    steps: [
        (
            caption: "SD and MMD side by side.",
            scene: "sd.ron",
            compare: ["mmd.ron"],
            run_to: Some(6),
            checks: [(claim: "SD ends closer than its start", run: 0, metric: "cfd", step: 3, below: Some(10.0))],
        ),
        (
            caption: "One run, and a question.",
            scene: "alone.ron",
            run_to: Some(30),
            question: Some((prompt: "Where do the points go?", choices: ["left", "right"], answer: 0, explain: "To the target.")),
        ),
    ],
)"#;
    std::fs::write(dir.join("lesson.ron"), lesson).expect("write");
    let paint = r#"(
    title: "Turn, then paint",
    steps: [
        (caption: "Seen from the side.", scene: "sd.ron", view: (camera: Some((yaw_deg: 30.0, pitch_deg: 10.0)))),
        (caption: "Paint your own.", scene: "alone.ron", paint: true, show: Some(["paint"])),
    ],
)"#;
    std::fs::write(dir.join("paint.ron"), paint).expect("write");
    dir
}

/// The scene names of the open runs, sorted.
fn names(world: &mut World) -> Vec<String> {
    let mut q = world.query::<&ActiveScene>();
    let mut out: Vec<String> = q.iter(world).filter_map(|a| a.scene().map(|s| s.name.clone())).collect();
    out.sort();
    out
}

fn step(world: &World) -> Option<usize> {
    world.resource::<LessonPlayer>().open.as_ref().map(|o| o.step)
}

fn open(app: &mut App, dir: &Path, step: usize) {
    app.world_mut().write_message(LessonCommand::Open { path: dir.join("lesson.ron"), step });
}

#[test]
fn next_and_back_open_each_steps_runs() {
    let dir = lesson_dir("nav");
    let mut app = common::paused_app();
    open(&mut app, &dir, 0);
    wait(&mut app, "step 1's two runs", |w| names(w) == ["mmd", "sd"] && common::all_idle_and_loaded(w, 2));
    app.world_mut().write_message(LessonCommand::Next);
    wait(&mut app, "step 2's run", |w| names(w) == ["alone"] && common::all_idle_and_loaded(w, 1));
    assert_eq!(step(app.world()), Some(1));
    app.world_mut().write_message(LessonCommand::Next);
    app.update();
    assert_eq!(step(app.world()), Some(1), "the last step stays");
    app.world_mut().write_message(LessonCommand::Back);
    wait(&mut app, "step 1's runs again", |w| names(w) == ["mmd", "sd"] && common::all_idle_and_loaded(w, 2));
    app.world_mut().write_message(LessonCommand::Leave);
    app.update();
    assert_eq!(step(app.world()), None);
    assert_eq!(names(app.world_mut()), ["mmd", "sd"], "leaving keeps the runs");
}

#[test]
fn run_to_pauses_there_and_the_claims_arrive_measured() {
    let dir = lesson_dir("run-to");
    let mut app = common::paused_app();
    app.world_mut().resource_mut::<Playback>().steps_per_second = 200.0;
    open(&mut app, &dir, 0);
    wait(&mut app, "the pause at step 6", |w| {
        !w.resource::<Playback>().playing
            && focused::<RunProgress>(w).step_index == 6
            && common::all_idle_and_loaded(w, 2)
    });
    for _ in 0..20 {
        app.update();
    }
    assert_eq!(focused::<RunProgress>(app.world()).step_index, 6, "no further than run_to");
    wait(&mut app, "the measured claims", |w| matches!(w.resource::<Claims>().state, ClaimState::Done(_)));
    let claims = app.world().resource::<Claims>();
    assert!(claims.shown(0, 2).expect("measured").is_empty(), "not shown before the runs reach step 3");
    let shown = claims.shown(0, 6).expect("measured");
    assert_eq!(shown.len(), 1);
    assert!(shown[0].holds && shown[0].value < 10.0, "{:?}", shown[0]);
}

#[test]
fn a_question_holds_the_runs_until_it_is_answered() {
    let dir = lesson_dir("question");
    let mut app = common::paused_app();
    app.world_mut().resource_mut::<Playback>().steps_per_second = 200.0;
    open(&mut app, &dir, 1);
    wait(&mut app, "the run", |w| names(w) == ["alone"] && common::all_idle_and_loaded(w, 1));
    for _ in 0..40 {
        app.update();
    }
    assert_eq!(focused::<RunProgress>(app.world()).step_index, 0, "held until answered");
    assert!(app.world().resource::<Playback>().held.is_some());
    app.world_mut().write_message(LessonCommand::Answer(1));
    wait(&mut app, "steps after the answer", |w| focused::<RunProgress>(w).step_index > 3);
    let player = app.world().resource::<LessonPlayer>();
    assert_eq!(player.open.as_ref().and_then(|o| o.answer), Some(1));
}

#[test]
fn page_down_and_n_advance_page_up_goes_back() {
    let dir = lesson_dir("keys");
    let mut app = common::paused_app();
    open(&mut app, &dir, 0);
    wait(&mut app, "the lesson", |w| step(w) == Some(0));
    common::press(&mut app, KeyCode::PageDown);
    wait(&mut app, "step 2", |w| step(w) == Some(1));
    common::press(&mut app, KeyCode::PageUp);
    wait(&mut app, "step 1", |w| step(w) == Some(0));
    common::press(&mut app, KeyCode::KeyN);
    wait(&mut app, "step 2 again", |w| step(w) == Some(1));
}

#[test]
fn a_step_sets_the_camera_and_a_paint_step_turns_the_brush_on() {
    let dir = lesson_dir("paint");
    let mut app = common::paused_app();
    app.world_mut().write_message(LessonCommand::Open { path: dir.join("paint.ron"), step: 0 });
    wait(&mut app, "step 1's run", |w| names(w) == ["sd"] && common::all_idle_and_loaded(w, 1));
    let hint = Some(CameraHint { yaw_deg: 30.0, pitch_deg: 10.0 });
    assert_eq!(app.world().resource::<ViewSettings>().camera, hint, "the step's angles");
    let has_draft = |w: &mut World| w.query_filtered::<&PaintDraft, With<Focused>>().iter(w).next().is_some();
    assert!(!has_draft(app.world_mut()), "no brush on a step without paint");

    app.world_mut().write_message(LessonCommand::Next);
    wait(&mut app, "the brush on step 2's scene", |w| names(w) == ["alone"] && has_draft(w));
    assert_eq!(app.world().resource::<ViewSettings>().camera, None, "the scene's own angles again");
    assert_eq!(app.world().resource::<LessonPlayer>().paint_after, None, "the brush turns on once");
    assert!(!app.world().resource::<Playback>().playing, "paused while painting");
}
