//! The window around the panels: egui's own camera on top of the 3-D ones,
//! the 3-D cameras' viewports in the space the panels leave (split among
//! the runs in compare mode), the window title, and a still camera while
//! the pointer is on a panel.

use bevy::camera::visibility::RenderLayers;
use bevy::camera::{CameraOutputMode, Viewport};
use bevy::prelude::*;
use bevy::render::render_resource::BlendState;
use bevy::window::PrimaryWindow;
use bevy_egui::input::EguiWantsInput;
use bevy_egui::{EguiGlobalSettings, PrimaryEguiContext, egui};
use bevy_panorbit_camera::PanOrbitCamera;

use crate::app::run::{ActiveScene, Focused, ViewSlot};
use crate::app::view::ViewOf;
use crate::app::view::ViewportRect;
use crate::app::view::clouds::ViewSettings;

/// egui draws through its own camera on top of the 3-D one, so the 3-D
/// camera's viewport can shrink to the space between the panels.
pub fn spawn_ui_camera(mut commands: Commands, mut settings: ResMut<EguiGlobalSettings>) {
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

/// Splits the space between the panels among the runs' cameras, in view
/// slot order.
pub fn apply_viewport(
    rect: Res<ViewportRect>,
    window: Query<&Window, With<PrimaryWindow>>,
    runs: Query<&ViewSlot>,
    mut cameras: Query<(&mut Camera, &ViewOf), With<PanOrbitCamera>>,
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
pub fn window_title(
    runs: Query<(Ref<ActiveScene>, Ref<Focused>)>,
    mut window: Query<&mut Window, With<PrimaryWindow>>,
) {
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
pub fn keep_camera_still_under_panels(
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
