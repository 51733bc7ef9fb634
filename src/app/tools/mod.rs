//! The app's tools: what the user does with a scene besides running it.
//!
//! - [`brush`]: paint or erase the target and source clouds of a 2-D scene
//!   and turn them into a scene of CSV clouds;
//! - [`share`]: save the edited scene, export every run's points and metric
//!   history as CSV, open a CSV cloud into a run;
//! - [`capture`]: capture the view, one frame per step, into an animated GIF
//!   or numbered PNG frames (`--record`);
//! - [`screenshot`]: save the window as a PNG (key S, `--screenshot`).
//!
//! The brush and the CSV opening both pick one of a scene's two clouds with
//! [`crate::scene::SceneCloud`]. Each tool's files import their siblings
//! and other tools' modules, never this one.

pub mod brush;
pub mod capture;
pub mod screenshot;
pub mod share;

pub use brush::{BrushInput, BrushPlugin, BrushSettings, BrushWindowPlugin, PaintDraft, PaintPoint, PaintRequest};
pub use capture::{RecordPlan, RecordRequest, Recording, RecordingPlugin};
pub use screenshot::{ScreenshotLog, ScreenshotPlan, ScreenshotPlugin};
pub use share::{Opened, ShareLog, SharePlugin, ShareRequest, open_request};
