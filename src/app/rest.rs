//! A paused or finished run costs next to nothing. While nothing moves (no
//! steps owed, no reply awaited, no auto-rotation, no recent input, no
//! screenshot pending), the window switches to Bevy's reactive update mode:
//! it redraws on input and otherwise once every 20 frame-times (1 to 10 s,
//! so a slow software renderer rests as well as a GPU; the idle redraw still
//! polls the scene file for edits). Anything that moves switches back to
//! continuous updates at once.
//!
//! While resting, egui's own redraw requests (it asks for one after most
//! frames, as a redraw message and as a wake-up event) are ignored: input
//! still wakes the window, and the panels redraw then.

use std::time::Duration;

use bevy::ecs::message::Messages;
use bevy::ecs::system::SystemParam;
use bevy::input::keyboard::KeyboardInput;
use bevy::input::mouse::{MouseButtonInput, MouseWheel};
use bevy::prelude::*;
use bevy::window::{CursorMoved, RequestRedraw};
use bevy::winit::{UpdateMode, WinitSettings};

use super::tools::screenshot::ScreenshotPlan;
use crate::app::run::{FlowWorker, Playback, RunLink, RunProgress};
use crate::app::view::ViewportRect;
use crate::app::view::clouds::ViewSettings;

/// Redraw interval while resting: this many times the cost of one update,
/// within [`REST_WAIT_MIN`, `REST_WAIT_MAX`], so resting costs at most 1/20
/// of a core.
pub const REST_WAIT_FRAMES: u32 = 20;
pub const REST_WAIT_MIN: Duration = Duration::from_secs(1);
pub const REST_WAIT_MAX: Duration = Duration::from_secs(10);
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

/// The update mode for an activity, given what one update costs.
pub fn update_mode(activity: &Activity, update_cost: Duration) -> UpdateMode {
    if activity.needs_frames() {
        UpdateMode::Continuous
    } else {
        UpdateMode::Reactive {
            wait: (update_cost * REST_WAIT_FRAMES).clamp(REST_WAIT_MIN, REST_WAIT_MAX),
            // Real input arrives as device events (raw keys and pointer).
            // egui asks for a repaint after almost every frame through a user
            // event (its wake-up), and every redraw brings window events
            // back: reacting to either would keep a resting window drawing.
            react_to_device_events: true,
            react_to_user_events: false,
            react_to_window_events: false,
        }
    }
}

/// What one whole update (rendering included) costs: the time between two
/// update starts while updating continuously.
#[derive(Resource, Default)]
struct UpdateCost {
    started: Option<std::time::Instant>,
    continuous: bool,
    last: Duration,
}

/// First: the previous update's full cost, when nothing waited in between.
fn measure_update(mut cost: ResMut<UpdateCost>) {
    let now = std::time::Instant::now();
    if let Some(started) = cost.started
        && cost.continuous
    {
        cost.last = now - started;
    }
    cost.started = Some(now);
}

pub struct RestPlugin;

impl Plugin for RestPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<UpdateCost>()
            .add_systems(First, measure_update.in_set(crate::app::schedule::AppSet::Input))
            .add_systems(Last, rest_when_idle.in_set(crate::app::schedule::AppSet::Ui));
    }
}

/// The user's input this frame (keys, buttons, wheel, pointer moves).
#[derive(SystemParam)]
struct UserInput<'w, 's> {
    keys: MessageReader<'w, 's, KeyboardInput>,
    buttons: MessageReader<'w, 's, MouseButtonInput>,
    wheel: MessageReader<'w, 's, MouseWheel>,
    cursor: MessageReader<'w, 's, CursorMoved>,
}

impl UserInput<'_, '_> {
    fn any(&mut self) -> bool {
        self.keys.read().count() + self.buttons.read().count() + self.wheel.read().count() + self.cursor.read().count()
            > 0
    }
}

/// What keeps frames coming: the runs, the worker and the view.
#[derive(SystemParam)]
struct Work<'w, 's> {
    playback: Res<'w, Playback>,
    runs: Query<'w, 's, (&'static RunProgress, &'static RunLink)>,
    worker: Res<'w, FlowWorker>,
    view: Res<'w, ViewSettings>,
    plan: Option<Res<'w, ScreenshotPlan>>,
    viewport: Res<'w, ViewportRect>,
}

fn rest_when_idle(
    work: Work,
    time: Res<Time<Real>>,
    mut input: UserInput,
    mut last_input: Local<f64>,
    mut settings: ResMut<WinitSettings>,
    mut redraws: ResMut<Messages<RequestRedraw>>,
    mut cost: ResMut<UpdateCost>,
) {
    let now = time.elapsed_secs_f64();
    if input.any() {
        *last_input = now;
    }
    let Work { playback, runs, worker, view, plan, viewport } = work;
    let activity = Activity {
        stepping: (playback.playing || playback.single_step)
            && runs.iter().any(|(s, _)| !s.finished)
            && worker.stopped().is_none(),
        waiting_for_worker: runs.iter().any(|(_, l)| l.busy()),
        auto_rotate: view.auto_rotate,
        // A new viewport (the panels changed size) is applied next frame.
        view_pending: view.fit_requested || plan.is_some() || viewport.is_changed(),
        seconds_since_input: now - *last_input,
    };
    let mode = update_mode(&activity, cost.last);
    cost.continuous = mode == UpdateMode::Continuous;
    if settings.focused_mode != mode {
        debug!("update mode {mode:?} ({activity:?})");
        settings.focused_mode = mode;
        settings.unfocused_mode = mode;
    }
    if !activity.needs_frames() {
        redraws.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rests_only_when_nothing_moves() {
        let idle = Activity { seconds_since_input: 10.0, ..default() };
        let ms = Duration::from_millis;
        let wait = |cost| match update_mode(&idle, cost) {
            UpdateMode::Reactive { wait, react_to_device_events: true, react_to_user_events: false, .. } => Some(wait),
            _ => None,
        };
        assert_eq!(wait(ms(10)), Some(REST_WAIT_MIN));
        assert_eq!(wait(ms(200)), Some(ms(4000)));
        assert_eq!(wait(ms(5000)), Some(REST_WAIT_MAX));
        for busy in [
            Activity { stepping: true, ..idle },
            Activity { waiting_for_worker: true, ..idle },
            Activity { auto_rotate: true, ..idle },
            Activity { view_pending: true, ..idle },
            Activity { seconds_since_input: 0.2, ..idle },
        ] {
            assert_eq!(update_mode(&busy, Duration::from_millis(10)), UpdateMode::Continuous, "{busy:?}");
        }
    }
}
