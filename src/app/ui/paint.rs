//! The Paint section of the left panel: the brush for 2-D scenes (on/off,
//! which cloud, paint or erase, radius and density), clearing a cloud, and
//! turning the painted clouds into a scene. The work is done by
//! [`crate::app::tools::brush`]; this only shows it and sends requests.

use bevy::ecs::system::SystemParam;
use bevy::prelude::*;
use bevy_egui::egui::{self, RichText};

use super::style::{BAD, WARN, egui_color};
use crate::app::run::Focused;
use crate::app::tools::brush::{
    BrushSettings, CloudColour, PaintDraft, PaintFolder, PaintNotice, PaintRequest, paint_blocker,
};
use crate::app::view::clouds::CloudBounds;
use crate::engine::Direction;
use crate::scene::{Scene, SceneCloud};

/// What the Paint panel reads and sends.
#[derive(SystemParam)]
pub struct PaintPanel<'w, 's> {
    settings: ResMut<'w, BrushSettings>,
    notice: Res<'w, PaintNotice>,
    folder: Res<'w, PaintFolder>,
    drafts: Query<'w, 's, &'static PaintDraft, With<Focused>>,
    requests: MessageWriter<'w, PaintRequest>,
}

impl PaintPanel<'_, '_> {
    /// Whether the section should be held open (while the brush is on, its
    /// buttons are the way out).
    pub fn painting(&self) -> bool {
        !self.drafts.is_empty()
    }

    /// The Paint section for the focused run's `scene` and `bounds`; the
    /// brush settings are written back only when they changed.
    pub fn show(&mut self, ui: &mut egui::Ui, scene: Option<&Scene>, bounds: &CloudBounds) {
        let mut settings = self.settings.clone();
        let draft = self.drafts.single().ok();
        if let Some(request) = paint_ui(ui, scene, bounds, draft, &mut settings, &self.notice, &self.folder) {
            self.requests.write(request);
        }
        if settings != *self.settings {
            *self.settings = settings;
        }
    }
}

/// The brush switch, its settings (edited in `s`), the clear, revert and
/// use buttons, and the last notice; returns what was clicked.
pub fn paint_ui(
    ui: &mut egui::Ui,
    scene: Option<&Scene>,
    bounds: &CloudBounds,
    draft: Option<&PaintDraft>,
    s: &mut BrushSettings,
    notice: &PaintNotice,
    folder: &PaintFolder,
) -> Option<PaintRequest> {
    if let Some(why) = paint_blocker(scene, bounds.flat) {
        ui.add_enabled(false, egui::Checkbox::new(&mut false, "Brush"));
        ui.label(RichText::new(format!("The brush is off here: {why}.")).weak());
        return None;
    }
    let mut request = None;
    let direction = scene.map_or(Direction::Forward, |s| s.direction);
    let mut on = draft.is_some();
    let toggle = ui.checkbox(&mut on, RichText::new("Brush").strong()).on_hover_text(
        "paint the clouds with the pointer: left-drag paints, right-drag pans, the wheel zooms; \
         the run pauses while the brush is on, and turning it off drops what was not used",
    );
    if toggle.changed() {
        request = Some(if on { PaintRequest::Start } else { PaintRequest::Stop });
    }
    let Some(draft) = draft else {
        ui.label(RichText::new("Paint your own target and source points, then run the flow on them.").weak());
        notice_ui(ui, notice);
        return request;
    };

    ui.horizontal(|ui| {
        for cloud in [SceneCloud::Target, SceneCloud::Source] {
            let colour = egui_color(cloud.colour(direction));
            let label = format!("{} ({})", cloud.name(), draft.points(cloud).len());
            ui.radio_value(&mut s.cloud, cloud, RichText::new(label).color(colour).strong())
                .on_hover_text(format!("the brush works on the {} cloud", cloud.name()));
        }
    });
    ui.horizontal(|ui| {
        ui.radio_value(&mut s.erase, false, "paint").on_hover_text("add points uniform in the disc");
        ui.radio_value(&mut s.erase, true, "erase").on_hover_text("remove the chosen cloud's points under the disc");
    });
    let scene_radius = bounds.radius;
    ui.horizontal(|ui| {
        ui.label("Radius");
        ui.add(egui::Slider::new(&mut s.radius, BrushSettings::radius_range(scene_radius)).logarithmic(true))
            .on_hover_text("the brush's radius, in scene units (the circle under the pointer)");
    });
    ui.add_enabled_ui(!s.erase, |ui| {
        ui.horizontal(|ui| {
            ui.label("Density");
            ui.add(egui::Slider::new(&mut s.density, BrushSettings::density_range(scene_radius)).logarithmic(true))
                .on_hover_text("points per unit area painted by a stroke");
        });
    });
    match s.brush() {
        Ok(brush) if !s.erase => {
            ui.label(
                RichText::new(format!("{} points per dab, a dab every {:.3}", brush.count(), brush.spacing())).weak(),
            );
        }
        Ok(_) => {}
        Err(why) => {
            ui.colored_label(BAD, why);
        }
    }

    ui.horizontal_wrapped(|ui| {
        for cloud in [SceneCloud::Target, SceneCloud::Source] {
            if ui
                .add_enabled(!draft.points(cloud).is_empty(), egui::Button::new(format!("Clear {}", cloud.name())))
                .on_hover_text(format!("remove every {} point, to paint it from empty", cloud.name()))
                .clicked()
            {
                request = Some(PaintRequest::Clear(cloud));
            }
        }
        if ui
            .add_enabled(draft.edits > 0, egui::Button::new("Revert"))
            .on_hover_text("undo all painting: back to the scene's starting clouds")
            .clicked()
        {
            request = Some(PaintRequest::Revert);
        }
    });
    let ready = [SceneCloud::Target, SceneCloud::Source].iter().all(|c| !draft.points(*c).is_empty());
    let folder = folder.0.display().to_string();
    let button = egui::Button::new(RichText::new("Use painted clouds").strong());
    if ui
        .add_enabled(ready, button)
        .on_hover_text(format!(
            "save both clouds as CSV and a scene of them in {folder}/, and run the flow on them from step 0"
        ))
        .on_disabled_hover_text("both clouds need at least one point")
        .clicked()
    {
        request = Some(PaintRequest::Use);
    }
    ui.label(RichText::new("The run is paused while the brush is on. Left-drag paints; right-drag pans.").weak());
    notice_ui(ui, notice);
    request
}

fn notice_ui(ui: &mut egui::Ui, notice: &PaintNotice) {
    if let Some(text) = &notice.text {
        if notice.error {
            ui.colored_label(WARN, text);
        } else {
            ui.label(RichText::new(text).weak());
        }
    }
}
