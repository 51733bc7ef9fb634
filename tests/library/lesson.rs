//! Lessons: errors point at file:line:column, the shipped lessons' claims
//! hold, and a false claim or a broken lesson gives the documented exit code.

use std::path::{Path, PathBuf};
use std::process::Command;

use sdflow::lesson::LessonFile;

fn lessons_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("lessons")
}

/// A lesson text with one check, written as if it sat in `lessons/`.
fn one_check(check: &str) -> String {
    format!(
        "(\n    title: \"t\",\n    steps: [\n        (\n            caption: \"c\",\n            scene: \"../scenes/mystery_overlap.ron\",\n            compare: [\"../scenes/mystery_overlap_mmd.ron\"],\n            checks: [\n                {check},\n            ],\n        ),\n    ],\n)\n"
    )
}

fn problem(text: &str) -> String {
    let path = lessons_dir().join("probe.ron");
    match LessonFile::parse(&path, text) {
        Ok(_) => panic!("expected a problem"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn two_bounds_point_at_the_second() {
    let e = problem(&one_check("(claim: \"x\", run: 0, metric: \"cfd\", step: 5, below: Some(0.1), above: Some(0.0))"));
    // Line 9 holds the check; `above` starts at column 80.
    assert!(e.contains("probe.ron:9:80: a check takes exactly one bound"), "{e}");
}

#[test]
fn no_bound_points_at_the_check() {
    let e = problem(&one_check("(claim: \"x\", run: 0, metric: \"cfd\", step: 5)"));
    assert!(e.contains("probe.ron:9:17: a check needs one bound"), "{e}");
}

#[test]
fn unknown_metric_points_at_the_metric() {
    let e = problem(&one_check("(claim: \"x\", run: 0, metric: \"cdf\", step: 5, below: Some(0.1))"));
    assert!(e.contains("probe.ron:9:38: unknown metric \"cdf\""), "{e}");
}

#[test]
fn run_out_of_range_points_at_the_run() {
    let e = problem(&one_check("(claim: \"x\", run: 2, metric: \"cfd\", step: 5, below: Some(0.1))"));
    assert!(e.contains("probe.ron:9:30: run 2 does not exist"), "{e}");
}

#[test]
fn step_beyond_the_scene_is_a_problem() {
    let e = problem(&one_check("(claim: \"x\", run: 0, metric: \"cfd\", step: 501, below: Some(0.1))"));
    assert!(e.contains("probe.ron:9:53: step 501 is out of range"), "{e}");
}

#[test]
fn the_brush_only_opens_on_a_2d_scene() {
    let lesson = |scene: &str| {
        format!(
            "(\n    title: \"t\",\n    steps: [\n        (\n            caption: \"c\",\n            scene: \"../scenes/{scene}\",\n            paint: true,\n        ),\n    ],\n)\n"
        )
    };
    // The mystery question mark is 3-D: line 7 holds `paint`.
    let e = problem(&lesson("mystery_overlap.ron"));
    assert!(e.contains("probe.ron:7:13: the brush cannot open here: the scene is 3-D"), "{e}");
    let e = problem(&lesson("mlp_grid25.ron"));
    assert!(e.contains("probe.ron:7:13: the brush cannot open here: the scene trains a generator"), "{e}");
    let path = lessons_dir().join("probe.ron");
    let file = LessonFile::parse(&path, &lesson("two_moons_from_ring.ron")).expect("a 2-D scene can be painted");
    assert!(file.lesson.steps[0].paint);
}

#[test]
fn unusable_camera_angles_point_at_the_camera() {
    let text = "(\n    title: \"t\",\n    steps: [\n        (\n            caption: \"c\",\n            scene: \"../scenes/mystery_overlap.ron\",\n            view: (camera: Some((yaw_deg: 0.0, pitch_deg: 95.0))),\n        ),\n    ],\n)\n";
    let e = problem(text);
    assert!(e.contains("probe.ron:7:20: camera angles (0, 95) are not usable"), "{e}");
}

fn sdflow(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sdflow")).args(args).output().expect("sdflow runs");
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn shipped_lessons_hold() {
    let mut paths: Vec<String> = std::fs::read_dir(lessons_dir())
        .expect("lessons/ exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "ron"))
        .map(|p| p.display().to_string())
        .collect();
    paths.sort();
    assert!(paths.len() >= 2, "{paths:?}");
    let mut args = vec!["lesson", "check"];
    args.extend(paths.iter().map(String::as_str));
    let (code, text) = sdflow(&args);
    assert_eq!(code, 0, "{text}");
    assert!(!text.contains("FAILED"), "{text}");
}

/// Writes `text` into a temporary folder beside a copy of the scenes it names.
fn temp_lesson(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sdflow-lesson-test-{name}-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("lessons")).expect("temp dir");
    let text =
        text.replace("../scenes/", &format!("{}/", Path::new(env!("CARGO_MANIFEST_DIR")).join("scenes").display()));
    let path = dir.join("lessons").join("l.ron");
    std::fs::write(&path, text).expect("write lesson");
    path
}

#[test]
fn a_false_claim_fails_with_exit_1_and_is_named() {
    let path = temp_lesson(
        "false",
        &one_check("(claim: \"MMD beats SD here\", run: 1, metric: \"cfd\", step: 20, below_run: Some(0))"),
    );
    let (code, text) = sdflow(&["lesson", "check", &path.display().to_string()]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("FAILED MMD beats SD here: cfd of run 1 at step 20"), "{text}");
}

#[test]
fn a_broken_lesson_exits_2() {
    let path = temp_lesson("broken", &one_check("(claim: \"x\", run: 0, metric: \"cfd\", step: 5, nonsense: 1)"));
    let p = path.display().to_string();
    let (code, text) = sdflow(&["lesson", "check", &p]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("l.ron:9:"), "{text}");
    assert_eq!(sdflow(&["lesson", "validate", &p]).0, 2);
}
