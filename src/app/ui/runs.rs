//! The Compare panel: the list of open runs (focus, close), the "Compare
//! with" controls, and a label on each view.

use bevy::ecs::system::SystemParam;
use bevy::prelude::*;
use bevy_egui::egui::{self, Color32, RichText};

use super::state::{Requests, RunView, RunViewItem, run_name, runs_in_view_order};
use super::style::run_colour;
use super::window::split_views;
use crate::app::run::{ActiveScene, Draft, MAX_RUNS, Presets, RunRequest, SceneRequest, twin, twin_method};

/// What the Compare panel and the views' labels read and send.
#[derive(SystemParam)]
pub struct RunsPanel<'w, 's> {
    runs: Query<'w, 's, RunView>,
    presets: Res<'w, Presets>,
    requests: MessageWriter<'w, RunRequest>,
}

/// One open run as the compare controls list it.
#[derive(Clone, Debug, PartialEq)]
pub struct RunEntry {
    pub entity: Entity,
    pub name: String,
    pub slot: usize,
    pub focused: bool,
}

/// What the compare controls ask for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CompareAction {
    /// Open this scene file beside the others.
    File(std::path::PathBuf),
    Focus(Entity),
    Close(Entity),
    CloseOthers,
    /// Open the focused scene's twin beside it (both restart from step 0).
    Twin,
}

/// The runs side by side (which one the panels edit, closing one) and the
/// button that opens the focused scene's twin (`twin_method`: the twin's
/// method, None when no scene is loaded). Returns what was clicked.
pub fn compare_controls_ui(
    ui: &mut egui::Ui,
    runs: &[RunEntry],
    twin_method: Option<&str>,
    presets: &[(std::path::PathBuf, String)],
) -> Vec<CompareAction> {
    let mut actions = Vec::new();
    if runs.len() > 1 {
        ui.label(RichText::new("Runs side by side (step in lockstep); the panels edit the selected one:").weak());
        for r in runs {
            ui.horizontal(|ui| {
                let name = RichText::new(&r.name).color(run_colour(r.slot));
                if ui.radio(r.focused, name).on_hover_text("edit this run in the panels").clicked() && !r.focused {
                    actions.push(CompareAction::Focus(r.entity));
                }
                if ui.small_button("close").on_hover_text("close this view").clicked() {
                    actions.push(CompareAction::Close(r.entity));
                }
            });
        }
    }
    let full = runs.len() >= MAX_RUNS;
    ui.horizontal_wrapped(|ui| {
        if let Some(method) = twin_method {
            let tip = "open the same clouds, seed and schedule with the other method beside this run; \
                       both restart from step 0 and step together";
            let button = egui::Button::new(format!("Compare with {method} twin"));
            if ui.add_enabled(!full, button).on_hover_text(tip).clicked() {
                actions.push(CompareAction::Twin);
            }
        }
        if runs.len() > 1 && ui.button("Close other views").clicked() {
            actions.push(CompareAction::CloseOthers);
        }
    });
    if full {
        ui.label(RichText::new(format!("{MAX_RUNS} views open: close one to compare another.")).weak());
    } else if !presets.is_empty() {
        egui::ComboBox::from_id_salt("compare-preset")
            .width(ui.available_width() - 8.0)
            .truncate()
            .selected_text("Compare with a preset…")
            .show_ui(ui, |ui| {
                for (path, name) in presets {
                    if ui.selectable_label(false, name).on_hover_text(path.display().to_string()).clicked() {
                        actions.push(CompareAction::File(path.clone()));
                    }
                }
            });
    }
    actions
}

impl RunsPanel<'_, '_> {
    /// The compare controls for the app's runs (`active` and `draft`: the
    /// focused run's), turned into requests.
    pub fn show(&mut self, ui: &mut egui::Ui, active: &ActiveScene, draft: &Draft, out: &mut Requests) {
        let mut runs: Vec<RunEntry> = self
            .runs
            .iter()
            .map(|r| RunEntry { entity: r.entity, name: run_name(r.active), slot: r.slot.0, focused: r.focused })
            .collect();
        runs.sort_by_key(|r| r.slot);
        // The twin itself is built only when asked for, not every frame.
        let method = active.file.as_ref().and(draft.scene.as_ref()).map(|s| twin_method(s.method).name());
        for action in compare_controls_ui(ui, &runs, method, &self.presets.0) {
            match action {
                CompareAction::File(path) => {
                    self.requests.write(RunRequest::Compare(SceneRequest::Open(path)));
                }
                CompareAction::Focus(e) => {
                    self.requests.write(RunRequest::Focus(e));
                }
                CompareAction::Close(e) => {
                    self.requests.write(RunRequest::Close(e));
                }
                CompareAction::CloseOthers => {
                    self.requests.write(RunRequest::CloseOthers);
                }
                CompareAction::Twin => {
                    if let (Some(file), Some(edited)) = (&active.file, &draft.scene) {
                        let (path, scene) = (file.path.clone(), Box::new(twin(edited)));
                        self.requests.write(RunRequest::Compare(SceneRequest::Scene { path, scene }));
                        // Same step in every view: start this run over too.
                        out.scene(SceneRequest::Restart { new_seed: false });
                    }
                }
            }
        }
    }

    /// Labels each view of `area` with its run's scene, method and step, and
    /// the arrows' scale when `arrows_shown` (compare mode).
    pub fn view_labels(&self, ctx: &egui::Context, area: egui::Rect, arrows_shown: bool) {
        view_labels(ctx, &runs_in_view_order(&self.runs), area, arrows_shown)
    }
}

/// Labels each view with its run's scene, method and step (compare mode).
pub fn view_labels(ctx: &egui::Context, runs: &[RunViewItem], area: egui::Rect, arrows_shown: bool) {
    if runs.len() < 2 {
        return;
    }
    for (r, rect) in runs.iter().zip(split_views(area, runs.len())) {
        egui::Area::new(egui::Id::new(("view-label", r.entity)))
            .fixed_pos(rect.min + egui::vec2(8.0, 6.0))
            .interactable(false)
            .show(ctx, |ui| {
                egui::Frame::new()
                    .fill(Color32::from_rgba_unmultiplied(255, 255, 255, 210))
                    .stroke(egui::Stroke::new(if r.focused { 2.0 } else { 1.0 }, run_colour(r.slot.0)))
                    .inner_margin(4.0)
                    .show(ui, |ui| {
                        // A long scene name is cut at the view's edge rather
                        // than spilling into its neighbour or the panels.
                        ui.set_max_width((rect.width() - 28.0).max(40.0));
                        ui.add(
                            egui::Label::new(RichText::new(run_name(r.active)).strong().color(Color32::from_gray(30)))
                                .truncate(),
                        );
                        ui.label(
                            RichText::new(format!("step {}", r.progress.step_index)).color(Color32::from_gray(60)),
                        );
                        if let Some(scale) = r.arrow_scale.and_then(|a| a.label()).filter(|_| arrows_shown) {
                            ui.label(RichText::new(scale).color(Color32::from_gray(60)));
                        }
                    });
            });
    }
}
