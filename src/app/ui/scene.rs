//! The Scene panel: the preset list, the running scene's name, description
//! and warnings, and the path field that opens any scene file.

use bevy::ecs::system::SystemParam;
use bevy::prelude::*;
use bevy_egui::egui::{self, RichText};

use super::state::Requests;
use super::style::WARN;
use crate::app::run::{ActiveScene, Presets, SceneRequest};

/// The Scene panel's own state.
#[derive(Resource, Debug, Default)]
pub struct SceneText {
    /// Text of the "open file" field.
    pub open_path: String,
}

/// What the Scene panel reads and changes.
#[derive(SystemParam)]
pub struct ScenePanel<'w> {
    presets: Res<'w, Presets>,
    text: ResMut<'w, SceneText>,
}

impl ScenePanel<'_> {
    /// The scene controls for the focused run's `active` scene.
    pub fn show(&mut self, ui: &mut egui::Ui, active: &ActiveScene, out: &mut Requests) {
        if let Some(request) = scene_ui(ui, active, &self.presets, &mut self.text.open_path) {
            out.scene(request);
        }
    }
}

/// The preset list, the running scene's name, description and warnings,
/// and the typed path (edited in place); returns the scene asked for.
pub fn scene_ui(
    ui: &mut egui::Ui,
    active: &ActiveScene,
    presets: &Presets,
    open_path: &mut String,
) -> Option<SceneRequest> {
    let mut request = None;
    let current = active.file.as_ref().map(|f| f.path.clone());
    let preset_name = presets.0.iter().find(|(path, _)| current.as_deref() == Some(path.as_path()));
    // A file that is not a preset is named by its file name, so the box never
    // shows a preset that is not running.
    let selected = match (preset_name, &current) {
        (Some((_, name)), _) => name.clone(),
        (None, Some(path)) => {
            format!(
                "file: {}",
                path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into())
            )
        }
        (None, None) => "(none)".into(),
    };
    ui.label("Preset");
    egui::ComboBox::from_id_salt("preset")
        .width(ui.available_width() - 8.0)
        .truncate()
        .selected_text(selected)
        .show_ui(ui, |ui| {
            for (path, name) in &presets.0 {
                let is_current = current.as_deref() == Some(path.as_path());
                if ui.selectable_label(is_current, name).on_hover_text(path.display().to_string()).clicked() {
                    request = Some(SceneRequest::Open(path.clone()));
                }
            }
        });
    if presets.0.is_empty() {
        ui.label(RichText::new("No presets: scenes/*.ron not found here.").weak());
    }
    if let Some(file) = &active.file {
        ui.label(RichText::new(&file.scene.name).strong());
        if !file.scene.description.is_empty() {
            ui.label(&file.scene.description);
        }
        ui.label(RichText::new(file.path.display().to_string()).weak().small());
        for warning in file.scene.warnings() {
            ui.colored_label(WARN, warning);
        }
        if let Some(dim) = file.scene.target.dim().or(file.scene.source.as_ref().and_then(|s| s.dim()))
            && dim > 3
        {
            ui.colored_label(
                WARN,
                format!("{dim}-dimensional scene: shown through a fixed projection onto its first three coordinates."),
            );
        }
    }
    ui.horizontal(|ui| {
        // A fixed id: the field keeps focus whatever is shown above it.
        let edit = ui.add(
            egui::TextEdit::singleline(open_path)
                .id_salt("open-scene-path")
                .hint_text("path/to/scene.ron")
                .desired_width((ui.available_width() - 60.0).max(80.0)),
        );
        let enter = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        if (ui.button("Open").clicked() || enter) && !open_path.trim().is_empty() {
            request = Some(SceneRequest::Open(open_path.trim().into()));
        }
    });
    ui.label(
        RichText::new("Or drop a .ron file on the window. The open file reloads when it changes on disk.")
            .weak()
            .small(),
    );
    request
}
