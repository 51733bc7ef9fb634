//! The pure side of sharing: what each exported file holds and is called
//! (a run's moving points and its metric history as CSV), and the scene a
//! save or an opened CSV cloud makes. The systems copy the data off the ECS
//! and call these on the IO pool.

use std::path::{Path, PathBuf};

use crate::app::run::{ActiveScene, Draft};
use crate::app::worker::MetricSample;
use crate::engine::metrics::DIVERGENCE_COUNT as DIVERGENCES;
use crate::engine::{Cloud, Dataset, Direction, Divergences, Metrics};
use crate::scene::{Scene, SceneCloud, SceneFile};

/// Folder the exports go to unless another is chosen.
pub const EXPORT_DIR: &str = "exports";

/// A short file-name-safe form of a scene name: lowercase letters, digits
/// and single dashes ("Swiss roll -> mystery (Mmd)" -> "swiss-roll-mystery-mmd").
pub fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-').to_string();
    if out.is_empty() { "scene".into() } else { out }
}

/// The two export files of the run in view `slot` at `step`:
/// `<scene>-view<n>-step<k>-points.csv` and `<scene>-view<n>-history.csv`.
pub fn export_names(folder: &Path, scene_name: &str, slot: usize, step: usize) -> (PathBuf, PathBuf) {
    let stem = format!("{}-view{}", slug(scene_name), slot + 1);
    (folder.join(format!("{stem}-step{step}-points.csv")), folder.join(format!("{stem}-history.csv")))
}

/// Dimension of the cloud a scene moves, when the scene says it: the
/// generator's samples and a reverse flow's target live in the target's
/// space, a forward flow moves the source; the other cloud has the same
/// dimension.
pub fn moving_dim(scene: &Scene) -> Option<usize> {
    let source = scene.source.as_ref().and_then(Dataset::dim);
    let target = scene.target.dim();
    if scene.model.is_some() || scene.direction == Direction::Reverse { target.or(source) } else { source.or(target) }
}

/// The moving cloud from its display positions (x, y, z per point): the
/// first `dim` coordinates for clouds of up to 3 dimensions (exact: the
/// display copies them), all three shown ones beyond. Unknown dimension
/// (both clouds from CSV): 2 when every z is 0, else 3. Returns the cloud
/// and whether coordinates were left out.
pub fn moving_cloud(positions: &[f32], dim: Option<usize>) -> (Cloud, bool) {
    let flat = positions.chunks_exact(3).all(|p| p[2] == 0.0);
    let dim = dim.unwrap_or(if flat { 2 } else { 3 });
    let kept = dim.clamp(1, 3);
    let data: Vec<f32> = positions.chunks_exact(3).flat_map(|p| p[..kept].iter().copied()).collect();
    (Cloud::new(kept, data), dim > 3)
}

/// The metric history as CSV: `step`, `cfd`, `outlier_fraction` (the CLI's
/// names), then the divergences' columns, one row per step that has any of
/// them; a value not evaluated at a step is left empty.
pub fn history_table(
    history: &[MetricSample],
    divergences: &[(usize, [f64; DIVERGENCES])],
) -> (Vec<&'static str>, Vec<Vec<String>>) {
    let mut header = vec!["step", Metrics::NAMES[0], Metrics::NAMES[1]];
    let with_divergences = !divergences.is_empty();
    if with_divergences {
        header.extend(Divergences::NAMES);
    }
    let mut steps: Vec<usize> = history.iter().map(|s| s.step).chain(divergences.iter().map(|d| d.0)).collect();
    steps.sort_unstable();
    steps.dedup();
    let rows = steps
        .into_iter()
        .map(|step| {
            let mut row = vec![step.to_string()];
            match history.iter().rev().find(|s| s.step == step) {
                Some(s) => row.extend([s.cfd.to_string(), s.outlier_fraction.to_string()]),
                None => row.extend([String::new(), String::new()]),
            }
            if with_divergences {
                match divergences.iter().rev().find(|d| d.0 == step) {
                    Some((_, values)) => row.extend(values.iter().map(f64::to_string)),
                    None => row.extend(std::iter::repeat_n(String::new(), DIVERGENCES)),
                }
            }
            row
        })
        .collect();
    (header, rows)
}

/// One run's data to export, copied off the ECS.
#[derive(Debug, Clone)]
pub struct RunExport {
    pub slot: usize,
    pub scene_name: String,
    pub step: usize,
    pub positions: Vec<f32>,
    pub dim: Option<usize>,
    pub history: Vec<MetricSample>,
    pub divergences: Vec<(usize, [f64; DIVERGENCES])>,
}

/// Writes each run's two files into `folder` (created if missing); returns
/// what the status line says.
pub fn export_runs(folder: &Path, runs: &[RunExport]) -> Result<String, String> {
    std::fs::create_dir_all(folder).map_err(|e| format!("cannot create the folder {}: {e}", folder.display()))?;
    let mut written = Vec::new();
    let mut partial = Vec::new();
    for run in runs {
        let (points_path, history_path) = export_names(folder, &run.scene_name, run.slot, run.step);
        let (cloud, cut) = moving_cloud(&run.positions, run.dim);
        crate::scene::write_points(&points_path, &cloud).map_err(|e| e.to_string())?;
        let (header, rows) = history_table(&run.history, &run.divergences);
        crate::export::history::write_history_csv(&history_path, &header, rows).map_err(|e| e.to_string())?;
        if cut {
            partial.push(format!(
                "view {}: the first 3 of {} coordinates, as shown",
                run.slot + 1,
                run.dim.unwrap_or(0)
            ));
        }
        written.extend([points_path, history_path]);
    }
    let shown = std::path::absolute(folder).unwrap_or_else(|_| folder.to_path_buf());
    let mut message = format!("exported {} files to {}", written.len(), shown.display());
    if !partial.is_empty() {
        message += &format!(" ({})", partial.join("; "));
    }
    Ok(message)
}

/// The scene to save for a run: the edited draft (with its seed), with CSV
/// paths made absolute so the file loads from wherever it is saved.
pub fn scene_to_save(active: &ActiveScene, draft: &Draft) -> Option<Scene> {
    let scene = draft.scene.clone().or_else(|| active.scene().cloned())?;
    Some(match &active.file {
        Some(file) => SceneFile { path: file.path.clone(), text: String::new(), scene }.resolved_scene(),
        None => scene,
    })
}

/// The focused run's scene with one cloud replaced by a CSV file (absolute
/// path), or why that cannot be.
pub fn scene_with_csv(scene: &Scene, path: &Path, role: SceneCloud) -> Result<Scene, String> {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let data = Dataset::Csv { path: absolute.to_string_lossy().into_owned() };
    let mut scene = scene.clone();
    match role {
        SceneCloud::Target => scene.target = data,
        SceneCloud::Source => match &mut scene.source {
            Some(source) => *source = data,
            None => {
                return Err(format!(
                    "{}: this scene has no source cloud (a generator moves its own samples); open the CSV as the target",
                    path.display()
                ));
            }
        },
    }
    Ok(scene)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_file_safe_and_say_scene_view_and_step() {
        assert_eq!(slug("Swiss roll -> mystery (Mmd)"), "swiss-roll-mystery-mmd");
        assert_eq!(slug("  ??  "), "scene");
        let (points, history) = export_names(Path::new("out"), "Two moons", 1, 40);
        assert_eq!(points, Path::new("out/two-moons-view2-step40-points.csv"));
        assert_eq!(history, Path::new("out/two-moons-view2-history.csv"));
    }

    #[test]
    fn the_moving_cloud_keeps_the_scene_dimension() {
        let shown = [1.0, 2.0, 0.0, 3.0, 4.0, 0.0];
        let (two, cut) = moving_cloud(&shown, Some(2));
        assert_eq!((two.dim(), two.as_slice(), cut), (2, &[1.0, 2.0, 3.0, 4.0][..], false));
        assert_eq!(moving_cloud(&shown, None).0.dim(), 2);
        assert_eq!(moving_cloud(&[1.0, 2.0, 0.5], None).0.dim(), 3);
        let (wide, cut) = moving_cloud(&[1.0, 2.0, 0.5], Some(50));
        assert_eq!((wide.dim(), cut), (3, true));
        assert_eq!(moving_cloud(&[7.0, 0.0, 0.0], Some(1)).0.as_slice(), &[7.0]);
    }

    #[test]
    fn the_history_joins_metrics_and_divergences_by_step() {
        let history = [
            MetricSample { step: 0, cfd: 0.5, outlier_fraction: 0.25 },
            MetricSample { step: 1, cfd: 0.4, outlier_fraction: 0.125 },
        ];
        let (header, rows) = history_table(&history, &[]);
        assert_eq!(header, ["step", "cfd", "outlier_fraction"]);
        assert_eq!(rows, [vec!["0", "0.5", "0.25"], vec!["1", "0.4", "0.125"]]);
        let mut values = [0.0; DIVERGENCES];
        values[0] = 1.5;
        let (header, rows) = history_table(&history, &[(0, values), (3, values)]);
        assert_eq!(header.len(), 3 + DIVERGENCES);
        assert_eq!(header[3], Divergences::NAMES[0]);
        assert_eq!(rows.len(), 3, "steps 0, 1 and 3");
        assert_eq!(rows[0][3], "1.5");
        assert_eq!(rows[1][3], "", "no divergences at step 1");
        assert_eq!((rows[2][0].as_str(), rows[2][1].as_str()), ("3", ""), "no metrics at step 3");
        assert!(rows.iter().all(|r| r.len() == header.len()));
    }
}
