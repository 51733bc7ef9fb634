//! Sharing from the window, without the window: saving the focused run's
//! edited scene as RON, exporting every run's moving points and metric
//! history as CSV, and opening a CSV cloud into the focused run.
//!
//! [`ShareRequest`]s are turned into file jobs here: the data is copied on
//! the frame (cheap), the files are written on Bevy's IO task pool (each
//! write is atomic and syncs to disk, which may take a while), and the
//! outcome lands in [`ShareLog`], which the status line shows.
//!
//! - `files`: what each file holds and is called, the scenes a save or a CSV makes (pure);
//! - `systems`: [`SharePlugin`], the requests, the jobs and their log.

mod files;
mod systems;

pub use files::{EXPORT_DIR, slug};
pub use systems::{NOTICE_SECONDS, Opened, ShareJobs, ShareLog, SharePlugin, ShareRequest, open_request};
