//! The teaching workflow's files, end to end without a window: paint a 2-D
//! cloud, save it as CSV, save a scene that uses it, load that scene back and
//! check it is the same run; export the moving points and the history.

use std::path::{Path, PathBuf};

use sdflow::engine::brush::{Brush, Stroke, erase, painted_cloud};
use sdflow::engine::{Cloud, Dataset};
use sdflow::export::history::{StepHead, write_history_csv};
use sdflow::scene::{SceneFile, read_points, save_scene, write_points};

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sdflow-share-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Paints a "V" with the brush and erases a spot from it.
fn paint() -> Vec<[f32; 2]> {
    let brush = Brush::new(0.3, 60.0).expect("valid brush");
    let mut points = Vec::new();
    let mut stroke = Stroke::new(brush, 21, 0);
    for k in 0..=20 {
        let t = k as f32 / 20.0;
        points.extend(stroke.drag_to([-2.0 + 2.0 * t, 2.0 - 3.0 * t]));
    }
    let mut second = Stroke::new(brush, 21, stroke.next_index());
    for k in 0..=20 {
        let t = k as f32 / 20.0;
        points.extend(second.drag_to([2.0 * t, -1.0 + 3.0 * t]));
    }
    let before = points.len();
    let removed = erase(&mut points, [0.0, -1.0], 0.2);
    assert!(removed > 0 && points.len() == before - removed);
    points
}

#[test]
fn a_painted_scene_saves_and_loads_back_to_the_same_run() {
    let dir = temp_dir("painted");
    let painted = paint();
    assert!(painted.len() > 200, "painted {} points", painted.len());
    let cloud = painted_cloud(&painted);
    let csv = dir.join("data").join("v.csv");
    std::fs::create_dir_all(csv.parent().expect("folder")).expect("data folder");
    write_points(&csv, &cloud).expect("csv written");
    let back = read_points(&csv).expect("csv read");
    assert_eq!(back.as_slice().iter().map(|x| x.to_bits()).collect::<Vec<_>>(), {
        cloud.as_slice().iter().map(|x| x.to_bits()).collect::<Vec<_>>()
    });

    // The painted cloud becomes the target of the 2-D preset.
    let preset = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenes/two_moons_from_ring.ron");
    let mut scene = SceneFile::read(&preset).expect("preset").scene;
    scene.target = Dataset::Csv { path: csv.to_string_lossy().into_owned() };
    scene.source.as_mut().expect("a source").set_points(200);
    scene.name = "Ring -> painted V".into();
    let saved = dir.join("painted.ron");
    save_scene(&saved, &scene).expect("scene saved");
    let text = std::fs::read_to_string(&saved).expect("scene text");
    assert!(text.contains("target: Csv(path: \"data/v.csv\")"), "{text}");

    let loaded = SceneFile::read(&saved).unwrap_or_else(|e| panic!("{e}"));
    let clouds = loaded.clouds().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(clouds.target, cloud);
    // The same run: the in-memory scene (clouds built directly) and the
    // loaded file step to the same points.
    let mut direct =
        scene.simulation(&sdflow::scene::Clouds { target: cloud.clone(), source: clouds.source.clone() }, scene.seed);
    let mut from_file = loaded.scene.simulation(&clouds, loaded.scene.seed);
    let mut rows = Vec::new();
    for _ in 0..4 {
        let a = direct.step().expect("a step");
        let b = from_file.step().expect("a step");
        assert_eq!(a.sigma2, b.sigma2);
        let mut row = StepHead::of_step(&b, 0.0).fields();
        row.push(b.moved.to_string());
        rows.push(row);
    }
    assert_eq!(direct.moving(), from_file.moving());
    assert_ne!(from_file.moving(), &clouds.source, "the points moved");

    // Export the moving points and the history as the window would.
    let points = dir.join("moving.csv");
    write_points(&points, from_file.moving()).expect("points exported");
    assert_eq!(&read_points(&points).expect("points read"), from_file.moving());
    let history = dir.join("history.csv");
    let mut header = StepHead::NAMES.to_vec();
    header.push("moved");
    write_history_csv(&history, &header, rows).expect("history exported");
    let lines: Vec<String> = std::fs::read_to_string(&history).expect("history").lines().map(String::from).collect();
    assert_eq!(lines.len(), 5);
    assert_eq!(lines[0], "step,sigma2,kernel_sigma2,eta,path,ms,moved");
    assert!(lines[4].starts_with("4,") && lines[4].ends_with(",200"), "{}", lines[4]);
}

#[test]
fn a_painted_cloud_with_no_points_is_not_a_scene_cloud() {
    let dir = temp_dir("empty");
    let csv = dir.join("empty.csv");
    write_points(&csv, &Cloud::new(2, Vec::new())).expect("written");
    let e = read_points(&csv).unwrap_err();
    assert!(e.contains("no points"), "{e}");
}
