//! The timeline: a slider over the recorded steps of the runs. Dragging it
//! (or Left arrow) shows earlier states, bit for bit; Play continues from
//! the step shown, and changing a setting there drops the recorded future.

use bevy_egui::egui::{self, RichText};

use super::style::WARN;
use crate::app::controls::AppCommand;
use crate::app::worker::HistoryInfo;

/// What the timeline asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimelineAction {
    /// Show the recorded state at this step (pauses).
    Seek(usize),
}

/// The slider over `first ..= furthest` at the step shown, the back button
/// and the memory line. Returns the step asked for, if any.
pub fn timeline_ui(ui: &mut egui::Ui, shown: usize, history: Option<&HistoryInfo>) -> Option<TimelineAction> {
    let Some(h) = history else {
        ui.label(RichText::new("No timeline for generator runs (their history is not kept).").weak());
        return None;
    };
    let mut action = None;
    ui.horizontal(|ui| {
        ui.label("Timeline");
        let back =
            ui.add_enabled(shown > h.first, egui::Button::new("Back")).on_hover_text(AppCommand::StepBack.tooltip());
        if back.clicked() {
            action = Some(TimelineAction::Seek(shown - 1));
        }
    });
    let mut step = shown.clamp(h.first, h.furthest.max(h.first));
    let slider = egui::Slider::new(&mut step, h.first..=h.furthest.max(h.first))
        .text("step")
        .integer()
        .clamping(egui::SliderClamping::Always);
    // A long slider: one pixel per step where the panel allows. In its own
    // scope, so the sections drawn after it keep their slider width.
    let response = ui.scope(|ui| {
        ui.spacing_mut().slider_width = (ui.available_width() - 90.0).max(120.0);
        ui.add_enabled(h.furthest > h.first, slider)
            .on_hover_text("drag to show any recorded step of every run; Play goes on from there")
    });
    let response = response.inner;
    if response.changed() && step != shown {
        action = Some(TimelineAction::Seek(step));
    }
    ui.label(RichText::new(format!("{} (recorded up to step {})", h.line, h.furthest)).weak().small());
    if shown < h.furthest {
        ui.label(
            RichText::new("Showing an earlier step: changing a setting here drops the steps after it.")
                .small()
                .color(WARN),
        );
    }
    action
}
