//! Writing a scene back to a RON file that [`SceneFile::parse`] reads to an
//! equal [`Scene`], in the presets' style: one field per line, nested values
//! on one line, optional fields written bare (`camera: (yaw_deg: 20.0, ..)`,
//! not `Some(..)`), and the fields presets leave out omitted while they hold
//! their serde default.

use std::path::{Component, Path, PathBuf};

use serde::{Serialize, Serializer};

use super::{Scene, SceneFile};
use crate::engine::metrics::CFD_FREQUENCIES;
use crate::engine::{Bandwidth, CutOff, Dataset, Direction, Driver, Method, Model, Rho, Schedule, StepSize};
use crate::export::{SaveError, put, write_atomic};

use super::CameraHint;

/// The scene as written: `None` fields are left out, `Some` ones written bare.
#[derive(Serialize)]
struct SceneOut<'a> {
    name: &'a str,
    description: &'a str,
    seed: u64,
    target: &'a Dataset,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "bare")]
    source: Option<&'a Dataset>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "bare")]
    model: Option<&'a Model>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "bare")]
    regression_steps: Option<usize>,
    method: Method,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "bare")]
    direction: Option<Direction>,
    schedule: Schedule,
    steps: usize,
    step_size: StepSize,
    batch: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "bare")]
    bandwidth: Option<Bandwidth>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "bare")]
    cutoff: Option<CutOff>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "bare")]
    rho: Option<Rho>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "bare")]
    cfd_frequencies: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "bare")]
    driver: Option<&'a Driver>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "bare")]
    camera: Option<CameraHint>,
}

/// Writes `Some(x)` as `x` (the reading side is `bare_some`).
fn bare<S: Serializer, T: Serialize>(value: &Option<T>, s: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(v) => v.serialize(s),
        None => s.serialize_none(),
    }
}

/// `Some(value)` unless it is the default a reader fills in.
fn unless<T: PartialEq>(value: T, default: T) -> Option<T> {
    (value != default).then_some(value)
}

impl Scene {
    /// The scene as pretty RON text that [`SceneFile::parse`] reads back to
    /// an equal scene.
    pub fn to_ron(&self) -> Result<String, ron::Error> {
        // Listing every field (no `..`) makes a new Scene field a compile
        // error here, so it cannot be silently dropped on save.
        let Scene {
            name,
            description,
            seed,
            target,
            source,
            model,
            regression_steps,
            method,
            direction,
            schedule,
            steps,
            step_size,
            batch,
            bandwidth,
            cutoff,
            rho,
            cfd_frequencies,
            driver,
            camera,
        } = self;
        let out = SceneOut {
            name,
            description,
            seed: *seed,
            target,
            source: source.as_ref(),
            model: model.as_ref(),
            regression_steps: unless(*regression_steps, 1),
            method: *method,
            // Generator scenes always move forward; presets leave it out there.
            direction: if model.is_some() { unless(*direction, Direction::Forward) } else { Some(*direction) },
            schedule: *schedule,
            steps: *steps,
            step_size: *step_size,
            batch: *batch,
            bandwidth: unless(*bandwidth, Bandwidth::default()),
            cutoff: unless(*cutoff, CutOff::default()),
            rho: unless(*rho, Rho::default()),
            cfd_frequencies: unless(*cfd_frequencies, CFD_FREQUENCIES),
            driver: (*driver != Driver::default()).then_some(driver),
            camera: *camera,
        };
        let config = ron::ser::PrettyConfig::new().depth_limit(1).escape_strings(false);
        Ok(ron::ser::to_string_pretty(&out, config)? + "\n")
    }
}

impl SceneFile {
    /// The scene with its CSV paths made absolute (they are relative to this
    /// file's folder), ready for [`save_scene`] to any other folder.
    pub fn resolved_scene(&self) -> Scene {
        let mut scene = self.scene.clone();
        let base = self.base_dir().to_path_buf();
        for data in std::iter::once(&mut scene.target).chain(scene.source.as_mut()) {
            if let Some(path) = data.file_path_mut()
                && Path::new(path.as_str()).is_relative()
            {
                let joined = base.join(path.as_str());
                let joined = lexical(&std::path::absolute(&joined).unwrap_or(joined));
                *path = joined.to_string_lossy().into_owned();
            }
        }
        scene
    }
}

/// Writes `scene` to `path` (atomically: a temporary file renamed into
/// place). CSV paths (taken relative to the current folder when relative,
/// see [`SceneFile::resolved_scene`]) are written relative to `path`'s folder
/// when the CSV lies under it, and absolute otherwise, so the saved scene
/// loads from wherever it was saved.
pub fn save_scene(path: &Path, scene: &Scene) -> Result<(), SaveError> {
    let folder = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let folder = lexical(&std::path::absolute(folder).map_err(|e| SaveError::io(path, e))?);
    let mut scene = scene.clone();
    for data in std::iter::once(&mut scene.target).chain(scene.source.as_mut()) {
        if let Some(csv) = data.file_path_mut() {
            let absolute = lexical(&std::path::absolute(csv.as_str()).map_err(|e| SaveError::io(path, e))?);
            *csv = match absolute.strip_prefix(&folder) {
                // Forward slashes: the scene then loads on every platform.
                Ok(relative) => {
                    relative.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
                }
                Err(_) => absolute.to_string_lossy().into_owned(),
            };
        }
    }
    let text = scene.to_ron().map_err(|e| SaveError::Encode { path: path.to_path_buf(), message: e.to_string() })?;
    write_atomic(path, |w| put(w, path, format_args!("{text}")))
}

/// `path` with `.` dropped and `..` applied, without touching the disk.
fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push(c);
                }
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Cloud;

    fn presets() -> Vec<PathBuf> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenes");
        let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
            .expect("scenes/")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "ron"))
            .collect();
        paths.sort();
        paths
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("sdflow-save-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        dir
    }

    #[test]
    fn every_preset_round_trips_through_to_ron() {
        let paths = presets();
        assert!(paths.len() >= 20, "found {} presets", paths.len());
        for path in paths {
            let file = SceneFile::read(&path).unwrap_or_else(|e| panic!("{e}"));
            let text = file.scene.to_ron().expect("serialises");
            let again = SceneFile::parse(&path, text.clone()).unwrap_or_else(|e| panic!("{e}\n{text}"));
            assert_eq!(again.scene, file.scene, "{}:\n{text}", path.display());
            // Only `batch` (a plain Option in the format) is written with `Some`.
            assert!(text.lines().filter(|l| l.contains("Some(")).all(|l| l.starts_with("    batch: ")), "{text}");
        }
    }

    #[test]
    fn the_presets_style_is_kept() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenes/swiss_to_mystery.ron");
        let file = SceneFile::read(&path).expect("preset");
        let text = file.scene.to_ron().expect("serialises");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "(");
        assert!(lines[1].starts_with("    name: \""), "{text}");
        assert!(lines[2].starts_with("    description: \""), "{text}");
        assert!(lines.contains(&"    camera: (yaw_deg: 20.0, pitch_deg: 55.0),"), "{text}");
        assert!(lines.contains(&"    batch: None,"), "{text}");
        assert!(lines.iter().any(|l| l.starts_with("    schedule: Cosine(sigma2_max: ")), "{text}");
        for omitted in ["cutoff", "rho", "driver", "bandwidth", "cfd_frequencies", "regression_steps"] {
            assert!(!text.contains(&format!("{omitted}:")), "{omitted} holds its default: {text}");
        }
    }

    #[test]
    fn non_default_fields_are_written_and_read_back() {
        let path = Path::new("scenes/all.ron");
        let text = r#"(
    name: "every field",
    description: "quotes \" and a backslash \\ and sigma²",
    seed: 9,
    target: Mystery(points: 300),
    source: Gaussian(points: 200, mean: [1.0, 2.0, 3.0], std: 0.5),
    method: Mmd,
    direction: Reverse,
    schedule: Geometric(sigma2_max: 3.0, sigma2_min: 0.25),
    steps: 7,
    step_size: Fixed(eta: 0.125),
    batch: Some(64),
    bandwidth: Fixed(sigma2: 2.0),
    cutoff: Off,
    cfd_frequencies: 32,
    camera: (yaw_deg: -10.0, pitch_deg: 30.0),
)"#;
        let file = SceneFile::parse(path, text.into()).unwrap_or_else(|e| panic!("{e}"));
        assert_ne!(file.scene.cutoff, CutOff::default(), "the test must set a non-default cut-off");
        let out = file.scene.to_ron().expect("serialises");
        for field in
            ["direction: Reverse", "bandwidth: Fixed(", "cutoff: Off", "cfd_frequencies: 32", "batch: Some(64)"]
        {
            assert!(out.contains(field), "{field} missing: {out}");
        }
        assert_eq!(SceneFile::parse(path, out.clone()).unwrap_or_else(|e| panic!("{e}\n{out}")).scene, file.scene);
    }

    /// Steps `file`'s run `steps` times and returns the moving cloud.
    fn run(file: &SceneFile, steps: usize) -> (crate::scene::Clouds, Cloud) {
        let clouds = file.clouds().unwrap_or_else(|e| panic!("{e}"));
        let mut sim = file.scene.simulation(&clouds, file.scene.seed);
        for _ in 0..steps {
            sim.step().expect("a step");
        }
        let moving = sim.moving().clone();
        (clouds, moving)
    }

    #[test]
    fn a_saved_scene_loads_back_to_the_same_run() {
        let dir = temp_dir("run");
        let preset = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenes/two_moons_from_ring.ron");
        let mut file = SceneFile::read(&preset).expect("preset");
        file.scene.target.set_points(150);
        file.scene.source.as_mut().expect("a source").set_points(120);
        let saved = dir.join("moons.ron");
        save_scene(&saved, &file.scene).expect("saved");
        let loaded = SceneFile::read(&saved).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(loaded.scene, file.scene);
        let (clouds_a, moved_a) = run(&file, 3);
        let (clouds_b, moved_b) = run(&loaded, 3);
        assert_eq!(clouds_a, clouds_b);
        assert_eq!(moved_a, moved_b);
        assert_ne!(moved_a, clouds_a.source, "the points moved");
        let leftovers: Vec<_> = std::fs::read_dir(&dir).expect("dir").map(|e| e.expect("entry").file_name()).collect();
        assert_eq!(leftovers, vec![std::ffi::OsString::from("moons.ron")], "no temporary file left");
    }

    #[test]
    fn csv_paths_become_relative_to_the_saved_file() {
        let dir = temp_dir("csv");
        std::fs::create_dir_all(dir.join("data")).expect("data dir");
        let target = Cloud::from_points(2, &[[0.0f32, 0.0], [1.0, 0.5], [0.25, -1.0], [0.5, 0.75]]);
        let source = Cloud::from_points(2, &[[3.0f32, 3.0], [2.5, 3.5], [3.25, 2.0]]);
        crate::scene::write_points(&dir.join("data/target.csv"), &target).expect("target csv");
        let outside = temp_dir("csv-outside").join("source.csv");
        crate::scene::write_points(&outside, &source).expect("source csv");
        let preset = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenes/two_moons_from_ring.ron");
        let mut scene = SceneFile::read(&preset).expect("preset").scene;
        scene.target = Dataset::Csv { path: dir.join("sub/../data/./target.csv").to_string_lossy().into_owned() };
        scene.source = Some(Dataset::Csv { path: outside.to_string_lossy().into_owned() });
        let saved = dir.join("painted.ron");
        save_scene(&saved, &scene).expect("saved");
        let text = std::fs::read_to_string(&saved).expect("written");
        assert!(text.contains("target: Csv(path: \"data/target.csv\")"), "{text}");
        assert!(text.contains(&format!("source: Csv(path: \"{}\")", outside.display())), "{text}");
        let loaded = SceneFile::read(&saved).unwrap_or_else(|e| panic!("{e}"));
        let clouds = loaded.clouds().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((clouds.target, clouds.source), (target, source));
        // Resolving makes the relative path absolute again, so a second save
        // elsewhere still finds the file.
        let resolved = loaded.resolved_scene();
        let elsewhere = temp_dir("csv-elsewhere").join("copy.ron");
        save_scene(&elsewhere, &resolved).expect("saved elsewhere");
        let copy = SceneFile::read(&elsewhere).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(run(&copy, 2).1, run(&loaded, 2).1);
    }

    #[test]
    fn saving_into_a_missing_folder_names_the_file() {
        let scene =
            SceneFile::read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("scenes/grid25.ron")).expect("preset").scene;
        let e = save_scene(Path::new("/no/such/folder/x.ron"), &scene).unwrap_err();
        assert!(e.to_string().starts_with("cannot write /no/such/folder/x.ron:"), "{e}");
    }

    #[test]
    fn lexical_paths() {
        assert_eq!(lexical(Path::new("/a/b/../c/./d")), PathBuf::from("/a/c/d"));
        assert_eq!(lexical(Path::new("a/../../b")), PathBuf::from("../b"));
    }
}
