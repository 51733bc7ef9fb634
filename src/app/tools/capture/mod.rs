//! Screen capture of the view for slides: an animated GIF (or numbered PNG
//! frames) of N steps, one frame per step (the panel's Record button and
//! `--record PATH --after N`).
//!
//! Each time the runs reach a new step the window is captured
//! (`Screenshot::primary_window()`; the observer on `ScreenshotCaptured`
//! only copies the image into a channel). A thread of its own converts,
//! crops and encodes the frames, so no frame of the app ever waits for the
//! encoder. Stepping is gated by the capture: the flow may take step k + 1
//! only once the state after step k has been captured, and holds while the
//! encoder is more than `MAX_BACKLOG` frames behind, so every step gets
//! exactly one frame and memory stays bounded.
//!
//! The capture covers the 3-D view area only (the part of the window left
//! between the panels, all views in compare mode) unless the panel's "only
//! the 3-D view" box is cleared.
//!
//! - `book`: which state is the next frame, the backlog, frame order, the crop (pure);
//! - `frames`: the GIF or PNG files the frames go to (knows nothing of the app);
//! - `encoder`: the recorder thread that feeds them;
//! - `systems`: [`RecordingPlugin`], starting, capturing, finishing, `--record`.

mod book;
mod encoder;
mod frames;
mod systems;

pub use frames::RecordFormat;
pub use systems::{
    RECORDING_DIR, RecordPlan, RecordRequest, RecordSettings, Recording, RecordingPlugin, RecordingProgress,
    next_recording_path,
};
