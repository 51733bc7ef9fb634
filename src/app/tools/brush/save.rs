//! "Use painted clouds" on disk: the draft's two clouds as CSV files and a
//! scene of them, written all or nothing (a failure removes what was
//! written, so no lone CSV is left behind).

use std::path::{Path, PathBuf};

use super::draft::{PaintDraft, next_paint_stem, painted_scene};
use crate::scene::{Scene, save_scene, write_points};

/// Writes the draft's clouds as `<stem>-target.csv` and `<stem>-source.csv`
/// and the scene of them as `<stem>.ron` in `folder`; returns the scene's
/// path and the scene (with absolute CSV paths).
pub fn write_painted(folder: &Path, base: &Scene, draft: &PaintDraft) -> Result<(PathBuf, Scene), String> {
    let (target, source) = draft.to_clouds();
    for (cloud, name) in [(&target, "target"), (&source, "source")] {
        if cloud.is_empty() {
            return Err(format!("the {name} is empty: paint at least one {name} point first"));
        }
    }
    std::fs::create_dir_all(folder).map_err(|e| format!("cannot create the folder {}: {e}", folder.display()))?;
    let folder = std::path::absolute(folder).unwrap_or_else(|_| folder.to_path_buf());
    let stem = next_paint_stem(&folder);
    let target_path = folder.join(format!("{stem}-target.csv"));
    let source_path = folder.join(format!("{stem}-source.csv"));
    let ron = folder.join(format!("{stem}.ron"));
    let written = (|| {
        write_points(&target_path, &target).map_err(|e| e.to_string())?;
        write_points(&source_path, &source).map_err(|e| e.to_string())?;
        let scene = painted_scene(base, &target_path, &source_path, (target.len(), source.len()));
        if let Some((_, problem)) = scene.problems().into_iter().next() {
            return Err(format!("the painted scene cannot run: {problem}"));
        }
        save_scene(&ron, &scene).map_err(|e| e.to_string())?;
        Ok(scene)
    })();
    match written {
        Ok(scene) => Ok((ron, scene)),
        Err(e) => {
            // All three files or none: a lone CSV would only confuse.
            for path in [&target_path, &source_path, &ron] {
                let _ = std::fs::remove_file(path);
            }
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn painted_files_get_fresh_names_and_an_empty_cloud_is_refused() {
        let dir = std::env::temp_dir().join(format!("sdflow-paint-names-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        assert_eq!(next_paint_stem(&dir), "painted-001");
        std::fs::write(dir.join("painted-001-source.csv"), "x").expect("write");
        assert_eq!(next_paint_stem(&dir), "painted-002");
        let scene = crate::scene::SceneFile::parse(
            Path::new("t.ron"),
            "(name: \"t\", target: Grid25(points: 5), source: Ring(points: 5), method: Sd, \
             schedule: Constant(sigma2: 1.0), steps: 10)"
                .into(),
        )
        .expect("parses")
        .scene;
        let draft = PaintDraft::new(vec![[0.0, 0.0]], Vec::new(), 0);
        let e = write_painted(&dir, &scene, &draft).unwrap_err();
        assert!(e.contains("source is empty"), "{e}");
        assert!(!dir.join("painted-002.ron").exists());
    }
}
