//! egui panels: scene and settings on the left, live plots on the right, a
//! status line at the bottom, scene errors in a red box on top of the view,
//! and the help overlay. The 3-D view gets what is left (the camera's
//! viewport follows the panels), so the clouds stay framed and large.
//!
//! Each panel is one file with one `SystemParam` holding only what it reads
//! and the writers of the messages it sends (`ScenePanel`, `PlaybackPanel`,
//! `RunsPanel`, `PaintPanel`, `FlowPanel`, `SharePanel`, `ViewPanel`,
//! `GeneratorPanel`, `PlotsPanel`, `StatusLine`, `Overlays`). Its sections
//! are functions of what they show that return what the user asked for (an
//! action or a request), which the panel sends. `ui_system` only lays the
//! panels out. Shared pieces sit in files that import no panel: [`state`]
//! (the focused run, the runs in view order, the two messages several
//! panels send), `style` (colours), `widgets` (the small plot) and `window`
//! (the cameras' viewports between the panels).
//!
//! Adding a panel: one file here with its `SystemParam` and `show`, plus its
//! field in [`Panels`] and its one `show` call in `ui_system`.

mod divergences;
mod flow;
mod gan;
mod generator;
pub mod lesson;
mod paint;
mod playback;
pub mod plots;
pub mod runs;
mod scene;
pub mod share;
pub mod state;
mod status;
mod style;
pub mod timeline;
mod view;
mod widgets;
mod window;

use bevy::ecs::system::SystemParam;
use bevy::prelude::*;
use bevy_egui::{EguiContexts, EguiPrimaryContextPass, egui};
use bevy_panorbit_camera::PanOrbitCameraSystemSet;

use state::UiState;

use crate::app::controls::KeyboardCapture;
use crate::app::run::Focused;
use crate::app::schedule::{AppSet, DeriveSet};
use crate::app::view::ViewportRect;

pub struct UiPlugin;

impl Plugin for UiPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<UiState>()
            .init_resource::<ViewportRect>()
            .init_resource::<scene::SceneText>()
            .init_resource::<flow::FlowMemory>()
            .init_resource::<divergences::DivergencePlot>()
            .init_resource::<plots::NnHistograms>()
            .init_resource::<crate::app::view::generator::GeneratorView>()
            .add_plugins(share::ShareUiPlugin)
            .add_systems(Startup, window::spawn_ui_camera)
            .add_systems(EguiPrimaryContextPass, (ui_system, share::file_dialog_system).chain().in_set(AppSet::Ui))
            .add_systems(Update, plots::update_histograms.in_set(DeriveSet::Marks))
            .add_systems(Update, window::apply_viewport.in_set(AppSet::Camera))
            .add_systems(Update, window::window_title.in_set(AppSet::Ui))
            .add_systems(
                PostUpdate,
                window::keep_camera_still_under_panels.before(PanOrbitCameraSystemSet).in_set(AppSet::Camera),
            );
    }
}

/// Every panel, each with only what it reads and sends.
#[derive(SystemParam)]
pub struct Panels<'w, 's> {
    playback: playback::PlaybackPanel<'w>,
    scene: scene::ScenePanel<'w>,
    runs: runs::RunsPanel<'w, 's>,
    paint: paint::PaintPanel<'w, 's>,
    flow: flow::FlowPanel<'w>,
    share: share::SharePanel<'w>,
    view: view::ViewPanel<'w, 's>,
    generator: generator::GeneratorPanel<'w>,
    plots: plots::PlotsPanel<'w, 's>,
    status: status::StatusLine<'w, 's>,
    overlays: status::Overlays<'w, 's>,
    lesson: lesson::LessonPanel<'w, 's>,
}

/// What the frame around the panels keeps: the frame rate, the keyboard
/// capture and the space left for the 3-D view.
#[derive(SystemParam)]
pub struct FrameState<'w> {
    state: ResMut<'w, UiState>,
    capture: ResMut<'w, KeyboardCapture>,
    viewport: ResMut<'w, ViewportRect>,
    time: Res<'w, Time<Real>>,
}

/// Lays the panels out around the 3-D view, for the focused run.
fn ui_system(
    mut contexts: EguiContexts,
    mut run: Single<state::FocusedRun, With<Focused>>,
    mut out: state::Requests,
    mut frame: FrameState,
    mut p: Panels,
) -> Result {
    frame.state.count_frame(frame.time.delta_secs_f64());
    let ctx = contexts.ctx_mut()?;
    let mut root = egui::Ui::new(
        ctx.clone(),
        "sdflow-root".into(),
        egui::UiBuilder::new().layer_id(egui::LayerId::background()).max_rect(ctx.viewport_rect()),
    );
    let run = &mut *run;
    let zoom = if p.lesson.presenting() { crate::app::lesson::PRESENTER_ZOOM } else { 1.0 };
    if ctx.zoom_factor() != zoom {
        ctx.set_zoom_factor(zoom);
    }
    // A lesson's caption spans the window; presenter mode folds the side panels.
    p.lesson.caption(&mut root);
    let shows = |p: &Panels, name: &str| p.lesson.shows(name);
    let mut sides = !p.lesson.presenting();

    egui::Panel::left("settings").resizable(true).default_size(300.0).min_size(240.0).max_size(420.0).show_collapsible(
        &mut root,
        &mut sides,
        |ui| {
            egui::ScrollArea::vertical().auto_shrink([false, false]).show(ui, |ui| {
                if let Some(command) = status::header_ui(ui) {
                    out.app(command);
                }
                ui.separator();
                p.playback.show(ui, run.progress, run.timeline, &mut out);
                ui.separator();
                lesson::section(ui, true, "Lessons", p.lesson.open(), |ui| p.lesson.menu(ui));
                lesson::section(ui, shows(&p, "scene"), "Scene", true, |ui| {
                    p.scene.show(ui, run.active, &mut out);
                    p.share.show_open(ui, run.draft.scene.as_ref().is_some_and(|s| s.source.is_some()));
                });
                lesson::section(ui, shows(&p, "compare"), "Compare", true, |ui| {
                    p.runs.show(ui, run.active, &run.draft, &mut out)
                });
                if shows(&p, "paint") {
                    egui::CollapsingHeader::new("Paint")
                        .default_open(false)
                        .open(p.paint.painting().then_some(true))
                        .show(ui, |ui| p.paint.show(ui, run.active.scene(), run.bounds));
                }
                // No scene yet: nothing to edit or share.
                let flow = ["method", "flow", "parameters", "schedule"].iter().any(|s| shows(&p, s));
                if flow && p.flow.show(ui, &mut run.draft, run.active, run.progress, run.generator, &mut out) {
                    let name = run.active.scene().map_or("recording", |s| s.name.as_str());
                    let share = shows(&p, "share");
                    lesson::section(ui, share, "Share", true, |ui| p.share.show(ui, name));
                }
            });
        },
    );
    egui::Panel::right("plots").resizable(true).default_size(300.0).min_size(220.0).max_size(480.0).show_collapsible(
        &mut root,
        &mut sides,
        |ui| {
            egui::ScrollArea::vertical().auto_shrink([false, false]).show(ui, |ui| {
                if shows(&p, "view") {
                    ui.heading("View");
                    p.view.show(ui, run.active, run.progress, run.gan, run.bounds, &mut out);
                    ui.separator();
                }
                if shows(&p, "generator") && p.generator.show(ui, run.generator, run.progress) {
                    ui.separator();
                }
                if shows(&p, "plots") || shows(&p, "divergences") {
                    p.plots.show(ui, run.active, run.progress, run.curves, run.timeline);
                }
            });
        },
    );
    egui::Panel::bottom("status").show(&mut root, |ui| {
        let counts = (run.moving.count(), run.fixed.count());
        p.status.show(ui, run.progress, counts, &run.draft, run.link, frame.state.fps);
    });
    p.overlays.show_errors(&mut root, run.active.file.is_some());
    let rect = root.available_rect_before_wrap();
    // In window pixels (egui's points are larger by the zoom factor).
    let window_rect = egui::Rect::from_min_max(rect.min * zoom, rect.max * zoom);
    frame.viewport.set_if_neq(ViewportRect((rect.width() > 8.0 && rect.height() > 8.0).then_some(window_rect)));
    p.runs.view_labels(ctx, rect, p.view.arrows_shown());
    p.overlays.show_help(ctx);

    // Shortcuts stay off while a text field has the keyboard, and for one
    // frame after (egui reports focus changes a frame late).
    let typing = ctx.egui_wants_keyboard_input();
    let capture = KeyboardCapture { text_field_focused: typing || frame.state.typing_last_frame, ..*frame.capture };
    frame.state.typing_last_frame = typing;
    frame.capture.set_if_neq(capture);
    Ok(())
}
