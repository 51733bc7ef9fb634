//! Brush mode for 2-D scenes: paint the target or the source cloud with the
//! pointer, erase, clear, and turn the painted clouds into a scene.
//!
//! Painting works on a draft ([`PaintDraft`], a component of the focused
//! run): turning the brush on pauses the run, hides its points and copies the
//! scene's starting clouds into the draft (clear them to paint from empty).
//! Strokes arrive as [`BrushInput`] messages in scene coordinates, so the
//! painting itself runs headless; the window part ([`BrushWindowPlugin`])
//! turns the pointer into them, keeps the orbit camera off the left button
//! while the brush is on, and draws the brush as a circle.
//!
//! "Use painted clouds" ([`PaintRequest::Use`]) writes both clouds as CSV
//! into [`PaintFolder`], saves a scene whose target and source are those
//! files next to them, and loads it into the run: the painted clouds are
//! then a scene like any other, which reloads bit for bit.
//!
//! - `draft`: the draft and its editing, the brush settings, which scenes can be painted;
//! - `save`: the painted clouds and their scene on disk, all or nothing;
//! - `systems`: [`BrushPlugin`], requests, strokes, the paused run, the preview;
//! - `picking`: [`BrushWindowPlugin`], the pointer on the plane and the brush circle.

mod draft;
mod picking;
mod save;
mod systems;

pub use draft::{BrushSettings, PaintDraft, paint_blocker};
pub use picking::{BrushCursor, BrushWindowPlugin};
pub use systems::{
    BrushInput, BrushPlugin, BrushSystems, CloudColour, PAINT_DIR, PaintFolder, PaintNotice, PaintPoint, PaintRequest,
};
