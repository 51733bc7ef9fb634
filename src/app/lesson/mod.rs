//! The lesson player: a lesson file (see [`crate::lesson`]) played in the
//! window, one step at a time. Each step opens its runs through the same
//! messages as the panels (scene and run requests, playback commands), so
//! leaving a lesson leaves the lab exactly as the lesson left it.
//!
//! - [`player`]: the open lesson, its step, the viewer's answer, and the
//!   [`LessonCommand`]s that move through it (buttons, N / B, Page Down /
//!   Page Up from a presentation clicker);
//! - [`claims`]: the step's checks, measured by the headless runner in the
//!   background with the scenes' seeds, shown once the runs reach them;
//! - [`presenter`]: presenter mode (F5): larger UI, thicker points.

mod claims;
mod player;
mod presenter;

pub use claims::{ClaimState, Claims};
pub use player::{InitialLesson, LESSON_DIR, LessonCommand, LessonList, LessonPlayer, OpenLesson, lesson_list};
pub use presenter::{PRESENTER_POINTS, PRESENTER_ZOOM, Presenter};

use bevy::prelude::*;

/// Lessons in the window (headless-capable).
pub struct LessonPlugin;

impl Plugin for LessonPlugin {
    fn build(&self, app: &mut App) {
        app.add_plugins((player::PlayerPlugin, claims::ClaimsPlugin, presenter::PresenterPlugin));
    }
}
