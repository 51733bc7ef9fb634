//! The brush, headless: strokes fed as scene positions (what the window's
//! pointer system sends) paint where the pointer went, show at once as
//! preview points, and "Use painted clouds" turns them into CSV files and a
//! scene that loads and runs with exactly the painted points.

use std::path::PathBuf;

use bevy::prelude::*;

use sdflow::app::run::{
    ActiveScene, FixedPositions, Focused, MovingPositions, Playback, RunLink, RunProgress, RunRequest, SceneRequest,
};
use sdflow::app::tools::brush::{
    BrushInput, BrushSettings, PaintDraft, PaintFolder, PaintNotice, PaintPoint, PaintRequest,
};
use sdflow::app::view::clouds::{CloudEntities, ViewSettings};

use crate::common;
use common::{focused, wait};
use sdflow::engine::Dataset;
use sdflow::scene::{SceneCloud, SceneFile};

const FLAT: &str = r#"(
    name: "flat",
    seed: 3,
    target: Grid25(points: 60),
    source: Ring(points: 50),
    method: Sd,
    schedule: Constant(sigma2: 1.0),
    steps: 200,
    step_size: Fixed(eta: 0.5),
)"#;

const SOLID: &str = r#"(
    name: "solid",
    seed: 3,
    target: Mystery(points: 40),
    source: Gaussian(points: 30, mean: [0.0, 0.0, 0.0], std: 1.0),
    method: Sd,
    schedule: Constant(sigma2: 1.0),
    steps: 200,
)"#;

fn loaded(world: &mut World) -> bool {
    let (m, l) = (focused::<MovingPositions>(world), focused::<RunLink>(world));
    !l.busy() && m.is_shown(l)
}

fn start_app(text: &str, folder: &str) -> (App, PathBuf) {
    let dir = std::env::temp_dir().join(format!("sdflow-brush-{}-{folder}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut app = common::paused_app();
    app.insert_resource(PaintFolder(dir.clone()));
    app.world_mut().write_message(SceneRequest::Text { path: "flat.ron".into(), text: text.into() });
    wait(&mut app, "the scene to load", loaded);
    (app, dir)
}

fn draft(world: &mut World) -> Option<PaintDraft> {
    world.query_filtered::<&PaintDraft, With<Focused>>().iter(world).next().cloned()
}

fn previews(world: &mut World, cloud: SceneCloud) -> Vec<Vec3> {
    let mut q = world.query::<(&PaintPoint, &Transform)>();
    q.iter(world).filter(|(p, _)| p.0 == cloud).map(|(_, t)| t.translation).collect()
}

fn hidden_run_points(world: &mut World) -> usize {
    let entities = focused::<CloudEntities>(world);
    let all: Vec<Entity> = entities.fixed.iter().chain(&entities.moving).copied().collect();
    all.iter().filter(|e| world.get::<Visibility>(**e) == Some(&Visibility::Hidden)).count()
}

/// A drag along `points` (the first is where the button goes down).
fn stroke(app: &mut App, points: &[Vec2]) {
    app.world_mut().write_message(BrushInput::Down(points[0]));
    app.update();
    for p in &points[1..] {
        app.world_mut().write_message(BrushInput::Move(*p));
        app.update();
    }
    app.world_mut().write_message(BrushInput::Up);
    app.update();
}

fn bits(points: &[[f32; 2]]) -> Vec<u32> {
    points.iter().flatten().map(|x| x.to_bits()).collect()
}

#[test]
fn painted_clouds_round_trip_through_csv_into_a_scene_that_runs() {
    let (mut app, dir) = start_app(FLAT, "round-trip");
    app.world_mut().resource_mut::<Playback>().playing = true;
    app.world_mut().write_message(PaintRequest::Start);
    app.update();
    app.update();

    // The brush is on: a draft of the scene's clouds, shown as preview
    // points, the run's own points hidden and the run paused.
    let start = draft(app.world_mut()).expect("a draft");
    assert_eq!((start.points(SceneCloud::Target).len(), start.points(SceneCloud::Source).len()), (60, 50));
    assert_eq!(previews(app.world_mut(), SceneCloud::Target).len(), 60);
    assert_eq!(previews(app.world_mut(), SceneCloud::Source).len(), 50);
    assert_eq!(hidden_run_points(app.world_mut()), 110);
    assert!(!app.world().resource::<Playback>().playing, "painting pauses the run");

    // Paint the target from empty: a stroke along y = 8 from x = -6 to 6,
    // fed as uneven pointer moves.
    app.world_mut().write_message(PaintRequest::Clear(SceneCloud::Target));
    {
        let mut s = app.world_mut().resource_mut::<BrushSettings>();
        (s.cloud, s.erase, s.radius, s.density) = (SceneCloud::Target, false, 0.5, 60.0);
    }
    app.update();
    assert!(previews(app.world_mut(), SceneCloud::Target).is_empty(), "the cleared cloud is gone from view");
    let path: Vec<Vec2> = [-6.0, -5.7, -4.2, -4.0, -1.5, 0.0, 0.1, 2.9, 4.0, 6.0].map(|x| Vec2::new(x, 8.0)).to_vec();
    stroke(&mut app, &path);
    let target = draft(app.world_mut()).expect("draft").points(SceneCloud::Target).to_vec();
    // About density x (length x 2r + pi r^2) = 60 x (12 + 0.785) = 767 points.
    assert!((600..950).contains(&target.len()), "{} points", target.len());
    for p in &target {
        let d = (p[0] - p[0].clamp(-6.0, 6.0)).hypot(p[1] - 8.0);
        assert!(d <= 0.5 * 1.0001, "{p:?} is off the stroke");
    }
    for x in -6..6 {
        let n = target.iter().filter(|p| p[0] >= x as f32 && p[0] < x as f32 + 1.0).count();
        assert!(n > 30, "only {n} points between x = {x} and {}", x + 1);
    }
    // Shown at once, where the points are.
    let shown = previews(app.world_mut(), SceneCloud::Target);
    assert_eq!(shown.len(), target.len());
    assert!(target.iter().all(|p| shown.iter().any(|s| s.x == p[0] && s.y == p[1] && s.z == 0.0)));

    // A new point size reaches the preview points too.
    let scale = |w: &mut World| w.query::<(&PaintPoint, &Transform)>().iter(w).map(|(_, t)| t.scale.x).next();
    let before = scale(app.world_mut()).expect("preview points");
    app.world_mut().resource_mut::<ViewSettings>().point_size *= 2.0;
    app.update();
    assert_eq!(scale(app.world_mut()), Some(before * 2.0));

    // Erase the source's right half, then paint a few source points on top.
    {
        let mut s = app.world_mut().resource_mut::<BrushSettings>();
        (s.cloud, s.erase, s.radius) = (SceneCloud::Source, true, 1.5);
    }
    stroke(&mut app, &[Vec2::new(1.5, -3.0), Vec2::new(1.5, 3.0)]);
    let after_erase = draft(app.world_mut()).expect("draft").points(SceneCloud::Source).to_vec();
    assert!(after_erase.len() < 50 && after_erase.len() > 10, "{}", after_erase.len());
    assert!(after_erase.iter().all(|p| p[0] < 0.5), "the ring's right side is erased: {after_erase:?}");
    app.world_mut().resource_mut::<BrushSettings>().erase = false;
    stroke(&mut app, &[Vec2::new(3.0, -8.0), Vec2::new(5.0, -8.0)]);
    let painted = draft(app.world_mut()).expect("draft");
    let (target, source) = (painted.points(SceneCloud::Target).to_vec(), painted.points(SceneCloud::Source).to_vec());
    assert!(source.len() > after_erase.len());
    assert_eq!(source[..after_erase.len()], after_erase[..], "painting on top keeps the points there");
    assert_eq!(previews(app.world_mut(), SceneCloud::Source).len(), source.len());

    // Use them: CSV files and a scene in the folder, loaded into the run.
    let generation = focused::<RunLink>(app.world()).generation;
    app.world_mut().write_message(PaintRequest::Use);
    wait(&mut app, "the painted scene to load", |w| focused::<RunLink>(w).generation > generation && loaded(w));
    assert!(draft(app.world_mut()).is_none(), "the brush is off after use");
    let notice = app.world().resource::<PaintNotice>().clone();
    assert!(!notice.error, "{notice:?}");
    assert!(previews(app.world_mut(), SceneCloud::Target).is_empty());
    assert_eq!(hidden_run_points(app.world_mut()), 0, "the run's points show again");
    assert!(app.world().resource::<Playback>().playing, "the run plays again as before the brush");

    let ron = dir.join("painted-001.ron");
    let active = focused::<ActiveScene>(app.world());
    let file = active.file.as_ref().expect("a scene");
    assert_eq!(file.path, ron);
    assert!(matches!(file.scene.target, Dataset::Csv { .. }), "{:?}", file.scene.target);
    assert!(file.scene.name.ends_with("(painted)"), "{}", file.scene.name);
    // The loaded clouds are the painted points, bit for bit.
    let clouds = file.clouds().expect("the CSV files read back");
    assert_eq!(clouds.target.as_slice().iter().map(|x| x.to_bits()).collect::<Vec<_>>(), bits(&target));
    assert_eq!(clouds.source.as_slice().iter().map(|x| x.to_bits()).collect::<Vec<_>>(), bits(&source));
    // The worker got them too (forward flow: the target is the fixed cloud).
    let fixed = &focused::<FixedPositions>(app.world()).positions;
    let shown: Vec<u32> = fixed.chunks_exact(3).flat_map(|p| [p[0].to_bits(), p[1].to_bits()]).collect();
    assert_eq!(shown, bits(&target));
    // The saved scene reloads from disk to the same clouds.
    let reread = SceneFile::read(&ron).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(reread.clouds().expect("clouds"), clouds);
    let text = std::fs::read_to_string(&ron).expect("scene text");
    assert!(text.contains("target: Csv(path: \"painted-001-target.csv\")"), "{text}");

    // And it runs.
    wait(&mut app, "steps on the painted clouds", |w| focused::<RunProgress>(w).step_index >= 3);
    let after = &focused::<MovingPositions>(app.world()).positions;
    let painted: Vec<f32> = source.iter().flat_map(|p| [p[0], p[1], 0.0]).collect();
    assert_eq!(after.len(), painted.len());
    assert_ne!(after, &painted, "the painted source moved");
    assert!(after.iter().all(|x| x.is_finite()));
}

#[test]
fn the_brush_refuses_3d_scenes_and_turning_it_off_drops_the_painting() {
    let (mut app, _) = start_app(SOLID, "solid");
    app.world_mut().write_message(PaintRequest::Start);
    app.update();
    app.update();
    assert!(draft(app.world_mut()).is_none());
    let notice = app.world().resource::<PaintNotice>().clone();
    assert!(notice.error && notice.text.as_deref().is_some_and(|t| t.contains("2-D")), "{notice:?}");

    let (mut app, dir) = start_app(FLAT, "off");
    app.world_mut().write_message(PaintRequest::Start);
    app.update();
    stroke(&mut app, &[Vec2::new(0.0, 9.0), Vec2::new(1.0, 9.0)]);
    assert!(draft(app.world_mut()).expect("draft").points(SceneCloud::Target).len() > 60);
    // Moves without a press paint nothing.
    app.world_mut().write_message(BrushInput::Move(Vec2::new(5.0, 5.0)));
    app.update();
    let n = draft(app.world_mut()).expect("draft").points(SceneCloud::Target).len();
    assert!(n > 60);
    app.world_mut().write_message(PaintRequest::Stop);
    app.update();
    app.update();
    assert!(draft(app.world_mut()).is_none());
    assert!(previews(app.world_mut(), SceneCloud::Target).is_empty());
    assert_eq!(hidden_run_points(app.world_mut()), 0);
    assert_eq!(focused::<FixedPositions>(app.world()).positions.len(), 60 * 3, "the run kept its clouds");
    assert!(!dir.exists(), "nothing written");
}

#[test]
fn another_view_taking_the_focus_drops_the_painting() {
    let (mut app, _) = start_app(FLAT, "focus");
    app.world_mut().write_message(RunRequest::Compare(SceneRequest::Text { path: "b.ron".into(), text: FLAT.into() }));
    wait(&mut app, "the second run", |w| w.query::<&RunLink>().iter(w).filter(|l| l.generation > 0).count() == 2);
    app.world_mut().resource_mut::<Playback>().playing = true;
    app.world_mut().write_message(PaintRequest::Start);
    app.update();
    stroke(&mut app, &[Vec2::new(0.0, 9.0), Vec2::new(2.0, 9.0)]);
    assert!(draft(app.world_mut()).is_some());
    let other = app.world_mut().query_filtered::<Entity, (With<RunLink>, Without<Focused>)>().iter(app.world()).next();
    app.world_mut().write_message(RunRequest::Focus(other.expect("a second run")));
    app.update();
    app.update();
    let mut q = app.world_mut().query::<&PaintDraft>();
    assert_eq!(q.iter(app.world()).count(), 0, "the draft went with the focus");
    assert!(previews(app.world_mut(), SceneCloud::Target).is_empty());
    let notice = app.world().resource::<PaintNotice>().clone();
    assert!(notice.text.as_deref().is_some_and(|t| t.contains("focus")), "{notice:?}");
    assert!(app.world().resource::<Playback>().playing, "playing again as before the brush");
    // Strokes without the brush on paint nothing and do not panic.
    stroke(&mut app, &[Vec2::new(0.0, 0.0), Vec2::new(1.0, 1.0)]);
    assert_eq!(q.iter(app.world()).count(), 0);
}

#[test]
fn the_view_checkboxes_do_not_bring_a_painted_runs_points_back() {
    let (mut app, _) = start_app(FLAT, "checkboxes");
    let all = {
        let e = focused::<CloudEntities>(app.world());
        e.fixed.len() + e.moving.len()
    };
    app.world_mut().write_message(PaintRequest::Start);
    app.update();
    app.update();
    assert_eq!(hidden_run_points(app.world_mut()), all, "painting hides the run's own points");
    for show in [false, true] {
        app.world_mut().resource_mut::<ViewSettings>().show_fixed = show;
        app.update();
        assert_eq!(hidden_run_points(app.world_mut()), all, "show_fixed = {show} while painting");
    }
    app.world_mut().write_message(PaintRequest::Stop);
    app.update();
    app.update();
    assert_eq!(hidden_run_points(app.world_mut()), 0, "the brush off shows them as the view says");
}
