//! What the panels say about the run: the status line at the bottom, the
//! red boxes over the view (the flow stopped, a scene not loaded), the
//! title with the help button, and the help overlay.
//!
//! Layout rule: messages about the run live in the status line, so they
//! never push controls around.

use bevy::ecs::system::SystemParam;
use bevy::prelude::*;
use bevy_egui::egui::{self, Color32, RichText};

use super::share::status_notice_ui;
use super::state::{RunView, RunViewItem, run_name, runs_in_view_order};
use super::style::{BAD, WARN, egui_color, run_colour};
use crate::app::controls::{AppCommand, CONTROLS, HelpOverlay, MOUSE_HELP};
use crate::app::run::{
    ActiveScene, Draft, FlowWorker, Playback, RunLink, RunProgress, RunState, SceneErrors, ViewSlot,
};
use crate::app::tools::capture::Recording;
use crate::app::tools::screenshot::ScreenshotLog;
use crate::app::tools::share::ShareLog;
use crate::app::view::clouds::{FIXED_COLOR, MOVING_COLOR};

/// What the status line reads.
#[derive(SystemParam)]
pub struct StatusLine<'w, 's> {
    runs: Query<'w, 's, RunView>,
    playback: Res<'w, Playback>,
    worker: Res<'w, FlowWorker>,
    shots: Res<'w, ScreenshotLog>,
    recording: Res<'w, Recording>,
    log: Res<'w, ShareLog>,
    time: Res<'w, Time<Real>>,
}

/// The app-wide facts the status line shows besides the run's own.
pub struct StatusFacts<'a> {
    pub state: RunState,
    /// Seconds since the start (notices fade after a few).
    pub now: f64,
    pub shots: &'a ScreenshotLog,
    pub recording: &'a Recording,
    pub log: &'a ShareLog,
}

impl StatusLine<'_, '_> {
    /// The line for the focused run (`status`, its clouds' point `counts`
    /// (moving, fixed), `draft`, `link`).
    pub fn show(
        &self,
        ui: &mut egui::Ui,
        status: &RunProgress,
        counts: (usize, usize),
        draft: &Draft,
        link: &RunLink,
        fps: f64,
    ) {
        let facts = StatusFacts {
            state: status.state(&self.playback, link, &self.worker),
            now: self.time.elapsed_secs_f64(),
            shots: &self.shots,
            recording: &self.recording,
            log: &self.log,
        };
        status_line(ui, &facts, status, counts, draft, &runs_in_view_order(&self.runs), fps);
    }
}

/// What the boxes over the view and the help overlay read and close.
#[derive(SystemParam)]
pub struct Overlays<'w, 's> {
    errors: ResMut<'w, SceneErrors>,
    worker: Res<'w, FlowWorker>,
    help: ResMut<'w, HelpOverlay>,
    runs: Query<'w, 's, (&'static ViewSlot, &'static ActiveScene)>,
}

impl Overlays<'_, '_> {
    /// A red box on top of the view for a stopped flow, and one for each
    /// scene not loaded, naming its view when several are open (`running`:
    /// the focused run's previous scene goes on); those can be dismissed.
    pub fn show_errors(&mut self, root: &mut egui::Ui, running: bool) {
        let frame = egui::Frame::new()
            .fill(Color32::from_rgb(0x5a, 0x10, 0x10))
            .stroke(egui::Stroke::new(2.0, Color32::from_rgb(0xff, 0x55, 0x55)))
            .inner_margin(8.0);
        if let Some(stopped) = self.worker.stopped() {
            egui::Panel::top("worker-stopped").frame(frame).show(root, |ui| {
                error_box(ui, "The flow has stopped.", stopped);
            });
        }
        let several = self.runs.iter().count() > 1;
        let mut dismissed = Vec::new();
        for (k, (run, error)) in self.errors.iter().enumerate() {
            let (view, running) = match run.and_then(|r| self.runs.get(r).ok()) {
                Some((slot, active)) => (several.then(|| slot.0 + 1), active.file.is_some()),
                None => (None, running),
            };
            let title = match (view, running) {
                (Some(v), true) => format!("Scene not loaded in view {v}; its previous scene keeps running."),
                (Some(v), false) => format!("Scene not loaded in view {v}."),
                (None, true) => "Scene not loaded; the previous scene keeps running.".into(),
                (None, false) => "Scene not loaded.".into(),
            };
            egui::Panel::top(egui::Id::new(("scene-error", k))).frame(frame).show(root, |ui| {
                if error_box(ui, &title, error) {
                    dismissed.push(run);
                }
            });
        }
        for run in dismissed {
            self.errors.clear(run);
        }
    }

    /// The keys, in a window over the middle, while asked for.
    pub fn show_help(&mut self, ctx: &egui::Context) {
        if !self.help.0 {
            return;
        }
        let mut open = true;
        egui::Window::new("Keys")
            .open(&mut open)
            .collapsible(false)
            .resizable(false)
            .anchor(egui::Align2::CENTER_CENTER, [0.0, 0.0])
            .show(ctx, help_ui);
        if !open {
            self.help.0 = false;
        }
    }
}

/// The left panel's title and the help button; returns the command asked for.
pub fn header_ui(ui: &mut egui::Ui) -> Option<AppCommand> {
    let mut command = None;
    ui.horizontal(|ui| {
        ui.heading("sdflow");
        ui.label(RichText::new("score-difference flow lab").weak());
    });
    ui.horizontal(|ui| {
        ui.label(RichText::new("Press H for the keys.").weak());
        if ui.small_button("?").on_hover_text(AppCommand::ToggleHelp.tooltip()).clicked() {
            command = Some(AppCommand::ToggleHelp);
        }
    });
    command
}

/// Run state, step, sigma², timing, counts and notices: one line when the
/// view is wide enough, wrapped onto a second (the bar grows) rather than cut
/// when side panels leave it narrow.
/// `s`, `counts` (moving, fixed points) and `draft` are the focused run's,
/// `runs` every run in view order, `fps` the smoothed frame rate.
pub fn status_line(
    ui: &mut egui::Ui,
    facts: &StatusFacts,
    s: &RunProgress,
    counts: (usize, usize),
    draft: &Draft,
    runs: &[RunViewItem],
    fps: f64,
) {
    let steps = draft.applied.as_ref().map_or(0, |f| f.steps);
    let (state, now) = (facts.state, facts.now);
    ui.horizontal_wrapped(|ui| {
        let state_color = match state {
            RunState::Finished | RunState::Paused | RunState::Starting => WARN,
            RunState::Stopped => BAD,
            _ => ui.visuals().text_color(),
        };
        ui.label(RichText::new(state.label()).strong().color(state_color)).on_hover_text(match state {
            RunState::Finished => "all steps done: Back to step 0 (R) to watch again, or raise Steps T",
            RunState::Starting => "showing the starting clouds for a moment",
            _ => "Space: play / pause",
        });
        ui.separator();
        ui.label(RichText::new(format!("step {} / {steps}", s.step_index)).strong());
        ui.separator();
        // Where a saved file went, for a few seconds: before the rest, so a
        // full line does not hide it.
        status_notice_ui(ui, facts.recording, facts.log, now);
        let comparing = runs.len() > 1;
        if comparing {
            // Compare mode: each run's step time in its colour, short enough
            // for four runs on one line; its step only where it differs
            // (runs step in lockstep), the rest on hover.
            ui.label("ms/step");
            for r in runs {
                let (step, ms) = (r.progress.step_index, r.progress.step_ms);
                let text = if step == s.step_index { format!("■ {ms:.2}") } else { format!("■ {ms:.2} @{step}") };
                ui.label(RichText::new(text).color(run_colour(r.slot.0))).on_hover_text(format!(
                    "view {}: {} · step {step}, {ms:.2} ms/step",
                    r.slot.0 + 1,
                    run_name(r.active)
                ));
            }
        } else {
            match &s.last_report {
                Some(r) => {
                    ui.label(format!("sigma² {:.4}", r.sigma2));
                    ui.separator();
                    ui.label(format!("{:.2} ms/step", s.step_ms));
                    ui.separator();
                    ui.label(format!("kernel: {}", r.path.name()));
                }
                None => {
                    ui.label("not started");
                }
            }
        }
        ui.separator();
        ui.label(format!("{:.0} fps", fps.round()));
        ui.separator();
        if !comparing {
            // (In compare mode each view's label names its own clouds.)
            ui.label(RichText::new(format!("{} moving", counts.0)).color(egui_color(MOVING_COLOR)));
            ui.label(RichText::new(format!("{} fixed", counts.1)).color(egui_color(FIXED_COLOR)));
        }
        if let Some((shot, error)) = facts.shots.notice(now) {
            ui.separator();
            let colour = if error { BAD } else { WARN };
            ui.add(egui::Label::new(RichText::new(shot).color(colour)).truncate()).on_hover_text(shot);
        } else if s.non_finite > 0 {
            ui.separator();
            ui.label(RichText::new(format!("{} non-finite updates dropped", s.non_finite)).color(BAD))
                .on_hover_text("points whose update was not a finite number kept their place; lower the step size");
        } else if let Some(problem) = draft.problems.first() {
            ui.separator();
            ui.add(egui::Label::new(RichText::new(format!("not applied: {problem}")).color(BAD)).truncate());
        }
    });
}

/// A red message box's contents; returns true when dismissed.
pub fn error_box(ui: &mut egui::Ui, title: &str, error: &str) -> bool {
    let mut dismiss = false;
    ui.horizontal(|ui| {
        ui.label(RichText::new(title).strong().color(Color32::WHITE));
        if ui.button("Dismiss").clicked() {
            dismiss = true;
        }
    });
    ui.label(RichText::new(error).monospace().color(Color32::from_rgb(0xff, 0xd0, 0xd0)));
    dismiss
}

pub fn help_ui(ui: &mut egui::Ui) {
    egui::Grid::new("keys").striped(true).show(ui, |ui| {
        for c in &CONTROLS {
            ui.label(RichText::new(c.key_label).strong().monospace());
            ui.label(c.what);
            ui.end_row();
        }
        ui.label(RichText::new(MOUSE_HELP.0).strong().monospace());
        ui.label(MOUSE_HELP.1);
        ui.end_row();
    });
    ui.label(RichText::new("Keys are ignored while a text field has focus.").weak());
}
