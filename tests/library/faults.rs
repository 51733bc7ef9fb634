//! Output that cannot be written: the CLI says which file and why, exits
//! non-zero, and leaves no file (whole or partial, or a temporary one)
//! behind. The folder here is a regular file, which refuses writes even to
//! root; .ci/faults.sh adds a read-only mount and a full disk.

use std::path::{Path, PathBuf};
use std::process::Command;

use sdflow::engine::Cloud;
use sdflow::export::write_png;
use sdflow::scene::write_points;

/// A folder holding one regular file, `not-a-folder`.
fn blocked_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sdflow-faults-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(dir.join("not-a-folder"), b"").expect("a file");
    dir
}

/// Everything in `dir` but the blocking file.
fn left_behind(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("listable")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n != "not-a-folder")
        .collect()
}

#[test]
fn unwritable_outputs_of_run_are_refused_with_the_file_named() {
    let dir = blocked_dir("run");
    for (flag, file) in [("--points", "p.csv"), ("--metrics", "m.csv"), ("--plot", "c.png")] {
        let out = dir.join("not-a-folder").join(file);
        let result = Command::new(env!("CARGO_BIN_EXE_sdflow"))
            .args(["run", "scenes/swiss_to_mystery.ron", "--steps", "2", "--quiet", flag])
            .arg(&out)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("sdflow runs");
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert!(!result.status.success(), "{flag}: exit 0 although {} cannot be written", out.display());
        assert!(stderr.contains(&out.display().to_string()), "{flag}: the message does not name the file: {stderr}");
        assert!(stderr.to_lowercase().contains("not a directory"), "{flag}: the message does not say why: {stderr}");
        assert!(!stderr.contains("panicked"), "{flag}: {stderr}");
    }
    assert_eq!(left_behind(&dir), Vec::<String>::new());
}

#[test]
fn library_writers_leave_nothing_behind_on_failure() {
    let dir = blocked_dir("lib");
    let cloud = Cloud::new(2, vec![1.0, 2.0, 3.0, 4.0]);
    let csv = dir.join("not-a-folder").join("p.csv");
    let e = write_points(&csv, &cloud).expect_err("cannot write into a file");
    assert!(e.to_string().contains(&csv.display().to_string()), "{e}");
    let png = dir.join("not-a-folder").join("s.png");
    let e = write_png(&png, 2, 1, &[0; 8]).expect_err("cannot write into a file");
    assert!(e.to_string().contains(&png.display().to_string()), "{e}");
    // Refused data never creates a file either.
    let e = write_png(&dir.join("short.png"), 2, 2, &[0; 8]).expect_err("too few pixels");
    assert!(e.to_string().contains("short.png"), "{e}");
    assert_eq!(left_behind(&dir), Vec::<String>::new());
}
