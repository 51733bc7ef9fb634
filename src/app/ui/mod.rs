//! egui panels: scene and settings on the left, live plots on the right, a
//! status line at the bottom, scene errors in a red box on top of the view,
//! and the help overlay. The 3-D view gets what is left (the camera's
//! viewport follows the panels), so the clouds stay framed and large.

mod divergences;
mod gan;
mod generator;
mod paint;
mod panels;
pub mod plots;
pub mod runs;
pub mod share;
pub mod timeline;
mod view;

use bevy::camera::visibility::RenderLayers;
use bevy::camera::{CameraOutputMode, Viewport};
use bevy::ecs::system::SystemParam;
use bevy::prelude::*;
use bevy::render::render_resource::BlendState;
use bevy::window::PrimaryWindow;
use bevy_egui::input::EguiWantsInput;
use bevy_egui::{EguiContexts, EguiGlobalSettings, EguiPrimaryContextPass, PrimaryEguiContext, egui};
use bevy_panorbit_camera::{PanOrbitCamera, PanOrbitCameraSystemSet};

use super::controls::{AppCommand, HelpOverlay, KeyboardCapture};
use super::gan::GanView;
use super::render::{CloudBounds, ViewSettings};
use super::runs::{Focused, RunRequest, ViewSlot};
use super::scene_loading::{ActiveScene, Draft, Presets, SceneErrors, SceneRequest};
use super::simulation::{FlowWorker, Playback, RunLink, RunStatus};
use super::tools::screenshot::ScreenshotLog;

/// State that belongs to the UI only.
#[derive(Resource, Debug, Default)]
pub struct UiState {
    /// Text of the "open file" field.
    pub open_path: String,
    /// Smoothed frames per second.
    pub fps: f64,
    /// The last sigma² min typed, so Constant -> Cosine gives it back.
    pub sigma2_min_memory: Option<f64>,
    /// A text field had the keyboard last frame.
    pub typing_last_frame: bool,
    /// Which divergences are plotted.
    pub divergence_plot: divergences::DivergencePlot,
}

/// The part of the window left for the 3-D view, in logical pixels.
#[derive(Resource, Default, Debug, Clone, Copy, PartialEq)]
pub struct ViewportRect(pub Option<egui::Rect>);

/// The focused run, as the panels see it.
#[derive(bevy::ecs::query::QueryData)]
#[query_data(mutable)]
pub struct FocusedRun {
    pub entity: Entity,
    pub active: &'static ActiveScene,
    pub draft: &'static mut Draft,
    pub status: &'static RunStatus,
    pub link: &'static RunLink,
    pub bounds: &'static CloudBounds,
}

/// Every run, for the plots and the status line.
#[derive(bevy::ecs::query::QueryData)]
pub struct RunView {
    pub entity: Entity,
    pub slot: &'static ViewSlot,
    pub active: &'static ActiveScene,
    pub status: &'static RunStatus,
    pub link: &'static RunLink,
    pub focused: Has<Focused>,
    pub arrow_scale: Option<&'static super::arrows::ArrowScale>,
}

/// Every run, in the order of the views (slot), as legends, labels and the
/// status line list them.
pub fn runs_in_view_order<'a>(runs: &'a Query<RunView>) -> Vec<RunViewItem<'a, 'a>> {
    let mut v: Vec<_> = runs.iter().collect();
    v.sort_by_key(|r| r.slot.0);
    v
}

/// Everything the panels read or change.
#[derive(SystemParam)]
pub struct UiParams<'w, 's> {
    pub run: Single<'w, 's, FocusedRun, With<Focused>>,
    pub runs: Query<'w, 's, RunView>,
    pub worker: Res<'w, FlowWorker>,
    pub errors: ResMut<'w, SceneErrors>,
    pub presets: Res<'w, Presets>,
    pub playback: ResMut<'w, Playback>,
    pub view: ResMut<'w, ViewSettings>,
    pub state: ResMut<'w, UiState>,
    pub shots: Res<'w, ScreenshotLog>,
    pub histograms: Res<'w, plots::NnHistograms>,
    pub help: ResMut<'w, HelpOverlay>,
    pub capture: ResMut<'w, KeyboardCapture>,
    pub time: Res<'w, Time<Real>>,
    pub gan: ResMut<'w, GanView>,
    pub scene_requests: MessageWriter<'w, SceneRequest>,
    pub commands: MessageWriter<'w, AppCommand>,
    pub run_requests: MessageWriter<'w, RunRequest>,
    pub generator_view: ResMut<'w, super::generator::GeneratorView>,
    pub paint: paint::PaintParams<'w, 's>,
    pub share: share::SharePanel<'w>,
    pub flow: view::FlowViewParams<'w, 's>,
}

pub struct UiPlugin;

impl Plugin for UiPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<UiState>()
            .init_resource::<ViewportRect>()
            .init_resource::<plots::NnHistograms>()
            .init_resource::<super::generator::GeneratorView>()
            .add_plugins(share::ShareUiPlugin)
            .add_systems(Startup, spawn_ui_camera)
            .add_systems(EguiPrimaryContextPass, ui_system)
            .add_systems(Update, (apply_viewport, plots::update_histograms, window_title))
            .add_systems(PostUpdate, keep_camera_still_under_panels.before(PanOrbitCameraSystemSet));
    }
}

/// egui draws through its own camera on top of the 3-D one, so the 3-D
/// camera's viewport can shrink to the space between the panels.
fn spawn_ui_camera(mut commands: Commands, mut settings: ResMut<EguiGlobalSettings>) {
    settings.auto_create_primary_context = false;
    commands.spawn((
        PrimaryEguiContext,
        Camera2d,
        RenderLayers::none(),
        Camera {
            order: 1,
            output_mode: CameraOutputMode::Write {
                blend_state: Some(BlendState::ALPHA_BLENDING),
                clear_color: ClearColorConfig::None,
            },
            clear_color: ClearColorConfig::Custom(Color::NONE),
            ..default()
        },
    ));
}

fn ui_system(mut contexts: EguiContexts, mut p: UiParams, mut viewport: ResMut<ViewportRect>) -> Result {
    let dt = p.time.delta_secs_f64();
    if dt > 0.0 {
        let fps = 1.0 / dt;
        p.state.fps = if p.state.fps == 0.0 { fps } else { 0.95 * p.state.fps + 0.05 * fps };
    }
    let ctx = contexts.ctx_mut()?;
    let mut root = egui::Ui::new(
        ctx.clone(),
        "sdflow-root".into(),
        egui::UiBuilder::new().layer_id(egui::LayerId::background()).max_rect(ctx.viewport_rect()),
    );

    egui::Panel::left("settings").resizable(true).default_size(300.0).min_size(240.0).max_size(420.0).show(
        &mut root,
        |ui| {
            egui::ScrollArea::vertical().auto_shrink([false, false]).show(ui, |ui| panels::left_panel(ui, &mut p));
        },
    );
    egui::Panel::right("plots").resizable(true).default_size(300.0).min_size(220.0).max_size(480.0).show(
        &mut root,
        |ui| {
            egui::ScrollArea::vertical().auto_shrink([false, false]).show(ui, |ui| plots::right_panel(ui, &mut p));
        },
    );
    egui::Panel::bottom("status").show(&mut root, |ui| panels::status_line(ui, &p));
    let frame = egui::Frame::new()
        .fill(egui::Color32::from_rgb(0x5a, 0x10, 0x10))
        .stroke(egui::Stroke::new(2.0, egui::Color32::from_rgb(0xff, 0x55, 0x55)))
        .inner_margin(8.0);
    if let Some(stopped) = p.worker.stopped() {
        egui::Panel::top("worker-stopped").frame(frame).show(&mut root, |ui| {
            panels::error_box(ui, "The flow has stopped.", stopped);
        });
    }
    if let Some(error) = p.errors.error.clone() {
        let title = if p.run.active.file.is_some() {
            "Scene not loaded; the previous scene keeps running."
        } else {
            "Scene not loaded."
        };
        egui::Panel::top("scene-error").frame(frame).show(&mut root, |ui| {
            if panels::error_box(ui, title, &error) {
                p.errors.error = None;
            }
        });
    }
    let rect = root.available_rect_before_wrap();
    viewport.set_if_neq(ViewportRect((rect.width() > 8.0 && rect.height() > 8.0).then_some(rect)));
    runs::view_labels(ctx, &p, rect);

    if p.help.0 {
        let mut open = true;
        egui::Window::new("Keys")
            .open(&mut open)
            .collapsible(false)
            .resizable(false)
            .anchor(egui::Align2::CENTER_CENTER, [0.0, 0.0])
            .show(ctx, panels::help_ui);
        if !open {
            p.help.0 = false;
        }
    }
    // Shortcuts stay off while a text field has the keyboard, and for one
    // frame after (egui reports focus changes a frame late).
    let typing = ctx.egui_wants_keyboard_input();
    let capture = KeyboardCapture { text_field_focused: typing || p.state.typing_last_frame, ..*p.capture };
    p.state.typing_last_frame = typing;
    p.capture.set_if_neq(capture);
    Ok(())
}

/// Splits the space between the panels among the runs' cameras, in view
/// slot order.
fn apply_viewport(
    rect: Res<ViewportRect>,
    window: Query<&Window, With<PrimaryWindow>>,
    runs: Query<&ViewSlot>,
    mut cameras: Query<(&mut Camera, &super::render::ViewOf), With<PanOrbitCamera>>,
    mut view: ResMut<ViewSettings>,
    mut last: Local<Vec<(Entity, usize)>>,
) {
    let mut layout: Vec<(Entity, usize)> =
        cameras.iter().filter_map(|(_, of)| runs.get(of.0).ok().map(|s| (of.0, s.0))).collect();
    layout.sort_by_key(|l| (l.1, l.0));
    if !rect.is_changed() && *last == layout {
        return;
    }
    let Ok(window) = window.single() else { return };
    let scale = window.scale_factor();
    let (w, h) = (window.physical_width(), window.physical_height());
    let parts = rect.0.map(|r| split_views(r, layout.len())).unwrap_or_default();
    for (mut camera, of) in &mut cameras {
        let index = layout.iter().position(|l| l.0 == of.0);
        let viewport = index.and_then(|i| parts.get(i)).and_then(|r| physical_viewport(*r, scale, w, h));
        camera.is_active = index.is_some();
        camera.viewport = viewport;
    }
    *last = layout;
    // A new aspect ratio: frame the clouds again.
    view.fit_requested = true;
}

/// A logical rectangle as a viewport in physical pixels, inside the window.
fn physical_viewport(r: egui::Rect, scale: f32, w: u32, h: u32) -> Option<Viewport> {
    let x = ((r.min.x * scale).max(0.0) as u32).min(w);
    let y = ((r.min.y * scale).max(0.0) as u32).min(h);
    let size = UVec2::new(((r.width() * scale) as u32).min(w - x), ((r.height() * scale) as u32).min(h - y));
    (size.x > 0 && size.y > 0).then(|| Viewport {
        physical_position: UVec2::new(x, y),
        physical_size: size,
        ..default()
    })
}

/// The view area split for `n` runs: one whole; two side by side (stacked
/// when the area is taller than wide); three or four in a 2 x 2 grid, filled
/// row by row. Views are separated by a 2-pixel gap.
pub fn split_views(area: egui::Rect, n: usize) -> Vec<egui::Rect> {
    const GAP: f32 = 2.0;
    let (cols, rows) = match n {
        0 => return Vec::new(),
        1 => (1, 1),
        2 if area.height() > area.width() => (1, 2),
        2 => (2, 1),
        _ => (2, 2),
    };
    let cell = egui::vec2(
        (area.width() - GAP * (cols - 1) as f32) / cols as f32,
        (area.height() - GAP * (rows - 1) as f32) / rows as f32,
    );
    (0..n.min(cols * rows))
        .map(|i| {
            let (c, r) = (i % cols, i / cols);
            let min = area.min + egui::vec2(c as f32 * (cell.x + GAP), r as f32 * (cell.y + GAP));
            egui::Rect::from_min_size(min, cell)
        })
        .collect()
}

/// The window title names the focused run's scene (also right after the
/// focus moves to another run).
fn window_title(runs: Query<(Ref<ActiveScene>, Ref<Focused>)>, mut window: Query<&mut Window, With<PrimaryWindow>>) {
    let Ok((active, focused)) = runs.single() else { return };
    if !active.is_changed() && !focused.is_added() {
        return;
    }
    let Some(scene) = active.scene() else { return };
    if let Ok(mut window) = window.single_mut() {
        window.title = format!("sdflow: {}", scene.name);
    }
}

/// egui learns that the pointer is on a panel one frame late: keep the
/// camera still if egui wanted the pointer this frame or the last.
fn keep_camera_still_under_panels(
    wants: Res<EguiWantsInput>,
    mut last: Local<bool>,
    mut cameras: Query<&mut PanOrbitCamera>,
) {
    let now = wants.wants_any_pointer_input() || wants.is_pointer_over_area();
    let enabled = !(now || *last);
    *last = now;
    for mut cam in &mut cameras {
        if cam.enabled != enabled {
            cam.enabled = enabled;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_split_the_area_without_overlap() {
        let area = egui::Rect::from_min_size(egui::pos2(300.0, 0.0), egui::vec2(600.0, 400.0));
        assert_eq!(split_views(area, 1), vec![area]);
        let two = split_views(area, 2);
        assert_eq!(two.len(), 2);
        assert!((two[0].width() - 299.0).abs() < 1e-4 && two[0].height() == 400.0);
        assert!(two[1].min.x >= two[0].max.x && two[1].max.x <= area.max.x + 1e-4);
        let tall = egui::Rect::from_min_size(egui::pos2(0.0, 0.0), egui::vec2(300.0, 700.0));
        let stacked = split_views(tall, 2);
        assert!(stacked[1].min.y >= stacked[0].max.y && stacked[0].width() == 300.0);
        for n in 3..=4 {
            let grid = split_views(area, n);
            assert_eq!(grid.len(), n);
            for (i, a) in grid.iter().enumerate() {
                assert!(area.contains_rect(a.shrink(0.01)), "{a:?}");
                for b in &grid[i + 1..] {
                    assert!(!a.shrink(0.01).intersects(b.shrink(0.01)), "{a:?} {b:?}");
                }
            }
        }
        assert!(split_views(area, 0).is_empty());
    }
}
