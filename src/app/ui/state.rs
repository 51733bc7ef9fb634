//! What the panels share: the focused run as they see it, every run in view
//! order, the UI's own state, the space left for the 3-D view, and the
//! writers of the two messages several panels send. Imports nothing from
//! the panels.

use bevy::ecs::system::SystemParam;
use bevy::prelude::*;

use crate::app::controls::AppCommand;
use crate::app::run::{
    ActiveScene, Draft, FixedPositions, Focused, MovingPositions, RunCurves, RunGan, RunGenerator, RunLink,
    RunProgress, RunTimeline, SceneRequest, ViewSlot,
};
use crate::app::view::arrows::ArrowScale;
use crate::app::view::clouds::CloudBounds;

/// State that belongs to the UI as a whole (each panel keeps its own).
#[derive(Resource, Debug, Default)]
pub struct UiState {
    /// Smoothed frames per second.
    pub fps: f64,
    /// A text field had the keyboard last frame.
    pub typing_last_frame: bool,
}

impl UiState {
    /// Smooths the frame rate over about 20 frames.
    pub fn count_frame(&mut self, dt: f64) {
        if dt > 0.0 {
            let fps = 1.0 / dt;
            self.fps = if self.fps == 0.0 { fps } else { 0.95 * self.fps + 0.05 * fps };
        }
    }
}

/// The focused run, as the panels see it. Only the Flow panel edits the
/// draft; the others get plain references to the parts they show.
#[derive(bevy::ecs::query::QueryData)]
#[query_data(mutable)]
pub struct FocusedRun {
    pub entity: Entity,
    pub active: &'static ActiveScene,
    pub draft: &'static mut Draft,
    pub progress: &'static RunProgress,
    pub curves: &'static RunCurves,
    pub gan: &'static RunGan,
    pub generator: &'static RunGenerator,
    pub timeline: &'static RunTimeline,
    pub moving: &'static MovingPositions,
    pub fixed: &'static FixedPositions,
    pub link: &'static RunLink,
    pub bounds: &'static CloudBounds,
}

/// Every run, for the plots and the status line.
#[derive(bevy::ecs::query::QueryData)]
pub struct RunView {
    pub entity: Entity,
    pub slot: &'static ViewSlot,
    pub active: &'static ActiveScene,
    pub progress: &'static RunProgress,
    pub curves: &'static RunCurves,
    pub link: &'static RunLink,
    pub focused: Has<Focused>,
    pub arrow_scale: Option<&'static ArrowScale>,
}

/// Every run, in the order of the views (slot), as legends, labels and the
/// status line list them.
pub fn runs_in_view_order<'a>(runs: &'a Query<RunView>) -> Vec<RunViewItem<'a, 'a>> {
    let mut v: Vec<_> = runs.iter().collect();
    v.sort_by_key(|r| r.slot.0);
    v
}

/// A run's name in legends: its view number and method.
pub fn run_label(slot: usize, active: &ActiveScene) -> String {
    format!("view {}: {}", slot + 1, active.scene().map_or("-", |s| s.method.name()))
}

/// A run's short name: its scene and method.
pub fn run_name(active: &ActiveScene) -> String {
    active.scene().map_or_else(|| "loading".into(), |s| format!("{} · {}", s.name, s.method.name()))
}

/// The messages more than one panel sends: scene requests for the focused
/// run (open, restart) and the commands the keys also give. Panels that
/// send them take this as `&mut`; every other message has one panel that
/// owns its writer.
#[derive(SystemParam)]
pub struct Requests<'w> {
    pub scene: MessageWriter<'w, SceneRequest>,
    pub app: MessageWriter<'w, AppCommand>,
}

impl Requests<'_> {
    pub fn scene(&mut self, request: SceneRequest) {
        self.scene.write(request);
    }

    pub fn app(&mut self, command: AppCommand) {
        self.app.write(command);
    }
}
