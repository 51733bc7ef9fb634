//! Files the app and the CLI write for sharing: per-step metric CSV, animated
//! GIFs and numbered PNG frames. No Bevy: everything takes plain data, so the
//! headless tests cover it. Every write goes to a temporary file next to the
//! target and is renamed into place, so a failed or interrupted write never
//! leaves a half-written file under the chosen name.

pub mod gif;
pub mod history;

pub use gif::{GifOptions, GifRecorder, write_png, write_png_frame};

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Why a file could not be written. The message names the file and, where
/// the data is at fault, what to change.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    // The reason is part of the message, not a `source`: error chains
    // printed with `{:#}` would otherwise say it twice.
    #[error("cannot write {}: {reason}", path.display())]
    Io { path: PathBuf, reason: std::io::Error },
    #[error("cannot write {}: point {point} has the coordinate {value}; only finite points within ±1e15 can be saved", path.display())]
    NotFinite { path: PathBuf, point: usize, value: f32 },
    #[error("cannot write {}: {message}", path.display())]
    Encode { path: PathBuf, message: String },
    #[error("cannot write {}: {message}", path.display())]
    Frame { path: PathBuf, message: String },
}

impl SaveError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        SaveError::Io { path: path.to_path_buf(), reason: source }
    }
}

/// A temporary file beside `path` (same folder, so the rename is atomic),
/// unique to this process and call so parallel saves do not collide.
pub(crate) fn temp_path(path: &Path) -> PathBuf {
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let name = path.file_name().map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned());
    let k = COUNT.fetch_add(1, Ordering::Relaxed);
    path.with_file_name(format!(".{name}.{}-{k}.tmp", std::process::id()))
}

/// Writes `path` through `write` into a temporary file, then renames it into
/// place; on any error the temporary file is removed and `path` is untouched.
pub(crate) fn write_atomic(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<File>) -> Result<(), SaveError>,
) -> Result<(), SaveError> {
    let temp = temp_path(path);
    let result = (|| {
        let mut w = BufWriter::new(File::create(&temp).map_err(|e| SaveError::io(path, e))?);
        write(&mut w)?;
        let file = w.into_inner().map_err(|e| SaveError::io(path, e.into_error()))?;
        file.sync_all().map_err(|e| SaveError::io(path, e))?;
        std::fs::rename(&temp, path).map_err(|e| SaveError::io(path, e))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

/// `write!` into a file being saved at `path`, with the error naming it.
pub(crate) fn put(w: &mut impl Write, path: &Path, text: std::fmt::Arguments<'_>) -> Result<(), SaveError> {
    w.write_fmt(text).map_err(|e| SaveError::io(path, e))
}
