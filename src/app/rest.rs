//! A paused or finished run costs next to nothing. While nothing moves (no
//! steps owed, no reply awaited, no auto-rotation, no recent input, no
//! screenshot pending), the window switches to Bevy's reactive update mode:
//! it redraws on input and otherwise about once a second (which still polls
//! the scene file for edits). Anything that moves switches back to
//! continuous updates at once.

use std::time::Duration;

use bevy::input::keyboard::KeyboardInput;
use bevy::input::mouse::{MouseButtonInput, MouseWheel};
use bevy::prelude::*;
use bevy::window::CursorMoved;
use bevy::winit::{UpdateMode, WinitSettings};

use super::input::ScreenshotPlan;
use super::render::ViewSettings;
use super::simulation::{Playback, RunStatus, WorkerLink};

/// Redraw interval while resting.
pub const REST_WAIT: Duration = Duration::from_secs(1);
/// After the last input, keep drawing this long (camera smoothing, hovers).
pub const AFTER_INPUT: f64 = 1.5;

/// What decides whether the window must keep drawing.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Activity {
    /// The run takes steps (playing, not finished), or is about to.
    pub stepping: bool,
    /// A reply from the worker is awaited.
    pub waiting_for_worker: bool,
    pub auto_rotate: bool,
    /// A view fit or a screenshot still needs frames.
    pub view_pending: bool,
    pub seconds_since_input: f64,
}

impl Activity {
    pub fn needs_frames(&self) -> bool {
        self.stepping
            || self.waiting_for_worker
            || self.auto_rotate
            || self.view_pending
            || self.seconds_since_input < AFTER_INPUT
    }
}

/// The update mode for an activity.
pub fn update_mode(activity: &Activity) -> UpdateMode {
    if activity.needs_frames() { UpdateMode::Continuous } else { UpdateMode::reactive(REST_WAIT) }
}

pub struct RestPlugin;

impl Plugin for RestPlugin {
    fn build(&self, app: &mut App) {
        app.add_systems(Last, rest_when_idle);
    }
}

#[allow(clippy::too_many_arguments)]
fn rest_when_idle(
    playback: Res<Playback>,
    status: Res<RunStatus>,
    link: Res<WorkerLink>,
    view: Res<ViewSettings>,
    plan: Option<Res<ScreenshotPlan>>,
    time: Res<Time<Real>>,
    mut keys: MessageReader<KeyboardInput>,
    mut buttons: MessageReader<MouseButtonInput>,
    mut wheel: MessageReader<MouseWheel>,
    mut cursor: MessageReader<CursorMoved>,
    mut last_input: Local<f64>,
    mut settings: ResMut<WinitSettings>,
) {
    let now = time.elapsed_secs_f64();
    let input = keys.read().count() + buttons.read().count() + wheel.read().count() + cursor.read().count();
    if input > 0 {
        *last_input = now;
    }
    let activity = Activity {
        stepping: (playback.playing || playback.single_step) && !status.finished && link.stopped().is_none(),
        waiting_for_worker: link.busy(),
        auto_rotate: view.auto_rotate,
        view_pending: view.fit_requested || plan.is_some(),
        seconds_since_input: now - *last_input,
    };
    let mode = update_mode(&activity);
    if settings.focused_mode != mode {
        settings.focused_mode = mode;
        settings.unfocused_mode = mode;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rests_only_when_nothing_moves() {
        let idle = Activity { seconds_since_input: 10.0, ..default() };
        assert!(matches!(update_mode(&idle), UpdateMode::Reactive { .. }));
        for busy in [
            Activity { stepping: true, ..idle },
            Activity { waiting_for_worker: true, ..idle },
            Activity { auto_rotate: true, ..idle },
            Activity { view_pending: true, ..idle },
            Activity { seconds_since_input: 0.2, ..idle },
        ] {
            assert_eq!(update_mode(&busy), UpdateMode::Continuous, "{busy:?}");
        }
    }
}
