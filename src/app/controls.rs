//! Every action a key or a button can take, in one list ([`CONTROLS`]): the
//! key handling, the help overlay and the buttons' tooltips all read it, so
//! they cannot disagree. Keys and buttons send the same [`AppCommand`]
//! message; [`apply_commands`] carries it out.
//!
//! Shortcuts never fire while a text field has the keyboard
//! ([`KeyboardCapture`], written by the UI from egui's focus).

use bevy::ecs::system::SystemParam;
use bevy::prelude::*;

use super::lesson::{LessonCommand, Presenter};
use super::run::{PlaybackCommand, SimRequest};
use super::view::clouds::{CloudBounds, ViewSettings};

/// One thing the user can ask for.
#[derive(Message, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AppCommand {
    PlayPause,
    Step,
    StepBack,
    BackToStart,
    FitView,
    AutoRotate,
    Screenshot,
    ToggleHelp,
    CloseHelp,
    /// The lesson's next step (also Page Down, what clickers send).
    NextLessonStep,
    /// The lesson's previous step (also Page Up).
    PrevLessonStep,
    /// Presenter mode on / off.
    Presenter,
}

/// A command with its key and what it does, for the help and tooltips.
#[derive(Debug, Clone, Copy)]
pub struct Control {
    pub command: AppCommand,
    pub key: KeyCode,
    pub key_label: &'static str,
    pub what: &'static str,
}

/// Every keyboard shortcut.
pub const CONTROLS: [Control; 14] = [
    Control { command: AppCommand::PlayPause, key: KeyCode::Space, key_label: "Space", what: "play / pause" },
    Control {
        command: AppCommand::Step,
        key: KeyCode::ArrowRight,
        key_label: "Right arrow",
        what: "one step (pauses first)",
    },
    Control {
        command: AppCommand::StepBack,
        key: KeyCode::ArrowLeft,
        key_label: "Left arrow",
        what: "one step back, through the recorded history (pauses first)",
    },
    Control {
        command: AppCommand::BackToStart,
        key: KeyCode::KeyR,
        key_label: "R",
        what: "back to step 0 (same clouds, same settings)",
    },
    Control { command: AppCommand::FitView, key: KeyCode::KeyF, key_label: "F", what: "fit the view to both clouds" },
    Control {
        command: AppCommand::AutoRotate,
        key: KeyCode::KeyA,
        key_label: "A",
        what: "slow auto-rotation on / off (3-D scenes)",
    },
    Control {
        command: AppCommand::Screenshot,
        key: KeyCode::KeyS,
        key_label: "S",
        what: "save a screenshot to screenshots/",
    },
    Control { command: AppCommand::ToggleHelp, key: KeyCode::KeyH, key_label: "H", what: "show / hide this help" },
    Control { command: AppCommand::CloseHelp, key: KeyCode::Escape, key_label: "Esc", what: "close this help" },
    Control { command: AppCommand::NextLessonStep, key: KeyCode::KeyN, key_label: "N", what: "next lesson step" },
    Control {
        command: AppCommand::NextLessonStep,
        key: KeyCode::PageDown,
        key_label: "Page Down",
        what: "next lesson step (a presentation clicker)",
    },
    Control { command: AppCommand::PrevLessonStep, key: KeyCode::KeyB, key_label: "B", what: "previous lesson step" },
    Control {
        command: AppCommand::PrevLessonStep,
        key: KeyCode::PageUp,
        key_label: "Page Up",
        what: "previous lesson step (a presentation clicker)",
    },
    Control {
        command: AppCommand::Presenter,
        key: KeyCode::F5,
        key_label: "F5",
        what: "presenter mode: larger text, thicker points, panels folded",
    },
];

/// The mouse, for the help overlay.
pub const MOUSE_HELP: (&str, &str) = ("Mouse", "left drag: orbit, right drag: pan, wheel: zoom (small, even steps)");

impl AppCommand {
    /// The control entry of this command.
    pub fn control(self) -> Option<&'static Control> {
        CONTROLS.iter().find(|c| c.command == self)
    }

    /// "what it does (key)", for a button's tooltip.
    pub fn tooltip(self) -> String {
        self.control().map_or_else(String::new, |c| format!("{} ({})", c.what, c.key_label))
    }
}

/// Whether a text field has the keyboard (then shortcuts are off). The UI
/// writes it each frame; headless apps leave it false.
#[derive(Resource, Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct KeyboardCapture {
    pub text_field_focused: bool,
    /// The file dialog is open (it has keys of its own).
    pub dialog_open: bool,
}

/// Whether the keys help overlay is open.
#[derive(Resource, Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct HelpOverlay(pub bool);

/// Keys and commands; works headless (tests press keys on `ButtonInput`).
pub struct ControlsPlugin;

impl Plugin for ControlsPlugin {
    fn build(&self, app: &mut App) {
        app.add_message::<AppCommand>()
            .init_resource::<KeyboardCapture>()
            .init_resource::<HelpOverlay>()
            .init_resource::<ButtonInput<KeyCode>>()
            .add_systems(Update, keyboard_commands.run_if(not_typing).in_set(crate::app::schedule::AppSet::Input))
            .add_systems(Update, apply_commands.in_set(crate::app::schedule::AppSet::Requests));
    }
}

/// Run condition: no text field has the keyboard.
pub fn not_typing(capture: Res<KeyboardCapture>) -> bool {
    !capture.text_field_focused && !capture.dialog_open
}

/// Turns pressed shortcut keys into commands.
pub fn keyboard_commands(keys: Res<ButtonInput<KeyCode>>, mut commands: MessageWriter<AppCommand>) {
    for control in &CONTROLS {
        if keys.just_pressed(control.key) {
            commands.write(control.command);
        }
    }
}

/// The messages commands turn into.
#[derive(SystemParam)]
pub struct CommandTargets<'w> {
    playback: MessageWriter<'w, PlaybackCommand>,
    requests: MessageWriter<'w, SimRequest>,
    lesson: MessageWriter<'w, LessonCommand>,
}

/// Carries out commands from keys and buttons (the screenshot is taken by
/// the input plugin, which has the window).
pub fn apply_commands(
    mut commands: MessageReader<AppCommand>,
    out: CommandTargets,
    mut view: ResMut<ViewSettings>,
    mut help: ResMut<HelpOverlay>,
    mut presenter: ResMut<Presenter>,
    bounds: Query<&CloudBounds>,
) {
    let CommandTargets { mut playback, mut requests, mut lesson } = out;
    for command in commands.read() {
        match command {
            AppCommand::PlayPause => {
                playback.write(PlaybackCommand::Toggle);
            }
            AppCommand::Step => {
                playback.write(PlaybackCommand::Step);
            }
            AppCommand::StepBack => {
                playback.write(PlaybackCommand::StepBack);
            }
            AppCommand::BackToStart => {
                requests.write(SimRequest::Reset);
            }
            AppCommand::FitView => view.fit_requested = true,
            AppCommand::AutoRotate => {
                if !bounds.iter().all(|b| b.flat) {
                    view.auto_rotate = !view.auto_rotate;
                }
            }
            AppCommand::ToggleHelp => help.0 = !help.0,
            AppCommand::CloseHelp => help.0 = false,
            AppCommand::Screenshot => {}
            AppCommand::NextLessonStep => {
                lesson.write(LessonCommand::Next);
            }
            AppCommand::PrevLessonStep => {
                lesson.write(LessonCommand::Back);
            }
            AppCommand::Presenter => presenter.0 = !presenter.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_has_one_command_and_only_lesson_steps_have_two_keys() {
        // Lesson steps also answer Page Down / Page Up, what clickers send.
        let clicker = [AppCommand::NextLessonStep, AppCommand::PrevLessonStep];
        for (i, a) in CONTROLS.iter().enumerate() {
            for b in &CONTROLS[i + 1..] {
                assert_ne!(a.key, b.key, "{} and {} share a key", a.key_label, b.key_label);
                if a.command == b.command {
                    assert!(clicker.contains(&a.command), "{:?} has two keys", a.command);
                }
            }
        }
        assert_eq!(AppCommand::BackToStart.tooltip(), "back to step 0 (same clouds, same settings) (R)");
    }
}
