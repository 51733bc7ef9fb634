//! Loading a scene for Python: from a file (`from_scene`, as `sdflow run`
//! reads it) or from RON text that the Python layer builds out of keyword
//! arguments, where clouds given as arrays stand in for data sets.

use std::path::Path;

use pyo3::prelude::*;
use sdflow::engine::{Cloud, Dataset};
use sdflow::scene::{Clouds, SceneFile};

use crate::{scene_error, value_error};

/// A validated scene, its clouds and the seed of the run.
pub struct Loaded {
    pub file: SceneFile,
    pub clouds: Clouds,
    pub seed: u64,
    /// Read from a file, whose CSV paths are relative to its folder.
    pub on_disk: bool,
}

/// Reads `path` like `sdflow run PATH [--seed S] [--steps T]`.
pub fn from_file(py: Python<'_>, path: &Path, seed: Option<u64>, steps: Option<i64>) -> PyResult<Loaded> {
    let mut file = SceneFile::read(path).map_err(|e| scene_error(py, &e))?;
    override_steps(&mut file, steps)?;
    let seed = seed.unwrap_or(file.scene.seed);
    let clouds = file.clouds_with_seed(seed).map_err(|e| scene_error(py, &e))?;
    Ok(Loaded { file, clouds, seed, on_disk: true })
}

/// Parses scene `text` (errors name `label` as the file). `target` and
/// `source`, when given, replace the clouds of those fields, whose data set
/// in the text is then a placeholder (the Python layer writes `Csv(..)`).
pub fn from_text(
    py: Python<'_>,
    text: String,
    label: &str,
    target: Option<Cloud>,
    source: Option<Cloud>,
    steps: Option<i64>,
) -> PyResult<Loaded> {
    let mut file = SceneFile::parse(Path::new(label), text).map_err(|e| scene_error(py, &e))?;
    override_steps(&mut file, steps)?;
    let seed = file.scene.seed;
    // Generate what the text describes; an array side becomes a one-point
    // cloud of its dimension, so the scene's own dimension check (and its
    // message) covers arrays too. The array then takes its place.
    let mut stand_in = file.clone();
    let one_point = |c: &Cloud| Dataset::Gaussian { points: 1, mean: vec![0.0; c.dim()], std: 1.0 };
    if let Some(t) = &target {
        stand_in.scene.target = one_point(t);
    }
    if let (Some(s), Some(_)) = (&source, &stand_in.scene.source) {
        stand_in.scene.source = Some(one_point(s));
    }
    let mut clouds = stand_in.clouds_with_seed(seed).map_err(|e| scene_error(py, &e))?;
    if let Some(t) = target {
        clouds.target = t;
    }
    if let Some(s) = source {
        clouds.source = s;
    }
    Ok(Loaded { file, clouds, seed, on_disk: false })
}

fn override_steps(file: &mut SceneFile, steps: Option<i64>) -> PyResult<()> {
    if let Some(steps) = steps {
        file.scene.steps = at_least("steps", steps, 1)?;
    }
    Ok(())
}

/// `value` as a count of at least `min`, or a message naming `name`.
pub fn at_least(name: &str, value: i64, min: usize) -> PyResult<usize> {
    usize::try_from(value)
        .ok()
        .filter(|&v| v >= min)
        .ok_or_else(|| value_error(format!("`{name}` is {value}; give at least {min}")))
}

/// Refuses to hold `floats` f32 values when they exceed the memory
/// available (an allocation that fails would abort the interpreter).
/// `what` says what they are, `change` what to lower.
pub fn fits_in_memory(floats: f64, what: &str, change: &str) -> PyResult<()> {
    let (need, available) = (floats * 4.0, sdflow::scene::available_memory() as f64);
    if need > available {
        let gib = |b: f64| b / (1u64 << 30) as f64;
        return Err(value_error(format!(
            "{what} need about {:.1} GiB of memory but only {:.1} GiB is available; {change}",
            gib(need),
            gib(available)
        )));
    }
    Ok(())
}

/// The scene as run, as RON: the run's seed and step count, and (for
/// `show`) the clouds as the CSV files `target.csv` and `source.csv`.
pub fn scene_ron(loaded: &Loaded, csv_clouds: bool) -> PyResult<String> {
    let file = &loaded.file;
    let mut scene = if loaded.on_disk { file.resolved_scene() } else { file.scene.clone() };
    let seed = loaded.seed;
    scene.seed = seed;
    if csv_clouds {
        scene.target = Dataset::Csv { path: "target.csv".into() };
        if scene.source.is_some() {
            scene.source = Some(Dataset::Csv { path: "source.csv".into() });
        }
    }
    scene.to_ron().map_err(|e| value_error(format!("cannot write the scene as RON: {e}")))
}
