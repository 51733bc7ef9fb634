//! The Playback panel at the top of the left panel: play, step, back to
//! step 0, the speed, the rate reached, and the timeline. Every change of
//! the playback goes out as a [`PlaybackCommand`] (or as the [`AppCommand`]
//! its key gives), never by writing [`Playback`].

use bevy::ecs::system::SystemParam;
use bevy::prelude::*;
use bevy_egui::egui::{self, RichText};

use super::state::Requests;
use super::timeline::{TimelineAction, timeline_ui};
use crate::app::controls::AppCommand;
use crate::app::run::{Playback, PlaybackCommand, RunProgress, RunTimeline};

/// What the Playback panel reads and sends.
#[derive(SystemParam)]
pub struct PlaybackPanel<'w> {
    playback: Res<'w, Playback>,
    time: Res<'w, Time<Real>>,
    commands: MessageWriter<'w, PlaybackCommand>,
}

/// What the playback controls ask for.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum PlaybackAction {
    /// A button that does what its key does (play / pause, step, back to 0).
    Command(AppCommand),
    /// The speed slider moved to this many steps per second.
    SetSpeed(f64),
}

impl PlaybackPanel<'_> {
    /// The controls and the timeline for the focused run (its `status` and
    /// recorded `history`).
    pub fn show(&mut self, ui: &mut egui::Ui, status: &RunProgress, history: &RunTimeline, out: &mut Requests) {
        let rate = status.rate.rate(self.time.elapsed_secs_f64());
        for action in playback_ui(ui, &self.playback, status, rate) {
            match action {
                PlaybackAction::Command(command) => out.app(command),
                PlaybackAction::SetSpeed(speed) => {
                    self.commands.write(PlaybackCommand::SetSpeed(speed));
                }
            }
        }
        let shown = self.playback.seek_to.unwrap_or(status.step_index);
        if let Some(TimelineAction::Seek(step)) = timeline_ui(ui, shown, history.0.as_ref()) {
            self.commands.write(PlaybackCommand::SeekTo(step));
        }
    }
}

/// Play, step, restart and the speed; returns what was clicked or moved.
pub fn playback_ui(ui: &mut egui::Ui, playback: &Playback, status: &RunProgress, rate: f64) -> Vec<PlaybackAction> {
    let mut actions = Vec::new();
    let mut speed = playback.steps_per_second;
    ui.horizontal(|ui| {
        let label = if playback.playing { "Pause" } else { "Play" };
        if ui.button(label).on_hover_text(AppCommand::PlayPause.tooltip()).clicked() {
            actions.push(PlaybackAction::Command(AppCommand::PlayPause));
        }
        if ui
            .add_enabled(!status.finished, egui::Button::new("Step"))
            .on_hover_text(AppCommand::Step.tooltip())
            .clicked()
        {
            actions.push(PlaybackAction::Command(AppCommand::Step));
        }
        if ui.button("Back to step 0").on_hover_text(AppCommand::BackToStart.tooltip()).clicked() {
            actions.push(PlaybackAction::Command(AppCommand::BackToStart));
        }
    });
    ui.horizontal(|ui| {
        ui.label("Steps/s");
        ui.add(egui::Slider::new(&mut speed, 1.0..=1000.0).logarithmic(true).max_decimals(0)).on_hover_text(
            "the rate asked for; the worker takes as many steps as fit, so slow steps or a busy core cap it",
        );
    });
    // Always one line, so nothing below moves when the run starts or stops.
    let reached =
        if playback.playing && !status.finished { format!("reached: {rate:.0} steps/s") } else { "reached: -".into() };
    ui.label(RichText::new(reached).weak())
        .on_hover_text("steps per second actually taken over the last second and a half");
    if speed != playback.steps_per_second {
        actions.push(PlaybackAction::SetSpeed(speed));
    }
    actions
}
